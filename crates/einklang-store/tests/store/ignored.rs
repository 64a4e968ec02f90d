//! Fields connectors do not keep: noted once, listed per connector and entity.

use super::both;
use einklang_store::*;

#[test]
fn a_field_not_kept_is_noted_once_and_listed_per_connector() {
    both(|s| {
        let row = |connector: &str, field: &str| IgnoredField {
            connector: connector.into(),
            entity: "contact".into(),
            field: field.into(),
            example: "sent \"Schulze\", it holds \"Schmitz\"".into(),
            noticed_at: "2026-12-06T10:00:00Z".into(),
        };
        assert!(
            s.note_ignored("t", &row("advo", "birth_name")).unwrap(),
            "new"
        );
        assert!(
            !s.note_ignored("t", &row("advo", "birth_name")).unwrap(),
            "once"
        );
        assert!(s.note_ignored("t", &row("advo", "family")).unwrap());
        assert!(s.note_ignored("t", &row("espo", "family")).unwrap());
        let advo = s.ignored_fields("t", "advo", "contact").unwrap();
        let names: Vec<&str> = advo.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["birth_name", "family"]);
        assert_eq!(advo[0].example, "sent \"Schulze\", it holds \"Schmitz\"");
        assert!(
            advo[0].noticed_at.starts_with("20"),
            "{}",
            advo[0].noticed_at
        );
        assert!(
            s.ignored_fields("other", "advo", "contact")
                .unwrap()
                .is_empty(),
            "per tenant"
        );
        assert!(
            s.ignored_fields("t", "advo", "company").unwrap().is_empty(),
            "per entity"
        );
    });
}
