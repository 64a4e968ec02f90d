//! Identity resolution on SQLite: live records for matching, merges with
//! their snapshots, unmerge, and the review queue. Each write runs inside
//! the caller's savepoint.

use super::read::{opt_time, time};
use crate::identity::{self as id, LinkRow, RecordRow, Snapshot};
use crate::migrate::{json, parse};
use crate::model::*;
use crate::{MergeRow, MergeWrite, NewReview, Result, ReviewRow, ReviewStatus, StoreError};
use einklang_core::Fields;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// SQLite failed, or the store refused (its own error).
pub(super) enum Fail {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

pub(super) type Out<T> = std::result::Result<T, Fail>;

/// See [`crate::HubStore::live_records`].
pub(super) fn live_records(
    c: &Connection,
    tenant: &str,
    entity: &str,
    after: RecordId,
    limit: usize,
) -> Out<Vec<(RecordId, Fields)>> {
    records_page(c, (tenant, entity), false, after, limit)
}

/// See [`crate::HubStore::merged_away`].
pub(super) fn merged_away(
    c: &Connection,
    tenant: &str,
    entity: &str,
    after: RecordId,
    limit: usize,
) -> Out<Vec<(RecordId, Fields)>> {
    records_page(c, (tenant, entity), true, after, limit)
}

/// A page of records not deleted: live ones, or (`merged`) those merged
/// into another.
fn records_page(
    c: &Connection,
    (tenant, entity): (&str, &str),
    merged: bool,
    after: RecordId,
    limit: usize,
) -> Out<Vec<(RecordId, Fields)>> {
    let which = if merged { "IS NOT NULL" } else { "IS NULL" };
    let mut stmt = c.prepare_cached(&format!(
        "SELECT id, vals FROM records WHERE tenant = ?1 AND entity = ?2 AND id > ?3
           AND deleted_at IS NULL AND merged_into {which} ORDER BY id LIMIT ?4"
    ))?;
    id_values(&mut stmt, params![tenant, entity, after, limit as i64])
}

/// The `(id, vals)` rows of a statement, values parsed.
pub(super) fn id_values(
    stmt: &mut rusqlite::CachedStatement<'_>,
    args: impl rusqlite::Params,
) -> Out<Vec<(RecordId, Fields)>> {
    let rows = stmt.query_map(args, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (rid, vals) = row?;
        out.push((rid, parse("record values", &vals)?));
    }
    Ok(out)
}

/// Record `rid` of `tenant` with its entity, if there is one.
pub(super) fn record_row(
    c: &Connection,
    tenant: &str,
    rid: RecordId,
) -> Out<Option<(String, RecordRow)>> {
    let row = c
        .prepare_cached(
            "SELECT entity, vals, version, merged_into, deleted_at, updated_at FROM records
             WHERE tenant = ?1 AND id = ?2",
        )?
        .query_row(params![tenant, rid], |r| {
            Ok((
                r.get(0)?,
                RecordRow {
                    id: rid,
                    vals: r.get(1)?,
                    version: r.get(2)?,
                    merged_into: r.get(3)?,
                    deleted_at: r.get(4)?,
                    updated_at: r.get(5)?,
                },
            ))
        })
        .optional()?;
    Ok(row)
}

/// The survivor and the merged record, checked to be mergeable.
fn mergeable(c: &Connection, tenant: &str, m: &MergeWrite) -> Out<[RecordRow; 2]> {
    let mut rows = Vec::with_capacity(2);
    for (rid, expected) in [
        (m.survivor, m.expect_versions.0),
        (m.merged, m.expect_versions.1),
    ] {
        let Some((entity, row)) = record_row(c, tenant, rid)? else {
            return Err(StoreError::Refused(format!("record {rid} does not exist")).into());
        };
        if let Some(reason) = id::merge_refusal(m, rid, &entity, &row) {
            return Err(StoreError::Refused(reason).into());
        }
        if row.version != expected {
            let found = row.version;
            return Err(StoreError::Changed {
                record: rid,
                expected,
                found,
            }
            .into());
        }
        rows.push(row);
    }
    let merged = rows.pop().expect("two rows");
    Ok([rows.pop().expect("two rows"), merged])
}

fn ids(c: &Connection, sql: &str, tenant: &str, rid: RecordId) -> Out<Vec<i64>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(params![tenant, rid], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The links of `rid` with their connectors, by id.
fn links_with_connector(
    c: &Connection,
    tenant: &str,
    rid: RecordId,
) -> Out<Vec<(LinkRow, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, record_id, status, updated_at, content_hash, connector FROM links
         WHERE tenant = ?1 AND record_id = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![tenant, rid], |r| {
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
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn snapshot(c: &Connection, tenant: &str, records: [RecordRow; 2]) -> Out<Snapshot> {
    // one record at a time: with `IN (a, b)` SQLite picks the tenant index and scans every link
    let mut links = links_with_connector(c, tenant, records[0].id)?;
    links.extend(links_with_connector(c, tenant, records[1].id)?);
    let mut links: Vec<LinkRow> = links.into_iter().map(|l| l.0).collect();
    links.sort_by_key(|l| l.id);
    let merged = records[1].id;
    Ok(Snapshot {
        conflicts: ids(
            c,
            "SELECT id FROM conflicts WHERE tenant = ?1 AND record_id = ?2",
            tenant,
            merged,
        )?,
        outbox: ids(
            c,
            "SELECT id FROM outbox WHERE tenant = ?1 AND record_id = ?2",
            tenant,
            merged,
        )?,
        records: records.into(),
        links,
    })
}

fn history(
    c: &Connection,
    tenant: &str,
    rid: RecordId,
    run: RunId,
    origin: &str,
    changes: &FieldChanges,
    now: &str,
) -> Out<()> {
    if changes.is_empty() {
        return Ok(());
    }
    c.prepare_cached(
        "INSERT INTO history (tenant, record_id, run_id, origin, initial, changes, at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
    )?
    .execute(params![tenant, rid, run, origin, json(changes), now])?;
    Ok(())
}

/// See [`crate::HubStore::merge`].
pub(super) fn merge(
    c: &Connection,
    tenant: &str,
    run: RunId,
    m: &MergeWrite,
    now: &str,
) -> Out<i64> {
    let rows = mergeable(c, tenant, m)?;
    merge_rows(c, (tenant, run), m, rows, now)
}

/// The writes of a merge whose rows were read and checked. A move or
/// update the snapshot shows would change no row is not made.
fn merge_rows(
    c: &Connection,
    (tenant, run): (&str, RunId),
    m: &MergeWrite,
    rows: [RecordRow; 2],
    now: &str,
) -> Out<i64> {
    let old: Fields = parse("record values", &rows[0].vals)?;
    let snap = snapshot(c, tenant, rows)?;
    c.prepare_cached(
        "UPDATE records SET vals = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3",
    )?
    .execute(params![json(&m.values), now, m.survivor])?;
    c.prepare_cached(
        "UPDATE records SET merged_into = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3",
    )?
    .execute(params![m.survivor, now, m.merged])?;
    let moving = [
        ("links", snap.links.iter().any(|l| l.record_id == m.merged)),
        ("conflicts", !snap.conflicts.is_empty()),
        ("outbox", !snap.outbox.is_empty()),
    ];
    for (table, _) in moving.into_iter().filter(|t| t.1) {
        let sql = format!("UPDATE {table} SET record_id = ?1 WHERE tenant = ?2 AND record_id = ?3");
        c.prepare_cached(&sql)?
            .execute(params![m.survivor, tenant, m.merged])?;
    }
    // every remote of the survivor must receive the merged values
    if snap.links.iter().any(|l| l.status == "clean") {
        c.prepare_cached("UPDATE links SET status = 'dirty', updated_at = ?1 WHERE tenant = ?2 AND record_id = ?3 AND status = 'clean'")?
            .execute(params![now, tenant, m.survivor])?;
    }
    c.prepare_cached(
        "INSERT INTO merges (tenant, entity, survivor_id, merged_id, probability, reason, status, run_id,
           survivor_version, snapshot, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        tenant, m.entity, m.survivor, m.merged, m.probability, m.reason, run,
        m.expect_versions.0 + 1, json(&snap), now
    ])?;
    let merge_id = c.last_insert_rowid();
    let origin = id::origin_of(false, m.merged, m.survivor);
    history(
        c,
        tenant,
        m.survivor,
        run,
        &origin,
        &id::changes(&old, &m.values),
        now,
    )?;
    history(
        c,
        tenant,
        m.merged,
        run,
        &origin,
        &id::merged_into_change(None, Some(m.survivor)),
        now,
    )?;
    Ok(merge_id)
}

const MERGE_COLUMNS: &str =
    "SELECT id, entity, survivor_id, merged_id, probability, reason, status, run_id,
    created_at, undone_run, survivor_version, snapshot FROM merges";

fn merge_of(r: &Row<'_>) -> rusqlite::Result<(MergeRow, i64, String, String)> {
    Ok((
        MergeRow {
            id: r.get(0)?,
            entity: r.get(1)?,
            survivor: r.get(2)?,
            merged: r.get(3)?,
            probability: r.get(4)?,
            reason: r.get(5)?,
            status: r.get(6)?,
            run_id: r.get(7)?,
            created_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
            undone_run: r.get(9)?,
        },
        r.get(10)?,
        r.get(11)?,
        r.get(8)?,
    ))
}

/// A merge with its survivor version and snapshot.
fn merge_row(
    c: &Connection,
    tenant: &str,
    merge_id: i64,
) -> Out<Option<(MergeRow, i64, Snapshot)>> {
    let sql = format!("{MERGE_COLUMNS} WHERE tenant = ?1 AND id = ?2");
    let Some((mut row, version, snap, at)) = c
        .prepare_cached(&sql)?
        .query_row(params![tenant, merge_id], merge_of)
        .optional()?
    else {
        return Ok(None);
    };
    row.created_at = time("merge created_at", &at)?;
    Ok(Some((row, version, parse("merge snapshot", &snap)?)))
}

/// See [`crate::HubStore::unmerge`].
pub(super) fn unmerge(
    c: &Connection,
    tenant: &str,
    run: RunId,
    merge_id: i64,
    now: &str,
) -> Out<MergeRow> {
    let Some((mut row, version_then, snap)) = merge_row(c, tenant, merge_id)? else {
        return Err(StoreError::Refused(format!("there is no merge {merge_id}")).into());
    };
    let survivor = record_row(c, tenant, row.survivor)?.map(|r| r.1);
    let merged = record_row(c, tenant, row.merged)?.map(|r| r.1);
    let refusal = id::unmerge_refusal(
        &row,
        version_then,
        survivor.as_ref().map(|r| r.version),
        merged.as_ref().and_then(|r| r.merged_into),
    );
    if let Some(reason) = refusal {
        return Err(StoreError::Refused(format!("cannot unmerge: {reason}")).into());
    }
    let current: Fields = parse("record values", &survivor.expect("checked").vals)?;
    for r in &snap.records {
        c.prepare_cached(
            "UPDATE records SET vals = ?1, version = version + 1, merged_into = ?2, deleted_at = ?3, updated_at = ?4
             WHERE tenant = ?5 AND id = ?6",
        )?
        .execute(params![r.vals, r.merged_into, r.deleted_at, r.updated_at, tenant, r.id])?;
    }
    for l in &snap.links {
        c.prepare_cached(
            "UPDATE links SET record_id = ?1,
               status = CASE WHEN content_hash = ?2 THEN ?3 ELSE 'dirty' END,
               updated_at = CASE WHEN content_hash = ?2 THEN ?4 ELSE ?5 END
             WHERE tenant = ?6 AND id = ?7",
        )?
        .execute(params![
            l.record_id,
            l.content_hash,
            l.status,
            l.updated_at,
            now,
            tenant,
            l.id
        ])?;
    }
    for (table, rows) in [("conflicts", &snap.conflicts), ("outbox", &snap.outbox)] {
        for rid in rows {
            c.execute(
                &format!("UPDATE {table} SET record_id = ?1 WHERE tenant = ?2 AND id = ?3"),
                params![row.merged, tenant, rid],
            )?;
        }
    }
    c.prepare_cached(
        "UPDATE merges SET status = 'undone', undone_run = ?1, undone_at = ?2 WHERE id = ?3",
    )?
    .execute(params![run, now, merge_id])?;
    remember_rejected(c, tenant, run, &row, now)?;
    let origin = id::origin(true, &row);
    let restored: Fields = parse("record values", &snap.records[0].vals)?;
    history(
        c,
        tenant,
        row.survivor,
        run,
        &origin,
        &id::changes(&current, &restored),
        now,
    )?;
    history(
        c,
        tenant,
        row.merged,
        run,
        &origin,
        &id::merged_into_change(Some(row.survivor), None),
        now,
    )?;
    row.status = "undone".into();
    row.undone_run = Some(run);
    Ok(row)
}

/// An unmerged pair is a person saying "different": never merge it again.
fn remember_rejected(c: &Connection, tenant: &str, run: RunId, m: &MergeRow, now: &str) -> Out<()> {
    let (a, b) = (m.survivor.min(m.merged), m.survivor.max(m.merged));
    c.prepare_cached(
        "INSERT INTO reviews (tenant, entity, record_a, record_b, probability, status, run_id, created_at, decided_at, decided_by)
         VALUES (?1, ?2, ?3, ?4, ?5, 'rejected', ?6, ?7, ?7, 'unmerge')
         ON CONFLICT (tenant, entity, record_a, record_b) DO UPDATE SET status = 'rejected', decided_at = ?7, decided_by = 'unmerge'",
    )?
    .execute(params![tenant, m.entity, a, b, m.probability, run, now])?;
    Ok(())
}

/// See [`crate::HubStore::merges`].
pub(super) fn merges(
    c: &Connection,
    tenant: &str,
    record: Option<RecordId>,
    limit: usize,
) -> Out<Vec<MergeRow>> {
    // a record's merges through the survivor and merged indexes, each
    // side a query of its own (one with OR would read every merge)
    let sql = match record {
        None => {
            format!("{MERGE_COLUMNS} WHERE tenant = ?1 AND ?2 IS NULL ORDER BY id DESC LIMIT ?3")
        }
        Some(_) => format!(
            "SELECT * FROM ({MERGE_COLUMNS} WHERE tenant = ?1 AND survivor_id = ?2
               UNION ALL {MERGE_COLUMNS} WHERE tenant = ?1 AND merged_id = ?2)
             ORDER BY id DESC LIMIT ?3"
        ),
    };
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant, record, limit as i64], merge_of)?;
    let mut out = Vec::new();
    for row in rows {
        let (mut m, _, _, at) = row?;
        m.created_at = time("merge created_at", &at)?;
        out.push(m);
    }
    Ok(out)
}

