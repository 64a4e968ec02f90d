//! A fault proxy: a TCP proxy in front of a real server (Radicale, the
//! REST emulator, Directus, PostgreSQL) that understands enough of the
//! protocol — HTTP/1.1 or the PostgreSQL wire protocol — to fail exactly
//! the request a test names: drop the answer after the server applied the
//! request, reset the connection before it, delay the answer, or answer a
//! status of its own (`429` with `Retry-After`).
//!
//! It runs on threads of the test process ([`FaultProxy::start`]) or as
//! the `einklang-faultproxy` binary with a control port
//! ([`Faults::serve_control`]). Rules can be added and removed while
//! clients are connected; [`Counters`] say what the proxy did. Without a
//! matching rule every byte is passed on unchanged, in both directions.
//!
//! ```no_run
//! use einklang_testkit::proxy::{FaultProxy, Mode, Rule};
//! let proxy = FaultProxy::start(Mode::Http, "127.0.0.1:5232").unwrap();
//! proxy.add(Rule::drop_answer().method("PUT").once());
//! let url = format!("http://{}/alice/contacts/", proxy.addr());
//! // … a client PUTs through `url`: the server stores the card, the
//! // client's connection is closed before it sees the answer
//! assert_eq!(proxy.counters().answers_dropped, 1);
//! ```

mod control;
mod head;
mod http;
mod pg;
mod rules;
mod wire;

pub use rules::{Fault, Rule};

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// The protocol a proxy speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// HTTP/1.1 (keep-alive, Content-Length and chunked bodies).
    Http,
    /// The PostgreSQL frontend/backend protocol (SSLRequest answered `N`).
    Pg,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "http" => Ok(Mode::Http),
            "pg" => Ok(Mode::Pg),
            _ => Err(format!("unknown mode `{s}` (http, pg)")),
        }
    }
}

/// What a proxy did so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Client connections accepted.
    pub connections: u64,
    /// Requests (HTTP) or statements (PostgreSQL `Query`/`Execute`) seen.
    pub requests: u64,
    /// Of those, passed to the server.
    pub forwarded: u64,
    /// Answers the server gave that the client never got.
    pub answers_dropped: u64,
    /// Connections closed before a request was forwarded.
    pub resets: u64,
    /// Answers held back for a while.
    pub delayed: u64,
    /// Answers made up by the proxy.
    pub injected: u64,
    /// Bytes sent to the server.
    pub bytes_up: u64,
    /// Bytes read from the server (dropped answers included).
    pub bytes_down: u64,
}

/// The shared rules and counters of a proxy; clone it freely.
#[derive(Clone)]
pub struct Faults {
    shared: Arc<Shared>,
}

struct Shared {
    rules: Mutex<Vec<Armed>>,
    counters: Mutex<Counters>,
    /// Sockets of open connections, to close them when the proxy stops.
    live: Mutex<HashMap<u64, Vec<TcpStream>>>,
    stop: AtomicBool,
    next: AtomicU64,
}

/// A rule with what is left of it.
struct Armed {
    rule: Rule,
    left: Option<u32>,
    hits: u32,
}

/// Handle of an added rule, for [`Faults::hits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleId(usize);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Faults {
    fn new() -> Faults {
        Faults {
            shared: Arc::new(Shared {
                rules: Mutex::new(Vec::new()),
                counters: Mutex::new(Counters::default()),
                live: Mutex::new(HashMap::new()),
                stop: AtomicBool::new(false),
                next: AtomicU64::new(0),
            }),
        }
    }

    /// Add a rule; earlier rules are tried first.
    pub fn add(&self, rule: Rule) -> RuleId {
        tracing::debug!(%rule, "fault proxy: rule added");
        let mut rules = lock(&self.shared.rules);
        let left = rule.times;
        rules.push(Armed {
            rule,
            left,
            hits: 0,
        });
        RuleId(rules.len() - 1)
    }

    /// Remove every rule (ids handed out before no longer count).
    pub fn clear(&self) {
        lock(&self.shared.rules).clear();
    }

    /// How many requests a rule applied to.
    pub fn hits(&self, id: RuleId) -> u32 {
        lock(&self.shared.rules).get(id.0).map_or(0, |a| a.hits)
    }

    /// The rules with their hits, as text (`inject status=429 times=1: 1 hit`).
    pub fn describe(&self) -> Vec<String> {
        let rules = lock(&self.shared.rules);
        rules
            .iter()
            .map(|a| format!("{}: {} hits", a.rule, a.hits))
            .collect()
    }

    /// What the proxy did so far.
    pub fn counters(&self) -> Counters {
        lock(&self.shared.counters).clone()
    }

    pub(crate) fn count(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut lock(&self.shared.counters));
    }

    /// The fault for a request, using up one application of its rule.
    pub(crate) fn decide(&self, mode: Mode, method: &str, path: &str) -> Option<Fault> {
        let mut rules = lock(&self.shared.rules);
        let armed = rules.iter_mut().find(|a| {
            a.left != Some(0)
                && a.rule.matches(method, path)
                && !(mode == Mode::Pg && matches!(a.rule.fault, Fault::Inject { .. }))
        })?;
        if let Some(n) = &mut armed.left {
            *n -= 1;
        }
        armed.hits += 1;
        tracing::debug!(rule = %armed.rule, method, path, "fault proxy: rule applies");
        Some(armed.rule.fault.clone())
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    /// Remember a connection's sockets; the key for [`Faults::forget`].
    fn register(&self, sockets: &[&TcpStream]) -> u64 {
        let id = self.shared.next.fetch_add(1, Ordering::Relaxed);
        let clones = sockets.iter().filter_map(|s| s.try_clone().ok()).collect();
        lock(&self.shared.live).insert(id, clones);
        id
    }

    fn forget(&self, id: u64) {
        lock(&self.shared.live).remove(&id);
    }
}

