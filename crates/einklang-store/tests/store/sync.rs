//! The two-way sync's part of the store, on both stores: record states,
//! batches committed all-or-nothing, pending links, dirty marking, the
//! outbox, conflicts, link pages, cursors and dry runs.

use super::*;

fn seed(s: &mut dyn HubStore) -> (RunId, Vec<RecordId>) {
    let run = new_run(s);
    let ids = s
        .apply(
            "t1",
            run,
            &[
                create("b", fields(json!({"name": "Bea"}))),
                create("a", fields(json!({"name": "Ann"}))),
                create("c", fields(json!({"name": "Cid"}))),
            ],
        )
        .unwrap();
    (run, ids)
}

fn pending(record: RecordId, connector: &str) -> NewLink {
    NewLink {
        record_id: record,
        connector: connector.into(),
        entity: "contact".into(),
        marker: format!("ek-{record}"),
    }
}

fn state(s: &mut dyn HubStore, id: RecordId) -> RecordState {
    s.load_records("t1", &[id]).unwrap().remove(0).unwrap()
}

#[test]
fn record_states_carry_links_version_and_open_conflicts() {
    both(|s| {
        let (run, ids) = seed(s);
        let st = state(s, ids[0]);
        assert_eq!((st.version, st.deleted, st.links.len()), (1, false, 1));
        assert_eq!(st.values["name"], json!("Bea"));
        assert_eq!(st.link_to("crm").unwrap().external_id, "b");
        assert!(s.load_records("t1", &[999_999]).unwrap()[0].is_none());
        assert!(
            s.load_records("t2", &[ids[0]]).unwrap()[0].is_none(),
            "tenants are separate"
        );
        let link = st.links[0].id;
        let batch = SyncBatch {
            conflicts: vec![conflict(ids[0], link, "held", "X")],
            ..Default::default()
        };
        s.apply_sync("t1", run, &batch).unwrap();
        assert_eq!(
            state(s, ids[0]).open_conflicts,
            vec![(link, "name".to_string(), json!("X"))]
        );
    });
}

fn conflict(record: RecordId, link: i64, resolution: &str, remote: &str) -> NewConflict {
    NewConflict {
        record_id: record,
        entity: "contact".into(),
        link_id: link,
        connector: "crm".into(),
        field: "name".into(),
        hub_value: json!("Bea"),
        remote_value: json!(remote),
        policy: "review".into(),
        resolution: resolution.into(),
    }
}

#[test]
fn record_writes_bump_the_version_keep_history_and_tombstone() {
    both(|s| {
        let (run, ids) = seed(s);
        let mut history = FieldChanges::new();
        history.insert(
            "name".into(),
            FieldChange {
                old: json!("Bea"),
                new: json!("Bea B"),
            },
        );
        let write = RecordWrite {
            record_id: ids[0],
            values: Some(fields(json!({"name": "Bea B"}))),
            deleted: None,
            origin: "advo".into(),
            history,
        };
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                records: vec![write],
                ..Default::default()
            },
        )
        .unwrap();
        let st = state(s, ids[0]);
        assert_eq!((st.version, st.values["name"].clone()), (2, json!("Bea B")));
        let h = s.history_of("t1", ids[0]).unwrap();
        assert_eq!((h.len(), h[1].origin.as_str()), (2, "advo"));
        let tomb = |deleted| RecordWrite {
            record_id: ids[0],
            values: None,
            deleted: Some(deleted),
            origin: "crm".into(),
            history: FieldChanges::new(),
        };
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                records: vec![tomb(true)],
                ..Default::default()
            },
        )
        .unwrap();
        let st = state(s, ids[0]);
        assert!(st.deleted);
        assert_eq!(
            st.values["name"],
            json!("Bea B"),
            "a tombstone keeps the values"
        );
        assert!(s
            .record("t1", "contact", ids[0])
            .unwrap()
            .unwrap()
            .deleted_at
            .is_some());
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                records: vec![tomb(false)],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!state(s, ids[0]).deleted);
    });
}

