//! Valid configs load into the expected types.

use einklang_config::{load_str, RetryPolicy, Step, StoreLocation, DEFAULT_MAX_DELETES};
use einklang_core::mapping::NamePart;
use einklang_core::{
    Creates, FieldType, OnDelete, OutOfScope, Policies, Policy, Source, Transform,
};
use serde_json::json;
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
            region: "AT".into(),
            region_from: None
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

const SYNC: &str = r#"
[entities.contact]
name = "text"
phones = "phones"
notes = "text"
fax = "text"
changed_at = "datetime"

[entities.company]
name = "text"
founded = "date"

[connectors.espo]
kind = "jsonl"
path = "espo.jsonl"

[connectors.advo]
kind = "csv"
path = "advo.csv"

[connectors.backup]
kind = "csv"
path = "backup.csv"

[map.espo.contact]
id = "id"
on_delete = "ignore"

[map.espo.company]
id = "id"
on_delete = "delete"

[map.advo.contact]
id = "Nr"
on_delete = { set = { status = "deleted", aktiv = false, stufe = 3 } }

[map.backup.contact]
id = "id"

[jobs.beteiligte]
push = ["backup"]
sync = ["espo", "advo"]
pull = "espo"
max_deletes = "30%"
schedule = "*/5 * * * *"

[jobs.other]
max_deletes = 0.25
steps = [
  { pull = "espo" },
  { sync = ["advo", "espo"], entity = "contact" },
  { push = "backup", entity = "contact" },
]

[jobs.one]
sync = "espo"
max_deletes = 1

[conflicts.contact]
default = { authority = "espo" }
phones  = { authority = ["advo", "hub"] }
notes   = { newest = "changed_at" }
fax     = "review"
stammdaten = { fields = ["name"], authority = ["advo"] }

[conflicts.company]
name = { newest = "founded" }

[retry]
delays = ["90s", "5m", "5m", "1h", "1d"]
reset_after = "24h"
jitter = 0.2
"#;

#[test]
fn sync_jobs_conflicts_on_delete_and_retry_load() {
    let c = load_str(SYNC, Path::new("einklang.toml"), &|_| None).unwrap();
    let job = &c.jobs["beteiligte"];
    assert_eq!(
        job.steps,
        [
            Step::Pull {
                connector: "espo".into(),
                entity: None
            },
            Step::Sync {
                connectors: vec!["espo".into(), "advo".into()],
                entity: None
            },
            Step::Push {
                connector: "backup".into(),
                entity: None
            },
        ]
    );
    assert_eq!(job.max_deletes, 0.3);
    let other = &c.jobs["other"];
    assert_eq!(
        other.steps[1],
        Step::Sync {
            connectors: vec!["advo".into(), "espo".into()],
            entity: Some("contact".into())
        }
    );
    assert_eq!(other.steps.len(), 3);
    assert_eq!(other.max_deletes, 0.25);
    assert_eq!(c.jobs["one"].max_deletes, 1.0);
    assert_eq!(
        c.jobs["one"].steps,
        [Step::Sync {
            connectors: vec!["espo".into()],
            entity: None
        }]
    );

    assert_eq!(
        c.policies["contact"],
        Policies {
            default: Policy::Authority(vec!["espo".into()]),
            fields: [
                (
                    "phones",
                    Policy::Authority(vec!["advo".into(), "hub".into()])
                ),
                ("notes", Policy::Newest("changed_at".into())),
                ("fax", Policy::Review),
                ("name", Policy::Authority(vec!["advo".into()])),
            ]
            .into_iter()
            .map(|(f, p)| (f.to_string(), p))
            .collect(),
        }
    );
    let company = &c.policies["company"];
    assert_eq!(company.default, Policy::Review);
    assert_eq!(company.fields["name"], Policy::Newest("founded".into()));

    assert_eq!(
        c.mapping("espo", "contact").unwrap().on_delete,
        OnDelete::Ignore
    );
    assert_eq!(
        c.mapping("espo", "company").unwrap().on_delete,
        OnDelete::Delete
    );
    assert_eq!(
        c.mapping("backup", "contact").unwrap().on_delete,
        OnDelete::Delete
    );
    let OnDelete::Set(set) = &c.mapping("advo", "contact").unwrap().on_delete else {
        panic!("advo.contact must soft-delete");
    };
    assert_eq!(
        serde_json::Value::Object(set.clone()),
        json!({ "status": "deleted", "aktiv": false, "stufe": 3 })
    );

    assert_eq!(
        c.retry,
        RetryPolicy {
            delays_secs: vec![90, 300, 300, 3600, 86_400],
            reset_after_secs: 86_400,
            jitter: 0.2,
        }
    );
}

