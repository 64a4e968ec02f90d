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
}
