//! Issue 14's Kommo verification, with `examples/kommo-refresh` against
//! the Kommo emulator (3,000 leads, 250 a page): the hub's leads,
//! bookings, clients and vehicles checked value by value against what the
//! emulator holds; a rerun writes nothing and queues nothing for another
//! connector; 40 % fewer leads is held and `approve` applies it; a fault
//! mid-stream (a 500, a dropped connection, a cut-off page) leaves the hub
//! as it was with the staging kept; two refreshes started together never
//! both apply; SIGKILL at any moment leaves the hub as before or as after.

use einklang_emulator::kommo_leads::pipelines::STATUS_CONFIRMED;
use einklang_emulator::{Emulator, Fault, Options};
use einklang_store::{HubStore, LinkStatus, MergeWrite, NewRun, RunOutcome, RunSource, RunStatus};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const LEADS: u64 = 3_000;
const VEHICLES: u64 = 12;
const SKIPPED: [u64; 3] = [143, 79_790_631, 91_703_923];
const START: u64 = 1218176;
const END: u64 = 1218178;
const VEHICLE: u64 = 1234163;

struct Office {
    emu: Emulator,
    dir: tempfile::TempDir,
    config: PathBuf,
    /// Emulator id → the lead as written.
    leads: BTreeMap<u64, Value>,
}

impl Office {
    fn new() -> Office {
        let emu = Emulator::start(Options {
            api_key: Some("demo-key".into()),
            ..Options::default()
        });
        let enums: Vec<Value> = (1..=VEHICLES)
            .map(|v| json!({"id": 3000 + v, "value": format!("Car {v}")}))
            .collect();
        emu.leads().define_field(
            json!({"id": VEHICLE, "name": "Vehicle", "type": "select", "enums": enums}),
        );
        let dir = tempfile::tempdir().unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/kommo-refresh/einklang.toml");
        let toml = std::fs::read_to_string(example).unwrap();
        let toml = toml
            .replace("http://127.0.0.1:8099", &emu.url)
            .replace("rate_limit = 7", "rate_limit = 1000")
            + r#"
[connectors.export]
kind = "jsonl"
path = "export.jsonl"

[map.export.booking]
id = "id"
fields = { lead = "lead", client = "client", vehicle = "vehicle", price = "price", start_at = "start_at" }

[jobs.export]
push = "export"
"#;
        let config = dir.path().join("einklang.toml");
        std::fs::write(&config, toml).unwrap();
        let mut office = Office {
            emu,
            dir,
            config,
            leads: BTreeMap::new(),
        };
        for i in 1..=LEADS {
            let lead = lead(i);
            let id = office.emu.leads().insert(lead.clone());
            office.leads.insert(id, lead);
        }
        office
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_einklang"));
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("KOMMO_API_KEY", "demo-key")
            .env_remove("EINKLANG_CONFIG");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("einklang runs")
    }

