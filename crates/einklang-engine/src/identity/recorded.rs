//! What identity decisions are on record for a pair, and the values a
//! record had before it absorbed others: `einklang explain` scores a pair
//! as it is now *and* as the pass or ingest saw it, and says when a record
//! has been merged since (a survivor's values include those of the records
//! merged into it, so a pair kept apart can score 1.0 afterwards).

use einklang_core::Fields;
use einklang_store::{HistoryEntry, MergeRow, RecordId, ReviewRow};

/// The values of record `id` before its first merge as a survivor
/// (history entries `merge M → id`): its current values with that entry
/// and every later change undone, newest first. `None` when it never
/// absorbed a record.
pub fn before_merges(id: RecordId, current: &Fields, history: &[HistoryEntry]) -> Option<Fields> {
    let absorbed = format!("→ {id}");
    let first = history
        .iter()
        .position(|h| h.origin.starts_with("merge ") && h.origin.ends_with(&absorbed))?;
    let mut values = current.clone();
    for entry in history[first..].iter().rev() {
        for (field, change) in &entry.changes {
            if field == "merged_into" && entry.origin.starts_with("merge ") {
                continue; // the merged record's own entry, not a value
            }
            match change.old.is_null() {
                true => values.remove(field),
                false => values.insert(field.clone(), change.old.clone()),
            };
        }
    }
    Some(values)
}

/// The decisions on record between `a` and `b`, as lines to print:
/// merges of one into the other and review entries of the pair.
pub fn decisions(
    a: RecordId,
    b: RecordId,
    merges: &[MergeRow],
    reviews: &[ReviewRow],
) -> Vec<String> {
    let pair = |x: RecordId, y: RecordId| (x == a && y == b) || (x == b && y == a);
    let mut out: Vec<String> = merges
        .iter()
        .filter(|m| pair(m.survivor, m.merged))
        .map(|m| {
            format!(
                "merge {}: {} into {} at probability {:.4} ({}, run {}, {}){}",
                m.id,
                m.merged,
                m.survivor,
                m.probability,
                m.reason,
                m.run_id,
                m.created_at.format("%Y-%m-%d %H:%M"),
                match m.status.as_str() {
                    "active" => String::new(),
                    s => format!(" — {s}"),
                }
            )
        })
        .collect();
    out.extend(reviews.iter().filter(|r| pair(r.a, r.b)).map(|r| {
        format!(
            "review {}: proposed at probability {:.4} (run {}), {:?}",
            r.id, r.probability, r.run_id, r.status
        )
        .to_lowercase()
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use einklang_store::FieldChange;
    use serde_json::json;

    fn entry(
        origin: &str,
        changes: &[(&str, serde_json::Value, serde_json::Value)],
    ) -> HistoryEntry {
        HistoryEntry {
            run_id: 1,
            origin: origin.into(),
            changes: changes
                .iter()
                .map(|(f, old, new)| {
                    (
                        f.to_string(),
                        FieldChange {
                            old: old.clone(),
                            new: new.clone(),
                        },
                    )
                })
                .collect(),
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_survivor_before_its_first_merge() {
        let now: Fields = [
            ("name".to_string(), json!("Anna")),
            ("emails".to_string(), json!(["a@x.de", "b@y.de"])),
            ("city".to_string(), json!("Köln")),
        ]
        .into();
        let history = vec![
            entry("crm", &[("name", json!(null), json!("Anna"))]),
            entry(
                "merge 9 → 7",
                &[("emails", json!(["a@x.de"]), json!(["a@x.de", "b@y.de"]))],
            ),
            entry("crm", &[("city", json!(null), json!("Köln"))]),
        ];
        let before = before_merges(7, &now, &history).unwrap();
        assert_eq!(before.get("emails"), Some(&json!(["a@x.de"])));
        assert_eq!(before.get("city"), None, "later changes undone too");
        assert_eq!(before.get("name"), Some(&json!("Anna")));
        assert_eq!(before_merges(9, &now, &history), None, "9 absorbed nobody");
        assert_eq!(before_merges(7, &now, &history[..1]), None);
    }
}