#[test]
fn pending_links_dirty_marks_and_links_to_push() {
    both(|s| {
        let (run, ids) = seed(s);
        let batch = SyncBatch {
            new_links: vec![
                pending(ids[0], "advo"),
                pending(ids[1], "advo"),
                pending(ids[0], "advo"),
            ],
            ..Default::default()
        };
        s.apply_sync("t1", run, &batch).unwrap();
        let todo = s.links_to_push("t1", "advo", "contact", 0, 10).unwrap();
        assert_eq!(todo.len(), 2, "a pending link is created once");
        assert_eq!(
            (todo[0].status, todo[0].external_id.clone()),
            (LinkStatus::Pending, format!("ek-{}", ids[0]))
        );
        assert_eq!(
            s.links_to_push("t1", "advo", "contact", todo[0].link_id, 10)
                .unwrap()
                .len(),
            1
        );
        // a clean advo link for record 2, then the hub changes through crm
        let advo = todo[1].link_id;
        let synced = LinkChange::Synced {
            link_id: advo,
            expect_hash: None,
            external_id: "A-2".into(),
            base: fields(json!({"name": "Ann"})),
            content_hash: content_hash(&fields(json!({"name": "Ann"}))),
            version: Some("r1".into()),
            status: LinkStatus::Clean,
        };
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                links: vec![synced],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            s.links_to_push("t1", "advo", "contact", 0, 10)
                .unwrap()
                .len(),
            1
        );
        let crm_link = state(s, ids[1]).link_to("crm").unwrap().id;
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                dirty: vec![(ids[1], Some(crm_link))],
                ..Default::default()
            },
        )
        .unwrap();
        let st = state(s, ids[1]);
        assert_eq!(st.link_to("advo").unwrap().status, LinkStatus::Dirty);
        assert_eq!(st.link_to("advo").unwrap().external_id, "A-2");
        assert_eq!(
            st.link_to("crm").unwrap().status,
            LinkStatus::Clean,
            "the source link stays clean"
        );
        assert_eq!(
            s.find_links("t1", "advo", "contact", &["A-2"]).unwrap()[0]
                .as_ref()
                .unwrap()
                .status,
            LinkStatus::Dirty
        );
    });
}

#[test]
fn a_stale_compare_and_swap_fails_the_whole_batch() {
    both(|s| {
        let (run, ids) = seed(s);
        let link = state(s, ids[0]).links[0].clone();
        let new_base = fields(json!({"name": "X"}));
        let synced = |expect| LinkChange::Synced {
            link_id: link.id,
            expect_hash: Some(expect),
            external_id: "b".into(),
            base: new_base.clone(),
            content_hash: content_hash(&new_base),
            version: None,
            status: LinkStatus::Clean,
        };
        let write = RecordWrite {
            record_id: ids[0],
            values: Some(new_base.clone()),
            deleted: None,
            origin: "crm".into(),
            history: FieldChanges::new(),
        };
        let stale = SyncBatch {
            records: vec![write.clone()],
            links: vec![synced(content_hash(&new_base))],
            ..Default::default()
        };
        let err = s.apply_sync("t1", run, &stale).unwrap_err();
        assert!(
            matches!(err, StoreError::StaleLink { link_id } if link_id == link.id),
            "{err}"
        );
        assert_eq!(
            state(s, ids[0]).values["name"],
            json!("Bea"),
            "nothing of the batch was applied"
        );
        let ok = SyncBatch {
            records: vec![write],
            links: vec![synced(link.hash())],
            ..Default::default()
        };
        s.apply_sync("t1", run, &ok).unwrap();
        assert_eq!(state(s, ids[0]).links[0].base, new_base);
    });
}