    /// `sync JOB --json`: exit code and report.
    fn sync(&self, job: &str) -> (Option<i32>, Value) {
        let out = self.run(&["sync", job, "--json"]);
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("a JSON report: {}", text(&out)));
        (out.status.code(), report)
    }

    fn store(&self) -> Box<dyn HubStore> {
        einklang_store::open(self.dir.path().join("einklang.db").to_str().unwrap()).unwrap()
    }

    fn change(&mut self, id: u64, fields: Value) {
        self.emu.leads().update(id, fields.clone());
        let lead = self.leads.get_mut(&id).unwrap();
        for (k, v) in fields.as_object().unwrap() {
            if k != "custom_fields_values" {
                lead[k] = v.clone();
                continue;
            }
            // as Kommo: a custom field named replaces that field only
            let list = lead[k].as_array_mut().unwrap();
            for new in v.as_array().unwrap() {
                list.retain(|f| f["field_id"] != new["field_id"]);
                list.push(new.clone());
            }
        }
    }

    fn remove(&mut self, id: u64) {
        self.emu.leads().delete(id);
        self.leads.remove(&id);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The `i`-th lead: every status of the pipeline, some created in 2024
/// (outside the refresh), some without a delivery time (the collection
/// time stands in), without a vehicle, without contacts, with two.
fn lead(i: u64) -> Value {
    let statuses = [
        70_000_011,
        79_790_631,
        91_703_923,
        STATUS_CONFIRMED,
        142,
        143,
    ];
    let year_2025 = 1_735_689_600;
    let created = if i.is_multiple_of(97) {
        year_2025 - 86_400 * 30
    } else {
        year_2025 + i * 9_000
    };
    let mut fields = Vec::new();
    if !i.is_multiple_of(11) {
        fields.push(json!({"field_id": START, "values": [{"value": created + 86_400}]}));
    }
    if !i.is_multiple_of(13) {
        fields.push(json!({"field_id": END, "values": [{"value": created + 4 * 86_400}]}));
    }
    if !i.is_multiple_of(17) {
        fields
            .push(json!({"field_id": VEHICLE, "values": [{"enum_id": 3001 + (i / 6) % VEHICLES}]}));
    }
    let contacts = match i % 19 {
        0 => json!([]),
        1 => {
            json!([{"id": 60_000 + i % 700, "is_main": false}, {"id": 70_000 + i % 50, "is_main": true}])
        }
        _ => json!([{"id": 60_000 + i % 700, "is_main": true}]),
    };
    json!({"name": format!("Booking {i}"), "price": 100 + i % 900,
           "status_id": statuses[(i % 6) as usize], "pipeline_id": 7000001,
           "created_at": created, "updated_at": created,
           "custom_fields_values": fields, "_embedded": {"contacts": contacts}})
}

fn custom(lead: &Value, field: u64, key: &str) -> Option<Value> {
    let fields = lead["custom_fields_values"].as_array()?;
    let f = fields.iter().find(|f| f["field_id"] == field)?;
    Some(f["values"][0][key].clone())
}

fn rfc3339(epoch: &Value) -> Value {
    let at = chrono::DateTime::from_timestamp(epoch.as_i64().unwrap(), 0).unwrap();
    json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The hub id of the `entity` record linked to Kommo id `id`.
fn hub_id(s: &mut dyn HubStore, entity: &str, id: &str) -> Option<i64> {
    let found = s.find_links("default", "kommo", entity, &[id]).unwrap();
    let link = found.into_iter().next().flatten();
    link.filter(|l| l.status != LinkStatus::DeletedRemote)
        .map(|l| l.record_id)
}

fn values(s: &mut dyn HubStore, entity: &str, id: i64) -> Value {
    let r = s.record("default", entity, id).unwrap().unwrap();
    assert!(r.deleted_at.is_none(), "{entity} {id} is deleted");
    serde_json::to_value(r.values).unwrap()
}

/// Every lead of 2025 the emulator holds is in the hub as a lead, and as
/// a booking unless its status keeps it a lead only; every ref names the
/// hub record linked to the id Kommo gives. Returns the booking count.
fn check_hub(o: &Office) -> usize {
    let mut s = o.store();
    let s = s.as_mut();
    let (mut bookings, mut vehicles, mut clients) = (0, BTreeSet::new(), BTreeSet::new());
    for (id, lead) in &o.leads {
        let key = id.to_string();
        let in_2025 = lead["created_at"].as_i64().unwrap() >= 1_735_689_600;
        let Some(lead_id) = hub_id(s, "lead", &key) else {
            assert!(!in_2025, "lead {id} of 2025 is missing");
            continue;
        };
        assert!(in_2025, "lead {id} is not of 2025");
        // every lead of 2025 names its vehicle, booking or not
        if let Some(e) = custom(lead, VEHICLE, "enum_id") {
            vehicles.insert(hub_id(s, "vehicle", &e.to_string()).expect("the vehicle"));
        }
        let l = values(s, "lead", lead_id);
        assert_eq!(
            (&l["name"], &l["status_id"], &l["price"], &l["created_at"]),
            (
                &lead["name"],
                &lead["status_id"],
                &lead["price"],
                &rfc3339(&lead["created_at"])
            ),
            "lead {id}"
        );
        let booking = hub_id(s, "booking", &key);
        if SKIPPED.contains(&lead["status_id"].as_u64().unwrap()) {
            assert_eq!(booking, None, "lead {id} stays a lead only");
            continue;
        }
        bookings += 1;
        let b = values(s, "booking", booking.expect("a booking"));
        assert_eq!(b["lead"], json!(lead_id.to_string()), "booking {id}");
        assert_eq!(b["price"], lead["price"]);
        let start = custom(lead, START, "value").or_else(|| custom(lead, END, "value"));
        assert_eq!(
            b.get("start_at").cloned(),
            start.as_ref().map(rfc3339),
            "booking {id}"
        );
        assert_eq!(
            b.get("end_at").cloned(),
            custom(lead, END, "value").as_ref().map(rfc3339)
        );
        match custom(lead, VEHICLE, "enum_id") {
            Some(e) => {
                let v = hub_id(s, "vehicle", &e.to_string()).expect("the vehicle");
                assert_eq!(b["vehicle"], json!(v.to_string()), "booking {id}");
                let car = format!("Car {}", e.as_u64().unwrap() - 3000);
                assert_eq!(values(s, "vehicle", v)["name"], json!(car));
            }
            None => assert_eq!(b.get("vehicle"), None),
        }
        let contacts = lead["_embedded"]["contacts"].as_array().unwrap();
        match contacts.iter().find(|c| c["is_main"] == true) {
            Some(c) => {
                let client = hub_id(s, "client", &c["id"].to_string()).expect("the client");
                assert_eq!(b["client"], json!(client.to_string()), "booking {id}");
                clients.insert(client);
            }
            None => assert_eq!(b.get("client"), None, "booking {id}"),
        }
    }
    // bookings Kommo no longer has stay in the hub while `export` links
    // them (a record another system holds is not deleted), unlinked from Kommo
    let mut linked = 0;
    s.scan_links("default", "kommo", "booking", &mut |l| {
        linked += u64::from(l.status != LinkStatus::DeletedRemote);
    })
    .unwrap();
    assert_eq!(linked, bookings as u64);
    assert_eq!(
        s.count_records("default", "vehicle").unwrap(),
        vehicles.len() as u64
    );
    // clients are made by bookings naming them and are not in the
    // refresh's entities: one whose bookings went stays (as a CRM contact)
    let made = s.count_records("default", "client").unwrap();
    assert!(made >= clients.len() as u64, "{made} < {}", clients.len());
    bookings
}

/// What a run must not change: every record and the history.
fn picture(o: &Office) -> (Vec<Value>, i64) {
    let mut s = o.store();
    let mut out = Vec::new();
    for entity in ["lead", "booking", "vehicle", "client"] {
        let mut after = 0;
        loop {
            let page = s.live_records("default", entity, after, 1_000).unwrap();
            let Some(last) = page.last() else { break };
            after = last.0;
            out.extend(page.into_iter().map(|(id, v)| json!([entity, id, v])));
        }
    }
    (out, s.last_history_id("default").unwrap())
}

fn counter(report: &Value, k: &str) -> u64 {
    report["counters"][k].as_u64().unwrap_or(0)
}

#[test]
fn a_kommo_refresh_of_3000_leads_is_exact_idempotent_guarded_and_all_or_nothing() {
    let mut o = Office::new();
    let (code, first) = o.sync("refresh-bookings");
    assert_eq!(code, Some(0), "{first:#}");
    let bookings = check_hub(&o);
    assert!(bookings > 1_000, "{bookings}");
    let (code, export) = o.sync("export");
    assert_eq!(code, Some(0), "{export:#}");
    assert_eq!(counter(&export, "pushed_create"), bookings as u64);

    // a rerun of the same snapshot: nothing written, nothing for `export`
    let before = picture(&o);
    let (code, again) = o.sync("refresh-bookings");
    assert_eq!(code, Some(0), "{again:#}");
    for k in ["created", "updated", "deleted"] {
        assert_eq!(counter(&again, k), 0, "{k}: {again:#}");
    }
    assert_eq!(picture(&o), before);
    let (_, export) = o.sync("export");
    assert_eq!(
        counter(&export, "pushed_update") + counter(&export, "pushed_create"),
        0
    );

    // changes at the source arrive; the export takes exactly those
    let ids: Vec<u64> = o.leads.keys().copied().collect();
    o.change(ids[1], json!({"price": 4242}));
    o.change(
        ids[2],
        json!({"custom_fields_values": [{"field_id": VEHICLE, "values": [{"enum_id": 3005}]}]}),
    );
    let (code, changed) = o.sync("refresh-bookings");
    assert_eq!(code, Some(0), "{changed:#}");
    check_hub(&o);

    show_follows_refs_through_a_merge(&o);
    faults_leave_the_hub_as_it_was(&o);
    a_drop_is_held_and_approved(&mut o);
    two_refreshes_never_both_apply(&mut o);
    a_kill_leaves_the_hub_before_or_after(&mut o);
}

/// `show` lists a booking's refs with the record each leads to; after
/// its client is merged into another, the ref leads to the survivor.
fn show_follows_refs_through_a_merge(o: &Office) {
    let mut s = o.store();
    let (id, lead) = (o.leads.iter())
        .find(|(_, l)| {
            l["status_id"] == STATUS_CONFIRMED && custom(l, VEHICLE, "enum_id").is_some()
        })
        .expect("a confirmed lead with a vehicle");
    let booking = hub_id(s.as_mut(), "booking", &id.to_string()).unwrap();
    let shown = o.run(&["show", "booking", &booking.to_string(), "--json"]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let refs = shown["refs"].as_array().unwrap();
    let of = |field: &str| refs.iter().find(|r| r["field"] == field).unwrap().clone();
    let car = custom(lead, VEHICLE, "enum_id").unwrap().as_u64().unwrap() - 3000;
    assert_eq!(of("vehicle")["label"], json!(format!("Car {car}")));
    assert_eq!(of("lead")["label"], lead["name"]);
    let client = of("client");
    let contacts = lead["_embedded"]["contacts"].as_array().unwrap();
    let main = &contacts.iter().find(|c| c["is_main"] == true).unwrap()["id"];
    assert_eq!(client["label"], json!(format!("kommo {main}")), "{client}");
    // merge the booking's client into another
    let merged = client["id"].as_i64().unwrap();
    let other = (1..)
        .map(|n| 60_000 + n)
        .find_map(|c| hub_id(s.as_mut(), "client", &c.to_string()).filter(|h| *h != merged))
        .unwrap();
    let version = |s: &mut dyn HubStore, id| {
        s.load_records("default", &[id]).unwrap()[0]
            .as_ref()
            .unwrap()
            .version
    };
    let versions = (version(s.as_mut(), other), version(s.as_mut(), merged));
    let run = s
        .start_run(
            "default",
            &NewRun {
                job: "merge".into(),
                source: RunSource::Manual,
                triggered_by: "test".into(),
            },
        )
        .unwrap();
    let merge = MergeWrite {
        entity: "client".into(),
        survivor: other,
        merged,
        expect_versions: versions,
        values: Default::default(),
        probability: 1.0,
        reason: "review".into(),
    };
    s.merge("default", run, &merge).unwrap();
    let done = RunOutcome {
        status: RunStatus::Succeeded,
        counters: Default::default(),
        errors: Vec::new(),
    };
    s.finish_run("default", run, &done).unwrap();
    let out = o.run(&["show", "booking", &booking.to_string()]);
    let said = text(&out);
    assert!(
        said.contains(&format!("client {merged}"))
            && said.contains(&format!("client {other} (merged)")),
        "{said}"
    );
}

/// A 500, a dropped connection and a cut-off page on the fifth page: the
/// run fails naming the fault, the hub is as it was, the staging kept.
fn faults_leave_the_hub_as_it_was(o: &Office) {
    let before = picture(o);
    let faults = [Fault::Status(500), Fault::Drop, Fault::Truncated];
    for fault in faults {
        // the fifth request fails, and its retries (a GET is tried again)
        let mut queue = vec![Fault::Pass; 4];
        queue.extend(std::iter::repeat_n(fault.clone(), 3));
        o.emu.fail_next(&queue);
        let (code, report) = o.sync("refresh-bookings");
        o.emu.clear_faults();
        assert_eq!(code, Some(1), "{fault:?}: {report:#}");
        assert_eq!(report["status"], "failed", "{fault:?}");
        assert_eq!(picture(o), before, "{fault:?}: the hub as before");
        let run = report["run_id"].as_i64().unwrap().to_string();
        let staged = o.run(&["staging", &run, "--json"]);
        let staged: Value = serde_json::from_slice(&staged.stdout).unwrap();
        assert!(
            staged.to_string().contains("\"lead\""),
            "{fault:?}: the pages before the fault stay staged: {staged}"
        );
    }
}

/// 40 % fewer leads: held (exit 4) with nothing applied; approved: applied.
fn a_drop_is_held_and_approved(o: &mut Office) {
    let before = picture(o);
    let ids: Vec<u64> = o.leads.keys().copied().collect();
    let mut removed = Vec::new();
    for id in ids.iter().take(ids.len() * 2 / 5) {
        removed.push((*id, o.leads[id].clone()));
        o.remove(*id);
    }
    let (code, held) = o.sync("refresh-bookings");
    assert_eq!(code, Some(4), "{held:#}");
    assert_eq!(held["status"], "needs_review");
    assert_eq!(picture(o), before, "nothing applied");
    let run = held["run_id"].as_i64().unwrap().to_string();
    // the audit before approving: every record it would delete, as it is
    let audit = o.run(&["plan", "refresh-bookings", "--approve", &run, "--jsonl"]);
    assert!(audit.status.success(), "{}", text(&audit));
    let planned: Vec<Value> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let deletes: BTreeMap<String, &Value> = (planned.iter())
        .filter(|p| p["action"] == "delete")
        .map(|p| (p["id"].as_str().unwrap().to_string(), p))
        .collect();
    let gone_2025: Vec<&(u64, Value)> = (removed.iter())
        .filter(|(_, l)| l["created_at"].as_i64().unwrap() >= 1_735_689_600)
        .collect();
    assert_eq!(deletes.len(), gone_2025.len(), "one delete per lead gone");
    for (id, lead) in gone_2025 {
        let item = deletes[&id.to_string()];
        let fields = item["fields"].as_array().unwrap();
        let name = fields.iter().find(|f| f["field"] == "name").unwrap();
        assert_eq!((&name["old"], &name["new"]), (&lead["name"], &Value::Null));
    }
    assert_eq!(picture(o), before, "a plan writes nothing");
    let out = o.run(&["approve", &run]);
    assert!(out.status.success(), "{}", text(&out));
    check_hub(o);
}

/// Two refreshes started together: one applies, the other is refused
/// (or finds nothing left to do) — never two applying the same change.
fn two_refreshes_never_both_apply(o: &mut Office) {
    let ids: Vec<u64> = o.leads.keys().copied().collect();
    for id in ids.iter().take(300) {
        let price = o.leads[id]["price"].as_u64().unwrap() + 1;
        o.change(*id, json!({"price": price}));
    }
    let history = picture(o).1;
    let start = || {
        (o.command(&["sync", "refresh-bookings", "--json"]))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let reports: Vec<(Option<i32>, Value)> = [a, b]
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            (
                out.status.code(),
                serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
            )
        })
        .collect();
    let updated: u64 = reports.iter().map(|(_, r)| counter(r, "updated")).sum();
    // 300 leads changed price: each its lead and (when one) its booking
    let bookings = (ids.iter().take(300))
        .filter(|id| !SKIPPED.contains(&o.leads[*id]["status_id"].as_u64().unwrap()))
        .filter(|id| o.leads[*id]["created_at"].as_i64().unwrap() >= 1_735_689_600)
        .count() as u64;
    let leads = (ids.iter().take(300))
        .filter(|id| o.leads[*id]["created_at"].as_i64().unwrap() >= 1_735_689_600)
        .count() as u64;
    assert_eq!(updated, leads + bookings, "{reports:#?}");
    assert!(reports.iter().any(|(c, _)| *c == Some(0)), "{reports:#?}");
    check_hub(o);
    let mut s = o.store();
    let entries = s.history_after("default", history, 100_000).unwrap();
    assert_eq!(
        entries.len() as u64,
        leads + bookings,
        "one history entry per change"
    );
}

/// SIGKILL at moments through a refresh of changed prices: after each,
/// every changed lead's price in the hub is all old or all new.
fn a_kill_leaves_the_hub_before_or_after(o: &mut Office) {
    let ids: Vec<u64> = o.leads.keys().copied().collect();
    let old: BTreeMap<u64, Value> = ids
        .iter()
        .map(|id| (*id, o.leads[id]["price"].clone()))
        .collect();
    for id in &ids {
        o.change(*id, json!({"price": 7}));
    }
    let prices = |o: &Office| -> BTreeSet<String> {
        let mut s = o.store();
        let mut seen = BTreeSet::new();
        for id in &ids {
            if let Some(h) = hub_id(s.as_mut(), "lead", &id.to_string()) {
                let p = values(s.as_mut(), "lead", h)["price"].clone();
                seen.insert(if p == json!(7) {
                    "new".to_string()
                } else {
                    assert_eq!(p, old[id], "lead {id}: neither old nor new");
                    "old".to_string()
                });
            }
        }
        seen
    };
    let (mut delay_ms, mut kills) = (0, 0);
    loop {
        let mut child = o
            .command(&["sync", "refresh-bookings", "--wait"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL
        }
        child.wait().unwrap();
        let seen = prices(o);
        assert_eq!(seen.len(), 1, "after a kill at {delay_ms} ms: {seen:?}");
        if seen.contains("new") {
            eprintln!("the refresh applied after {kills} kills (the last at {delay_ms} ms)");
            break;
        }
        kills += 1;
        delay_ms += 20;
        assert!(delay_ms < 60_000, "the refresh never applied");
    }
    check_hub(o);
}

/// A pull whose listing breaks off on its second page (after the
/// connector's retries) applies the first page and fails the step; a full
/// read that breaks off decides no deletes; the next pulls read on.
#[test]
fn a_pull_whose_listing_breaks_off_applies_what_came_before_and_deletes_nothing() {
    let emu = Emulator::start(Options {
        api_key: Some("demo-key".into()),
        ..Options::default()
    });
    let enums: Vec<Value> = (1..=VEHICLES)
        .map(|v| json!({"id": 3000 + v, "value": format!("Car {v}")}))
        .collect();
    emu.leads()
        .define_field(json!({"id": VEHICLE, "name": "Vehicle", "type": "select", "enums": enums}));
    for i in 1..=600 {
        let mut l = lead(i);
        l["status_id"] = json!(STATUS_CONFIRMED);
        l["created_at"] = json!(1_735_689_600 + i * 9_000);
        emu.leads().insert(l);
    }
    let dir = tempfile::tempdir().unwrap();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/kommo-leads/einklang.toml");
    let toml = std::fs::read_to_string(example)
        .unwrap()
        .replace("http://127.0.0.1:8099", &emu.url)
        .replace("rate_limit = 7", "rate_limit = 1000");
    let config = dir.path().join("einklang.toml");
    std::fs::write(&config, toml).unwrap();
    let sync = |full: bool| {
        let mut args = vec!["sync", "kommo-bookings", "--json"];
        if full {
            args.push("--full");
        }
        Command::new(env!("CARGO_BIN_EXE_einklang"))
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env("KOMMO_API_KEY", "demo-key")
            .env_remove("EINKLANG_CONFIG")
            .output()
            .unwrap()
    };
    let count = || {
        let mut s = einklang_store::open(dir.path().join("einklang.db").to_str().unwrap()).unwrap();
        s.count_records("default", "booking").unwrap()
    };
    // the change feed's first look (`updated_at` from now), the first
    // page, then the second page fails with its retries
    let mut queue = vec![Fault::Pass, Fault::Pass];
    queue.extend(std::iter::repeat_n(Fault::Status(500), 3));
    emu.fail_next(&queue);
    let out = sync(false);
    emu.clear_faults();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "failed", "{report:#}");
    let error = report["steps"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("broke off") && error.contains("500"),
        "{error}"
    );
    assert_eq!(count(), 250, "the first page is applied");
    let out = sync(false);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(count(), 600, "the next pull reads on");

    // ten leads gone; a full read that breaks off on its second page
    // deletes none of them (it did not see the whole listing)
    let ids: Vec<u64> = (emu.leads().all().iter())
        .map(|l| l["id"].as_u64().unwrap())
        .collect();
    for id in ids.iter().rev().take(10) {
        emu.leads().delete(*id);
    }
    let mut queue = vec![Fault::Pass];
    queue.extend(std::iter::repeat_n(Fault::Status(500), 3));
    emu.fail_next(&queue);
    let out = sync(true);
    emu.clear_faults();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "failed", "{report:#}");
    assert_eq!(count(), 600, "no delete decided on a broken read");
    let out = sync(true);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(count(), 590, "a whole read decides them");
}
