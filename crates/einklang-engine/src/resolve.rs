//! Resolving a conflict held for review (`einklang resolve`): a person
//! picks the hub's value, a connector's, or a value of their own. The hub
//! takes it (with history, origin `resolve`), the conflicting link's base
//! moves to the value its remote had — so that value is no longer seen as
//! a new change — and every link that differs becomes `dirty`, so the next
//! sync writes the chosen value everywhere. One run records it.

use crate::inbound::history;
use crate::lease::Holding;
use einklang_core::merge::{diff, put};
use einklang_core::{EntitySchema, Fields, NormaliseContext, Value};
use einklang_store::{
    ConflictResolution, ConflictRow, HubStore, LinkChange, LinkStatus, NewRun, RunOutcome,
    RunSource, RunStatus, StoreError, SyncBatch,
};

/// What a person chose.
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    /// Keep the hub's value.
    Hub,
    /// Take the value of this connector (the conflicting remote's value, or
    /// another linked connector's).
    Connector(String),
    /// Take this value (already normalised by the caller).
    Value(Value),
}

/// The outcome of a resolution.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Resolved {
    /// The conflict.
    pub conflict_id: i64,
    /// Its hub record.
    pub record_id: i64,
    /// Its field.
    pub field: String,
    /// The value the hub now has.
    pub value: Value,
    /// The run that recorded it.
    pub run_id: i64,
}

/// Why a resolution could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No such conflict.
    #[error("no conflict {0}")]
    Unknown(i64),
    /// It was resolved already.
    #[error("conflict {0} is {1} already")]
    NotOpen(i64, String),
    /// The chosen connector has no link to the record.
    #[error("connector `{connector}` has no link to hub record {record}; choose `hub`, `{conflicting}` or a value")]
    NoSuchSide {
        /// Chosen connector.
        connector: String,
        /// Hub record.
        record: i64,
        /// The conflicting connector.
        conflicting: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The entity's lease could not be taken (a sync of it runs).
    #[error(transparent)]
    Engine(#[from] crate::EngineError),
}

/// Resolve conflict `id` with `choice`, on behalf of `by`.
pub fn resolve(
    store: &mut dyn HubStore,
    tenant: &str,
    id: i64,
    choice: Choice,
    by: &str,
) -> Result<Resolved, ResolveError> {
    let conflict = store
        .conflict(tenant, id)?
        .ok_or(ResolveError::Unknown(id))?;
    if conflict.status != "open" {
        return Err(ResolveError::NotOpen(id, conflict.status));
    }
    let names = vec![format!("entity:{}", conflict.entity)];
    let lease = crate::identity::ops::op_lease();
    let holding = Holding::acquire(store, tenant, names, ("resolve", by), &lease)?;
    let out = decide(store, (tenant, by), (id, conflict), choice, &holding);
    holding.release(store)?;
    out
}

fn decide(
    store: &mut dyn HubStore,
    (tenant, by): (&str, &str),
    (id, conflict): (i64, ConflictRow),
    choice: Choice,
    holding: &Holding,
) -> Result<Resolved, ResolveError> {
    // read again under the lease: a sync may have settled it meanwhile
    let conflict = match store.conflict(tenant, id)? {
        Some(c) if c.status == "open" => c,
        Some(c) => return Err(ResolveError::NotOpen(id, c.status)),
        None => return Err(ResolveError::Unknown(conflict.id)),
    };
    let state = store
        .load_records(tenant, &[conflict.record_id])?
        .remove(0)
        .ok_or(ResolveError::Unknown(id))?;
    let field = conflict.field.clone();
    let (value, label) = match &choice {
        Choice::Hub => (
            state.values.get(&field).cloned().unwrap_or(Value::Null),
            "hub".to_string(),
        ),
        Choice::Connector(c) if *c == conflict.connector => {
            (conflict.remote_value.clone(), c.clone())
        }
        Choice::Connector(c) => {
            let link = state.link_to(c).ok_or_else(|| ResolveError::NoSuchSide {
                connector: c.clone(),
                record: state.id,
                conflicting: conflict.connector.clone(),
            })?;
            (
                link.base.get(&field).cloned().unwrap_or(Value::Null),
                c.clone(),
            )
        }
        Choice::Value(v) => (v.clone(), "value".to_string()),
    };
    let mut values = state.values.clone();
    put(&mut values, &field, value.clone());
    let changes = diff(&state.values, &values);
    let mut batch = SyncBatch::default();
    if !changes.is_empty() {
        batch.records.push(einklang_store::RecordWrite {
            record_id: state.id,
            values: Some(values),
            deleted: None,
            origin: format!("resolve:{by}"),
            history: history(&changes),
        });
        batch.dirty.push((state.id, None));
    }
    if let Some(link) = state.links.iter().find(|l| l.id == conflict.link_id) {
        let mut base = link.base.clone();
        put(&mut base, &field, conflict.remote_value.clone());
        batch.links.push(LinkChange::Synced {
            link_id: link.id,
            expect_hash: Some(link.hash()),
            external_id: link.external_id.clone(),
            content_hash: link.hash(),
            base,
            version: link.version.clone(),
            status: LinkStatus::Dirty,
        });
    }
    batch.resolved.push(ConflictResolution {
        conflict_id: id,
        resolution: label,
        by: by.to_string(),
    });
    let run = record_run(store, tenant, by, &batch, holding)?;
    Ok(Resolved {
        conflict_id: id,
        record_id: state.id,
        field,
        value,
        run_id: run,
    })
}

fn record_run(
    store: &mut dyn HubStore,
    tenant: &str,
    by: &str,
    batch: &SyncBatch,
    holding: &Holding,
) -> Result<i64, ResolveError> {
    let run = store.start_run(
        tenant,
        &NewRun {
            job: "resolve".into(),
            source: RunSource::Manual,
            triggered_by: by.to_string(),
        },
    )?;
    holding.attach(store, run)?;
    store.apply_sync(tenant, run, batch)?;
    let outcome = RunOutcome {
        status: RunStatus::Succeeded,
        counters: [
            ("resolved".to_string(), 1),
            ("writes".to_string(), batch.writes() as u64),
        ]
        .into(),
        errors: Vec::new(),
    };
    store.finish_run(tenant, run, &outcome)?;
    Ok(run)
}

/// A value typed by a person for `entity.field` (the command line's
/// `resolve --value`, the API's `{"value": …}`) as the field's canonical
/// value: JSON when it parses, else text, normalised by the field's type;
/// `Null` when it normalises to empty (the field is cleared). The error
/// says why it does not fit.
pub fn typed_value(
    config: &einklang_config::Config,
    entity: &str,
    field: &str,
    text: &str,
) -> Result<Value, String> {
    let schema = config
        .entities
        .get(entity)
        .ok_or_else(|| format!("entity `{entity}` is no longer in the config"))?;
    let spec = schema
        .field(field)
        .ok_or_else(|| format!("entity `{entity}` has no field `{field}` in the config"))?;
    // only this field: the record's other required fields are not checked
    let single = EntitySchema {
        name: schema.name.clone(),
        fields: vec![spec.clone()],
    };
    let raw = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
    let ctx = NormaliseContext {
        region: config.region.clone(),
        max_field_bytes: config.max_field_bytes,
    };
    let mut out = single
        .normalise(Fields::from([(field.to_string(), raw)]), &ctx)
        .map_err(|errors| {
            let reasons: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            format!(
                "the value {text:?} does not fit field `{field}` of {entity} ({}): {}",
                spec.ty.name(),
                reasons.join("; ")
            )
        })?;
    Ok(out.remove(field).unwrap_or(Value::Null))
}
