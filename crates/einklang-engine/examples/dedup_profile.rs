use einklang_connectors::ReadItem;
use einklang_core::identity::{batch, block};
use einklang_core::Fields;
use serde_json::json;
use std::path::Path;
use std::time::Instant;
fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = einklang_config::load(Path::new(&args[0])).map_err(|e| anyhow::anyhow!("{e}"))?;
    let matching = &config.matching["person"];
    let settings = json!({"path": &args[1]})
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    let mut reader = einklang_connectors::open("input", "csv", &settings, Path::new("."))?;
    let mut records: Vec<Fields> = Vec::new();
    for item in reader.read()? {
        let ReadItem::Record(r) = item else { continue };
        records.push(
            r.fields
                .into_iter()
                .filter(|(k, _)| k != "id" && k != "cluster")
                .collect(),
        );
    }
    let mut model = matching.model.clone();
    let t = Instant::now();
    let keys: Vec<Vec<String>> = records
        .iter()
        .map(|r| block::keys(&matching.block, r, &model.region))
        .collect();
    eprintln!("keys {:?}", t.elapsed());
    let t = Instant::now();
    let c = block::candidate_pairs(&keys, matching.max_block);
    eprintln!("pairs {:?} {}", t.elapsed(), c.len());
    let t = Instant::now();
    let forms: Vec<_> = records.iter().map(|r| model.forms(r)).collect();
    eprintln!("forms {:?}", t.elapsed());
    let t = Instant::now();
    einklang_core::identity::model::u_from_random(&mut model, &forms, 200_000, 42);
    eprintln!("u {:?}", t.elapsed());
    let t = Instant::now();
    let mut s = 0.0;
    for &(a, b) in &c {
        s += model
            .score_levels(&model.levels_of(&forms[a], &forms[b]))
            .probability;
    }
    eprintln!("score {:?} {s}", t.elapsed());
    let t = Instant::now();
    let _ = batch::prepare(&mut model, true, &records);
    eprintln!("prepare {:?}", t.elapsed());
    Ok(())
}
