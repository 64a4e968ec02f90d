//! Identity resolution end to end, on SQLite and PostgreSQL: records read
//! from a second source are matched on ingest and merged into the people
//! the hub already has, uncertain pairs wait for review, a person's
//! decisions hold, and an unmerge gives back both records and their links
//! exactly — also when read again afterwards.

mod common;

use einklang_config::Config;
use einklang_engine::identity::ops;
use einklang_engine::{run_job, NoProgress, RunOptions, RunReport};
use einklang_store::{HubStore, LinkStatus, ReviewStatus};
use serde_json::json;
use std::path::Path;

const CONFIG: &str = r#"
store = "hub.db"
tenant = "t"
region = "DE"

[entities.contact]
first_name = "text"
last_name = "text"
emails = "emails"
phones = "phones"
company = "text"
city = "text"

[connectors.crm]
kind = "csv"
path = "crm.csv"

[connectors.shop]
kind = "csv"
path = "shop.csv"

[map.crm.contact]
id = "id"
[map.crm.contact.fields]
first_name = "first"
last_name = "last"
emails = "email"
phones = "phone"
company = "company"

[map.shop.contact]
id = "id"
[map.shop.contact.fields]
first_name = "first"
last_name = "last"
emails = "email"
phones = "phone"
city = "city"

[matching.contact]
compare = [
  { field = "first_name", kind = "name" },
  { field = "last_name", kind = "name" },
  { field = "emails", kind = "email" },
  { field = "phones", kind = "phone" },
  { field = "company", kind = "company" },
]
auto_merge = 0.95
review = 0.5
survive = { sources = ["crm", "shop"] }

[jobs.crm]
pull = ["crm"]

[jobs.shop]
pull = ["shop"]
"#;

const CRM: &str = "id,first,last,email,phone,company
1,Jürgen,Müller,juergen.mueller@example.de,089 1234567,ACME GmbH
2,Anna,Novak,anna@novak.si,,Novak d.o.o.
3,Peter,Schmidt,peter.schmidt@acme.de,089 1234500,ACME GmbH
";

// 10 is crm 1 in other spellings; 11 is crm 2 by name and a phone crm
// lacks; 12 is new; 13 is a near namesake of crm 3 with nothing else.
const SHOP: &str = "id,first,last,email,phone,city
10,Juergen,Mueller,Juergen.Mueller@example.de,+49 89 1234567,München
11,Anna,Novak,,+386 41 123 456,Ljubljana
12,Zoe,Smith,zoe@example.co.uk,,London
13,Peter,Schmitt,,,Berlin
";

fn setup(store: Option<&str>) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let text = match store {
        Some(url) => CONFIG.replace("store = \"hub.db\"", &format!("store = \"{url}\"")),
        None => CONFIG.to_string(),
    };
    std::fs::write(dir.path().join("einklang.toml"), text).unwrap();
    std::fs::write(dir.path().join("crm.csv"), CRM).unwrap();
    std::fs::write(dir.path().join("shop.csv"), SHOP).unwrap();
    let config = einklang_config::load(&dir.path().join("einklang.toml")).expect("config loads");
    (dir, config)
}

fn sync(config: &Config, store: &mut dyn HubStore, job: &str) -> RunReport {
    let options = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    run_job(config, store, job, &options, &NoProgress).expect("run succeeds")
}

fn count(r: &RunReport, k: &str) -> u64 {
    r.counters.get(k).copied().unwrap_or(0)
}

fn record_of(store: &mut dyn HubStore, connector: &str, id: &str) -> i64 {
    store.find_links("t", connector, "contact", &[id]).unwrap()[0]
        .as_ref()
        .expect("linked")
        .record_id
}

/// Records and links of the given ids, as the CLI shows them.
fn picture(store: &mut dyn HubStore, tenant: &str, ids: &[i64]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = ids
        .iter()
        .map(|&id| {
            let record = store.record(tenant, "contact", id).unwrap();
            json!({"record": record, "links": store.links_of(tenant, id).unwrap()})
        })
        .collect();
    json!(rows)
}

