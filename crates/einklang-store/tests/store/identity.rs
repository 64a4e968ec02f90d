//! Identity resolution in the store, on both stores: merge moves links,
//! conflicts and outbox rows to the survivor and deactivates the merged
//! record; unmerge restores records and links exactly; the review queue
//! remembers decisions.

use super::*;

/// Two contacts from two connectors, with an open conflict on the second.
fn two(s: &mut dyn HubStore) -> (RunId, RecordId, RecordId) {
    let run = new_run(s);
    let ids = s
        .apply(
            "t1",
            run,
            &[
                create(
                    "a",
                    fields(json!({"name": "Anna Muster", "emails": ["a@x.de"]})),
                ),
                create(
                    "b",
                    fields(json!({"name": "Anna Muster", "phone": "+4930123"})),
                ),
            ],
        )
        .unwrap();
    let link_b = s.links_of("t1", ids[1]).unwrap()[0].id;
    let conflict = NewConflict {
        record_id: ids[1],
        entity: "contact".into(),
        link_id: link_b,
        connector: "crm".into(),
        field: "phone".into(),
        hub_value: json!("+4930123"),
        remote_value: json!("+4930999"),
        policy: "review".into(),
        resolution: "held".into(),
    };
    let batch = SyncBatch {
        conflicts: vec![conflict],
        ..Default::default()
    };
    s.apply_sync("t1", run, &batch).unwrap();
    (run, ids[0], ids[1])
}

fn version(s: &mut dyn HubStore, id: RecordId) -> i64 {
    s.load_records("t1", &[id]).unwrap()[0]
        .as_ref()
        .unwrap()
        .version
}

fn merge_of(s: &mut dyn HubStore, survivor: RecordId, merged: RecordId) -> MergeWrite {
    MergeWrite {
        entity: "contact".into(),
        survivor,
        merged,
        expect_versions: (version(s, survivor), version(s, merged)),
        values: fields(json!({"name": "Anna Muster", "emails": ["a@x.de"], "phone": "+4930123"})),
        probability: 0.99,
        reason: "auto".into(),
    }
}

/// Everything `unmerge` promises to restore, as the CLI shows it.
fn picture(s: &mut dyn HubStore, ids: &[RecordId]) -> serde_json::Value {
    let mut out = Vec::new();
    for &id in ids {
        let record = s.record("t1", "contact", id).unwrap().unwrap();
        let links = s.links_of("t1", id).unwrap();
        let conflicts: Vec<_> = s
            .conflicts("t1", true, 100)
            .unwrap()
            .into_iter()
            .filter(|c| c.record_id == id)
            .collect();
        out.push(json!({"record": record, "links": links, "conflicts": conflicts}));
    }
    serde_json::Value::Array(out)
}

