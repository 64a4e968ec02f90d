//! The outbound half of a step: the hub's changes to one connector,
//! through the durable outbox.
//!
//! 1. **Seed**: live records of the entity without a link to the connector
//!    (newer than the last seeded id) get a `pending` link under a marker.
//! 2. **Plan**: page through the connector's links that are not `clean`,
//!    skip those whose retry is not due, load their records and decide each
//!    push ([`plan::plan_push`], pure).
//! 3. **Queue**: one transaction writes the outbox entries (state
//!    `sending`, idempotency key `link:<id>:v<record version>:<op>`,
//!    replacing an older entry of the same link) and the links that need no
//!    write.
//! 4. **Write**: one connector call per batch of ops.
//! 5. **Settle**: one transaction per call stores each op's result as the
//!    link's new base, id and version — taken from the answer, never read
//!    back — and removes the entries ([`settle::settle`]).
//!
//! A crash between 4 and 5 leaves `sending` entries; the next run recovers
//! them ([`recover`]) before it reads anything. In a dry run steps 1–3 go
//! into the rolled-back transaction and nothing is written to the remote.

pub mod plan;
mod rebase;
mod recover;
pub mod settle;
pub(crate) mod unknown;

use crate::inbound::marker;
use crate::pull::StepContext;
use crate::side::Side;
use crate::{CrashGuard, CrashPoint, EngineError};
use chrono::{DateTime, Utc};
use einklang_config::RetryPolicy;
use einklang_connectors::{Connector, RawFields, WriteOp};
use einklang_core::{Creates, Fields};
use einklang_store::{
    Counters, Link, LinkRef, NewLink, OutboxEntry, OutboxWrite, RecordId, RecordState, SyncBatch,
};
use plan::{plan_push, PushPlan};
pub(crate) use recover::{echo_base, recover, recreate, sending_updates, unknown_creates};
use settle::{settle, Sent};
use std::collections::HashMap;

/// Links planned per page.
const PAGE: usize = 500;

/// What a push needs besides the step context.
pub(crate) struct PushEnv<'a> {
    pub retry: &'a RetryPolicy,
    pub now: DateTime<Utc>,
    pub dry_run: bool,
    pub crash: &'a mut CrashGuard,
    /// Told the push's counters after each batch of writes.
    pub progress: &'a dyn crate::Progress,
}

/// One op to send, with what settles it.
struct ToSend {
    entry: OutboxEntry,
    op: WriteOp,
    link: Link,
    attempts: u32,
    held: bool,
}

