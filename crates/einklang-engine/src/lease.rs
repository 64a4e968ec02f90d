//! Exclusive runs: a run holds leases on its job, the entities it touches
//! and the connectors it reads or writes ([`einklang_store::lease`]), so
//! two runs never work on the same records at once — two `einklang sync`
//! of one job, a `--watch` beside a manual sync, a dedupe beside a sync.
//!
//! [`Holding::acquire`] takes every lease at once or none: a lease a live
//! run holds makes it wait (up to [`LeaseOptions::wait`]) and then refuse
//! with [`EngineError::Busy`], which names the run, its process and start
//! time. While the run goes on, a keeper thread on a connection of its own
//! renews the leases; the store handle the run writes through is fenced,
//! so a run that lost its leases (paused past their expiry and taken over)
//! fails its next commit instead of writing. [`Holding::release`] stops
//! the keeper and gives the leases back. A process that dies never
//! releases: its leases expire (at once on the same host, where its dead
//! process id is seen), and the next run to take them marks its run
//! `abandoned`.

use crate::EngineError;
use einklang_store::lease::hostname;
use einklang_store::{Fence, HubStore, LeaseRequest, LeaseRow, Leases, RunId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a run takes its leases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseOptions {
    /// How long to wait for a lease another run holds (`None`: refuse at once).
    pub wait: Option<Duration>,
    /// How long a lease lives without renewal; renewed every sixth of it.
    pub ttl: Duration,
    /// Tests only: take no leases at all.
    pub disabled: bool,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        Self {
            wait: None,
            ttl: Duration::from_secs(30),
            disabled: false,
        }
    }
}

/// The leases a run holds, with their keeper.
pub struct Holding {
    tenant: String,
    holder: String,
    /// How long the leases live without renewal (`None`: not taken).
    ttl: Option<Duration>,
    stop: Option<Sender<()>>,
    lost: Arc<AtomicBool>,
    /// When the leases were last renewed (by the keeper or [`Holding::renew`]).
    renewed: Arc<Mutex<Instant>>,
    keeper: Option<JoinHandle<()>>,
}

impl Holding {
    /// Take `names` for `job` (started by `by`), waiting as `options`
    /// say; fences `store` to them and starts the keeper.
    pub fn acquire(
        store: &mut dyn HubStore,
        tenant: &str,
        names: Vec<String>,
        (job, by): (&str, &str),
        options: &LeaseOptions,
    ) -> Result<Holding, EngineError> {
        let request = LeaseRequest {
            names,
            holder: token(),
            job: job.to_string(),
            triggered_by: by.to_string(),
            pid: std::process::id(),
            host: hostname(),
            ttl: options.ttl,
        };
        let mut holding = Holding {
            tenant: tenant.to_string(),
            holder: request.holder.clone(),
            ttl: None,
            stop: None,
            lost: Arc::new(AtomicBool::new(false)),
            renewed: Arc::new(Mutex::new(Instant::now())),
            keeper: None,
        };
        if options.disabled {
            return Ok(holding);
        }
        holding.ttl = Some(options.ttl);
        take(store, tenant, &request, options.wait)?;
        tracing::debug!(holder = %request.holder, leases = ?request.names, "leases taken");
        store.set_fence(Some(Fence {
            holder: request.holder.clone(),
            count: request.names.len(),
        }));
        if let Some(other) = store.reopen()? {
            holding.start_keeper(other, options.ttl);
        }
        Ok(holding)
    }

    /// The holder token (as stored with the leases).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Record the run the leases protect.
    pub fn attach(&self, store: &mut dyn HubStore, run: RunId) -> Result<(), EngineError> {
        Ok(store.attach_run(&self.tenant, &self.holder, run)?)
    }

