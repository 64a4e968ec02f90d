//! The plan of a run: what it changes in the hub and on each connector,
//! record by record and field by field. A dry run (`einklang plan`) prints
//! it instead of writing; a real run keeps it in its report. Detailed items
//! are capped ([`Plan::DETAIL`]); the counts are always complete.

use einklang_core::Value;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// One field's old → new.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDiff {
    /// Field (entity field for pulls, entity field for pushes too).
    pub field: String,
    /// Before.
    pub old: Value,
    /// After.
    pub new: Value,
}

impl From<&(String, Value, Value)> for FieldDiff {
    fn from((field, old, new): &(String, Value, Value)) -> Self {
        FieldDiff {
            field: field.clone(),
            old: old.clone(),
            new: new.clone(),
        }
    }
}

/// One planned change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanItem {
    /// The connector it concerns.
    pub connector: String,
    /// `pull` (into the hub) or `push` (to the connector).
    pub direction: &'static str,
    /// `create`, `update`, `delete`, `soft_delete`, `restore`, `recreate`, `conflict`.
    pub action: &'static str,
    /// Hub record (None for a record not created yet).
    pub record: Option<i64>,
    /// External id (or the marker of a create).
    pub id: String,
    /// Field changes.
    pub fields: Vec<FieldDiff>,
}

/// All planned changes of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Plan {
    /// Detailed items, at most [`Plan::DETAIL`].
    pub items: Vec<PlanItem>,
    /// Counts by `connector direction action`.
    pub counts: BTreeMap<String, u64>,
    /// Every item kept, not only the first [`Plan::DETAIL`] (an audit
    /// export: `RunOptions::plan_all`).
    #[serde(skip)]
    pub all: bool,
}

impl Plan {
    /// Most detailed items kept.
    pub const DETAIL: usize = 1000;

    /// Count `item` and keep it while there is room.
    pub fn add(&mut self, item: PlanItem) {
        let key = format!("{} {} {}", item.connector, item.direction, item.action);
        *self.counts.entry(key).or_default() += 1;
        if self.wants_detail() {
            self.items.push(item);
        }
    }

    /// Is there room for more detailed items?
    pub fn wants_detail(&self) -> bool {
        self.all || self.items.len() < Self::DETAIL
    }

    /// Count `n` items of one kind without details (bulk creates).
    pub fn count(&mut self, connector: &str, direction: &str, action: &str, n: u64) {
        if n > 0 {
            *self
                .counts
                .entry(format!("{connector} {direction} {action}"))
                .or_default() += n;
        }
    }

    /// Nothing planned.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::Null => "∅".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "nothing to do: hub and connectors agree");
        }
        for (key, n) in &self.counts {
            writeln!(f, "{n:>8}  {key}")?;
        }
        let mut connector = "";
        for item in &self.items {
            if item.connector != connector {
                connector = &item.connector;
                writeln!(f, "\n{connector}:")?;
            }
            let record = item
                .record
                .map(|r| format!(" (hub {r})"))
                .unwrap_or_default();
            let arrow = if item.direction == "pull" {
                "→ hub"
            } else {
                "hub →"
            };
            writeln!(f, "  {arrow} {} {}{record}", item.action, item.id)?;
            for d in &item.fields {
                writeln!(
                    f,
                    "      {}: {} → {}",
                    d.field,
                    short(&d.old),
                    short(&d.new)
                )?;
            }
        }
        let total: u64 = self.counts.values().sum();
        if total as usize > self.items.len() {
            writeln!(
                f,
                "\n… {} more not shown",
                total as usize - self.items.len()
            )?;
        }
        Ok(())
    }
}