#[test]
fn merge_moves_everything_to_the_survivor_and_unmerge_restores_it_exactly() {
    both(|s| {
        let (_, a, b) = two(s);
        let before = picture(s, &[a, b]);
        let run = new_run(s);
        let m = merge_of(s, a, b);
        let merge_id = s.merge("t1", run, &m).unwrap();

        let survivor = s.record("t1", "contact", a).unwrap().unwrap();
        assert_eq!(survivor.values, m.values);
        let gone = s.record("t1", "contact", b).unwrap().unwrap();
        assert_eq!(gone.merged_into, Some(a));
        let links = s.links_of("t1", a).unwrap();
        assert_eq!(links.len(), 2, "the merged record's link moved");
        assert!(links.iter().all(|l| l.status == LinkStatus::Dirty));
        assert!(s.links_of("t1", b).unwrap().is_empty());
        let conflicts = s.conflicts("t1", true, 10).unwrap();
        assert_eq!(conflicts[0].record_id, a, "the open conflict moved");
        let live: Vec<RecordId> = s
            .live_records("t1", "contact", 0, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(live, vec![a]);
        let away = s.merged_away("t1", "contact", 0, 10).unwrap();
        assert_eq!(away.len(), 1);
        assert_eq!(away[0].0, b, "the merged record, with its values");
        assert_eq!(away[0].1, gone.values);
        assert!(s.merged_away("t1", "contact", b, 10).unwrap().is_empty());
        let hist = s.history_of("t1", b).unwrap();
        assert_eq!(hist.last().unwrap().changes["merged_into"].new, json!(a));
        let hist = s.history_of("t1", a).unwrap();
        assert_eq!(hist.last().unwrap().changes["phone"].new, json!("+4930123"));
        let merges = s.merges("t1", Some(b), 10).unwrap();
        assert_eq!(
            (merges[0].id, merges[0].status.as_str()),
            (merge_id, "active")
        );

        let undo = new_run(s);
        let row = s.unmerge("t1", undo, merge_id).unwrap();
        assert_eq!(
            (row.status.as_str(), row.undone_run),
            ("undone", Some(undo))
        );
        assert!(s.merged_away("t1", "contact", 0, 10).unwrap().is_empty());
        assert_eq!(
            picture(s, &[a, b]),
            before,
            "records, links and conflicts as they were"
        );
        assert_eq!(
            s.rejected_pairs("t1", "contact").unwrap(),
            vec![(a.min(b), a.max(b))]
        );
        let err = s.unmerge("t1", undo, merge_id).unwrap_err().to_string();
        assert!(err.contains("already undone"), "{err}");
        assert_eq!(
            s.history_of("t1", b).unwrap().last().unwrap().origin,
            format!("unmerge {b} → {a}")
        );
    });
}

#[test]
fn a_merge_checks_versions_and_refuses_what_cannot_be_merged() {
    both(|s| {
        let (run, a, b) = two(s);
        let mut m = merge_of(s, a, b);
        m.expect_versions.1 -= 1;
        let err = s.merge("t1", run, &m).unwrap_err();
        assert!(
            matches!(err, StoreError::Changed { record, .. } if record == b),
            "{err}"
        );
        let m = merge_of(s, a, a);
        assert!(s
            .merge("t1", run, &m)
            .unwrap_err()
            .to_string()
            .contains("same record"));
        let m = merge_of(s, a, b);
        s.merge("t1", run, &m).unwrap();
        let m = merge_of(s, a, b);
        let err = s.merge("t1", run, &m).unwrap_err().to_string();
        assert!(
            err.contains(&format!("record {b} was merged into {a}")),
            "{err}"
        );
        assert!(s
            .record("t1", "contact", b)
            .unwrap()
            .unwrap()
            .merged_into
            .is_some());
    });
}

#[test]
fn unmerge_is_refused_after_the_survivor_changed_and_a_synced_link_stays_dirty() {
    both(|s| {
        let (run, a, b) = two(s);
        let m = merge_of(s, a, b);
        let first = s.merge("t1", run, &m).unwrap();
        // a push settles one moved link: its base moves, the record does not
        let link = s.links_of("t1", a).unwrap()[1].clone();
        let base = m.values.clone();
        let synced = LinkChange::Synced {
            link_id: link.id,
            expect_hash: None,
            external_id: link.external_id.clone(),
            content_hash: content_hash(&base),
            base,
            version: Some("v2".into()),
            status: LinkStatus::Clean,
        };
        let batch = SyncBatch {
            links: vec![synced],
            ..Default::default()
        };
        s.apply_sync("t1", run, &batch).unwrap();
        s.unmerge("t1", run, first).unwrap();
        let moved = s.links_of("t1", b).unwrap();
        assert_eq!(
            moved[0].status,
            LinkStatus::Dirty,
            "the restored values must be pushed again"
        );

        let m = merge_of(s, a, b);
        let second = s.merge("t1", run, &m).unwrap();
        let w = RecordWrite {
            record_id: a,
            values: Some(fields(json!({"name": "Anna M."}))),
            deleted: None,
            origin: "crm".into(),
            history: FieldChanges::new(),
        };
        let batch = SyncBatch {
            records: vec![w],
            ..Default::default()
        };
        s.apply_sync("t1", run, &batch).unwrap();
        let err = s.unmerge("t1", run, second).unwrap_err().to_string();
        assert!(
            err.contains(&format!("record {a} changed after merge {second}")),
            "{err}"
        );
        assert!(s
            .unmerge("t1", run, 9999)
            .unwrap_err()
            .to_string()
            .contains("no merge 9999"));
    });
}

#[test]
fn the_review_queue_keeps_each_pair_once_and_remembers_rejections() {
    both(|s| {
        let (run, a, b) = two(s);
        let pair = |x, y| NewReview {
            entity: "contact".into(),
            a: x,
            b: y,
            probability: 0.7,
        };
        assert_eq!(s.queue_reviews("t1", run, &[pair(b, a)]).unwrap(), 1);
        assert_eq!(
            s.queue_reviews("t1", run, &[pair(a, b)]).unwrap(),
            0,
            "known pair"
        );
        let open = s.reviews("t1", true, 10).unwrap();
        assert_eq!((open.len(), open[0].a, open[0].b), (1, a.min(b), a.max(b)));
        assert_eq!(open[0].status, ReviewStatus::Open);
        s.decide_review("t1", open[0].id, ReviewStatus::Rejected, "eva@firma.de")
            .unwrap();
        assert!(s.reviews("t1", true, 10).unwrap().is_empty());
        let row = s.review("t1", open[0].id).unwrap().unwrap();
        assert_eq!(
            (row.status, row.decided_by.as_deref()),
            (ReviewStatus::Rejected, Some("eva@firma.de"))
        );
        assert_eq!(
            s.queue_reviews("t1", run, &[pair(a, b)]).unwrap(),
            0,
            "rejected pairs stay rejected"
        );
        assert_eq!(s.rejected_pairs("t1", "contact").unwrap().len(), 1);
        assert!(
            s.rejected_pairs("t2", "contact").unwrap().is_empty(),
            "tenants are separate"
        );
        let err = s
            .decide_review("t1", 777, ReviewStatus::Accepted, "x")
            .unwrap_err();
        assert!(err.to_string().contains("no review pair 777"));
    });
}

/// Every column of the rows a merge touches, as SQLite holds them, except
/// `version`: it only ever grows (outbox idempotency keys use it).
fn raw_rows(path: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT id, tenant, entity, vals, merged_into, deleted_at, created_at, updated_at FROM records ORDER BY id",
        "SELECT * FROM links ORDER BY id",
        "SELECT * FROM conflicts ORDER BY id",
    ] {
        let mut stmt = c.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(cells.join(" | "))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

#[test]
fn unmerge_gives_back_the_sqlite_rows_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let mut store = open(path.to_str().unwrap()).unwrap();
    let s = store.as_mut();
    let (run, a, b) = two(s);
    let before = raw_rows(&path);
    let m = merge_of(s, a, b);
    let merge = s.merge("t1", run, &m).unwrap();
    assert_ne!(raw_rows(&path), before, "the merge changed rows");
    s.unmerge("t1", run, merge).unwrap();
    assert_eq!(raw_rows(&path), before);
}

#[test]
fn match_keys_find_live_candidates_count_carriers_and_keep_their_state() {
    both(|s| {
        let (run, a, b) = two(s);
        assert_eq!(s.match_state("t1", "contact").unwrap(), None);
        let keys = vec![(a, vec![1, 7]), (b, vec![1, 8])];
        s.set_match_keys("t1", "contact", &keys, true, Some(("sig", 5)))
            .unwrap();
        assert_eq!(
            s.match_state("t1", "contact").unwrap(),
            Some(("sig".into(), 5))
        );
        let fresh = s.history_after("t1", 0, 100).unwrap();
        assert!(
            fresh.iter().all(|h| !h.2),
            "keyed at their versions: {fresh:?}"
        );
        let ids = |v: Vec<(RecordId, Fields)>| v.into_iter().map(|r| r.0).collect::<Vec<_>>();
        let found = s.match_candidates("t1", "contact", &[1], 10).unwrap();
        assert_eq!(ids(found.clone()), vec![a, b]);
        assert_eq!(found[0].1["name"], json!("Anna Muster"), "with values");
        assert!(
            s.match_candidates("t1", "contact", &[1], 1)
                .unwrap()
                .is_empty(),
            "over max_block"
        );
        assert_eq!(
            ids(s.match_candidates("t1", "contact", &[1, 8], 1).unwrap()),
            vec![b]
        );
        assert!(s
            .match_candidates("t2", "contact", &[1], 10)
            .unwrap()
            .is_empty());
        assert_eq!(
            s.key_counts("t1", "contact", &[1, 7, 99]).unwrap(),
            vec![2, 1, 0]
        );
        // replacing one record's keys leaves the others'
        s.set_match_keys("t1", "contact", &[(b, vec![9])], false, None)
            .unwrap();
        assert_eq!(
            s.key_counts("t1", "contact", &[1, 8, 9]).unwrap(),
            vec![1, 0, 1]
        );
        assert_eq!(s.match_state("t1", "contact").unwrap().unwrap().1, 5);
        // a merged record is no candidate
        s.set_match_keys("t1", "contact", &[(b, vec![1])], false, None)
            .unwrap();
        let m = merge_of(s, a, b);
        s.merge("t1", run, &m).unwrap();
        assert_eq!(
            ids(s.match_candidates("t1", "contact", &[1], 10).unwrap()),
            vec![a]
        );
        // history: which records changed, after a cursor
        let last = s.last_history_id("t1").unwrap();
        let all = s.history_after("t1", 0, 100).unwrap();
        assert_eq!(all.last().unwrap().0, last);
        assert!(all.iter().any(|h| h.1 == b));
        assert!(
            all.iter().any(|h| h.1 == a && h.2),
            "the merge moved a past its keys"
        );
        let later = s.history_after("t1", all[1].0, 100).unwrap();
        assert_eq!(later.len(), all.len() - 2);
        assert_eq!(
            ids(s.sample_records("t1", "contact", 1, 10).unwrap()),
            vec![a]
        );
    });
}

/// `two` and a third contact.
fn three(s: &mut dyn HubStore) -> (RunId, RecordId, RecordId, RecordId) {
    let (run, a, b) = two(s);
    let values = fields(json!({"name": "A. Muster", "city": "Berlin"}));
    let c = s.apply("t1", run, &[create("c", values)]).unwrap()[0];
    (run, a, b, c)
}

/// A survivorship that keeps every field (the survivor's first) and
/// remembers what it was handed.
fn union(
    seen: &std::cell::RefCell<Vec<[MergeMember; 2]>>,
) -> impl Fn(&[MergeMember; 2]) -> Fields + '_ {
    move |members| {
        seen.borrow_mut().push(members.clone());
        let mut out = members[1].values.clone();
        out.extend(members[0].values.clone());
        out
    }
}

