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
//! | conflict (412) | `dirty`, the refused version noted: the next sync reads the record again (by id, if its read did not bring a newer version) and plans again |
//! | conflict (412) again for the same version | `failed` on the retry schedule: the remote refuses the version it hands out (a `version` that is not what its conditional request compares) |
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
                let change = failure(s, e.kind, e.message.clone(), retry, now, &mut tally);
                if tally.errors.len() < 5 {
                    tally.errors.push(match &change {
                        LinkChange::State {
                            last_error: Some(m),
                            ..
                        } => m.clone(),
                        _ => e.message,
                    });
                }
                batch.links.push(change);
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
        (WriteErrorKind::Conflict, _) if refused(s.link) => {
            // the version was refused before and no newer one was read:
            // sending it again would loop
            tally.failed += 1;
            let message = format!(
                "{message}: the remote refused version `{}` again and no newer version was read since; if this step reads `{}`, check that the connector's `version` is the value the remote compares in its conditional request",
                s.link.version.as_deref().unwrap_or(""),
                s.link.connector,
            );
            crate::retry::after_failure(retry, link_id, s.attempts, None, message, now)
        }
        (WriteErrorKind::Conflict, _) => {
            tally.conflicts += 1;
            LinkChange::State {
                link_id,
                status: LinkStatus::Dirty,
                attempts: s.attempts,
                next_attempt_at: None,
                last_error: Some(format!("{}{message}", refusal(s.link.version.as_deref()))),
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

/// The start of a link's `last_error` after the remote refused its
/// version (a 412): the next run reads the record again before it
/// plans ([`crate::outbound`]).
fn refusal(version: Option<&str>) -> String {
    format!("refused version `{}`: ", version.unwrap_or(""))
}

/// Did the remote refuse the link's current version last time (no newer
/// version read since)?
pub(crate) fn refused(link: &Link) -> bool {
    (link.last_error.as_deref()).is_some_and(|e| e.starts_with(&refusal(link.version.as_deref())))
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

#[cfg(test)]
mod tests {
    //! A 412 leaves the link dirty with the refused version noted; the same
    //! version refused again fails it on the retry schedule; a newer
    //! version read since makes a 412 a fresh conflict again.
    use super::*;
    use einklang_connectors::WriteError;

    fn link(version: &str, last_error: Option<String>) -> Link {
        Link {
            id: 7,
            record_id: 1,
            connector: "crm".into(),
            entity: "contact".into(),
            external_id: "c1".into(),
            content_hash: String::new(),
            base: Fields::new(),
            version: Some(version.into()),
            status: LinkStatus::Dirty,
            attempts: 0,
            last_error,
            next_attempt_at: None,
            updated_at: Utc::now(),
        }
    }

    fn entry() -> OutboxEntry {
        OutboxEntry {
            id: 1,
            link_id: 7,
            record_id: 1,
            connector: "crm".into(),
            entity: "contact".into(),
            op: OutboxOp::Update,
            idem_key: "link:7:v2:update".into(),
            payload: Default::default(),
            new_base: Fields::new(),
            target: "c1".into(),
            expected_version: None,
            state: "sending".into(),
        }
    }

    /// Settle one 412 on `link`: the link change and the tally.
    fn conflict(link: &Link) -> (LinkChange, Tally) {
        let entry = entry();
        let sent = [Sent {
            entry: &entry,
            link,
            attempts: 0,
            held: false,
        }];
        let refused = Err(WriteError {
            kind: WriteErrorKind::Conflict,
            message: "412 Precondition Failed".into(),
        });
        let none = |_: &OutboxEntry, _: &einklang_connectors::RawFields| Fields::new();
        let (mut batch, tally) = settle(
            &sent,
            vec![refused],
            &none,
            false,
            &RetryPolicy::default(),
            Utc::now(),
        );
        (batch.links.remove(0), tally)
    }

    fn status_and_error(change: &LinkChange) -> (LinkStatus, String) {
        match change {
            LinkChange::State {
                status, last_error, ..
            } => (*status, last_error.clone().unwrap_or_default()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_first_refusal_leaves_the_link_dirty_with_the_version_noted() {
        let (change, tally) = conflict(&link("v1", None));
        let (status, error) = status_and_error(&change);
        assert_eq!(status, LinkStatus::Dirty);
        assert!(error.starts_with("refused version `v1`: 412"), "{error}");
        assert_eq!((tally.conflicts, tally.failed), (1, 0));
        assert!(refused(&link("v1", Some(error.clone()))));
        assert!(
            !refused(&link("v2", Some(error))),
            "a newer version read since"
        );
    }

    #[test]
    fn the_same_version_refused_again_fails_the_link_on_the_retry_schedule() {
        let first = status_and_error(&conflict(&link("v1", None)).0).1;
        let (change, tally) = conflict(&link("v1", Some(first.clone())));
        let (status, error) = status_and_error(&change);
        assert_eq!(status, LinkStatus::Failed);
        assert!(error.contains("`version`"), "{error}");
        assert_eq!((tally.conflicts, tally.failed), (0, 1));
        assert_eq!(tally.errors, vec![error]);
        // a newer version read since: a fresh conflict, not a failure
        let (change, _) = conflict(&link("v2", Some(first)));
        assert_eq!(status_and_error(&change).0, LinkStatus::Dirty);
    }
}
