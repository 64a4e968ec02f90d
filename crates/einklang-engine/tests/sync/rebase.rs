//! Lists of objects written onto what the remote holds (issue 10): an
//! EspoCRM contact's e-mail addresses and phone numbers are one list each,
//! replaced whole by a write. A change made elsewhere reaches it without
//! rewriting the entries it did not touch: `0170 1039595` stays as typed,
//! an address keeps its case and its opt-out flag, and a phone of a type
//! no rule maps (`Other`) stays.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_emulator::{Emulator, Options};
use serde_json::json;

fn config(base: &str) -> String {
    format!(
        r#"
region = "DE"

[entities.contact]
last_name = "text"
emails = "emails"
mobiles = "phones"

[connectors.office]
kind = "jsonl"
path = "memory-office.jsonl"

[connectors.espo]
kind = "http"
base_url = "{base}"
auth = {{ header = "X-Api-Key", value = "espo-api-key" }}
version = "versionNumber"
list = {{ path = "/Contact", records = "/list", params = {{ select = "id,lastName,emailAddressData,phoneNumberData,versionNumber" }} }}
get = {{ path = "/Contact/{{id}}" }}
create = {{ path = "/Contact" }}
update = {{ method = "PATCH", path = "/Contact/{{id}}" }}

[map.office.contact]
id = "id"
fields = {{ last_name = "name", emails = "emails", mobiles = "mobiles" }}

[map.espo.contact]
id = "id"
fields.last_name = "lastName"
fields.emails = {{ from = "emailAddressData", each = {{ value = "emailAddress", primary = "primary" }} }}
fields.mobiles = {{ from = "phoneNumberData", each = {{ value = "phoneNumber", when = {{ type = "Mobile" }}, primary = "primary" }} }}

[conflicts.contact]
default = {{ authority = "espo" }}

[jobs.sync]
sync = ["espo", "office"]
"#
    )
}

#[test]
fn a_list_written_to_espo_keeps_the_entries_it_did_not_change() {
    let emu = Emulator::start(Options::default());
    let espo = emu.espo();
    let id = espo.insert(
        "Contact",
        json!({
            "lastName": "Weiß",
            "emailAddressData": [{"emailAddress": "J.Weiss@GMX.de", "primary": true, "optOut": true}],
            "phoneNumberData": [
                {"phoneNumber": "0170 1039595", "type": "Mobile", "primary": true},
                {"phoneNumber": "030 1234567", "type": "Other"}
            ]
        }),
    );
    let mut hub = Hub::new(
        &config(&format!("{}/espo/api/v1", emu.url)),
        &[("office", MemoryOptions::default())],
    );
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 1, "{:#?}", r.counters);
    let office = hub.remote("office").records();
    let (office_id, mut rec) = office.into_iter().next().unwrap();
    assert_eq!(rec["emails"], json!(["j.weiss@gmx.de"]));
    assert_eq!(rec["mobiles"], json!(["+491701039595"]));

    // the office adds an address and a mobile number
    rec.insert("emails".into(), json!(["j.weiss@gmx.de", "neu@kunde.de"]));
    rec.insert(
        "mobiles".into(),
        json!(["+491701039595", "+49 171 2223334"]),
    );
    hub.remote("office").update(&office_id, rec);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "updated"), 1, "{:#?}", r.counters);

    let now = espo.get("Contact", &id).unwrap();
    let emails = now["emailAddressData"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "{now:#}");
    assert_eq!(emails[0]["emailAddress"], "J.Weiss@GMX.de", "as typed");
    assert_eq!(emails[0]["optOut"], true, "the opt-out stays");
    assert_eq!(emails[0]["primary"], true);
    assert_eq!(emails[1]["emailAddress"], "neu@kunde.de");
    let phones: Vec<(&str, &str)> = now["phoneNumberData"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["phoneNumber"].as_str().unwrap(),
                p["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        phones,
        [
            ("0170 1039595", "Mobile"),
            ("+491712223334", "Mobile"),
            ("030 1234567", "Other")
        ],
        "{now:#}"
    );

    // and nothing is owed afterwards
    let r = hub.sync("sync");
    assert_eq!(remote_writes(&r), 0, "{:#?}", r.counters);
}
