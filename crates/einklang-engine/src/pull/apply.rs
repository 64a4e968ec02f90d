//! The store side of a read: plans prepared batches against the hub
//! ([`crate::inbound`]) and commits each as one [`SyncBatch`].

use super::{id_hash, Prepared, Seen, StepContext};
use crate::inbound::{plan_create, plan_linked, Incoming};
use crate::report::{FieldDiff, PlanItem};
use crate::side::Side;
use crate::EngineError;
use einklang_core::content_hash;
use einklang_store::{
    Counters, LinkChange, LinkKey, LinkStatus, NewQuarantine, OutboxWrite, RecordId, SyncBatch,
};
use std::collections::HashMap;

/// Plans and commits the batches of one side's read.
pub(crate) struct Applier<'s> {
    /// The side being read.
    pub side: &'s Side<'s>,
    /// Hashes of the external ids seen so far in this read.
    seen: Seen,
    /// Records whose id could not be read.
    pub unidentified: u64,
    /// Counters of the store side.
    pub counters: Counters,
    /// Updates whose answer was lost, by link (see [`crate::outbound::landed`]).
    pub sending: HashMap<i64, einklang_store::OutboxEntry>,
    /// Creates held `unknown` that this read may settle
    /// ([`crate::outbound::unknown`]); those it claims are taken out.
    pub unknown: Vec<einklang_store::OutboxEntry>,
    /// Records of the read no link knew (imported as new).
    pub new_records: u64,
    /// External ids of records the filter no longer takes and that leave
    /// the job's scope (decided with the read's lost records).
    pub left: Vec<String>,
    /// The links of the creates held `unknown` when the read began: their
    /// record is not on the remote under the marker, which is no delete.
    held_links: std::collections::HashSet<i64>,
    /// A claimed record showed more than was written: the next read must
    /// look at it (no mark may let it skip the source).
    pub look_again: bool,
    /// Records taken so far (for progress).
    processed: u64,
}

impl<'s> Applier<'s> {
    pub fn new(side: &'s Side<'s>) -> Self {
        Applier {
            side,
            seen: Seen::new(),
            unidentified: 0,
            counters: Counters::new(),
            processed: 0,
            sending: HashMap::new(),
            unknown: Vec::new(),
            new_records: 0,
            left: Vec::new(),
            held_links: Default::default(),
            look_again: false,
        }
    }

    /// Give the read the creates held `unknown` to settle.
    pub fn hold(&mut self, unknown: Vec<einklang_store::OutboxEntry>) {
        self.held_links = unknown.iter().map(|e| e.link_id).collect();
        self.unknown = unknown;
    }

    /// Is this the link of a create held `unknown` (never "gone")?
    pub fn holds(&self, link_id: i64) -> bool {
        self.held_links.contains(&link_id)
    }

    fn bump(&mut self, counter: &str, n: u64) {
        *self.counters.entry(counter.to_string()).or_default() += n;
    }

    /// Was this external id seen in the read?
    pub fn saw(&self, id: &str) -> bool {
        self.seen.contains(&id_hash(id))
    }

    /// Plan and commit one prepared batch, store its rejects.
    pub fn apply(&mut self, ctx: &mut StepContext<'_>, batch: Prepared) -> Result<(), EngineError> {
        let Prepared {
            mut incoming,
            mut positions,
            mut rejects,
            seen,
            unidentified,
            left,
            scoped,
        } = batch;
        let n = (incoming.len() + rejects.len() + seen.len() + left.len() + scoped.len()) as u64;
        self.unidentified += unidentified;
        for id in &seen {
            self.seen.insert(id_hash(id));
        }
        self.left.extend(left);
        for (inc, position) in self.linked_only(ctx, scoped)? {
            incoming.push(inc);
            positions.push(position);
        }
        let incoming = self.first_sightings(incoming, positions, &mut rejects);
        let plan = self.plan_batch(ctx, &incoming, &mut rejects)?;
        if !plan.is_empty() {
            let ids = ctx.store.apply_sync(&ctx.tenant, ctx.run, &plan)?;
            self.match_created(ctx, &ids, &plan)?;
            self.check_invariant(ctx, &plan)?;
        }
        self.bump("writes", plan.writes() as u64);
        if !rejects.is_empty() {
            ctx.store.quarantine(&ctx.tenant, ctx.run, &rejects)?;
        }
        ctx.progress.records(n);
        self.processed += n;
        // what the step will report as `read` is counted by the reader:
        // here the records taken so far stand for it
        let mut so_far = self.counters.clone();
        so_far.insert("read".into(), self.processed);
        ctx.progress.counters(&so_far);
        Ok(())
    }

