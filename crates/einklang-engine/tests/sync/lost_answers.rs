//! A create whose answer is lost after the server applied it is never made
//! twice, on every connector kind (issue 9, item 4), end to end against
//! the real servers: a fault proxy (`einklang_testkit::proxy`) forwards
//! the create, lets the server apply it and drops the answer. The next run
//! links the record the create made — found by its client id, its marker
//! (field, column, item name), the mapping's `find` fields, or held
//! `unknown` until a read claims it — and every test ends with each person
//! once in the hub and once on each side (counted on the server itself),
//! every link clean, the outbox empty, and a sync that writes nothing.
//!
//! - `http` (the REST emulator): with `marker_field`, with `find`, and
//!   with neither (held, claimed); a create that failed without landing
//!   (a 503, a reset before forwarding) is sent again after a complete
//!   read. Client ids (a create `path` with `{id}`) are not covered here:
//!   the emulator has no PUT-create (its ids are numbers it assigns).
//! - `graphql` (the emulator's GraphQL API), with and without a marker.
//! - `carddav` and `caldav` on Radicale: the item name comes from the
//!   marker, so recovery finds it; a re-sent `PUT` (`If-None-Match: *`) is
//!   answered 412 and recognised as ours.
//! - `postgres_table` through the proxy in PostgreSQL mode (the answer to
//!   the `COMMIT` of a write batch dropped): client ids, server ids with a
//!   marker column, and server ids without one.
//! - The file kinds take client ids and have no answer to lose: a crash
//!   right after the remote write stands in for it.

use crate::carddav::{dav_base, Other};
use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_emulator::{Emulator, Options};
use einklang_engine::{CrashAt, CrashPoint};
use einklang_store::{LinkStatus, RunStatus};
use einklang_testkit::proxy::{FaultProxy, Mode, Rule};
use einklang_testkit::PgDb;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// People in the office list of each test.
const PEOPLE: usize = 4;
/// Of their creates, how many lose their answer.
const LOST: u32 = 2;

/// A contact with one e-mail (the REST and GraphQL APIs, the table).
const ONE_EMAIL: &str = "name = \"text\"\nemail = \"email\"";
/// A contact with a list of e-mails (vCard, CardDAV).
const EMAILS: &str = "name = \"text\"\nemails = \"emails\"";

/// `n` people in the memory remote `office` (raw fields as the hub's
/// `entity` fields: `name` and `email`, or `name` and `emails`).
fn office_people(hub: &Hub, entity: &str, n: usize) {
    for i in 0..n {
        let (name, email) = (format!("Person {i}"), format!("p{i}@example.org"));
        let person = match entity == EMAILS {
            true => json!({"name": name, "emails": [email]}),
            false => json!({"name": name, "email": email}),
        };
        hub.remote("office").insert(raw(person));
    }
}

/// A two-way job `sync` between the memory remote `office` (raw names
/// the hub's) and a connector `crm`: the contact `entity`'s fields, the
/// crm's settings and the lines of its mapping (`id`, `fields`, `find`).
fn office_and(entity: &str, crm: &str, crm_map: &str) -> String {
    let office_fields: Vec<String> = entity
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(f, _)| format!("{f} = \"{f}\""))
        .collect();
    format!(
        r#"
[entities.contact]
{entity}

[connectors.office]
kind = "jsonl"
path = "memory-office.jsonl"

[connectors.crm]
{crm}

[map.office.contact]
id = "id"
fields = {{ {} }}

[map.crm.contact]
{crm_map}

[jobs.sync]
sync = ["office", "crm"]

[conflicts.contact]
default = {{ authority = "crm" }}
"#,
        office_fields.join(", ")
    )
}

/// The crm mapping of the REST and GraphQL APIs and the table, with
/// `find` lines (or `""`).
fn same_names(find: &str) -> String {
    format!("id = \"id\"\n{find}\nfields = {{ name = \"name\", email = \"email\" }}")
}

