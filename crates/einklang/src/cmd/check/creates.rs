//! What `check` says about creates whose answer was lost: for every
//! connector a job writes (a `push` or `sync` step), which of the engine's
//! four guarantees that such a create is never made twice holds, strongest
//! first, and a warning for the weakest. Derived from the connector's
//! [`Capabilities`] and the mappings' `find` fields; opening a connector
//! does no I/O (every kind connects on its first operation), so nothing
//! is contacted.

use einklang_config::{Config, Step};
use einklang_connectors::Capabilities;
use einklang_core::Mapping;
use std::collections::{BTreeMap, BTreeSet};

/// How a create whose answer was lost is kept from being made twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guarantee {
    /// 1. The connector uses einklang's marker as the record's id: sending
    ///    the create again is harmless.
    ClientIds,
    /// 2. The connector looks the record up by the marker it carried (the
    ///    setting that makes it so, if any).
    FoundByMarker(Option<String>),
    /// 3. Every written mapping names `find` fields: the next read claims
    ///    the record equal on them. Per entity, its `find` fields.
    Find(Vec<(String, Vec<String>)>),
    /// 4. Held `unknown` until a read settles it. The entities whose
    ///    mapping has no `find`.
    Held(Vec<String>),
}

impl Guarantee {
    /// The guarantee for a connector with `caps` writing these mappings.
    pub fn of(caps: &Capabilities, marker: Option<String>, written: &[&Mapping]) -> Guarantee {
        if caps.client_ids {
            return Guarantee::ClientIds;
        }
        if caps.finds_created {
            return Guarantee::FoundByMarker(marker);
        }
        let without: Vec<String> = written
            .iter()
            .filter(|m| m.find.is_empty())
            .map(|m| m.entity.clone())
            .collect();
        if !without.is_empty() {
            return Guarantee::Held(without);
        }
        let by_entity = written
            .iter()
            .map(|m| (m.entity.clone(), m.find.clone()))
            .collect();
        Guarantee::Find(by_entity)
    }

    /// Its line in `check`'s output.
    pub fn describe(&self) -> String {
        match self {
            Guarantee::ClientIds => {
                "1, client ids: the marker is the record's id, so a create sent again is harmless"
                    .into()
            }
            Guarantee::FoundByMarker(how) => {
                let how = how.as_deref().unwrap_or("the record carries it");
                format!("2, found by its marker ({how})")
            }
            Guarantee::Find(by_entity) => {
                let fields: Vec<String> = by_entity
                    .iter()
                    .map(|(entity, find)| format!("{} ({entity})", find.join(", ")))
                    .collect();
                format!(
                    "3, recognised by `find`: the next read claims the record equal on {}",
                    fields.join("; ")
                )
            }
            Guarantee::Held(_) => "4, held until a read settles it (see the warning)".into(),
        }
    }
}

/// The setting that lets a connector find a create by its marker, in words.
fn marker_setting(kind: &str, settings: &einklang_connectors::Settings) -> Option<String> {
    let named = |key: &str| {
        let value = settings.get(key)?.as_str()?;
        Some(format!("`{key}` \"{value}\""))
    };
    match kind {
        "http" | "graphql" => named("marker_field"),
        "postgres_table" => named("marker_column"),
        "carddav" | "caldav" => Some("the item is named after it".into()),
        _ => None,
    }
}

/// What to set for a stronger guarantee than [`Guarantee::Held`].
fn suggestion(kind: &str, connector: &str, entities: &[String]) -> String {
    let setting = match kind {
        "http" | "graphql" => "set `marker_field` (a field the API keeps) or ",
        "postgres_table" => "set `marker_column` or ",
        _ => "",
    };
    let maps: Vec<String> = entities
        .iter()
        .map(|e| format!("[map.{connector}.{e}]"))
        .collect();
    format!(
        "{setting}name natural-key fields with `find = [...]` in {}",
        maps.join(", ")
    )
}

/// The mappings each job writes, by connector.
pub fn written(config: &Config) -> BTreeMap<&str, Vec<&Mapping>> {
    let mut pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
    for job in config.jobs.values() {
        for step in &job.steps {
            let (connectors, entity) = match step {
                Step::Push { connector, entity } => (std::slice::from_ref(connector), entity),
                Step::Sync { connectors, entity } => (connectors.as_slice(), entity),
                Step::Pull { .. } | Step::Refresh { .. } => continue,
            };
            for c in connectors {
                let mappings = config.mappings_of(c);
                for m in mappings.filter(|m| entity.as_ref().is_none_or(|e| *e == m.entity)) {
                    pairs.insert((&m.connector, &m.entity));
                }
            }
        }
    }
    let mut out: BTreeMap<&str, Vec<&Mapping>> = BTreeMap::new();
    for (connector, entity) in pairs {
        out.entry(connector)
            .or_default()
            .extend(config.mapping(connector, entity));
    }
    out
}

/// The lines (one per written connector) and the warnings.
pub fn report(config: &Config) -> (Vec<String>, Vec<String>) {
    let (mut lines, mut warnings) = (Vec::new(), Vec::new());
    for (name, mappings) in written(config) {
        let Some(c) = config.connectors.get(name) else {
            continue;
        };
        let caps = einklang_connectors::open(name, &c.kind, &c.settings, &config.base_dir)
            .map(|connector| connector.capabilities());
        let what = match caps {
            Err(e) => format!("cannot tell: {e}"),
            Ok(caps) if !caps.write => "writes nothing (it cannot write)".into(),
            Ok(caps) => {
                let guarantee =
                    Guarantee::of(&caps, marker_setting(&c.kind, &c.settings), &mappings);
                if let Guarantee::Held(entities) = &guarantee {
                    warnings.push(format!(
                        "warning: connector `{name}`: a create whose answer was lost waits for \
                         a read to settle it, and a record edited at the remote before that \
                         read may not be recognised; {}",
                        suggestion(&c.kind, name, entities)
                    ));
                }
                guarantee.describe()
            }
        };
        lines.push(format!("  {name} ({}): {what}", c.kind));
    }
    (lines, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(entity: &str, find: &[&str]) -> Mapping {
        Mapping {
            id_field: "id".into(),
            connector: "c".into(),
            entity: entity.into(),
            filter: None,
            fields: Vec::new(),
            on_delete: einklang_core::OnDelete::Delete,
            find: find.iter().map(|f| f.to_string()).collect(),
            out_of_scope: Default::default(),
            creates: Default::default(),
            mirror: Default::default(),
        }
    }

    fn caps(client_ids: bool, finds_created: bool) -> Capabilities {
        Capabilities {
            write: true,
            client_ids,
            finds_created,
            ..Capabilities::read_only()
        }
    }

    #[test]
    fn the_strongest_guarantee_that_holds_is_the_one_named() {
        let with = mapping("contact", &["email"]);
        let without = mapping("company", &[]);
        let both = [&with, &without];
        assert_eq!(
            Guarantee::of(&caps(true, true), None, &both),
            Guarantee::ClientIds
        );
        assert_eq!(
            Guarantee::of(&caps(false, true), Some("m".into()), &both),
            Guarantee::FoundByMarker(Some("m".into()))
        );
        assert_eq!(
            Guarantee::of(&caps(false, false), None, &[&with]),
            Guarantee::Find(vec![("contact".into(), vec!["email".into()])])
        );
        // one written mapping without `find` makes the connector's guarantee the weakest
        assert_eq!(
            Guarantee::of(&caps(false, false), None, &both),
            Guarantee::Held(vec!["company".into()])
        );
    }
}