#[test]
fn failed_state_and_recreate_of_a_link() {
    both(|s| {
        let (run, ids) = seed(s);
        let link = state(s, ids[0]).links[0].id;
        let at = chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let failed = LinkChange::State {
            link_id: link,
            status: LinkStatus::Failed,
            attempts: 2,
            next_attempt_at: Some(at),
            last_error: Some("HTTP 503".into()),
        };
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                links: vec![failed],
                ..Default::default()
            },
        )
        .unwrap();
        let l = state(s, ids[0]).links[0].clone();
        assert_eq!(
            (
                l.status,
                l.attempts,
                l.next_attempt_at,
                l.last_error.as_deref()
            ),
            (LinkStatus::Failed, 2, Some(at), Some("HTTP 503"))
        );
        // counted among the links a connector still owes; clean ones not
        let open = s.open_links("t1").unwrap();
        assert!(
            open.contains(&("crm".to_string(), "failed".to_string(), 1)),
            "{open:?}"
        );
        assert!(
            open.iter().all(|(_, status, _)| status != "clean"),
            "{open:?}"
        );
        assert!(s.open_links("t2").unwrap().is_empty());
        let listed = s.links_with_status("t1", "failed", None, 0, 10).unwrap();
        assert_eq!(listed.len(), 1);
        assert!(s
            .links_with_status("t1", "clean", None, 0, 10)
            .unwrap()
            .is_empty());
        // retry now: due at once, its error and attempts kept; only the
        // tenant's own failed links
        assert!(s.retry_now("t2", link).unwrap().is_none());
        let due = s.retry_now("t1", link).unwrap().expect("a failed link");
        assert_eq!(
            (
                due.status,
                due.attempts,
                due.next_attempt_at,
                due.last_error.as_deref()
            ),
            (LinkStatus::Failed, 2, None, Some("HTTP 503"))
        );
        let clean = state(s, ids[1]).links[0].id;
        assert!(s.retry_now("t1", clean).unwrap().is_none());
        let recreate = LinkChange::Recreate {
            link_id: link,
            marker: "ek-1".into(),
        };
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                links: vec![recreate],
                ..Default::default()
            },
        )
        .unwrap();
        let l = state(s, ids[0]).links[0].clone();
        assert_eq!(
            (l.status, l.external_id.as_str(), l.attempts),
            (LinkStatus::Pending, "ek-1", 0)
        );
        assert!(l.base.is_empty());
    });
}

fn entry(link: i64, record: RecordId, key: &str) -> OutboxEntry {
    OutboxEntry {
        id: 0,
        link_id: link,
        record_id: record,
        connector: "advo".into(),
        entity: "contact".into(),
        op: OutboxOp::Update,
        idem_key: key.into(),
        payload: json!({"tel": "+491"}).as_object().unwrap().clone(),
        new_base: fields(json!({"phones": ["+491"]})),
        target: "A-1".into(),
        expected_version: Some("r7".into()),
        state: String::new(),
    }
}

#[test]
fn the_outbox_queues_once_per_idempotency_key() {
    both(|s| {
        let (run, ids) = seed(s);
        let queue = |k: &str| OutboxWrite::Queue(entry(5, ids[0], k));
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                outbox: vec![queue("link:5:v1:update"), queue("link:5:v1:update")],
                ..Default::default()
            },
        )
        .unwrap();
        let out = s.outbox("t1", "advo", "contact").unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            (
                out[0].state.as_str(),
                out[0].op,
                out[0].expected_version.as_deref()
            ),
            ("queued", OutboxOp::Update, Some("r7"))
        );
        assert_eq!(out[0].payload["tel"], json!("+491"));
        assert_eq!(out[0].new_base, fields(json!({"phones": ["+491"]})));
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                outbox: vec![OutboxWrite::Sending("link:5:v1:update".into())],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            s.outbox("t1", "advo", "contact").unwrap()[0].state,
            "sending"
        );
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                outbox: vec![OutboxWrite::Remove("link:5:v1:update".into())],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(s.outbox("t1", "advo", "contact").unwrap().is_empty());
        assert!(s.outbox("t2", "advo", "contact").unwrap().is_empty());
    });
}

