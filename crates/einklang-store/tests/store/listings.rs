//! Keyset-paged lists: runs filtered by job and status, review pairs in
//! queue order, each page after the last id of the one before.

use super::*;

#[test]
fn runs_and_review_pairs_page_by_id_with_their_filters() {
    both(|s| {
        let mut ids = Vec::new();
        for (job, status) in [
            ("a", RunStatus::Succeeded),
            ("b", RunStatus::Failed),
            ("a", RunStatus::Failed),
            ("a", RunStatus::Succeeded),
            ("b", RunStatus::Succeeded),
        ] {
            let run = s
                .start_run(
                    "t1",
                    &NewRun {
                        job: job.into(),
                        source: RunSource::Manual,
                        triggered_by: "test".into(),
                    },
                )
                .unwrap();
            let outcome = RunOutcome {
                status,
                counters: Default::default(),
                errors: vec![],
            };
            s.finish_run("t1", run, &outcome).unwrap();
            ids.push(run);
        }
        let page = |before, job: Option<&str>, status| RunsPage {
            before,
            job: job.map(String::from),
            status,
        };
        let got = |s: &mut dyn HubStore, p: RunsPage, n| -> Vec<RunId> {
            s.runs_page("t1", &p, n)
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(got(s, page(None, None, None), 2), vec![ids[4], ids[3]]);
        assert_eq!(
            got(s, page(Some(ids[3]), None, None), 2),
            vec![ids[2], ids[1]]
        );
        assert_eq!(
            got(s, page(None, Some("a"), None), 10),
            vec![ids[3], ids[2], ids[0]]
        );
        assert_eq!(
            got(
                s,
                page(Some(ids[3]), Some("a"), Some(RunStatus::Succeeded)),
                10
            ),
            vec![ids[0]]
        );
        assert!(s
            .runs_page("t2", &page(None, None, None), 10)
            .unwrap()
            .is_empty());

        // review pairs: open ones in queue order, after an id
        let recs = s
            .apply(
                "t1",
                ids[0],
                &[
                    create("r1", fields(json!({"name": "A"}))),
                    create("r2", fields(json!({"name": "B"}))),
                    create("r3", fields(json!({"name": "C"}))),
                ],
            )
            .unwrap();
        let pair = |a, b| NewReview {
            entity: "contact".into(),
            a,
            b,
            probability: 0.7,
        };
        s.queue_reviews(
            "t1",
            ids[0],
            &[
                pair(recs[0], recs[1]),
                pair(recs[0], recs[2]),
                pair(recs[1], recs[2]),
            ],
        )
        .unwrap();
        let all: Vec<i64> = s
            .reviews_page("t1", (true, 0), 10)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(all.len(), 3);
        let rest: Vec<i64> = s
            .reviews_page("t1", (true, all[0]), 10)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(rest, all[1..].to_vec());
        assert!(s.conflicts_page("t1", (true, None), 10).unwrap().is_empty());
    });
}

/// Counting the links a connector owes stops past `OPEN_LINKS_COUNTED`
/// (a merge pass can leave a million dirty): the counts then sum to one
/// more than it, which says "more".
#[test]
fn open_links_are_counted_up_to_the_cap() {
    both(|s| {
        let run = new_run(s);
        let half = (OPEN_LINKS_COUNTED / 2 + 1) as usize;
        let creates: Vec<Change> = (0..half)
            .map(|i| create(&format!("c{i}"), fields(json!({"name": format!("N{i}")}))))
            .collect();
        let ids = s.apply("t1", run, &creates).unwrap();
        let new_links = ids
            .iter()
            .flat_map(|&id| {
                ["advo", "espo"].map(|c| NewLink {
                    record_id: id,
                    connector: c.into(),
                    entity: "contact".into(),
                    marker: format!("ek-{c}-{id}"),
                })
            })
            .collect();
        let batch = SyncBatch {
            new_links,
            ..Default::default()
        };
        s.apply_sync("t1", run, &batch).unwrap();
        let open = s.open_links("t1").unwrap();
        let sum: u64 = open.iter().map(|(_, _, n)| n).sum();
        assert_eq!(sum, OPEN_LINKS_COUNTED + 1, "{open:?}");
        assert!(open.iter().all(|(_, status, _)| status == "pending"));
    });
}
