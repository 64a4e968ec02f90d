//! The binary as a user runs it: `check` on every example and on broken
//! configs, the quickstart job end to end, and secrets that never show.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use support::{agent, hmac_hex, Watching};

fn einklang(config: &Path, args: &[&str]) -> Output {
    einklang_with(config, args, &[])
}

/// [`einklang`] with the variables `env` set.
fn einklang_with(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_einklang"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("EINKLANG_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("einklang runs")
}

/// What `einklang check` prints of `text`, written to `config` first.
fn check_of(config: &Path, text: &str) -> String {
    std::fs::write(config, text).unwrap();
    stdout(&einklang(config, &["check"]))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().contains(".db") {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The `${VAR}`s the examples use.
const EXAMPLE_SECRETS: [(&str, &str); 10] = [
    ("GRAPH_SECRET", "example-only"),
    ("EMPLOYES_TOKEN", "example-only"),
    ("MONDAY_TOKEN", "example-only"),
    ("DAV_PASSWORD", "example-only"),
    ("CRM_API_KEY", "example-only"),
    ("KOMMO_API_KEY", "example-only"),
    ("ESPO_API_KEY", "example-only"),
    ("ADVOWARE_APP_ID", "example-only"),
    ("ADVOWARE_API_KEY", "ZXhhbXBsZS1vbmx5"), // base64, as `check` wants it
    ("ADVOWARE_PASSWORD", "example-only"),
];

#[test]
fn every_example_config_checks() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let config = entry.unwrap().path().join("einklang.toml");
        if config.exists() {
            // the examples' secrets, as placeholders (scripts/test sets the same)
            let out = einklang_with(&config, &["check"], &EXAMPLE_SECRETS);
            assert!(
                out.status.success(),
                "{}: {}",
                config.display(),
                stdout(&out)
            );
            assert!(stdout(&out).contains(": ok ("), "{}", stdout(&out));
            seen += 1;
        }
    }
    assert!(seen >= 1, "no example configs found");
}

#[test]
fn quickstart_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/quickstart"), dir.path());
    let config = dir.path().join("einklang.toml");

    let out = einklang(&config, &["sync", "quickstart", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a partial run exits 3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["status"], "partial",
        "the example ships some bad records"
    );
    let created = report["counters"]["created"].as_u64().unwrap();
    let quarantined = report["counters"]["quarantined"].as_u64().unwrap();
    assert!(created > 2000, "created {created}");
    assert!((3..50).contains(&quarantined), "quarantined {quarantined}");
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);

    // Unchanged sources: nothing written.
    let out = einklang(&config, &["sync", "quickstart", "--json"]);
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["counters"]["writes"].as_u64().unwrap_or(0), 0);
    assert_eq!(again["counters"]["sources_unchanged"], 3);

    let runs = stdout(&einklang(&config, &["runs"]));
    assert!(
        runs.contains("quickstart") && runs.contains("partial"),
        "{runs}"
    );
    let q = stdout(&einklang(&config, &["quarantine", "--json"]));
    let q: Value = serde_json::from_str(&q).unwrap();
    assert_eq!(q.as_array().unwrap().len() as u64, quarantined);
    let shown = einklang(&config, &["show", "contact", "1"]);
    assert!(shown.status.success());
    let text = stdout(&shown);
    assert!(text.contains("links") && text.contains("history"), "{text}");
    let missing = einklang(&config, &["show", "contact", "999999"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no contact with id 999999"));
}

const SECRET_CONFIG: &str = r#"
[entities.contact]
name = "text"

[connectors.dump]
kind = "jsonl"
path = "${EINKLANG_TEST_SECRET_PATH}"
delimiter = ";"

[map.dump.contact]
id = "id"
[map.dump.contact.fields]
name = "name"

[jobs.pull]
pull = ["dump"]
"#;

#[test]
fn connector_setting_problems_are_located_and_secrets_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("einklang.toml");
    std::fs::write(&config, SECRET_CONFIG).unwrap();
    let secret = "s3cr3t-Value-42.jsonl";
    let out = einklang_with(
        &config,
        &["check"],
        &[("EINKLANG_TEST_SECRET_PATH", secret)],
    );
    let text = stdout(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("einklang.toml:8:") && text.contains("connector `dump`"),
        "{text}"
    );
    assert!(text.contains("delimiter"), "{text}");
    assert!(!text.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));

    let out = einklang(&config, &["check"]);
    let text = stdout(&out);
    assert!(
        text.contains("EINKLANG_TEST_SECRET_PATH") && text.contains("not set"),
        "{text}"
    );
}

/// Issue 9: a file with 27 connector setting problems (7 connectors) and
/// an unknown top-level key (besides entity, mapping, job and matching
/// problems) was reported as its non-connector problems only: connector
/// settings were checked only once the rest of the file was valid.
#[test]
fn check_reports_every_connector_problem_with_an_unknown_top_level_key() {
    let broken =
        repo().join("crates/einklang-config/tests/broken/29_every_problem_in_one_pass.toml");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("einklang.toml");
    std::fs::copy(broken, &config).unwrap();
    let out = einklang_with(&config, &["check"], &[("KNOWN_SECRET", "example-only")]);
    let text = stdout(&out);
    assert!(!out.status.success());
    let (problems, count) = text.trim_end().rsplit_once('\n').unwrap();
    assert_eq!(count, "33 problem(s) found", "{text}");
    let prefix = format!("{}:", config.display());
    let at = |line: &str| -> (usize, usize) {
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("unlocated: {line}"));
        let mut parts = rest.splitn(3, ':');
        let mut num = || parts.next().unwrap().parse::<usize>().unwrap();
        (num(), num())
    };
    let located: Vec<(usize, usize)> = problems.lines().map(at).collect();
    assert_eq!(located.len(), 33, "{text}");
    let connector_lines: Vec<usize> = problems
        .lines()
        .filter(|l| l.contains(": connector `"))
        .map(|l| at(l).0)
        .collect();
    assert_eq!(
        connector_lines,
        [
            11, 12, 13, 15, 17, 19, 19, 21, 22, 23, 24, 25, 29, 30, 31, 35, 36, 37, 38, 38, 39, 40,
            41, 43, 43, 45, 48
        ],
        "{text}"
    );
    assert!(
        text.contains(":3:1: unknown key `stor` in the top level"),
        "{text}"
    );
    for other in [
        ":7:9: unknown field type",
        ":52:27: map.files.contact",
        ":55:18: job `nightly`",
        ":58:14: `matching.contact.auto_merge`",
    ] {
        assert!(text.contains(other), "{other} missing:\n{text}");
    }
}

