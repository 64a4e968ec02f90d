//! [`crate::HubStore::merge_many`] on SQLite: the rows the batch touches
//! are read once (records by id, their links, conflicts and outbox rows),
//! the steps are worked out in memory ([`crate::identity::batch`]), and
//! each touched row is written once, in id order, with the merge and
//! history rows inserted in step order — the same rows as the steps one
//! at a time would leave, with a fraction of the statements.

use super::identity::Out;
use super::read::time;
use crate::identity::batch::{self, Loaded, Writes};
use crate::identity::LinkRow;
use crate::migrate::json;
use crate::model::*;
use crate::{MergeStep, MergesDone, Survive};
use rusqlite::{params, Connection};

/// See [`crate::HubStore::merge_many`]; `now` gives each step its time,
/// as separate transactions would have.
pub(super) fn merge_many(
    c: &Connection,
    (tenant, run, entity): (&str, RunId, &str),
    steps: &[MergeStep],
    survive: &Survive<'_>,
    now: impl FnMut() -> String,
) -> Out<MergesDone> {
    let started = std::time::Instant::now();
    let loaded = load(c, tenant, &batch::record_ids(steps))?;
    let read = started.elapsed().as_secs_f64();
    let micros = |s: &str| Ok(time("record updated_at", s)?.timestamp_micros());
    let writes = batch::plan(loaded, entity, steps, survive, now, &micros)?;
    let planned = started.elapsed().as_secs_f64();
    let ids = write(c, (tenant, run, entity), &writes)?;
    batch::traced(
        "sqlite",
        (steps.len(), ids.len()),
        &writes,
        (started, read, planned),
    );
    Ok(MergesDone {
        ids,
        stopped: writes.stopped,
    })
}

/// The rows of records `ids` (ascending) of `tenant`.
fn load(c: &Connection, tenant: &str, ids: &[RecordId]) -> Out<Loaded> {
    let mut out = Loaded::default();
    // one record at a time: with `IN (..)` SQLite picks the tenant index and scans every link
    let mut links = c.prepare_cached(
        "SELECT id, record_id, status, updated_at, content_hash, connector FROM links
         WHERE tenant = ?1 AND record_id = ?2 ORDER BY id",
    )?;
    for &rid in ids {
        let row = super::identity::record_row(c, tenant, rid)?;
        let Some(row) = row else { continue };
        out.records.insert(rid, row);
        let rows = links.query_map(params![tenant, rid], link_of)?;
        let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        if !rows.is_empty() {
            out.links.insert(rid, rows);
        }
    }
    out.conflicts = ids_by_record(c, "conflicts", tenant, ids)?;
    out.outbox = ids_by_record(c, "outbox", tenant, ids)?;
    Ok(out)
}

fn link_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<(LinkRow, String)> {
    Ok((
        LinkRow {
            id: r.get(0)?,
            record_id: r.get(1)?,
            status: r.get(2)?,
            updated_at: r.get(3)?,
            content_hash: r.get(4)?,
        },
        r.get(5)?,
    ))
}

/// The row ids of `table` (conflicts, outbox) of each of `records`, by id;
/// none read when the tenant has no such rows.
fn ids_by_record(
    c: &Connection,
    table: &str,
    tenant: &str,
    records: &[RecordId],
) -> Out<std::collections::HashMap<RecordId, Vec<i64>>> {
    let mut out = std::collections::HashMap::new();
    let any = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE tenant = ?1)");
    if !c
        .prepare_cached(&any)?
        .query_row([tenant], |r| r.get::<_, bool>(0))?
    {
        return Ok(out);
    }
    let sql = format!("SELECT id FROM {table} WHERE tenant = ?1 AND record_id = ?2 ORDER BY id");
    let mut stmt = c.prepare_cached(&sql)?;
    for &rid in records {
        let rows = stmt.query_map(params![tenant, rid], |r| r.get(0))?;
        let rows: Vec<i64> = rows.collect::<rusqlite::Result<_>>()?;
        if !rows.is_empty() {
            out.insert(rid, rows);
        }
    }
    Ok(out)
}

/// The batch's writes; returns the merge ids in step order.
fn write(c: &Connection, (tenant, run, entity): (&str, RunId, &str), w: &Writes) -> Out<Vec<i64>> {
    write_rows(c, w)?;
    let mut merge = c.prepare_cached(
        "INSERT INTO merges (tenant, entity, survivor_id, merged_id, probability, reason, status, run_id,
           survivor_version, snapshot, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?8, ?9, ?10)",
    )?;
    let mut ids = Vec::with_capacity(w.merges.len());
    for m in &w.merges {
        merge.execute(params![
            tenant,
            entity,
            m.survivor,
            m.merged,
            m.probability,
            m.reason,
            run,
            m.survivor_version,
            json(&m.snapshot),
            m.now
        ])?;
        ids.push(c.last_insert_rowid());
    }
    let mut history = c.prepare_cached(
        "INSERT INTO history (tenant, record_id, run_id, origin, initial, changes, at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
    )?;
    for h in &w.history {
        history.execute(params![
            tenant,
            h.record,
            run,
            h.origin,
            json(&h.changes),
            h.now
        ])?;
    }
    Ok(ids)
}

/// The touched records, links, conflicts and outbox rows, each once.
fn write_rows(c: &Connection, w: &Writes) -> Out<()> {
    let mut survivor = c.prepare_cached(
        "UPDATE records SET vals = ?1, version = ?2, merged_into = ?3, updated_at = ?4 WHERE id = ?5",
    )?;
    let mut merged = c.prepare_cached(
        "UPDATE records SET version = ?1, merged_into = ?2, updated_at = ?3 WHERE id = ?4",
    )?;
    for r in &w.records {
        let row = &r.row;
        match r.vals_changed {
            true => survivor.execute(params![
                row.vals,
                row.version,
                row.merged_into,
                row.updated_at,
                row.id
            ])?,
            false => merged.execute(params![
                row.version,
                row.merged_into,
                row.updated_at,
                row.id
            ])?,
        };
    }
    let mut link = c.prepare_cached(
        "UPDATE links SET record_id = ?1, status = ?2, updated_at = ?3 WHERE id = ?4",
    )?;
    for l in &w.links {
        link.execute(params![l.record_id, l.status, l.updated_at, l.id])?;
    }
    for (table, rows) in [("conflicts", &w.conflicts), ("outbox", &w.outbox)] {
        let sql = format!("UPDATE {table} SET record_id = ?1 WHERE id = ?2");
        let mut stmt = c.prepare_cached(&sql)?;
        for (id, rid) in rows {
            stmt.execute(params![rid, id])?;
        }
    }
    Ok(())
}
