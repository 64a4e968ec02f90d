//! A CardDAV address book on a real Radicale as a two-way peer of a CRM
//! (started by scripts/test; required when `CI=true`), and vdirsyncer
//! keeping a local folder in step with the same address book: what
//! einklang writes shows up in the folder, what is edited there shows up
//! in the hub.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
pub(crate) use einklang_testkit::dav_base;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Another client of the address book, speaking plain HTTP.
pub(crate) struct Other {
    book: String,
    agent: ureq::Agent,
    media: &'static str,
}

impl Other {
    pub(crate) fn new(book: &str) -> Other {
        Other::with_media(book, "text/vcard; charset=utf-8")
    }

    /// A client sending items as `media` (`text/calendar` for events).
    pub(crate) fn with_media(book: &str, media: &'static str) -> Other {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .build()
            .into();
        Other {
            book: book.to_string(),
            agent,
            media,
        }
    }

    pub(crate) fn send(&self, method: &str, name: &str, body: &str) -> (u16, String) {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{name}", self.book))
            .header("Authorization", "Basic YWxpY2U6YWxpY2Vwdw==") // alice:alicepw
            .header("Content-Type", self.media)
            .body(body.to_string())
            .unwrap();
        let mut res = self.agent.run(req).unwrap();
        let text = res.body_mut().read_to_string().unwrap_or_default();
        (res.status().as_u16(), text)
    }

    pub(crate) fn get(&self, name: &str) -> String {
        let (status, text) = self.send("GET", name, "");
        assert_eq!(status, 200, "GET {name}: {text}");
        text
    }

    pub(crate) fn put(&self, name: &str, card: &str) {
        let (status, text) = self.send("PUT", name, card);
        assert!(
            status == 201 || status == 204,
            "PUT {name}: {status} {text}"
        );
    }
}

fn config(book: &str) -> String {
    format!(
        r#"
[entities.contact]
name = "text"
emails = "emails"
phones = "phones"
note = "text"

[connectors.crm]
kind = "jsonl"
path = "memory-crm.jsonl"

[connectors.book]
kind = "carddav"
url = "{book}"
username = "alice"
password = "alicepw"

[map.crm.contact]
id = "id"
fields = {{ name = "name", emails = "emails", phones = "phones", note = "note" }}

[map.book.contact]
id = "href"
fields = {{ name = "fn", emails = "email", phones = "tel", note = "note" }}

[jobs.sync]
sync = ["crm", "book"]

[conflicts.contact]
default = {{ authority = "book" }}
"#
    )
}

/// A hub whose `book` is a fresh address book on Radicale.
fn hub(tag: &str) -> Option<(Hub, Other)> {
    let book = format!("{}{tag}-{}/", dav_base()?, std::process::id());
    let other = Other::new(&book);
    other.send("DELETE", "", "");
    let hub = Hub::new(&config(&book), &[("crm", MemoryOptions::default())]);
    let settings = &hub.config.connectors["book"].settings;
    einklang_connectors::open("book", "carddav", settings, Path::new("."))
        .unwrap()
        .install()
        .unwrap();
    Some((hub, other))
}

const JURGEN: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:jm-1\r\nFN:Jürgen Müller\r\nN:Müller;Jürgen;;;\r\nTEL;TYPE=CELL:+49 89 1234567\r\nX-ADVOWARE-ID:4711\r\nEND:VCARD\r\n";

#[test]
fn an_address_book_syncs_both_ways_with_a_crm() {
    let Some((mut hub, other)) = hub("two-way") else {
        return;
    };
    other.put("jm-1.vcf", JURGEN);
    let anna = hub.remote("crm").insert(raw(
        json!({"name": "Anna Novak", "emails": ["anna@novak.si"], "phones": ["+386 41 123 456"]}),
    ));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 2, "{:#?}", r.counters);
    let (jm, jurgen) = hub.find("crm", "name", "Jürgen Müller");
    assert_eq!(jurgen["phones"], json!(["+49891234567"]));
    let card = other.get("ek-1.vcf");
    assert!(
        card.contains("FN:Anna Novak") && card.contains("anna@novak.si"),
        "{card}"
    );
    assert_quiet(&hub.sync("sync"));
    // an edit on each side
    other.put(
        "jm-1.vcf",
        &JURGEN.replace("+49 89 1234567", "+49 89 7654321"),
    );
    hub.remote("crm").update(&anna, raw(json!({"note": "VIP"})));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 2, "{:#?}", r.counters);
    // the book was read through its sync-collection feed: one change
    assert_eq!(count(&r, "changes"), 1, "{:#?}", r.counters);
    assert_eq!(
        hub.remote("crm").get(&jm).unwrap()["phones"],
        json!(["+49897654321"])
    );
    let card = other.get("ek-1.vcf");
    assert!(card.contains("NOTE:VIP"), "{card}");
    assert_quiet(&hub.sync("sync"));
    // a name changed in the CRM keeps the card's own properties
    hub.remote("crm")
        .update(&jm, raw(json!({"name": "Jürgen Müller-Lang"})));
    hub.sync("sync");
    let card = other.get("jm-1.vcf");
    for want in ["FN:Jürgen Müller-Lang", "X-ADVOWARE-ID:4711", "UID:jm-1"] {
        assert!(card.contains(want), "{want} missing in\n{card}");
    }
    // a card deleted by the other client is deleted in the CRM
    let (status, _) = other.send("DELETE", "ek-1.vcf", "");
    assert_eq!(status, 200);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "deleted"), 1, "{:#?}", r.counters);
    assert!(hub.remote("crm").get(&anna).is_none());
    assert_quiet(&hub.sync("sync"));
}

