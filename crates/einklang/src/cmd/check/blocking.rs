//! What `check` says about matching's blocking: a `[matching.E]` whose
//! candidate pairs come from the phonetic name key alone (a bare
//! `{ phonetic = … }`, written or the default for an entity that compares
//! no postcode, street or birthday) pairs every record of a common name
//! with every other, up to `max_block` records a key — measured at 172
//! million candidate pairs for a million generated contacts
//! (bench/RESULTS.md) — a warning names the section and the narrowing.

use einklang_config::Config;
use einklang_core::identity::block::Rule;

/// One warning per matching section that blocks by a name key alone.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (entity, m) in &config.matching {
        let Some(Rule::Phonetic { first, last }) =
            m.block.iter().find(|r| matches!(r, Rule::Phonetic { .. }))
        else {
            continue;
        };
        out.push(format!(
            "warning: [matching.{entity}] pairs records by the name key alone (`{{ phonetic = [\"{first}\", \"{last}\"] }}`): every record of a common name is scored against every other, up to max_block = {} of them — on a hub of a million contacts about 170 million pairs; narrow it, e.g. `{{ all = [{{ phonetic = [\"{first}\", \"{last}\"] }}, {{ field = \"postcode\", kind = \"postcode\" }}] }}` in `block`, or compare a postcode, street or birthday so the default does",
            m.max_block
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn warnings_of(matching: &str) -> Vec<String> {
        let text = format!(
            "[entities.contact]\nfirst = \"text\"\nlast = \"text\"\nzip = \"text\"\n\n[matching.contact]\n{matching}\n"
        );
        let config = einklang_config::load_str(&text, Path::new("einklang.toml"), &|_| None)
            .expect("config");
        super::warnings(&config)
    }

    #[test]
    fn a_name_key_alone_is_warned_of_and_a_narrowed_one_is_not() {
        let names =
            r#"compare = [{ field = "first", kind = "name" }, { field = "last", kind = "name" }]"#;
        // the default for names without a postcode, street or birthday
        let w = warnings_of(names);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("[matching.contact] pairs records by the name key alone"));
        // written so
        let w = warnings_of(&format!(
            "{names}\nblock = [{{ phonetic = [\"first\", \"last\"] }}]"
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        // narrowed: by default through a compared postcode, or in `block`
        let zip = r#"compare = [{ field = "first", kind = "name" }, { field = "last", kind = "name" }, { field = "zip", kind = "postcode" }]"#;
        assert!(warnings_of(zip).is_empty());
        let all = format!(
            "{names}\nblock = [{{ all = [{{ phonetic = [\"first\", \"last\"] }}, {{ field = \"zip\", kind = \"postcode\" }}] }}]"
        );
        assert!(warnings_of(&all).is_empty());
    }
}