fn step(survivor: RecordId, merged: RecordId) -> MergeStep {
    MergeStep {
        survivor,
        merged,
        probability: 0.97,
        reason: "auto".into(),
    }
}

#[test]
fn merge_many_merges_as_merge_does_one_step_after_the_other_and_unmerge_restores_it() {
    both(|s| {
        let (_, a, b, c) = three(s);
        let before = picture(s, &[a, b, c]);
        let run = new_run(s);
        let seen = std::cell::RefCell::new(Vec::new());
        let survive = union(&seen);
        let steps = [step(a, b), step(a, c)];
        let done = s
            .merge_many("t1", run, "contact", &steps, &survive)
            .unwrap();
        assert!(done.stopped.is_none(), "{:?}", done.stopped);
        assert_eq!(done.ids.len(), 2);
        let seen = seen.borrow().clone();
        // the second step sees the survivor as the first left it
        let first = survive(&seen[0]);
        assert_eq!(seen[1][0].values, first);
        assert_eq!(seen[0][0].sources, vec!["crm".to_string()]);
        assert_eq!(
            seen[1][0].sources,
            vec!["crm".to_string(), "crm".to_string()]
        );
        assert!(seen[1][0].changed >= seen[0][0].changed);
        let survivor = s.record("t1", "contact", a).unwrap().unwrap();
        assert_eq!(survivor.values, survive(&seen[1]));
        assert_eq!(survivor.values["city"], json!("Berlin"));
        assert_eq!(survivor.values["phone"], json!("+4930123"));
        for x in [b, c] {
            let gone = s.record("t1", "contact", x).unwrap().unwrap();
            assert_eq!(gone.merged_into, Some(a));
            assert!(s.links_of("t1", x).unwrap().is_empty());
            let hist = s.history_of("t1", x).unwrap();
            assert_eq!(hist.last().unwrap().changes["merged_into"].new, json!(a));
        }
        let links = s.links_of("t1", a).unwrap();
        assert_eq!(links.len(), 3, "both merged records' links moved");
        assert!(links.iter().all(|l| l.status == LinkStatus::Dirty));
        assert_eq!(s.conflicts("t1", true, 10).unwrap()[0].record_id, a);
        let merges = s.merges("t1", Some(a), 10).unwrap();
        let ids: Vec<i64> = merges.iter().map(|m| m.id).rev().collect();
        assert_eq!(ids, done.ids);
        assert!(merges
            .iter()
            .all(|m| m.status == "active" && m.run_id == run && m.reason == "auto"));
        let hist = s.history_of("t1", a).unwrap();
        assert_eq!(hist.last().unwrap().changes["city"].new, json!("Berlin"));

        // the last merge undone: c as it was, a as the first step left it
        let undo = new_run(s);
        s.unmerge("t1", undo, done.ids[1]).unwrap();
        let now = picture(s, &[a, b, c]);
        assert_eq!(now[2], before[2], "c as it was");
        let survivor = s.record("t1", "contact", a).unwrap().unwrap();
        assert_eq!(survivor.values, first);
        assert_eq!(s.links_of("t1", a).unwrap().len(), 2);
        // as after `merge`: the survivor moved on, so the first stays
        let err = s.unmerge("t1", undo, done.ids[0]).unwrap_err().to_string();
        assert!(err.contains("changed after merge"), "{err}");
    });
}

