//! [`crate::HubStore::merge_many`] on PostgreSQL: the rows the batch
//! touches are read with one query per table (`= ANY($ids)`), the steps
//! are worked out in memory ([`crate::identity::batch`]), and the writes
//! go as one `UPDATE … FROM unnest(…)` or `INSERT … SELECT … FROM
//! unnest(…)` per kind of row — a handful of round trips per batch
//! instead of about fourteen per merge.
//!
//! Every step's time is the transaction's `now()`, as before. Values a
//! step wrote are shown in a later step's snapshot as PostgreSQL's own
//! `jsonb` text of them, as if read back.

use super::read::corrupt;
use crate::identity::batch::{self, Loaded, Writes};
use crate::identity::{LinkRow, RecordRow};
use crate::migrate::json;
use crate::model::*;
use crate::{MergeStep, MergesDone, Result, Survive};
use ::postgres::Client;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// See [`crate::HubStore::merge_many`].
pub(super) fn merge_many(
    c: &mut Client,
    (tenant, run, entity): (&str, RunId, &str),
    steps: &[MergeStep],
    survive: &Survive<'_>,
) -> Result<MergesDone> {
    let started = std::time::Instant::now();
    let now = c.query_one("SELECT now()::text, now()", &[])?;
    let (now, at): (String, DateTime<Utc>) = (now.get(0), now.get(1));
    let mut times = HashMap::from([(now.clone(), at.timestamp_micros())]);
    let loaded = load(c, tenant, &batch::record_ids(steps), &mut times)?;
    let read = started.elapsed().as_secs_f64();
    let micros = |s: &str| times.get(s).copied().ok_or_else(|| corrupt("time", s));
    let mut writes = batch::plan(loaded, entity, steps, survive, || now.clone(), &micros)?;
    let planned = started.elapsed().as_secs_f64();
    as_jsonb(c, &mut writes)?;
    write_rows(c, &writes, &now)?;
    let ids = insert(c, (tenant, run, entity), &writes)?;
    batch::traced(
        "postgres",
        (steps.len(), ids.len()),
        &writes,
        (started, read, planned),
    );
    Ok(MergesDone {
        ids,
        stopped: writes.stopped,
    })
}

/// The rows of records `ids` of `tenant`; `times` learns each record's
/// `updated_at` text as microseconds.
fn load(
    c: &mut Client,
    tenant: &str,
    ids: &[RecordId],
    times: &mut HashMap<String, i64>,
) -> Result<Loaded> {
    let mut out = Loaded::default();
    let rows = c.query(
        "SELECT id, entity, vals::text, version, merged_into, deleted_at::text, updated_at::text, updated_at
         FROM records WHERE tenant = $1 AND id = ANY($2)",
        &[&tenant, &ids],
    )?;
    for r in rows {
        let row = RecordRow {
            id: r.get(0),
            vals: r.get(2),
            version: r.get(3),
            merged_into: r.get(4),
            deleted_at: r.get(5),
            updated_at: r.get(6),
        };
        let at: DateTime<Utc> = r.get(7);
        times.insert(row.updated_at.clone(), at.timestamp_micros());
        out.records.insert(row.id, (r.get(1), row));
    }
    let links = c.query(
        "SELECT id, record_id, status, updated_at::text, content_hash, connector FROM links
         WHERE tenant = $1 AND record_id = ANY($2) ORDER BY id",
        &[&tenant, &ids],
    )?;
    for r in links {
        let link = LinkRow {
            id: r.get(0),
            record_id: r.get(1),
            status: r.get(2),
            updated_at: r.get(3),
            content_hash: r.get(4),
        };
        let rows = out.links.entry(link.record_id).or_default();
        rows.push((link, r.get(5)));
    }
    for (table, into) in [
        ("conflicts", &mut out.conflicts),
        ("outbox", &mut out.outbox),
    ] {
        let sql = format!(
            "SELECT id, record_id FROM {table} WHERE tenant = $1 AND record_id = ANY($2) ORDER BY id"
        );
        for r in c.query(&sql, &[&tenant, &ids])? {
            into.entry(r.get(1)).or_default().push(r.get(0));
        }
    }
    Ok(out)
}

/// Snapshot values an earlier step of the batch wrote, as PostgreSQL's
/// `jsonb` text (what reading them back would give).
fn as_jsonb(c: &mut Client, w: &mut Writes) -> Result<()> {
    let written: Vec<String> = w
        .merges
        .iter()
        .flat_map(|m| {
            (0..2)
                .filter(|&i| m.written[i])
                .map(|i| m.snapshot.records[i].vals.clone())
        })
        .collect();
    if written.is_empty() {
        return Ok(());
    }
    let rows = c.query(
        "SELECT v::jsonb::text FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
        &[&written],
    )?;
    let mut canon = rows.iter().map(|r| r.get::<_, String>(0));
    for m in &mut w.merges {
        for i in (0..2).filter(|&i| m.written[i]) {
            m.snapshot.records[i].vals = canon.next().expect("one per value");
        }
    }
    Ok(())
}

