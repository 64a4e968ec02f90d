//! Reading a connector that lists ids and version tokens: the listing,
//! sorted, is merge-joined with the side's links (the store pages them in
//! the same byte order), which tells new, changed, unchanged and gone
//! records apart without fetching anything; then only new and changed
//! records are fetched, in batches, prepared and applied. A listing whose
//! hash ([`crate::listing`]) equals the one stored after the last read (and
//! patched by our own writes since) costs nothing more.

use super::{Applier, Preparer, ReadOutcome, StepContext};
use crate::EngineError;
use einklang_connectors::{Connector, Listed};
use einklang_store::{Counters, LinkRef, LinkStatus, LinkView};
use std::cmp::Ordering;

/// Records per fetch call.
const FETCH: usize = 500;

/// What the merge-join found.
#[derive(Default)]
struct Joined {
    fetch: Vec<String>,
    gone: Vec<LinkRef>,
    unchanged: u64,
    ignored: u64,
    live: u64,
}

/// See the module docs.
pub(super) fn read(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    mut preparer: Preparer<'_>,
    applier: &mut Applier<'_>,
) -> Result<Result<ReadOutcome, String>, EngineError> {
    let mut listing = match connector.list() {
        Ok(l) => l,
        Err(e) => return Ok(Err(e.to_string())),
    };
    listing.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    listing.dedup_by(|a, b| a.id == b.id);
    let (name, entity) = (applier.side.name, applier.side.schema.name.as_str());
    let hash = crate::listing::of(&listing);
    let stored = ctx
        .store
        .cursor(&ctx.tenant, name, entity, crate::listing::CURSOR)?;
    let unchanged = stored.as_deref().and_then(crate::listing::parse) == Some(hash);
    if unchanged && !ctx.full && applier.unknown.is_empty() {
        // nothing changed on the remote since we last read or wrote it
        let counters = Counters::from([
            ("listed".to_string(), listing.len() as u64),
            ("unchanged".to_string(), listing.len() as u64),
        ]);
        return Ok(Ok(ReadOutcome {
            counters,
            source_unchanged: true,
            gone: None,
            live_links: 0,
            note: None,
            marks: Vec::new(),
            left_scope: Default::default(),
        }));
    }
    // until this read's mark is stored, a crash must not let the next read
    // skip the source (see `ReadOutcome::marks`)
    if stored.is_some() && !unchanged {
        ctx.store
            .set_cursor(&ctx.tenant, name, entity, crate::listing::CURSOR, "")?;
    }
    let joined = join(ctx, applier, &listing)?;
    for ids in joined.fetch.chunks(FETCH) {
        let items = match connector.fetch(ids) {
            Ok(items) => items,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let prepared = preparer.prepare_all(items);
        applier.apply(ctx, prepared)?;
    }
    let gone = match confirm_gone(ctx, connector, &mut preparer, applier, joined.gone)? {
        Ok(gone) => gone,
        Err(e) => return Ok(Err(e)),
    };
    let mut counters: Counters = preparer.take_counters();
    counters.insert("listed".into(), listing.len() as u64);
    *counters.entry("unchanged".into()).or_default() += joined.unchanged;
    *counters.entry("ignored".into()).or_default() += joined.ignored;
    let (gone, note, marks) = match gone {
        Confirmed::Gone(mut gone) => {
            // records that left the job's scope count as lost
            let (name, entity) = (applier.side.name, applier.side.schema.name.as_str());
            gone.extend(super::feed::lost(ctx, name, entity, &applier.left)?);
            let marks = vec![super::Mark::Listing(crate::listing::text(hash))];
            (Some(gone), None, marks)
        }
        Confirmed::Raced(n) => {
            *counters.entry("raced_reads".into()).or_default() += 1;
            (None, Some(raced_listing(n)), Vec::new())
        }
    };
    Ok(Ok(ReadOutcome {
        counters,
        source_unchanged: false,
        gone,
        live_links: joined.live,
        note,
        marks,
        left_scope: Default::default(),
    }))
}

/// What fetching the records a listing missed found.
enum Confirmed {
    /// None of them came back: they are gone.
    Gone(Vec<LinkRef>),
    /// This many came back (or could not be read): the listing raced a
    /// writer (a paged listing shifted under an insert or delete) and
    /// decides nothing.
    Raced(usize),
}

fn raced_listing(n: usize) -> String {
    format!(
        "{n} record(s) missing from the listing were still there when fetched: the source changed while it was listed, so no record is taken as deleted this time (the next read looks again)"
    )
}

/// A record a listing missed is only gone when fetching it finds nothing:
/// a listing that pages while others write can skip a record that is
/// still there. Those found are applied like any fetched record.
fn confirm_gone(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    preparer: &mut Preparer<'_>,
    applier: &mut Applier<'_>,
    gone: Vec<LinkRef>,
) -> Result<Result<Confirmed, String>, EngineError> {
    let mut back = 0;
    for refs in gone.chunks(FETCH) {
        let ids: Vec<String> = refs.iter().map(|l| l.external_id.clone()).collect();
        let items = match connector.fetch(&ids) {
            Ok(items) => items,
            Err(e) => return Ok(Err(e.to_string())),
        };
        back += items.len();
        if !items.is_empty() {
            let prepared = preparer.prepare_all(items);
            applier.apply(ctx, prepared)?;
        }
    }
    Ok(Ok(match back {
        0 => Confirmed::Gone(gone),
        n => Confirmed::Raced(n),
    }))
}

/// Merge-join the sorted listing with the links (scanned in the same order).
fn join(
    ctx: &mut StepContext<'_>,
    applier: &Applier<'_>,
    listing: &[Listed],
) -> Result<Joined, EngineError> {
    let (name, entity) = (applier.side.name, applier.side.schema.name.as_str());
    let mut out = Joined::default();
    let mut listed = listing.iter().peekable();
    ctx.store
        .scan_links(&ctx.tenant, name, entity, &mut |link| {
            while let Some(l) = listed.next_if(|l| l.id.as_str() < link.external_id) {
                out.fetch.push(l.id.clone()); // new on the remote
            }
            let live = !matches!(link.status, LinkStatus::DeletedRemote | LinkStatus::Pending)
                && link.held
                && !applier.holds(link.link_id);
            out.live += u64::from(live);
            match listed.peek().map(|l| l.id.as_str().cmp(link.external_id)) {
                Some(Ordering::Equal) => {
                    let l = listed.next().expect("peeked");
                    classify(&mut out, &link, l);
                }
                _ if live => out.gone.push(link.to_ref()),
                _ => {}
            }
        })?;
    out.fetch.extend(listed.map(|l| l.id.clone()));
    Ok(out)
}

fn classify(out: &mut Joined, link: &LinkView<'_>, listed: &Listed) {
    match link.status {
        LinkStatus::DeletedRemote => out.ignored += 1,
        LinkStatus::Pending => out.fetch.push(listed.id.clone()),
        _ if link.version.is_some() && link.version == listed.version.as_deref() => {
            out.unchanged += 1
        }
        _ => out.fetch.push(listed.id.clone()),
    }
}
