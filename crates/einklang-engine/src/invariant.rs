//! The link invariant: **a `clean` link owes its connector nothing** — its
//! base equals the hub record projected through the connector's mapping
//! (on the fields the connector is written), and a tombstoned record has
//! no clean link left that still needs its delete. Said the way the push
//! planner says it: [`plan_push`] plans no write for a clean link.
//!
//! A clean link that breaks it is invisible to every later sync: the push
//! only looks at links that are not clean, and an unchanged remote gives
//! the read nothing to merge. So it is checked where that is cheap — after
//! each read batch, on the records the batch changed and the links of the
//! step's connectors ([`check_batch`]) — and in full by `sync --full`
//! ([`repair_side`]) and `einklang doctor` ([`violations`]). A violation is
//! repaired by marking the link `dirty`: the next push plans the write.

use crate::outbound::plan::{plan_push, PushPlan};
use crate::side::Side;
use crate::EngineError;
use einklang_store::{HubStore, LinkChange, LinkStatus, RecordId, RecordState, SyncBatch};

/// One clean link that owes its connector a write.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The link row.
    pub link_id: i64,
    /// Its hub record.
    pub record_id: RecordId,
    /// Its connector.
    pub connector: String,
    /// The link's external id.
    pub external_id: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "link {} of record {} to `{}` ({}) is clean but differs from the hub",
            self.link_id, self.record_id, self.connector, self.external_id
        )
    }
}