fn scenario(config: &Config, store: &mut dyn HubStore, _dir: &Path) {
    let t = config.tenant.clone();
    assert_eq!(t, "t", "the test's tenant name");
    sync(config, store, "crm");
    let jurgen = record_of(store, "crm", "1");
    let before = sync(config, store, "crm");
    assert_eq!(count(&before, "merged"), 0);

    // On ingest: two of shop's four are people the hub has.
    let r = sync(config, store, "shop");
    assert_eq!(
        (
            count(&r, "created"),
            count(&r, "merged"),
            count(&r, "review")
        ),
        (4, 2, 1)
    );
    assert_eq!(record_of(store, "shop", "10"), jurgen, "shop 10 is crm 1");
    let live = ops::plan(store, &t, ("contact", &config.matching["contact"]))
        .unwrap()
        .0;
    assert_eq!(live.len(), 5, "3 from crm, Zoe and the namesake");
    let merged = store.record(&t, "contact", jurgen).unwrap().unwrap();
    assert_eq!(
        merged.values["first_name"],
        json!("Jürgen"),
        "crm comes first"
    );
    assert_eq!(
        merged.values["city"],
        json!("München"),
        "shop fills the gap"
    );
    let links = store.links_of(&t, jurgen).unwrap();
    assert_eq!(links.len(), 2);

    // Read again: nothing new is merged, nothing is queued twice.
    let r = sync(config, store, "shop");
    assert_eq!(
        (
            count(&r, "created"),
            count(&r, "merged"),
            count(&r, "review")
        ),
        (0, 0, 0)
    );

    // The namesake waits for review; rejecting it keeps the pair apart.
    let open = store.reviews(&t, true, 10).unwrap();
    assert_eq!(open.len(), 1);
    let namesake = record_of(store, "shop", "13");
    assert_eq!(
        (open[0].a, open[0].b),
        (record_of(store, "crm", "3"), namesake)
    );
    ops::reject(store, (&t, "eva"), open[0].id).unwrap();
    let applied = ops::dedupe(store, (&t, "eva"), ("contact", &config.matching["contact"]))
        .unwrap()
        .1;
    assert_eq!((applied.merged, applied.queued), (0, 0), "{applied:?}");
    let err = ops::reject(store, (&t, "eva"), open[0].id)
        .unwrap_err()
        .to_string();
    assert!(err.contains("already decided: rejected"), "{err}");

    // A pair whose record is merged meanwhile is dropped as stale.
    let zoe = record_of(store, "shop", "12");
    let pair = einklang_store::NewReview {
        entity: "contact".into(),
        a: namesake,
        b: zoe,
        probability: 0.7,
    };
    store.queue_reviews(&t, 1, &[pair]).unwrap();
    let m = &config.matching["contact"];
    let by_hand = ops::in_run(
        store,
        (&t, "merge by hand", "eva"),
        "contact",
        |store, run| {
            let pair = (namesake, zoe);
            let done = einklang_engine::identity::merge_pair(
                store,
                (&t, run),
                ("contact", m),
                pair,
                (1.0, "manual"),
            )?;
            Ok((done, Default::default()))
        },
    );
    by_hand.unwrap();
    let (open, stale) = ops::open_reviews(store, &t, 10).unwrap();
    assert!(open.is_empty());
    assert_eq!(
        (stale.len(), stale[0].a.max(stale[0].b)),
        (1, namesake.max(zoe))
    );
    assert_eq!(
        store.review(&t, stale[0].id).unwrap().unwrap().status,
        ReviewStatus::Stale
    );

    // Unmerge shop 10 out of crm 1: both as they were before the merge.
    let merges = store.merges(&t, Some(jurgen), 10).unwrap();
    let away = merges[0].merged;
    let (run, row) = ops::unmerge(store, (&t, "eva"), away).unwrap();
    assert_eq!(row.undone_run, Some(run));
    let crm1 = store.record(&t, "contact", jurgen).unwrap().unwrap();
    assert_eq!(crm1.values.get("city"), None);
    assert_eq!(crm1.values["first_name"], json!("Jürgen"));
    let shop10 = store.record(&t, "contact", away).unwrap().unwrap();
    assert_eq!(
        (shop10.merged_into, shop10.values["first_name"].clone()),
        (None, json!("Juergen"))
    );
    assert_eq!(record_of(store, "shop", "10"), away);
    assert_eq!(store.links_of(&t, jurgen).unwrap().len(), 1);
    assert_eq!(
        store.links_of(&t, away).unwrap()[0].status,
        LinkStatus::Clean
    );
    let unmerged = picture(store, &t, &[jurgen, away]);

    // Reading both sources again changes nothing: the pair stays apart.
    for job in ["crm", "shop"] {
        let r = sync(config, store, job);
        assert_eq!((count(&r, "merged"), count(&r, "writes")), (0, 0), "{job}");
    }
    assert_eq!(picture(store, &t, &[jurgen, away]), unmerged);
    let applied = ops::dedupe(store, (&t, "eva"), ("contact", &config.matching["contact"]))
        .unwrap()
        .1;
    assert_eq!(applied.merged, 0, "an unmerged pair is not merged again");
    let decided = store.reviews(&t, false, 10).unwrap();
    assert!(decided.iter().all(|r| r.status != ReviewStatus::Open));
    let runs: Vec<String> = store
        .runs(&t, 20)
        .unwrap()
        .into_iter()
        .map(|r| r.job)
        .collect();
    assert!(runs.contains(&format!("unmerge {away}")), "{runs:?}");
}

