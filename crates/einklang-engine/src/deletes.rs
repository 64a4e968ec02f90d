//! Records a connector no longer has. After a read that could tell (every
//! record had a readable id), the links it did not see are decided one by
//! one ([`crate::inbound::plan_gone`]: an edit beats a delete, a read-only
//! source forgets rather than deletes) — unless the guard trips: a side
//! that suddenly shows none of its records (three or more linked), or more
//! than the job's `max_deletes` share of them (ten or more linked), deletes
//! nothing and the run needs review. An emptied export never wipes the hub.

use crate::inbound::{marker, plan_gone, tombstone, Gone};
use crate::outbound::bump;
use crate::pull::StepContext;
use crate::report::PlanItem;
use crate::side::Side;
use crate::EngineError;
use einklang_store::{Counters, LinkChange, LinkRef, LinkStatus, RecordId, SyncBatch};
use std::collections::HashMap;

/// Why the guard stopped the deletes, if it did.
pub(crate) fn guard(side: &str, gone: usize, live: u64, max_deletes: f64) -> Option<String> {
    let gone_all = gone as u64 == live && live >= 3;
    let too_many = live >= 10 && gone as f64 > max_deletes * live as f64;
    (gone_all || too_many).then(|| {
        format!(
            "guard: `{side}` no longer shows {gone} of its {live} linked records (more than {:.0}% allowed); nothing was deleted. If the source really lost them, raise `max_deletes` for this job and run it again",
            max_deletes * 100.0
        )
    })
}

/// Decide and commit the gone links of one side.
pub(crate) fn apply_gone(
    ctx: &mut StepContext<'_>,
    side: &Side<'_>,
    (gone, left): (&[LinkRef], &std::collections::HashSet<String>),
) -> Result<Counters, EngineError> {
    let mut counters = Counters::new();
    for chunk in gone.chunks(500) {
        let ids: Vec<RecordId> = chunk.iter().map(|l| l.record_id).collect();
        let states: HashMap<RecordId, _> = ctx
            .store
            .load_records(&ctx.tenant, &ids)?
            .into_iter()
            .flatten()
            .map(|s| (s.id, s))
            .collect();
        let mut batch = SyncBatch::default();
        for lref in chunk {
            let Some(state) = states.get(&lref.record_id) else {
                continue;
            };
            let Some(link) = state.links.iter().find(|l| l.id == lref.link_id) else {
                continue;
            };
            let decision = plan_gone(side, state, link, left.contains(&link.external_id));
            let (counter, action) = match decision {
                Gone::AlreadyDeleted | Gone::Forget => ("forgotten", None),
                Gone::DeleteRecord => ("deleted", Some("delete")),
                Gone::Recreate => ("recreated", Some("recreate")),
            };
            bump(&mut counters, counter, 1);
            // a recreate shows as the push's create
            if let (Some(action), false) = (action, decision == Gone::Recreate) {
                ctx.plan.add(PlanItem {
                    connector: side.name.to_string(),
                    direction: if decision == Gone::Recreate {
                        "push"
                    } else {
                        "pull"
                    },
                    action,
                    record: Some(state.id),
                    id: link.external_id.clone(),
                    fields: Vec::new(),
                });
            }
            match decision {
                Gone::Recreate => batch.links.push(LinkChange::Recreate {
                    link_id: link.id,
                    marker: marker(state.id),
                }),
                other => {
                    batch.links.push(deleted_remote(link.id));
                    if other == Gone::DeleteRecord {
                        batch.records.push(tombstone(state, side.name));
                        batch.dirty.push((state.id, Some(link.id)));
                    }
                }
            }
        }
        bump(&mut counters, "writes", batch.writes() as u64);
        ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
    }
    Ok(counters)
}

fn deleted_remote(link_id: i64) -> LinkChange {
    LinkChange::State {
        link_id,
        status: LinkStatus::DeletedRemote,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
    }
}
