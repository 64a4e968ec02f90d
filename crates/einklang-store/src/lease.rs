//! Leases: which run may write what, now.
//!
//! A run takes a set of named leases before it starts (its job, the
//! entities it touches, the connectors it reads or writes) — all of them in
//! one transaction, or none. A lease carries its holder (a random token of
//! the process's run), the run it belongs to, the process id and host, and
//! an expiry that the holder keeps pushing forward while it runs
//! ([`Leases::renew_leases`], from a keeper thread on a connection of its
//! own). When the process dies the lease is not renewed and expires; on the
//! same host a dead process id frees it at once. Whoever takes an expired
//! lease marks the run that held it `abandoned`.
//!
//! A **fence** makes a lease more than advice: once set on a store handle
//! ([`Leases::set_fence`]), every write transaction of that handle first
//! checks, inside the same transaction, that the holder still holds all of
//! its leases unexpired, and fails with [`crate::StoreError::LeaseLost`]
//! otherwise. A run that was paused past its expiry and taken over writes
//! nothing more.
//!
//! Times: SQLite compares the process clock (one machine); PostgreSQL
//! compares the server's `now()`, so several machines agree.

use crate::{Result, RunId};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What a run asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRequest {
    /// Lease names (`job:NAME`, `entity:NAME`, `connector:NAME`).
    pub names: Vec<String>,
    /// The holder's token: unique per run attempt.
    pub holder: String,
    /// The job (or command) the run does, for messages.
    pub job: String,
    /// Who started it, for messages.
    pub triggered_by: String,
    /// The holder's process id.
    pub pid: u32,
    /// The holder's host name.
    pub host: String,
    /// How long the lease lives without a renewal.
    pub ttl: Duration,
}

/// A lease as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRow {
    /// Lease name.
    pub name: String,
    /// Holder token.
    pub holder: String,
    /// The run it belongs to (None until the run is recorded).
    pub run_id: Option<RunId>,
    /// Job or command.
    pub job: String,
    /// Who started it.
    pub triggered_by: String,
    /// Process id of the holder.
    pub pid: u32,
    /// Host of the holder.
    pub host: String,
    /// When it was taken.
    pub acquired_at: DateTime<Utc>,
    /// When it expires unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl LeaseRow {
    /// Whether the lease no longer protects anything: expired at `now`,
    /// or held by a process of this host that no longer exists.
    pub fn is_stale(&self, now: DateTime<Utc>, this_host: &str) -> bool {
        self.expires_at <= now || (self.host == this_host && process_gone(self.pid))
    }
}

/// The fence of a store handle (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// Holder token.
    pub holder: String,
    /// How many leases it must still hold.
    pub count: usize,
}

/// Leases and the runs they protect. Implemented by both stores.
pub trait Leases: Send {
    /// Take every lease of `request` at once, or none: `Ok(Err(row))`
    /// names a lease a live holder has. Stale leases among them are
    /// taken over and the runs they protected are marked `abandoned`.
    fn acquire_leases(
        &mut self,
        tenant: &str,
        request: &LeaseRequest,
    ) -> Result<std::result::Result<(), LeaseRow>>;
    /// Record the run a holder's leases protect.
    fn attach_run(&mut self, tenant: &str, holder: &str, run: RunId) -> Result<()>;
    /// Push the expiry of every lease of `holder` to now + `ttl`;
    /// `false` when it holds none any more (they expired and were taken).
    fn renew_leases(&mut self, tenant: &str, holder: &str, ttl: Duration) -> Result<bool>;
    /// Give up every lease of `holder`.
    fn release_leases(&mut self, tenant: &str, holder: &str) -> Result<()>;
    /// Every lease of the tenant (live or not), by name.
    fn leases(&mut self, tenant: &str) -> Result<Vec<LeaseRow>>;
    /// Mark `abandoned` every `running` run whose lease went stale, and
    /// every one that started more than `grace` ago and that no live lease
    /// protects (its process died before it took one); returns their ids.
    fn reap_abandoned(&mut self, tenant: &str, grace: Duration) -> Result<Vec<RunId>>;
    /// Check every later write transaction of this handle against the
    /// fence (`None`: no check).
    fn set_fence(&mut self, fence: Option<Fence>);
    /// Another connection to the same store (for a keeper thread), or
    /// `None` for a store no other connection can see (in-memory SQLite).
    fn reopen(&self) -> Result<Option<Box<dyn Leases>>>;
}

/// The message a run abandoned by its process gets.
pub const ABANDONED: &str =
    "the process running this run stopped without finishing (its lease expired)";

/// This machine's host name (for telling whether a lease's process is ours).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether process `pid` of this host is known to be gone. Only where
/// `/proc` tells (Linux); elsewhere a lease waits for its expiry.
pub fn process_gone(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

/// Expiry time `ttl` after `now`.
pub(crate) fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(host: &str, pid: u32, expires_in: i64) -> LeaseRow {
        let now = Utc::now();
        LeaseRow {
            name: "job:x".into(),
            holder: "h".into(),
            run_id: None,
            job: "x".into(),
            triggered_by: "cli".into(),
            pid,
            host: host.into(),
            acquired_at: now,
            expires_at: now + chrono::Duration::seconds(expires_in),
        }
    }

    #[test]
    fn a_lease_is_stale_when_expired_or_its_local_process_is_gone() {
        let now = Utc::now();
        let me = std::process::id();
        assert!(!row("here", me, 60).is_stale(now, "here"));
        assert!(row("here", me, -1).is_stale(now, "here"));
        // a pid that cannot exist (above pid_max) on this host: gone
        assert!(row("here", u32::MAX - 1, 60).is_stale(now, "here"));
        // the same pid on another host: only its expiry counts
        assert!(!row("elsewhere", u32::MAX - 1, 60).is_stale(now, "here"));
    }
}