#[test]
fn merge_many_stops_at_a_refused_step_and_keeps_the_steps_before() {
    both(|s| {
        let (run, a, b, c) = three(s);
        let seen = std::cell::RefCell::new(Vec::new());
        let survive = union(&seen);
        let steps = [step(a, b), step(a, b), step(a, c)];
        let done = s
            .merge_many("t1", run, "contact", &steps, &survive)
            .unwrap();
        assert_eq!(done.ids.len(), 1);
        let err = done.stopped.expect("the second step is refused");
        assert!(matches!(err, StoreError::Refused(_)), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("record {b} was merged into {a}")),
            "{err}"
        );
        assert_eq!(seen.borrow().len(), 1, "a refused step survives nothing");
        let record = |s: &mut dyn HubStore, id| s.record("t1", "contact", id).unwrap().unwrap();
        assert_eq!(record(s, b).merged_into, Some(a), "the first step stays");
        assert_eq!(record(s, c).merged_into, None, "the third is not tried");
        assert_eq!(s.merges("t1", None, 10).unwrap().len(), 1);

        let done = s
            .merge_many("t1", run, "contact", &[step(a, 999)], &survive)
            .unwrap();
        assert!(done.ids.is_empty());
        let err = done.stopped.unwrap().to_string();
        assert!(err.contains("record 999 does not exist"), "{err}");
        let done = s
            .merge_many("t1", run, "person", &[step(a, c)], &survive)
            .unwrap();
        let err = done.stopped.unwrap().to_string();
        assert!(err.contains("is a contact, not a person"), "{err}");
        assert_eq!(record(s, c).merged_into, None);
        let done = s.merge_many("t1", run, "contact", &[], &survive).unwrap();
        assert!(done.ids.is_empty() && done.stopped.is_none());
    });
}