/// The end of every test: `n` live hub records of `entity`, each linked
/// once to every side in `sides` with a clean link, no external id twice,
/// nothing left in any side's outbox (no create held), `remote` (the
/// server's own count) `n`; then one more sync writes nothing.
fn whole(hub: &mut Hub, job: &str, entity: &str, sides: &[&str], n: usize, remote: usize) {
    let records = hub.records_of(entity);
    assert_eq!(records.len(), n, "hub records: {records:#?}");
    let mut ids = std::collections::BTreeSet::new();
    for r in &records {
        for side in sides {
            let link = r
                .link_to(side)
                .unwrap_or_else(|| panic!("record {} has no link to {side}: {r:#?}", r.id));
            assert_eq!(link.status, LinkStatus::Clean, "{side}: {link:#?}");
            assert!(
                ids.insert((side.to_string(), link.external_id.clone())),
                "{side}: {} linked twice",
                link.external_id
            );
        }
    }
    for side in sides {
        let left = hub.store.outbox("default", side, entity).unwrap();
        assert!(left.is_empty(), "{side}: outbox not empty: {left:#?}");
    }
    assert_eq!(remote, n, "records on the server");
    assert_quiet(&hub.sync(job));
}

// --- http and graphql: the emulator behind the proxy --------------------

const KEY: &str = "key-lost-1";

/// The emulator and a fault proxy in front of it.
fn emulator() -> (Emulator, FaultProxy) {
    let emu = Emulator::start(Options {
        api_key: Some(KEY.into()),
        ..Options::default()
    });
    let proxy = FaultProxy::start(Mode::Http, &emu.url).unwrap();
    (emu, proxy)
}

/// The Kommo-style REST API at `url`, with `extra` settings.
fn kommo(url: &str, extra: &str) -> String {
    format!(
        r#"kind = "http"
base_url = "{url}"
auth = {{ header = "X-Api-Key", value = "{KEY}" }}
version = "version"
list = {{ path = "/api/v4/contacts", paginate = "next_link", next = "/_links/next/href", params = {{ limit = 2 }}, records = "/_embedded/contacts" }}
changes = {{ params = {{ limit = 250, "filter[updated_at][from]" = "{{since}}" }}, format = "epoch", overlap_s = 1 }}
deletes = {{ path = "/api/v4/events", params = {{ "filter[type]" = "contact_deleted", "filter[created_at][from]" = "{{since}}" }}, records = "/_embedded/events", id = "entity_id" }}
get = {{ path = "/api/v4/contacts/{{id}}", missing = [204, 404] }}
create = {{ path = "/api/v4/contacts", body = ["{{record}}"], record = "/_embedded/contacts/0" }}
update = {{ path = "/api/v4/contacts/{{id}}" }}
delete = {{ path = "/api/v4/contacts/{{id}}" }}
conditional = "If-Match"
retry = {{ attempts = 3, base_ms = 1 }}
{extra}"#
    )
}

const CREATE: &str = "/api/v4/contacts";

/// A REST hub whose first `LOST` creates lose their answer: after the
/// first run every create landed, `LOST` of them unanswered.
fn rest_with_lost_answers(extra: &str, find: &str) -> (Emulator, FaultProxy, Hub) {
    let (emu, proxy) = emulator();
    let config = office_and(ONE_EMAIL, &kommo(&proxy.url(), extra), &same_names(find));
    let mut hub = Hub::new(&config, &[("office", MemoryOptions::default())]);
    office_people(&hub, ONE_EMAIL, PEOPLE);
    let rule = proxy.add(Rule::drop_answer().method("POST").path(CREATE).times(LOST));
    let r = hub.sync("sync");
    assert_eq!(proxy.hits(rule), LOST, "{:?}", proxy.counters());
    assert_eq!(count(&r, "push_failed"), LOST as u64, "{:#?}", r.counters);
    assert_eq!(emu.all().len(), PEOPLE, "every create landed");
    hub.later(120);
    (emu, proxy, hub)
}