/// One connector of each lost-create guarantee, written by a sync, and one
/// that is only read.
fn guarantees_config(url: &str) -> String {
    format!(
        r#"
[entities.contact]
name = "text"
email = "email"

[connectors.files]
kind = "csv"
path = "files.csv"

[connectors.db]
kind = "postgres_table"
url = "postgres://einklang@127.0.0.1:1/nowhere"
table = "kontakte"
key = "id"
ids = "server"
marker_column = "einklang_marker"

[connectors.marked]
kind = "http"
base_url = "{url}"
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts" }}
create = {{ path = "/api/v4/contacts", body = ["{{record}}"], record = "/_embedded/contacts/0" }}
marker_field = "einklang_marker"

[connectors.keyed]
kind = "http"
base_url = "{url}"
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts" }}
create = {{ path = "/api/v4/contacts", body = ["{{record}}"], record = "/_embedded/contacts/0" }}

[connectors.bare]
kind = "graphql"
url = "{url}/graphql"
list = {{ query = "{{ contacts {{ nodes {{ id name email }} }} }}", records = "/data/contacts/nodes" }}
create = {{ query = "mutation($input: ContactInput!){{ createContact(input: $input){{ id }} }}", variables = {{ input = "{{record}}" }}, record = "/data/createContact" }}

[connectors.minted]
kind = "http"
base_url = "{url}"
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts" }}
create = {{ method = "PUT", path = "/api/v4/contacts/{{id}}" }}

[connectors.book]
kind = "carddav"
url = "{url}/dav/"

[connectors.source]
kind = "http"
base_url = "{url}"
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts" }}

[map.files.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.db.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.marked.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.keyed.contact]
id = "id"
find = ["email"]
fields = {{ name = "name", email = "email" }}

[map.bare.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.minted.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.book.contact]
id = "href"
fields = {{ name = "fn" }}

[map.source.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[jobs.all]
steps = [{{ pull = "source" }}, {{ sync = ["files", "minted", "db", "marked", "book", "keyed"] }}, {{ push = "bare" }}]
"#
    )
}

#[test]
fn check_names_the_lost_create_guarantee_of_every_written_connector() {
    let emu = einklang_emulator::Emulator::start(einklang_emulator::Options::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("einklang.toml");
    std::fs::write(&path, guarantees_config(&emu.url)).unwrap();
    let out = einklang(&path, &["check"]);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "a warning does not fail the check: {text}"
    );
    let expected = [
        "  bare (graphql): 4, held until a read settles it (see the warning)",
        "  book (carddav): 2, found by its marker (the item is named after it)",
        "  minted (http): 1, client ids: the marker is the record's id, so a create sent again is harmless",
        "  db (postgres_table): 2, found by its marker (`marker_column` \"einklang_marker\")",
        "  files (csv): 1, client ids: the marker is the record's id, so a create sent again is harmless",
        "  keyed (http): 3, recognised by `find`: the next read claims the record equal on email (contact)",
        "  marked (http): 2, found by its marker (`marker_field` \"einklang_marker\")",
    ];
    for line in expected {
        assert!(text.lines().any(|l| l == line), "missing {line:?}:\n{text}");
    }
    let listed = text.lines().filter(|l| l.starts_with("  ")).count();
    assert_eq!(
        listed,
        expected.len(),
        "one line per written connector:\n{text}"
    );
    assert!(
        !text.contains("source ("),
        "a connector only read has no line:\n{text}"
    );
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].starts_with("warning: connector `bare`: ")
            && warnings[0].contains("`marker_field`")
            && warnings[0].contains("`find = [...]` in [map.bare.contact]"),
        "{text}"
    );
    assert!(
        emu.requests().is_empty(),
        "check contacted the API: {:?}",
        emu.requests()
    );
}

// ---------------------------------------------------------------------------
// Two-way sync between a CSV file and a JSONL file: plan, conflicts, resolve.

const TWO_WAY_CONFIG: &str = r#"
[entities.contact]
first_name = "text"
last_name  = "text"
email      = "email"

[connectors.crm]
kind = "csv"
path = "crm.csv"

[connectors.news]
kind = "jsonl"
path = "news.jsonl"

[map.crm.contact]
id = "id"
[map.crm.contact.fields]
first_name = "first"
last_name  = "last"
email      = "email"

[map.news.contact]
id = "key"
[map.news.contact.fields]
first_name = "given"
last_name  = "family"
email      = "mail"

[conflicts.contact]
default = "review"

[jobs.both]
sync = ["crm", "news"]
"#;

const CRM_CSV: &str = "id,first,last,email\n\
c1,Anna,Abel,anna@example.org\n\
c2,Bernd,Bauer,bernd@example.org\n";

const NEWS_JSONL: &str =
    "{\"key\":\"n1\",\"given\":\"Clara\",\"family\":\"Conrad\",\"mail\":\"clara@example.org\"}\n";

/// A temp folder with the two-way config, a CSV and a JSONL file.
struct TwoWay {
    dir: tempfile::TempDir,
}

