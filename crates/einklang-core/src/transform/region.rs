//! The phone region of one record (`phone = { from = "tel", region_from =
//! "country" }`): a field of the record names the country, as an ISO 3166
//! code (`AT`, `AUT`), a car code (`D`, `A`, `CH`) or a name in English,
//! German or the country's own language (`Austria`, `Österreich`, case,
//! accents and surrounding space ignored). Anything else — an empty field,
//! `Narnia` — leaves the rule's default region in force.

use crate::identity::normalise::fold;
use crate::record::Value;

/// Alternative spellings of countries (folded: lower case, `ä` → `ae`,
/// accents dropped) with their ISO 3166 alpha-2 code.
const NAMES: &[(&str, &str)] = &[
    // German-speaking countries and their neighbours first: the seeds' own
    ("d", "DE"),
    ("deu", "DE"),
    ("germany", "DE"),
    ("deutschland", "DE"),
    ("bundesrepublik deutschland", "DE"),
    ("brd", "DE"),
    ("a", "AT"),
    ("aut", "AT"),
    ("austria", "AT"),
    ("oesterreich", "AT"),
    ("osterreich", "AT"),
    ("che", "CH"),
    ("switzerland", "CH"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("svizzera", "CH"),
    ("li", "LI"),
    ("lie", "LI"),
    ("liechtenstein", "LI"),
    ("slo", "SI"),
    ("svn", "SI"),
    ("slovenia", "SI"),
    ("slowenien", "SI"),
    ("slovenija", "SI"),
    ("hrv", "HR"),
    ("croatia", "HR"),
    ("kroatien", "HR"),
    ("hrvatska", "HR"),
    ("i", "IT"),
    ("ita", "IT"),
    ("italy", "IT"),
    ("italien", "IT"),
    ("italia", "IT"),
    ("f", "FR"),
    ("fra", "FR"),
    ("france", "FR"),
    ("frankreich", "FR"),
    ("e", "ES"),
    ("esp", "ES"),
    ("spain", "ES"),
    ("spanien", "ES"),
    ("espana", "ES"),
    ("p", "PT"),
    ("prt", "PT"),
    ("portugal", "PT"),
    ("nl", "NL"),
    ("nld", "NL"),
    ("netherlands", "NL"),
    ("the netherlands", "NL"),
    ("niederlande", "NL"),
    ("holland", "NL"),
    ("nederland", "NL"),
    ("b", "BE"),
    ("bel", "BE"),
    ("belgium", "BE"),
    ("belgien", "BE"),
    ("belgique", "BE"),
    ("belgie", "BE"),
    ("l", "LU"),
    ("lux", "LU"),
    ("luxembourg", "LU"),
    ("luxemburg", "LU"),
    ("dk", "DK"),
    ("dnk", "DK"),
    ("denmark", "DK"),
    ("daenemark", "DK"),
    ("danmark", "DK"),
    ("swe", "SE"),
    ("sweden", "SE"),
    ("schweden", "SE"),
    ("sverige", "SE"),
    ("nor", "NO"),
    ("norway", "NO"),
    ("norwegen", "NO"),
    ("norge", "NO"),
    ("fin", "FI"),
    ("finland", "FI"),
    ("finnland", "FI"),
    ("suomi", "FI"),
    ("pol", "PL"),
    ("poland", "PL"),
    ("polen", "PL"),
    ("polska", "PL"),
    ("cze", "CZ"),
    ("czechia", "CZ"),
    ("czech republic", "CZ"),
    ("tschechien", "CZ"),
    ("cesko", "CZ"),
    ("svk", "SK"),
    ("slovakia", "SK"),
    ("slowakei", "SK"),
    ("slovensko", "SK"),
    ("hun", "HU"),
    ("hungary", "HU"),
    ("ungarn", "HU"),
    ("magyarorszag", "HU"),
    ("grc", "GR"),
    ("greece", "GR"),
    ("griechenland", "GR"),
    ("irl", "IE"),
    ("ireland", "IE"),
    ("irland", "IE"),
    ("uk", "GB"),
    ("gbr", "GB"),
    ("united kingdom", "GB"),
    ("great britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("grossbritannien", "GB"),
    ("vereinigtes koenigreich", "GB"),
    ("usa", "US"),
    ("united states", "US"),
    ("united states of america", "US"),
    ("vereinigte staaten", "US"),
    ("can", "CA"),
    ("canada", "CA"),
    ("kanada", "CA"),
    ("tur", "TR"),
    ("turkey", "TR"),
    ("tuerkei", "TR"),
    ("turkiye", "TR"),
    ("srb", "RS"),
    ("serbia", "RS"),
    ("serbien", "RS"),
    ("srbija", "RS"),
    ("bih", "BA"),
    ("bosnia and herzegovina", "BA"),
    ("bosnien und herzegowina", "BA"),
    ("rou", "RO"),
    ("romania", "RO"),
    ("rumaenien", "RO"),
    ("bgr", "BG"),
    ("bulgaria", "BG"),
    ("bulgarien", "BG"),
    ("rus", "RU"),
    ("russia", "RU"),
    ("russland", "RU"),
    ("ukr", "UA"),
    ("ukraine", "UA"),
    ("aus", "AU"),
    ("australia", "AU"),
    ("australien", "AU"),
];

/// The ISO 3166 alpha-2 region a country field's value names, if any.
pub(crate) fn region_of(v: &Value) -> Option<String> {
    let text = v.as_str()?.trim();
    if text.len() == 2 && text.chars().all(|c| c.is_ascii_alphabetic()) {
        let code = text.to_ascii_uppercase();
        let code = if code == "UK" { "GB".to_string() } else { code };
        if code.parse::<phonenumber::country::Id>().is_ok() {
            return Some(code);
        }
    }
    let folded = fold(text).split_whitespace().collect::<Vec<_>>().join(" ");
    let folded = folded.trim_end_matches('.');
    NAMES
        .iter()
        .find(|(name, _)| *name == folded)
        .map(|(_, code)| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_and_names_in_several_languages_name_a_region() {
        for (given, region) in [
            ("AT", "AT"),
            ("at", "AT"),
            (" si ", "SI"),
            ("UK", "GB"),
            ("AUT", "AT"),
            ("Österreich", "AT"),
            ("OESTERREICH", "AT"),
            ("Austria", "AT"),
            ("Deutschland", "DE"),
            ("D", "DE"),
            ("Slovenija", "SI"),
            ("  Schweiz ", "CH"),
            ("United  Kingdom", "GB"),
            ("España", "ES"),
        ] {
            assert_eq!(region_of(&json!(given)).as_deref(), Some(region), "{given}");
        }
    }

    #[test]
    fn anything_else_names_no_region() {
        for v in [
            json!(""),
            json!("Narnia"),
            json!("XX"),
            json!(49),
            json!(null),
        ] {
            assert_eq!(region_of(&v), None, "{v}");
        }
    }

    #[test]
    fn every_name_maps_to_a_region_the_phone_metadata_knows() {
        for (name, code) in NAMES {
            assert_eq!(fold(name), *name, "{name} is written folded");
            assert!(code.parse::<phonenumber::country::Id>().is_ok(), "{code}");
        }
    }
}
