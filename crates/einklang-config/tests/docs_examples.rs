//! The TOML examples of docs/CONFIG.md's "Raw fields by connector kind"
//! section load: each block, with the entities its mappings name and a
//! connector for each mapping that has none in the block, is a config that
//! `load_str_with` accepts, connector settings checked. A doc example that
//! stops parsing fails here.

use std::collections::BTreeMap;
use std::path::Path;

const SECTION: &str = "## Raw fields by connector kind";

fn settings(kind: &str, s: &einklang_connectors::Settings) -> Vec<(Option<String>, String)> {
    einklang_connectors::validate_settings(kind, s)
        .into_iter()
        .map(|p| (p.key, p.message))
        .collect()
}

/// The ```toml blocks of the section (up to the next `## ` heading).
fn blocks() -> Vec<String> {
    blocks_of(SECTION, "\n## ")
}

/// The ```toml blocks from heading `section` up to the next `end`.
fn blocks_of(section: &str, end: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIG.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(section).expect("the section is in docs/CONFIG.md");
    let rest = &doc[start + section.len()..];
    let section = &rest[..rest.find(end).unwrap_or(rest.len())];
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```toml block");
    out
}

/// The type an example's entity field gets (by its name).
fn field_type(field: &str) -> &'static str {
    match field {
        "emails" => "emails",
        "phones" | "mobiles" => "phones",
        "addresses" => "addresses",
        "email" => "email",
        "mobile" => "phone",
        "birthday" => "date",
        "delivery" | "collect" => "datetime",
        _ => "text",
    }
}

/// The block with the entities and connectors it needs.
fn completed(block: &str) -> String {
    let table: toml::Table = block.parse().unwrap_or_else(|e| panic!("{e}\n{block}"));
    let connectors = table.get("connectors").and_then(|c| c.as_table());
    let mut entities: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut extra = String::new();
    let maps = table.get("map").and_then(|m| m.as_table());
    for (connector, by_entity) in maps.into_iter().flatten() {
        if !connectors.is_some_and(|c| c.contains_key(connector)) {
            extra.push_str(&format!(
                "[connectors.{connector}]\nkind = \"jsonl\"\npath = \"{connector}.jsonl\"\n\n"
            ));
        }
        for (entity, mapping) in by_entity.as_table().unwrap() {
            let fields = entities.entry(entity.clone()).or_default();
            let names = mapping.get("fields").and_then(|f| f.as_table());
            fields.extend(names.into_iter().flatten().map(|(k, _)| k.clone()));
        }
    }
    assert!(!entities.is_empty(), "a block without a mapping:\n{block}");
    for (entity, fields) in entities {
        extra.push_str(&format!("[entities.{entity}]\n"));
        for f in fields {
            extra.push_str(&format!("{f} = \"{}\"\n", field_type(&f)));
        }
        extra.push('\n');
    }
    format!("{extra}{block}")
}

fn env(var: &str) -> Option<String> {
    if var.ends_with("API_KEY") {
        // base64, as `signed_token` checks Advoware's API key to be
        return Some("dmFsdWUtb2YtYS1rZXk=".into());
    }
    Some(format!("value-of-{var}"))
}

#[test]
fn every_mapping_example_of_the_raw_fields_section_loads() {
    let blocks = blocks();
    assert!(blocks.len() >= 7, "found only {} blocks", blocks.len());
    for block in blocks {
        let config = completed(&block);
        if let Err(e) =
            einklang_config::load_str_with(&config, Path::new("einklang.toml"), &env, &settings)
        {
            panic!("a docs example does not load:\n{e}\n---\n{config}");
        }
    }
}

#[test]
fn the_change_feed_examples_are_accepted_connector_settings() {
    let blocks = blocks_of("#### Change feeds", "\n### ");
    assert_eq!(blocks.len(), 2, "EspoCRM and Microsoft Graph");
    for block in blocks {
        let table: toml::Table = block.parse().unwrap_or_else(|e| panic!("{e}\n{block}"));
        let connectors = table["connectors"].as_table().unwrap();
        for (name, c) in connectors {
            let json = serde_json::to_value(c).unwrap();
            let mut s: einklang_connectors::Settings = json
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let kind = s.remove("kind").unwrap();
            let problems = settings(kind.as_str().unwrap(), &s);
            assert!(problems.is_empty(), "{name}: {problems:?}");
        }
    }
}
