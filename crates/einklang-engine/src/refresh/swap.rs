//! The swap of a refresh: inside one store transaction, each entity's
//! staged snapshot applied in turn (the order of [`super::run_step`]: the
//! entities a record refers to first) — new records created, changed ones
//! updated as [`einklang_core::refresh::apply`] decides, records whose
//! snapshot equals their base not written at all (no history, nothing
//! for other connectors) — and then, in reverse order, the records each
//! snapshot no longer has ended as `absent` says. A record's `ref` fields
//! name the source's ids; they are resolved here to hub ids through the
//! connector's links ([`einklang_core::refs`]), an id the hub does not
//! know creating an empty record where the field says `create`.

use super::{bump, PAGE};
use crate::inbound::{plan_gone, tombstone, Gone};
use crate::job::RunEnv;
use crate::report::{FieldDiff, PlanItem};
use crate::step::Open;
use crate::{CrashPoint, EngineError};
use einklang_config::Absent;
use einklang_core::refresh::{apply, compare, Change as RecordChange};
use einklang_core::refs::{ref_fields, resolve, wanted, RefField};
use einklang_core::{content_hash, Fields};
use einklang_store::{
    Change, FieldChange, FieldChanges, LinkChange, LinkStatus, LinkWrite, RecordState,
    StagedRecord, SyncBatch,
};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Apply every entity's snapshot `staged_by` staged (inside the swap's
/// transaction).
pub(super) fn apply_all(
    env: &mut RunEnv<'_>,
    opens: &mut [Open<'_>],
    staged_by: i64,
) -> Result<(), EngineError> {
    let mut seen = Vec::new();
    let mut referred = Referred::new();
    // in a plan of several entities, each change names its entity
    let several = opens.len() > 1;
    for open in opens.iter_mut() {
        seen.push(upsert(env, open, (staged_by, several), &mut referred)?);
    }
    // a record the snapshot still refers to is not absent from it
    for (open, seen) in opens.iter().zip(&mut seen) {
        seen.extend(referred.remove(&open.side.schema.name).unwrap_or_default());
    }
    if env.job.absent == Absent::Delete {
        // records that refer to others end before those they refer to
        for (open, seen) in opens.iter_mut().zip(&seen).rev() {
            let unsure = open.report.counters.get("unidentified").copied();
            match unsure.filter(|n| *n > 0) {
                Some(n) => open.report.notes.push(format!(
                    "{n} record(s) of the snapshot had no readable id: records it no longer has are kept this time (one of them may be such a record)"
                )),
                None => delete_absent(env, open, seen, several)?,
            }
        }
    }
    Ok(())
}

/// The source ids the snapshot's records refer to, by target entity.
type Referred = HashMap<String, HashSet<String>>;

/// Create and update the records of one entity's snapshot (staged by
/// `staged_by`); returns the external ids it has, and adds those its
/// records refer to to `referred`.
fn upsert(
    env: &mut RunEnv<'_>,
    open: &mut Open<'_>,
    (staged_by, several): (i64, bool),
    referred: &mut Referred,
) -> Result<HashSet<String>, EngineError> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let (connector, entity) = (open.side.name.to_string(), open.side.schema.name.clone());
    let refs = ref_fields(open.side.schema);
    let label = planned_as(&connector, &entity, several);
    let mut seen: HashSet<String> = HashSet::new();
    let mut after = String::new();
    loop {
        let page = env
            .store
            .staged_page(&tenant, staged_by, &entity, &after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.external_id.clone();
        for r in &page {
            for (field, id) in wanted(&r.values, &refs) {
                referred.entry(field.target.clone()).or_default().insert(id);
            }
        }
        let resolved = resolved(env, open, &refs, &page, several)?;
        let ids: Vec<&str> = page.iter().map(|r| r.external_id.as_str()).collect();
        let links = env.store.find_links(&tenant, &connector, &entity, &ids)?;
        let linked: Vec<i64> = links.iter().flatten().map(|l| l.record_id).collect();
        let states = states_of(env, &linked)?;
        let mut changes = Vec::new();
        // a record updated earlier in this page (a merged record holds two
        // links of the connector): the next update builds on that one
        let mut touched: HashMap<i64, Fields> = HashMap::new();
        // records deleted (as absent, or elsewhere) that the snapshot has again
        let mut revived = SyncBatch::default();
        for ((staged, values), link) in page.into_iter().zip(resolved).zip(links) {
            seen.insert(staged.external_id.clone());
            let hash = content_hash(&values);
            let write = |base: Fields| LinkWrite {
                connector: connector.clone(),
                external_id: staged.external_id.clone(),
                base,
                content_hash: hash,
                version: None,
            };
            let Some(link) = link else {
                let fields = compare(&Fields::new(), &values);
                let at = (None, staged.external_id.as_str());
                plan(env, (&label, "create"), at, &fields);
                bump(&mut open.report, "created", 1);
                changes.push(Change::Create {
                    entity: entity.clone(),
                    link: write(values.clone()),
                    history: history(&fields),
                    values,
                });
                continue;
            };
            // a record gone meanwhile has no state
            let Some(state) = states.get(&link.record_id) else {
                continue;
            };
            // back in the source after it dropped it, or changed there since
            // the hub deleted it (the source's change beats the delete; an
            // unchanged record deleted in the hub stays deleted)
            let revive = link.status == LinkStatus::DeletedRemote
                || (state.deleted && link.content_hash != hash);
            if revive {
                revive_into(&mut revived, (state, link.link_id), &connector);
                let at = (Some(state.id), staged.external_id.as_str());
                plan(env, (&label, "restore"), at, &[]);
                bump(&mut open.report, "restored", 1);
            }
            if link.content_hash == hash && !revive {
                bump(&mut open.report, "unchanged", 1);
                continue;
            }
            // this link's base: a merged record may hold two links of the connector
            let base = (state.links.iter())
                .find(|l| l.id == link.link_id)
                .map(|l| l.base.clone())
                .unwrap_or_default();
            let hub = touched.get(&state.id).unwrap_or(&state.values);
            let Some((merged, fields)) = apply(hub, &base, &values) else {
                if !revive {
                    bump(&mut open.report, "unchanged", 1);
                }
                continue;
            };
            touched.insert(state.id, merged.clone());
            let at = (Some(state.id), staged.external_id.as_str());
            plan(env, (&label, "update"), at, &fields);
            bump(&mut open.report, "updated", 1);
            changes.push(Change::Update {
                record_id: state.id,
                link_id: link.link_id,
                history: history(&fields),
                values: merged,
                link: write(values),
            });
        }
        if !changes.is_empty() {
            env.store.apply(&tenant, run, &changes)?;
            env.crash.check(CrashPoint::InSwap)?;
        }
        if !revived.records.is_empty() {
            env.store.apply_sync(&tenant, run, &revived)?;
        }
        // inside the swap's transaction: the keeper's connection waits
        env.holding.renew(env.store);
    }
    if let Some(n) = open.report.counters.get("refs_created").filter(|n| **n > 0) {
        let targets: Vec<&str> = (refs.iter().filter(|r| r.create))
            .map(|r| r.target.as_str())
            .collect();
        open.report.notes.push(format!(
            "{n} record(s) created ({}) for ids its {entity} records name that the hub did not have (create = true)",
            targets.join(", ")
        ));
    }
    Ok(seen)
}

/// The page's values as the hub keeps them: each ref field's source id
/// replaced by the hub id of the record the connector's link names; a
/// target the hub does not have created (empty, linked) where its field
/// says `create`, else the value kept flagged.
fn resolved(
    env: &mut RunEnv<'_>,
    open: &mut Open<'_>,
    refs: &[RefField],
    page: &[StagedRecord],
    several: bool,
) -> Result<Vec<Fields>, EngineError> {
    if refs.is_empty() {
        return Ok(page.iter().map(|r| r.values.clone()).collect());
    }
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let connector = open.side.name.to_string();
    let mut named: BTreeSet<(&str, String, bool)> = BTreeSet::new();
    for r in page {
        for (field, id) in wanted(&r.values, refs) {
            named.insert((field.target.as_str(), id, field.create));
        }
    }
    let mut known: HashMap<(String, String), i64> = HashMap::new();
    let targets: BTreeSet<&str> = named.iter().map(|(t, _, _)| *t).collect();
    for target in targets {
        let ids: Vec<&str> = (named.iter().filter(|(t, _, _)| *t == target))
            .map(|(_, id, _)| id.as_str())
            .collect();
        let links = env.store.find_links(&tenant, &connector, target, &ids)?;
        for (id, link) in ids.iter().zip(links) {
            if let Some(l) = link {
                known.insert((target.to_string(), id.to_string()), l.record_id);
            }
        }
    }
    let missing: Vec<(String, String)> = named
        .iter()
        .filter(|(t, id, create)| *create && !known.contains_key(&(t.to_string(), id.clone())))
        .map(|(t, id, _)| (t.to_string(), id.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        let creates: Vec<Change> = missing
            .iter()
            .map(|(target, id)| {
                let label = planned_as(&connector, target, several);
                plan(env, (&label, "create"), (None, id), &[]);
                Change::Create {
                    entity: target.clone(),
                    values: Fields::new(),
                    link: LinkWrite {
                        connector: connector.clone(),
                        external_id: id.clone(),
                        base: Fields::new(),
                        content_hash: content_hash(&Fields::new()),
                        version: None,
                    },
                    history: FieldChanges::new(),
                }
            })
            .collect();
        let created = env.store.apply(&tenant, run, &creates)?;
        bump(&mut open.report, "created", created.len() as u64);
        bump(&mut open.report, "refs_created", created.len() as u64);
        known.extend(missing.into_iter().zip(created));
    }
    let lookup = |t: &str, id: &str| known.get(&(t.to_string(), id.to_string())).copied();
    Ok(page
        .iter()
        .map(|r| resolve(&r.values, refs, lookup))
        .collect())
}

/// Bring back a deleted record the snapshot has again through `link`:
/// the record un-deleted, the link clean, the record's other links whose
/// remote record went with it created there again.
fn revive_into(batch: &mut SyncBatch, (state, link): (&RecordState, i64), connector: &str) {
    batch.records.push(einklang_store::RecordWrite {
        record_id: state.id,
        values: None,
        deleted: Some(false),
        origin: connector.to_string(),
        history: FieldChanges::new(),
    });
    batch.links.push(LinkChange::State {
        link_id: link,
        status: LinkStatus::Clean,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
    });
    batch.links.extend(crate::inbound::gone_links(state, link));
    batch.dirty.push((state.id, Some(link)));
}

/// The records `ids` name, by id (each loaded once: two links of one
/// connector may lead to one merged record).
fn states_of(env: &mut RunEnv<'_>, ids: &[i64]) -> Result<HashMap<i64, RecordState>, EngineError> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let loaded = env.store.load_records(&env.config.tenant, &unique)?;
    Ok(unique
        .into_iter()
        .zip(loaded)
        .filter_map(|(id, s)| s.map(|s| (id, s)))
        .collect())
}

/// How a plan names the side of a change: the connector, and in a
/// refresh of several entities the entity too (`kommo/vehicle`).
fn planned_as(connector: &str, entity: &str, several: bool) -> String {
    match several {
        true => format!("{connector}/{entity}"),
        false => connector.to_string(),
    }
}

/// A change the refresh makes, for `einklang plan` and the run report.
fn plan(
    env: &mut RunEnv<'_>,
    (connector, action): (&str, &'static str),
    (record, id): (Option<i64>, &str),
    changes: &[RecordChange],
) {
    let fields = changes
        .iter()
        .map(|(field, old, new)| FieldDiff {
            field: field.clone(),
            old: old.clone().unwrap_or_default(),
            new: new.clone().unwrap_or_default(),
        })
        .collect();
    env.plan.add(PlanItem {
        connector: connector.to_string(),
        direction: "pull",
        action,
        record,
        id: id.to_string(),
        fields,
    });
}

/// History of field changes ([`compare`], [`apply`]): absent as null.
fn history(changes: &[RecordChange]) -> FieldChanges {
    changes
        .iter()
        .map(|(field, old, new)| {
            let change = FieldChange {
                old: old.clone().unwrap_or_default(),
                new: new.clone().unwrap_or_default(),
            };
            (field.clone(), change)
        })
        .collect()
}

/// Delete the records whose links the snapshot no longer has, as a
/// deletion read from the source would ([`plan_gone`]).
fn delete_absent(
    env: &mut RunEnv<'_>,
    open: &mut Open<'_>,
    seen: &HashSet<String>,
    several: bool,
) -> Result<(), EngineError> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let (connector, entity) = (open.side.name.to_string(), open.side.schema.name.clone());
    let label = planned_as(&connector, &entity, several);
    let mut gone = Vec::new();
    env.store
        .scan_links(&tenant, &connector, &entity, &mut |l| {
            if !matches!(l.status, LinkStatus::Pending | LinkStatus::DeletedRemote)
                && !seen.contains(l.external_id)
            {
                gone.push(l.to_ref());
            }
        })?;
    for chunk in gone.chunks(PAGE) {
        let ids: Vec<_> = chunk.iter().map(|l| l.record_id).collect();
        let states = states_of(env, &ids)?;
        let mut batch = SyncBatch::default();
        for lref in chunk {
            let Some(state) = states.get(&lref.record_id) else {
                continue;
            };
            let Some(link) = state.links.iter().find(|l| l.id == lref.link_id) else {
                continue;
            };
            let decision = plan_gone(&open.side, state, link, false);
            batch.links.push(LinkChange::State {
                link_id: link.id,
                status: LinkStatus::DeletedRemote,
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
            });
            if decision == Gone::DeleteRecord {
                let fields = compare(&state.values, &Fields::new());
                let at = (Some(state.id), link.external_id.as_str());
                plan(env, (&label, "delete"), at, &fields);
                bump(&mut open.report, "deleted", 1);
                batch.records.push(tombstone(state, &connector));
                batch.dirty.push((state.id, Some(link.id)));
            }
        }
        env.store.apply_sync(&tenant, run, &batch)?;
        env.holding.renew(env.store);
    }
    Ok(())
}
