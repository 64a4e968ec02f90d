//! `einklang changes ENTITY --since T`: every field change of the
//! entity's records the hub's history holds from an instant on — any
//! origin (a refresh, a pull, a merge, a person) — with counts per field,
//! streamed page by page from the store's [`HistoryLog`], as a table or
//! for export as CSV or JSON lines.

use crate::table::Table;
use anyhow::{anyhow, Context};
use chrono::{DateTime, NaiveDate, Utc};
use einklang_store::{EntityChange, HubStore};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;

const PAGE: usize = 2_000;

/// One field change from the history.
#[derive(serde::Serialize)]
pub struct Row {
    at: String,
    run: i64,
    origin: String,
    record: i64,
    change: &'static str,
    field: String,
    old: Option<Value>,
    new: Option<Value>,
}

/// How the rows leave: a table of the first `limit`, CSV or JSON lines.
pub enum Out {
    Table(usize),
    Csv,
    Jsonl,
}

/// `T` as an instant: RFC 3339, a date (its midnight, UTC), or a span
/// back from `now` (`90m`, `24h`, `7d`).
pub fn parse_since(t: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let t = t.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).context("midnight")?.and_utc());
    }
    let (n, unit) = t.split_at(t.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| {
        anyhow!("--since {t}: expected a time (2026-12-01T08:00:00Z), a date (2026-12-01) or a span back (90m, 24h, 7d)")
    })?;
    let span = match unit {
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => {
            return Err(anyhow!(
                "--since {t}: a span ends in m, h or d (90m, 24h, 7d)"
            ))
        }
    };
    Ok(now - span)
}

/// The rows of one history entry (`field`: only that field's).
fn rows_of(e: EntityChange, field: Option<&str>) -> Vec<Row> {
    let row = |change, field: String, old, new| Row {
        at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run: e.run_id,
        origin: e.origin.clone(),
        record: e.record_id,
        change,
        field,
        old,
        new,
    };
    let present = |v: &Value| (!v.is_null()).then(|| v.clone());
    let change = e.change();
    if change != "changed" && field.is_none() {
        // a record new or gone: one row with all its values
        let whole: serde_json::Map<String, Value> = (e.changes.iter())
            .map(|(f, c)| {
                (
                    f.clone(),
                    if e.initial {
                        c.new.clone()
                    } else {
                        c.old.clone()
                    },
                )
            })
            .collect();
        let (old, new) = match e.initial {
            true => (None, Some(Value::Object(whole))),
            false => (Some(Value::Object(whole)), None),
        };
        return vec![row(change, String::new(), old, new)];
    }
    (e.changes.iter())
        .filter(|(f, _)| field.is_none_or(|x| x == f.as_str()))
        .map(|(f, c)| row(change, f.clone(), present(&c.old), present(&c.new)))
        .collect()
}

/// Print the entity's changes since `since`.
pub fn print(
    store: &mut dyn HubStore,
    tenant: &str,
    (entity, field): (&str, Option<&str>),
    since: DateTime<Utc>,
    out: Out,
) -> anyhow::Result<()> {
    let mut per: BTreeMap<(&'static str, String), u64> = BTreeMap::new();
    let mut shown = Vec::new();
    let (mut total, mut after) = (0usize, 0);
    let stdout = std::io::stdout();
    let mut csv = matches!(out, Out::Csv).then(|| csv::Writer::from_writer(stdout.lock()));
    if let Some(w) = csv.as_mut() {
        w.write_record([
            "at", "run", "origin", "record", "change", "field", "old", "new",
        ])?;
    }
    loop {
        let page = store.changes_since(tenant, entity, since, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.history_id;
        for row in page.into_iter().flat_map(|e| rows_of(e, field)) {
            *per.entry((row.change, row.field.clone())).or_default() += 1;
            total += 1;
            match (&out, csv.as_mut()) {
                (_, Some(w)) => {
                    let text =
                        |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
                    let (run, record) = (row.run.to_string(), row.record.to_string());
                    w.write_record([
                        &row.at,
                        &run,
                        &row.origin,
                        &record,
                        row.change,
                        &row.field,
                        &text(&row.old),
                        &text(&row.new),
                    ])?;
                }
                (Out::Jsonl, _) => writeln!(stdout.lock(), "{}", serde_json::to_string(&row)?)?,
                (Out::Table(limit), _) if shown.len() < *limit => shown.push(row),
                _ => {}
            }
        }
    }
    if let Some(mut w) = csv {
        w.flush()?;
    }
    if let Out::Table(limit) = out {
        print_table((entity, since), &per, &shown, total.saturating_sub(limit));
    }
    Ok(())
}

fn print_table(
    (entity, since): (&str, DateTime<Utc>),
    per: &BTreeMap<(&'static str, String), u64>,
    rows: &[Row],
    more: usize,
) {
    println!("{entity} since {}:", since.format("%Y-%m-%d %H:%M:%S"));
    let mut counts = Table::new(&["change", "field", "records"]);
    for ((change, field), n) in per {
        counts.row(vec![change.to_string(), field.clone(), n.to_string()]);
    }
    print!("{counts}");
    let shown = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    let mut t = Table::new(&[
        "at", "run", "origin", "record", "change", "field", "old", "new",
    ]);
    for r in rows {
        t.row(vec![
            r.at.clone(),
            r.run.to_string(),
            r.origin.clone(),
            r.record.to_string(),
            r.change.into(),
            r.field.clone(),
            shown(&r.old),
            shown(&r.new),
        ]);
    }
    if !rows.is_empty() {
        print!("{t}");
    }
    if more > 0 {
        println!("… {more} more (--limit, or --csv / --jsonl for all)");
    }
}

#[cfg(test)]
mod tests {
    use super::parse_since;
    use chrono::{TimeZone, Utc};

    #[test]
    fn since_reads_times_dates_and_spans_back() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let at = |t| parse_since(t, now).unwrap().to_rfc3339();
        assert_eq!(at("2026-12-01T08:00:00+01:00"), "2026-12-01T07:00:00+00:00");
        assert_eq!(at("2026-12-01"), "2026-12-01T00:00:00+00:00");
        assert_eq!(at("90m"), "2026-12-07T10:30:00+00:00");
        assert_eq!(at("24h"), "2026-12-06T12:00:00+00:00");
        assert_eq!(at("7d"), "2026-11-30T12:00:00+00:00");
        for bad in ["yesterday", "7w", "", "d"] {
            let e = parse_since(bad, now).unwrap_err().to_string();
            assert!(e.contains("--since"), "{bad}: {e}");
        }
    }
}