#[test]
fn identity_on_ingest_review_and_unmerge_sqlite() {
    let (dir, config) = setup(None);
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    scenario(&config, store.as_mut(), dir.path());
}

#[test]
fn identity_on_ingest_review_and_unmerge_postgres() {
    common::on_postgres("engine_identity", setup, scenario);
}

/// A plan is committed many merges to a store transaction, yet as if one
/// merge were committed at a time: a merge the store refuses fails alone,
/// its cluster goes on without that record (a pair rejected with it does
/// not keep the next one apart), and the clusters after it merge.
#[test]
fn a_refused_merge_fails_alone_and_its_cluster_goes_on_without_it() {
    use einklang_core::identity::batch::{Pair, Plan};
    use einklang_core::identity::model::Decision;
    use einklang_engine::identity::{apply_plan, merge_pair, pair_key};

    let (_dir, config) = setup(None);
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    let store = store.as_mut();
    sync(&config, store, "crm");
    sync(&config, store, "shop");
    let m = &config.matching["contact"];
    let [r1, r2, r3] = ["1", "2", "3"].map(|id| record_of(store, "crm", id));
    let [r12, r13] = ["12", "13"].map(|id| record_of(store, "shop", id));
    let ids = [r1, r2, r3, r12, r13];
    let merge = |a, b, probability| Pair {
        a,
        b,
        probability,
        decision: Decision::Merge,
    };
    let plan = Plan {
        pairs: vec![merge(0, 1, 0.99), merge(0, 2, 0.98), merge(3, 4, 0.97)],
        clusters: vec![vec![0, 1, 2], vec![3, 4]],
        trained_m: Vec::new(),
    };
    // meanwhile r2 went into r3: its merge into r1 is refused
    let t = config.tenant.as_str();
    let run = store
        .start_run(
            t,
            &einklang_store::NewRun {
                job: "test".into(),
                source: einklang_store::RunSource::Manual,
                triggered_by: "test".into(),
            },
        )
        .unwrap();
    merge_pair(store, (t, run), ("contact", m), (r3, r2), (1.0, "review")).unwrap();
    let rejected = [pair_key(r2, r3)].into_iter().collect();
    let applied = apply_plan(
        store,
        (t, run),
        ("contact", m),
        (&ids, &plan),
        &rejected,
        &|_| {},
    )
    .unwrap();
    assert_eq!((applied.merged, applied.kept_apart), (2, 0), "{applied:?}");
    assert_eq!(applied.failed.len(), 1, "{applied:?}");
    assert!(
        applied.failed[0].contains(&format!("record {r2} was merged into {r3}")),
        "{applied:?}"
    );
    let into =
        |store: &mut dyn HubStore, id| store.record(t, "contact", id).unwrap().unwrap().merged_into;
    assert_eq!(into(store, r3), Some(r1));
    assert_eq!(into(store, r13), Some(r12));
    let merges = store.merges(t, Some(r3), 10).unwrap();
    assert_eq!((merges[0].merged, merges[0].probability), (r3, 0.98));
}