/// What the hub holds, to compare before and after a dry run.
#[derive(Debug, PartialEq)]
struct HubState {
    records: u64,
    runs: usize,
    conflicts: usize,
    links: Vec<String>,
}

impl TwoWay {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("einklang.toml"), TWO_WAY_CONFIG).unwrap();
        std::fs::write(dir.path().join("crm.csv"), CRM_CSV).unwrap();
        std::fs::write(dir.path().join("news.jsonl"), NEWS_JSONL).unwrap();
        TwoWay { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_einklang"))
            .arg("--config")
            .arg(self.dir.path().join("einklang.toml"))
            .args(args)
            .env_remove("EINKLANG_CONFIG")
            .env("USER", "tester")
            .output()
            .expect("einklang runs")
    }

    /// Run, expect exit code 0, return stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "einklang {args:?}: {:?}\n{}\n{}",
            out.status.code(),
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }

    /// Run, expect exit code `code`, parse stdout.
    fn json_exit(&self, args: &[&str], code: i32) -> Value {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "einklang {args:?}: {}",
            stderr(&out)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }

    fn replace(&self, name: &str, from: &str, to: &str) {
        let text = self.file(name);
        assert!(text.contains(from), "{name} has no {from:?}: {text}");
        std::fs::write(self.dir.path().join(name), text.replace(from, to)).unwrap();
    }

    /// The JSONL line of the record whose `key` is `key`.
    fn news(&self, key: &str) -> Value {
        self.file("news.jsonl")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["key"] == key)
            .unwrap_or_else(|| panic!("no {key} in news.jsonl: {}", self.file("news.jsonl")))
    }

    /// The JSONL key of the record created for `given`.
    fn news_key_of(&self, given: &str) -> String {
        self.file("news.jsonl")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["given"] == given)
            .and_then(|v| v["key"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no {given} in news.jsonl: {}", self.file("news.jsonl")))
    }

    /// The CSV row whose id is `id`.
    fn crm(&self, id: &str) -> String {
        self.file("crm.csv")
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap_or_else(|| panic!("no {id} in crm.csv: {}", self.file("crm.csv")))
            .to_string()
    }

    fn hub(&self) -> HubState {
        let db = self.dir.path().join("einklang.db");
        let mut store = einklang_store::open(&db.display().to_string()).unwrap();
        let records = store.count_records("default", "contact").unwrap();
        let mut links = Vec::new();
        for id in 1..=records as i64 {
            for l in store.links_of("default", id).unwrap() {
                links.push(format!(
                    "{id} {} {} {} {:?}",
                    l.connector,
                    l.external_id,
                    l.status.as_str(),
                    l.version
                ));
            }
        }
        HubState {
            records,
            runs: store.runs("default", 1000).unwrap().len(),
            conflicts: store.conflicts("default", false, 1000).unwrap().len(),
            links,
        }
    }

    /// `plan JOB` prints and changes nothing: not the hub, not the files.
    fn plan_writes_nothing(&self, args: &[&str]) -> String {
        let (hub, crm, news) = (self.hub(), self.file("crm.csv"), self.file("news.jsonl"));
        let text = self.ok(args);
        assert_eq!(self.hub(), hub, "plan changed the hub:\n{text}");
        assert_eq!(self.file("crm.csv"), crm, "plan wrote crm.csv");
        assert_eq!(self.file("news.jsonl"), news, "plan wrote news.jsonl");
        text
    }

    /// A sync that finds everything in agreement writes nothing anywhere.
    fn assert_quiet_sync(&self) {
        let report = self.json(&["sync", "both", "--json"]);
        assert_eq!(report["status"], "succeeded", "{report:#}");
        let counters = report["counters"].as_object().unwrap();
        assert_eq!(
            counters.get("writes").and_then(Value::as_u64).unwrap_or(0),
            0
        );
        let pushed: Vec<&String> = counters
            .keys()
            .filter(|k| k.starts_with("pushed_"))
            .collect();
        assert!(pushed.is_empty(), "an agreeing sync pushed: {counters:?}");
    }
}

/// Issue 10: a value einklang cannot read keeps the record; the run counts
/// it `flagged` (the run does not end `partial` for it), `show` marks it
/// with the reason, and the other side is written the text as read.
#[test]
fn show_marks_a_flagged_value_and_the_run_counts_it() {
    let t = TwoWay::new();
    t.replace("crm.csv", "bernd@example.org", " bernd@@example ");
    let report = t.json(&["sync", "both", "--json"]);
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(report["counters"]["flagged"], 1, "{report}");
    assert_eq!(report["counters"]["quarantined"], 0, "{report}");
    let bernd = (1..=3)
        .find(|id| {
            let shown = t.json(&["show", "contact", &id.to_string(), "--json"]);
            shown["record"]["values"]["first_name"] == "Bernd"
        })
        .expect("Bernd is kept");
    let id = bernd.to_string();
    let shown = t.json(&["show", "contact", &id, "--json"]);
    assert_eq!(shown["flagged"][0]["field"], "email");
    assert_eq!(shown["flagged"][0]["value"], "bernd@@example");
    assert_eq!(
        shown["record"]["values"]["email"]["invalid"],
        "bernd@@example"
    );
    let text = t.ok(&["show", "contact", &id]);
    assert!(text.contains("\"bernd@@example\" (flagged)"), "{text}");
    assert!(
        text.contains("flagged (kept as read, written back unchanged)"),
        "{text}"
    );
    assert!(
        text.contains("'bernd@@example' is not an email address"),
        "{text}"
    );
    let news_line = t
        .file("news.jsonl")
        .lines()
        .find(|l| l.contains("Bernd"))
        .unwrap()
        .to_string();
    assert!(news_line.contains("\"bernd@@example\""), "{news_line}");
    t.assert_quiet_sync();
}

