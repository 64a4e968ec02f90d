//! The two sides of the chaos job and the people on them.
//!
//! `office` is a `;` CSV client list; `phone` is one of four kinds — a
//! vCard folder, CardDAV on Radicale, the REST emulator, a PostgreSQL table
//! with server-assigned keys — the network ones behind the fault proxy.
//! The office's people edit companies, the phone's people edit numbers:
//! no field is edited on both sides, so what every field must end as is
//! known whatever order the runs happened in.
//!
//! Users act on the sides directly (not through the proxy): with a
//! connector of the same kind for files, CardDAV and PostgreSQL, with the
//! emulator's own API for REST.

use base64::prelude::{Engine, BASE64_STANDARD};
use einklang_connectors::{Connector, RawFields, ReadItem, WriteOp};
use einklang_testkit::{FaultProxy, Mode, Rule};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// A person as one side holds them.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    /// The side's id of the record.
    pub id: String,
    pub email: String,
    pub company: String,
    pub phone: String,
}

/// The kinds the phone side can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Vcard,
    Carddav,
    Http,
    Postgres,
}

/// Raw field names of a kind: (email, company, phone, given, family).
fn names(kind: Kind) -> [&'static str; 5] {
    match kind {
        Kind::Vcard | Kind::Carddav => ["email", "org", "tel", "n.given", "n.family"],
        Kind::Http => ["email", "company", "phone", "first_name", "last_name"],
        Kind::Postgres => ["email", "firma", "telefon", "vorname", "nachname"],
    }
}

/// What lives behind a side for the length of a schedule.
enum Backend {
    Files,
    /// The collection's URL, deleted with the schedule.
    Dav(String),
    Emulator(einklang_emulator::Emulator),
    /// Kept for its drop: the database goes with the schedule.
    #[allow(dead_code)]
    Pg(Box<einklang_testkit::PgDb>),
}

/// The phone side.
pub struct Remote {
    pub kind: Kind,
    /// Its `[connectors.phone]` and `[map.phone.contact]` sections.
    pub config: String,
    user: Option<Box<dyn Connector>>,
    backend: Backend,
    pub proxy: Option<FaultProxy>,
}

fn first_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => first_text(a.first()),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

impl Remote {
    /// The phone side of `kind` under `dir`; `None` when its server is not
    /// there (locally; under CI the guards fail instead).
    pub fn new(kind: Kind, dir: &Path, tag: &str) -> Option<Remote> {
        let [email, company, phone, given, family] = names(kind);
        let fields = format!(
            "fields = {{ first_name = \"{given}\", last_name = \"{family}\", email = \"{email}\", phone = \"{phone}\", company = \"{company}\" }}"
        );
        let (connector, user, backend, proxy) = match kind {
            Kind::Vcard => {
                std::fs::create_dir_all(dir.join("phonebook")).unwrap();
                let c = "kind = \"vcard\"\npath = \"phonebook\"".to_string();
                let settings = json!({"path": dir.join("phonebook")});
                (c, Some(open("vcard", settings, dir)), Backend::Files, None)
            }
            Kind::Carddav => {
                let base = einklang_testkit::dav_base()?;
                let url = format!("{base}chaos-{tag}-{}/", std::process::id());
                let auth = json!({"username": einklang_testkit::DAV_USER, "password": einklang_testkit::DAV_PASSWORD});
                let mut settings = auth.clone();
                settings["url"] = json!(url);
                let mut user = open("carddav", settings, dir);
                user.install().unwrap();
                let origin = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
                let proxy = FaultProxy::start(Mode::Http, &origin).unwrap();
                let via = url.replacen(&origin, &proxy.url(), 1);
                let c = format!(
                    "kind = \"carddav\"\nurl = \"{via}\"\nusername = \"{}\"\npassword = \"{}\"",
                    einklang_testkit::DAV_USER,
                    einklang_testkit::DAV_PASSWORD
                );
                (c, Some(user), Backend::Dav(url), Some(proxy))
            }
            Kind::Http => {
                let emu = einklang_emulator::Emulator::start(Default::default());
                let proxy = FaultProxy::start(Mode::Http, &emu.url).unwrap();
                let c = format!(
                    r#"kind = "http"
base_url = "{}"
id = "id"
version = "version"
list = {{ path = "/api/v4/contacts", params = {{ limit = 50 }}, records = "/_embedded/contacts", paginate = "next_link", next = "/_links/next/href" }}
get = {{ path = "/api/v4/contacts/{{id}}", missing = [204, 404] }}
create = {{ path = "/api/v4/contacts", body = ["{{record}}"], record = "/_embedded/contacts/0" }}
update = {{ path = "/api/v4/contacts/{{id}}" }}
delete = {{ path = "/api/v4/contacts/{{id}}" }}
conditional = "If-Match"
retry = {{ attempts = 2, base_ms = 50 }}"#,
                    proxy.url()
                );
                (c, None, Backend::Emulator(emu), Some(proxy))
            }
            Kind::Postgres => {
                let db = einklang_testkit::PgDb::new(&format!("chaos_{tag}"))?;
                db.sql("CREATE TABLE kontakte (id BIGSERIAL PRIMARY KEY, vorname TEXT, nachname TEXT, email TEXT, telefon TEXT, firma TEXT, ek_marker TEXT)");
                let settings =
                    json!({"url": db.url, "table": "kontakte", "key": "id", "ids": "server"});
                let user = open("postgres_table", settings, dir);
                let proxy = FaultProxy::start(Mode::Pg, &db.url).unwrap();
                // every other schedule without a marker column: lost
                // creates are then held until a read claims them
                let marker = match tag.parse::<u64>().unwrap_or(0) % 2 {
                    0 => "",
                    _ => "\nmarker_column = \"ek_marker\"",
                };
                let c = format!(
                    "kind = \"postgres_table\"\nurl = \"{}\"\ntable = \"kontakte\"\nkey = \"id\"\nids = \"server\"{marker}",
                    db.url_via(proxy.addr())
                );
                (c, Some(user), Backend::Pg(Box::new(db)), Some(proxy))
            }
        };
        let config = format!(
            "[connectors.phone]\n{connector}\n\n[map.phone.contact]\nid = \"{}\"\n{fields}\n",
            match kind {
                Kind::Vcard => "uid",
                Kind::Carddav => "href",
                _ => "id",
            }
        );
        Some(Remote {
            kind,
            config,
            user,
            backend,
            proxy,
        })
    }

