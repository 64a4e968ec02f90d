//! The inbound half of a step: one connector's records for one entity into
//! the hub. The algorithm is described in the crate docs.
//!
//! A full read runs three stages on their own threads, joined by bounded
//! channels so memory stays flat however large the source: a reader reads
//! the source in numbered chunks; workers (one per core, at most four) map
//! and normalise them ([`prepare`]); the applier (this thread) puts the
//! batches back in source order, rejects external ids seen earlier in the
//! read, plans each batch against the store ([`crate::inbound`]) and commits
//! it. A connector that lists ids and versions is read by [`listed`]
//! instead: only new and changed records are fetched.
//!
//! Either way the read ends with the links whose remote record is gone
//! (when the read was complete enough to tell), for [`crate::deletes`].

mod apply;
mod feed;
mod listed;
pub(crate) mod prepare;
pub(crate) mod targeted;

use crate::side::Side;
use crate::{EngineError, Progress};
pub(crate) use apply::Applier;
use einklang_connectors::Connector;
use einklang_store::{Counters, HubStore, LinkRef, LinkStatus, RunId};
pub(crate) use prepare::{Prepared, Preparer};
use std::collections::HashSet;
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

/// Records per store transaction.
pub const BATCH: usize = 2000;
/// Batches in flight between the stages.
const IN_FLIGHT: usize = 4;

/// What a step needs from its surroundings.
pub(crate) struct StepContext<'a> {
    pub tenant: String,
    pub store: &'a mut dyn HubStore,
    pub run: RunId,
    pub full: bool,
    pub progress: &'a dyn Progress,
    pub policies: &'a einklang_core::Policies,
    pub plan: &'a mut crate::report::Plan,
    /// Notes for the step report (failed writes and the like).
    pub notes: Vec<String>,
    /// Matching on ingest, when the entity has `[matching.ENTITY]`.
    pub matcher: Option<crate::identity::Matcher<'a>>,
    /// The step's sides, for checking the link invariant after each batch
    /// ([`crate::invariant`]).
    pub checks: Vec<Side<'a>>,
}

/// Outcome of reading one side.
pub(crate) struct ReadOutcome {
    pub counters: Counters,
    /// The source was unchanged since the last complete read; nothing was read.
    pub source_unchanged: bool,
    /// Links whose remote record is gone; `None` when the read could not
    /// tell (unchanged source, or records without a readable id).
    pub gone: Option<Vec<LinkRef>>,
    /// Live links of the side before the read (for the delete guard).
    pub live_links: u64,
    /// Why gone records were not looked for, if they were not.
    pub note: Option<String>,
    /// External ids among `gone` that left the job's scope (the filter no
    /// longer takes them; the source still has them).
    pub left_scope: std::collections::HashSet<String>,
    /// What to remember once everything the read found is committed
    /// (including its lost records): the next read may then skip an
    /// unchanged source. Stored by the step, not the read, so a crash in
    /// between makes the next read look again.
    pub marks: Vec<Mark>,
}

/// A note of a source's state after a complete read.
#[derive(Clone, Debug)]
pub(crate) enum Mark {
    /// The source's fingerprint (files).
    Fingerprint(String),
    /// The hash of its listing ([`crate::listing`]).
    Listing(String),
    /// The position of its change feed ([`feed`]).
    Changes(String),
}

/// Store the marks of a read (see [`ReadOutcome::marks`]).
pub(crate) fn store_marks(
    ctx: &mut StepContext<'_>,
    side: &Side<'_>,
    marks: &[Mark],
) -> Result<(), EngineError> {
    let (name, entity) = (side.name, side.schema.name.as_str());
    for mark in marks {
        match mark {
            Mark::Fingerprint(fp) => {
                ctx.store
                    .set_source_fingerprint(&ctx.tenant, name, entity, fp)?
            }
            Mark::Listing(h) => {
                ctx.store
                    .set_cursor(&ctx.tenant, name, entity, crate::listing::CURSOR, h)?
            }
            Mark::Changes(c) => ctx
                .store
                .set_cursor(&ctx.tenant, name, entity, feed::CURSOR, c)?,
        }
    }
    Ok(())
}

