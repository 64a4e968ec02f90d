//! Sub-resources (`children`) against the Advoware emulator: its
//! Kommunikationen (carried by the Beteiligter's answer, written at
//! endpoints of their own, never deleted) and Adressen (read per
//! Beteiligter, updated by a `reihenfolgeIndex` that moves).

use crate::http::{advoware, connect};
use crate::obj;
use einklang_connectors::{Connector, ReadItem, WriteOp, WriteOutcome};
use einklang_emulator::{Emulator, Options};
use serde_json::{json, Value};

/// The Advoware connector with both child collections.
fn settings(emu: &Emulator) -> Value {
    let password = einklang_emulator::advoware::auth::Credentials::default().password;
    let mut s = advoware(emu, &password);
    s["create"] = json!({"path": "/Beteiligte", "reread": true});
    s["update"] = json!({"method": "PUT", "path": "/Beteiligte/{id}", "record": "/0"});
    s["writable"] = json!(["name", "vorname"]);
    s["children"] = json!({
        "kommunikation": {
            "version": "rowId",
            "create": {"path": "/Beteiligte/{parent}/Kommunikationen"},
            "update": {"path": "/Beteiligte/{parent}/Kommunikationen/{id}"},
            "read_only": ["kommKz"],
            "blank": {"tlf": "", "bemerkung": ""},
        },
        "adressen": {
            "version": "rowId",
            "key": "reihenfolgeIndex",
            "list": {"path": "/Beteiligte/{parent}/Adressen"},
            "create": {"path": "/Beteiligte/{parent}/Adressen"},
            "update": {"path": "/Beteiligte/{parent}/Adressen/{key}"},
            "read_only": ["land", "standardAnschrift", "reihenfolgeIndex"],
            "blank": {"strasse": "", "plz": "", "ort": ""},
        },
    });
    s
}

fn write(c: &mut dyn Connector, op: WriteOp) -> WriteOutcome {
    c.write("betNr", &[op]).unwrap().remove(0).unwrap()
}

fn fetch(c: &mut dyn Connector, id: &str) -> einklang_connectors::RawRecord {
    match c.fetch(&[id.to_string()]).unwrap().remove(0) {
        ReadItem::Record(r) => r,
        ReadItem::Reject(r) | ReadItem::Broken(r) => panic!("{}", r.reason),
    }
}

