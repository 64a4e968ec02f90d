//! Rate limits that hold: a sliding window that never lets more than `n`
//! requests of one API account start within any `span` (one second for a
//! `rate_limit` of 1 or more).
//!
//! A request takes a slot when it starts and keeps it until `span` after
//! its answer came (or its transport failed). The server counts a request
//! when it arrives, somewhere between its start and its answer, so a new
//! request that starts only once the oldest slot is free arrives at least
//! `span` after the request it replaces was counted — whatever the
//! network did in between. With requests in flight at once (several
//! threads of one account), those in flight hold their slots too.
//!
//! Windows are shared by every client of the process with the same
//! account ([`account`]: the API's origin and a hash of its credentials),
//! like the OAuth2 token cache: the instances of one connector, or two
//! connectors with the same base URL and credentials, share one window.
//! When they name different rates, the strictest holds for all.
//!
//! [`Window`] is the pure bookkeeping (times are arguments, so tests drive
//! it with a clock of their own); [`Limiter`] waits on it.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The requests allowed per window and the window's length for a rate in
/// requests per second: `n = max(1, ⌊rate⌋)` per `max(1 s, n / rate)` — a
/// fraction rounds down (2.5 → 2 per second), a rate below 1 is one
/// request every `1 / rate` seconds.
pub fn shape(rate: f64) -> (usize, Duration) {
    let n = rate.floor().max(1.0);
    let span = (n / rate).max(1.0);
    (n as usize, Duration::from_secs_f64(span))
}

/// One slot of the window: in flight, or done at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    InFlight(u64),
    Done(Instant),
}

/// The last `n` requests of one account.
#[derive(Debug)]
pub struct Window {
    rate: f64,
    n: usize,
    span: Duration,
    slots: VecDeque<Slot>,
    next_id: u64,
}

impl Window {
    /// An empty window for `rate` requests per second.
    pub fn new(rate: f64) -> Window {
        let (n, span) = shape(rate);
        Window {
            rate,
            n,
            span,
            slots: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Keep the stricter of this window's rate and `rate`.
    fn tighten(&mut self, rate: f64) {
        if rate < self.rate {
            (self.n, self.span) = shape(rate);
            self.rate = rate;
        }
    }

    /// Start a request at `now`: its ticket, or how long to wait before
    /// asking again (`None`: until a request in flight is done).
    pub fn try_start(&mut self, now: Instant) -> Result<u64, Option<Duration>> {
        let span = self.span;
        self.slots
            .retain(|s| !matches!(s, Slot::Done(at) if now.saturating_duration_since(*at) >= span));
        if self.slots.len() < self.n {
            self.next_id += 1;
            self.slots.push_back(Slot::InFlight(self.next_id));
            return Ok(self.next_id);
        }
        Err(self
            .slots
            .iter()
            .filter_map(|s| match s {
                Slot::Done(at) => Some((*at + span).saturating_duration_since(now)),
                Slot::InFlight(_) => None,
            })
            .min())
    }

    /// The request of `ticket` got its answer (or failed) at `now`.
    pub fn finish(&mut self, ticket: u64, now: Instant) {
        if let Some(s) = self
            .slots
            .iter_mut()
            .find(|s| **s == Slot::InFlight(ticket))
        {
            *s = Slot::Done(now);
        }
    }
}

/// A window shared by the clients of one account, and the waiting on it.
#[derive(Debug)]
pub struct Limiter {
    window: Mutex<Window>,
    freed: Condvar,
}

/// A started request's slot; dropping it marks the request done.
pub struct Permit<'a> {
    limiter: &'a Limiter,
    ticket: u64,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.lock().finish(self.ticket, Instant::now());
        self.limiter.freed.notify_all();
    }
}

