//! Lists of objects (issue 10): EspoCRM keeps numbers and addresses as
//! `phoneNumberData` / `emailAddressData` (`[{phoneNumber, type,
//! primary}]`), Advoware as one `kommunikation` list whose `kommKz` says
//! what each entry is (1 phone, 3 mobile, 4 and 8 e-mail). The seed's
//! Var1–Var6 run against those shapes: an element added, removed or
//! changed on one side reaches the other, the other kinds in a shared
//! list stay, and a second sync writes nothing.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use serde_json::{json, Value};

const CONFIG: &str = r#"
region = "DE"

[entities.contact]
name    = "text"
phones  = "phones"
mobiles = "phones"
emails  = "emails"

[connectors.espo]
kind = "jsonl"
path = "memory-espo.jsonl"

[connectors.advo]
kind = "jsonl"
path = "memory-advo.jsonl"

[map.espo.contact]
id = "id"
[map.espo.contact.fields]
name    = "name"
phones  = { from = "phoneNumberData", each = { value = "phoneNumber", when = { type = "Office" } } }
mobiles = { from = "phoneNumberData", each = { value = "phoneNumber", when = { type = "Mobile" } } }
emails  = { from = "emailAddressData", each = { value = "emailAddress", primary = "primary" } }

[map.advo.contact]
id = "id"
[map.advo.contact.fields]
name    = "name"
phones  = { from = "kommunikation", each = { value = "tlf", when = { kommKz = 1 } } }
mobiles = { from = "kommunikation", each = { value = "tlf", when = { kommKz = 3 } } }
emails  = { from = "kommunikation", each = { value = "tlf", when = { kommKz = [4, 8] } } }

[jobs.sync]
sync = ["espo", "advo"]

[conflicts.contact]
default = { authority = "espo" }
"#;

fn anna() -> Value {
    json!({
        "name": "Anna Novak",
        "phoneNumberData": [
            {"phoneNumber": "+49 30 1111111", "type": "Office", "primary": true},
            {"phoneNumber": "+49 170 2222222", "type": "Mobile", "primary": false}
        ],
        "emailAddressData": [
            {"emailAddress": "old@novak.de", "primary": false},
            {"emailAddress": "anna@novak.de", "primary": true}
        ]
    })
}

fn hub() -> (Hub, String, String) {
    let mut hub = Hub::new(
        CONFIG,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let espo = hub.remote("espo").insert(raw(anna()));
    hub.sync("sync");
    let (advo, _) = hub.find("advo", "name", "Anna Novak");
    (hub, espo, advo)
}

fn kinds(record: &serde_json::Map<String, Value>) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = record["kommunikation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kommKz"].as_i64().unwrap(),
                e["tlf"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn lists_of_objects_reach_the_other_side_by_kind() {
    let (mut hub, _, advo) = hub();
    let record = hub.remote("advo").get(&advo).unwrap();
    assert_eq!(
        kinds(&record),
        vec![
            (1, "+49301111111".into()),
            (3, "+491702222222".into()),
            (4, "anna@novak.de".into()),
            (4, "old@novak.de".into())
        ]
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn var1_a_number_added_in_espo_is_added_in_advo_keeping_the_other_kinds() {
    let (mut hub, espo, advo) = hub();
    let mut data = anna()["phoneNumberData"].clone();
    data.as_array_mut()
        .unwrap()
        .push(json!({"phoneNumber": "+49 30 3333333", "type": "Office"}));
    hub.remote("espo")
        .update(&espo, raw(json!({"phoneNumberData": data})));
    hub.sync("sync");
    let record = hub.remote("advo").get(&advo).unwrap();
    let k = kinds(&record);
    assert!(k.contains(&(1, "+49303333333".into())), "{k:?}");
    assert!(
        k.contains(&(3, "+491702222222".into()))
            && k.iter().filter(|(kz, _)| *kz == 4).count() == 2,
        "{k:?}"
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn var2_a_number_removed_in_espo_is_removed_in_advo() {
    let (mut hub, espo, advo) = hub();
    let data = json!([{"phoneNumber": "+49 30 1111111", "type": "Office", "primary": true}]);
    hub.remote("espo")
        .update(&espo, raw(json!({"phoneNumberData": data})));
    hub.sync("sync");
    let k = kinds(&hub.remote("advo").get(&advo).unwrap());
    assert!(
        !k.iter().any(|(kz, _)| *kz == 3),
        "the mobile is gone: {k:?}"
    );
    assert!(k.contains(&(1, "+49301111111".into())), "{k:?}");
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn var6_an_address_changed_in_advo_changes_in_espo_and_stays_primary() {
    let (mut hub, espo, advo) = hub();
    let mut record = hub.remote("advo").get(&advo).unwrap();
    for e in record["kommunikation"].as_array_mut().unwrap() {
        if e["tlf"] == json!("anna@novak.de") {
            e["tlf"] = json!("anna@kanzlei.de");
        }
    }
    hub.remote("advo").update(
        &advo,
        raw(json!({"kommunikation": record["kommunikation"]})),
    );
    hub.sync("sync");
    let espo_record = hub.remote("espo").get(&espo).unwrap();
    let data = espo_record["emailAddressData"].as_array().unwrap();
    let primary: Vec<&Value> = data
        .iter()
        .filter(|e| e["primary"] == json!(true))
        .collect();
    assert_eq!(primary.len(), 1, "{data:?}");
    let all: Vec<&str> = data
        .iter()
        .map(|e| e["emailAddress"].as_str().unwrap())
        .collect();
    assert!(
        all.contains(&"anna@kanzlei.de") && !all.contains(&"anna@novak.de"),
        "{all:?}"
    );
    assert_quiet(&hub.sync("sync"));
}
