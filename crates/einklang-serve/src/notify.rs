//! Notifications (`[[serve.notify]]`): a run that ended `failed` or
//! `needs_review`, new conflicts, new review pairs — posted as einklang's
//! JSON event or as a Slack-compatible `{"text": …}`.
//!
//! - **One per state change.** The notifier looks every poll at what
//!   changed since its cursor (kept in the store, so a restart neither
//!   repeats nor skips): each run that ended failed or needing review is
//!   one notification; new conflicts, and new review pairs, are one
//!   notification each per look, with their count — a sync that makes
//!   5,000 conflicts sends one message, not 5,000.
//! - **Retried**: a target that does not answer 2xx is tried again after
//!   1, 2 and 4 seconds, then given up (logged, without its URL: a Slack
//!   webhook URL is a secret).
//! - **Once between processes**: the notifier holds the lease `notify`; of
//!   several services on one PostgreSQL only its holder sends.
//!
//! [`look`] finds the events (the store and a time in, no network out);
//! [`deliver`] posts them.

use chrono::{DateTime, Utc};
use einklang_config::{Config, Notify, NotifyFormat};
use einklang_store::{HubStore, RunStatus, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// What the notifier has told of, kept in the store's cursors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Runs that ended after this time are new.
    pub runs_after: Option<DateTime<Utc>>,
    /// Conflicts with a larger id are new.
    pub conflict: i64,
    /// Review pairs with a larger id are new.
    pub review: i64,
}

/// One notification.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// `failed`, `needs_review`, `conflicts` or `reviews`.
    pub event: String,
    /// Its JSON form.
    pub body: Value,
    /// A line for people.
    pub text: String,
}

const CURSOR: (&str, &str, &str) = ("serve", "notify", "cursor");

/// The events since the stored cursor, and the cursor after them. The
/// first look ever only sets the cursor (nothing old is told).
pub fn look(
    config: &Config,
    store: &mut dyn HubStore,
    now: DateTime<Utc>,
) -> Result<(Vec<Event>, Cursor), StoreError> {
    let tenant = &config.tenant;
    let (c, e, n) = CURSOR;
    let stored: Option<Cursor> = store
        .cursor(tenant, c, e, n)?
        .and_then(|t| serde_json::from_str(&t).ok());
    let conflicts = store.conflicts(tenant, true, 1000)?;
    let reviews = store.reviews(tenant, true, 1000)?;
    let max_conflict = conflicts.iter().map(|c| c.id).max().unwrap_or(0);
    let max_review = reviews.iter().map(|r| r.id).max().unwrap_or(0);
    let Some(cursor) = stored else {
        let first = Cursor {
            runs_after: Some(now),
            conflict: max_conflict,
            review: max_review,
        };
        return Ok((Vec::new(), first));
    };
    let mut events = Vec::new();
    let after = cursor.runs_after.unwrap_or(now);
    let mut runs = store.runs(tenant, 500)?;
    runs.reverse();
    for r in runs
        .iter()
        .filter(|r| r.finished_at.is_some_and(|f| f > after && f <= now))
    {
        let name = match r.status {
            RunStatus::Failed => "failed",
            RunStatus::NeedsReview => "needs_review",
            _ => continue,
        };
        let text = format!(
            "einklang: run {} of job `{}` ended {}{}",
            r.id,
            r.job,
            r.status.as_str(),
            r.errors
                .first()
                .map(|e| format!(": {}", crate::clip(e, 300)))
                .unwrap_or_default()
        );
        let body = json!({ "event": name, "run_id": r.id, "job": r.job, "status": r.status, "errors": r.errors, "source": r.source, "triggered_by": r.triggered_by, "finished_at": r.finished_at, "text": text });
        events.push(Event {
            event: name.into(),
            body,
            text,
        });
    }
    let new_conflicts: Vec<i64> = conflicts
        .iter()
        .map(|c| c.id)
        .filter(|&id| id > cursor.conflict)
        .collect();
    if !new_conflicts.is_empty() {
        let text = format!(
            "einklang: {} new conflict(s) wait for a decision (einklang conflicts)",
            new_conflicts.len()
        );
        let body = json!({ "event": "conflicts", "count": new_conflicts.len(), "ids": &new_conflicts[..new_conflicts.len().min(50)], "text": text });
        events.push(Event {
            event: "conflicts".into(),
            body,
            text,
        });
    }
    let new_reviews: Vec<i64> = reviews
        .iter()
        .map(|r| r.id)
        .filter(|&id| id > cursor.review)
        .collect();
    if !new_reviews.is_empty() {
        let text = format!(
            "einklang: {} new possible duplicate(s) wait for review (einklang review)",
            new_reviews.len()
        );
        let body = json!({ "event": "reviews", "count": new_reviews.len(), "ids": &new_reviews[..new_reviews.len().min(50)], "text": text });
        events.push(Event {
            event: "reviews".into(),
            body,
            text,
        });
    }
    let next = Cursor {
        runs_after: Some(now),
        conflict: cursor.conflict.max(max_conflict),
        review: cursor.review.max(max_review),
    };
    Ok((events, next))
}

