//! A hub with in-process remotes: a config whose connectors are served by
//! [`MemoryRemote`]s (the config names them with a file kind so `check`
//! accepts it; the test's [`ConnectorSource`] hands out the memory
//! connectors instead), a hub store (SQLite in memory, or PostgreSQL), and
//! helpers to edit remotes, run jobs and look at the results. Connectors of
//! a server kind, and of a file kind without a memory remote of their name,
//! are the real ones (files under the hub's temporary folder).

use chrono::{DateTime, Duration, Utc};
use einklang_config::{Config, ConnectorConfig};
use einklang_connectors::memory::{MemoryOptions, MemoryRemote};
use einklang_connectors::{Connector, ConnectorError, RawFields};
use einklang_core::content_hash;
use einklang_engine::{
    run_job_with, ConnectorSource, CrashAt, EngineError, NoProgress, RunOptions, RunReport,
};
use einklang_store::{HubStore, LinkChange, LinkStatus, RecordState, RecordWrite, SyncBatch};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Entities, two connectors (`espo` master data, `advo` with phones) and a sync job.
pub const TWO_WAY: &str = r#"
[entities.contact]
name = "text"
email = "email"
phones = "phones"
city = "text"
status = "text"
changed = "datetime"

[connectors.espo]
kind = "jsonl"
path = "memory-espo.jsonl"

[connectors.advo]
kind = "jsonl"
path = "memory-advo.jsonl"

[map.espo.contact]
id = "id"
[map.espo.contact.fields]
name = "name"
email = "email"
phones = "phones"
city = "city"
changed = "changed"

[map.advo.contact]
id = "id"
[map.advo.contact.fields]
name = "name"
phones = "tel"
city = "ort"

[jobs.sync]
sync = ["espo", "advo"]

[conflicts.contact]
default = { authority = "espo" }
phones = { authority = "advo" }
"#;

/// The remotes of a hub, handed to the engine as its connectors.
pub struct Remotes(pub BTreeMap<String, MemoryRemote>);

impl ConnectorSource for Remotes {
    fn open(
        &mut self,
        cc: &ConnectorConfig,
        dir: &Path,
    ) -> Result<Box<dyn Connector>, ConnectorError> {
        let kind = cc.kind.as_str();
        let server = ["postgres_table", "carddav", "caldav", "http", "graphql"].contains(&kind);
        let file = ["csv", "jsonl", "vcard"].contains(&kind) && !self.0.contains_key(&cc.name);
        if server || file {
            return einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, dir);
        }
        let remote = self.0.get(&cc.name).ok_or_else(|| ConnectorError::Other {
            connector: cc.name.clone(),
            message: "no memory remote for this connector in the test".into(),
        })?;
        Ok(Box::new(remote.connector(&cc.name)))
    }
}

/// A hub under test.
pub struct Hub {
    pub config: Config,
    pub store: Box<dyn HubStore>,
    pub remotes: Remotes,
    /// The time runs happen at (moved by tests for retry schedules).
    pub now: DateTime<Utc>,
    dir: tempfile::TempDir,
}

pub fn raw(v: Value) -> RawFields {
    v.as_object().expect("an object").clone()
}

impl Hub {
    /// A hub over `config` with one memory remote per `(name, options)`, on SQLite in memory.
    pub fn new(config: &str, remotes: &[(&str, MemoryOptions)]) -> Hub {
        Self::on(":memory:", config, remotes)
    }

    /// The same on the store at `location`.
    pub fn on(location: &str, config: &str, remotes: &[(&str, MemoryOptions)]) -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("einklang.toml");
        std::fs::write(&path, config).unwrap();
        let config = einklang_config::load(&path).unwrap_or_else(|e| panic!("config: {e}"));
        let store = einklang_store::open(location).unwrap();
        let remotes = remotes
            .iter()
            .map(|(n, o)| (n.to_string(), MemoryRemote::new(o.clone())))
            .collect();
        Hub {
            config,
            store,
            remotes: Remotes(remotes),
            now: DateTime::parse_from_rfc3339("2026-06-01T08:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            dir,
        }
    }

