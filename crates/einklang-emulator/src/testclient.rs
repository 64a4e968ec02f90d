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

/// A request a [`Sink`] received.
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// A local HTTP receiver (of webhooks) answering every request with one
/// status; what it received, in order.
pub struct Sink {
    pub url: String,
    got: std::sync::mpsc::Receiver<Received>,
}

impl Sink {
    /// A receiver on a free port answering `status`.
    pub fn start(status: u16) -> Sink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, got) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(r) = receive(stream, status) {
                    let _ = tx.send(r);
                }
            }
        });
        Sink { url, got }
    }

    /// The next request received (waits up to 5 s).
    pub fn next(&self) -> Option<Received> {
        self.got
            .recv_timeout(std::time::Duration::from_secs(5))
            .ok()
    }
}

fn receive(mut stream: std::net::TcpStream, status: u16) -> Option<Received> {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut headers = HashMap::new();
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        match line.trim_end().split_once(':') {
            Some((k, v)) => headers.insert(k.trim().to_lowercase(), v.trim().to_string()),
            None => break,
        };
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let answer =
        format!("HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(answer.as_bytes()).ok()?;
    Some(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Send `method url` over a fresh connection and return every byte the
/// server sent before closing it (an error reading counts as the end): a
/// lost answer is no bytes at all, where `call` would only see an error.
pub fn raw(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    stream
        .write_all(format!("{head}\r\n{body}").as_bytes())
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}