fn tlfs(v: &Value) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kommKz"].as_u64().unwrap(),
                k["tlf"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn children_are_created_updated_and_blanked_at_their_own_endpoints() {
    let emu = Emulator::start(Options::default());
    let advo = emu.advoware();
    let mut c = connect(settings(&emu));
    // a create: the Beteiligter, then each Kommunikation and address
    let out = write(
        &mut *c,
        WriteOp::Create {
            marker: "m1".into(),
            fields: obj(json!({"name": "Roth", "vorname": "Ida",
                "kommunikation": [{"kommKz": 4, "tlf": "ida@roth.de"}, {"kommKz": 3, "tlf": "0171 1"}],
                "adressen": [{"strasse": "Hauptstr. 1", "plz": "10115", "ort": "Berlin", "land": "D"}]})),
        },
    );
    let bet: u64 = out.id.parse().unwrap();
    assert!(out.complete && out.unwritten.is_empty(), "{out:?}");
    let held = advo.get(bet).unwrap();
    assert_eq!(
        tlfs(&held["kommunikation"]),
        vec![(3, "0171 1".into()), (4, "ida@roth.de".into())]
    );
    assert_eq!(advo.adressen(bet).len(), 1);
    let record = out.record.unwrap();
    assert_eq!(
        record["adressen"][0]["ort"], "Berlin",
        "addresses read with the record"
    );
    let v1 = out.version.unwrap();
    assert!(v1.contains('+'), "the version carries the children's: {v1}");

    // a user adds a main address in Advoware: the first one moves to index 2
    advo.add_adresse(bet, json!({"strasse": "Kanzleiweg 2", "plz": "80331", "ort": "München", "standardAnschrift": true}));
    let now = fetch(&mut *c, &bet.to_string());
    assert_ne!(
        now.version.as_deref(),
        Some(v1.as_str()),
        "a child's change is a change of the record"
    );
    let bet_row = advo.get(bet).unwrap()["rowId"].clone();

    // an update: the mobile changes, the e-mail goes, a fax comes; the
    // Berlin address (now at index 2) moves to Potsdam
    let puts_before = advo.count("PUT");
    let mut fields = now.fields.clone();
    let komm = fields["kommunikation"].as_array().unwrap().clone();
    let mobile = komm.iter().find(|k| k["kommKz"] == 3).unwrap().clone();
    let mut changed = mobile.clone();
    changed["tlf"] = json!("0171 2");
    fields.insert(
        "kommunikation".into(),
        json!([changed, {"kommKz": 2, "tlf": "030 9"}]),
    );
    let mut adr = fields["adressen"].as_array().unwrap().clone();
    let berlin = adr.iter_mut().find(|a| a["ort"] == "Berlin").unwrap();
    berlin["ort"] = json!("Potsdam");
    berlin["reihenfolgeIndex"] = json!(1); // stale: the key is looked up
    fields.insert("adressen".into(), Value::Array(adr));
    let out = write(
        &mut *c,
        WriteOp::Update {
            id: bet.to_string(),
            fields,
            expected_version: None,
        },
    );
    assert!(out.unwritten.is_empty(), "{:?}", out.unwritten);
    let held = advo.get(bet).unwrap();
    assert_eq!(
        held["rowId"], bet_row,
        "the Beteiligter's own fields did not change: no PUT of it"
    );
    assert_eq!(
        tlfs(&held["kommunikation"]),
        vec![
            (2, "030 9".into()),
            (3, "0171 2".into()),
            (4, String::new())
        ],
        "the e-mail is blanked (DELETE is 403), the fax created"
    );
    // mobile, the blanked e-mail, the address: three PUTs
    assert_eq!(advo.count("PUT") - puts_before, 3);
    let orte: Vec<String> = advo
        .adressen(bet)
        .iter()
        .map(|a| a["ort"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        orte,
        vec!["München", "Potsdam"],
        "the address at its current index was written"
    );
    assert_eq!(out.version, fetch(&mut *c, &bet.to_string()).version);

    // a new e-mail reuses the blank slot instead of a POST
    let posts_before = advo.count("POST");
    let mut fields = fetch(&mut *c, &bet.to_string()).fields;
    let mut komm: Vec<Value> = fields["kommunikation"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["tlf"] != "")
        .cloned()
        .collect();
    komm.push(json!({"kommKz": 4, "tlf": "neu@roth.de"}));
    fields.insert("kommunikation".into(), Value::Array(komm));
    write(
        &mut *c,
        WriteOp::Update {
            id: bet.to_string(),
            fields,
            expected_version: None,
        },
    );
    assert_eq!(
        advo.count("POST"),
        posts_before,
        "the empty e-mail slot was reused"
    );
    assert!(tlfs(&advo.get(bet).unwrap()["kommunikation"]).contains(&(4, "neu@roth.de".into())));

    // only the Beteiligter's own field changes: its PUT and nothing else —
    // its answer is the truth, the children as held
    let mut fields = fetch(&mut *c, &bet.to_string()).fields;
    fields.insert("vorname".into(), json!("Ida Maria"));
    let (gets, puts) = (advo.count("GET"), advo.count("PUT"));
    let out = write(
        &mut *c,
        WriteOp::Update {
            id: bet.to_string(),
            fields,
            expected_version: None,
        },
    );
    assert_eq!((advo.count("GET") - gets, advo.count("PUT") - puts), (0, 1));
    let record = out.record.clone().unwrap();
    assert_eq!(record["vorname"], "Ida Maria");
    assert_eq!(
        tlfs(&record["kommunikation"]),
        tlfs(&advo.get(bet).unwrap()["kommunikation"])
    );
    assert_eq!(record["adressen"].as_array().map(Vec::len), Some(2));
    assert_eq!(out.version, fetch(&mut *c, &bet.to_string()).version);
}

#[test]
fn a_failed_child_request_is_reported_and_the_write_stands() {
    let emu = Emulator::start(Options::default());
    let advo = emu.advoware();
    let mut c = connect(settings(&emu));
    let bet = advo.insert(json!({"name": "Weiß", "vorname": "Ole"}));
    let mut fields = fetch(&mut *c, &bet.to_string()).fields;
    fields.insert(
        "kommunikation".into(),
        json!([{"kommKz": 99, "tlf": "x"}, {"kommKz": 1, "tlf": "030 1"}]),
    );
    let out = write(
        &mut *c,
        WriteOp::Update {
            id: bet.to_string(),
            fields,
            expected_version: None,
        },
    );
    assert_eq!(out.unwritten.len(), 1, "{:?}", out.unwritten);
    assert!(
        out.unwritten[0].contains("kommunikation") && out.unwritten[0].contains("kommKz"),
        "{:?}",
        out.unwritten
    );
    assert!(out.complete, "the record as held is read back");
    let held = out.record.unwrap();
    assert_eq!(
        tlfs(&held["kommunikation"]),
        vec![(1, "030 1".into())],
        "the good entry went through"
    );
}

#[test]
fn children_settings_are_checked() {
    let emu = Emulator::start(Options::default());
    let mut s = settings(&emu);
    s["children"]["kommunikation"]
        .as_object_mut()
        .unwrap()
        .remove("blank");
    s["children"]["adressen"]["update"] = json!({"path": "/Beteiligte/{parent}/Adressen/{id}"});
    s["children"]["adressen"]["colour"] = json!("red");
    let problems = einklang_connectors::validate_settings("http", &crate::settings(s));
    let text: Vec<String> = problems
        .iter()
        .map(|p| format!("{:?}: {}", p.key, p.message))
        .collect();
    let all = text.join("\n");
    assert!(
        all.contains("children.kommunikation") && all.contains("needs `delete` or `blank`"),
        "{all}"
    );
    assert!(
        all.contains("children.adressen.update") && all.contains("{key}"),
        "{all}"
    );
    assert!(all.contains("unknown key `colour`"), "{all}");
}
