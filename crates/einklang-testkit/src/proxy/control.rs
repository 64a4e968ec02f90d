//! The control port of a proxy, for shell-driven runs (`curl`): plain
//! HTTP/1.1, one request per connection.
//!
//! - `POST /rules` with one rule per line (`inject status=429
//!   retry-after=1 times=1`, see [`Rule`]'s text form) adds them;
//! - `DELETE /rules` removes every rule;
//! - `GET /rules` lists the rules with their hits;
//! - `GET /counters` gives the [`super::Counters`] as `name value` lines.

use super::head::{answer, copy_body, Head};
use super::wire::Reader;
use super::{Faults, Rule};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

impl Faults {
    /// Serve the control port on `listen` (port 0: a free one) on a
    /// thread of its own; the address it listens on.
    pub fn serve_control(&self, listen: &str) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let faults = self.clone();
        std::thread::Builder::new()
            .name("faultproxy-control".into())
            .spawn(move || {
                for conn in listener.incoming().flatten() {
                    if let Err(e) = handle(conn, &faults) {
                        tracing::debug!(error = %e, "fault proxy control: request failed");
                    }
                }
            })?;
        Ok(addr)
    }
}

fn handle(conn: TcpStream, faults: &Faults) -> io::Result<()> {
    let mut reader = Reader::new(conn.try_clone()?);
    let Some(raw) = reader.head()? else {
        return Ok(());
    };
    let req = Head::parse(&raw, true)?;
    let mut body = Vec::new();
    copy_body(&mut reader, req.request_framing()?, &mut body)?;
    let (status, text) = route(
        &req.method,
        &req.target,
        &String::from_utf8_lossy(&body),
        faults,
    );
    let close = [("Connection".to_string(), "close".to_string())];
    (&conn).write_all(&answer(status, &close, &text))?;
    Ok(())
}

fn route(method: &str, path: &str, body: &str, faults: &Faults) -> (u16, String) {
    match (method, path) {
        ("GET", "/counters") => {
            let c = faults.counters();
            let lines = [
                ("connections", c.connections),
                ("requests", c.requests),
                ("forwarded", c.forwarded),
                ("answers_dropped", c.answers_dropped),
                ("resets", c.resets),
                ("delayed", c.delayed),
                ("injected", c.injected),
                ("bytes_up", c.bytes_up),
                ("bytes_down", c.bytes_down),
            ];
            (
                200,
                lines.iter().map(|(k, v)| format!("{k} {v}\n")).collect(),
            )
        }
        ("GET", "/rules") => (
            200,
            faults.describe().iter().map(|r| format!("{r}\n")).collect(),
        ),
        ("DELETE", "/rules") => {
            faults.clear();
            (200, "cleared\n".into())
        }
        ("POST", "/rules") => {
            let rules: Result<Vec<Rule>, String> = body
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::parse)
                .collect();
            match rules {
                Ok(rules) => {
                    let n = rules.len();
                    rules.into_iter().for_each(|r| {
                        faults.add(r);
                    });
                    (200, format!("added {n}\n"))
                }
                Err(e) => (400, format!("{e}\n")),
            }
        }
        _ => (404, "GET /counters, GET|POST|DELETE /rules\n".into()),
    }
}