/// Push the hub's changes to one side. A connector failure is
/// `Ok(Err(message))`; store failures (and injected crashes) are `Err`.
pub(crate) fn push_side(
    ctx: &mut StepContext<'_>,
    env: &mut PushEnv<'_>,
    connector: &mut dyn Connector,
    side: &Side<'_>,
) -> Result<Result<Counters, String>, EngineError> {
    let mut counters = Counters::new();
    if ctx.full {
        // the reconcile: every clean link must owe this side nothing
        let found = crate::invariant::repair_side(&mut *ctx.store, (&ctx.tenant, ctx.run), side)?;
        bump(&mut counters, "links_repaired", found.len() as u64);
        ctx.notes
            .extend(found.iter().map(|v| format!("{v}: marked dirty")));
    }
    let seeded = seed(ctx, side)?;
    bump(&mut counters, "writes", seeded);
    let entries = ctx
        .store
        .outbox(&ctx.tenant, side.name, &side.schema.name)?;
    // a create that may have landed is never sent again: a read settles it
    let mut held: std::collections::HashSet<i64> = entries
        .iter()
        .filter(|e| e.state == "unknown")
        .map(|e| e.link_id)
        .collect();
    if !held.is_empty() {
        bump(&mut counters, "held_unknown", held.len() as u64);
        let note = held_note(side, held.len(), side.pulls);
        tracing::warn!(connector = side.name, held = held.len(), "{note}");
        ctx.notes.push(note);
    }
    // an update whose answer was lost is settled by the read of its record
    // (`recover`): one still `sending` here was not read by this run (a
    // targeted run named other records) and may have landed — it waits
    // for a run that reads it rather than going out twice
    let unread: Vec<i64> = entries
        .iter()
        .filter(|e| {
            side.pulls
                && e.state == "sending"
                && matches!(
                    e.op,
                    einklang_store::OutboxOp::Update | einklang_store::OutboxOp::SoftDelete
                )
        })
        .map(|e| e.link_id)
        .collect();
    if !unread.is_empty() {
        bump(&mut counters, "held_unread", unread.len() as u64);
        ctx.notes.push(format!(
            "{} write(s) to `{}` whose answer was lost wait for a run that reads their records (they may have landed)",
            unread.len(),
            side.name
        ));
        held.extend(unread);
    }
    let open: HashMap<i64, String> = entries
        .into_iter()
        .map(|e| (e.link_id, e.idem_key))
        .collect();
    let mut after = 0;
    loop {
        let page =
            ctx.store
                .links_to_push(&ctx.tenant, side.name, &side.schema.name, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.link_id;
        let page: Vec<LinkRef> = page
            .into_iter()
            .filter(|l| !held.contains(&l.link_id))
            .collect();
        let sends = queue_page(
            ctx,
            env,
            (&mut *connector, side),
            &page,
            &open,
            &mut counters,
        )?;
        if sends.is_empty() {
            continue;
        }
        env.crash.check(CrashPoint::BeforeRemoteWrite)?;
        if env.dry_run {
            bump(&mut counters, "planned_writes", sends.len() as u64);
            continue;
        }
        if let Err(message) = send(ctx, env, connector, side, &sends, &mut counters)? {
            return Ok(Err(message));
        }
    }
    Ok(Ok(counters))
}

/// einklang's own values in a write: the mapping's `mirror` fields on a
/// create or an update, and the templates of a soft delete (`{now}`).
/// They are not part of the record's values, so they change no base and
/// are no change when read back.
fn with_own_values(
    side: &Side<'_>,
    op: &mut WriteOp,
    entry: &mut OutboxEntry,
    (state, link, now): (&RecordState, &Link, DateTime<Utc>),
) {
    let vars = einklang_core::mirror::Vars {
        now,
        last_error: link.last_error.as_deref(),
        record: state.id,
    };
    let soft_delete = entry.op == einklang_store::OutboxOp::SoftDelete;
    let fields = match op {
        WriteOp::Create { fields, .. } | WriteOp::Update { fields, .. } => fields,
        WriteOp::Delete { .. } => return,
    };
    if soft_delete {
        for v in fields.values_mut() {
            *v = einklang_core::mirror::render(v, &vars);
        }
    } else {
        for (path, template) in &side.mapping.mirror {
            let value = einklang_core::mirror::render(template, &vars);
            einklang_core::transform::push::set_path(fields, path, value);
        }
    }
    entry.payload = fields.clone();
}

/// What a person should know about creates held `unknown`.
fn held_note(side: &Side<'_>, n: usize, read: bool) -> String {
    let settles = match read {
        true => "a complete read of it shows whether they landed",
        false => "a step that reads it (pull or sync) shows whether they landed",
    };
    format!(
        "{n} create(s) on `{}` lost their answer and cannot be looked up (no client ids, marker field or `find`): not sent again until {settles}",
        side.name
    )
}

/// Give records without a link to this connector a pending one.
fn seed(ctx: &mut StepContext<'_>, side: &Side<'_>) -> Result<u64, EngineError> {
    match &side.mapping.creates {
        Creates::All => seed_all(ctx, side),
        Creates::None => Ok(0),
        scoped => seed_scoped(ctx, side, scoped),
    }
}

/// With a create scope, every run looks at every record the connector
/// does not have (a record may come into the scope later): those that
/// came from a named connector (the one their first link is to), or
/// whose values pass the filter, get a pending link.
fn seed_scoped(
    ctx: &mut StepContext<'_>,
    side: &Side<'_>,
    creates: &Creates,
) -> Result<u64, EngineError> {
    let (name, entity) = (side.name, side.schema.name.as_str());
    let (mut after, mut writes) = (0, 0);
    loop {
        let ids = ctx
            .store
            .unlinked_records(&ctx.tenant, entity, name, after, 2000)?;
        let Some(&last) = ids.last() else { break };
        after = last;
        let states = ctx.store.load_records(&ctx.tenant, &ids)?;
        let wanted = states
            .into_iter()
            .flatten()
            .filter(|s| in_create_scope(creates, s));
        let batch = SyncBatch {
            new_links: wanted
                .map(|s| NewLink {
                    record_id: s.id,
                    connector: name.to_string(),
                    entity: entity.to_string(),
                    marker: marker(s.id),
                })
                .collect(),
            ..Default::default()
        };
        if !batch.is_empty() {
            writes += batch.writes() as u64;
            ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
        }
    }
    Ok(writes)
}

/// Is `state` one the side takes as a create?
fn in_create_scope(creates: &Creates, state: &RecordState) -> bool {
    match creates {
        Creates::All => true,
        Creates::None => false,
        // where the record came from: its first link, made with it
        Creates::From(connectors) => (state.links.iter())
            .min_by_key(|l| l.id)
            .is_some_and(|l| connectors.contains(&l.connector)),
        Creates::Filter(filter) => {
            let values: serde_json::Map<String, einklang_core::Value> = state
                .values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            filter.eval(&values).unwrap_or(false)
        }
    }
}

/// Every record without a link to this connector, from the last seen id.
fn seed_all(ctx: &mut StepContext<'_>, side: &Side<'_>) -> Result<u64, EngineError> {
    let (name, entity) = (side.name, side.schema.name.as_str());
    let start: RecordId = ctx
        .store
        .cursor(&ctx.tenant, name, entity, "seeded")?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let top = ctx.store.max_record_id(&ctx.tenant, entity)?;
    if top <= start {
        return Ok(0);
    }
    let (mut after, mut writes) = (start, 0);
    loop {
        let ids = ctx
            .store
            .unlinked_records(&ctx.tenant, entity, name, after, 2000)?;
        let Some(&last) = ids.last() else { break };
        after = last;
        let batch = SyncBatch {
            new_links: ids
                .iter()
                .map(|&id| NewLink {
                    record_id: id,
                    connector: name.to_string(),
                    entity: entity.to_string(),
                    marker: marker(id),
                })
                .collect(),
            ..Default::default()
        };
        writes += batch.writes() as u64;
        ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
    }
    // records up to `top` are seen; later ones are seeded next time
    ctx.store.set_cursor(
        &ctx.tenant,
        name,
        entity,
        "seeded",
        &top.max(after).to_string(),
    )?;
    Ok(writes + 1)
}

/// Plan one page of links and commit the outbox entries and settled links.
fn queue_page(
    ctx: &mut StepContext<'_>,
    env: &PushEnv<'_>,
    (connector, side): (&mut dyn Connector, &Side<'_>),
    page: &[LinkRef],
    open: &HashMap<i64, String>,
    counters: &mut Counters,
) -> Result<Vec<ToSend>, EngineError> {
    let due: Vec<(&LinkRef, u32)> = page
        .iter()
        .filter_map(|l| {
            let attempts = crate::retry::due(l.status, l.attempts, l.next_attempt_at, env.now)?;
            Some((l, attempts))
        })
        .collect();
    bump(counters, "not_due", (page.len() - due.len()) as u64);
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<RecordId> = due.iter().map(|(l, _)| l.record_id).collect();
    let mut states = load(ctx, &ids)?;
    let refused = reread_refused(ctx, (&mut *connector, side), &states, counters)?;
    if !refused.is_empty() {
        states.extend(load(ctx, &refused)?);
    }
    let (mut batch, mut planned) = (SyncBatch::default(), Vec::new());
    for (lref, attempts) in due {
        let Some(state) = states.get(&lref.record_id) else {
            continue;
        };
        let Some(link) = state.links.iter().find(|l| l.id == lref.link_id) else {
            continue;
        };
        match plan_push(side, state, link) {
            None => {}
            Some(PushPlan::Settle(change)) => batch.links.push(change),
            Some(PushPlan::Write {
                mut entry,
                mut op,
                item,
            }) => {
                with_own_values(side, &mut op, &mut entry, (state, link, env.now));
                let held = state.open_conflicts.iter().any(|(l, _, _)| *l == link.id);
                planned.push((
                    ToSend {
                        entry: *entry,
                        op,
                        link: link.clone(),
                        attempts,
                        held,
                    },
                    item,
                ));
            }
        }
    }
    rebase::onto_remote(connector, side, &mut planned);
    let mut sends = Vec::with_capacity(planned.len());
    for (mut send, item) in planned {
        if let Some(old) = open
            .get(&send.link.id)
            .filter(|k| **k != send.entry.idem_key)
        {
            batch.outbox.push(OutboxWrite::Remove(old.clone()));
        }
        send.entry.state = "sending".into();
        batch.outbox.push(OutboxWrite::Queue(send.entry.clone()));
        ctx.plan.add(item);
        sends.push(send);
    }
    bump(counters, "writes", batch.writes() as u64);
    if !batch.is_empty() {
        ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
    }
    Ok(sends)
}

/// The records `ids`, by id.
fn load(
    ctx: &mut StepContext<'_>,
    ids: &[RecordId],
) -> Result<HashMap<RecordId, RecordState>, EngineError> {
    Ok((ctx.store.load_records(&ctx.tenant, ids)?.into_iter())
        .flatten()
        .map(|s| (s.id, s))
        .collect())
}

/// Links whose version the remote refused last time (a 412) and whose
/// record no read brought again since: when the step reads the connector
/// and it can fetch by id, those records are fetched and applied like a
/// webhook's ([`crate::pull::targeted`]) — the remote's change merges
/// into the hub and the link gets the version to send. Returns the hub
/// records to load again.
fn reread_refused(
    ctx: &mut StepContext<'_>,
    (connector, side): (&mut dyn Connector, &Side<'_>),
    states: &HashMap<RecordId, RecordState>,
    counters: &mut Counters,
) -> Result<Vec<RecordId>, EngineError> {
    if !side.pulls || !crate::pull::targeted::can(side) {
        return Ok(Vec::new());
    }
    let refused: Vec<&Link> = (states.values())
        .flat_map(|s| &s.links)
        .filter(|l| l.connector == side.name && settle::refused(l))
        .collect();
    if refused.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = refused.iter().map(|l| l.external_id.clone()).collect();
    bump(counters, "reread_refused", ids.len() as u64);
    match crate::pull::targeted::read(ctx, connector, side, &ids)? {
        Ok(outcome) => {
            let got = |k: &str| outcome.counters.get(k).copied().unwrap_or(0);
            bump(counters, "reread_changed", got("updated"));
            for k in ["conflicts", "held", "quarantined"] {
                bump(counters, k, got(k));
            }
        }
        Err(message) => {
            tracing::warn!(connector = side.name, error = %message, "records refused by the remote could not be read again");
            ctx.notes.push(format!(
                "push {}: {} record(s) whose version the remote refused could not be read again: {message}",
                side.name,
                ids.len()
            ));
        }
    }
    Ok(refused.iter().map(|l| l.record_id).collect())
}

/// Write the ops in connector-sized calls and settle each call's results.
fn send(
    ctx: &mut StepContext<'_>,
    env: &mut PushEnv<'_>,
    connector: &mut dyn Connector,
    side: &Side<'_>,
    sends: &[ToSend],
    counters: &mut Counters,
) -> Result<Result<(), String>, EngineError> {
    if side.caps.fingerprint {
        // the source changes now: its next read must not be skipped
        ctx.store
            .set_source_fingerprint(&ctx.tenant, side.name, &side.schema.name, "")?;
    }
    let listed = side.caps.list_versions
        && side.caps.key_field.as_deref() == Some(side.mapping.id_field.as_str());
    let mut listing = match listed {
        true => ctx
            .store
            .cursor(
                &ctx.tenant,
                side.name,
                &side.schema.name,
                crate::listing::CURSOR,
            )?
            .and_then(|c| crate::listing::parse(&c)),
        false => None,
    };
    for chunk in sends.chunks(side.caps.batch_size.max(1)) {
        let ops: Vec<WriteOp> = chunk.iter().map(|s| s.op.clone()).collect();
        let results = match connector.write(&side.mapping.id_field, &ops) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let listing_now = listing.map(|h| h ^ listing_delta(chunk, &results));
        bump(counters, "remote_writes", ops.len() as u64);
        env.progress.counters(counters);
        env.crash.check(CrashPoint::AfterRemoteWrite)?;
        let sent: Vec<Sent<'_>> = chunk
            .iter()
            .map(|s| Sent {
                entry: &s.entry,
                link: &s.link,
                attempts: s.attempts,
                held: s.held,
            })
            .collect();
        let answered: Vec<einklang_connectors::RawRecord> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|o| o.complete && side.pulls)
            .filter_map(|o| {
                Some(einklang_connectors::RawRecord {
                    position: format!("the record read again after writing {}", o.id),
                    fields: o.record.clone()?,
                    version: o.version.clone(),
                })
            })
            .collect();
        let observe = |entry: &einklang_store::OutboxEntry, record: &RawFields| {
            sent_and_shown(side, &entry.payload, record)
        };
        let (mut batch, tally) = settle(
            &sent,
            results,
            &observe,
            side.caps.client_ids,
            env.retry,
            env.now,
        );
        not_kept(ctx, side, &tally.not_kept, counters)?;
        if let Some(h) = listing_now {
            let cursor = (side.name, side.schema.name.as_str(), crate::listing::CURSOR);
            batch.cursors.push((
                cursor.0.into(),
                cursor.1.into(),
                cursor.2.into(),
                crate::listing::text(h),
            ));
            listing = Some(h);
        }
        for (op, n) in &tally.ok {
            bump(counters, &format!("pushed_{}", op.as_str()), *n);
        }
        bump(counters, "push_failed", tally.failed);
        bump(counters, "write_conflicts", tally.conflicts);
        for e in tally.errors {
            ctx.notes.push(format!("push {}: {e}", side.name));
        }
        bump(counters, "writes", batch.writes() as u64);
        ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
        if !answered.is_empty() {
            let applied = crate::pull::apply_answers(ctx, side, answered)?;
            let changed = applied.get("updated").copied().unwrap_or(0);
            bump(counters, "answers_into_hub", changed);
        }
    }
    Ok(Ok(()))
}

/// The fields a write sent (its rules' raw top keys in the payload) that
/// the record in its answer shows, as a read would give them.
fn sent_and_shown(side: &Side<'_>, payload: &RawFields, record: &RawFields) -> Fields {
    let sent = |rule: &einklang_core::FieldRule| {
        rule.source
            .top_keys()
            .iter()
            .any(|k| payload.contains_key(k))
    };
    let mut shown = side.mapping.observed(side.schema, &side.norm, record);
    shown.retain(|field, _| {
        side.roles.get(field).is_some_and(|r| r.pushes)
            && side
                .mapping
                .fields
                .iter()
                .any(|r| r.target == *field && sent(r))
    });
    shown
}

/// Note the fields the remote did not keep: new ones warn once (a run
/// note naming connector, field, what was sent and what it holds), and
/// later writes to the connector leave them out.
fn not_kept(
    ctx: &mut StepContext<'_>,
    side: &Side<'_>,
    fields: &[(String, einklang_core::Value, einklang_core::Value)],
    counters: &mut Counters,
) -> Result<(), EngineError> {
    for (field, sent, held) in fields {
        let example = format!(
            "sent {}, it holds {}",
            einklang_connectors::excerpt(&sent.to_string(), 60),
            einklang_connectors::excerpt(&held.to_string(), 60)
        );
        let row = einklang_store::IgnoredField {
            connector: side.name.to_string(),
            entity: side.schema.name.clone(),
            field: field.clone(),
            example: example.clone(),
            noticed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        if ctx.store.note_ignored(&ctx.tenant, &row)? {
            bump(counters, "fields_not_kept", 1);
            let note = format!(
                "connector `{}` did not keep field `{field}` of {} as written ({example}): later writes leave it out",
                side.name, side.schema.name
            );
            tracing::warn!(connector = side.name, field = field.as_str(), "{note}");
            ctx.notes.push(note);
        }
    }
    Ok(())
}

/// How the remote's listing hash changes by these answers: each written
/// record's old entry goes, its new one (id and version from the answer)
/// comes. A failure or an answer without a version changes nothing here,
/// which leaves the hash different from the next listing: a full join then.
fn listing_delta(chunk: &[ToSend], results: &[einklang_connectors::WriteResult]) -> u128 {
    use crate::listing::entry;
    chunk
        .iter()
        .zip(results)
        .filter_map(|(s, r)| Some((s, r.as_ref().ok()?)))
        .fold(0, |acc, (s, outcome)| {
            let old = match (&s.link.status, &s.link.version) {
                (einklang_store::LinkStatus::Pending, _) | (_, None) => 0,
                (_, Some(v)) => entry(&s.link.external_id, Some(v)),
            };
            let new = match (&s.op, &outcome.version) {
                (WriteOp::Delete { .. }, _) | (_, None) => 0,
                (_, Some(v)) => entry(&outcome.id, Some(v)),
            };
            acc ^ old ^ new
        })
}

pub(crate) fn bump(counters: &mut Counters, key: &str, n: u64) {
    if n > 0 {
        *counters.entry(key.to_string()).or_default() += n;
    }
}