/// The clean links of `state` to the connectors of `sides` that break the
/// invariant (links to other connectors are not judged).
pub(crate) fn violations(sides: &[&Side<'_>], state: &RecordState) -> Vec<Violation> {
    state
        .links
        .iter()
        .filter(|l| l.status == LinkStatus::Clean)
        .filter_map(|link| {
            let side = sides.iter().find(|s| s.name == link.connector)?;
            let owes = matches!(plan_push(side, state, link), Some(PushPlan::Write { .. }));
            owes.then(|| Violation {
                link_id: link.id,
                record_id: state.id,
                connector: link.connector.clone(),
                external_id: link.external_id.clone(),
            })
        })
        .collect()
}

/// Check `records` (just committed) against `sides`; mark violators
/// `dirty` in one commit. Returns what was found.
pub(crate) fn check_batch(
    store: &mut dyn HubStore,
    (tenant, run): (&str, einklang_store::RunId),
    sides: &[&Side<'_>],
    records: &[RecordId],
) -> Result<Vec<Violation>, EngineError> {
    if records.is_empty() || sides.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Violation> = store
        .load_records(tenant, records)?
        .iter()
        .flatten()
        .flat_map(|state| violations(sides, state))
        .collect();
    repair(store, (tenant, run), &found)?;
    Ok(found)
}

/// Mark the violating links `dirty` (one transaction).
pub(crate) fn repair(
    store: &mut dyn HubStore,
    (tenant, run): (&str, einklang_store::RunId),
    found: &[Violation],
) -> Result<(), EngineError> {
    if found.is_empty() {
        return Ok(());
    }
    for v in found {
        tracing::warn!(link = v.link_id, record = v.record_id, connector = %v.connector, "{v}: marked dirty");
    }
    let batch = SyncBatch {
        links: found
            .iter()
            .map(|v| LinkChange::State {
                link_id: v.link_id,
                status: LinkStatus::Dirty,
                attempts: 0,
                next_attempt_at: None,
                last_error: Some("clean, but its base differed from the hub (repaired)".into()),
            })
            .collect(),
        ..Default::default()
    };
    store.apply_sync(tenant, run, &batch)?;
    Ok(())
}

/// Every clean link of `side`, checked and repaired (`sync --full`):
/// returns the violations found.
pub(crate) fn repair_side(
    store: &mut dyn HubStore,
    (tenant, run): (&str, einklang_store::RunId),
    side: &Side<'_>,
) -> Result<Vec<Violation>, EngineError> {
    let found = scan_side(store, tenant, side)?;
    repair(store, (tenant, run), &found)?;
    Ok(found)
}

/// Every clean link of `side` that breaks the invariant (reads only).
pub fn scan_side_links(
    store: &mut dyn HubStore,
    tenant: &str,
    side: &SideRef<'_>,
) -> Result<Vec<Violation>, EngineError> {
    scan_side(store, tenant, &side.0)
}

/// A side for the invariant check from outside the engine (`doctor`).
pub struct SideRef<'c>(Side<'c>);

impl<'c> SideRef<'c> {
    /// The side of `mapping` for `schema`, with the connector's capabilities.
    pub fn new(
        mapping: &'c einklang_core::Mapping,
        schema: &'c einklang_core::EntitySchema,
        norm: einklang_core::NormaliseContext,
        caps: einklang_connectors::Capabilities,
    ) -> Self {
        SideRef(Side::new(mapping, schema, norm, caps, (true, true)))
    }
}

fn scan_side(
    store: &mut dyn HubStore,
    tenant: &str,
    side: &Side<'_>,
) -> Result<Vec<Violation>, EngineError> {
    // fields the connector does not keep are owed nothing
    let mut side = side.clone();
    side.leave_out_not_kept(store, tenant)?;
    let side = &side;
    let mut clean: Vec<RecordId> = Vec::new();
    store.scan_links(tenant, side.name, &side.schema.name, &mut |l| {
        if l.status == LinkStatus::Clean {
            clean.push(l.record_id);
        }
    })?;
    clean.sort_unstable();
    clean.dedup();
    let mut found = Vec::new();
    for ids in clean.chunks(crate::pull::BATCH) {
        for state in store.load_records(tenant, ids)?.iter().flatten() {
            found.extend(violations(&[side], state));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use einklang_connectors::Capabilities;
    use einklang_core::{content_hash, Fields, NormaliseContext};
    use einklang_store::{Change, LinkWrite, NewRun, RunSource};
    use serde_json::json;

    const CONFIG: &str = "[entities.contact]\nname = \"text\"\ncity = \"text\"\n\
        [connectors.a]\nkind = \"csv\"\npath = \"a.csv\"\n[connectors.b]\nkind = \"csv\"\npath = \"b.csv\"\n\
        [map.a.contact]\nid = \"id\"\n[map.a.contact.fields]\nname = \"name\"\ncity = \"city\"\n\
        [map.b.contact]\nid = \"id\"\n[map.b.contact.fields]\nname = \"name\"\ncity = \"ort\"\n";

    fn fields(v: serde_json::Value) -> Fields {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn check_batch_finds_and_repairs_only_clean_links_that_owe_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let config = einklang_config::load(&path).unwrap();
        let schema = &config.entities["contact"];
        let caps = Capabilities {
            write: true,
            ..Capabilities::read_only()
        };
        let side = |c: &str| {
            let m = config.mapping(c, "contact").unwrap();
            Side::new(
                m,
                schema,
                NormaliseContext::default(),
                caps.clone(),
                (true, true),
            )
        };
        let (a, b) = (side("a"), side("b"));
        let mut store = einklang_store::open(":memory:").unwrap();
        let new = NewRun {
            job: "t".into(),
            source: RunSource::Manual,
            triggered_by: "t".into(),
        };
        let run = store.start_run("t", &new).unwrap();
        let now = fields(json!({"name": "Ann", "city": "Potsdam"}));
        let old = fields(json!({"name": "Ann", "city": "Berlin"}));
        let link = |c: &str, base: &Fields| LinkWrite {
            connector: c.into(),
            external_id: "1".into(),
            base: base.clone(),
            content_hash: content_hash(base),
            version: None,
        };
        let create = Change::Create {
            entity: "contact".into(),
            values: now.clone(),
            link: link("a", &now),
            history: Default::default(),
        };
        let id = store.apply("t", run, &[create]).unwrap()[0];
        let batch = SyncBatch {
            new_links: vec![einklang_store::NewLink {
                record_id: id,
                connector: "b".into(),
                entity: "contact".into(),
                marker: "ek-1".into(),
            }],
            ..Default::default()
        };
        store.apply_sync("t", run, &batch).unwrap();
        let b_link = store
            .links_of("t", id)
            .unwrap()
            .into_iter()
            .find(|l| l.connector == "b")
            .unwrap();
        let stale = SyncBatch {
            links: vec![LinkChange::Synced {
                link_id: b_link.id,
                expect_hash: None,
                external_id: "b-1".into(),
                content_hash: content_hash(&old),
                base: old,
                version: None,
                status: LinkStatus::Clean,
            }],
            ..Default::default()
        };
        store.apply_sync("t", run, &stale).unwrap();

        let found = check_batch(store.as_mut(), ("t", run), &[&a, &b], &[id]).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].connector.as_str(), found[0].link_id),
            ("b", b_link.id)
        );
        let links = store.links_of("t", id).unwrap();
        let status = |c: &str| links.iter().find(|l| l.connector == c).unwrap().status;
        assert_eq!(
            (status("a"), status("b")),
            (LinkStatus::Clean, LinkStatus::Dirty)
        );
        // links to a connector outside the step are not judged
        assert!(check_batch(store.as_mut(), ("t", run), &[&a], &[id])
            .unwrap()
            .is_empty());
    }
}
