//! Webhooks as their senders sign them, end to end through `einklang sync
//! --watch --listen`: EspoCRM's signed batches (from the in-repo emulator,
//! which POSTs them as EspoCRM does) start a targeted run that fetches only
//! the records named and carries the change to the other side; Microsoft
//! Graph's subscription handshake is answered with its token.

mod support;

use einklang_emulator::{Emulator, Options};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;
use support::{agent, Watching};

/// A port nobody listens on now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A watching `einklang sync j --watch --listen 127.0.0.1:PORT --json`.
struct Watch {
    run: Watching,
    dir: tempfile::TempDir,
}

impl Watch {
    fn start(config: &str, port: u16, env: &[(&str, &str)]) -> Watch {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("einklang.toml");
        let store = dir.path().join("hub.db");
        let text = format!("store = \"{}\"\n{config}", store.display());
        std::fs::write(&path, text).unwrap();
        std::fs::write(dir.path().join("office.jsonl"), "").unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_einklang"));
        cmd.args(["--config", path.to_str().unwrap(), "sync", "j"])
            .args(["--watch", "--json", "--interval", "3600"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .env_remove("EINKLANG_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (run, _) = Watching::spawn(&mut cmd, 0);
        Watch { run, dir }
    }

    fn report(&self) -> Value {
        self.run.report(Duration::from_secs(30))
    }

    fn office(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("office.jsonl")).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// POST to the port; status, content type and body.
fn post(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let mut req = ureq::http::Request::builder().method("POST").uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut answer = agent().run(req.body(body.to_string()).unwrap()).unwrap();
    let kind = (answer.headers().get("content-type"))
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = answer.body_mut().read_to_string().unwrap();
    (answer.status().as_u16(), kind, text)
}

fn step<'r>(report: &'r Value, connector: &str) -> &'r Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["connector"] == connector)
        .unwrap_or_else(|| panic!("no step of {connector}: {report}"))
}

fn espo_config(api: &str, hook_id: &str) -> String {
    format!(
        r#"
[entities.contact]
first_name = "text"
last_name = "text"

[connectors.espo]
kind = "http"
base_url = "{api}"
auth = {{ header = "X-Api-Key", value = "espo-api-key" }}
version = "versionNumber"
list = {{ path = "/Contact", records = "/list", params = {{ select = "id,firstName,lastName,versionNumber" }} }}
get = {{ path = "/Contact/{{id}}" }}
create = {{ path = "/Contact" }}
update = {{ method = "PATCH", path = "/Contact/{{id}}" }}
webhook = {{ scheme = "espo", secret = "${{ESPO_WEBHOOK_SECRET}}", webhook_id = "{hook_id}", ids = ["/*/id"] }}

[connectors.office]
kind = "jsonl"
path = "office.jsonl"

[map.espo.contact]
id = "id"
fields = {{ first_name = "firstName", last_name = "lastName" }}

[map.office.contact]
id = "id"
fields = {{ first_name = "first", last_name = "last" }}

[conflicts.contact]
default = {{ authority = "espo" }}

[jobs.j]
sync = ["espo", "office"]
"#
    )
}

/// Seed 002's fast path: EspoCRM batches its `Contact.update` events into
/// one signed POST `[{"id": …, changed attributes}, …]`. Every record of
/// the batch is synced (not only the first), with one GET each and no
/// listing, and the change is in the other side when the run ends; a
/// forged batch runs nothing; a named record EspoCRM no longer has is
/// deleted nowhere.
#[test]
fn an_espo_batch_syncs_exactly_the_records_it_names() {
    let emu = Emulator::start(Options::default());
    let espo = emu.espo();
    let ids: Vec<String> = (0..6)
        .map(|i| {
            espo.insert(
                "Contact",
                json!({"firstName": format!("Vorname{i}"), "lastName": format!("Name{i}")}),
            )
        })
        .collect();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/webhook/espo");
    let (hook_id, secret) = espo.subscribe("Contact.update", &url);
    let w = Watch::start(
        &espo_config(&espo.api_url(), &hook_id),
        port,
        &[("ESPO_WEBHOOK_SECRET", &secret)],
    );
    let first = w.report();
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(w.office().len(), 6);

    let (gets, patches) = (espo.count("GET"), espo.count("PATCH"));
    espo.update("Contact", &ids[1], json!({"lastName": "Umbenannt"}));
    espo.update("Contact", &ids[4], json!({"firstName": "Geändert"}));
    let sent = espo.deliver();
    assert_eq!(sent.len(), 1, "one batch: {sent:?}");
    assert_eq!(sent[0].status, 202, "{sent:?}");
    let batch: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(batch.as_array().unwrap().len(), 2, "{batch}");

    let run = w.report();
    assert_eq!(run["status"], "succeeded", "{run}");
    let read = step(&run, "espo");
    assert_eq!(read["counters"]["named"], 2, "{run}");
    assert_eq!(read["counters"]["updated"], 2, "{run}");
    assert_eq!(
        espo.count("GET") - gets,
        2,
        "one GET per named record, no listing"
    );
    assert_eq!(
        espo.count("PATCH"),
        patches,
        "nothing written back to EspoCRM"
    );
    assert_eq!(
        step(&run, "office")["counters"]["pushed_update"],
        2,
        "{run}"
    );
    let office = w.office();
    let has = |first: &str, last: &str| {
        office
            .iter()
            .any(|r| r["first"] == first && r["last"] == last)
    };
    assert!(has("Vorname1", "Umbenannt"), "{office:?}");
    assert!(has("Geändert", "Name4"), "{office:?}");
    assert!(has("Vorname2", "Name2"), "{office:?}");

    // a batch signed with another key runs nothing
    let body = format!(r#"[{{"id":"{}"}}]"#, ids[0]);
    let forged = einklang_emulator::espo::hooks::signature(&hook_id, "guessed", &body);
    let (status, _, text) = post(&url, &[("Signature", &forged)], &body);
    assert_eq!(status, 401, "{text}");

    // a record EspoCRM no longer has: named, not found, deleted nowhere
    espo.delete("Contact", &ids[5]);
    let body = format!(r#"[{{"id":"{}"}}]"#, ids[5]);
    let sig = einklang_emulator::espo::hooks::signature(&hook_id, &secret, &body);
    let (status, _, text) = post(&url, &[("Signature", &sig)], &body);
    assert_eq!(status, 202, "{text}");
    let run = w.report();
    let read = step(&run, "espo");
    assert_eq!(read["counters"]["named_absent"], 1, "{run}");
    assert!(
        read["notes"].to_string().contains("nothing is deleted"),
        "{run}"
    );
    assert_eq!(w.office().len(), 6, "the office record stays");
    assert!(
        w.run.stderr().iter().any(|l| l.contains("refused")),
        "the forged call is reported"
    );
}

/// Microsoft Graph validates a subscription by POSTing
/// `?validationToken=…`, expecting the token back as `text/plain` within
/// 10 s; its notifications carry the `clientState` given when subscribing.
#[test]
fn graph_gets_its_validation_token_back_and_client_state_is_checked() {
    let emu = Emulator::start(Options::default());
    let espo = emu.espo();
    let id = espo.insert("Contact", json!({"lastName": "Graf"}));
    let port = free_port();
    let config = format!(
        r#"
[entities.contact]
last_name = "text"

[connectors.graph]
kind = "http"
base_url = "{}"
auth = {{ header = "X-Api-Key", value = "espo-api-key" }}
version = "versionNumber"
list = {{ path = "/Contact", records = "/list" }}
get = {{ path = "/Contact/{{id}}" }}
webhook = {{ scheme = "graph", secret = "${{GRAPH_CLIENT_STATE}}" }}

[map.graph.contact]
id = "id"
fields = {{ last_name = "lastName" }}

[jobs.j]
pull = ["graph"]
"#,
        espo.api_url()
    );
    let w = Watch::start(&config, port, &[("GRAPH_CLIENT_STATE", "cs-41")]);
    assert_eq!(w.report()["status"], "succeeded");
    let url = format!("http://127.0.0.1:{port}/webhook/graph");
    let token = "Validation: Token 7/ä";
    let (status, kind, text) = post(
        &format!("{url}?validationToken=Validation%3A%20Token%207%2F%C3%A4"),
        &[("Content-Type", "text/plain")],
        "",
    );
    assert_eq!(
        (status, kind.as_str(), text.as_str()),
        (200, "text/plain; charset=utf-8", token)
    );
    let notification = |state: &str| {
        json!({"value": [{"subscriptionId": "s", "clientState": state, "changeType": "updated",
            "resource": format!("Users/u/Contacts/{id}"), "resourceData": {"id": id}}]})
        .to_string()
    };
    let (status, _, text) = post(&url, &[], &notification("wrong"));
    assert_eq!(status, 401, "{text}");
    espo.update("Contact", &id, json!({"lastName": "Gräfin"}));
    let gets = espo.count("GET");
    let (status, _, text) = post(&url, &[], &notification("cs-41"));
    assert_eq!(status, 202, "{text}");
    let run = w.report();
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(step(&run, "graph")["counters"]["named"], 1, "{run}");
    assert_eq!(step(&run, "graph")["counters"]["updated"], 1, "{run}");
    assert_eq!(espo.count("GET") - gets, 1, "one GET for the one record");
    // only the handshake and the good notification were answered 2xx: one run
    assert!(w.run.until_quiet(Duration::from_millis(500)).is_empty());
    // a lifecycle notification (`missed`) names no record: an ordinary run
    let missed = json!({"value": [{"subscriptionId": "s", "clientState": "cs-41", "lifecycleEvent": "missed"}]});
    let (status, _, text) = post(&url, &[], &missed.to_string());
    assert_eq!(status, 202, "{text}");
    let run = w.report();
    let counters = &step(&run, "graph")["counters"];
    assert_eq!(counters.get("named"), None, "{run}");
    assert_eq!(counters["read"], 1, "the listing was read: {run}");
}

/// An Advoware bearer token from the emulator's signed token request.
fn advoware_token(emu: &Emulator) -> String {
    use einklang_emulator::advoware::auth::{sign, Credentials};
    let c = Credentials::default();
    let stamp = "2026-01-26T10:00:00Z";
    let body = json!({"AppID": c.app_id, "Kanzlei": c.kanzlei, "Database": c.database, "User": c.user,
        "Role": 2, "Product": 64, "Password": c.password, "Nonce": "n-1", "RequestTimeStamp": stamp,
        "HMAC512Signature": sign(&c.api_key, "64", &c.app_id, "n-1", stamp).unwrap()});
    let (status, _, text) = post(
        &emu.advoware().token_url(),
        &[("Content-Type", "application/json")],
        &body.to_string(),
    );
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    answer["access_token"].as_str().unwrap().to_string()
}

/// Seed 002's fast path end to end: an edit in EspoCRM, its signed
/// webhook, and the Beteiligter in Advoware is written within a second of
/// the call, with at most 3 remote calls for the record (here: EspoCRM's
/// GET and Advoware's PUT).
#[test]
fn an_espo_webhook_reaches_advoware_within_a_second_in_at_most_three_calls() {
    let emu = Emulator::start(Options::default());
    let (espo, advo) = (emu.espo(), emu.advoware());
    let ids: Vec<String> = ["Albers", "Brandt", "Claßen"]
        .iter()
        .map(|n| espo.insert("Contact", json!({"firstName": "Eva", "lastName": n})))
        .collect();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/webhook/espo");
    let (hook_id, secret) = espo.subscribe("Contact.update", &url);
    let config = format!(
        r#"
[entities.contact]
first_name = "text"
last_name = "text"

[connectors.espo]
kind = "http"
base_url = "{}"
auth = {{ header = "X-Api-Key", value = "espo-api-key" }}
version = "versionNumber"
list = {{ path = "/Contact", records = "/list", params = {{ select = "id,firstName,lastName,versionNumber" }} }}
get = {{ path = "/Contact/{{id}}" }}
create = {{ path = "/Contact" }}
update = {{ method = "PATCH", path = "/Contact/{{id}}" }}
webhook = {{ scheme = "espo", secret = "${{ESPO_WEBHOOK_SECRET}}", webhook_id = "{hook_id}" }}

[connectors.advo]
kind = "http"
base_url = "{}api/v1/advonet"
auth = {{ bearer = "${{ADVOWARE_TOKEN}}" }}
id = "betNr"
version = "rowId"
list = {{ path = "/Beteiligte" }}
get = {{ path = "/Beteiligte/{{id}}", record = "/0" }}
create = {{ path = "/Beteiligte" }}
update = {{ method = "PUT", path = "/Beteiligte/{{id}}", record = "/0" }}
writable = ["name", "vorname"]

[map.espo.contact]
id = "id"
fields = {{ first_name = "firstName", last_name = "lastName" }}

[map.advo.contact]
id = "betNr"
on_delete = "ignore"
fields = {{ first_name = "vorname", last_name = "name" }}

[conflicts.contact]
default = {{ authority = ["espo", "hub"] }}

[jobs.j]
sync = ["espo", "advo"]
"#,
        espo.api_url(),
        advo.base_url()
    );
    let token = advoware_token(&emu);
    let w = Watch::start(
        &config,
        port,
        &[("ESPO_WEBHOOK_SECRET", &secret), ("ADVOWARE_TOKEN", &token)],
    );
    let first = w.report();
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(advo.all().len(), 3);
    let calls = |espo: &einklang_emulator::espo::EspoHandle,
                 advo: &einklang_emulator::advoware::AdvowareHandle| {
        let total = |m: std::collections::BTreeMap<String, u64>| -> u64 {
            m.iter()
                .filter(|(k, _)| k.as_str() != "TOKEN")
                .map(|(_, v)| v)
                .sum()
        };
        total(espo.requests()) + total(advo.requests())
    };
    let before = calls(&espo, &advo);
    espo.update("Contact", &ids[1], json!({"lastName": "Brand-Ohlsen"}));
    let started = std::time::Instant::now();
    let sent = espo.deliver();
    assert_eq!(sent[0].status, 202, "{sent:?}");
    let run = w.report();
    let took = started.elapsed();
    assert_eq!(run["status"], "succeeded", "{run}");
    let advo_row = advo
        .all()
        .into_iter()
        .find(|b| b["name"] == "Brand-Ohlsen")
        .unwrap_or_else(|| panic!("not in Advoware: {:?}", advo.all()));
    assert_eq!(advo_row["vorname"], "Eva");
    assert!(
        took < Duration::from_secs(1),
        "webhook → Advoware took {took:?}"
    );
    let used = calls(&espo, &advo) - before;
    eprintln!("webhook → Advoware: {took:?}, {used} remote call(s)");
    assert!(
        used <= 3,
        "{used} remote calls for one record: espo {:?}, advo {:?}",
        espo.requests(),
        advo.requests()
    );
}
