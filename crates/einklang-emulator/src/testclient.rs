//! A small blocking HTTP client for the in-process tests (ureq, statuses
//! as values, never as errors).

#![allow(dead_code)] // each system's tests use a part of it

use serde_json::Value;
use std::collections::HashMap;

/// An answer: status, headers (lower-case names) and body.
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Reply {
    /// The body as JSON (`null` when it is empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// Send `method url` with headers and an optional body.
pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.unwrap_or("").to_string()).unwrap();
    let mut res = agent.run(req).unwrap();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let status = res.status().as_u16();
    let body = res.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

/// `GET url` with headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    call("GET", url, headers, None)
}

/// `method url` with a JSON body.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut all = headers.to_vec();
    all.push(("Content-Type", "application/json"));
    call(method, url, &all, Some(&body.to_string()))
}
