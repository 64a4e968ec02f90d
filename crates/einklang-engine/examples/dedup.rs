//! bench/dedup, einklang's side: deduplicate a CSV of people with the
//! identity batch pass (`einklang_core::identity::batch`) configured by an
//! einklang config's `[matching.person]`, and write the predicted pairs.
//!
//! `cargo run --release -p einklang-engine --example dedup -- CONFIG CSV PAIRS [THRESHOLD]`
//!
//! The entity is the config's only `[matching.E]`, or `DEDUP_ENTITY=E`.
//! CSV: a header row. When the config maps a `csv` connector to the
//! entity (`[map.C.E]`), each row is read through that mapping as `sync`
//! reads it (its `id`, renamed fields, transforms, the entity's field
//! types); otherwise column `id` names a record and the other columns
//! are its fields as the entity names them. A column `cluster` (the
//! bench's ground truth) is never shown to the matcher. PAIRS gets
//! `a,b` per predicted pair (match probability ≥ THRESHOLD, default the
//! config's `auto_merge`).
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
//!
//! With `DEDUP_EXPLAIN=a:b,c:d` (pairs of ids) it prints, after the pass,
//! each pair's score field by field on the fitted model (one JSON line a
//! pair, on stderr): what `einklang explain` shows over a hub, for
//! reading the errors of a bench file.

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
    let config = einklang_config::load(Path::new(config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let entity = match std::env::var("DEDUP_ENTITY") {
        Ok(e) => e,
        Err(_) if config.matching.len() == 1 => config.matching.keys().next().unwrap().clone(),
        Err(_) => anyhow::bail!("the config needs one [matching.ENTITY], or DEDUP_ENTITY=ENTITY"),
    };
    let matching = config
        .matching
        .get(&entity)
        .ok_or_else(|| anyhow::anyhow!("the config has no [matching.{entity}]"))?;
    let input = Input::of(&config, &entity);
    let settings = json!({"path": csv})
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    let mut reader = einklang_connectors::open("input", "csv", &settings, Path::new("."))?;
    let threshold: f64 = args
        .get(3)
        .map(|t| t.parse())
        .transpose()?
        .unwrap_or(matching.auto_merge);
    let mut model = matching.model.clone();
    let s = batch::Settings {
        block: &matching.block,
        max_block: matching.max_block,
        estimate: matching.estimate,
        em: matching.em,
        auto_merge: matching.auto_merge,
        review: matching.review,
    };
    // the records are normalised as they are read, so a million of them
    // need not be held as fields at once
    let mut prepared = batch::Prepared::new();
    let mut ids: Vec<String> = Vec::new();
    let explain: Vec<(String, String)> = std::env::var("DEDUP_EXPLAIN")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.split_once(':'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut kept: std::collections::HashMap<String, Fields> = Default::default();
    let items = reader.read()?;
    let rows = items.filter_map(|item| match item {
        ReadItem::Record(r) => input.record(r.fields),
        _ => None,
    });
    let rows = rows.map(|(id, fields)| {
        ids.push(id.clone());
        if explain.iter().any(|(a, b)| *a == id || *b == id) {
            kept.insert(id.clone(), fields.clone());
        }
        fields
    });
    let started = Instant::now();
    let reading = prepared.extend_from(&model, s.block, rows);
    let busy = started.elapsed();
    let records = prepared.len();
    let started = Instant::now();
    let plan = batch::run_prepared(&mut model, &s, prepared);
    let seconds = (busy + started.elapsed()).as_secs_f64();
    for (a, b) in &explain {
        if let (Some(x), Some(y)) = (kept.get(a), kept.get(b)) {
            let score = model.score(x, y);
            let parts: Vec<Value> = score
                .parts
                .iter()
                .map(|p| {
                    json!([
                        p.field,
                        format!("{:?}", p.level),
                        (p.weight * 100.0).round() / 100.0,
                        p.counted
                    ])
                })
                .collect();
            eprintln!(
                "{}",
                json!({"a": a, "b": b, "probability": score.probability, "different_people": model.different_people(&model.forms(x), &model.forms(y)), "parts": parts})
            );
        }
    }
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
        json!({"records": records, "candidate_pairs": plan.pairs.len(), "predicted_pairs": predicted, "clusters": plan.clusters.len(), "clustered_pairs": clustered, "seconds": seconds, "normalise_seconds": busy.as_secs_f64(), "reading_seconds": reading.as_secs_f64(), "trained_m": plan.trained_m})
    );
    Ok(())
}

/// How a CSV row becomes a record: through the config's mapping of a
/// `csv` connector to the entity, or column for column.
struct Input<'c> {
    mapped: Option<(
        &'c einklang_core::Mapping,
        &'c einklang_core::EntitySchema,
        einklang_core::NormaliseContext,
    )>,
}

impl<'c> Input<'c> {
    fn of(config: &'c einklang_config::Config, entity: &str) -> Input<'c> {
        let csv = |m: &&einklang_core::Mapping| {
            m.entity == entity
                && config
                    .connectors
                    .get(&m.connector)
                    .is_some_and(|c| c.kind == "csv")
        };
        let mapped = config.mappings.iter().find(csv).and_then(|m| {
            let schema = config.entities.get(entity)?;
            let ctx = einklang_core::NormaliseContext {
                region: config.region.clone(),
                max_field_bytes: config.max_field_bytes,
            };
            Some((m, schema, ctx))
        });
        Input { mapped }
    }

    /// The record's id and fields (`None`: the mapping's filter or a
    /// missing id skips it, as a sync would).
    fn record(&self, raw: serde_json::Map<String, Value>) -> Option<(String, Fields)> {
        match &self.mapped {
            Some((m, schema, ctx)) => match m.pull_checked(schema, ctx, &raw) {
                Ok(einklang_core::mapping::Pulled::Record {
                    external_id,
                    mut fields,
                }) => {
                    fields.remove("cluster");
                    Some((external_id, fields))
                }
                _ => None,
            },
            None => {
                let id = raw.get("id").and_then(Value::as_str)?.to_string();
                // `cluster` is the ground truth: never shown to the matcher
                let fields = raw
                    .into_iter()
                    .filter(|(k, _)| k != "id" && k != "cluster")
                    .collect();
                Some((id, fields))
            }
        }
    }
}
