//! Identity resolution on PostgreSQL: live records for matching, merges
//! with their snapshots, unmerge, and the review queue — the same
//! behaviour as the SQLite store (`sqlite/identity.rs`), in the caller's
//! transaction. Snapshot times and values are kept as PostgreSQL's own
//! text (`::text`) and cast back on restore, so they come back exactly.

use super::read::{decode, fields};
use crate::identity::{self as id, LinkRow, RecordRow, Snapshot};
use crate::migrate::json;
use crate::model::*;
use crate::{MergeRow, MergeWrite, NewReview, Result, ReviewRow, ReviewStatus, StoreError};
use ::postgres::{Client, Row};
use einklang_core::Fields;

/// See [`crate::HubStore::live_records`].
pub(super) fn live_records(
    c: &mut Client,
    tenant: &str,
    entity: &str,
    after: RecordId,
    limit: usize,
) -> Result<Vec<(RecordId, Fields)>> {
    records_page(c, (tenant, entity), false, after, limit)
}

/// See [`crate::HubStore::merged_away`].
pub(super) fn merged_away(
    c: &mut Client,
    tenant: &str,
    entity: &str,
    after: RecordId,
    limit: usize,
) -> Result<Vec<(RecordId, Fields)>> {
    records_page(c, (tenant, entity), true, after, limit)
}

/// A page of records not deleted: live ones, or (`merged`) those merged
/// into another.
fn records_page(
    c: &mut Client,
    (tenant, entity): (&str, &str),
    merged: bool,
    after: RecordId,
    limit: usize,
) -> Result<Vec<(RecordId, Fields)>> {
    let which = if merged { "IS NOT NULL" } else { "IS NULL" };
    c.query(
        &format!(
            "SELECT id, vals FROM records WHERE tenant = $1 AND entity = $2 AND id > $3
               AND deleted_at IS NULL AND merged_into {which} ORDER BY id LIMIT $4"
        ),
        &[&tenant, &entity, &after, &(limit as i64)],
    )?
    .iter()
    .map(|r| Ok((r.get(0), fields("record values", r.get(1))?)))
    .collect()
}

fn record_row(c: &mut Client, tenant: &str, rid: RecordId) -> Result<Option<(String, RecordRow)>> {
    let row = c.query_opt(
        "SELECT entity, vals::text, version, merged_into, deleted_at::text, updated_at::text
         FROM records WHERE tenant = $1 AND id = $2",
        &[&tenant, &rid],
    )?;
    Ok(row.map(|r| {
        let row = RecordRow {
            id: rid,
            vals: r.get(1),
            version: r.get(2),
            merged_into: r.get(3),
            deleted_at: r.get(4),
            updated_at: r.get(5),
        };
        (r.get(0), row)
    }))
}

fn mergeable(c: &mut Client, tenant: &str, m: &MergeWrite) -> Result<[RecordRow; 2]> {
    let mut rows = Vec::with_capacity(2);
    for (rid, expected) in [
        (m.survivor, m.expect_versions.0),
        (m.merged, m.expect_versions.1),
    ] {
        let Some((entity, row)) = record_row(c, tenant, rid)? else {
            return Err(StoreError::Refused(format!("record {rid} does not exist")));
        };
        if let Some(reason) = id::merge_refusal(m, rid, &entity, &row) {
            return Err(StoreError::Refused(reason));
        }
        if row.version != expected {
            let found = row.version;
            return Err(StoreError::Changed {
                record: rid,
                expected,
                found,
            });
        }
        rows.push(row);
    }
    let merged = rows.pop().expect("two rows");
    Ok([rows.pop().expect("two rows"), merged])
}