/// vdirsyncer between the address book and a local folder.
struct Vdirsyncer {
    bin: String,
    dir: tempfile::TempDir,
}

impl Vdirsyncer {
    fn new(book: &str) -> Vdirsyncer {
        let bin = std::env::var("EINKLANG_TEST_VDIRSYNCER").unwrap_or_else(|_| {
            panic!(
                "EINKLANG_TEST_VDIRSYNCER is not set: run scripts/test, which installs vdirsyncer"
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display();
        std::fs::create_dir_all(dir.path().join("local")).unwrap();
        let config = format!(
            r#"[general]
status_path = "{root}/status/"

[pair contacts]
a = "local"
b = "radicale"
collections = null
conflict_resolution = "b wins"

[storage local]
type = "filesystem"
path = "{root}/local/"
fileext = ".vcf"

[storage radicale]
type = "carddav"
url = "{book}"
username = "alice"
password = "alicepw"
"#
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        let v = Vdirsyncer { bin, dir };
        v.run(&["discover", "contacts"]);
        v
    }

    fn run(&self, args: &[&str]) {
        let out = Command::new(&self.bin)
            .args(args)
            .env("VDIRSYNCER_CONFIG", self.dir.path().join("config"))
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "vdirsyncer {args:?}: {log}");
    }

    fn sync(&self) {
        self.run(&["sync"]);
    }

    /// The folder's cards: (file name, text).
    fn cards(&self) -> Vec<(String, String)> {
        let mut cards: Vec<_> = std::fs::read_dir(self.dir.path().join("local"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        cards.sort();
        cards
    }

    fn card_with(&self, text: &str) -> (String, String) {
        let found: Vec<_> = self
            .cards()
            .into_iter()
            .filter(|(_, c)| c.contains(text))
            .collect();
        assert_eq!(found.len(), 1, "cards with {text}: {found:?}");
        found.into_iter().next().unwrap()
    }
}

#[test]
fn vdirsyncer_and_einklang_share_an_address_book() {
    let Some((mut hub, _other)) = hub("vdirsyncer") else {
        return;
    };
    let book = hub.config.connectors["book"].settings["url"]
        .as_str()
        .unwrap()
        .to_string();
    let vds = Vdirsyncer::new(&book);
    // einklang writes a CRM contact into the book; vdirsyncer brings it down
    let anna = hub.remote("crm").insert(raw(
        json!({"name": "Anna Novak", "phones": ["+386 41 123 456"]}),
    ));
    hub.sync("sync");
    vds.sync();
    let (file, card) = vds.card_with("FN:Anna Novak");
    assert!(card.contains("+38641123456"), "{card}");
    // an edit in the folder and a new card there reach the hub and the CRM
    let edited = card.replace("FN:Anna Novak", "FN:Anna Novak-Kos");
    std::fs::write(vds.dir.path().join("local").join(&file), edited).unwrap();
    let maja = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:maja-7\r\nFN:Maja Horvat\r\nEMAIL:maja@horvat.hr\r\nEND:VCARD\r\n";
    std::fs::write(vds.dir.path().join("local/maja-7.vcf"), maja).unwrap();
    vds.sync();
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 1, "{:#?}", r.counters);
    assert_eq!(
        hub.remote("crm").get(&anna).unwrap()["name"],
        json!("Anna Novak-Kos")
    );
    let (_, m) = hub.find("crm", "name", "Maja Horvat");
    assert_eq!(m["emails"], json!(["maja@horvat.hr"]));
    assert_quiet(&hub.sync("sync"));
    // an edit in the CRM and a delete there reach the folder
    let (maja_id, _) = hub.find("crm", "name", "Maja Horvat");
    hub.remote("crm")
        .update(&maja_id, raw(json!({"note": "Rückruf"})));
    hub.remote("crm").remove(&anna);
    hub.sync("sync");
    vds.sync();
    assert_eq!(vds.cards().len(), 1, "{:?}", vds.cards());
    let (_, card) = vds.card_with("FN:Maja Horvat");
    assert!(card.contains("NOTE:Rückruf"), "{card}");
    assert_quiet(&hub.sync("sync"));
}