    /// The link invariant on the records the batch changed, for the step's
    /// connectors: a clean link that owes a write is marked dirty.
    fn check_invariant(
        &mut self,
        ctx: &mut StepContext<'_>,
        plan: &SyncBatch,
    ) -> Result<(), EngineError> {
        let changed: Vec<RecordId> = plan.records.iter().map(|w| w.record_id).collect();
        let sides: Vec<&Side<'_>> = ctx.checks.iter().collect();
        let at = (ctx.tenant.as_str(), ctx.run);
        let found = crate::invariant::check_batch(&mut *ctx.store, at, &sides, &changed)?;
        if !found.is_empty() {
            self.bump("links_repaired", found.len() as u64);
            ctx.notes
                .extend(found.iter().map(|v| format!("{v}: marked dirty")));
        }
        Ok(())
    }

    /// Of the records out of scope that stay (`out_of_scope = { set }`),
    /// those the hub has a link for; the others are not taken in.
    fn linked_only(
        &mut self,
        ctx: &mut StepContext<'_>,
        scoped: Vec<(Incoming, String)>,
    ) -> Result<Vec<(Incoming, String)>, EngineError> {
        if scoped.is_empty() {
            return Ok(scoped);
        }
        let ids: Vec<&str> = scoped.iter().map(|(i, _)| i.external_id.as_str()).collect();
        let (name, entity) = (self.side.name, self.side.schema.name.as_str());
        let links = ctx.store.find_links(&ctx.tenant, name, entity, &ids)?;
        Ok(scoped
            .into_iter()
            .zip(links)
            .filter_map(|(s, link)| link.map(|_| s))
            .collect())
    }

    /// Match the records the batch created against the hub (on ingest).
    fn match_created(
        &mut self,
        ctx: &mut StepContext<'_>,
        ids: &[RecordId],
        plan: &SyncBatch,
    ) -> Result<(), EngineError> {
        let Some(matcher) = ctx.matcher.as_mut() else {
            return Ok(());
        };
        let values = plan.creates.iter().filter_map(|c| match c {
            einklang_store::Change::Create { values, .. } => Some(values),
            einklang_store::Change::Update { .. } => None,
        });
        let created: Vec<(RecordId, &einklang_core::Fields)> =
            ids.iter().copied().zip(values).collect();
        let changed: Vec<RecordId> = plan.records.iter().map(|w| w.record_id).collect();
        let found = matcher.created(&mut *ctx.store, (&ctx.tenant, ctx.run), &created, &changed)?;
        self.bump("merged", found.merged);
        self.bump("review", found.queued);
        Ok(())
    }

    /// Look up the batch's links and decide each record's change.
    fn plan_batch(
        &mut self,
        ctx: &mut StepContext<'_>,
        batch: &[Incoming],
        rejects: &mut Vec<NewQuarantine>,
    ) -> Result<SyncBatch, EngineError> {
        let ids: Vec<&str> = batch.iter().map(|i| i.external_id.as_str()).collect();
        let (connector, entity) = (self.side.name, self.side.schema.name.as_str());
        let mut links = ctx.store.find_links(&ctx.tenant, connector, entity, &ids)?;
        self.own_creates(ctx, batch, &mut links)?;
        let mut out = SyncBatch::default();
        let mut stale: Vec<(LinkKey, &Incoming)> = Vec::new();
        let mut undetailed = 0;
        for (link, incoming) in links.into_iter().zip(batch) {
            match link {
                None if self.claim(incoming, &mut out) => self.bump("claimed", 1),
                None => {
                    self.new_records += 1;
                    if ctx.plan.wants_detail() {
                        ctx.plan.add(create_item(connector, incoming));
                    } else {
                        undetailed += 1;
                    }
                    out.creates.push(plan_create(entity, incoming));
                }
                Some(key) if key.status == LinkStatus::DeletedRemote => self.bump("ignored", 1),
                Some(key)
                    if key.content_hash == incoming.hash
                        && key.version == incoming.version
                        && key.status != LinkStatus::Pending =>
                {
                    self.bump("unchanged", 1)
                }
                Some(key) => stale.push((key, incoming)),
            }
        }
        ctx.plan.count(connector, "pull", "create", undetailed);
        self.bump("created", out.creates.len() as u64);
        if !stale.is_empty() {
            self.plan_stale(ctx, &stale, &mut out, rejects)?;
        }
        Ok(out)
    }

