//! The staging of a refresh: the connector read once, every record
//! mapped by each entity's mapping and staged under the run, bad ones
//! quarantined; a read that broke off stages what came before it and
//! fails.

use super::{bump, PAGE};
use crate::job::RunEnv;
use crate::pull::prepare::Preparer;
use crate::step::Open;
use einklang_connectors::ReadItem;
use einklang_core::EntitySchema;
use einklang_store::{Counters, StagedRecord};

/// Read the connector once; map, normalise and stage every record by each
/// entity's mapping; quarantine the bad ones. Returns how many distinct
/// records of each entity were staged.
pub(super) fn stage(env: &mut RunEnv<'_>, opens: &mut [Open<'_>]) -> Result<Vec<u64>, String> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let mut counters = Vec::new();
    // records whose id could not be read, per entity: absent records are
    // then kept (one of them may be such a record)
    let mut unidentified = vec![0; opens.len()];
    // each entity's counts of the job's checks
    let mut checked = vec![Counters::new(); opens.len()];
    {
        let mut sides = Vec::new();
        let mut connectors = Vec::new();
        for o in opens.iter_mut() {
            sides.push(&o.side);
            connectors.push(&mut o.connector);
        }
        let Some(connector) = connectors.into_iter().next() else {
            return Ok(Vec::new());
        };
        let mut preparers: Vec<Preparer<'_>> = sides.iter().map(|s| Preparer::new(s)).collect();
        let mut items = connector.read().map_err(|e| e.to_string())?.fuse();
        let mut chunk = Vec::with_capacity(PAGE);
        loop {
            chunk.extend(items.by_ref().take(PAGE));
            if chunk.is_empty() {
                break;
            }
            let mut read = std::mem::take(&mut chunk);
            // a read that broke off: stage what came before it, then fail
            let broken = read.iter().position(|r| matches!(r, ReadItem::Broken(_)));
            let broken = broken.map(|at| read.split_off(at).swap_remove(0));
            let rejects = read
                .iter()
                .filter(|r| matches!(r, ReadItem::Reject(_)))
                .count() as u64;
            // the first entity last: it takes the chunk itself, uncopied
            for i in (0..sides.len()).rev() {
                // a piece of input the connector could not parse: quarantined once
                let items = match i {
                    0 => std::mem::take(&mut read),
                    _ => (read.iter().filter(|r| matches!(r, ReadItem::Record(_))))
                        .cloned()
                        .collect(),
                };
                let what = (sides[i].schema, &mut checked[i]);
                unidentified[i] += stage_chunk(env, what, &mut preparers[i], items)?;
                if i > 0 {
                    unidentified[i] += rejects; // the source's, seen by the first only
                }
            }
            if let Some(ReadItem::Broken(r)) = broken {
                return Err(format!("{} ({})", r.reason, r.position));
            }
        }
        for (i, preparer) in preparers.iter_mut().enumerate() {
            let mut c = preparer.take_counters();
            if i > 0 {
                c.remove("read"); // one read, counted once
            }
            counters.push(c);
        }
    }
    let counts = env
        .store
        .staged_counts(&tenant, run)
        .map_err(|e| e.to_string())?;
    // a record other entities of the step refer to is named by many
    let targets: Vec<String> = (opens.iter())
        .flat_map(|o| einklang_core::refs::ref_fields(o.side.schema))
        .map(|r| r.target)
        .collect();
    let mut staged = Vec::new();
    let per_entity = counters.into_iter().zip(checked);
    for ((open, (c, checked)), unidentified) in opens.iter_mut().zip(per_entity).zip(unidentified) {
        for (k, v) in checked {
            bump(&mut open.report, &k, v);
        }
        for (k, v) in c {
            bump(&mut open.report, &k, v);
        }
        if unidentified > 0 {
            bump(&mut open.report, "unidentified", unidentified);
        }
        let entity = &open.side.schema.name;
        let mine = counts.iter().find(|c| &c.entity == entity);
        let (records, duplicates) = mine.map_or((0, 0), |c| (c.records, c.duplicates));
        bump(&mut open.report, "staged", records);
        if duplicates > 0 {
            bump(&mut open.report, "duplicates", duplicates);
        }
        if duplicates > 0 && !targets.contains(entity) {
            open.report.notes.push(format!(
                "{duplicates} {entity} record(s) came twice in the snapshot (a listing that moved while it was read): each staged once, its last copy"
            ));
        }
        staged.push(records);
    }
    Ok(staged)
}

/// Map and stage one chunk of read items for one entity; returns how
/// many were quarantined without a readable id.
fn stage_chunk(
    env: &mut RunEnv<'_>,
    (schema, checked): (&EntitySchema, &mut Counters),
    preparer: &mut Preparer<'_>,
    items: Vec<ReadItem>,
) -> Result<u64, String> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let prepared = preparer.prepare_all(items);
    // the job's count checks of this entity
    for check in env.job.checks.iter().filter(|c| c.entity == schema.name) {
        let n = (prepared.incoming.iter())
            .filter(|i| check.counts(&i.values))
            .count();
        *checked.entry(check.label()).or_default() += n as u64;
    }
    // quarantined without an id (a record filtered out is simply not in the snapshot)
    let unidentified = (prepared.rejects.iter())
        .filter(|q| q.external_id.is_none())
        .count() as u64;
    let records: Vec<StagedRecord> = prepared
        .incoming
        .into_iter()
        .map(|i| StagedRecord {
            entity: schema.name.clone(),
            external_id: i.external_id,
            values: i.values,
        })
        .collect();
    env.store
        .stage(&tenant, run, &records)
        .map_err(|e| e.to_string())?;
    if !prepared.rejects.is_empty() {
        env.store
            .quarantine(&tenant, run, &prepared.rejects)
            .map_err(|e| e.to_string())?;
    }
    Ok(unidentified)
}
