//! A port's connections, served one by one with hyper so that the
//! internet cannot starve the sync (the API and webhooks of `einklang
//! serve`, the webhook port of `sync --watch --listen`):
//!
//! - **Timeouts.** hyper's `header_read_timeout` closes a connection
//!   whose request headers are not complete in time — also an idle
//!   kept-alive one, since the timer runs while hyper waits for the next
//!   request; the body has its own deadline (`body`).
//! - **A cap on connections.** At most `max` are open. Over it, the
//!   oldest connection without a request in progress (idle, or still
//!   sending headers) is closed to make room, so idle sockets can never
//!   lock out a real call or `/healthz`; when every connection has a
//!   request in progress, the new one is answered 503 at once and
//!   closed. Open sockets — the process's file descriptors — stay
//!   bounded by the cap, and the default cap is a quarter of the
//!   open-file limit, leaving the sync its files and sockets.
//! - **Accept errors** (`EMFILE` and the like) are retried after a pause,
//!   reported once per streak.
//! - **Small heads.** A request head over 16 KiB is refused by hyper.

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The largest request head (request line and headers) read.
const MAX_HEAD: usize = 16 * 1024;

/// The answer to a connection over the cap.
const BUSY: &str = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 34\r\nretry-after: 1\r\nconnection: close\r\n\r\n{\"error\":\"too many connections\"}\r\n";

/// The default cap: a quarter of the soft open-file limit, 16 to 1024.
pub fn default_max_connections() -> usize {
    #[cfg(unix)]
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    #[cfg(not(unix))]
    let limit = None;
    cap_for(limit)
}

/// The cap for an open-file limit (`None`: unlimited or unknown).
fn cap_for(open_files: Option<u64>) -> usize {
    open_files.map_or(1024, |n| (n / 4).clamp(16, 1024) as usize)
}

/// Accept and serve connections until `stop` completes; then wait up
/// to [`DRAIN`] for the requests in progress to be answered (a call
/// cut off later was never answered, so its sender sends it again).
pub async fn run(
    listener: TcpListener,
    app: Router,
    (slots, header_timeout): (Arc<Slots>, Duration),
    stop: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD);
    let mut failing = false;
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "the port cannot accept connections (retrying)");
                }
                failing = true;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        failing = false;
        let Some(slot) = slots.admit() else {
            refuse(&stream);
            continue;
        };
        let service = tracked(app.clone(), slot.conn.clone());
        let conn = http.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(slot.serve(conn));
    }
    let until = tokio::time::Instant::now() + DRAIN;
    while slots.busy() > 0 && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How long a stopped port waits for the requests in progress.
pub const DRAIN: Duration = Duration::from_secs(5);

/// Answer 503 without waiting (a full send buffer drops it) and close.
fn refuse(stream: &TcpStream) {
    let _ = stream.try_write(BUSY.as_bytes());
}

/// The router, counting the requests in progress on one connection.
fn tracked(
    app: Router,
    conn: Arc<Conn>,
) -> impl Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Send
       + 'static {
    let service = TowerToHyperService::new(app);
    hyper::service::service_fn(move |request| {
        let busy = Busy::enter(conn.clone());
        let answer = service.call(request);
        async move {
            let _busy = busy;
            answer.await
        }
    })
}

/// The open connections, oldest first.
pub struct Slots {
    max: usize,
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next: AtomicU64,
}

/// One open connection.
#[derive(Default)]
struct Conn {
    /// Requests in progress (headers read, answer not yet given).
    requests: AtomicUsize,
    /// Told to close, to make room.
    evict: Notify,
}

/// A connection's place among the open ones; given back when dropped.
pub struct Slot {
    id: u64,
    conn: Arc<Conn>,
    slots: Arc<Slots>,
}

impl Slots {
    /// Room for `max` connections.
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max,
            open: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().expect("slots").len()
    }

    /// Connections with a request in progress.
    pub fn busy(&self) -> usize {
        let open = self.open.lock().expect("slots");
        open.values()
            .filter(|c| c.requests.load(Ordering::Acquire) > 0)
            .count()
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A place for a new connection, closing the oldest idle one when
    /// full; `None` when every open connection has a request in progress.
    fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut open = self.open.lock().expect("slots");
        if open.len() >= self.max {
            let idle = open
                .iter()
                .find(|(_, c)| c.requests.load(Ordering::Acquire) == 0)
                .map(|(id, _)| *id)?;
            if let Some(evicted) = open.remove(&idle) {
                evicted.evict.notify_one();
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::default());
        open.insert(id, conn.clone());
        Some(Slot {
            id,
            conn,
            slots: self.clone(),
        })
    }
}

impl Slot {
    /// Serve `connection` until it ends or is evicted.
    async fn serve(self, connection: impl Future) {
        let evicted = self.conn.evict.notified();
        tokio::select! {
            _ = connection => {}
            _ = evicted => {}
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.open.lock().expect("slots").remove(&self.id);
    }
}

/// A request in progress on a connection.
struct Busy(Arc<Conn>);

impl Busy {
    fn enter(conn: Arc<Conn>) -> Busy {
        conn.requests.fetch_add(1, Ordering::AcqRel);
        Busy(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_is_a_quarter_of_the_open_files_from_16_to_1024() {
        assert_eq!(cap_for(Some(256)), 64);
        assert_eq!(cap_for(Some(20_000)), 1024);
        assert_eq!(cap_for(Some(32)), 16);
        assert_eq!(cap_for(None), 1024);
    }

    #[test]
    fn the_busy_answer_has_its_length_right() {
        let (_, body) = BUSY.split_once("\r\n\r\n").unwrap();
        assert!(BUSY.contains(&format!("content-length: {}\r\n", body.len())));
    }

    #[test]
    fn over_the_cap_the_oldest_idle_connection_makes_room() {
        let slots = Slots::new(2);
        let a = slots.admit().unwrap();
        let b = slots.admit().unwrap();
        let busy_a = Busy::enter(a.conn.clone());
        let c = slots.admit().expect("b is idle: it makes room");
        assert_eq!(slots.open(), 2);
        assert!(slots.open.lock().unwrap().contains_key(&a.id), "a is busy");
        assert!(!slots.open.lock().unwrap().contains_key(&b.id), "b evicted");
        let _busy_c = Busy::enter(c.conn.clone());
        assert!(slots.admit().is_none(), "all busy: refused");
        drop(busy_a);
        assert!(slots.admit().is_some(), "a idle again");
        drop((b, c));
    }
}