    /// Everyone on the side now.
    pub fn people(&mut self) -> Vec<Person> {
        let [email, company, phone, ..] = names(self.kind);
        let key = match self.kind {
            Kind::Vcard => "uid",
            Kind::Carddav => "href",
            _ => "id",
        };
        let records: Vec<RawFields> = match (&self.backend, self.user.as_mut()) {
            (Backend::Emulator(emu), _) => emu.all(),
            (_, Some(user)) => user
                .read()
                .unwrap()
                .map(|item| match item {
                    ReadItem::Record(r) => r.fields,
                    ReadItem::Reject(r) | ReadItem::Broken(r) => {
                        panic!("the phone side holds an unreadable record: {r:?}")
                    }
                })
                .collect(),
            _ => unreachable!(),
        };
        records
            .iter()
            .map(|r| Person {
                id: first_text(r.get(key)),
                email: first_text(r.get(email)),
                company: first_text(r.get(company)),
                phone: first_text(r.get(phone)),
            })
            .collect()
    }

    /// A person entered on the phone side.
    pub fn create(&mut self, p: &Person, n: usize) {
        let [email, company, phone, given, family] = names(self.kind);
        let fields = json!({ email: p.email, company: p.company, phone: p.phone, given: "Neu", family: format!("Person {n}") });
        match (&self.backend, self.user.as_mut()) {
            (Backend::Emulator(emu), _) => {
                emu.insert(fields);
            }
            (_, Some(user)) => {
                let key = if self.kind == Kind::Vcard {
                    "uid"
                } else {
                    "href"
                };
                let marker = format!("user-{n}");
                let op = WriteOp::Create {
                    marker,
                    fields: fields.as_object().unwrap().clone(),
                };
                let out = user.write(key, &[op]).unwrap();
                out[0].as_ref().expect("the user's create");
            }
            _ => unreachable!(),
        }
    }

    /// A number changed by someone at the phone side.
    pub fn set_phone(&mut self, id: &str, new: &str) {
        let phone = names(self.kind)[2];
        self.change(id, json!({ phone: new }));
    }

    /// A person removed at the phone side.
    pub fn delete(&mut self, id: &str) {
        match (&self.backend, self.user.as_mut()) {
            (Backend::Emulator(emu), _) => emu.delete(id.parse().unwrap()),
            (_, Some(user)) => {
                let op = WriteOp::Delete {
                    id: id.into(),
                    expected_version: None,
                };
                user.write("id", &[op]).unwrap()[0]
                    .as_ref()
                    .expect("the user's delete");
            }
            _ => unreachable!(),
        }
    }

    fn change(&mut self, id: &str, fields: Value) {
        match (&self.backend, self.user.as_mut()) {
            (Backend::Emulator(emu), _) => emu.update(id.parse().unwrap(), fields),
            (_, Some(user)) => {
                let op = WriteOp::Update {
                    id: id.into(),
                    fields: fields.as_object().unwrap().clone(),
                    expected_version: None,
                };
                user.write("id", &[op]).unwrap()[0]
                    .as_ref()
                    .expect("the user's edit");
            }
            _ => unreachable!(),
        }
    }

    /// Make the network misbehave for the next runs (`pick` in 0..100).
    pub fn misbehave(&self, pick: u64) -> Option<String> {
        let proxy = self.proxy.as_ref()?;
        let writes = match self.kind {
            Kind::Postgres => "COMMIT",
            Kind::Carddav => "PUT",
            _ => "POST",
        };
        let rule = match pick % 5 {
            0 => Rule::drop_answer()
                .method(writes)
                .times(1 + (pick % 3) as u32),
            1 => Rule::drop_answer().times(1),
            2 => Rule::reset().times(2),
            3 => Rule::delay(Duration::from_millis(300)).times(5),
            _ if self.kind == Kind::Postgres => Rule::reset().times(1),
            _ => Rule::inject(429).header("Retry-After", "1").times(1),
        };
        proxy.add(rule);
        Some(proxy.describe().join("; "))
    }

    /// No more faults.
    pub fn behave(&self) {
        if let Some(p) = &self.proxy {
            p.clear();
        }
    }

    /// What the proxy did, for the summary.
    pub fn faults_seen(&self) -> String {
        self.proxy
            .as_ref()
            .map(|p| format!("{:?}", p.counters()))
            .unwrap_or_default()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // the server outlives the test: leave no address book behind
        if let Backend::Dav(url) = &self.backend {
            let auth = format!(
                "{}:{}",
                einklang_testkit::DAV_USER,
                einklang_testkit::DAV_PASSWORD
            );
            let _ = ureq::delete(url)
                .header(
                    "Authorization",
                    &format!("Basic {}", BASE64_STANDARD.encode(auth)),
                )
                .call();
        }
    }
}

fn open(kind: &str, settings: Value, dir: &Path) -> Box<dyn Connector> {
    let settings = settings.as_object().unwrap().clone().into_iter().collect();
    einklang_connectors::open("user", kind, &settings, dir).unwrap()
}