#[test]
fn merge_many_then_unmerge_gives_back_the_sqlite_rows_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let mut store = open(path.to_str().unwrap()).unwrap();
    let s = store.as_mut();
    let (run, a, b, c) = three(s);
    let before = raw_rows(&path);
    let seen = std::cell::RefCell::new(Vec::new());
    let survive = union(&seen);
    let done = s
        .merge_many("t1", run, "contact", &[step(a, b)], &survive)
        .unwrap();
    assert_ne!(raw_rows(&path), before, "the merge changed rows");
    s.unmerge("t1", run, done.ids[0]).unwrap();
    assert_eq!(raw_rows(&path), before);
    // the second of a batch's merges, likewise: the rows after the first
    let done = s
        .merge_many("t1", run, "contact", &[step(b, c), step(b, a)], &survive)
        .unwrap();
    assert_eq!(done.ids.len(), 2);
    s.unmerge("t1", run, done.ids[1]).unwrap();
    let between = raw_rows(&path);
    let again = s
        .merge_many("t1", run, "contact", &[step(b, a)], &survive)
        .unwrap();
    s.unmerge("t1", run, again.ids[0]).unwrap();
    assert_eq!(raw_rows(&path), between);
}

/// `case` on two fresh stores of each kind (SQLite, and PostgreSQL when
/// there is one), with the SQLite files' paths.
fn two_stores(case: fn([&mut dyn HubStore; 2], Option<[&std::path::Path; 2]>)) {
    let dir = tempfile::tempdir().unwrap();
    let paths = [dir.path().join("one.db"), dir.path().join("two.db")];
    let mut one = open(paths[0].to_str().unwrap()).unwrap();
    let mut two = open(paths[1].to_str().unwrap()).unwrap();
    case([one.as_mut(), two.as_mut()], Some([&paths[0], &paths[1]]));
    if let (Some(a), Some(b)) = (
        einklang_testkit::PgDb::new("einklang_store"),
        einklang_testkit::PgDb::new("einklang_store"),
    ) {
        let (mut one, mut two) = (open(&a.url).unwrap(), open(&b.url).unwrap());
        case([one.as_mut(), two.as_mut()], None);
    }
}