impl Limiter {
    /// A limiter of its own (not shared), for `rate` requests per second.
    pub fn new(rate: f64) -> Limiter {
        Limiter {
            window: Mutex::new(Window::new(rate)),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait until a request may start; hold the permit until its answer
    /// is read.
    pub fn start(&self) -> Permit<'_> {
        let mut window = self.lock();
        loop {
            match window.try_start(Instant::now()) {
                Ok(ticket) => {
                    return Permit {
                        limiter: self,
                        ticket,
                    }
                }
                Err(wait) => {
                    // a request in flight is waited for without a timeout
                    // only in name: it ends by its own timeout
                    let wait = wait.unwrap_or(Duration::from_secs(1));
                    window = self
                        .freed
                        .wait_timeout(window, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

/// An account's key: a hash of the API's origin and its credentials.
pub type Account = [u8; 32];

/// The account of an origin (`https://host:port`) and the parts that
/// identify the credentials (a secret is only ever hashed).
pub fn account(origin: &str, identity: &[&str]) -> Account {
    let mut h = Sha256::new();
    h.update(origin.to_ascii_lowercase().as_bytes());
    for part in identity {
        h.update([0]);
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// `scheme://host[:port]` of a URL (the whole text when it has no path).
pub fn origin(url: &str) -> &str {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after..].find(['/', '?', '#']) {
        Some(i) => &url[..after + i],
        None => url,
    }
}

static SHARED: LazyLock<Mutex<HashMap<Account, Arc<Limiter>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The process-wide limiter of an account, at the stricter of its rate
/// so far and `rate`.
pub fn shared(account: Account, rate: f64) -> Arc<Limiter> {
    let mut all = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let limiter = all
        .entry(account)
        .or_insert_with(|| Arc::new(Limiter::new(rate)))
        .clone();
    limiter.lock().tighten(rate);
    limiter
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shapes() {
        assert_eq!(shape(7.0), (7, Duration::from_secs(1)));
        assert_eq!(shape(2.5), (2, Duration::from_secs(1)));
        assert_eq!(shape(0.5), (1, Duration::from_secs(2)));
        assert_eq!(shape(1.0), (1, Duration::from_secs(1)));
    }

    #[test]
    fn origins_and_accounts() {
        assert_eq!(
            origin("https://x.kommo.com/api/v4?a=1"),
            "https://x.kommo.com"
        );
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(
            account("https://X.kommo.com", &["k"]),
            account("https://x.kommo.com", &["k"])
        );
        assert_ne!(
            account("https://x.kommo.com", &["k"]),
            account("https://x.kommo.com", &["other"])
        );
        assert_ne!(
            account("https://x.kommo.com", &["a", "b"]),
            account("https://x.kommo.com", &["ab"])
        );
    }

    #[test]
    fn a_shared_window_takes_the_stricter_rate() {
        let key = account("http://strict.invalid", &["t"]);
        let a = shared(key, 7.0);
        let b = shared(key, 3.0);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.lock().n, 3);
        shared(key, 10.0);
        assert_eq!(a.lock().n, 3);
    }

    /// Requests of one caller on a simulated clock, each asked for `gap` ms
    /// after the last answer and taking `took` ms: (start, answer) of each.
    fn simulate(rate: f64, asks: &[(u64, u64)]) -> Vec<(Duration, Duration)> {
        let t0 = Instant::now();
        let mut w = Window::new(rate);
        let mut now = Duration::ZERO;
        let mut done = Vec::new();
        for &(gap, took) in asks {
            now += Duration::from_millis(gap);
            let ticket = loop {
                match w.try_start(t0 + now) {
                    Ok(t) => break t,
                    Err(wait) => now += wait.expect("nothing in flight"),
                }
            };
            let start = now;
            now += Duration::from_millis(took);
            w.finish(ticket, t0 + now);
            done.push((start, now));
        }
        done
    }

    proptest! {
        /// No window of `span` ever holds more than `n` starts, and the
        /// `n`-th request after one starts no sooner than `span` after its
        /// answer (so the server, counting arrivals, never sees more).
        #[test]
        fn no_window_holds_more_than_n(
            rate in prop_oneof![Just(7.0), Just(2.5), Just(0.5), 1.0f64..20.0],
            asks in proptest::collection::vec((0u64..400, 0u64..300), 1..80),
        ) {
            let (n, span) = shape(rate);
            let done = simulate(rate, &asks);
            for (i, (start, _)) in done.iter().enumerate() {
                let within = done[i..].iter().filter(|(s, _)| *s < *start + span).count();
                prop_assert!(within <= n, "{within} starts within {span:?} from {start:?}");
                if let Some((later, _)) = done.get(i + n) {
                    prop_assert!(*later >= done[i].1 + span);
                }
            }
        }
    }

    #[test]
    fn threads_of_one_account_share_the_window() {
        let limiter = Arc::new(Limiter::new(5.0));
        let starts = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (limiter, starts) = (limiter.clone(), starts.clone());
                std::thread::spawn(move || {
                    for _ in 0..4 {
                        let _p = limiter.start();
                        starts.lock().unwrap().push(Instant::now());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut starts = starts.lock().unwrap().clone();
        starts.sort();
        assert_eq!(starts.len(), 12);
        for (i, s) in starts.iter().enumerate() {
            let within = starts[i..]
                .iter()
                .filter(|t| t.duration_since(*s) < Duration::from_secs(1))
                .count();
            assert!(within <= 5, "{within} starts in one second");
        }
    }
}