fn snapshot(c: &mut Client, tenant: &str, records: [RecordRow; 2]) -> Result<Snapshot> {
    let links = c
        .query(
            "SELECT id, record_id, status, updated_at::text, content_hash FROM links
             WHERE tenant = $1 AND record_id IN ($2, $3) ORDER BY id",
            &[&tenant, &records[0].id, &records[1].id],
        )?
        .iter()
        .map(|r| LinkRow {
            id: r.get(0),
            record_id: r.get(1),
            status: r.get(2),
            updated_at: r.get(3),
            content_hash: r.get(4),
        })
        .collect();
    let merged = records[1].id;
    let mut ids = |table: &str| -> Result<Vec<i64>> {
        let sql =
            format!("SELECT id FROM {table} WHERE tenant = $1 AND record_id = $2 ORDER BY id");
        Ok(c.query(&sql, &[&tenant, &merged])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    };
    Ok(Snapshot {
        conflicts: ids("conflicts")?,
        outbox: ids("outbox")?,
        records: records.into(),
        links,
    })
}

fn history(
    c: &mut Client,
    tenant: &str,
    (rid, run): (RecordId, RunId),
    origin: &str,
    changes: &FieldChanges,
) -> Result<()> {
    if !changes.is_empty() {
        c.execute(
            "INSERT INTO history (tenant, record_id, run_id, origin, initial, changes) VALUES ($1, $2, $3, $4, false, $5::text::json)",
            &[&tenant, &rid, &run, &origin, &json(changes)],
        )?;
    }
    Ok(())
}

/// See [`crate::HubStore::merge`].
pub(super) fn merge(c: &mut Client, tenant: &str, run: RunId, m: &MergeWrite) -> Result<i64> {
    let rows = mergeable(c, tenant, m)?;
    merge_rows(c, tenant, run, m, rows)
}

/// The writes of a merge whose rows were read and checked.
fn merge_rows(
    c: &mut Client,
    tenant: &str,
    run: RunId,
    m: &MergeWrite,
    rows: [RecordRow; 2],
) -> Result<i64> {
    let old: Fields = crate::migrate::parse("record values", &rows[0].vals)?;
    let snap = snapshot(c, tenant, rows)?;
    c.execute(
        "UPDATE records SET vals = $1::text::jsonb, version = version + 1, updated_at = now() WHERE id = $2",
        &[&json(&m.values), &m.survivor],
    )?;
    c.execute(
        "UPDATE records SET merged_into = $1, version = version + 1, updated_at = now() WHERE id = $2",
        &[&m.survivor, &m.merged],
    )?;
    // a move or update the snapshot shows would change no row is not made
    let moving = [
        ("links", snap.links.iter().any(|l| l.record_id == m.merged)),
        ("conflicts", !snap.conflicts.is_empty()),
        ("outbox", !snap.outbox.is_empty()),
    ];
    for (table, _) in moving.into_iter().filter(|t| t.1) {
        let sql = format!("UPDATE {table} SET record_id = $1 WHERE tenant = $2 AND record_id = $3");
        c.execute(&sql, &[&m.survivor, &tenant, &m.merged])?;
    }
    if snap.links.iter().any(|l| l.status == "clean") {
        c.execute(
            "UPDATE links SET status = 'dirty', updated_at = now() WHERE tenant = $1 AND record_id = $2 AND status = 'clean'",
            &[&tenant, &m.survivor],
        )?;
    }
    let merge_id: i64 = c
        .query_one(
            "INSERT INTO merges (tenant, entity, survivor_id, merged_id, probability, reason, status, run_id,
               survivor_version, snapshot) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9::text::json)
             RETURNING id",
            &[
                &tenant,
                &m.entity,
                &m.survivor,
                &m.merged,
                &m.probability,
                &m.reason,
                &run,
                &(m.expect_versions.0 + 1),
                &json(&snap),
            ],
        )?
        .get(0);
    let origin = id::origin_of(false, m.merged, m.survivor);
    history(
        c,
        tenant,
        (m.survivor, run),
        &origin,
        &id::changes(&old, &m.values),
    )?;
    let into = id::merged_into_change(None, Some(m.survivor));
    history(c, tenant, (m.merged, run), &origin, &into)?;
    Ok(merge_id)
}

const MERGE_COLUMNS: &str =
    "SELECT id, entity, survivor_id, merged_id, probability, reason, status,
    run_id, created_at, undone_run, survivor_version, snapshot FROM merges";

