//! The pure bookkeeping after a write call: each op's result becomes the
//! link's new state, committed with the removal of its outbox entry.
//!
//! | result | link |
//! | --- | --- |
//! | ok, but a part failed (a sub-resource's request) | base from the record as held (the failed part not taken as ignored), then `failed` on the retry schedule with the message |
//! | ok (create, update) | new base from the entry — each field the write sent and the record in the answer shows taken as the remote holds it —, id and version from the answer, `clean` |
//! | ok (delete, soft delete) | `deleted_remote` |
//! | not found (update) | the remote record is gone but the hub changed: created again (`pending`) |
//! | not found (delete) | `deleted_remote` |
//! | conflict (412) | `dirty`: the next sync reads the remote's change and plans again |
//! | lost answer (transient failure) of a create without client ids, or of an update | `failed`, entry kept `sending`: the next run finds out whether it landed |
//! | other failures | `failed` on the retry schedule, then `permanently_failed` |

use crate::inbound::marker;
use chrono::{DateTime, Utc};
use einklang_config::RetryPolicy;
use einklang_connectors::{WriteErrorKind, WriteResult};
use einklang_core::{content_hash, Fields};
use einklang_store::OutboxEntry;
use einklang_store::{Link, LinkChange, LinkStatus, OutboxOp, OutboxWrite, RecordId, SyncBatch};

/// One sent op with what is needed to settle it.
pub struct Sent<'a> {
    /// Its outbox entry.
    pub entry: &'a OutboxEntry,
    /// The link as planned.
    pub link: &'a Link,
    /// Failed attempts before this one.
    pub attempts: u32,
    /// Fields held for review on the link (it stays `conflict`).
    pub held: bool,
}

/// Tallies of one settle.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Ops that went through, by op name.
    pub ok: Vec<(OutboxOp, u64)>,
    /// Ops that failed.
    pub failed: u64,
    /// Ops that met a newer remote version.
    pub conflicts: u64,
    /// Error messages (first few).
    pub errors: Vec<String>,
    /// Fields the remote did not keep as sent: (field, sent, held).
    pub not_kept: Vec<(String, einklang_core::Value, einklang_core::Value)>,
}

/// What the record in a write's answer shows of the fields the write
/// sent (entity fields, read the way a pull reads them; `null`: empty).
pub type Observe<'a> = dyn Fn(&OutboxEntry, &einklang_connectors::RawFields) -> Fields + 'a;

/// The base a write leaves: `planned`, with every field the answer shows
/// as the remote holds it — the truth, so the next read sees no change
/// where there is none, and an ignored field never reads as a value
/// removed at the remote. A field held other than sent is noted, unless
/// part of the write failed (`note` false): then a difference is that
/// failure, not a field the remote ignores.
fn truth(s: &Sent<'_>, observed: Fields, tally: &mut Tally, note: bool) -> Fields {
    let mut base = s.entry.new_base.clone();
    for (field, held) in observed {
        let sent = base
            .get(&field)
            .cloned()
            .unwrap_or(einklang_core::Value::Null);
        if sent == held {
            continue;
        }
        if note && !tally.not_kept.iter().any(|(f, _, _)| *f == field) {
            tally.not_kept.push((field.clone(), sent, held.clone()));
        }
        match held.is_null() {
            true => base.remove(&field),
            false => base.insert(field, held),
        };
    }
    base
}

impl Tally {
    fn ok(&mut self, op: OutboxOp) {
        match self.ok.iter_mut().find(|(o, _)| *o == op) {
            Some((_, n)) => *n += 1,
            None => self.ok.push((op, 1)),
        }
    }
}

/// Turn results into a batch (see the module docs).
pub fn settle(
    sent: &[Sent<'_>],
    results: Vec<WriteResult>,
    observe: &Observe<'_>,
    client_ids: bool,
    retry: &RetryPolicy,
    now: DateTime<Utc>,
) -> (SyncBatch, Tally) {
    let mut batch = SyncBatch::default();
    let mut tally = Tally::default();
    for (s, result) in sent.iter().zip(results) {
        let key = s.entry.idem_key.clone();
        let remove = OutboxWrite::Remove(key);
        match result {
            Ok(outcome) => {
                tally.ok(s.entry.op);
                let whole = outcome.unwritten.is_empty();
                let base = match &outcome.record {
                    Some(record) => truth(s, observe(s.entry, record), &mut tally, whole),
                    None => s.entry.new_base.clone(),
                };
                batch.links.push(match s.entry.op {
                    OutboxOp::Delete | OutboxOp::SoftDelete => gone(s.link.id),
                    OutboxOp::Create | OutboxOp::Update => LinkChange::Synced {
                        link_id: s.link.id,
                        expect_hash: Some(s.link.hash()),
                        external_id: outcome.id,
                        content_hash: content_hash(&base),
                        base,
                        version: outcome.version,
                        status: if s.held {
                            LinkStatus::Conflict
                        } else {
                            LinkStatus::Clean
                        },
                    },
                });
                if !whole {
                    // the record as held is the base: the part that failed
                    // differs from the hub and is written again when due
                    let message = format!(
                        "{} {}: written without {}",
                        s.entry.op.as_str(),
                        s.link.external_id,
                        outcome.unwritten.join("; ")
                    );
                    if tally.errors.len() < 5 {
                        tally.errors.push(message.clone());
                    }
                    tally.failed += 1;
                    let (id, attempts) = (s.link.id, s.attempts);
                    batch.links.push(crate::retry::after_failure(
                        retry, id, attempts, None, message, now,
                    ));
                }
                batch.outbox.push(remove);
            }
            Err(e) => {
                // the write may have landed: keep the entry so the next run
                // can tell (a create by its marker, an update by the values
                // read back), unless re-sending is harmless
                let keep_sending = e.kind == WriteErrorKind::Transient
                    && match s.entry.op {
                        OutboxOp::Create => !client_ids,
                        OutboxOp::Update | OutboxOp::SoftDelete => true,
                        OutboxOp::Delete => false,
                    };
                if !keep_sending {
                    batch.outbox.push(remove);
                }
                if tally.errors.len() < 5 {
                    tally.errors.push(e.message.clone());
                }
                batch
                    .links
                    .push(failure(s, e.kind, e.message, retry, now, &mut tally));
            }
        }
    }
    (batch, tally)
}

fn failure(
    s: &Sent<'_>,
    kind: WriteErrorKind,
    message: String,
    retry: &RetryPolicy,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> LinkChange {
    let link_id = s.link.id;
    match (kind, s.entry.op) {
        (WriteErrorKind::NotFound, OutboxOp::Update) => LinkChange::Recreate {
            link_id,
            marker: marker(s.entry.record_id as RecordId),
        },
        (WriteErrorKind::NotFound, _) => gone(link_id),
        (WriteErrorKind::Conflict, _) => {
            tally.conflicts += 1;
            LinkChange::State {
                link_id,
                status: LinkStatus::Dirty,
                attempts: s.attempts,
                next_attempt_at: None,
                last_error: Some(message),
            }
        }
        (kind, _) => {
            tally.failed += 1;
            let retry_after = match kind {
                WriteErrorKind::RateLimited { retry_after_secs } => retry_after_secs,
                _ => None,
            };
            crate::retry::after_failure(retry, link_id, s.attempts, retry_after, message, now)
        }
    }
}

fn gone(link_id: i64) -> LinkChange {
    LinkChange::State {
        link_id,
        status: LinkStatus::DeletedRemote,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
    }
}