/// See [`crate::HubStore::queue_reviews`].
pub(super) fn queue_reviews(
    c: &Connection,
    tenant: &str,
    run: RunId,
    pairs: &[NewReview],
    now: &str,
) -> Out<u64> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO reviews (tenant, entity, record_a, record_b, probability, status, run_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7) ON CONFLICT (tenant, entity, record_a, record_b) DO NOTHING",
    )?;
    let mut n = 0;
    for p in pairs {
        let (a, b) = (p.a.min(p.b), p.a.max(p.b));
        n += stmt.execute(params![tenant, p.entity, a, b, p.probability, run, now])? as u64;
    }
    Ok(n)
}

fn review_of(r: &Row<'_>) -> rusqlite::Result<Result<ReviewRow>> {
    let (status, at, decided): (String, String, Option<String>) = (r.get(5)?, r.get(7)?, r.get(8)?);
    let row = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(6)?,
        r.get(9)?,
    );
    Ok((|| {
        Ok(ReviewRow {
            id: row.0,
            entity: row.1,
            a: row.2,
            b: row.3,
            probability: row.4,
            status: ReviewStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                what: "review status".into(),
                message: status.clone(),
            })?,
            run_id: row.5,
            created_at: time("review created_at", &at)?,
            decided_at: opt_time("review decided_at", decided)?,
            decided_by: row.6,
        })
    })())
}