fn merge_of(r: &Row) -> MergeRow {
    MergeRow {
        id: r.get(0),
        entity: r.get(1),
        survivor: r.get(2),
        merged: r.get(3),
        probability: r.get(4),
        reason: r.get(5),
        status: r.get(6),
        run_id: r.get(7),
        created_at: r.get(8),
        undone_run: r.get(9),
    }
}

fn merge_row(
    c: &mut Client,
    tenant: &str,
    merge_id: i64,
) -> Result<Option<(MergeRow, i64, Snapshot)>> {
    let sql = format!("{MERGE_COLUMNS} WHERE tenant = $1 AND id = $2");
    c.query_opt(&sql, &[&tenant, &merge_id])?
        .map(|r| {
            Ok((
                merge_of(&r),
                r.get(10),
                decode("merge snapshot", r.get(11))?,
            ))
        })
        .transpose()
}

/// See [`crate::HubStore::unmerge`].
pub(super) fn unmerge(c: &mut Client, tenant: &str, run: RunId, merge_id: i64) -> Result<MergeRow> {
    let Some((mut row, version_then, snap)) = merge_row(c, tenant, merge_id)? else {
        return Err(StoreError::Refused(format!("there is no merge {merge_id}")));
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
        return Err(StoreError::Refused(format!("cannot unmerge: {reason}")));
    }
    let current: Fields = crate::migrate::parse("record values", &survivor.expect("checked").vals)?;
    for r in &snap.records {
        c.execute(
            "UPDATE records SET vals = $1::text::jsonb, version = version + 1, merged_into = $2,
               deleted_at = $3::text::timestamptz, updated_at = $4::text::timestamptz
             WHERE tenant = $5 AND id = $6",
            &[
                &r.vals,
                &r.merged_into,
                &r.deleted_at,
                &r.updated_at,
                &tenant,
                &r.id,
            ],
        )?;
    }
    for l in &snap.links {
        c.execute(
            "UPDATE links SET record_id = $1,
               status = CASE WHEN content_hash = $2 THEN $3 ELSE 'dirty' END,
               updated_at = CASE WHEN content_hash = $2 THEN $4::text::timestamptz ELSE now() END
             WHERE tenant = $5 AND id = $6",
            &[
                &l.record_id,
                &l.content_hash,
                &l.status,
                &l.updated_at,
                &tenant,
                &l.id,
            ],
        )?;
    }
    for (table, ids) in [("conflicts", &snap.conflicts), ("outbox", &snap.outbox)] {
        let sql = format!("UPDATE {table} SET record_id = $1 WHERE tenant = $2 AND id = ANY($3)");
        c.execute(&sql, &[&row.merged, &tenant, ids])?;
    }
    c.execute(
        "UPDATE merges SET status = 'undone', undone_run = $1, undone_at = now() WHERE id = $2",
        &[&run, &merge_id],
    )?;
    let (a, b) = (row.survivor.min(row.merged), row.survivor.max(row.merged));
    c.execute(
        "INSERT INTO reviews (tenant, entity, record_a, record_b, probability, status, run_id, decided_at, decided_by)
         VALUES ($1, $2, $3, $4, $5, 'rejected', $6, now(), 'unmerge')
         ON CONFLICT (tenant, entity, record_a, record_b) DO UPDATE SET status = 'rejected', decided_at = now(), decided_by = 'unmerge'",
        &[&tenant, &row.entity, &a, &b, &row.probability, &run],
    )?;
    let origin = id::origin(true, &row);
    let restored: Fields = crate::migrate::parse("record values", &snap.records[0].vals)?;
    history(
        c,
        tenant,
        (row.survivor, run),
        &origin,
        &id::changes(&current, &restored),
    )?;
    let into = id::merged_into_change(Some(row.survivor), None);
    history(c, tenant, (row.merged, run), &origin, &into)?;
    row.status = "undone".into();
    row.undone_run = Some(run);
    Ok(row)
}