#[test]
fn sync_defaults() {
    let text = "[entities.contact]\nname = \"text\"\n[connectors.a]\nkind = \"csv\"\npath = \"a.csv\"\n[map.a.contact]\nid = \"id\"\n[jobs.j]\nsync = [\"a\"]\n";
    let c = load_str(text, Path::new("einklang.toml"), &|_| None).unwrap();
    assert_eq!(c.jobs["j"].max_deletes, DEFAULT_MAX_DELETES);
    assert_eq!(c.retry, RetryPolicy::default());
    assert!(c.policies.is_empty());
    assert_eq!(*c.policies_of("contact"), Policies::default());
    assert_eq!(
        c.mapping("a", "contact").unwrap().on_delete,
        OnDelete::Delete
    );
}

#[test]
fn matching_loads_with_defaults_for_blocking() {
    let text = r#"
[entities.contact]
first_name = "text"
last_name = "text"
emails = "emails"
phones = "phones"
company = "text"

[matching.contact]
compare = [
  { field = "first_name", kind = "name" },
  { field = "last_name", kind = "name" },
  { field = "emails", kind = "email" },
  { field = "phones", kind = "phone", group = "workplace" },
  { field = "company", kind = "company", group = "workplace" },
]
auto_merge = 0.9
"#;
    let config = einklang_config::load_str(text, Path::new("einklang.toml"), &env).unwrap();
    let m = &config.matching["contact"];
    assert_eq!(
        (m.auto_merge, m.review, m.estimate, m.em, m.max_block),
        (0.9, 0.6, true, false, 1000)
    );
    // `estimate = "em"` also trains `m`; `false` neither
    for (value, estimate, em) in [("\"em\"", true, true), ("false", false, false)] {
        let text = text.replace("auto_merge = 0.9", &format!("estimate = {value}"));
        let config = einklang_config::load_str(&text, Path::new("einklang.toml"), &env).unwrap();
        let m = &config.matching["contact"];
        assert_eq!((m.estimate, m.em), (estimate, em), "estimate = {value}");
    }
    assert_eq!(m.model.comparisons.len(), 5);
    assert_eq!(m.model.comparisons[4].group.as_deref(), Some("workplace"));
    use einklang_core::identity::block::Rule;
    use einklang_core::identity::compare::Kind;
    assert_eq!(
        m.block,
        vec![
            Rule::Field {
                field: "emails".into(),
                kind: Kind::Email
            },
            Rule::Field {
                field: "phones".into(),
                kind: Kind::Phone
            },
            Rule::EmailLocal {
                field: "emails".into()
            },
            Rule::Phonetic {
                first: "first_name".into(),
                last: "last_name".into()
            },
        ]
    );
}

#[test]
fn default_blocking_narrows_names_by_postcode_street_and_birthday() {
    let text = r#"
[entities.contact]
first_name = "text"
last_name = "text"
street = "text"
postcode = "text"
born = "text"

[matching.contact]
compare = [
  { field = "first_name", kind = "name" },
  { field = "last_name", kind = "name" },
  { field = "street", kind = "street", group = "place" },
  { field = "postcode", kind = "postcode", group = "place" },
  { field = "born", kind = "date" },
]
"#;
    let config = einklang_config::load_str(text, Path::new("einklang.toml"), &env).unwrap();
    use einklang_core::identity::block::Rule;
    use einklang_core::identity::compare::Kind;
    let phonetic = Rule::Phonetic {
        first: "first_name".into(),
        last: "last_name".into(),
    };
    let with = |field: &str, kind: Kind| {
        Rule::All(vec![
            phonetic.clone(),
            Rule::Field {
                field: field.into(),
                kind,
            },
        ])
    };
    // a name alone is no default key when something narrows it
    assert_eq!(
        config.matching["contact"].block,
        vec![
            with("street", Kind::Street),
            with("postcode", Kind::Postcode),
            with("born", Kind::Date),
        ]
    );
}

