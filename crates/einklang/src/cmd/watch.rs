//! `einklang sync --watch`: between runs, wait for a connector of the job
//! to report a change (PostgreSQL `NOTIFY` from the change log's trigger),
//! for a verified webhook (`--listen`, see `hooks`), or for the interval
//! to pass, whichever comes first — and say what the next run is recorded
//! as: source `notify`, `webhook` or `interval`, with `triggered_by`
//! `notify:<connector>`, `webhook:<connector>[#<delivery id>]` (or the
//! number of calls merged into the run) or `interval:<N>s`.
//!
//! A webhook run is targeted: it reads only the records the calls named
//! (see [`Trigger::targets`]); the interval runs stay the safety net.

use super::hooks::Wake;
use anyhow::Context;
use einklang_config::Config;
use einklang_connectors::excerpt;
use einklang_store::RunSource;
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub use einklang_serve::changes::{job_connectors, Listener};

/// Listeners of the job's connectors that can report changes (the same
/// as `einklang serve` waits on: [`einklang_serve::changes`]).
pub fn listeners(config: &Config, job: &str) -> anyhow::Result<Vec<Listener>> {
    einklang_serve::changes::listeners(config, &job_connectors(config, job))
        .with_context(|| format!("watching the connectors of job `{job}`"))
}

/// What woke the watch, and what the run it starts is recorded as.
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    /// Why, for the operator.
    pub why: String,
    /// The run's source.
    pub source: RunSource,
    /// The run's `triggered_by`.
    pub by: String,
    /// For webhook runs: the records to read, by connector (the run reads
    /// nothing else); `None`: a run that reads as usual.
    pub targets: Option<BTreeMap<String, Vec<String>>>,
}

/// Record ids a webhook run reads at most; more make an ordinary run
/// (one listing is then cheaper than a request per record).
pub const MAX_TARGETS: usize = 500;

impl Trigger {
    /// The first run: manual, by whoever started the watch.
    pub fn first(by: &str) -> Trigger {
        Trigger {
            why: "started".into(),
            source: RunSource::Manual,
            by: by.to_string(),
            targets: None,
        }
    }