/// See [`crate::HubStore::merges`].
pub(super) fn merges(
    c: &mut Client,
    tenant: &str,
    record: Option<RecordId>,
    limit: usize,
) -> Result<Vec<MergeRow>> {
    // a record's merges through the survivor and merged indexes, each
    // side a query of its own (one with OR would read every merge)
    let sql = match record {
        None => format!(
            "{MERGE_COLUMNS} WHERE tenant = $1 AND $2::bigint IS NULL ORDER BY id DESC LIMIT $3"
        ),
        Some(_) => format!(
            "SELECT * FROM ({MERGE_COLUMNS} WHERE tenant = $1 AND survivor_id = $2
               UNION ALL {MERGE_COLUMNS} WHERE tenant = $1 AND merged_id = $2) m
             ORDER BY id DESC LIMIT $3"
        ),
    };
    Ok(c.query(&sql, &[&tenant, &record, &(limit as i64)])?
        .iter()
        .map(merge_of)
        .collect())
}

/// See [`crate::HubStore::queue_reviews`].
pub(super) fn queue_reviews(
    c: &mut Client,
    tenant: &str,
    run: RunId,
    pairs: &[NewReview],
) -> Result<u64> {
    let stmt = c.prepare(
        "INSERT INTO reviews (tenant, entity, record_a, record_b, probability, status, run_id)
         VALUES ($1, $2, $3, $4, $5, 'open', $6) ON CONFLICT (tenant, entity, record_a, record_b) DO NOTHING",
    )?;
    let mut n = 0;
    for p in pairs {
        let (a, b) = (p.a.min(p.b), p.a.max(p.b));
        n += c.execute(&stmt, &[&tenant, &p.entity, &a, &b, &p.probability, &run])?;
    }
    Ok(n)
}

fn review_of(r: &Row) -> Result<ReviewRow> {
    let status: String = r.get(5);
    Ok(ReviewRow {
        id: r.get(0),
        entity: r.get(1),
        a: r.get(2),
        b: r.get(3),
        probability: r.get(4),
        status: ReviewStatus::parse(&status)
            .ok_or_else(|| super::read::corrupt("review status", &status))?,
        run_id: r.get(6),
        created_at: r.get(7),
        decided_at: r.get(8),
        decided_by: r.get(9),
    })
}

/// See [`crate::HubStore::reviews`] and [`crate::HubStore::review`].
pub(super) fn reviews(
    c: &mut Client,
    tenant: &str,
    (open_only, id, after): (bool, Option<i64>, i64),
    limit: usize,
) -> Result<Vec<ReviewRow>> {
    c.query(
        "SELECT id, entity, record_a, record_b, probability, status, run_id, created_at, decided_at, decided_by
         FROM reviews WHERE tenant = $1 AND (NOT $2 OR status = 'open') AND ($3::bigint IS NULL OR id = $3)
           AND id > $5
         ORDER BY id LIMIT $4",
        &[&tenant, &open_only, &id, &(limit as i64), &after],
    )?
    .iter()
    .map(review_of)
    .collect()
}

/// See [`crate::HubStore::decide_review`].
pub(super) fn decide_review(
    c: &mut Client,
    tenant: &str,
    id: i64,
    status: ReviewStatus,
    by: &str,
) -> Result<()> {
    let n = c.execute(
        "UPDATE reviews SET status = $1, decided_at = now(), decided_by = $2 WHERE tenant = $3 AND id = $4",
        &[&status.as_str(), &by, &tenant, &id],
    )?;
    if n == 0 {
        return Err(StoreError::Refused(format!("there is no review pair {id}")));
    }
    Ok(())
}

/// See [`crate::HubStore::rejected_pairs`].
pub(super) fn rejected_pairs(
    c: &mut Client,
    tenant: &str,
    entity: &str,
) -> Result<Vec<(RecordId, RecordId)>> {
    Ok(c.query(
        "SELECT record_a, record_b FROM reviews WHERE tenant = $1 AND entity = $2 AND status = 'rejected'",
        &[&tenant, &entity],
    )?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}
