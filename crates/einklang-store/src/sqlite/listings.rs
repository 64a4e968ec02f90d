//! [`Listings`](crate::Listings) on SQLite: the readers of runs,
//! conflicts and review pairs with their keyset bounds.

use super::SqliteStore;
use crate::{ConflictRow, Result, ReviewRow, Run, RunsPage};

impl crate::Listings for SqliteStore {
    fn runs_page(&mut self, tenant: &str, page: &RunsPage, limit: usize) -> Result<Vec<Run>> {
        super::read::runs(&self.conn, tenant, (None, page), limit)
            .map_err(self.err())?
            .into_iter()
            .collect()
    }

    fn conflicts_page(
        &mut self,
        tenant: &str,
        (open_only, before): (bool, Option<i64>),
        limit: usize,
    ) -> Result<Vec<ConflictRow>> {
        super::sync::conflicts(&self.conn, tenant, (open_only, None, before), limit)
            .map_err(self.err())?
            .into_iter()
            .collect()
    }

    fn reviews_page(
        &mut self,
        tenant: &str,
        (open_only, after): (bool, i64),
        limit: usize,
    ) -> Result<Vec<ReviewRow>> {
        let out = super::identity::reviews(&self.conn, tenant, (open_only, None, after), limit);
        self.fail(out)
    }
}