#[test]
fn matching_blocks_by_combined_rules() {
    let text = r#"
[entities.contact]
first_name = "text"
last_name = "text"
postcode = "text"

[matching.contact]
compare = [{ field = "last_name", kind = "name" }]
block = [{ all = [{ phonetic = ["first_name", "last_name"] }, { field = "postcode", kind = "postcode" }] }]
"#;
    let config = einklang_config::load_str(text, Path::new("einklang.toml"), &env).unwrap();
    use einklang_core::identity::block::{keys, Rule};
    use einklang_core::identity::compare::Kind;
    let block = &config.matching["contact"].block;
    assert_eq!(
        block,
        &vec![Rule::All(vec![
            Rule::Phonetic {
                first: "first_name".into(),
                last: "last_name".into()
            },
            Rule::Field {
                field: "postcode".into(),
                kind: Kind::Postcode
            },
        ])]
    );
    let rec = |pc: &str| {
        serde_json::json!({"first_name": "Jürgen", "last_name": "Müller", "postcode": pc})
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(
        keys(block, &rec("80331"), "DE"),
        ["0:0746m|80331", "0:657j|80331"]
    );
    assert!(
        keys(block, &rec(""), "DE").is_empty(),
        "no postcode: no combined key"
    );
    let bad = "[entities.contact]\nname = \"text\"\n[matching.contact]\ncompare = [{ field = \"name\", kind = \"name\" }]\nblock = [{ all = [{ field = \"name\", kind = \"name\" }] }]\n";
    let err = einklang_config::load_str(bad, Path::new("einklang.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("combines two or more rules"), "{err}");
}

#[test]
fn matching_takes_survivorship_by_field_with_source_order() {
    let text = r#"
[entities.contact]
name = "text"
company = "text"
notes = "text"
phones = "phones"

[connectors.crm]
kind = "csv"
path = "crm.csv"

[connectors.phonebook]
kind = "csv"
path = "phonebook.csv"

[matching.contact]
compare = [{ field = "name", kind = "name", m = [0.9, 0.08, 0.02], u = [0.001, 0.009, 0.99] }]
survive = { sources = ["phonebook", "crm"], default = "most_complete", notes = "longest", company = "source_priority" }

[matching.other]
compare = [{ field = "name", kind = "name" }]
ingest = false
"#
    .replace("[matching.other]", "[entities.lead]\nname = \"text\"\n\n[matching.lead]");
    let config = einklang_config::load_str(&text, Path::new("einklang.toml"), &env).unwrap();
    use einklang_core::identity::survive::Rule;
    let s = &config.matching["contact"].survive;
    assert_eq!(s.default, Rule::MostComplete);
    assert_eq!(s.fields["notes"], Rule::Longest);
    let order = vec!["phonebook".to_string(), "crm".to_string()];
    assert_eq!(s.fields["company"], Rule::SourcePriority(order));
    assert_eq!(
        config.matching["lead"].survive,
        einklang_core::identity::survive::Survivorship::default()
    );
    assert!(
        config.matching["contact"].ingest,
        "matching on ingest by default"
    );
    assert!(!config.matching["lead"].ingest);
    let name = &config.matching["contact"].model.comparisons[0];
    assert_eq!((name.m, name.u), ([0.9, 0.08, 0.02], [0.001, 0.009, 0.99]));
}

#[test]
fn scope_creates_and_mirror_load() {
    let text = r#"
[entities.contact]
name = "text"
status = "text"

[connectors.crm]
kind = "jsonl"
path = "crm.jsonl"

[connectors.law]
kind = "jsonl"
path = "law.jsonl"

[map.crm.contact]
id = "id"
filter = "kind == 'client'"
out_of_scope = { set = { status = "former" } }
creates = { from = ["law"] }
mirror = { syncStatus = "{link.status}", "sync.at" = "{now:%Y-%m-%d %H:%M:%S}", error = "{link.last_error}" }

[map.law.contact]
id = "id"
out_of_scope = "keep"
creates = { filter = "status != 'former'" }
"#;
    let c = load_str(text, Path::new("einklang.toml"), &|_| None).unwrap();
    let crm = c.mapping("crm", "contact").unwrap();
    let OutOfScope::Set(set) = &crm.out_of_scope else {
        panic!("crm.contact must set fields when out of scope");
    };
    assert_eq!(set["status"], json!("former"));
    assert_eq!(crm.creates, Creates::From(vec!["law".into()]));
    assert_eq!(
        serde_json::Value::Object(crm.mirror.clone()),
        json!({ "syncStatus": "{link.status}", "sync.at": "{now:%Y-%m-%d %H:%M:%S}", "error": "{link.last_error}" })
    );
    let law = c.mapping("law", "contact").unwrap();
    assert_eq!(law.out_of_scope, OutOfScope::Keep);
    assert!(matches!(law.creates, Creates::Filter(_)));
    assert!(law.mirror.is_empty());
}

#[test]
fn region_from_and_formats_that_write_back_load() {
    let text = r#"
region = "SI"

[entities.contact]
phone = "phone"
mobile = "phone"
birthday = "date"
changed = "datetime"

[connectors.crm]
kind = "csv"
path = "crm.csv"

[map.crm.contact]
id = "Nr"
[map.crm.contact.fields]
phone = { from = "tel", region_from = "country" }
mobile = { from = "Mobil", phone = "at", region_from = "address.country" }
birthday = { from = "geburtsdatum", date = "%Y-%m-%dT%H:%M:%S" }
changed = { from = "modifiedAt", datetime = "%d.%m.%Y %H:%M", tz = "Europe/Vienna" }
"#;
    let c = load_str(text, Path::new("einklang.toml"), &|_: &str| None).unwrap();
    let m = &c.mappings[0];
    let rule = |t: &str| &m.fields.iter().find(|f| f.target == t).unwrap().transforms;
    assert_eq!(
        rule("phone"),
        &[Transform::Phone {
            region: "SI".into(),
            region_from: Some("country".into())
        }],
        "alone, the file's region is the default"
    );
    assert_eq!(
        rule("mobile"),
        &[Transform::Phone {
            region: "AT".into(),
            region_from: Some("address.country".into())
        }]
    );
    assert_eq!(
        rule("birthday"),
        &[Transform::Date {
            format: "%Y-%m-%dT%H:%M:%S".into()
        }],
        "a date format may carry time specifiers: it writes midnight"
    );
}

/// Seed 000: three mailboxes of one Microsoft 365 tenant from one
/// connector definition; seed 001: an API per tenant.
#[test]
fn instances_expand_connectors_mappings_jobs_and_policies() {
    let text = r#"
[entities.contact]
name = "text"
email = "email"

[connectors.mailbox]
kind = "jsonl"
path = "{instance}/{instance.user}.jsonl"
instances = { anna = { user = "anna@firma.de" }, office = { user = "office@firma.de" }, ben = { user = "${BEN_USER}" } }

[connectors.crm]
kind = "jsonl"
path = "crm.jsonl"

[map.mailbox.contact]
id = "id"
creates = { from = ["crm"] }
fields = { name = "displayName" }

[map."mailbox.office".contact]
id = "id"
creates = "none"
fields = { name = "displayName", email = "mail" }

[map.crm.contact]
id = "id"
creates = { from = ["mailbox"] }
fields = { name = "name", email = "email" }

[conflicts.contact]
default = { authority = ["mailbox", "hub"] }

[jobs.all]
sync = ["crm", "mailbox"]

[jobs.read]
pull = "mailbox"
"#;
    let env = |v: &str| (v == "BEN_USER").then(|| "ben@firma.de".to_string());
    let c = load_str(text, Path::new("einklang.toml"), &env).unwrap();
    let names: Vec<&str> = c.connectors.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["crm", "mailbox.anna", "mailbox.ben", "mailbox.office"]
    );
    assert_eq!(
        c.instances["mailbox"],
        ["mailbox.anna", "mailbox.office", "mailbox.ben"].map(String::from),
        "in the file's order"
    );
    let anna = &c.connectors["mailbox.anna"];
    assert_eq!(anna.kind, "jsonl");
    assert_eq!(anna.settings["path"], json!("anna/anna@firma.de.jsonl"));
    assert!(anna.secret_keys.is_empty());
    let ben = &c.connectors["mailbox.ben"];
    assert_eq!(ben.settings["path"], json!("ben/ben@firma.de.jsonl"));
    assert_eq!(
        ben.secret_keys,
        ["path"],
        "a value from ${{VAR}} keeps its setting secret"
    );

    // the shared mapping for two, the office's own for the third
    assert_eq!(
        c.mapping("mailbox.anna", "contact").unwrap().fields.len(),
        1
    );
    assert_eq!(c.mapping("mailbox.ben", "contact").unwrap().fields.len(), 1);
    let office = c.mapping("mailbox.office", "contact").unwrap();
    assert_eq!((office.fields.len(), &office.creates), (2, &Creates::None));
    assert!(c.mapping("mailbox", "contact").is_none());
    assert_eq!(
        c.mapping("crm", "contact").unwrap().creates,
        Creates::From(
            ["mailbox.anna", "mailbox.office", "mailbox.ben"]
                .map(String::from)
                .into()
        )
    );
    assert_eq!(
        c.policies["contact"].default,
        Policy::Authority(
            ["mailbox.anna", "mailbox.office", "mailbox.ben", "hub"]
                .map(String::from)
                .into()
        )
    );
    assert_eq!(
        c.jobs["all"].steps,
        [Step::Sync {
            connectors: ["crm", "mailbox.anna", "mailbox.office", "mailbox.ben"]
                .map(String::from)
                .into(),
            entity: None
        }]
    );
    let pulls: Vec<&Step> = c.jobs["read"].steps.iter().collect();
    assert_eq!(pulls.len(), 3);
    assert!(matches!(pulls[2], Step::Pull { connector, .. } if connector == "mailbox.ben"));
}

#[test]
fn matching_reads_phones_in_the_country_a_field_names() {
    let text = r#"
region = "DE"

[entities.contact]
phones = "phones"
country = "text"

[matching.contact]
compare = [{ field = "phones", kind = "phone" }]
region_from = "country"
"#;
    let config = einklang_config::load_str(text, Path::new("einklang.toml"), &env).unwrap();
    let m = &config.matching["contact"].model;
    assert_eq!(m.region_from.as_deref(), Some("country"));
    let at: einklang_core::Fields = [("country".to_string(), serde_json::json!("AT"))]
        .into_iter()
        .collect();
    assert_eq!(m.region_of(&at), "AT");
}

#[test]
fn tenants_fill_their_values_into_connector_settings_and_only_theirs() {
    let text = r#"
tenant = "acme"

[tenants.acme]
token = "${ACME_TOKEN}"
folder = "acme"

[tenants.globex]
token = "plain-globex"
folder = "globex"

[entities.contact]
name = "text"

[connectors.crm]
kind = "http"
base_url = "https://crm.example/{tenant}"
auth = { header = "X-Api-Key", value = "{tenant.token}" }
list = { path = "/contacts", records = "/data" }

[connectors.files]
kind = "csv"
path = "{tenant.folder}/people.csv"

[map.crm.contact]
id = "id"
fields = { name = "name" }

[map.files.contact]
id = "id"
fields = { name = "name" }

[jobs.j]
pull = ["crm", "files"]
"#;
    let env = |v: &str| (v == "ACME_TOKEN").then(|| "s3cret-acme".to_string());
    let c = load_str(text, Path::new("einklang.toml"), &env).unwrap();
    assert_eq!(c.tenant_names(), ["acme", "globex"]);
    let acme = c.for_tenant("acme").unwrap();
    assert_eq!(acme.tenant, "acme");
    assert_eq!(
        acme.connectors["crm"].settings["base_url"],
        json!("https://crm.example/acme")
    );
    assert_eq!(
        acme.connectors["crm"].settings["auth"]["value"],
        json!("s3cret-acme")
    );
    assert!(
        acme.connectors["crm"]
            .secret_keys
            .contains(&"auth".to_string()),
        "a secret stays secret"
    );
    assert_eq!(
        acme.connectors["files"].settings["path"],
        json!("acme/people.csv")
    );
    let globex = c.for_tenant("globex").unwrap();
    assert_eq!(
        globex.connectors["crm"].settings["auth"]["value"],
        json!("plain-globex")
    );
    assert_eq!(
        globex.connectors["files"].settings["path"],
        json!("globex/people.csv")
    );
    assert!(c.for_tenant("initech").is_none());
    // a tenant's config serves that tenant only: never refilled for another
    assert_eq!(acme.tenant_names(), ["acme"]);
    assert!(acme.for_tenant("globex").is_none());
    assert_eq!(
        acme.for_tenant("acme").unwrap().connectors["files"].settings["path"],
        json!("acme/people.csv")
    );
    // without [tenants] the one tenant is `tenant`
    let single = load_str("tenant = \"solo\"\n", Path::new("einklang.toml"), &env).unwrap();
    assert_eq!(single.tenant_names(), ["solo"]);
    assert!(single.for_tenant("solo").is_some() && single.for_tenant("acme").is_none());
}

#[test]
fn serve_settings_load_with_their_defaults() {
    let minimal = "[entities.contact]\nname = \"text\"\n";
    let c = load_str(minimal, Path::new("einklang.toml"), &|_| None).unwrap();
    assert_eq!(c.serve, einklang_config::ServeConfig::default());
    assert_eq!((c.serve.sweep_minutes, c.serve.recheck_hours), (15, 24));
    assert!(c.serve.cors_origins.is_empty(), "no origin unless named");
    let text = format!(
        "{minimal}[serve]\nsweep_minutes = 0\nrecheck_hours = 168\n\
         cors_origins = [\"https://crm.example.com\", \"http://localhost:3000\"]\n"
    );
    let c = load_str(&text, Path::new("einklang.toml"), &|_| None).unwrap();
    assert_eq!((c.serve.sweep_minutes, c.serve.recheck_hours), (0, 168));
    assert_eq!(
        c.serve.cors_origins,
        ["https://crm.example.com", "http://localhost:3000"]
    );
}

#[test]
fn a_refresh_job_names_its_connector_and_guards() {
    let text = r#"
[entities.booking]
name = "text"

[connectors.kommo]
kind = "jsonl"
path = "leads.jsonl"

[map.kommo.booking]
id = "id"

[jobs.bookings]
refresh = "kommo"

[jobs.guarded]
steps = [{ refresh = "kommo", entity = "booking" }]
max_drop = "10%"
absent = "keep"
"#;
    let config = einklang_config::load_str(text, Path::new("einklang.toml"), &env).unwrap();
    let plain = &config.jobs["bookings"];
    assert_eq!(
        plain.steps,
        vec![einklang_config::Step::Refresh {
            connector: "kommo".into(),
            entity: None
        }]
    );
    assert_eq!(
        (plain.max_drop, plain.absent),
        (0.3, einklang_config::Absent::Delete)
    );
    let guarded = &config.jobs["guarded"];
    assert_eq!(
        guarded.steps,
        vec![einklang_config::Step::Refresh {
            connector: "kommo".into(),
            entity: Some("booking".into())
        }]
    );
    assert_eq!(
        (guarded.max_drop, guarded.absent),
        (0.1, einklang_config::Absent::Keep)
    );
}