/// Read one side into the hub. A connector failure is `Ok(Err(message))`
/// so the job can go on; store failures are `Err`.
/// Records read right after a write (`reread`): read into the hub the way
/// a read of them would, so values the remote assigned (Advoware's
/// `betNr`) reach the hub — and the other sides — in the same run.
/// Returns the counters of the apply (`updated` > 0: the hub changed).
pub(crate) fn apply_answers(
    ctx: &mut StepContext<'_>,
    side: &Side<'_>,
    records: Vec<einklang_connectors::RawRecord>,
) -> Result<Counters, EngineError> {
    let items = records
        .into_iter()
        .map(einklang_connectors::ReadItem::Record)
        .collect();
    let batch = prepare::Preparer::new(side).prepare_all(items);
    let mut applier = apply::Applier::new(side);
    applier.apply(ctx, batch)?;
    Ok(applier.counters)
}

pub(crate) fn read_side(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    side: &Side<'_>,
) -> Result<Result<ReadOutcome, String>, EngineError> {
    let (name, entity) = (side.name, side.schema.name.as_str());
    let stamp = match connector.stamp() {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let fingerprint = match connector.fingerprint() {
        Ok(f) => f,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let stored = match &fingerprint {
        Some(_) => ctx.store.source_fingerprint(&ctx.tenant, name, entity)?,
        None => None,
    };
    let unknown = match side.pushes {
        true => crate::outbound::unknown_creates(ctx, side)?,
        false => Vec::new(),
    };
    // creates held `unknown` need a complete read: no shortcut skips it
    let thorough = ctx.full || !unknown.is_empty();
    let unchanged = fingerprint.is_some() && stored == fingerprint;
    if unchanged && !thorough {
        {
            // writes clear the fingerprint before they go out: an unchanged
            // source got none of them
            let mut applier = Applier::new(side);
            if side.pushes {
                applier.sending = crate::outbound::sending_updates(ctx, side)?;
            }
            drop_unlanded(ctx, &mut applier)?;
            return Ok(Ok(ReadOutcome {
                counters: Counters::from([("sources_unchanged".to_string(), 1)]),
                source_unchanged: true,
                gone: None,
                live_links: 0,
                note: None,
                marks: Vec::new(),
                left_scope: Default::default(),
            }));
        }
    }
    if fingerprint.is_some() && (!unchanged || thorough) {
        // the hub is about to change from this source: until the read's
        // mark is stored, a crash must not let the next read skip it
        ctx.store
            .set_source_fingerprint(&ctx.tenant, name, entity, "")?;
    }
    let preparer = Preparer::new(side);
    let mut applier = Applier::new(side);
    if side.pushes {
        applier.sending = crate::outbound::sending_updates(ctx, side)?;
    }
    applier.hold(unknown);
    let keyed = side.caps.key_field.as_deref() == Some(side.mapping.id_field.as_str());
    let mut start = None;
    if keyed && side.caps.change_feed {
        match changes(ctx, connector, side, thorough)? {
            Ok(Some(feed)) => {
                let read = feed::read(ctx, connector, preparer, &mut applier, feed)?;
                return finish(ctx, connector, read, (applier, false));
            }
            Ok(None) => {}
            Err(e) => return Ok(Err(e)),
        }
        // a full read: the feed starts where the remote is now
        start = match connector.cursor() {
            Ok(c) => Some(c),
            Err(e) => return Ok(Err(e.to_string())),
        };
    }
    let read = if keyed && side.caps.list_versions {
        listed::read(ctx, connector, preparer, &mut applier)?
    } else {
        full_read(ctx, connector, preparer, &mut applier)?
    };
    let read = read.map(|mut o| {
        o.marks.extend(start.map(Mark::Changes));
        o
    });
    let read = read.map(|mut o| {
        o.marks.extend(fingerprint.map(Mark::Fingerprint));
        o
    });
    let stamped = stamp.is_some();
    let read = match (read, stamp) {
        (Ok(outcome), Some(before)) => match connector.stamp() {
            Ok(after) if after.as_ref() == Some(&before) => Ok(outcome),
            Ok(_) => Ok(raced(outcome)),
            Err(e) => Err(e.to_string()),
        },
        (read, _) => read,
    };
    finish(ctx, connector, read, (applier, stamped))
}

/// A read during which the source changed (its stamp moved): what it
/// read is applied, but it decides no deletes and leaves no mark, so the
/// next read looks at the source again.
fn raced(mut outcome: ReadOutcome) -> ReadOutcome {
    tracing::warn!("the source changed while it was read; no deletes decided this time");
    *outcome.counters.entry("raced_reads".into()).or_default() += 1;
    outcome.gone = None;
    outcome.marks.clear();
    outcome.note = Some(
        "the source changed while it was read (another program wrote it): what was read is applied, but no record is taken as deleted this time (the next read looks again)"
            .into(),
    );
    outcome
}

/// The end of every read: drop lost-answer updates that did not land, add
/// the store side's counters.
fn finish(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    read: Result<ReadOutcome, String>,
    (mut applier, stamped): (Applier<'_>, bool),
) -> Result<Result<ReadOutcome, String>, EngineError> {
    let mut outcome = match read {
        Ok(o) => o,
        Err(message) => return Ok(Err(message)),
    };
    drop_unlanded(ctx, &mut applier)?;
    if let Err(e) = settle_unknown(ctx, connector, (&mut applier, stamped), &mut outcome)? {
        return Ok(Err(e));
    }
    if applier.look_again {
        outcome.marks.clear();
    }
    outcome.left_scope = std::mem::take(&mut applier.left).into_iter().collect();
    for (k, v) in applier.counters {
        *outcome.counters.entry(k).or_default() += v;
    }
    Ok(Ok(outcome))
}

/// Creates held `unknown` that the read did not claim: a complete read
/// that raced nothing releases them to be sent again; any other leaves
/// them held (see [`crate::outbound::unknown`]). "Raced nothing" needs
/// proof: the source's stamp did not move, or a second listing shows no
/// record the read did not see (a paged listing can skip a new record) —
/// the connector's `list` where it has one, else a second read (an HTTP
/// API: without it a held create would never be released).
fn settle_unknown(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    (applier, stamped): (&mut Applier<'_>, bool),
    outcome: &mut ReadOutcome,
) -> Result<Result<(), String>, EngineError> {
    if applier.unknown.is_empty() {
        return Ok(Ok(()));
    }
    let side = applier.side;
    let mut complete = outcome.gone.is_some() && !outcome.source_unchanged;
    if complete && !stamped {
        complete = match listing_again(connector, side) {
            Ok(Some(ids)) => !unseen_new(ctx, applier, &ids)?,
            Ok(None) => false,
            Err(e) => return Ok(Err(e)),
        };
    }
    let (release, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut applier.unknown)
        .into_iter()
        .partition(|e| {
            complete && crate::outbound::unknown::releasable(side, e, applier.new_records)
        });
    if !release.is_empty() {
        let batch = einklang_store::SyncBatch {
            links: release.iter().map(crate::outbound::recreate).collect(),
            outbox: (release.iter())
                .map(|e| einklang_store::OutboxWrite::Remove(e.idem_key.clone()))
                .collect(),
            ..Default::default()
        };
        ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
        *outcome.counters.entry("released".into()).or_default() += release.len() as u64;
    }
    applier.unknown = keep;
    Ok(Ok(()))
}

/// The ids of the side's records once more: its listing, or (without
/// one) a second read. `None` when a record of it has no readable id.
fn listing_again(
    connector: &mut dyn Connector,
    side: &Side<'_>,
) -> Result<Option<Vec<String>>, String> {
    if side.caps.list_versions {
        let listing = connector.list().map_err(|e| e.to_string())?;
        return Ok(Some(listing.into_iter().map(|l| l.id).collect()));
    }
    let items = connector.read().map_err(|e| e.to_string())?;
    Ok(items
        .map(|item| match item {
            einklang_connectors::ReadItem::Record(r) => side.mapping.external_id_of(&r.fields),
            einklang_connectors::ReadItem::Reject(_) | einklang_connectors::ReadItem::Broken(_) => {
                None
            }
        })
        .collect())
}

/// Does a second listing hold a record the read neither saw nor knew?
fn unseen_new(
    ctx: &mut StepContext<'_>,
    applier: &Applier<'_>,
    listing: &[String],
) -> Result<bool, EngineError> {
    let unseen: Vec<&str> = (listing.iter())
        .map(String::as_str)
        .filter(|id| !applier.saw(id))
        .collect();
    let (name, entity) = (applier.side.name, applier.side.schema.name.as_str());
    for ids in unseen.chunks(BATCH) {
        let links = ctx.store.find_links(&ctx.tenant, name, entity, ids)?;
        if links.iter().any(Option::is_none) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The change feed since the stored cursor (`None`: no cursor yet, a full
/// reconcile, or the remote forgot the cursor — read in full).
fn changes(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    side: &Side<'_>,
    thorough: bool,
) -> Result<Result<Option<einklang_connectors::ChangeFeed>, String>, EngineError> {
    let stored = ctx
        .store
        .cursor(&ctx.tenant, side.name, &side.schema.name, feed::CURSOR)?
        .filter(|c| !c.is_empty());
    let (Some(cursor), false) = (stored, thorough) else {
        return Ok(Ok(None));
    };
    Ok(connector.changes(&cursor).map_err(|e| e.to_string()))
}

/// Updates whose answer was lost and whose record the read did not find
/// changed did not land: their entries go (the push plans them again).
fn drop_unlanded(ctx: &mut StepContext<'_>, applier: &mut Applier<'_>) -> Result<(), EngineError> {
    if applier.sending.is_empty() {
        return Ok(());
    }
    let batch = einklang_store::SyncBatch {
        outbox: applier
            .sending
            .drain()
            .map(|(_, e)| einklang_store::OutboxWrite::Remove(e.idem_key))
            .collect(),
        ..Default::default()
    };
    ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
    Ok(())
}

/// Worker threads that map and normalise: one per core, at most four.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

/// Read everything through the three stages, then look for gone records.
fn full_read(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    preparer: Preparer<'_>,
    applier: &mut Applier<'_>,
) -> Result<Result<ReadOutcome, String>, EngineError> {
    let counters = match run_stages(ctx, connector, preparer, applier)? {
        Ok(c) => c,
        Err(message) => return Ok(Err(message)),
    };
    let (gone, live_links, note) = if applier.unidentified > 0 {
        let note = format!(
            "{} record(s) without a readable id: records missing from the source are not treated as deleted this time",
            applier.unidentified
        );
        (None, 0, Some(note))
    } else {
        let (gone, live) = unseen_links(ctx, applier)?;
        (Some(gone), live, None)
    };
    Ok(Ok(ReadOutcome {
        counters,
        source_unchanged: false,
        gone,
        live_links,
        note,
        marks: Vec::new(),
        left_scope: Default::default(),
    }))
}

/// Links of the side (not pending, not gone already) whose external id the
/// read did not see; and how many live links there are.
fn unseen_links(
    ctx: &mut StepContext<'_>,
    applier: &Applier<'_>,
) -> Result<(Vec<LinkRef>, u64), EngineError> {
    let (name, entity) = (applier.side.name, applier.side.schema.name.as_str());
    let (mut gone, mut live) = (Vec::new(), 0);
    ctx.store.scan_links(&ctx.tenant, name, entity, &mut |l| {
        if matches!(l.status, LinkStatus::Pending | LinkStatus::DeletedRemote)
            || !l.held
            || applier.holds(l.link_id)
        {
            return;
        }
        live += 1;
        if !applier.saw(l.external_id) {
            gone.push(l.to_ref());
        }
    })?;
    Ok((gone, live))
}

/// Run the reader and the workers on their own threads and apply what they
/// send, in source order. Returns the workers' counters, or the connector's
/// error.
fn run_stages(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    preparer: Preparer<'_>,
    applier: &mut Applier<'_>,
) -> Result<Result<Counters, String>, EngineError> {
    let (chunk_tx, chunk_rx) = sync_channel::<prepare::Chunk>(IN_FLIGHT);
    let queue: prepare::ChunkQueue = Mutex::new(Some(chunk_rx));
    let (tx, rx) = sync_channel::<(usize, Prepared)>(IN_FLIGHT);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || prepare::read_chunks(connector, chunk_tx));
        let handles: Vec<_> = (0..workers())
            .map(|_| {
                let (p, tx, queue) = (preparer.clone(), tx.clone(), &queue);
                scope.spawn(move || p.work(queue, tx))
            })
            .collect();
        drop(tx);
        let mut applied = Ok(());
        let (mut waiting, mut next) = (std::collections::BTreeMap::new(), 0);
        'receive: for (seq, batch) in rx.iter() {
            waiting.insert(seq, batch);
            while let Some(batch) = waiting.remove(&next) {
                next += 1;
                if let Err(e) = applier.apply(ctx, batch) {
                    applied = Err(e);
                    break 'receive;
                }
            }
        }
        drop(rx); // a failed applier stops the workers, and they the reader
        let mut counters = Counters::new();
        for h in handles {
            match h.join() {
                Ok(c) => c
                    .into_iter()
                    .for_each(|(k, v)| *counters.entry(k).or_default() += v),
                Err(_) => return applied.map(|()| Err("record preparation panicked".into())),
            }
        }
        let read = reader
            .join()
            .unwrap_or_else(|_| Err("reading the source panicked".into()));
        applied.map(|()| read.map(|()| counters))
    })
}

/// Hash of an external id, for the set of ids seen in a read.
pub(crate) fn id_hash(id: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(id.as_bytes())
}

/// Ids seen in one read (hashes, so a million ids cost 16 MB).
pub(crate) type Seen = HashSet<u128>;