    /// New records named after the marker of a create whose link still
    /// waits for its id ([`Side::named_after_marker`]: a DAV item
    /// `ek-7.vcf`, made by a create whose answer was lost or that a
    /// look-up wrongly called absent): the record is that link's, merged
    /// against its base like any linked record, not someone new — who
    /// would be copied to the other sides while the create, sent again,
    /// finds the record taken.
    fn own_creates(
        &self,
        ctx: &mut StepContext<'_>,
        batch: &[Incoming],
        links: &mut [Option<LinkKey>],
    ) -> Result<(), EngineError> {
        let Some((before, after)) = &self.side.named_after_marker else {
            return Ok(());
        };
        let markers: Vec<(usize, &str)> = (links.iter().zip(batch).enumerate())
            .filter(|(_, (link, _))| link.is_none())
            .filter_map(|(i, (_, incoming))| {
                let id = incoming.external_id.as_str();
                let marker = id
                    .strip_prefix(before.as_str())?
                    .strip_suffix(after.as_str())?;
                crate::inbound::is_marker(marker).then_some((i, marker))
            })
            .collect();
        if markers.is_empty() {
            return Ok(());
        }
        let (connector, entity) = (self.side.name, self.side.schema.name.as_str());
        let wanted: Vec<&str> = markers.iter().map(|(_, m)| *m).collect();
        let found = ctx
            .store
            .find_links(&ctx.tenant, connector, entity, &wanted)?;
        for ((i, _), key) in markers.into_iter().zip(found) {
            // a link still under its marker has no id yet: it waits
            links[i] = key.filter(|k| k.status != LinkStatus::DeletedRemote);
        }
        Ok(())
    }

    /// A new record that is the one a create held `unknown` made: its link
    /// takes the record's id, the create is done (nothing is imported).
    fn claim(&mut self, incoming: &Incoming, out: &mut SyncBatch) -> bool {
        let side = self.side;
        let Some(i) = (self.unknown.iter())
            .position(|e| crate::outbound::unknown::claims(side, e, &incoming.values))
        else {
            return false;
        };
        let entry = self.unknown.swap_remove(i);
        // the base is what was written; when the record shows more than
        // that (edited since), no version: the next read merges it
        let as_written = crate::outbound::unknown::as_written(side, &entry, &incoming.values);
        self.look_again |= !as_written;
        out.links.push(LinkChange::Synced {
            link_id: entry.link_id,
            expect_hash: None,
            external_id: incoming.external_id.clone(),
            content_hash: content_hash(&entry.new_base),
            base: entry.new_base,
            version: incoming.version.clone().filter(|_| as_written),
            status: LinkStatus::Dirty,
        });
        out.outbox.push(OutboxWrite::Remove(entry.idem_key));
        true
    }

    /// Merge records whose link exists but whose content or version moved.
    fn plan_stale(
        &mut self,
        ctx: &mut StepContext<'_>,
        stale: &[(LinkKey, &Incoming)],
        out: &mut SyncBatch,
        rejects: &mut Vec<NewQuarantine>,
    ) -> Result<(), EngineError> {
        let mut record_ids: Vec<RecordId> = stale.iter().map(|(k, _)| k.record_id).collect();
        record_ids.sort_unstable();
        record_ids.dedup();
        let states: HashMap<RecordId, _> = record_ids
            .iter()
            .copied()
            .zip(ctx.store.load_records(&ctx.tenant, &record_ids)?)
            .filter_map(|(id, s)| s.map(|s| (id, s)))
            .collect();
        for (key, incoming) in stale {
            let state = states.get(&key.record_id);
            let Some((state, link)) =
                state.and_then(|s| s.links.iter().find(|l| l.id == key.link_id).map(|l| (s, l)))
            else {
                rejects.push(self.orphan(key, incoming));
                continue;
            };
            let recognised = self.recognise(link, incoming, out);
            let link = recognised.as_ref().unwrap_or(link);
            let linked = plan_linked(self.side, ctx.policies, state, link, incoming);
            let changed = linked.record.is_some();
            self.bump(if changed { "updated" } else { "unchanged" }, 1);
            let held = linked
                .conflicts
                .iter()
                .filter(|c| c.resolution == "held")
                .count();
            self.bump("conflicts", linked.conflicts.len() as u64);
            self.bump("held", held as u64);
            if let Some(item) = linked.item {
                ctx.plan.add(item);
            }
            for c in &linked.conflicts {
                ctx.plan.add(conflict_item(self.side.name, c));
            }
            out.records.extend(linked.record);
            out.links.extend(linked.link);
            out.links.extend(linked.recreate);
            out.conflicts.extend(linked.conflicts);
            if linked.dirty_others {
                out.dirty.push((state.id, Some(link.id)));
            }
        }
        Ok(())
    }

