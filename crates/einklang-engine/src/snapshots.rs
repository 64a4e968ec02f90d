//! What changed between two applied snapshots of an entity (a refresh
//! job keeps them, `keep_snapshots`): records new and gone, and field by
//! field the values that changed — seed 004's "Recent changes", for
//! `einklang changes` and `GET /api/changes/{entity}`. Both snapshots are
//! read a page at a time in external-id order and merged, so memory holds
//! two pages and the changes.

use crate::EngineError;
use einklang_core::refresh::compare;
use einklang_core::Fields;
use einklang_store::{HubStore, StagedRecord};
use serde::Serialize;
use serde_json::Value;

const PAGE: usize = 2_000;

/// One change between two snapshots.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotChange {
    /// `new`, `gone` or `changed`.
    pub change: &'static str,
    /// The record's id at the source.
    pub external_id: String,
    /// The field (empty for a record new or gone: `old`/`new` hold all its values).
    pub field: String,
    /// The value before (absent: none).
    pub old: Option<Value>,
    /// The value after (absent: none).
    pub new: Option<Value>,
}

/// The changes of `entity` from the snapshot run `older` staged to the
/// one `newer` staged, by external id.
pub fn diff(
    store: &mut dyn HubStore,
    tenant: &str,
    entity: &str,
    (older, newer): (i64, i64),
) -> Result<Vec<SnapshotChange>, EngineError> {
    let mut a = Pages::new(older);
    let mut b = Pages::new(newer);
    let mut rows = Vec::new();
    loop {
        let (x, y) = (
            a.peek(store, tenant, entity)?,
            b.peek(store, tenant, entity)?,
        );
        let whole = |change, id: &str, old: Option<&Fields>, new: Option<&Fields>| SnapshotChange {
            change,
            external_id: id.to_string(),
            field: String::new(),
            old: old.map(|f| serde_json::json!(f)),
            new: new.map(|f| serde_json::json!(f)),
        };
        match (x, y) {
            (None, None) => break,
            (Some(o), Some(n)) if o.external_id == n.external_id => {
                for (field, old, new) in compare(&o.values, &n.values) {
                    let external_id = o.external_id.clone();
                    rows.push(SnapshotChange {
                        change: "changed",
                        external_id,
                        field,
                        old,
                        new,
                    });
                }
                a.next();
                b.next();
            }
            (Some(o), n) if n.as_ref().is_none_or(|n| o.external_id < n.external_id) => {
                rows.push(whole("gone", &o.external_id, Some(&o.values), None));
                a.next();
            }
            (_, Some(n)) => {
                rows.push(whole("new", &n.external_id, None, Some(&n.values)));
                b.next();
            }
            (Some(_), None) => unreachable!("handled above"),
        }
    }
    Ok(rows)
}

/// One snapshot read a page at a time, in external-id order.
struct Pages {
    run: i64,
    page: std::collections::VecDeque<StagedRecord>,
    after: String,
    done: bool,
}

impl Pages {
    fn new(run: i64) -> Pages {
        Pages {
            run,
            page: Default::default(),
            after: String::new(),
            done: false,
        }
    }

    fn peek(
        &mut self,
        store: &mut dyn HubStore,
        tenant: &str,
        entity: &str,
    ) -> Result<Option<StagedRecord>, EngineError> {
        if self.page.is_empty() && !self.done {
            let page = store.staged_page(tenant, self.run, entity, &self.after, PAGE)?;
            self.done = page.len() < PAGE;
            if let Some(last) = page.last() {
                self.after = last.external_id.clone();
            }
            self.page.extend(page);
        }
        Ok(self.page.front().cloned())
    }

    fn next(&mut self) {
        self.page.pop_front();
    }
}