#[test]
fn a_lost_http_create_answer_is_found_by_its_marker_field() {
    let (emu, _proxy, mut hub) = rest_with_lost_answers("marker_field = \"einklang_marker\"", "");
    let r = hub.sync("sync");
    assert_eq!(count(&r, "recovered"), LOST as u64, "{:#?}", r.counters);
    assert_eq!(emu.count("POST"), PEOPLE as u64, "no create sent again");
    let markers: Vec<_> = emu
        .all()
        .into_iter()
        .map(|c| c["einklang_marker"].clone())
        .collect();
    assert!(
        markers
            .iter()
            .all(|m| m.as_str().is_some_and(|m| m.starts_with("ek-"))),
        "{markers:?}"
    );
    let n = emu.all().len();
    whole(&mut hub, "sync", "contact", &["office", "crm"], PEOPLE, n);
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

#[test]
fn a_lost_http_create_answer_is_claimed_by_the_find_fields_though_edited_there() {
    let (emu, _proxy, mut hub) = rest_with_lost_answers("", "find = [\"email\"]");
    // someone at the CRM renames one of the unanswered creates meanwhile
    let failed: Vec<String> = hub
        .records()
        .iter()
        .filter(|r| {
            r.link_to("crm")
                .is_some_and(|l| l.status == LinkStatus::Failed)
        })
        .map(|r| r.values["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failed.len(), LOST as usize, "{failed:?}");
    let edited = emu
        .all()
        .into_iter()
        .find(|c| c["email"] == json!(failed[0]))
        .unwrap();
    emu.update(
        edited["id"].as_u64().unwrap(),
        json!({"name": "Renamed There"}),
    );
    let r = hub.sync("sync");
    assert_eq!(count(&r, "claimed"), LOST as u64, "{:#?}", r.counters);
    assert_eq!(emu.count("POST"), PEOPLE as u64, "no create sent again");
    // the name edited in the CRM reaches the office list
    let r = hub.sync("sync");
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.errors);
    hub.find("office", "name", "Renamed There");
    let n = emu.all().len();
    whole(&mut hub, "sync", "contact", &["office", "crm"], PEOPLE, n);
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

/// Defect (issue 9): the probe's shape — no marker, no `find`: 325
/// records for 320 people.
#[test]
fn a_lost_http_create_answer_without_marker_or_find_is_held_and_claimed() {
    let (emu, _proxy, mut hub) = rest_with_lost_answers("", "");
    let r = hub.sync("sync");
    assert_eq!(
        (count(&r, "claimed"), count(&r, "created")),
        (LOST as u64, 0),
        "{:#?}",
        r.counters
    );
    assert_eq!(emu.count("POST"), PEOPLE as u64, "no create sent again");
    let n = emu.all().len();
    whole(&mut hub, "sync", "contact", &["office", "crm"], PEOPLE, n);
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

/// A create that failed before the server applied it (`fault`), without
/// marker or `find`: held while it cannot be told, sent again once a
/// complete read shows it is not there.
fn an_http_create_that_did_not_land_is_sent_again(fault: Rule) {
    let (emu, proxy) = emulator();
    let config = office_and(ONE_EMAIL, &kommo(&proxy.url(), ""), &same_names(""));
    let mut hub = Hub::new(&config, &[("office", MemoryOptions::default())]);
    office_people(&hub, ONE_EMAIL, PEOPLE);
    let rule = proxy.add(fault.method("POST").path(CREATE).once());
    let r = hub.sync("sync");
    assert_eq!(proxy.hits(rule), 1);
    assert_eq!(count(&r, "push_failed"), 1, "{:#?}", r.counters);
    assert_eq!(emu.all().len(), PEOPLE - 1, "one create did not land");
    hub.later(120);
    let r = hub.sync("sync");
    assert_eq!(
        (count(&r, "released"), count(&r, "pushed_create")),
        (1, 1),
        "{:#?} {:?}",
        r.counters,
        r.errors
    );
    let n = emu.all().len();
    whole(&mut hub, "sync", "contact", &["office", "crm"], PEOPLE, n);
}

#[test]
fn an_http_create_answered_503_is_sent_again_after_a_complete_read() {
    an_http_create_that_did_not_land_is_sent_again(Rule::inject(503));
}

#[test]
fn an_http_create_reset_before_it_reached_the_server_is_sent_again_after_a_complete_read() {
    an_http_create_that_did_not_land_is_sent_again(Rule::reset());
}

/// The emulator's GraphQL API at `url`, with `extra` settings and the
/// list selecting `fields`.
fn hero(url: &str, extra: &str) -> String {
    let fields = "id name email version einklang_marker";
    format!(
        r#"kind = "graphql"
url = "{url}/graphql"
auth = {{ header = "X-Api-Key", value = "{KEY}" }}
version = "version"
list = {{ query = "query($after: ID){{ contacts(first: 50, after: $after){{ nodes{{ {fields} }} pageInfo{{ endCursor hasNextPage }} }} }}", records = "/data/contacts/nodes", paginate = "cursor", next = "/data/contacts/pageInfo/endCursor", has_more = "/data/contacts/pageInfo/hasNextPage" }}
get = {{ query = "query($id: ID!){{ contact(id: $id){{ {fields} }} }}", variables = {{ id = "{{id}}" }}, record = "/data/contact" }}
create = {{ query = "mutation($input: ContactInput!){{ createContact(input: $input){{ id version }} }}", variables = {{ input = "{{record}}" }}, record = "/data/createContact" }}
update = {{ query = "mutation($id: ID!, $input: ContactInput!){{ updateContact(id: $id, input: $input){{ id version }} }}", variables = {{ id = "{{id}}", input = "{{record}}" }}, record = "/data/updateContact" }}
delete = {{ query = "mutation($id: ID!){{ deleteContact(id: $id){{ id }} }}", variables = {{ id = "{{id}}" }}, record = "/data/deleteContact" }}
retry = {{ attempts = 3, base_ms = 1 }}
{extra}"#
    )
}

/// A GraphQL hub whose first `LOST` create mutations lose their answer.
/// Every request is a POST to `/graphql`: the first run's one listing
/// query passes (a zero delay uses it up), the mutations after it lose
/// their answers.
fn graphql_with_lost_answers(extra: &str) -> (Emulator, FaultProxy, Hub) {
    let (emu, proxy) = emulator();
    let config = office_and(ONE_EMAIL, &hero(&proxy.url(), extra), &same_names(""));
    let mut hub = Hub::new(&config, &[("office", MemoryOptions::default())]);
    office_people(&hub, ONE_EMAIL, PEOPLE);
    let listing = proxy.add(
        Rule::delay(Duration::ZERO)
            .method("POST")
            .path("/graphql")
            .once(),
    );
    let lost = proxy.add(
        Rule::drop_answer()
            .method("POST")
            .path("/graphql")
            .times(LOST),
    );
    let r = hub.sync("sync");
    assert_eq!((proxy.hits(listing), proxy.hits(lost)), (1, LOST));
    assert_eq!(count(&r, "push_failed"), LOST as u64, "{:#?}", r.counters);
    assert_eq!(emu.all().len(), PEOPLE, "every create landed");
    hub.later(120);
    (emu, proxy, hub)
}

#[test]
fn a_lost_graphql_create_answer_is_found_by_its_marker_field() {
    let (emu, _proxy, mut hub) = graphql_with_lost_answers("marker_field = \"einklang_marker\"");
    let r = hub.sync("sync");
    assert_eq!(count(&r, "recovered"), LOST as u64, "{:#?}", r.counters);
    assert_eq!(count(&r, "pushed_create"), 0, "{:#?}", r.counters);
    let n = emu.all().len();
    whole(&mut hub, "sync", "contact", &["office", "crm"], PEOPLE, n);
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

#[test]
fn a_lost_graphql_create_answer_without_marker_is_held_and_claimed() {
    let (emu, _proxy, mut hub) = graphql_with_lost_answers("");
    let r = hub.sync("sync");
    assert_eq!(
        (count(&r, "claimed"), count(&r, "pushed_create")),
        (LOST as u64, 0),
        "{:#?}",
        r.counters
    );
    let n = emu.all().len();
    whole(&mut hub, "sync", "contact", &["office", "crm"], PEOPLE, n);
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

// --- carddav and caldav on Radicale ----------------------------------------

/// A fresh collection on Radicale (made directly, not through the
/// proxy), deleted with the test.
struct Collection {
    url: String,
    other: Other,
}

impl Drop for Collection {
    fn drop(&mut self) {
        self.other.send("DELETE", "", "");
    }
}

/// A fresh collection of `kind` and a proxy in front of Radicale.
fn dav_collection(tag: &str, kind: &str, media: &'static str) -> Option<(Collection, FaultProxy)> {
    let url = format!("{}{tag}-{}/", dav_base()?, std::process::id());
    let other = Other::with_media(&url, media);
    other.send("DELETE", "", "");
    let s = json!({"url": url, "username": "alice", "password": "alicepw"});
    let settings = s.as_object().unwrap().clone().into_iter().collect();
    einklang_connectors::open("c", kind, &settings, Path::new("."))
        .unwrap()
        .install()
        .unwrap();
    let proxy = FaultProxy::start(Mode::Http, &url).unwrap();
    Some((Collection { url, other }, proxy))
}

/// `url` as reached through `proxy`.
fn via(proxy: &FaultProxy, url: &str) -> String {
    let path = &url[url.find("/alice/").unwrap()..];
    format!("{}{path}", proxy.url())
}

/// The items of a DAV collection, counted on the server (not through the
/// proxy): their names.
fn dav_items(url: &str, kind: &str) -> Vec<String> {
    let s = json!({"url": url, "username": "alice", "password": "alicepw"});
    let settings = s.as_object().unwrap().clone().into_iter().collect();
    let mut c = einklang_connectors::open("c", kind, &settings, Path::new(".")).unwrap();
    let mut names: Vec<String> = c.list().unwrap().into_iter().map(|l| l.id).collect();
    names.sort();
    names
}

fn book_config(url: &str) -> String {
    let book = format!(
        "kind = \"carddav\"\nurl = \"{url}\"\nusername = \"alice\"\npassword = \"alicepw\""
    );
    let config = office_and(
        EMAILS,
        &book,
        "id = \"href\"\nfields = { name = \"fn\", emails = \"email\" }",
    );
    config + "\n[jobs.push]\npull = [\"office\"]\npush = [\"crm\"]\n"
}

/// An address book whose first create loses its answer; `lookup`, a fault
/// for the recovery's look-up of the item (or none).
fn carddav_lost_create(tag: &str, lookup: Option<Rule>) -> Option<(Hub, Collection, FaultProxy)> {
    let (book, proxy) = dav_collection(tag, "carddav", "text/vcard; charset=utf-8")?;
    let url = &book.url;
    let config = book_config(&via(&proxy, url));
    let mut hub = Hub::new(&config, &[("office", MemoryOptions::default())]);
    office_people(&hub, EMAILS, PEOPLE);
    let rule = proxy.add(Rule::drop_answer().method("PUT").once());
    let r = hub.sync("sync");
    assert_eq!(proxy.hits(rule), 1, "{:?}", proxy.counters());
    assert_eq!(count(&r, "push_failed"), 1, "{:#?}", r.counters);
    assert_eq!(dav_items(url, "carddav").len(), PEOPLE, "every PUT landed");
    if let Some(rule) = lookup {
        proxy.add(rule);
    }
    hub.later(120);
    Some((hub, book, proxy))
}

#[test]
fn a_lost_carddav_create_answer_is_found_under_its_marker_name() {
    let Some((mut hub, book, _proxy)) = carddav_lost_create("lost-found", None) else {
        return;
    };
    let r = hub.sync("sync");
    assert_eq!(count(&r, "recovered"), 1, "{:#?}", r.counters);
    assert_eq!(count(&r, "pushed_create"), 0, "{:#?}", r.counters);
    let items = dav_items(&book.url, "carddav");
    assert!(items.iter().all(|n| n.starts_with("ek-")), "{items:?}");
    whole(
        &mut hub,
        "sync",
        "contact",
        &["office", "crm"],
        PEOPLE,
        items.len(),
    );
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

/// The recovery's look-up of the unanswered card wrongly says it is not
/// there (the proxy answers its GET 404).
fn lying_lookup() -> Option<Rule> {
    Some(Rule::inject(404).method("GET").path(".vcf").once())
}

/// Defect: a card the look-up called absent was read as someone new
/// (copied to the office list), and the create sent again found it
/// (412, ours) — its id already linked, every later run failed on the
/// store's unique links.
#[test]
fn a_card_a_lookup_called_absent_is_linked_by_the_read_not_taken_for_someone_new() {
    let Some((mut hub, book, proxy)) = carddav_lost_create("lost-absent", lying_lookup()) else {
        return;
    };
    let r = hub.sync("sync");
    assert_eq!(proxy.counters().injected, 1, "{:?}", proxy.counters());
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.errors);
    assert_eq!(
        (count(&r, "created"), count(&r, "pushed_create")),
        (0, 0),
        "{:#?}",
        r.counters
    );
    let items = dav_items(&book.url, "carddav");
    whole(
        &mut hub,
        "sync",
        "contact",
        &["office", "crm"],
        PEOPLE,
        items.len(),
    );
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

#[test]
fn a_resent_carddav_create_is_answered_412_and_recognised_as_ours() {
    // a job that does not read the book: the create the look-up called
    // absent is sent again, If-None-Match answers 412, the card is ours
    let Some((mut hub, book, proxy)) = carddav_lost_create("lost-412", lying_lookup()) else {
        return;
    };
    let r = hub.sync("push");
    assert_eq!(proxy.counters().injected, 1, "{:?}", proxy.counters());
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.errors);
    assert_eq!(count(&r, "pushed_create"), 1, "{:#?}", r.counters);
    let items = dav_items(&book.url, "carddav");
    assert_eq!(items.len(), PEOPLE, "{items:?}");
    whole(
        &mut hub,
        "sync",
        "contact",
        &["office", "crm"],
        PEOPLE,
        items.len(),
    );
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

const CALENDAR_CONFIG: &str = r#"
[entities.event]
title = "text"
starts = "datetime"
ends = "datetime"

[connectors.office]
kind = "jsonl"
path = "memory-office.jsonl"

[connectors.crm]
kind = "caldav"
url = "URL"
username = "alice"
password = "alicepw"

[map.office.event]
id = "id"
fields = { title = "betreff", starts = "beginn", ends = "ende" }

[map.crm.event]
id = "href"
fields = { title = "summary", starts = "start", ends = "end" }

[jobs.sync]
sync = ["office", "crm"]

[conflicts.event]
default = { authority = "office" }
"#;

#[test]
fn a_lost_caldav_create_answer_is_found_under_its_marker_name() {
    let Some((calendar, proxy)) =
        dav_collection("lost-cal", "caldav", "text/calendar; charset=utf-8")
    else {
        return;
    };
    let url = &calendar.url;
    let config = CALENDAR_CONFIG.replace("URL", &via(&proxy, url));
    let mut hub = Hub::new(&config, &[("office", MemoryOptions::default())]);
    for i in 0..PEOPLE {
        hub.remote("office").insert(raw(json!({
            "betreff": format!("Termin {i}"),
            "beginn": format!("2026-12-0{}T09:00:00Z", i + 1),
            "ende": format!("2026-12-0{}T10:00:00Z", i + 1),
        })));
    }
    let rule = proxy.add(Rule::drop_answer().method("PUT").times(LOST));
    let r = hub.sync("sync");
    assert_eq!(proxy.hits(rule), LOST);
    assert_eq!(count(&r, "push_failed"), LOST as u64, "{:#?}", r.counters);
    assert_eq!(dav_items(url, "caldav").len(), PEOPLE, "every PUT landed");
    hub.later(120);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "recovered"), LOST as u64, "{:#?}", r.counters);
    let items = dav_items(url, "caldav");
    whole(
        &mut hub,
        "sync",
        "event",
        &["office", "crm"],
        PEOPLE,
        items.len(),
    );
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

// --- postgres_table through the proxy in PostgreSQL mode -----------------

/// A table `kontakte` made by `ddl`, a connector `crm` on it through a
/// proxy with `ids` settings; the first write batch's `COMMIT` loses its
/// answer (the rows are committed).
fn table_with_a_lost_commit(tag: &str, ddl: &str, ids: &str) -> Option<(PgDb, FaultProxy, Hub)> {
    let db = PgDb::new(tag)?;
    db.sql(ddl);
    let proxy = FaultProxy::start(Mode::Pg, &db.url).unwrap();
    let crm = format!(
        "kind = \"postgres_table\"\nurl = \"{}\"\ntable = \"kontakte\"\nkey = \"id\"\n{ids}",
        db.url_via(proxy.addr())
    );
    let config = office_and(ONE_EMAIL, &crm, &same_names(""));
    let mut hub = Hub::new(&config, &[("office", MemoryOptions::default())]);
    office_people(&hub, ONE_EMAIL, PEOPLE);
    let rule = proxy.add(Rule::drop_answer().method("COMMIT").once());
    let r = hub.sync("sync");
    assert_eq!(proxy.hits(rule), 1, "{:?}", proxy.counters());
    assert_ne!(
        r.status,
        RunStatus::Succeeded,
        "the write's answer was lost"
    );
    assert_eq!(rows(&db), PEOPLE, "the batch was committed");
    hub.later(120);
    Some((db, proxy, hub))
}

fn rows(db: &PgDb) -> usize {
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM kontakte", &[])
        .unwrap()
        .get(0);
    n as usize
}

/// The end of the lost-commit tests: [`whole`] over office and the
/// table, and office holds every person once.
fn every_person_once(hub: &mut Hub, db: &PgDb) {
    whole(hub, "sync", "contact", &["office", "crm"], PEOPLE, rows(db));
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

#[test]
fn a_lost_commit_answer_with_client_ids_makes_no_second_row() {
    let Some((db, _proxy, mut hub)) = table_with_a_lost_commit(
        "lost_commit_client",
        "CREATE TABLE kontakte (id TEXT PRIMARY KEY, name TEXT, email TEXT)",
        "",
    ) else {
        return;
    };
    let r = hub.sync("sync");
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.errors);
    every_person_once(&mut hub, &db);
}

#[test]
fn a_lost_commit_answer_with_server_ids_is_found_by_the_marker_column() {
    let Some((db, _proxy, mut hub)) = table_with_a_lost_commit(
        "lost_commit_marker",
        "CREATE TABLE kontakte (id BIGSERIAL PRIMARY KEY, name TEXT, email TEXT, einklang_marker TEXT)",
        "ids = \"server\"\nmarker_column = \"einklang_marker\"",
    ) else {
        return;
    };
    let r = hub.sync("sync");
    assert_eq!(count(&r, "recovered"), PEOPLE as u64, "{:#?}", r.counters);
    every_person_once(&mut hub, &db);
}

#[test]
fn a_lost_commit_answer_with_server_ids_and_no_marker_column_is_held_and_claimed() {
    let Some((db, _proxy, mut hub)) = table_with_a_lost_commit(
        "lost_commit_held",
        "CREATE TABLE kontakte (id BIGSERIAL PRIMARY KEY, name TEXT, email TEXT)",
        "ids = \"server\"",
    ) else {
        return;
    };
    let r = hub.sync("sync");
    assert_eq!(
        (count(&r, "claimed"), count(&r, "created")),
        (PEOPLE as u64, 0),
        "{:#?}",
        r.counters
    );
    every_person_once(&mut hub, &db);
}

// --- the file kinds: a crash right after the write -------------------------

/// A file connector `crm` of `kind` (settings `crm`, its file or folder
/// prepared by `prepare`) written by a sync that crashes right after the
/// write, before its answers are committed; `count_records` counts its
/// records.
fn file_crash(
    (entity, crm, crm_map): (&str, &str, &str),
    prepare: impl FnOnce(&Path),
    count_records: impl Fn(&Path) -> usize,
) {
    let config = office_and(entity, crm, crm_map);
    let mut hub = Hub::new(&config, &[("office", MemoryOptions::default())]);
    prepare(hub.dir());
    office_people(&hub, entity, PEOPLE);
    // the office is read and written first: the crash is after crm's write
    hub.crash(
        "sync",
        CrashAt {
            point: CrashPoint::AfterRemoteWrite,
            nth: 1,
        },
    );
    assert_eq!(count_records(hub.dir()), PEOPLE, "the write happened");
    let r = hub.sync("sync");
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.errors);
    let n = count_records(hub.dir());
    whole(&mut hub, "sync", "contact", &["office", "crm"], PEOPLE, n);
    assert_eq!(hub.remote("office").len(), PEOPLE);
}

#[test]
fn a_crash_after_a_csv_write_makes_no_second_row() {
    file_crash(
        (
            ONE_EMAIL,
            "kind = \"csv\"\npath = \"crm.csv\"",
            &same_names(""),
        ),
        |dir| std::fs::write(dir.join("crm.csv"), "id,name,email\n").unwrap(),
        |dir| {
            let text = std::fs::read_to_string(dir.join("crm.csv")).unwrap();
            text.lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .count()
        },
    );
}

#[test]
fn a_crash_after_a_jsonl_write_makes_no_second_line() {
    file_crash(
        (
            ONE_EMAIL,
            "kind = \"jsonl\"\npath = \"crm.jsonl\"",
            &same_names(""),
        ),
        |dir| std::fs::write(dir.join("crm.jsonl"), "").unwrap(),
        |dir| {
            let text = std::fs::read_to_string(dir.join("crm.jsonl")).unwrap();
            text.lines().filter(|l| !l.trim().is_empty()).count()
        },
    );
}

#[test]
fn a_crash_after_a_vcard_write_makes_no_second_card() {
    file_crash(
        (
            EMAILS,
            "kind = \"vcard\"\npath = \"crm\"",
            "id = \"uid\"\nfields = { name = \"fn\", emails = \"email\" }",
        ),
        |dir| std::fs::create_dir_all(dir.join("crm")).unwrap(),
        |dir| {
            std::fs::read_dir(dir.join("crm"))
                .unwrap()
                .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .map(|card| card.matches("BEGIN:VCARD").count())
                .sum()
        },
    );
}
