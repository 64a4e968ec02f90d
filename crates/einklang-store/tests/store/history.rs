//! The history of an entity's records by time (`einklang changes
//! --since`): only that entity's, only from the instant on, paged by id,
//! the first entry of a record marked initial.

use super::{both, create, fields, new_run};
use chrono::Utc;
use einklang_store::*;
use serde_json::json;

#[test]
fn changes_since_lists_one_entitys_history_from_an_instant_by_page() {
    both(|s| {
        let run = new_run(s);
        let ids = s
            .apply("t1", run, &[create("1", fields(json!({"name": "Anna"})))])
            .unwrap();
        let mut booking = create("b", fields(json!({"name": "Rent"})));
        if let Change::Create { entity, .. } = &mut booking {
            *entity = "booking".into();
        }
        s.apply("t1", run, &[booking]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let cut = Utc::now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let keys = s.find_links("t1", "crm", "contact", &["1"]).unwrap();
        let key = keys[0].clone().unwrap();
        for (was, name) in [("Anna", "Anna Novak"), ("Anna Novak", "Ana Novak")] {
            let values = fields(json!({"name": name}));
            let change = FieldChange {
                old: json!(was),
                new: json!(name),
            };
            let update = Change::Update {
                record_id: ids[0],
                link_id: key.link_id,
                values: values.clone(),
                link: super::link("1", &values),
                history: [("name".to_string(), change)].into_iter().collect(),
            };
            s.apply("t1", run, &[update]).unwrap();
        }
        let all = s
            .changes_since("t1", "contact", cut - chrono::Duration::hours(1), 0, 10)
            .unwrap();
        assert_eq!(all.len(), 3, "the create and two updates, no booking");
        assert!(all[0].initial && !all[1].initial, "{all:?}");
        assert!(all
            .iter()
            .all(|e| e.record_id == ids[0] && e.run_id == run && e.origin == "crm"));
        let since = s.changes_since("t1", "contact", cut, 0, 10).unwrap();
        let names: Vec<_> = since
            .iter()
            .map(|e| e.changes["name"].new.clone())
            .collect();
        assert_eq!(names, [json!("Anna Novak"), json!("Ana Novak")]);
        // a page of one, then the next after its id
        let first = s.changes_since("t1", "contact", cut, 0, 1).unwrap();
        let next = s
            .changes_since("t1", "contact", cut, first[0].history_id, 1)
            .unwrap();
        assert_eq!(next[0].changes["name"].new, json!("Ana Novak"));
        assert!(s
            .changes_since("t2", "contact", cut, 0, 10)
            .unwrap()
            .is_empty());
        assert_eq!(
            s.changes_since("t1", "booking", cut, 0, 10).unwrap().len(),
            0
        );
    });
}
