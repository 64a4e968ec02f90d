//! Extra pre-checks of a refresh (`checks` of a job): how many staged
//! records of an entity a filter takes — bookings in status 142, active
//! employees — against a floor (`min`) and against the count the job's
//! last applied refresh had (`max_drop`). A snapshot whose counts look
//! wrong is held for review, as one that shrank as a whole is: an API
//! that lost one pipeline's leads may still return most leads.

use crate::filter::Filter;
use crate::record::Fields;

/// One count check of a refresh job.
#[derive(Clone, Debug, PartialEq)]
pub struct CountCheck {
    /// The entity whose staged records are counted.
    pub entity: String,
    /// Only those it takes (over the mapped values); all without one.
    pub filter: Option<Filter>,
    /// Fewer than this many holds the snapshot.
    pub min: Option<u64>,
    /// A larger share fewer than the last applied refresh had holds it.
    pub max_drop: Option<f64>,
}

impl CountCheck {
    /// Its name, in messages and as the run counter of its count:
    /// `check booking where status_id = 142`.
    pub fn label(&self) -> String {
        match &self.filter {
            Some(f) => format!("check {} where {}", self.entity, f.source),
            None => format!("check {}", self.entity),
        }
    }

    /// Whether it counts a staged record of its entity with `values` (a
    /// filter that cannot be evaluated on them does not count it).
    pub fn counts(&self, values: &Fields) -> bool {
        let Some(filter) = &self.filter else {
            return true;
        };
        let map: serde_json::Map<String, serde_json::Value> =
            values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        filter.eval(&map).unwrap_or(false)
    }

    /// Why a snapshot with `n` such records is held, given the count the
    /// last applied refresh had (its run and count); `None`: it passes.
    pub fn hold(&self, n: u64, last: Option<(i64, u64)>) -> Option<String> {
        let label = self.label();
        if let Some(min) = self.min.filter(|m| n < *m) {
            return Some(format!(
                "{label}: {n} records, fewer than min {min} — nothing applied; `einklang approve` applies it"
            ));
        }
        let (max_drop, (run, before)) = (self.max_drop?, last?);
        let lost = before.saturating_sub(n) as f64 / before.max(1) as f64;
        (before > 0 && lost > max_drop).then(|| {
            format!(
                "{label}: {n} records against {before} in the last applied refresh (run {run}): {:.0} % fewer, more than its max_drop {:.0} % — nothing applied; `einklang approve` applies it",
                lost * 100.0,
                max_drop * 100.0
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn check(filter: Option<&str>, min: Option<u64>, max_drop: Option<f64>) -> CountCheck {
        CountCheck {
            entity: "booking".into(),
            filter: filter.map(|f| crate::filter::parse(f).unwrap()),
            min,
            max_drop,
        }
    }

    fn values(v: serde_json::Value) -> Fields {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_check_counts_what_its_filter_takes() {
        let won = check(Some("status_id = 142"), None, None);
        assert_eq!(won.label(), "check booking where status_id = 142");
        assert!(won.counts(&values(json!({"status_id": 142}))));
        assert!(!won.counts(&values(json!({"status_id": 143}))));
        assert!(!won.counts(&values(json!({"name": "no status"}))));
        assert!(check(None, None, None).counts(&values(json!({}))));
        assert_eq!(check(None, None, None).label(), "check booking");
    }

    #[test]
    fn min_and_max_drop_hold_a_snapshot() {
        let c = check(Some("status_id = 142"), Some(10), Some(0.5));
        assert!(c.hold(9, None).unwrap().contains("fewer than min 10"));
        assert_eq!(c.hold(10, None), None, "no last refresh: only min");
        assert_eq!(c.hold(50, Some((3, 100))), None, "50 % fewer is allowed");
        let held = c.hold(49, Some((3, 100))).unwrap();
        assert!(
            held.contains("51 % fewer") && held.contains("run 3"),
            "{held}"
        );
        assert_eq!(c.hold(10, Some((3, 0))), None, "nothing before: no drop");
        assert_eq!(check(None, None, None).hold(0, Some((1, 1000))), None);
    }

    proptest! {
        /// More records never turn a passing check into a held one.
        #[test]
        fn more_records_never_hold(n in 0u64..1000, more in 0u64..1000, before in 0u64..2000, min in 0u64..500, drop in 0.0f64..1.0) {
            let c = check(None, Some(min), Some(drop));
            if c.hold(n, Some((1, before))).is_none() {
                prop_assert!(c.hold(n + more, Some((1, before))).is_none());
            }
        }
    }
}
