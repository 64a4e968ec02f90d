//! [`Overviews`](crate::Overviews) on PostgreSQL: the grouped counts of `overview.rs`.

use super::PgStore;
use crate::Result;

impl crate::overview::Overviews for PgStore {
    fn overview(&mut self, tenant: &str) -> Result<crate::overview::Overview> {
        use crate::overview::*;
        let c = &mut self.client;
        let count = |c: &mut postgres::Client, q: &str| -> Result<u64> {
            Ok(c.query_one(q, &[&tenant])?.get::<_, i64>(0) as u64)
        };
        let pairs = |c: &mut postgres::Client, q: &str| -> Result<Vec<(String, u64)>> {
            Ok(c.query(q, &[&tenant])?
                .iter()
                .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
                .collect())
        };
        let triples = |c: &mut postgres::Client, q: &str| -> Result<Vec<(String, String, u64)>> {
            Ok(c.query(q, &[&tenant])?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as u64))
                .collect())
        };
        Ok(Overview {
            records: pairs(c, RECORDS)?,
            links: triples(c, LINKS)?,
            open_conflicts: count(c, CONFLICTS)?,
            open_reviews: count(c, REVIEWS)?,
            runs: triples(c, RUNS)?,
            queued: count(c, QUEUED)?,
        })
    }

    fn open_links(&mut self, tenant: &str) -> Result<Vec<(String, String, u64)>> {
        Ok(self
            .client
            .query(crate::overview::OPEN_LINKS, &[&tenant])?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as u64))
            .collect())
    }

    fn retry_now(&mut self, tenant: &str, link_id: i64) -> Result<Option<crate::Link>> {
        self.client
            .query(
                "UPDATE links SET next_attempt_at = NULL, updated_at = now()
                 WHERE tenant = $1 AND id = $2 AND status IN ('failed', 'permanently_failed')
                 RETURNING id, record_id, connector, entity, external_id, base, version,
                           content_hash, status, attempts, last_error, updated_at, next_attempt_at",
                &[&tenant, &link_id],
            )?
            .first()
            .map(super::read::link)
            .transpose()
    }

    fn links_with_status(
        &mut self,
        tenant: &str,
        status: &str,
        connector: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<crate::Link>> {
        self.client
            .query(
                "SELECT id, record_id, connector, entity, external_id, base, version,
                        content_hash, status, attempts, last_error, updated_at, next_attempt_at
                 FROM links WHERE tenant = $1 AND status = $2 AND status <> 'clean' AND ($3::text IS NULL OR connector = $3) AND id > $4
                 ORDER BY id LIMIT $5",
                &[&tenant, &status, &connector, &after, &(limit as i64)],
            )?
            .iter()
            .map(super::read::link)
            .collect()
    }
}

impl crate::overview::RecordSearch for PgStore {
    fn search_records(
        &mut self,
        tenant: &str,
        entity: &str,
        (field, value): (&str, &str),
        (after, upto): (crate::RecordId, crate::RecordId),
        limit: usize,
    ) -> Result<Vec<crate::HubRecord>> {
        let ids: Vec<i64> = self
            .client
            .query(
                "SELECT id FROM records
                 WHERE tenant = $1 AND entity = $2 AND merged_into IS NULL AND deleted_at IS NULL AND id > $5 AND id <= $7
                   AND EXISTS (SELECT 1 FROM jsonb_each(vals) kv WHERE ($3 = '' OR kv.key = $3)
                        AND (lower(kv.value #>> '{}') = lower($4)
                             OR (jsonb_typeof(kv.value) = 'array' AND EXISTS (
                                 SELECT 1 FROM jsonb_array_elements_text(kv.value) e WHERE lower(e) = lower($4)))))
                 ORDER BY id LIMIT $6",
                &[&tenant, &entity, &field, &value, &after, &(limit as i64), &upto],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = super::read::record(&mut self.client, tenant, entity, id)? {
                out.push(r);
            }
        }
        Ok(out)
    }
}