#[test]
fn held_conflicts_stay_one_per_link_and_field_until_resolved() {
    both(|s| {
        let (run, ids) = seed(s);
        let link = state(s, ids[0]).links[0].id;
        let batch = SyncBatch {
            conflicts: vec![
                conflict(ids[0], link, "held", "X"),
                conflict(ids[0], link, "held", "Y"),
                conflict(ids[0], link, "keep_hub", "Z"),
            ],
            ..Default::default()
        };
        s.apply_sync("t1", run, &batch).unwrap();
        let open = s.conflicts("t1", true, 10).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(
            (open[0].remote_value.clone(), open[0].status.as_str()),
            (json!("Y"), "open")
        );
        assert_eq!(
            s.conflicts("t1", false, 10).unwrap().len(),
            2,
            "the decided one is kept for the audit trail"
        );
        let resolve = ConflictResolution {
            conflict_id: open[0].id,
            resolution: "hub".into(),
            by: "anna@kanzlei.de".into(),
        };
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                resolved: vec![resolve],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(s.conflicts("t1", true, 10).unwrap().is_empty());
        let done = s.conflict("t1", open[0].id).unwrap().unwrap();
        assert_eq!(
            (
                done.status.as_str(),
                done.resolution.as_str(),
                done.resolved_by.as_deref()
            ),
            ("resolved", "hub", Some("anna@kanzlei.de"))
        );
        assert!(done.resolved_at.is_some());
        assert!(s.conflict("t2", open[0].id).unwrap().is_none());
    });
}

#[test]
fn links_are_scanned_in_byte_order_and_unlinked_records_are_found() {
    both(|s| {
        let (run, ids) = seed(s);
        let mut seen = Vec::new();
        s.scan_links("t1", "crm", "contact", &mut |l| {
            seen.push(l.external_id.to_string())
        })
        .unwrap();
        assert_eq!(seen, ["a", "b", "c"]);
        let mut other = 0;
        s.scan_links("t2", "crm", "contact", &mut |_| other += 1)
            .unwrap();
        assert_eq!(other, 0, "tenants are separate");
        assert_eq!(s.count_links("t1", "crm", "contact").unwrap(), 3);
        assert_eq!(s.count_links("t2", "crm", "contact").unwrap(), 0);
        assert_eq!(
            s.unlinked_records("t1", "contact", "advo", 0, 10).unwrap(),
            {
                let mut sorted = ids.clone();
                sorted.sort();
                sorted
            }
        );
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                new_links: vec![pending(ids[1], "advo")],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            s.unlinked_records("t1", "contact", "advo", 0, 10)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            s.unlinked_records("t1", "contact", "crm", 0, 10).unwrap(),
            Vec::<RecordId>::new()
        );
        let max = *ids.iter().max().unwrap();
        assert!(s
            .unlinked_records("t1", "contact", "advo", max, 10)
            .unwrap()
            .is_empty());
        assert_eq!(s.cursor("t1", "advo", "contact", "seeded").unwrap(), None);
        s.set_cursor("t1", "advo", "contact", "seeded", "42")
            .unwrap();
        s.set_cursor("t1", "advo", "contact", "seeded", "43")
            .unwrap();
        assert_eq!(
            s.cursor("t1", "advo", "contact", "seeded")
                .unwrap()
                .as_deref(),
            Some("43")
        );
    });
}

#[test]
fn a_dry_run_throws_its_writes_away() {
    both(|s| {
        let (run, ids) = seed(s);
        s.begin_dry_run().unwrap();
        let write = RecordWrite {
            record_id: ids[0],
            values: Some(fields(json!({"name": "Dry"}))),
            deleted: None,
            origin: "crm".into(),
            history: FieldChanges::new(),
        };
        s.apply_sync(
            "t1",
            run,
            &SyncBatch {
                records: vec![write],
                new_links: vec![pending(ids[0], "advo")],
                ..Default::default()
            },
        )
        .unwrap();
        s.apply("t1", run, &[create("d", fields(json!({"name": "Dora"})))])
            .unwrap();
        assert_eq!(
            state(s, ids[0]).values["name"],
            json!("Dry"),
            "visible inside the dry run"
        );
        s.end_dry_run().unwrap();
        assert_eq!(state(s, ids[0]).values["name"], json!("Bea"));
        assert_eq!(s.count_records("t1", "contact").unwrap(), 3);
        assert!(s
            .links_to_push("t1", "advo", "contact", 0, 10)
            .unwrap()
            .is_empty());
    });
}