/// `three` and two more contacts (d, e): the records of [`chain_steps`].
fn five(s: &mut dyn HubStore) -> (RunId, [RecordId; 5]) {
    let (run, a, b, c) = three(s);
    let d = fields(json!({"name": "Anna Muster", "city": "Hamburg"}));
    let e = fields(json!({"name": "A. Muster", "phone": "+4940555"}));
    let ids = s
        .apply("t1", run, &[create("d", d), create("e", e)])
        .unwrap();
    (run, [a, b, c, ids[0], ids[1]])
}

/// Two merges into one survivor, one into another, that survivor merged
/// away with what it took, then a refused step and one not tried.
fn chain_steps([a, b, c, d, e]: [RecordId; 5]) -> Vec<MergeStep> {
    vec![
        step(a, b),
        step(a, c),
        step(d, e),
        step(d, a),
        step(a, e),
        step(c, d),
    ]
}

/// `steps` one `merge` at a time, each survivor's values computed from
/// the records as the store then shows them; stops at the first refusal.
fn merge_one_by_one(
    s: &mut dyn HubStore,
    run: RunId,
    steps: &[MergeStep],
    survive: &dyn Fn(&[MergeMember; 2]) -> Fields,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for st in steps {
        let mut member = |id| {
            let r = s.record("t1", "contact", id).unwrap().unwrap();
            let sources = s.links_of("t1", id).unwrap();
            MergeMember {
                values: r.values,
                sources: sources.into_iter().map(|l| l.connector).collect(),
                changed: r.updated_at.timestamp_micros(),
            }
        };
        let members = [member(st.survivor), member(st.merged)];
        let m = MergeWrite {
            entity: "contact".into(),
            survivor: st.survivor,
            merged: st.merged,
            expect_versions: (version(s, st.survivor), version(s, st.merged)),
            values: survive(&members),
            probability: st.probability,
            reason: st.reason.clone(),
        };
        match s.merge("t1", run, &m) {
            Ok(id) => ids.push(id),
            Err(StoreError::Refused(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    ids
}

/// What a merge changes, times left out: records with versions, links,
/// conflicts, history and merges.
fn merge_picture(s: &mut dyn HubStore, ids: &[RecordId]) -> serde_json::Value {
    let mut out = Vec::new();
    for &id in ids {
        let r = s.record("t1", "contact", id).unwrap().unwrap();
        let links: Vec<_> = (s.links_of("t1", id).unwrap().into_iter())
            .map(|l| json!([l.id, l.record_id, l.connector, l.status]))
            .collect();
        let history: Vec<_> = (s.history_of("t1", id).unwrap().into_iter())
            .map(|h| json!([h.origin, h.changes]))
            .collect();
        let conflicts: Vec<_> = (s.conflicts("t1", true, 100).unwrap().into_iter())
            .filter(|c| c.record_id == id)
            .map(|c| c.id)
            .collect();
        let v = version(s, id);
        out.push(json!([
            r.values,
            r.merged_into,
            v,
            links,
            history,
            conflicts
        ]));
    }
    let merges: Vec<_> = (s.merges("t1", None, 100).unwrap().into_iter())
        .map(|m| json!([m.id, m.survivor, m.merged, m.status, m.probability]))
        .collect();
    json!([out, merges])
}

/// The SQLite rows a merge writes, every time (RFC 3339 text) masked.
fn rows_without_times(path: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT id, vals, version, merged_into, deleted_at FROM records ORDER BY id",
        "SELECT id, record_id, status, content_hash FROM links ORDER BY id",
        "SELECT id, record_id FROM conflicts ORDER BY id",
        "SELECT id, survivor_id, merged_id, probability, reason, status, survivor_version, snapshot FROM merges ORDER BY id",
        "SELECT id, record_id, origin, changes FROM history ORDER BY id",
    ] {
        let mut stmt = c.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                        v => format!("{v:?}"),
                    })
                    .collect();
                Ok(cells.join(" | "))
            })
            .unwrap();
        out.extend(rows.map(|r| mask_times(&r.unwrap())));
    }
    out
}