#[test]
fn two_way_sync_creates_on_both_sides_then_writes_nothing() {
    let t = TwoWay::new();
    let report = t.json(&["sync", "both", "--json"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(report["counters"]["created"], 3);
    // a summary: the record-by-record plan is `plan --json`'s (issue 10)
    assert!(report.get("plan").is_none(), "{report:#}");
    assert!(report["run_id"].as_i64().unwrap() > 0 && report["steps"].is_array());

    // Clara came from the JSONL into the CSV, Anna and Bernd the other way.
    let clara = t
        .file("crm.csv")
        .lines()
        .find(|l| l.contains("Clara"))
        .map(str::to_string);
    assert_eq!(
        clara
            .as_deref()
            .and_then(|l| l.split_once(','))
            .map(|x| x.1),
        Some("Clara,Conrad,clara@example.org"),
        "{}",
        t.file("crm.csv")
    );
    let news = t.file("news.jsonl");
    assert_eq!(news.lines().count(), 3, "{news}");
    assert!(news.contains("anna@example.org") && news.contains("bernd@example.org"));
    assert_eq!(t.hub().records, 3);

    t.assert_quiet_sync();
    t.assert_quiet_sync();
    assert_eq!(t.ok(&["conflicts"]).trim(), "no open conflicts");
}

#[test]
fn plan_prints_the_changes_and_writes_nothing() {
    let t = TwoWay::new();
    let text = t.plan_writes_nothing(&["plan", "both"]);
    assert!(text.starts_with("plan for job `both`"), "{text}");
    assert!(
        text.contains("crm pull create") && text.contains("news push create"),
        "{text}"
    );
    assert!(text.contains("anna@example.org"), "{text}");
    assert_eq!(t.hub().records, 0);

    let report = t.json(&["plan", "both", "--json", "--limit", "1"]);
    assert_eq!(report["run_id"], 0);
    assert_eq!(report["plan"]["items"].as_array().unwrap().len(), 1);
    let counts = report["plan"]["counts"].as_object().unwrap();
    let total: u64 = counts.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(
        total, 6,
        "3 creates in the hub, 3 on the other side: {counts:?}"
    );
    let limited = t.plan_writes_nothing(&["plan", "both", "--limit", "1", "--full"]);
    assert!(limited.contains("… 5 more not shown"), "{limited}");

    t.ok(&["sync", "both"]);
    let text = t.plan_writes_nothing(&["plan", "both"]);
    assert!(text.contains("nothing to do"), "{text}");
}

#[test]
fn a_conflict_is_planned_held_listed_resolved_and_written_to_both_files() {
    let t = TwoWay::new();
    t.ok(&["sync", "both"]);
    assert_eq!(t.crm("c1"), "c1,Anna,Abel,anna@example.org");
    let key = t.news_key_of("Anna");
    assert_eq!(t.news(&key)["mail"], "anna@example.org");

    // The same field edited differently on both sides.
    t.replace("crm.csv", "anna@example.org", "anna@crm.example");
    t.replace("news.jsonl", "anna@example.org", "anna@news.example");

    let text = t.plan_writes_nothing(&["plan", "both"]);
    assert!(
        text.contains("conflict") && text.contains("email"),
        "{text}"
    );
    assert!(text.contains("anna@news.example"), "{text}");

    let report = t.json_exit(&["sync", "both", "--json"], 4);
    assert_eq!(report["status"], "needs_review", "{report:#}");
    assert_eq!(report["counters"]["held"], 1, "{report:#}");
    // Held: neither side's email is overwritten.
    assert_eq!(t.crm("c1"), "c1,Anna,Abel,anna@crm.example");
    assert_eq!(t.news(&key)["mail"], "anna@news.example");

    let listed = t.ok(&["conflicts"]);
    assert!(
        listed.contains("contact 1")
            && listed.contains("email")
            && listed.contains("news")
            && listed.contains("\"anna@crm.example\"")
            && listed.contains("\"anna@news.example\"")
            && listed.contains("review")
            && listed.contains("open"),
        "{listed}"
    );
    let open = t.json(&["conflicts", "--json"]);
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let id = open[0]["id"].as_i64().unwrap().to_string();

    // A value the schema rejects names the field and the value.
    let bad = t.run(&["resolve", &id, "--value", "not-a-mail"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("email") && err.contains("not-a-mail"), "{err}");

    // A value of one's own, normalised by the schema.
    let text = t.ok(&["resolve", &id, "--value", " Anna@Final.Example "]);
    assert!(text.contains("\"anna@final.example\""), "{text}");
    assert!(text.contains("next sync"), "{text}");
    let again = t.run(&["resolve", &id, "--take", "hub"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("resolved already"));

    let report = t.json(&["sync", "both", "--json"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(t.crm("c1"), "c1,Anna,Abel,anna@final.example");
    assert_eq!(t.news(&key)["mail"], "anna@final.example");
    assert_eq!(t.ok(&["conflicts"]).trim(), "no open conflicts");
    let all = t.json(&["conflicts", "--all", "--json"]);
    assert_eq!(all[0]["status"], "resolved", "{all:#}");
    assert_eq!(all[0]["resolved_by"], "tester", "{all:#}");
    assert!(t.ok(&["conflicts", "--all"]).contains("resolved"));

    t.assert_quiet_sync();
}

#[test]
fn resolve_takes_exactly_one_choice_and_names_unknown_conflicts() {
    let t = TwoWay::new();
    let both = t.run(&["resolve", "1", "--take", "hub", "--value", "x"]);
    assert_eq!(both.status.code(), Some(2), "clap's usage error");
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
    let neither = t.run(&["resolve", "1"]);
    assert!(!neither.status.success());

    let unknown = t.run(&["resolve", "999", "--take", "hub"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no conflict 999"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let unknown = t.run(&["resolve", "999", "--value", "x"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no conflict 999"));
}

/// Regression: the fingerprint stored for a side was the one read before
/// the step's own write, so a file edited back to those bytes was skipped.
#[test]
fn a_row_deleted_by_hand_after_the_hub_wrote_it_is_seen_as_deleted() {
    let t = TwoWay::new();
    t.ok(&["sync", "both"]);
    let clara = t
        .file("crm.csv")
        .lines()
        .find(|l| l.contains("Clara"))
        .map(|l| format!("{l}\n"))
        .unwrap();
    t.replace("crm.csv", &clara, "");
    assert_eq!(
        t.file("crm.csv"),
        CRM_CSV,
        "back to the bytes before the sync"
    );

    let text = t.plan_writes_nothing(&["plan", "both"]);
    assert!(text.contains("crm pull delete"), "{text}");
    t.ok(&["sync", "both"]);
    assert!(
        !t.file("news.jsonl").contains("Clara"),
        "{}",
        t.file("news.jsonl")
    );
}

/// The two-way example: CSV client list ↔ vCard folder, end to end.
#[test]
fn two_way_example_syncs_both_ways_without_echoes() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/two-way"), dir.path());
    let config = dir.path().join("einklang.toml");
    let run = |args: &[&str]| {
        let out = einklang(&config, args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()
    };
    let first = run(&["sync", "office-phone", "--json"]);
    assert_eq!(first["counters"]["created"], 5);
    assert_eq!(first["counters"]["pushed_create"], 5);
    let second = run(&["sync", "office-phone", "--json"]);
    assert_eq!(
        (
            second["counters"]["writes"].as_u64(),
            second["counters"].get("remote_writes")
        ),
        (Some(0), None),
        "{second}"
    );
    let csv = dir.path().join("data/mandanten.csv");
    let cards = dir.path().join("data/phonebook");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.contains("ek-4;Anna;Novak;;anna.novak@gmail.com;+38641123456"),
        "{text}"
    );
    let jurgen = std::fs::read_to_string(cards.join("ek-1.vcf")).unwrap();
    assert!(
        jurgen.contains("FN:Jürgen Weißmüller") && jurgen.contains("TEL:+491712345678"),
        "{jurgen}"
    );
    // the office renames a company, the phone gets a new number for Anna
    std::fs::write(
        &csv,
        text.replace("Weißmüller Bau GmbH", "Weißmüller Bau GmbH & Co. KG"),
    )
    .unwrap();
    let anna = cards.join("phone-anna-novak.vcf");
    let card = std::fs::read_to_string(&anna).unwrap();
    std::fs::write(
        &anna,
        card.replace(
            "TEL;TYPE=CELL:+386 41 123 456",
            "TEL;TYPE=CELL:+386 41 123 456\r\nTEL;TYPE=WORK:+386 1 200 30 00",
        ),
    )
    .unwrap();
    let third = run(&["sync", "office-phone", "--json"]);
    assert_eq!(third["counters"]["pushed_update"], 2, "{third}");
    let jurgen = std::fs::read_to_string(cards.join("ek-1.vcf")).unwrap();
    assert!(
        jurgen.contains("ORG:Weißmüller Bau GmbH & Co. KG"),
        "{jurgen}"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.contains("ek-4;Anna;Novak;;anna.novak@gmail.com;+38641123456;+38612003000"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(&anna)
            .unwrap()
            .contains("X-ABUID:phone-anna-novak:ABPerson"),
        "unknown properties stay"
    );
    let fourth = run(&["sync", "office-phone", "--json"]);
    assert_eq!(fourth["counters"]["writes"].as_u64(), Some(0), "{fourth}");
}

#[test]
fn check_connect_probes_each_tenant_with_its_own_credentials() {
    let emu = einklang_emulator::Emulator::start(einklang_emulator::Options {
        api_key: Some("acme-key-7".into()),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("einklang.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[tenants.acme]
crm_key = "acme-key-7"
[tenants.globex]
crm_key = "globex-key-expired"

[entities.contact]
name = "text"

[connectors.crm]
kind = "http"
base_url = "{url}"
auth = {{ header = "X-Api-Key", value = "{{tenant.crm_key}}" }}
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts" }}

[map.crm.contact]
id = "id"
fields = {{ name = "name" }}

[jobs.j]
pull = ["crm"]
"#,
            url = emu.url
        ),
    )
    .unwrap();
    let out = einklang(&path, &["check", "--connect"]);
    let text = stdout(&out);
    assert!(
        text.contains("tenant `acme`: connector `crm` (http): ok — "),
        "{text}"
    );
    assert!(
        text.contains("tenant `globex`: connector `crm` (http): FAILED — ") && text.contains("401"),
        "{text}"
    );
    assert!(!text.contains("globex-key-expired"), "no secret: {text}");
    assert!(!text.contains("{tenant.crm_key}"), "filled in: {text}");
    assert!(!out.status.success());
}

#[test]
fn check_connect_reaches_every_connector_and_names_what_failed() {
    let emu = einklang_emulator::Emulator::start(einklang_emulator::Options {
        api_key: Some("right-key-42".into()),
        ..Default::default()
    });
    emu.insert(serde_json::json!({"name": "A"}));
    let dir = tempfile::tempdir().unwrap();
    let config = |key: &str| {
        format!(
            r#"
[entities.contact]
name = "text"

[connectors.crm]
kind = "http"
base_url = "{url}"
auth = {{ header = "X-Api-Key", value = "{key}" }}
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts" }}

[connectors.export]
kind = "csv"
path = "missing.csv"

[map.crm.contact]
id = "id"
fields = {{ name = "name" }}

[map.export.contact]
id = "id"
fields = {{ name = "name" }}

[jobs.j]
pull = ["crm", "export"]
"#,
            url = emu.url
        )
    };
    let path = dir.path().join("einklang.toml");
    std::fs::write(&path, config("right-key-42")).unwrap();
    let out = einklang(&path, &["check", "--connect"]);
    let text = stdout(&out);
    assert!(
        text.contains("connector `crm` (http): ok — ")
            && text.contains("(1 records on the first page)"),
        "{text}"
    );
    assert!(
        text.contains("connector `export` (csv): FAILED — ") && text.contains("missing.csv"),
        "{text}"
    );
    assert!(!out.status.success());
    std::fs::write(&path, config("wrong-key-13")).unwrap();
    std::fs::write(dir.path().join("missing.csv"), "id,name\n").unwrap();
    let out = einklang(&path, &["check", "--connect"]);
    let text = stdout(&out);
    assert!(
        text.contains(
            "connector `crm` (http): FAILED — connector `crm`: GET /api/v4/contacts → 401"
        ),
        "{text}"
    );
    assert!(!text.contains("wrong-key-13"), "{text}");
    assert!(text.contains("connector `export` (csv): ok"), "{text}");
    // without --connect nothing is contacted
    let before = emu.count("GET");
    assert!(einklang(&path, &["check"]).status.success());
    assert_eq!(emu.count("GET"), before);
}

#[test]
fn sync_watch_wakes_on_a_postgres_notify() {
    let Some(db) = einklang_testkit::PgDb::new("cli_watch") else {
        return;
    };
    let url = db.url.clone();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute("CREATE TABLE kontakte (id TEXT PRIMARY KEY, name TEXT)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("einklang.toml");
    std::fs::write(
        &path,
        format!(
            r#"store = "{store}"
[entities.contact]
name = "text"
[connectors.db]
kind = "postgres_table"
url = "{url}"
table = "kontakte"
key = "id"
change_log = true
[map.db.contact]
id = "id"
fields = {{ name = "name" }}
[jobs.j]
pull = ["db"]
"#,
            store = dir.path().join("hub.db").display()
        ),
    )
    .unwrap();
    assert!(einklang(&path, &["connector", "install", "db"])
        .status
        .success());
    let (w, _) = watch(&path, &[], 0);
    let first = w.report(REPORT_WITHIN);
    assert_eq!(first["status"], "succeeded", "{first}");
    let started = std::time::Instant::now();
    c.batch_execute("INSERT INTO kontakte VALUES ('k1', 'Anna')")
        .unwrap();
    let second = w.report(REPORT_WITHIN);
    let woke = started.elapsed();
    drop(w);
    assert_eq!(second["counters"]["created"], 1, "{second}");
    assert!(
        woke.as_secs() < 60,
        "woken by NOTIFY, not the 120 s interval: {woke:?}"
    );
    let runs: Value = serde_json::from_str(&stdout(&einklang(&path, &["runs", "--json"]))).unwrap();
    let sources: Vec<(&str, &str)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap(),
                r["triggered_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(sources, [("notify", "notify:db"), ("manual", "cli")]);
    drop(c);
}

#[test]
fn sync_watch_listen_syncs_when_a_signed_webhook_comes() {
    let emu = einklang_emulator::Emulator::start(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("einklang.toml");
    std::fs::write(
        &path,
        format!(
            r#"store = "{store}"
[entities.contact]
name = "text"
[connectors.crm]
kind = "http"
base_url = "{url}"
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts" }}
webhook = {{ signature_header = "X-Signature", secret = "hook-secret-9", ids = ["/contacts/update/0/id"] }}
[map.crm.contact]
id = "id"
fields = {{ name = "name" }}
[jobs.j]
pull = ["crm"]
"#,
            store = dir.path().join("hub.db").display(),
            url = emu.url
        ),
    )
    .unwrap();
    let (w, first) = watch(&path, &["--listen", "127.0.0.1:0"], 1);
    let addr = first[0]
        .split("http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(w.report(REPORT_WITHIN)["status"], "succeeded");
    let id = emu.insert(serde_json::json!({"name": "Anna"}));
    let body = format!(r#"{{"contacts":{{"update":[{{"id":"{id}"}}]}}}}"#);
    let agent = agent();
    let post = |signature: &str| {
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("http://{addr}/webhook/crm"))
            .header("X-Signature", signature)
            .body(body.clone())
            .unwrap();
        agent.run(req).unwrap().status().as_u16()
    };
    assert_eq!(post("sha256=00ff"), 401, "a bad signature is refused");
    let good = hmac_hex("hook-secret-9", body.as_bytes());
    let started = std::time::Instant::now();
    assert_eq!(post(&good), 202);
    let report = w.report(REPORT_WITHIN);
    drop(w);
    assert_eq!(report["counters"]["created"], 1, "{report}");
    assert!(started.elapsed().as_secs() < 60, "woken by the webhook");
}

/// How long a watching process may take for its next run report (longer
/// than the interval: a report that comes only then fails the test's
/// timing check, not this wait).
const REPORT_WITHIN: Duration = Duration::from_secs(180);

/// `einklang sync j --watch --interval 120 --json` plus `extra`, watched;
/// the first `before` lines of its stderr.
fn watch(path: &Path, extra: &[&str], before: usize) -> (Watching, Vec<String>) {
    let mut args = vec!["--config", path.to_str().unwrap(), "sync", "j", "--watch"];
    args.extend(["--interval", "120", "--json"]);
    args.extend(extra);
    Watching::spawn(
        Command::new(env!("CARGO_BIN_EXE_einklang")).args(args),
        before,
    )
}

#[test]
fn connectors_lists_every_kind_with_its_settings() {
    let out = Command::new(env!("CARGO_BIN_EXE_einklang"))
        .arg("connectors")
        .output()
        .unwrap();
    let text = stdout(&out);
    for kind in [
        "csv",
        "jsonl",
        "vcard",
        "postgres_table",
        "carddav",
        "caldav",
        "http",
        "graphql",
    ] {
        assert!(
            text.contains(&format!("\n{kind} — ")) || text.starts_with(&format!("{kind} — ")),
            "{kind} missing:\n{text}"
        );
    }
    assert!(
        text.contains("  settings: base_url, auth, id, version, list, changes"),
        "{text}"
    );
    assert!(text.contains("conditional writes (If-Match)"), "{text}");
}

#[test]
fn identity_merges_on_ingest_explains_reviews_and_unmerges() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![
        r#"{"id":"1","first":"Anna","last":"Novak","email":"anna@novak.si","phone":"+386 41 123 456"}"#.to_string(),
        r#"{"id":"2","first":"Novak","last":"Anna","email":"ANNA@NOVAK.SI"}"#.to_string(),
        r#"{"id":"3","first":"Hans","last":"Huber","email":"h.huber@huber-bau.de","phone":"089 1234500"}"#.to_string(),
        r#"{"id":"4","first":"Maria","last":"Berger","email":"m.berger@huber-bau.de","phone":"089 1234501"}"#.to_string(),
        r#"{"id":"5","first":"Hans","last":"Hubr"}"#.to_string(),
    ];
    for i in 0..20 {
        lines.push(format!(r#"{{"id":"p{i}","first":"Vorname{i}","last":"Nachname{i}","email":"p{i}@example.org"}}"#));
    }
    std::fs::write(dir.path().join("people.jsonl"), lines.join("\n") + "\n").unwrap();
    let path = dir.path().join("einklang.toml");
    std::fs::write(
        &path,
        r#"
[entities.contact]
first_name = "text"
last_name = "text"
emails = "emails"
phones = "phones"

[connectors.people]
kind = "jsonl"
path = "people.jsonl"

[map.people.contact]
id = "id"
fields = { first_name = "first", last_name = "last", emails = "email", phones = "phone" }

[jobs.load]
pull = ["people"]

[matching.contact]
compare = [
  { field = "first_name", kind = "name" },
  { field = "last_name", kind = "name" },
  { field = "emails", kind = "email" },
  { field = "phones", kind = "phone" },
]
estimate = false
"#,
    )
    .unwrap();
    // 2 is 1 with the names swapped: merged as it is read
    let out = einklang(&path, &["sync", "load"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("identity: 1 new records merged into existing ones"),
        "{text}"
    );
    assert!(text.contains("1 pairs queued for review"), "{text}");
    let merges = stdout(&einklang(&path, &["merges"]));
    assert!(
        merges.contains("ingest") && merges.contains("active"),
        "{merges}"
    );
    // explained after the merge: the merged record as it was, the
    // decision on record (2 brought 1 no new value: nothing to score
    // "before"; `recorded::before_merges` has its own tests)
    let out = einklang(&path, &["explain", "contact", "1", "2"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("record 2 was merged into 1"), "{text}");
    assert!(
        text.contains("on record: merge 1: 2 into 1 at probability") && text.contains("ingest"),
        "{text}"
    );
    let out = einklang(&path, &["explain", "contact", "1", "99"]);
    assert!(
        stderr(&out).contains("no contact record 99"),
        "{}",
        stderr(&out)
    );

    // unmerge: both live again, explained as a merge, never merged again
    let out = einklang(&path, &["unmerge", "2"]);
    assert!(
        stdout(&out).contains("merge 1 undone"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&einklang(&path, &["explain", "contact", "1", "2"]));
    assert!(
        text.contains("emails") && text.contains("exact") && text.contains("— merge"),
        "{text}"
    );
    assert!(
        text.contains("— undone"),
        "the merge on record, undone: {text}"
    );
    let out = einklang(&path, &["dedupe", "contact", "--dry-run", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["clusters"], serde_json::json!([]), "{report}");
    let out = einklang(&path, &["explain", "contact", "3", "4"]);
    assert!(stdout(&out).contains("— keep apart"), "{}", stdout(&out));
    let out = einklang(&path, &["unmerge", "2"]);
    assert!(
        stderr(&out).contains("record 2 is not merged into another record"),
        "{}",
        stderr(&out)
    );

    // the typo'd namesake waits for review, side by side; accepting merges it
    let text = stdout(&einklang(&path, &["review"]));
    assert!(
        text.contains("contact 3 and 5") && text.contains("\"Hubr\""),
        "{text}"
    );
    let id = text
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let out = einklang(&path, &["review", "accept", &id, "--by", "eva"]);
    assert!(
        stdout(&out).contains("accepted, merged"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let merges = stdout(&einklang(&path, &["merges", "--record", "5"]));
    assert!(merges.contains("review"), "{merges}");
    assert!(stdout(&einklang(&path, &["review"])).contains("no pairs wait for review"));
    let out = einklang(&path, &["dedupe", "contact"]);
    assert!(
        stdout(&out).contains("0 records merged into others"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let runs = stdout(&einklang(&path, &["runs"]));
    assert!(
        runs.contains("dedupe contact") && runs.contains("unmerge 2") && runs.contains("review"),
        "{runs}"
    );
}

/// Issue 12: `estimate = "em"` — a pass learns `m` from its pairs, the
/// dry run prints what it learnt, and `explain` scores a pair with the
/// same model as the pass.
#[test]
fn dedupe_with_em_prints_the_learnt_m_and_explain_scores_as_the_pass() {
    let dir = tempfile::tempdir().unwrap();
    let syllables = [
        "ber", "kan", "mol", "tis", "rup", "gal", "fen", "dor", "sil", "wak",
    ];
    let mut lines = Vec::new();
    for i in 0..300usize {
        let family: String = [i / 100, i / 10 % 10, i % 10]
            .iter()
            .map(|&d| syllables[d])
            .collect();
        let first = ["Anna", "Jonas", "Petra", "Luka", "Maja", "Tomas"][i % 6];
        for copy in 0..3 {
            let email = match copy {
                1 => format!("other{i}@example.org"),
                _ => format!("p{i}@example.org"),
            };
            let first = if copy == 2 {
                &first[..first.len() - 1]
            } else {
                first
            };
            lines.push(format!(r#"{{"id":"{i}-{copy}","first":"{first}","last":"{family}","email":"{email}","street":"Weg {}"}}"#, i % 97));
        }
    }
    std::fs::write(dir.path().join("people.jsonl"), lines.join("\n") + "\n").unwrap();
    let path = dir.path().join("einklang.toml");
    std::fs::write(
        &path,
        r#"
[entities.contact]
first_name = "text"
last_name = "text"
emails = "emails"
street = "text"

[connectors.people]
kind = "jsonl"
path = "people.jsonl"

[map.people.contact]
id = "id"
fields = { first_name = "first", last_name = "last", emails = "email", street = "street" }

[jobs.load]
pull = ["people"]

[matching.contact]
compare = [
  { field = "first_name", kind = "name" },
  { field = "last_name", kind = "name" },
  { field = "emails", kind = "email" },
  { field = "street", kind = "street" },
]
block = [{ field = "emails", kind = "email" }, { phonetic = ["first_name", "last_name"] }]
estimate = "em"
ingest = false
"#,
    )
    .unwrap();
    let out = einklang(&path, &["sync", "load"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = einklang(&path, &["dedupe", "contact", "--dry-run", "--limit", "1"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("m estimated by EM"), "{text}");
    for field in ["first_name", "last_name", "emails", "street"] {
        assert!(
            text.contains(&format!("  {field}: m = [")),
            "{field}: {text}"
        );
    }
    assert!(
        text.contains("300 clusters (600 records would merge"),
        "{text}"
    );
    let out = einklang(&path, &["dedupe", "contact", "--dry-run", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let learnt = report["trained_m"]["first_name"].as_array().unwrap();
    assert_eq!(learnt.len(), 3);
    assert_ne!(
        learnt[0].as_f64(),
        Some(0.8),
        "the default seed moved: {report}"
    );
    // the least certain pair (where the learnt `m` show), as the pass
    // scored it and as explain scores it
    let pair = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .min_by(|x, y| {
            x["probability"]
                .as_f64()
                .partial_cmp(&y["probability"].as_f64())
                .unwrap()
        })
        .unwrap();
    let (a, b) = (pair["a"].to_string(), pair["b"].to_string());
    let p = pair["probability"].as_f64().unwrap();
    assert!(p < 0.9999, "{pair}");
    let text = stdout(&einklang(&path, &["explain", "contact", &a, &b]));
    assert!(
        text.contains(&format!("match probability {p:.4}")),
        "pass {p:.4}: {text}"
    );
}

/// Issue 10: a list of objects written to a connector that cannot fetch
/// the record first is rebuilt from the hub's values — `check` says so;
/// an `http` connector with a `get` request writes onto the remote's list.
#[test]
fn check_warns_of_lists_of_objects_a_connector_cannot_write_onto() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("einklang.toml");
    let text = |get: &str| {
        format!(
            r#"
[entities.contact]
emails = "emails"
[connectors.file]
kind = "jsonl"
path = "people.jsonl"
[connectors.espo]
kind = "http"
base_url = "https://espo.example.org/api/v1"
list = {{ path = "/Contact", records = "/list" }}
update = {{ method = "PATCH", path = "/Contact/{{id}}" }}
{get}
[map.file.contact]
id = "id"
fields = {{ emails = {{ from = "emailAddressData", each = {{ value = "emailAddress" }} }} }}
[map.espo.contact]
id = "id"
fields = {{ emails = {{ from = "emailAddressData", each = {{ value = "emailAddress" }} }} }}
[jobs.j]
sync = ["file", "espo"]
"#
        )
    };
    let out = check_of(&config, &text(""));
    assert!(
        out.contains("warning: [map.file.contact]: connector `file` cannot fetch")
            && out.contains("`emailAddressData` is rebuilt"),
        "{out}"
    );
    assert!(
        out.contains("warning: [map.espo.contact]")
            && out.contains("give the connector a `get` request"),
        "{out}"
    );
    let out = check_of(&config, &text(r#"get = { path = "/Contact/{id}" }"#));
    assert!(!out.contains("warning: [map.espo.contact]"), "{out}");
    assert!(out.contains("[map.file.contact]"), "{out}");
}

/// A change feed that tells no deletions notices a deleted record only on
/// a full read: `check` says so, and is quiet once `deletes` is given.
#[test]
fn check_warns_of_a_change_feed_without_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("einklang.toml");
    let text = |deletes: &str| {
        format!(
            r#"
[entities.contact]
name = "text"
[connectors.crm]
kind = "http"
base_url = "https://crm.example.org"
list = {{ path = "/contacts", records = "/data" }}
changes = {{ params = {{ "updated_since" = "{{since}}" }} }}
{deletes}
[map.crm.contact]
id = "id"
fields = {{ name = "name" }}
[jobs.j]
pull = "crm"
"#
        )
    };
    let out = check_of(&config, &text(""));
    assert!(
        out.contains("warning: connector `crm` reads changes without deletions")
            && out.contains("einklang sync --full"),
        "{out}"
    );
    let deletes = r#"deletes = { path = "/events", records = "/data", id = "id", params = { since = "{since}" } }"#;
    let out = check_of(&config, &text(deletes));
    assert!(out.contains(": ok ("), "{out}");
    assert!(!out.contains("reads changes without deletions"), "{out}");
}
