//! `einklang doctor [--repair] [--json]`: every invariant of the hub store
//! checked (`einklang_engine::doctor`), one line per check — ok, a note,
//! or the problem with its count, a few example ids and what `--repair`
//! does about it — and a summary. `--repair` fixes what is safe as a run
//! of job `doctor` (waiting for a running sync first) and says what is
//! left. Exit 0 when nothing is wrong (or all of it was repaired), 1 when
//! problems remain.

use crate::exit;
use einklang_engine::doctor::{self, Examination, Repair, SideCheck, SideOutcome};
use einklang_engine::{LeaseOptions, Registry};
use einklang_store::{Finding, IntegrityOptions};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `doctor`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Fix what is safe to fix, as a run of its own (job `doctor`).
    #[arg(long)]
    repair: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// How many example ids a finding names.
    #[arg(long, default_value_t = 5)]
    examples: usize,
}

/// Run `doctor`.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_config(path)?;
    let mut store = super::open_store(&config)?;
    let options = IntegrityOptions {
        examples: args.examples,
        // a run this young may be about to take its lease (as `runs` judges)
        grace: LeaseOptions::default().ttl,
    };
    let left = if args.repair {
        let by = super::resolve::default_by();
        let done = doctor::repair(store.as_mut(), &config, &mut Registry, &by, &options)?;
        match args.json {
            true => super::print_json(&repaired_json(&done))?,
            false => print!("{}", repaired_text(&done)),
        }
        done.after.problems()
    } else {
        let found = doctor::examine(store.as_mut(), &config, &mut Registry, &options)?;
        match args.json {
            true => super::print_json(&examination_json(&found))?,
            false => print!("{}{}", lines(&found), summary(&found)),
        }
        found.problems()
    };
    Ok(match left {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(exit::FAILED),
    })
}

fn examination_json(e: &Examination) -> serde_json::Value {
    json!({
        "store": e.store,
        "links": e.sides,
        "problems": e.problems(),
        "repairable": e.repairable(),
    })
}

fn repaired_json(r: &Repair) -> serde_json::Value {
    json!({
        "before": examination_json(&r.before),
        "run": r.run,
        "repaired": {"store": r.store, "links": r.links},
        "after": examination_json(&r.after),
        "problems": r.after.problems(),
    })
}

/// One line per check of `e`.
fn lines(e: &Examination) -> String {
    let store = e.store.iter().map(finding_line);
    let sides = e.sides.iter().map(side_line);
    store.chain(sides).map(|l| l + "\n").collect()
}

fn finding_line(f: &Finding) -> String {
    let mark = match (f.count, f.info) {
        (0, _) => "ok     ",
        (_, true) => "note   ",
        (_, false) => "PROBLEM",
    };
    let mut line = format!("{mark}  {}: {}", f.title, f.message);
    if f.count > 0 {
        let more = if f.count as usize > f.examples.len() {
            ", …"
        } else {
            ""
        };
        let examples = f.examples.join(", ");
        line += &format!(" ({} {examples}{more})", f.check.examples_are());
    }
    if f.is_problem() {
        line += &match f.repair {
            Some(does) => format!("; --repair {does}"),
            None => "; not repaired by --repair: a person must look".to_string(),
        };
    }
    line
}

fn side_line(s: &SideCheck) -> String {
    let title = format!("links of `{}` {}", s.connector, s.entity);
    match &s.outcome {
        SideOutcome::Checked(v) if v.is_empty() => {
            format!("ok       {title}: every clean link owes the connector nothing")
        }
        SideOutcome::Checked(v) => {
            let examples: Vec<String> = v
                .iter()
                .take(5)
                .map(|v| {
                    format!(
                        "link {} of record {} ({})",
                        v.link_id, v.record_id, v.external_id
                    )
                })
                .collect();
            let more = if v.len() > examples.len() {
                ", …"
            } else {
                ""
            };
            format!(
                "PROBLEM  {title}: {} clean link(s) differ from the hub, a write is owed ({}{more}); \
                 --repair marks them dirty: the next sync writes what they owe",
                v.len(),
                examples.join(", ")
            )
        }
        SideOutcome::NotWritten => {
            format!("ok       {title}: no job writes it, its links owe nothing")
        }
        SideOutcome::Unchecked(e) => format!("PROBLEM  {title}: could not be checked: {e}"),
    }
}

fn summary(e: &Examination) -> String {
    let notes = e.store.iter().filter(|f| f.count > 0 && f.info).count();
    let notes = match notes {
        0 => String::new(),
        n => format!(", {n} note(s)"),
    };
    match e.problems() {
        0 => format!("\nnothing wrong{notes}\n"),
        n => format!(
            "\n{n} problem(s){notes}; `einklang doctor --repair` repairs {} of them\n",
            e.repairable()
        ),
    }
}

fn repaired_text(r: &Repair) -> String {
    let mut out = lines(&r.before);
    let mut done: Vec<String> = r
        .store
        .iter()
        .map(|(check, n)| format!("{}: {n}", check.title()))
        .collect();
    if r.links > 0 {
        done.push(format!("links marked dirty: {}", r.links));
    }
    out += &match done.is_empty() {
        true => format!("\nnothing to repair (run {}, job doctor)\n", r.run),
        false => format!(
            "\nrepaired as run {} (job doctor): {}\n",
            r.run,
            done.join(", ")
        ),
    };
    let left: Vec<String> = lines(&r.after)
        .lines()
        .filter(|l| l.starts_with("PROBLEM"))
        .map(|l| format!("  {l}\n"))
        .collect();
    out += &match left.len() {
        0 => "after the repair: nothing wrong\n".to_string(),
        n => format!(
            "after the repair, {n} problem(s) remain:\n{}",
            left.concat()
        ),
    };
    out
}
