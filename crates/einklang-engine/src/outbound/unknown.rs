//! Creates whose answer was lost on a connector that cannot look a record
//! up by its marker (no client ids, no marker field or column): such a
//! create may or may not have made a record, and sending it again could
//! make a second one. It is held as `unknown` — never sent again — until
//! a read of the connector settles it:
//!
//! - a new record of the read (one no link knows) whose values equal what
//!   the create wrote — on the mapping's `find` fields when it names some,
//!   else on the e-mail fields the create wrote, else on every written
//!   field the read maps back — is the create's record: it is **claimed**
//!   (the link takes its id), not imported;
//! - a complete read (every record seen, no race) that claimed nothing
//!   shows the create did not land: it is **released** and sent again;
//!   when no written field reads back, only a complete read without any
//!   new record releases it;
//! - any other read leaves it held, and says so.
//!
//! Pure functions; the read and the push call them.

use crate::side::Side;
use einklang_core::{FieldType, Fields, Value};
use einklang_store::OutboxEntry;

/// The fields of `entry` a read can compare: the `find` fields when the
/// mapping names some; else the e-mail fields the create wrote and the
/// side reads back (an address identifies a person even when someone at
/// the remote changed the record's other fields meanwhile); else every
/// written field the side reads back.
pub(crate) fn comparable(side: &Side<'_>, entry: &OutboxEntry) -> Vec<String> {
    if !side.mapping.find.is_empty() {
        return side.mapping.find.clone();
    }
    let reads_back = |f: &&String| side.roles.get(*f).is_some_and(|r| r.pulls);
    let written: Vec<&String> = entry.new_base.keys().filter(reads_back).collect();
    let emails: Vec<String> = (written.iter())
        .filter(|f| is_address(side, entry, f))
        .map(|f| f.to_string())
        .collect();
    match emails.is_empty() {
        false => emails,
        true => written.into_iter().cloned().collect(),
    }
}

/// An e-mail field the create wrote a value into.
fn is_address(side: &Side<'_>, entry: &OutboxEntry, field: &str) -> bool {
    let ty = side.schema.field(field).map(|s| &s.ty);
    matches!(ty, Some(FieldType::Email | FieldType::Emails))
        && !empty(entry.new_base.get(field).unwrap_or(&Value::Null))
}

/// Is the record read with `values` the one `entry` created?
pub(crate) fn claims(side: &Side<'_>, entry: &OutboxEntry, values: &Fields) -> bool {
    let fields = comparable(side, entry);
    let by_find = !side.mapping.find.is_empty();
    !fields.is_empty()
        && fields.iter().all(|f| {
            let written = entry.new_base.get(f).unwrap_or(&Value::Null);
            let read = values.get(f).unwrap_or(&Value::Null);
            // a `find` field must identify: an empty one identifies nothing
            !(by_find && empty(written)) && written == read
        })
}

/// Does the record read show exactly what `entry` wrote, on every field
/// the side reads back (not only the `find` fields)?
pub(crate) fn as_written(side: &Side<'_>, entry: &OutboxEntry, values: &Fields) -> bool {
    side.roles.iter().filter(|(_, r)| r.pulls).all(|(f, _)| {
        entry.new_base.get(f).unwrap_or(&Value::Null) == values.get(f).unwrap_or(&Value::Null)
    })
}

/// May a complete read that did not claim `entry` release it? Only when
/// the read could have recognised it, or found no new record at all.
pub(crate) fn releasable(side: &Side<'_>, entry: &OutboxEntry, new_records: u64) -> bool {
    new_records == 0 || !comparable(side, entry).is_empty()
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use einklang_connectors::Capabilities;
    use einklang_core::{EntitySchema, Mapping, NormaliseContext};
    use einklang_store::OutboxOp;
    use serde_json::json;

    const CONFIG: &str = "[entities.contact]\nname = \"text\"\nemail = \"email\"\nnote = \"text\"\n[connectors.c]\nkind = \"csv\"\npath = \"x.csv\"\n[map.c.contact]\nid = \"id\"\n[map.c.contact.fields]\nname = \"n\"\nemail = \"e\"\nnote = { from = \"x\", direction = \"push\" }\n";

    fn setup(find: &[&str]) -> (Mapping, EntitySchema) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let mut config = einklang_config::load(&path).unwrap();
        let mut m = config.mappings.remove(0);
        m.find = find.iter().map(|s| s.to_string()).collect();
        (m, config.entities["contact"].clone())
    }

    fn entry(base: serde_json::Value) -> OutboxEntry {
        OutboxEntry {
            id: 1,
            link_id: 1,
            record_id: 1,
            connector: "c".into(),
            entity: "contact".into(),
            op: OutboxOp::Create,
            idem_key: "k".into(),
            payload: Default::default(),
            new_base: base.as_object().unwrap().clone().into_iter().collect(),
            target: "ek-1".into(),
            expected_version: None,
            state: "unknown".into(),
        }
    }

    fn values(v: serde_json::Value) -> Fields {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    fn with_side<T>(find: &[&str], f: impl FnOnce(&Side<'_>) -> T) -> T {
        let (m, s) = setup(find);
        let caps = Capabilities {
            write: true,
            ..Capabilities::read_only()
        };
        let side = Side::new(&m, &s, NormaliseContext::default(), caps, (true, true));
        f(&side)
    }

    #[test]
    fn without_find_the_written_address_identifies_the_record() {
        let e = entry(json!({"name": "Ann", "email": "a@x.org", "note": "push only"}));
        with_side(&[], |side| {
            assert_eq!(comparable(side, &e), vec!["email".to_string()]);
            let same = values(json!({"name": "Ann", "email": "a@x.org", "extra": 1}));
            assert!(claims(side, &e, &same));
            // renamed at the remote before the read: still the same person
            let edited = values(json!({"name": "Ann B", "email": "a@x.org"}));
            assert!(claims(side, &e, &edited));
            assert!(!claims(
                side,
                &e,
                &values(json!({"name": "Ann", "email": "b@x.org"}))
            ));
        });
    }

    #[test]
    fn without_an_address_every_written_field_that_reads_back_must_be_equal() {
        let e = entry(json!({"name": "Ann", "email": null, "note": "push only"}));
        with_side(&[], |side| {
            assert_eq!(
                comparable(side, &e),
                vec!["email".to_string(), "name".to_string()]
            );
            assert!(claims(side, &e, &values(json!({"name": "Ann"}))));
            assert!(!claims(side, &e, &values(json!({"name": "Ann B"}))));
        });
    }

    #[test]
    fn find_fields_decide_alone_and_never_match_when_empty() {
        let e = entry(json!({"name": "Ann", "email": "a@x.org"}));
        with_side(&["email"], |side| {
            let renamed = values(json!({"name": "Anna", "email": "a@x.org"}));
            assert!(claims(side, &e, &renamed));
            assert!(!claims(side, &e, &values(json!({"name": "Ann"}))));
        });
        let blank = entry(json!({"name": "Ann", "email": null}));
        with_side(&["email"], |side| {
            assert!(!claims(side, &blank, &values(json!({"name": "Ann"}))));
        });
    }

    #[test]
    fn nothing_to_compare_releases_only_after_a_read_without_new_records() {
        let e = entry(json!({"note": "push only"}));
        with_side(&[], |side| {
            assert!(comparable(side, &e).is_empty());
            assert!(!claims(side, &e, &values(json!({"note": "push only"}))));
            assert!(!releasable(side, &e, 1));
            assert!(releasable(side, &e, 0));
        });
    }
}
