//! bench/dedup, the on-ingest path: build an identity `Index` of a hub of
//! generated contacts, then match new contacts one at a time, as a pull
//! does before it creates a hub record, and report the latency.
//!
//! `cargo run --release -p einklang-engine --example ingest_latency -- CONFIG CSV [HUB] [PROBES]`
//!
//! CSV is an `einklang-gen dupes` file: of its first HUB + PROBES rows
//! (default 1,000,000 and 10,000) every ((HUB + PROBES) / PROBES)-th
//! arrives later, one by one, the others are the hub; each arriving row is
//! matched (every candidate at or above the config's
//! `review` threshold) and then indexed, as a new hub record would be.
//! The model's `u` comes from random pairs of the first 20,000 hub rows
//! (`batch::prepare`), its common values from the whole hub
//! (`Index::prepare`). Prints one JSON line: build seconds, peak RSS after
//! the build, p50/p99/max latency in ms, and how many probes found a
//! record of their own cluster (a duplicate) at or above `auto_merge`, or
//! one of another cluster.

/// The allocator the `einklang` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use einklang_connectors::ReadItem;
use einklang_core::identity::{batch, index::Index};
use einklang_core::Fields;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, csv, ..] = &args[..] else {
        anyhow::bail!("usage: ingest_latency CONFIG CSV [HUB] [PROBES]");
    };
    let number = |i: usize, default: usize| args.get(i).map_or(Ok(default), |a| a.parse());
    let (hub, probes) = (number(2, 1_000_000)?, number(3, 10_000)?);
    let config = einklang_config::load(Path::new(config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let m = config
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
    let mut rows = reader.read()?.filter_map(|item| match item {
        ReadItem::Record(r) => Some(r.fields),
        _ => None,
    });
    // the ground truth stays out of the matcher
    let split = |f: serde_json::Map<String, Value>| {
        let mut f: Fields = f.into_iter().collect();
        let cluster = f
            .remove("cluster")
            .and_then(|c| c.as_str().map(str::to_string));
        f.remove("id");
        (cluster.unwrap_or_default(), f)
    };

    let started = Instant::now();
    let mut model = m.model.clone();
    let mut index = Index::new(m.block.clone(), m.max_block);
    let mut cluster_of: HashMap<i64, String> = HashMap::new();
    let mut sample = Vec::new();
    // every stride-th row arrives later: the probes are a sample of the
    // file, duplicates (of hub records) and new people alike
    let stride = (hub + probes) / probes.max(1);
    let mut arriving = Vec::with_capacity(probes);
    let hub_rows = rows
        .by_ref()
        .take(hub + probes)
        .enumerate()
        .filter_map(|(n, fields)| {
            let (cluster, record) = split(fields);
            if n % stride == stride - 1 && arriving.len() < probes {
                arriving.push((n as i64, cluster, record));
                return None;
            }
            cluster_of.insert(n as i64, cluster);
            if sample.len() < 20_000 {
                sample.push(record.clone());
            }
            Some((n as i64, record))
        });
    index.extend(&model, hub_rows);
    let common = {
        batch::prepare(&mut model, m.estimate, &sample);
        index.prepare(&mut model);
        model.common.iter().map(|c| c.len()).sum::<usize>()
    };
    drop(sample);
    let build = started.elapsed().as_secs_f64();
    let rss_mb = peak_rss_mb();

    let mut latencies = Vec::with_capacity(probes);
    let (mut own, mut other) = (0, 0);
    let mut in_hub: HashSet<String> = cluster_of.values().cloned().collect();
    let mut duplicates = 0;
    for (id, cluster, record) in arriving {
        duplicates += in_hub.contains(&cluster) as usize;
        let t = Instant::now();
        let found = index.matches(&model, &record, m.review);
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(&(best, p)) = found.first() {
            if p >= m.auto_merge {
                match cluster_of[&best] == cluster {
                    true => own += 1,
                    false => other += 1,
                }
            }
        }
        index.insert(&model, id, &record);
        in_hub.insert(cluster.clone());
        cluster_of.insert(id, cluster);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{}",
        json!({
            "hub_records": index.len() - latencies.len(), "probes_with_a_duplicate_in_the_hub": duplicates, "probes": latencies.len(), "build_seconds": build,
            "peak_rss_mb_after_build": rss_mb, "common_values": common,
            "p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": latencies.last(),
            "merged_with_own_cluster": own, "merged_with_other_cluster": other,
        })
    );
    Ok(())
}

/// Peak resident set of this process so far (Linux).
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