/// `text` with each time (`20..-..-..T..:..:..Z`, 27 characters as the
/// SQLite store writes them) replaced by `T`.
fn mask_times(text: &str) -> String {
    let is_time =
        |s: &str| s.len() == 27 && s.starts_with("20") && &s[10..11] == "T" && s.ends_with('Z');
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        match text.get(i..i + 27).filter(|s| is_time(s)) {
            Some(_) => {
                out.push('T');
                i += 27;
            }
            None => {
                let c = text[i..].chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

#[test]
fn merge_many_leaves_the_rows_merging_one_at_a_time_leaves_and_unmerge_undoes_each() {
    two_stores(|[batch, single], paths| {
        let seen = std::cell::RefCell::new(Vec::new());
        let survive = union(&seen);
        let (run, ids) = five(batch);
        assert_eq!(five(single).1, ids);
        let steps = chain_steps(ids);
        let done = batch
            .merge_many("t1", run, "contact", &steps, &survive)
            .unwrap();
        let one_by_one = merge_one_by_one(single, run, &steps, &survive);
        assert_eq!(done.ids, one_by_one, "four merges, same ids");
        assert_eq!(done.ids.len(), 4);
        let err = done.stopped.expect("the fifth step is refused").to_string();
        assert!(
            err.contains(&format!("record {} was merged into", ids[0])),
            "{err}"
        );
        assert_eq!(merge_picture(batch, &ids), merge_picture(single, &ids));
        if let Some([one, two]) = paths {
            assert_eq!(rows_without_times(one), rows_without_times(two));
        }
        // each snapshot gives back the rows as that step found them (an
        // unmerge moves its survivor on, so an earlier merge into it stays)
        for &merge in done.ids.iter().rev() {
            let undo = new_run(batch);
            assert_eq!(undo, new_run(single));
            let unmerge = |s: &mut dyn HubStore| match s.unmerge("t1", undo, merge) {
                Ok(m) => Ok((m.id, m.status)),
                Err(e) => Err(e.to_string()),
            };
            assert_eq!(unmerge(batch), unmerge(single));
            assert_eq!(merge_picture(batch, &ids), merge_picture(single, &ids));
            if let Some([one, two]) = paths {
                assert_eq!(rows_without_times(one), rows_without_times(two));
            }
        }
    });
}