    /// The folder of the config (relative file paths start here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn remote(&self, name: &str) -> &MemoryRemote {
        &self.remotes.0[name]
    }

    pub fn options(&self) -> RunOptions {
        RunOptions {
            now: Some(self.now),
            triggered_by: "test".into(),
            ..RunOptions::default()
        }
    }

    pub fn run(&mut self, job: &str, options: RunOptions) -> Result<RunReport, EngineError> {
        run_job_with(
            &self.config,
            self.store.as_mut(),
            job,
            &options,
            &NoProgress,
            &mut self.remotes,
        )
    }

    /// Run `job` and expect it to finish.
    pub fn sync(&mut self, job: &str) -> RunReport {
        let options = self.options();
        self.run(job, options)
            .unwrap_or_else(|e| panic!("{job}: {e}"))
    }

    /// Run `job` as a dry run.
    pub fn plan(&mut self, job: &str) -> RunReport {
        let options = RunOptions {
            dry_run: true,
            ..self.options()
        };
        self.run(job, options).unwrap()
    }

    /// Run `job` and crash at `at`.
    pub fn crash(&mut self, job: &str, at: CrashAt) {
        let options = RunOptions {
            crash: Some(at),
            ..self.options()
        };
        match self.run(job, options) {
            Err(EngineError::Crashed(_)) => {}
            other => panic!("expected the injected crash, got {other:?}"),
        }
    }

    pub fn later(&mut self, secs: i64) {
        self.now += Duration::seconds(secs);
    }

    /// The hub record linked to `id` on `connector`.
    pub fn record_of(&mut self, connector: &str, id: &str) -> RecordState {
        let key = self
            .store
            .find_links("default", connector, "contact", &[id])
            .unwrap()
            .remove(0);
        let key = key.unwrap_or_else(|| panic!("no link {connector}:{id}"));
        self.store
            .load_records("default", &[key.record_id])
            .unwrap()
            .remove(0)
            .unwrap()
    }

    /// `changes` made to record `id` on `connector` and to its hub record,
    /// with that link clean on the new values: the batch to commit, which
    /// leaves every other side's link clean but owing the change (the
    /// state a lost write or a watch beside a manual sync leaves).
    pub fn changed_behind_the_others(
        &mut self,
        connector: &str,
        id: &str,
        changes: Value,
    ) -> SyncBatch {
        self.remote(connector).update(id, raw(changes.clone()));
        let state = self.record_of(connector, id);
        let link = state.link_to(connector).unwrap().clone();
        let (mut values, mut base) = (state.values.clone(), link.base.clone());
        for (k, v) in changes.as_object().unwrap() {
            values.insert(k.clone(), v.clone());
            base.insert(k.clone(), v.clone());
        }
        SyncBatch {
            records: vec![RecordWrite {
                record_id: state.id,
                values: Some(values),
                deleted: None,
                origin: connector.into(),
                history: Default::default(),
            }],
            links: vec![LinkChange::Synced {
                link_id: link.id,
                expect_hash: None,
                external_id: link.external_id.clone(),
                content_hash: content_hash(&base),
                base,
                version: self.remote(connector).version_of(id),
                status: LinkStatus::Clean,
            }],
            ..Default::default()
        }
    }

    /// The live hub records (not deleted, not merged), by id.
    pub fn records(&mut self) -> Vec<RecordState> {
        self.records_of("contact")
    }

    /// The live hub records of `entity`, by id.
    pub fn records_of(&mut self, entity: &str) -> Vec<RecordState> {
        let live = self.store.live_records("default", entity, 0, 1_000_000);
        let ids: Vec<i64> = live.unwrap().into_iter().map(|r| r.0).collect();
        self.store
            .load_records("default", &ids)
            .unwrap()
            .into_iter()
            .flatten()
            .collect()
    }

    /// The only record on `connector` whose `field` is `value`: (id, record).
    pub fn find(&self, connector: &str, field: &str, value: &str) -> (String, RawFields) {
        let found: Vec<_> = self
            .remote(connector)
            .records()
            .into_iter()
            .filter(|(_, r)| r.get(field) == Some(&json!(value)))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{connector}: records with {field} = {value}: {found:?}"
        );
        found.into_iter().next().unwrap()
    }
}

/// A counter of a report (0 when absent).
pub fn count(r: &RunReport, key: &str) -> u64 {
    r.counters.get(key).copied().unwrap_or(0)
}

/// Remote writes (ops sent to connectors) of a run.
pub fn remote_writes(r: &RunReport) -> u64 {
    count(r, "remote_writes")
}

/// Asserts the run wrote nothing anywhere.
pub fn assert_quiet(r: &RunReport) {
    assert_eq!(
        (count(r, "writes"), remote_writes(r)),
        (0, 0),
        "expected a run that writes nothing: {:#?}",
        r.counters
    );
}