/// Keep the cursor (after the events were handed to [`deliver`]).
pub fn save(config: &Config, store: &mut dyn HubStore, cursor: &Cursor) -> Result<(), StoreError> {
    let (c, e, n) = CURSOR;
    let text = serde_json::to_string(cursor).expect("a cursor is plain data");
    store.set_cursor(&config.tenant, c, e, n, &text)
}

/// Post each event to every target that takes it; `retries` waits
/// between tries (1, 2, 4 s in the service). Returns the deliveries that
/// failed after every try.
pub fn deliver(targets: &[Notify], events: &[Event], retries: &[Duration]) -> usize {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut failed = 0;
    for (i, target) in targets.iter().enumerate() {
        for event in events.iter().filter(|e| target.on.contains(&e.event)) {
            let body = match target.format {
                NotifyFormat::Json => event.body.clone(),
                NotifyFormat::Slack => json!({ "text": event.text }),
            };
            let mut tries = std::iter::once(&Duration::ZERO).chain(retries.iter());
            let sent = loop {
                let Some(wait) = tries.next() else {
                    break false;
                };
                std::thread::sleep(*wait);
                match agent
                    .post(&target.url)
                    .header("content-type", "application/json")
                    .send(body.to_string())
                {
                    Ok(r) if r.status().is_success() => break true,
                    Ok(r) => {
                        tracing::warn!(target = i, status = r.status().as_u16(), event = %event.event, "notification refused")
                    }
                    Err(e) => {
                        tracing::warn!(target = i, error = %redact(&e.to_string(), &target.url), event = %event.event, "notification not delivered")
                    }
                }
            };
            if !sent {
                failed += 1;
                tracing::error!(target = i, event = %event.event, "notification given up after its retries");
            }
        }
    }
    failed
}

/// An error text with the target's URL (a secret) taken out.
fn redact(text: &str, url: &str) -> String {
    text.replace(url, "<notify url>")
}

/// Look and deliver every `poll` until `kick` says stop, holding the
/// lease `notify` (another process holding it: this one stays quiet).
pub fn run(config: &Config, store: &mut dyn HubStore, kick: &crate::Kick, poll: Duration) {
    if config.serve.notify.is_empty() {
        return;
    }
    let lease = einklang_engine::LeaseOptions::default();
    let names = vec!["notify".to_string()];
    let mut holding = None;
    let mut seen = 0;
    let retries = [
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(4),
    ];
    loop {
        if holding.is_none() {
            let who = ("notify", "einklang serve");
            holding = einklang_engine::Holding::acquire(
                store,
                &config.tenant,
                names.clone(),
                who,
                &lease,
            )
            .ok();
        }
        if holding.is_some() {
            match look(config, store, Utc::now()) {
                Ok((events, cursor)) => {
                    deliver(&config.serve.notify, &events, &retries);
                    if let Err(e) = save(config, store, &cursor) {
                        tracing::warn!(error = %e, "keeping the notification cursor failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "looking for notifications failed"),
            }
        }
        if kick.wait(&mut seen, poll) {
            if let Some(h) = holding.take() {
                let _ = h.release(store);
            }
            return;
        }
    }
}