/// A running proxy; stops (closing its connections) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Faults,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy on a free port of 127.0.0.1 in front of `upstream`
    /// (`host:port`, or a URL whose host and port are taken).
    pub fn start(mode: Mode, upstream: &str) -> io::Result<FaultProxy> {
        FaultProxy::start_on("127.0.0.1:0", mode, upstream)
    }

    /// A proxy listening on `listen`.
    pub fn start_on(listen: &str, mode: Mode, upstream: &str) -> io::Result<FaultProxy> {
        let upstream = resolve(upstream)?;
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let faults = Faults::new();
        let shared = faults.clone();
        let accept = std::thread::Builder::new()
            .name(format!("faultproxy-{addr}"))
            .spawn(move || accept(listener, mode, upstream, shared))?;
        tracing::debug!(%addr, %upstream, ?mode, "fault proxy: listening");
        Ok(FaultProxy {
            addr,
            faults,
            accept: Some(accept),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` — the base URL of the proxied server.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A shared handle on the rules and counters (for another thread).
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }
}

impl std::ops::Deref for FaultProxy {
    type Target = Faults;
    fn deref(&self) -> &Faults {
        &self.faults
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.faults.shared.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for sockets in lock(&self.faults.shared.live).values() {
            for s in sockets {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

/// `host:port` of an address or URL (`http://127.0.0.1:5232/alice/`).
fn resolve(upstream: &str) -> io::Result<SocketAddr> {
    let rest = upstream.split_once("://").map_or(upstream, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))
}

fn accept(listener: TcpListener, mode: Mode, upstream: SocketAddr, faults: Faults) {
    for client in listener.incoming() {
        if faults.stopping() {
            return;
        }
        let Ok(client) = client else { continue };
        faults.count(|c| c.connections += 1);
        let faults = faults.clone();
        let _ = std::thread::Builder::new()
            .name("faultproxy-conn".into())
            .spawn(move || {
                let peer = client.peer_addr().ok();
                let result = match mode {
                    Mode::Http => http::relay(client, upstream, &faults),
                    Mode::Pg => pg::relay(client, upstream, &faults),
                };
                if let Err(e) = result {
                    tracing::debug!(?peer, error = %e, "fault proxy: connection ended");
                }
            });
    }
}

/// Connect to the server for a client, both without Nagle's delay, and
/// register both sockets; the registration key.
fn connect(
    client: &TcpStream,
    upstream: SocketAddr,
    faults: &Faults,
) -> io::Result<(TcpStream, u64)> {
    let server = TcpStream::connect(upstream)?;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let id = faults.register(&[client, &server]);
    Ok((server, id))
}

/// Close both sides of a connection.
fn close(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_used_up_in_order_and_counted() {
        let f = Faults::new();
        let a = f.add(Rule::drop_answer().method("POST").once());
        let b = f.add(Rule::inject(503));
        assert_eq!(
            f.decide(Mode::Http, "GET", "/"),
            Some(Fault::Inject {
                status: 503,
                headers: vec![]
            })
        );
        assert_eq!(f.decide(Mode::Http, "POST", "/"), Some(Fault::DropAnswer));
        assert!(matches!(
            f.decide(Mode::Http, "POST", "/"),
            Some(Fault::Inject { .. })
        ));
        assert_eq!(
            f.decide(Mode::Pg, "COMMIT", "COMMIT"),
            None,
            "no injection on pg"
        );
        assert_eq!((f.hits(a), f.hits(b)), (1, 2));
        f.clear();
        assert_eq!(f.decide(Mode::Http, "GET", "/"), None);
    }

    #[test]
    fn upstreams_are_addresses_or_urls() {
        assert_eq!(resolve("127.0.0.1:80").unwrap().port(), 80);
        assert_eq!(
            resolve("http://u:p@127.0.0.1:5232/alice/").unwrap().port(),
            5232
        );
        assert_eq!(
            resolve("postgres://postgres@127.0.0.1:5433/db")
                .unwrap()
                .port(),
            5433
        );
    }
}