/// The touched records, links, conflicts and outbox rows, one statement
/// for each kind; every time a step set is the transaction's `now()`.
fn write_rows(c: &mut Client, w: &Writes, now: &str) -> Result<()> {
    for vals in [true, false] {
        let rows: Vec<&RecordRow> = w
            .records
            .iter()
            .filter(|r| r.vals_changed == vals)
            .map(|r| &r.row)
            .collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let versions: Vec<i64> = rows.iter().map(|r| r.version).collect();
        let into: Vec<Option<i64>> = rows.iter().map(|r| r.merged_into).collect();
        let texts: Vec<&str> = rows.iter().map(|r| r.vals.as_str()).collect();
        let set_vals = if vals { "vals = u.vals::jsonb," } else { "" };
        c.execute(
            &format!(
                "UPDATE records r SET {set_vals} version = u.version, merged_into = u.merged_into, updated_at = now()
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS u(id, version, merged_into, vals)
                 WHERE r.id = u.id"
            ),
            &[&ids, &versions, &into, &texts],
        )?;
    }
    let ids: Vec<i64> = w.links.iter().map(|l| l.id).collect();
    let records: Vec<i64> = w.links.iter().map(|l| l.record_id).collect();
    let status: Vec<&str> = w.links.iter().map(|l| l.status.as_str()).collect();
    let dirtied: Vec<bool> = w.links.iter().map(|l| l.updated_at == now).collect();
    c.execute(
        "UPDATE links l SET record_id = u.record_id, status = u.status,
           updated_at = CASE WHEN u.dirtied THEN now() ELSE l.updated_at END
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bool[]) AS u(id, record_id, status, dirtied)
         WHERE l.id = u.id",
        &[&ids, &records, &status, &dirtied],
    )?;
    for (table, rows) in [("conflicts", &w.conflicts), ("outbox", &w.outbox)] {
        let (ids, records): (Vec<i64>, Vec<i64>) = rows.iter().copied().unzip();
        let sql = format!(
            "UPDATE {table} t SET record_id = u.record_id
             FROM unnest($1::bigint[], $2::bigint[]) AS u(id, record_id) WHERE t.id = u.id"
        );
        c.execute(&sql, &[&ids, &records])?;
    }
    Ok(())
}

/// The merge rows (returning their ids in step order) and history rows,
/// each inserted in order.
fn insert(
    c: &mut Client,
    (tenant, run, entity): (&str, RunId, &str),
    w: &Writes,
) -> Result<Vec<i64>> {
    let m = &w.merges;
    let survivors: Vec<i64> = m.iter().map(|m| m.survivor).collect();
    let merged: Vec<i64> = m.iter().map(|m| m.merged).collect();
    let p: Vec<f64> = m.iter().map(|m| m.probability).collect();
    let reasons: Vec<&str> = m.iter().map(|m| m.reason.as_str()).collect();
    let versions: Vec<i64> = m.iter().map(|m| m.survivor_version).collect();
    let snaps: Vec<String> = m.iter().map(|m| json(&m.snapshot)).collect();
    let rows = c.query(
        "INSERT INTO merges (tenant, entity, survivor_id, merged_id, probability, reason, status, run_id,
           survivor_version, snapshot)
         SELECT $1, $2, s, m, p, r, 'active', $3, v, j::json
         FROM unnest($4::bigint[], $5::bigint[], $6::float8[], $7::text[], $8::bigint[], $9::text[])
           WITH ORDINALITY AS u(s, m, p, r, v, j, n) ORDER BY n
         RETURNING id, merged_id",
        &[&tenant, &entity, &run, &survivors, &merged, &p, &reasons, &versions, &snaps],
    )?;
    let ids: HashMap<i64, i64> = rows.iter().map(|r| (r.get(1), r.get(0))).collect();
    let records: Vec<i64> = w.history.iter().map(|h| h.record).collect();
    let origins: Vec<&str> = w.history.iter().map(|h| h.origin.as_str()).collect();
    let changes: Vec<String> = w.history.iter().map(|h| json(&h.changes)).collect();
    c.execute(
        "INSERT INTO history (tenant, record_id, run_id, origin, initial, changes)
         SELECT $1, r, $2, o, false, ch::json
         FROM unnest($3::bigint[], $4::text[], $5::text[]) WITH ORDINALITY AS u(r, o, ch, n) ORDER BY n",
        &[&tenant, &run, &records, &origins, &changes],
    )?;
    Ok(merged.iter().map(|m| ids[m]).collect())
}