/// See [`crate::HubStore::reviews`] and [`crate::HubStore::review`].
pub(super) fn reviews(
    c: &Connection,
    tenant: &str,
    (open_only, id, after): (bool, Option<i64>, i64),
    limit: usize,
) -> Out<Vec<ReviewRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, entity, record_a, record_b, probability, status, run_id, created_at, decided_at, decided_by
         FROM reviews WHERE tenant = ?1 AND (?2 = 0 OR status = 'open') AND (?3 IS NULL OR id = ?3) AND id > ?5
         ORDER BY id LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![tenant, open_only, id, limit as i64, after],
        review_of,
    )?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

/// See [`crate::HubStore::decide_review`].
pub(super) fn decide_review(
    c: &Connection,
    tenant: &str,
    id: i64,
    status: ReviewStatus,
    by: &str,
    now: &str,
) -> Out<()> {
    let n = c
        .prepare_cached("UPDATE reviews SET status = ?1, decided_at = ?2, decided_by = ?3 WHERE tenant = ?4 AND id = ?5")?
        .execute(params![status.as_str(), now, by, tenant, id])?;
    if n == 0 {
        return Err(StoreError::Refused(format!("there is no review pair {id}")).into());
    }
    Ok(())
}

/// See [`crate::HubStore::rejected_pairs`].
pub(super) fn rejected_pairs(
    c: &Connection,
    tenant: &str,
    entity: &str,
) -> Out<Vec<(RecordId, RecordId)>> {
    let mut stmt = c.prepare_cached(
        "SELECT record_a, record_b FROM reviews WHERE tenant = ?1 AND entity = ?2 AND status = 'rejected'",
    )?;
    let rows = stmt.query_map(params![tenant, entity], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
