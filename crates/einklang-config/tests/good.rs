//! Valid configs load into the expected types.

use einklang_config::{load_str, Step, StoreLocation};
use einklang_core::mapping::NamePart;
use einklang_core::{FieldType, Source, Transform};
use std::path::Path;

const FULL: &str = r#"
store = "sqlite:data/hub.db"
tenant = "acme"
region = "si"
max_field_bytes = 1_000

[entities.contact]
first_name = "text"
email = { type = "email", required = true }
phones = "list<phone>"
kind = { type = "enum", values = ["person", "company"] }
employer = "ref<company>"
birthday = "date"

[entities.company]
name = "text"

[connectors.crm]
kind = "csv"
path = "exports/${EXPORT_DIR}/crm.csv"
delimiter = ";"

[connectors.book]
kind = "vcard"
path = "literal/$${NOT_A_VAR}"

[map.crm.contact]
id = "Kundennummer"
filter = "created_at >= 2025-01-01 and status_id != 143"
[map.crm.contact.fields]
first_name = { from = "name", split_name = "first", trim = true }
email = { from = "E-Mail", lowercase = true }
phones = { from = ["Telefon", "Mobil"], phone = "AT" }
kind = { from = ["Firma", "Vorname", "Nachname"], person_or_company = true }
birthday = { from = "Geburtstag", date = "%d.%m.%Y", direction = "pull" }

[map.book.contact]
id = "uid"

[jobs.nightly]
pull = ["crm", "book"]
schedule = "0 2 * * *"

[jobs.backup]
steps = [{ pull = "crm" }, { push = "book", entity = "contact" }]
"#;

fn env(var: &str) -> Option<String> {
    (var == "EXPORT_DIR").then(|| "2025".to_string())
}

#[test]
fn a_full_config_loads() {
    let c = load_str(FULL, Path::new("/etc/einklang/einklang.toml"), &env).unwrap();
    assert_eq!(
        c.store,
        StoreLocation::Sqlite("/etc/einklang/data/hub.db".into())
    );
    assert_eq!(
        (c.tenant.as_str(), c.region.as_str(), c.max_field_bytes),
        ("acme", "SI", 1000)
    );
    let contact = &c.entities["contact"];
    assert_eq!(contact.field("phones").unwrap().ty, FieldType::Phones);
    assert_eq!(
        contact.field("employer").unwrap().ty,
        FieldType::Ref("company".into())
    );
    assert!(contact.field("email").unwrap().required);
    let crm = &c.connectors["crm"];
    assert_eq!(crm.settings["path"], "exports/2025/crm.csv");
    assert_eq!(crm.secret_keys, ["path"]);
    assert_eq!(crm.setting_locations["delimiter"].line, 21);
    assert_eq!(
        c.connectors["book"].settings["path"],
        "literal/${NOT_A_VAR}"
    );
    assert!(c.connectors["book"].secret_keys.is_empty());
    let m = c.mapping("crm", "contact").unwrap();
    assert_eq!(m.id_field, "Kundennummer");
    assert!(m.filter.is_some());
    let first = m.fields.iter().find(|f| f.target == "first_name").unwrap();
    assert_eq!(
        first.transforms,
        [
            Transform::Trim,
            Transform::SplitName {
                part: NamePart::First
            }
        ]
    );
    let phones = m.fields.iter().find(|f| f.target == "phones").unwrap();
    assert_eq!(
        phones.source,
        Source::Fields(vec!["Telefon".into(), "Mobil".into()])
    );
    assert_eq!(
        phones.transforms,
        [Transform::Phone {
            region: "AT".into()
        }]
    );
    assert_eq!(c.jobs["nightly"].steps.len(), 2);
    assert_eq!(c.jobs["nightly"].schedule.as_deref(), Some("0 2 * * *"));
    assert_eq!(
        c.jobs["backup"].steps[1],
        Step::Push {
            connector: "book".into(),
            entity: Some("contact".into())
        }
    );
}

#[test]
fn defaults_and_store_kinds() {
    let minimal = "[entities.contact]\nname = \"text\"\n";
    let c = load_str(minimal, Path::new("einklang.toml"), &|_| None).unwrap();
    assert_eq!(c.store, StoreLocation::Sqlite("./einklang.db".into()));
    assert_eq!(
        (c.tenant.as_str(), c.region.as_str(), c.max_field_bytes),
        ("default", "DE", 65536)
    );
    let pg = format!("store = \"postgres://u:${{PW}}@h/db\"\n{minimal}");
    let c = load_str(&pg, Path::new("einklang.toml"), &|v| {
        (v == "PW").then(|| "pw".into())
    })
    .unwrap();
    assert_eq!(
        c.store,
        StoreLocation::Postgres("postgres://u:pw@h/db".into())
    );
    assert_eq!(format!("{:?}", c.store), "Postgres(<redacted>)");
}

#[test]
fn load_reads_files_and_names_unreadable_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("einklang.toml");
    let err = einklang_config::load(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:1:1: cannot read the config", path.display())),
        "{err}"
    );
    std::fs::write(&path, b"name = \"\xff\"").unwrap();
    assert!(einklang_config::load(&path)
        .unwrap_err()
        .to_string()
        .contains("not valid UTF-8"));
}