    /// Renew the leases through `store` itself: for a run that commits
    /// long transactions back to back, between which the keeper's own
    /// connection may not get the store. A failed renewal is left to the
    /// keeper and the fence (the next write finds leases lost).
    pub fn renew(&self, store: &mut dyn HubStore) {
        let Some(ttl) = self.ttl else { return };
        match store.renew_leases(&self.tenant, &self.holder, ttl) {
            Ok(true) => *self.renewed.lock().expect("renewal time") = Instant::now(),
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(holder = %self.holder, error = %e, "renewing the run's leases failed")
            }
        }
    }

    /// Whether the keeper found the leases taken over.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Stop the keeper, lift the fence and give the leases back.
    pub fn release(mut self, store: &mut dyn HubStore) -> Result<(), EngineError> {
        self.stop_keeper();
        store.set_fence(None);
        store.release_leases(&self.tenant, &self.holder)?;
        tracing::debug!(holder = %self.holder, "leases given back");
        Ok(())
    }

    fn start_keeper(&mut self, mut other: Box<dyn Leases>, ttl: Duration) {
        let (tx, rx) = channel::<()>();
        let (tenant, holder, lost) = (self.tenant.clone(), self.holder.clone(), self.lost.clone());
        let renewed = self.renewed.clone();
        let every = ttl / 6;
        self.keeper = Some(std::thread::spawn(move || {
            let since = || renewed.lock().expect("renewal time").elapsed();
            loop {
                match rx.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return, // released (or the holding was dropped)
                }
                match other.renew_leases(&tenant, &holder, ttl) {
                    Ok(true) => *renewed.lock().expect("renewal time") = Instant::now(),
                    Ok(false) => {
                        tracing::error!(%holder, "the run's leases were taken over; it stops at its next commit");
                        lost.store(true, Ordering::Relaxed);
                        return;
                    }
                    // a busy store (a long transaction) is normal for a while
                    Err(e) if since() < ttl / 2 => {
                        tracing::debug!(%holder, error = %e, "renewing the run's leases failed; trying again")
                    }
                    Err(e) => {
                        tracing::warn!(%holder, error = %e, "renewing the run's leases keeps failing; they expire unless a renewal succeeds")
                    }
                }
            }
        }));
        self.stop = Some(tx);
    }

    fn stop_keeper(&mut self) {
        self.stop.take();
        if let Some(k) = self.keeper.take() {
            let _ = k.join();
        }
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.stop_keeper();
    }
}

/// Acquire, waiting up to `wait` for a live holder to finish.
fn take(
    store: &mut dyn HubStore,
    tenant: &str,
    request: &LeaseRequest,
    wait: Option<Duration>,
) -> Result<(), EngineError> {
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        let held = match store.acquire_leases(tenant, request)? {
            Ok(()) => return Ok(()),
            Err(row) => row,
        };
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match left {
            Some(left) if !left.is_zero() => {
                std::thread::sleep(left.min(Duration::from_millis(250)));
            }
            _ => {
                return Err(EngineError::Busy {
                    held: Box::new(held),
                    waited: wait,
                })
            }
        }
    }
}

/// A holder token unique to this attempt: process, time and randomness.
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{}-{:016x}", std::process::id(), h.finish())
}

/// What a lease names, for messages: `job \`x\``, `connector \`crm\``.
pub fn describe(name: &str) -> String {
    match name.split_once(':') {
        Some((kind, what)) => format!("{kind} `{what}`"),
        None => format!("`{name}`"),
    }
}

/// The refusal message for a lease a live run holds.
pub fn busy_message(held: &LeaseRow, waited: Option<Duration>) -> String {
    let run = match held.run_id {
        Some(id) => format!("run {id}"),
        None => "a run that is starting".to_string(),
    };
    let waited = match waited {
        Some(w) => format!(" (waited {}s)", w.as_secs()),
        None => String::new(),
    };
    format!(
        "{} is in use by {run} of `{}` (started by {}, process {} on {}, since {}){waited}; \
         wait for it with --wait SECONDS or try again later",
        describe(&held.name),
        held.job,
        held.triggered_by,
        held.pid,
        held.host,
        held.acquired_at.format("%Y-%m-%d %H:%M:%S UTC"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ() {
        assert_ne!(token(), token());
    }

    #[test]
    fn busy_names_the_run_process_and_start() {
        let held = LeaseRow {
            name: "job:contacts".into(),
            holder: "x".into(),
            run_id: Some(17),
            job: "contacts".into(),
            triggered_by: "cli".into(),
            pid: 4242,
            host: "office".into(),
            acquired_at: chrono::DateTime::parse_from_rfc3339("2026-12-06T06:00:00Z")
                .unwrap()
                .into(),
            expires_at: chrono::Utc::now(),
        };
        let m = busy_message(&held, None);
        for part in [
            "job `contacts`",
            "run 17",
            "process 4242 on office",
            "2026-12-06 06:00:00",
        ] {
            assert!(m.contains(part), "{m}");
        }
    }
}
