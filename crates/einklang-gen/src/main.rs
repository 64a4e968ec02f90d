//! einklang-gen: deterministic synthetic contacts for einklang's examples
//! and benchmarks. The same seed always gives the same bytes.
//!
//! - `einklang-gen contacts --count 1000000 --seed 42 --out contacts.jsonl`
//!   streams N contacts as JSONL (~300 bytes a line, constant memory);
//! - `einklang-gen dupes --count 100000 --seed 42 --preset real --out d.csv`
//!   writes contacts with known duplicates for bench/dedup (presets `real`
//!   and `classic`, knobs: see `dupes.rs`);
//! - `einklang-gen examples --out examples/quickstart/data` writes the
//!   quickstart's CRM export, newsletter dump and phone book.

mod dupes;
mod examples;
mod people;
mod rng;

use anyhow::Context;
use clap::{Parser, Subcommand};
use people::{iso_date, iso_datetime, write_phone, Person};
use rng::Rng;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about = "Deterministic synthetic contacts for einklang")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stream N contacts as JSONL.
    Contacts {
        /// How many contacts.
        #[arg(long, default_value_t = 1000)]
        count: u64,
        /// Seed of the random stream.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write N contacts with known duplicates and colleagues as CSV (bench/dedup).
    Dupes {
        /// How many rows.
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        /// Seed of the random stream.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// `real`: shared e-mails and landlines, people with 5–10 records,
        /// phones as typed, nicknames, initials, missing first names;
        /// `classic`: the generator before them, byte for byte.
        #[arg(long, default_value = "real")]
        preset: dupes::Preset,
        /// Change one knob of the preset, e.g. `--knob households=8`
        /// (repeatable; the knobs and both presets' values are in bench/README.md).
        #[arg(long = "knob", value_name = "NAME=VALUE")]
        knobs: Vec<String>,
    },
    /// Write the quickstart example data into a folder.
    Examples {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Seed of the random stream.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Contacts { count, seed, out } => {
            let file = std::fs::File::create(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            contacts(&mut w, count, seed)?;
            w.flush()?;
        }
        Command::Examples { out, seed } => examples::write(&out, seed)?,
        Command::Dupes {
            count,
            seed,
            out,
            preset,
            knobs,
        } => {
            let mut k = preset.knobs();
            for knob in &knobs {
                k.set(knob).map_err(anyhow::Error::msg)?;
            }
            let file = std::fs::File::create(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            dupes::write(&mut w, count, seed, &k)?;
            w.flush()?;
        }
    }
    Ok(())
}

/// Write `count` contacts as JSONL.
fn contacts(w: &mut impl Write, count: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    for i in 0..count {
        let p = Person::random(&mut rng);
        let line = serde_json::json!({
            "id": format!("c{:08}", i + 1),
            "first_name": p.first,
            "last_name": p.last,
            "company": p.company,
            "email": p.email,
            "phone": write_phone(&mut rng, &p.phone),
            "street": p.street,
            "postcode": p.postcode,
            "city": p.city,
            "country": p.country.code(),
            "birthday": p.birthday.map(iso_date),
            "created_at": iso_datetime(p.created),
            "status_id": *rng.pick(&[142, 143, 7_001_234, 7_001_235]),
        });
        serde_json::to_writer(&mut *w, &line)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(count: u64, seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        contacts(&mut out, count, seed).unwrap();
        out
    }

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(bytes(500, 7), bytes(500, 7));
        assert_ne!(bytes(500, 7), bytes(500, 8));
    }

    #[test]
    fn lines_are_about_300_bytes_with_unique_ids() {
        let out = bytes(5000, 42);
        let lines: Vec<&[u8]> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let avg = out.len() / lines.len();
        assert!((250..=350).contains(&avg), "average line {avg} bytes");
        let ids: std::collections::HashSet<String> = lines
            .iter()
            .map(|l| {
                serde_json::from_slice::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids.len(), 5000);
    }

    #[test]
    fn examples_carry_exactly_the_planned_bad_records() {
        let mut rng = Rng::new(2026);
        let crm: Vec<Person> = (0..examples::CRM_ROWS)
            .map(|_| Person::random(&mut rng))
            .collect();
        let csv = examples::crm_csv(&mut rng, &crm).unwrap();
        let bad_utf8 = csv
            .split(|b| *b == b'\n')
            .filter(|l| std::str::from_utf8(l).is_err())
            .count();
        let wrong_width = csv
            .split(|b| *b == b'\n')
            .filter(|l| l.iter().filter(|b| **b == b';').count() == 14)
            .count();
        let bad_email = String::from_utf8_lossy(&csv).matches("(at)").count();
        assert_eq!((bad_utf8, wrong_width, bad_email), (1, 1, 1));
        let nl = examples::newsletter(&mut rng, &crm);
        let parsed: Vec<Option<serde_json::Value>> = nl
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).ok())
            .collect();
        assert_eq!(parsed.len(), examples::NEWSLETTER_LINES);
        assert_eq!(parsed.iter().filter(|p| p.is_none()).count(), 1);
        assert_eq!(
            parsed
                .iter()
                .flatten()
                .filter(|p| p.get("id").is_none())
                .count(),
            1
        );
        let cards = examples::phonebook(&mut rng, &crm);
        assert_eq!(cards.len(), examples::PHONEBOOK_CARDS);
        assert_eq!(
            cards
                .iter()
                .filter(|(_, c)| !c.starts_with("BEGIN:VCARD"))
                .count(),
            1
        );
        assert!(
            cards.iter().all(|(_, c)| c.lines().all(|l| l.len() <= 76)),
            "folded at 75 octets"
        );
    }
}
