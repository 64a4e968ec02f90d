//! What `check` says about lists of objects (`each`) a job writes: on a
//! connector that can fetch a record by id, an update writes the list onto
//! the record as the remote holds it (unchanged elements verbatim, elements
//! no rule selects kept); on one that cannot, the list is rebuilt from the
//! hub's values — a warning names the mapping and the list.

use einklang_config::Config;

/// One warning per written mapping with a list of objects its connector
/// cannot fetch records to write onto.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (name, mappings) in super::creates::written(config) {
        let Some(c) = config.connectors.get(name) else {
            continue;
        };
        let Ok(caps) = einklang_connectors::open(name, &c.kind, &c.settings, &config.base_dir)
            .map(|connector| connector.capabilities())
        else {
            continue;
        };
        if !caps.write || caps.fetch {
            continue;
        }
        for m in mappings {
            let lists: Vec<&str> = m.pushed_lists().map(|(path, _, _)| path).collect();
            if lists.is_empty() {
                continue;
            }
            let fix = match c.kind.as_str() {
                "http" | "graphql" => "; give the connector a `get` request to keep them",
                _ => "",
            };
            out.push(format!(
                "warning: [map.{name}.{}]: connector `{name}` cannot fetch a record before an update, so `{}` is rebuilt from the hub's values: elements no rule selects are dropped and the others lose what they held beyond their value{fix}",
                m.entity,
                lists.join("`, `")
            ));
        }
    }
    out
}
