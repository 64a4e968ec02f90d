//! Staged snapshots of refresh runs: staged per run and entity, a copy
//! returned twice counted once, paged by external id, listed, dropped —
//! and nothing of the hub touched.

use super::{both, fields};
use einklang_store::*;
use serde_json::json;

fn staged(entity: &str, id: &str, name: &str) -> StagedRecord {
    StagedRecord {
        entity: entity.into(),
        external_id: id.into(),
        values: fields(json!({"name": name, "tags": ["a", "b"], "n": 1})),
    }
}

#[test]
fn a_run_stages_pages_counts_and_drops_its_snapshot() {
    both(|s| {
        let bookings: Vec<StagedRecord> = (0..25)
            .map(|i| staged("booking", &format!("lead-{i:03}"), &format!("Lead {i}")))
            .collect();
        s.stage("t", 7, &bookings[..20]).unwrap();
        // the source returned lead-019 again on the next page, changed
        let mut next = bookings[20..].to_vec();
        next.push(staged("booking", "lead-019", "Lead 19, moved"));
        next.push(staged("client", "contact-1", "Anna"));
        s.stage("t", 7, &next).unwrap();
        // and within one batch twice (PostgreSQL stages a batch in one statement)
        let twice = [
            staged("vehicle", "v-1", "Polo"),
            staged("vehicle", "v-1", "Polo GTI"),
        ];
        s.stage("t", 7, &twice).unwrap();
        s.stage("t", 8, &bookings[..3]).unwrap();
        s.stage("other", 7, &bookings[..1]).unwrap();

        let counts = s.staged_counts("t", 7).unwrap();
        let seen: Vec<(&str, u64, u64)> = counts
            .iter()
            .map(|c| (c.entity.as_str(), c.records, c.duplicates))
            .collect();
        assert_eq!(
            seen,
            [("booking", 25, 1), ("client", 1, 0), ("vehicle", 1, 1)]
        );

        // paged by external id, the last copy kept
        let first = s.staged_page("t", 7, "booking", "", 10).unwrap();
        assert_eq!(first.len(), 10);
        assert_eq!(first[0].external_id, "lead-000");
        let mut all = first;
        loop {
            let after = all.last().unwrap().external_id.clone();
            let page = s.staged_page("t", 7, "booking", &after, 10).unwrap();
            if page.is_empty() {
                break;
            }
            all.extend(page);
        }
        assert_eq!(all.len(), 25);
        assert!(all.windows(2).all(|w| w[0].external_id < w[1].external_id));
        let moved = all.iter().find(|r| r.external_id == "lead-019").unwrap();
        assert_eq!(
            moved.values,
            fields(json!({"name": "Lead 19, moved", "tags": ["a", "b"], "n": 1}))
        );
        let polo = s.staged_page("t", 7, "vehicle", "", 10).unwrap();
        assert_eq!(polo[0].values["name"], json!("Polo GTI"));

        let runs: Vec<(i64, String, u64)> = s
            .staged_runs("t")
            .unwrap()
            .into_iter()
            .map(|c| (c.run, c.entity, c.records))
            .collect();
        assert_eq!(
            runs,
            [
                (8, "booking".to_string(), 3),
                (7, "booking".to_string(), 25),
                (7, "client".to_string(), 1),
                (7, "vehicle".to_string(), 1)
            ]
        );
        // nothing of the hub: no record, no link, no history
        assert!(s.live_records("t", "booking", 0, 10).unwrap().is_empty());
        assert_eq!(s.last_history_id("t").unwrap(), 0);

        assert_eq!(s.move_staged("t", 8, 9).unwrap(), 3);
        assert!(s.staged_counts("t", 8).unwrap().is_empty());
        assert_eq!(s.move_staged("t", 9, 8).unwrap(), 3);
        assert_eq!(s.drop_staged("t", 7).unwrap(), 27);
        assert!(s.staged_counts("t", 7).unwrap().is_empty());
        assert_eq!(
            s.staged_counts("t", 8).unwrap()[0].records,
            3,
            "other runs stay"
        );
        assert_eq!(
            s.staged_counts("other", 7).unwrap()[0].records,
            1,
            "per tenant"
        );
    });
}

#[test]
fn a_swap_keeps_or_undoes_every_write_inside_it_as_one() {
    both(|s| {
        let run = super::new_run(s);
        let anna = fields(json!({"first_name": "Anna"}));
        // undone: the records, links and history written inside are gone
        s.begin_swap().unwrap();
        s.apply(
            "t1",
            run,
            &[
                super::create("1", anna.clone()),
                super::create("2", anna.clone()),
            ],
        )
        .unwrap();
        s.stage("t1", run, &[staged("contact", "1", "Anna")])
            .unwrap();
        assert_eq!(s.count_records("t1", "contact").unwrap(), 2, "seen inside");
        s.end_swap(false).unwrap();
        assert_eq!(s.count_records("t1", "contact").unwrap(), 0);
        assert!(s.find_links("t1", "crm", "contact", &["1"]).unwrap()[0].is_none());
        assert_eq!(s.last_history_id("t1").unwrap(), 0);
        assert!(s.staged_counts("t1", run).unwrap().is_empty());
        // kept: all of it, and the store writes on as before afterwards
        s.begin_swap().unwrap();
        s.apply("t1", run, &[super::create("1", anna.clone())])
            .unwrap();
        s.apply("t1", run, &[super::create("2", anna.clone())])
            .unwrap();
        s.end_swap(true).unwrap();
        assert_eq!(s.count_records("t1", "contact").unwrap(), 2);
        s.apply("t1", run, &[super::create("3", anna)]).unwrap();
        assert_eq!(s.count_records("t1", "contact").unwrap(), 3);
    });
}
