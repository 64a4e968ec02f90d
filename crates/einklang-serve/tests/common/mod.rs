//! A hub for the service's tests: a CSV source, two jobs, tokens of every
//! role for the config's tenant and one of another tenant.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use einklang_config::Config;
use einklang_serve::{Kick, Shared};
use einklang_store::{HubStore, Role};
use http_body_util::BodyExt;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

pub struct Hub {
    pub dir: tempfile::TempDir,
    pub config: Arc<Config>,
    pub shared: Arc<Shared>,
}

pub const CONFIG: &str = r#"
store = "hub.db"
tenant = "acme"

[entities.contact]
name = "text"
email = "text"

[connectors.people]
kind = "csv"
path = "people.csv"

[map.people.contact]
id = "id"
fields = { name = "name", email = "email" }

[jobs.import]
pull = ["people"]

[jobs.nightly]
pull = ["people"]
schedule = "0 3 * * *"
tz = "Europe/Berlin"
"#;

pub fn hub() -> Hub {
    hub_with(CONFIG, None)
}

/// A hub over `config` (its `store` replaced by `store` when given).
pub fn hub_with(config: &str, store: Option<&str>) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "id,name,email\n1,Anna Berg,anna@example.org\n2,Bo Lind,bo@example.org\n",
    )
    .unwrap();
    let text = match store {
        Some(url) => config.replace("store = \"hub.db\"", &format!("store = \"{url}\"")),
        None => config.to_string(),
    };
    let path = dir.path().join("einklang.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Arc::new(load(&path));
    let mut s = open(&config);
    for (tenant, name, role) in [
        ("acme", "view", Role::Viewer),
        ("acme", "ops", Role::Operator),
        ("acme", "root", Role::Admin),
        ("other", "ops", Role::Operator),
    ] {
        let token = token_of(tenant, name);
        assert!(s
            .add_token(tenant, name, role, &einklang_serve::auth::hash(&token))
            .unwrap());
    }
    let shared = Shared::new(
        Arc::clone(&config),
        s,
        Arc::new(Kick::default()),
        Default::default(),
    )
    .unwrap();
    Hub {
        dir,
        config,
        shared,
    }
}

pub fn load(path: &Path) -> Config {
    let text = std::fs::read_to_string(path).unwrap();
    einklang_config::load_str(&text, path, &|v| std::env::var(v).ok()).unwrap()
}

pub fn open(config: &Config) -> Box<dyn HubStore> {
    einklang_store::open(&config.store.as_open_str()).unwrap()
}

/// The test's token text for (tenant, name): fixed, so cases can name it.
pub fn token_of(tenant: &str, name: &str) -> String {
    format!("ek_test_{tenant}_{name}")
}

/// Send a request through the router (no port); status and JSON body.
pub async fn call(
    hub: &Hub,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let response = einklang_serve::app(Arc::clone(&hub.shared))
        .oneshot(req)
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    if !json.is_null() {
        conforms(method, uri, status, &json);
    }
    (status, json, headers)
}

/// One worker of the hub's queue, on a thread of its own, sharing the
/// hub's live progress; stop it with the returned kick's `stop`.
pub fn worker(hub: &Hub) -> (Arc<Kick>, std::thread::JoinHandle<()>) {
    let config = Arc::clone(&hub.config);
    let live = Arc::clone(&hub.shared.live);
    let kick = Arc::new(Kick::default());
    let k = Arc::clone(&kick);
    let handle = std::thread::spawn(move || {
        let mut store = open(&config);
        let poll = std::time::Duration::from_millis(20);
        einklang_serve::worker::work(&config, store.as_mut(), ("w", &live), &k, poll)
    });
    (kick, handle)
}

/// `GET /api/runs/{id}` as `token` until the run has ended (or 10 s have
/// passed): the run as last seen.
pub async fn run_until_over(hub: &Hub, id: i64, token: &str) -> serde_json::Value {
    let mut run = serde_json::Value::Null;
    for _ in 0..500 {
        run = call(hub, "GET", &format!("/api/runs/{id}"), Some(token), None)
            .await
            .1;
        if run["status"] != "queued" && run["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    run
}

/// The OpenAPI document as JSON, built once.
fn document() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(einklang_serve::api::openapi()).unwrap())
}

/// Panic unless a JSON answer to `method uri` fits the schema the
/// document gives for its status: every test that calls the API through
/// [`call`] checks the document against what is really sent.
pub fn conforms(method: &str, uri: &str, status: StatusCode, body: &serde_json::Value) {
    let doc = document();
    let path = uri.split('?').next().unwrap_or(uri);
    let template = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(t, item)| item.get(method.to_lowercase()).is_some() && template_matches(t, path))
        .max_by_key(|(t, _)| t.split('/').filter(|s| !s.starts_with('{')).count())
        .map(|(t, _)| t.clone());
    let Some(template) = template else {
        return; // not a documented route (the 404 of a router)
    };
    let op = &doc["paths"][&template][method.to_lowercase()];
    let answer = &op["responses"][status.as_str()];
    assert!(
        !answer.is_null(),
        "{method} {uri} answered {status}, which the document does not list: {body}"
    );
    let Some(schema) = answer["content"]["application/json"].get("schema") else {
        return; // documented without a JSON body (text, events, 204)
    };
    if let Err(misfit) = fits(schema, body, "$") {
        panic!("{method} {uri} → {status}: the answer does not fit its schema at {misfit}\n{body}");
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

/// Whether `value` fits `schema` — the part of JSON Schema utoipa writes:
/// `$ref`, `type` (one or a list), `properties` with `required`,
/// `additionalProperties`, `items`, `enum`, `oneOf`/`anyOf`/`allOf`. A
/// checker of this subset is a few lines; a JSON Schema crate would bring
/// a regex engine and an HTTP client into the test build.
fn fits(schema: &serde_json::Value, value: &serde_json::Value, at: &str) -> Result<(), String> {
    use serde_json::Value;
    if let Some(Value::String(r)) = schema.get("$ref") {
        let name = r.trim_start_matches("#/components/schemas/");
        return fits(&document()["components"]["schemas"][name], value, at);
    }
    for (key, all) in [("allOf", true), ("oneOf", false), ("anyOf", false)] {
        if let Some(Value::Array(options)) = schema.get(key) {
            let ok = options
                .iter()
                .filter(|s| fits(s, value, at).is_ok())
                .count();
            if (all && ok < options.len()) || (!all && ok == 0) {
                return Err(format!("{at} ({key})"));
            }
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        if !options.contains(value) {
            return Err(format!("{at}: {value} is none of {options:?}"));
        }
    }
    let kinds: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let typed = kinds.is_empty()
        || kinds.contains(&kind)
        || (kind == "integer" && kinds.contains(&"number"));
    if !typed {
        return Err(format!("{at}: a {kind}, the schema says {kinds:?}"));
    }
    match value {
        Value::Object(fields) => {
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                if !fields.contains_key(name) {
                    return Err(format!("{at}.{name}: required, missing"));
                }
            }
            for (name, v) in fields {
                let at = format!("{at}.{name}");
                match schema["properties"].get(name) {
                    Some(s) => fits(s, v, &at)?,
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => return Err(format!("{at}: not in the schema")),
                        Some(s @ Value::Object(_)) => fits(s, v, &at)?,
                        // a struct's schema lists every field it sends
                        _ if schema.get("properties").is_some() => {
                            return Err(format!("{at}: sent, but not in the schema"))
                        }
                        _ => {}
                    },
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    fits(s, v, &format!("{at}[{i}]"))?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}
