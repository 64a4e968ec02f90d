//! [`Listings`](crate::Listings) on PostgreSQL: the readers of runs,
//! conflicts and review pairs with their keyset bounds.

use super::PgStore;
use crate::{ConflictRow, Result, ReviewRow, Run, RunsPage};

impl crate::Listings for PgStore {
    fn runs_page(&mut self, tenant: &str, page: &RunsPage, limit: usize) -> Result<Vec<Run>> {
        super::read::runs(&mut self.client, tenant, (None, page), limit)
    }

    fn conflicts_page(
        &mut self,
        tenant: &str,
        (open_only, before): (bool, Option<i64>),
        limit: usize,
    ) -> Result<Vec<ConflictRow>> {
        super::sync::conflicts(&mut self.client, tenant, (open_only, None, before), limit)
    }

    fn reviews_page(
        &mut self,
        tenant: &str,
        (open_only, after): (bool, i64),
        limit: usize,
    ) -> Result<Vec<ReviewRow>> {
        super::identity::reviews(&mut self.client, tenant, (open_only, None, after), limit)
    }
}