    /// Verified webhook calls, merged into one run: `webhook:crm`,
    /// `webhook:crm#<delivery id>`, or `webhook:crm (5 calls)`.
    pub fn webhooks(wakes: &[Wake]) -> Trigger {
        let mut names: Vec<&str> = wakes.iter().map(|w| w.connector.as_str()).collect();
        names.sort();
        names.dedup();
        let names = names.join(",");
        let records: usize = wakes.iter().map(|w| w.ids.len()).sum();
        let mut targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for w in wakes {
            let ids = targets.entry(w.connector.clone()).or_default();
            for id in &w.ids {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        let named: usize = targets.values().map(Vec::len).sum();
        // a call that names no record (Graph's `missed`) asks for an ordinary run
        let everything = wakes.iter().any(|w| w.ids.is_empty());
        let targets = (!everything && named <= MAX_TARGETS).then_some(targets);
        let (why, by) = match wakes {
            [one] => (
                format!("a webhook for `{names}` named {records} record(s)"),
                match &one.delivery {
                    Some(id) => format!("webhook:{names}#{}", excerpt(id, 64)),
                    None => format!("webhook:{names}"),
                },
            ),
            many => (
                format!(
                    "{} webhook calls for {names} named {records} record(s)",
                    many.len()
                ),
                format!("webhook:{names} ({} calls)", many.len()),
            ),
        };
        Trigger {
            why,
            source: RunSource::Webhook,
            by,
            targets,
        }
    }

    fn notify(connector: &str) -> Trigger {
        Trigger {
            why: format!("connector `{connector}` reported a change"),
            source: RunSource::Notify,
            by: format!("notify:{connector}"),
            targets: None,
        }
    }

    fn interval(interval: Duration) -> Trigger {
        let secs = interval.as_secs();
        Trigger {
            why: format!("{secs}s passed"),
            source: RunSource::Interval,
            by: format!("interval:{secs}s"),
            targets: None,
        }
    }
}

/// Wait for a change, a webhook or the interval, whichever comes first.
/// Every webhook call queued by then (those that came during the last
/// run) is taken with the first: they make one run.
pub fn wait(
    listeners: &mut [Listener],
    hooks: Option<&Receiver<Wake>>,
    interval: Duration,
) -> anyhow::Result<Trigger> {
    let until = Instant::now() + interval;
    let slice = Duration::from_millis(250 / listeners.len().max(1) as u64 + 1);
    while Instant::now() < until {
        match hooks {
            Some(rx) => {
                let patience = match listeners.is_empty() {
                    true => Duration::from_millis(250),
                    false => Duration::ZERO,
                };
                match rx.recv_timeout(patience) {
                    Ok(first) => {
                        let mut wakes = vec![first];
                        wakes.extend(rx.try_iter());
                        return Ok(Trigger::webhooks(&wakes));
                    }
                    // the receiver stopped: wait as if it had said nothing
                    Err(RecvTimeoutError::Disconnected) => std::thread::sleep(patience),
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
            None if listeners.is_empty() => {
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
                break;
            }
            None => {}
        }
        for (name, l) in listeners.iter_mut() {
            if l.wait(slice)? {
                return Ok(Trigger::notify(name));
            }
        }
    }
    Ok(Trigger::interval(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wake(connector: &str, delivery: Option<&str>) -> Wake {
        Wake {
            connector: connector.into(),
            ids: vec!["a".into(), format!("{connector}-b")],
            delivery: delivery.map(str::to_string),
        }
    }

    #[test]
    fn webhook_runs_say_which_call_or_how_many() {
        let one = Trigger::webhooks(&[wake("crm", None)]);
        assert_eq!(
            (one.source, one.by.as_str()),
            (RunSource::Webhook, "webhook:crm")
        );
        let id = Trigger::webhooks(&[wake("crm", Some("d-7"))]);
        assert_eq!(id.by, "webhook:crm#d-7");
        let many = Trigger::webhooks(&[wake("shop", None), wake("crm", None), wake("crm", None)]);
        assert_eq!(many.by, "webhook:crm,shop (3 calls)");
        assert_eq!(many.why, "3 webhook calls for crm,shop named 6 record(s)");
    }

    #[test]
    fn merged_calls_read_their_ids_together_each_once_and_many_make_an_ordinary_run() {
        let t = Trigger::webhooks(&[wake("shop", None), wake("crm", None), wake("crm", None)]);
        let targets = t.targets.unwrap();
        assert_eq!(targets["crm"], ["a", "crm-b"]);
        assert_eq!(targets["shop"], ["a", "shop-b"]);
        let many: Vec<Wake> = (0..=MAX_TARGETS / 2)
            .map(|i| Wake {
                connector: "crm".into(),
                ids: vec![format!("x{i}"), format!("y{i}")],
                delivery: None,
            })
            .collect();
        assert_eq!(Trigger::webhooks(&many).targets, None, "over {MAX_TARGETS}");
        assert_eq!(Trigger::first("cli").targets, None);
        let mut none = wake("crm", None);
        none.ids.clear();
        let t = Trigger::webhooks(&[wake("crm", None), none]);
        assert_eq!(t.targets, None, "a call naming nothing: an ordinary run");
    }

    #[test]
    fn queued_webhook_calls_make_one_run() {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..30 {
            tx.send(wake("crm", None)).unwrap();
        }
        let t = wait(&mut [], Some(&rx), Duration::from_secs(5)).unwrap();
        assert_eq!(t.by, "webhook:crm (30 calls)");
        assert!(rx.try_recv().is_err(), "all taken");
        let t = wait(&mut [], Some(&rx), Duration::from_millis(300)).unwrap();
        assert_eq!(
            (t.source, t.by.as_str()),
            (RunSource::Interval, "interval:0s")
        );
    }
}
