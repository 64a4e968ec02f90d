//! bench/dedup, einklang's side: deduplicate a CSV of people with the
//! identity batch pass (`einklang_core::identity::batch`) configured by an
//! einklang config's `[matching.person]`, and write the predicted pairs.
//!
//! `cargo run --release -p einklang-engine --example dedup -- CONFIG CSV PAIRS [THRESHOLD]`
//!
//! CSV: a header row; column `id` names a record, the other columns are
//! its fields (as the config's `[entities.person]` names them). PAIRS gets
//! `a,b` per predicted pair (match probability ≥ THRESHOLD, default 0.9).
//! Prints one JSON line: records, candidate pairs, predicted pairs,
//! seconds (the pass: normalising the records as the CSV connector reads
//! them — reading overlaps normalising, so its time is included; the
//! reading alone is `reading_seconds` — then blocking, estimating,
//! scoring, clustering).
//!
//! With `DEDUP_CLUSTERS=FILE` in the environment it also writes `a,b` for
//! every two records the pass puts into one cluster: the merges at the
//! config's `auto_merge` as a whole, after clustering (what `einklang
//! dedupe` would merge), where PAIRS holds the scored pairs alone.

/// The allocator the `einklang` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use einklang_connectors::ReadItem;
use einklang_core::identity::batch;
use einklang_core::Fields;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, csv, out, ..] = &args[..] else {
        anyhow::bail!("usage: dedup CONFIG CSV PAIRS [THRESHOLD]");
    };
    let threshold: f64 = args.get(3).map(|t| t.parse()).transpose()?.unwrap_or(0.9);
    let config = einklang_config::load(Path::new(config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let matching = config
        .matching
        .get("person")
        .ok_or_else(|| anyhow::anyhow!("the config needs [matching.person]"))?;
    let settings = json!({"path": csv})
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    let mut reader = einklang_connectors::open("input", "csv", &settings, Path::new("."))?;
    let mut model = matching.model.clone();
    let s = batch::Settings {
        block: &matching.block,
        max_block: matching.max_block,
        estimate: matching.estimate,
        auto_merge: matching.auto_merge,
        review: matching.review,
    };
    // the records are normalised as they are read, so a million of them
    // need not be held as fields at once
    let mut prepared = batch::Prepared::new();
    let mut ids: Vec<String> = Vec::new();
    let items = reader.read()?;
    let rows = items.filter_map(|item| match item {
        ReadItem::Record(r) => Some(r.fields),
        _ => None,
    });
    let rows = rows.map(|fields| {
        let id = fields.get("id").and_then(Value::as_str).unwrap_or_default();
        ids.push(id.to_string());
        // `cluster` is the ground truth: never shown to the matcher
        fields
            .into_iter()
            .filter(|(k, _)| k != "id" && k != "cluster")
            .collect::<Fields>()
    });
    let started = Instant::now();
    let reading = prepared.extend_from(&model, s.block, rows);
    let busy = started.elapsed();
    let records = prepared.len();
    let started = Instant::now();
    let plan = batch::run_prepared(&mut model, &s, prepared);
    let seconds = (busy + started.elapsed()).as_secs_f64();
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    writeln!(w, "a,b")?;
    let mut predicted = 0;
    for p in plan.pairs.iter().filter(|p| p.probability >= threshold) {
        writeln!(w, "{},{}", ids[p.a], ids[p.b])?;
        predicted += 1;
    }
    w.flush()?;
    let mut clustered = 0;
    if let Some(path) = std::env::var_os("DEDUP_CLUSTERS") {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(w, "a,b")?;
        for c in &plan.clusters {
            for (i, &a) in c.iter().enumerate() {
                for &b in &c[i + 1..] {
                    writeln!(w, "{},{}", ids[a], ids[b])?;
                    clustered += 1;
                }
            }
        }
        w.flush()?;
    }
    println!(
        "{}",
        json!({"records": records, "candidate_pairs": plan.pairs.len(), "predicted_pairs": predicted, "clusters": plan.clusters.len(), "clustered_pairs": clustered, "seconds": seconds, "normalise_seconds": busy.as_secs_f64(), "reading_seconds": reading.as_secs_f64()})
    );
    Ok(())
}