    /// A lost-answer update of this link: the link with the base that
    /// recognises our own echo ([`crate::outbound::echo_base`]); the entry is done.
    fn recognise(
        &mut self,
        link: &einklang_store::Link,
        incoming: &Incoming,
        out: &mut SyncBatch,
    ) -> Option<einklang_store::Link> {
        let entry = self.sending.remove(&link.id)?;
        out.outbox
            .push(einklang_store::OutboxWrite::Remove(entry.idem_key.clone()));
        Some(einklang_store::Link {
            base: crate::outbound::echo_base(&entry, &link.base, &incoming.values),
            ..link.clone()
        })
    }

    /// Keep the records whose external id was not seen earlier in this
    /// read; later ones go to quarantine.
    fn first_sightings(
        &mut self,
        incoming: Vec<Incoming>,
        positions: Vec<String>,
        rejects: &mut Vec<NewQuarantine>,
    ) -> Vec<Incoming> {
        let mut kept = Vec::with_capacity(incoming.len());
        for (inc, position) in incoming.into_iter().zip(positions) {
            if self.seen.insert(id_hash(&inc.external_id)) {
                kept.push(inc);
                continue;
            }
            self.bump("quarantined", 1);
            rejects.push(NewQuarantine {
                connector: self.side.name.to_string(),
                entity: self.side.schema.name.clone(),
                external_id: Some(inc.external_id.clone()),
                position,
                raw: serde_json::to_string(&inc.values).unwrap_or_default(),
                reason: format!(
                    "duplicate external id `{}` within this read: an earlier record has the same id",
                    inc.external_id
                ),
            });
        }
        kept
    }

    /// A link whose hub record is gone: quarantined rather than silently recreated.
    fn orphan(&mut self, key: &LinkKey, incoming: &Incoming) -> NewQuarantine {
        self.bump("quarantined", 1);
        let id = incoming.external_id.clone();
        NewQuarantine {
            connector: self.side.name.to_string(),
            entity: self.side.schema.name.clone(),
            external_id: Some(id.clone()),
            position: format!("id {id}"),
            raw: serde_json::to_string(&incoming.values).unwrap_or_default(),
            reason: format!(
                "link of `{id}` points at hub record {}, which no longer exists",
                key.record_id
            ),
        }
    }
}

fn create_item(connector: &str, incoming: &Incoming) -> PlanItem {
    PlanItem {
        connector: connector.to_string(),
        direction: "pull",
        action: "create",
        record: None,
        id: incoming.external_id.clone(),
        fields: incoming
            .values
            .iter()
            .map(|(k, v)| FieldDiff {
                field: k.clone(),
                old: serde_json::Value::Null,
                new: v.clone(),
            })
            .collect(),
    }
}

fn conflict_item(connector: &str, c: &einklang_store::NewConflict) -> PlanItem {
    PlanItem {
        connector: connector.to_string(),
        direction: "pull",
        action: if c.resolution == "held" {
            "conflict"
        } else {
            "conflict_decided"
        },
        record: Some(c.record_id),
        id: format!("{} ({}: {})", c.field, c.policy, c.resolution),
        fields: vec![FieldDiff {
            field: c.field.clone(),
            old: c.hub_value.clone(),
            new: c.remote_value.clone(),
        }],
    }
}
