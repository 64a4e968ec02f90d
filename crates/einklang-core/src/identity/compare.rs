//! Comparing one field of two records: the agreement level that the
//! match model weighs. Values are normalised first ([`super::normalise`]);
//! a missing or placeholder value on either side is [`Level::Missing`] and
//! counts neither for nor against a match. List fields (e-mails, phones)
//! agree when any element agrees.

use super::normalise;
use super::phonetic::koelner;
use crate::record::{Fields, Value};
use serde::{Deserialize, Serialize};
use strsim::jaro_winkler;

/// How a field is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// E-mail addresses: exact after trimming and lower case.
    Email,
    /// Phone numbers: exact as E.164; the same number but the last two
    /// digits (a company's switchboard) is close.
    Phone,
    /// Person names: exact when folded equal; close by Jaro-Winkler ≥ 0.92,
    /// the same Kölner Phonetik code, initials (`G.` ~ `Glen`), one edit in
    /// a short name (`Dean` ~ `Dwan`) or a given-name variant
    /// (`Hans` ~ `Johannes`, see [`super::names`]).
    Name,
    /// Company names without legal forms: exact, or close by token overlap
    /// (Jaccard ≥ 0.5).
    Company,
    /// Street and house number: exact in normal form, close by
    /// Jaro-Winkler ≥ 0.9.
    Street,
    /// Postcodes: exact.
    Postcode,
    /// Any other text: exact when folded equal, close by Jaro-Winkler ≥ 0.9.
    Text,
    /// Dates (a birthday): exact, close when one digit differs or day and
    /// month are swapped; different dates are strong evidence against.
    Date,
}

/// How two values of a field agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Equal after normalisation.
    Exact,
    /// Not equal but alike (a typo, a transliteration, a variant).
    Close,
    /// Different.
    Different,
    /// Missing or a placeholder on either side: no evidence.
    Missing,
}

impl Level {
    /// Index of an evidence level (Exact 0, Close 1, Different 2).
    pub fn index(self) -> Option<usize> {
        match self {
            Level::Exact => Some(0),
            Level::Close => Some(1),
            Level::Different => Some(2),
            Level::Missing => None,
        }
    }
}

/// The normalised forms of a value for a kind (one per list element;
/// flags by their raw value).
pub fn forms(kind: Kind, value: Option<&Value>, region: &str) -> Vec<String> {
    let texts: Vec<String> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
        Some(v) => text(v).into_iter().collect(),
    };
    texts
        .iter()
        .filter_map(|t| match kind {
            Kind::Email => normalise::email(t),
            Kind::Phone => normalise::phone(t, region).or_else(|| normalise::phone_digits(t)),
            Kind::Name => normalise::name(t),
            Kind::Company => normalise::company(t),
            Kind::Street => normalise::street(t),
            Kind::Postcode => normalise::postcode(t),
            Kind::Text => (!normalise::is_placeholder(t)).then(|| normalise::words(t).join(" ")),
            Kind::Date => {
                let d: String = t.chars().filter(char::is_ascii_digit).collect();
                (d.len() == 8 && !normalise::is_placeholder(t)).then_some(d)
            }
        })
        .filter(|f| !f.is_empty())
        .collect()
}

/// The text of a value to compare; a flag's raw text (a flagged phone
/// number is compared by its digits, see [`normalise::phone_digits`]).
fn text(v: &Value) -> Option<String> {
    if let Some(f) = crate::transform::flag::flagged(v) {
        return text(f.raw);
    }
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("street").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// The level of two values' normalised forms.
pub fn level_of(kind: Kind, a: &[String], b: &[String]) -> Level {
    level_in(
        kind,
        a.iter().map(String::as_str),
        b.iter().map(String::as_str),
    )
}

/// [`level_of`] over forms however they are stored.
pub fn level_in<'a, 'b>(
    kind: Kind,
    a: impl Iterator<Item = &'a str> + Clone,
    b: impl Iterator<Item = &'b str> + Clone,
) -> Level {
    if a.clone().next().is_none() || b.clone().next().is_none() {
        return Level::Missing;
    }
    if a.clone().any(|x| b.clone().any(|y| x == y)) {
        return Level::Exact;
    }
    if a.clone().any(|x| b.clone().any(|y| alike(kind, x, y))) {
        Level::Close
    } else {
        Level::Different
    }
}

/// Compare field `field` of two records.
pub fn level(kind: Kind, field: &str, a: &Fields, b: &Fields, region: &str) -> Level {
    level_of(
        kind,
        &forms(kind, a.get(field), region),
        &forms(kind, b.get(field), region),
    )
}

fn alike(kind: Kind, x: &str, y: &str) -> bool {
    match kind {
        Kind::Email | Kind::Postcode => false,
        Kind::Phone => x.len() > 6 && y.len() == x.len() && x[..x.len() - 2] == y[..y.len() - 2],
        Kind::Name => {
            (jaro_winkler_at_least(x, y, 0.92) && few_edits(x, y))
                || same_sounds(x, y)
                || super::names::alike(x, y)
        }
        Kind::Company => jaccard(x, y) >= 0.5,
        Kind::Street => jaro_winkler_at_least(x, y, 0.9) && same_numbers(x, y),
        Kind::Text => jaro_winkler_at_least(x, y, 0.9),
        Kind::Date => {
            let one_off =
                x.len() == y.len() && x.chars().zip(y.chars()).filter(|(a, b)| a != b).count() == 1;
            // YYYYMMDD with day and month swapped
            let swapped = x.len() == 8
                && y.len() == 8
                && x[..4] == y[..4]
                && x[4..6] == y[6..8]
                && x[6..8] == y[4..6];
            one_off || swapped
        }
    }
}

/// Names that compare different and are not even near: no two of their
/// forms reach Jaro–Winkler [`NEAR_NAMES`]. Two slips in one name
/// (`frank`/`rfsnk`), or a nickname outside the table (`stefanie`/`steffi`),
/// compare different but are still near.
pub fn unlike_names<'a, 'b>(
    a: impl Iterator<Item = &'a str> + Clone,
    b: impl Iterator<Item = &'b str>,
) -> bool {
    b.into_iter()
        .all(|y| a.clone().all(|x| !jaro_winkler_at_least(x, y, NEAR_NAMES)))
}

/// See [`unlike_names`]: the lowest band of the usual name comparisons
/// (Splink's `jaro_winkler_at_thresholds(…, [0.9, 0.7])`, Winkler's own
/// 0.7 boost threshold). Names below it share little more than chance
/// letters (`dirk`/`daniel`, `uwe`/`heike`).
pub const NEAR_NAMES: f64 = 0.7;

/// `jaro_winkler(x, y) >= t`, answered without computing it when a
/// bound says no: Jaro's matching characters are at most the letters the
/// two share, so `(m/|x| + m/|y| + 1) / 3` bounds it from above (for
/// ASCII, which the name and street forms nearly always are).
fn jaro_winkler_at_least(x: &str, y: &str, t: f64) -> bool {
    if x.is_ascii() && y.is_ascii() {
        let mut counts = [0u16; 128];
        for b in x.bytes() {
            counts[b as usize] += 1;
        }
        let mut shared = 0usize;
        for b in y.bytes() {
            if counts[b as usize] > 0 {
                counts[b as usize] -= 1;
                shared += 1;
            }
        }
        let m = shared as f64;
        let jaro = (m / x.len() as f64 + m / y.len() as f64 + 1.0) / 3.0;
        let prefix = x
            .bytes()
            .zip(y.bytes())
            .take(4)
            .take_while(|(a, b)| a == b)
            .count();
        let bound = match jaro > 0.7 {
            true => jaro + 0.1 * prefix as f64 * (1.0 - jaro),
            false => jaro,
        };
        if shared == 0 || bound + 1e-9 < t {
            return false;
        }
    }
    jaro_winkler(x, y) >= t
}

/// A slip, not another name: one edit (Damerau–Levenshtein, so a swap
/// of two letters is one; two slips in one name are near, not close —
/// [`unlike_names`]). Jaro–Winkler rewards a shared beginning, so names
/// built on one stem — `weißle`/`weißner`, `mlakar`/`mlakaršek`,
/// `müllerdorf`/`müllerhoff`, a Slovene surname and its feminine form —
/// reach 0.92 while being different names; typing slips (`boštjan`/
/// `boštjaan`, `schmidt`/`schmitt`) are one or two edits. (Splink's
/// name comparisons pair the Jaro–Winkler levels with Damerau–Levenshtein
/// ones for the same reason.)
fn few_edits(x: &str, y: &str) -> bool {
    strsim::damerau_levenshtein(x, y) <= 1
}

/// Two street forms name the same house numbers, or one names none:
/// `gartenstr 218` and `gartenstr 48` are two houses — neighbours, not one
/// address mistyped — however alike the rest reads.
fn same_numbers(x: &str, y: &str) -> bool {
    let (a, b) = (house_numbers(x), house_numbers(y));
    a.is_empty() || b.is_empty() || a == b
}

/// The words of a street form that begin with a digit, sorted.
fn house_numbers(street: &str) -> Vec<&str> {
    let mut n: Vec<&str> = street
        .split(' ')
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    n.sort_unstable();
    n
}

/// Same Kölner Phonetik code word for word (in either order), and a
/// word that begins with a vowel begins with the same one. Kölner
/// Phonetik drops vowels, which is right inside a name (`Meier`/`Mayer`,
/// `Carl`/`Karl`, `Philipp`/`Filip`) but at its start makes different
/// given names alike — `Emily`/`Amelia` and `Alfie`/`Olivia` are `065`
/// and `053` each — as Soundex avoids by keeping the first letter.
fn same_sounds(x: &str, y: &str) -> bool {
    let (cx, cy) = (sounds(x), sounds(y));
    !cx.is_empty() && cx == cy
}

/// The sorted Kölner codes of a name's words, remembered per thread (a
/// few thousand names come up again and again in a pass).
fn sounds(s: &str) -> std::rc::Rc<[String]> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    thread_local! {
        static SOUNDS: RefCell<HashMap<String, Rc<[String]>>> = RefCell::new(HashMap::new());
    }
    SOUNDS.with(|memo| {
        if let Some(c) = memo.borrow().get(s) {
            return c.clone();
        }
        let mut codes: Vec<String> = s
            .split(' ')
            .filter_map(|w| {
                let code = koelner(w);
                let first = w.chars().next()?;
                match (code.is_empty(), "aeiouy".contains(first)) {
                    (true, _) => None,
                    (false, true) => Some(format!("{first}{code}")),
                    (false, false) => Some(code),
                }
            })
            .collect();
        codes.sort();
        let codes: Rc<[String]> = codes.into();
        let mut memo = memo.borrow_mut();
        if memo.len() >= 100_000 {
            memo.clear();
        }
        memo.insert(s.to_string(), codes.clone());
        codes
    })
}

/// Token overlap of two texts.
pub fn jaccard(x: &str, y: &str) -> f64 {
    let a: std::collections::BTreeSet<&str> = x.split(' ').collect();
    let b: std::collections::BTreeSet<&str> = y.split(' ').collect();
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn names_below_the_lowest_band_are_unlike() {
        let unlike = |x: &str, y: &str| super::unlike_names([x].into_iter(), [y].into_iter());
        assert!(unlike("dirk", "daniel"));
        assert!(unlike("uwe", "heike"));
        assert!(!unlike("frank", "rfsnk"), "two slips");
        assert!(
            !unlike("stefanie", "steffi"),
            "a nickname outside the table"
        );
        // any two forms near each other are enough
        assert!(!super::unlike_names(
            ["uwe", "frank"].into_iter(),
            ["franz"].into_iter()
        ));
    }

    #[test]
    fn names_on_one_stem_are_different_names_and_slips_stay_close() {
        use super::{level_in, Kind, Level};
        let name = |x: &str, y: &str| {
            let (x, y) = (
                crate::identity::normalise::name(x).unwrap(),
                crate::identity::normalise::name(y).unwrap(),
            );
            level_in(
                Kind::Name,
                [x.as_str()].into_iter(),
                [y.as_str()].into_iter(),
            )
        };
        for (x, y) in [
            ("Weißle", "Weißner"),
            ("Mlakar", "Mlakaršek"),
            ("Müllerdorf", "Müllerhoff"),
            ("Jerman", "Jermanica"),
            ("Medvedica", "Medvedar"),
        ] {
            assert_eq!(name(x, y), Level::Different, "{x}/{y}");
        }
        for (x, y) in [("Emily", "Amelia"), ("Alfie", "Olivia")] {
            assert_eq!(name(x, y), Level::Different, "{x}/{y}: other vowels first");
        }
        for (x, y) in [
            ("Meier", "Mayer"),
            ("Carl", "Karl"),
            ("Philipp", "Filip"),
            ("Boštjan", "Boštjaan"),
            ("Schmidt", "Schmitt"),
            ("Katharina", "Kathraina"),
            ("Alexandra", "Aleksandra"),
        ] {
            assert_eq!(name(x, y), Level::Close, "{x}/{y}");
        }
    }

    #[test]
    fn neighbours_on_one_street_are_two_addresses() {
        use super::{level_in, Kind, Level};
        let street = |x: &str, y: &str| {
            let (x, y) = (
                crate::identity::normalise::street(x).unwrap(),
                crate::identity::normalise::street(y).unwrap(),
            );
            level_in(
                Kind::Street,
                [x.as_str()].into_iter(),
                [y.as_str()].into_iter(),
            )
        };
        assert_eq!(
            street("Gartenstraße 218", "Gartenstraße 48"),
            Level::Different
        );
        assert_eq!(
            street("Trubarjeva cesta 235", "Trubarjeva pot 235"),
            Level::Close
        );
        assert_eq!(
            street("Gartenstraße 21a", "Gartenstrasse 21 a"),
            Level::Exact
        );
        assert_eq!(
            street("Gartenstraße 218", "Gartnestraße 218"),
            Level::Close,
            "a slip"
        );
        assert_eq!(
            street("Gartenstraße", "Gartenstrase 12"),
            Level::Close,
            "no number on one"
        );
    }

    proptest! {
        /// The bound only ever skips what Jaro-Winkler would reject.
        #[test]
        fn the_bound_agrees_with_jaro_winkler(x in "[a-e ]{1,12}", y in "[a-eä ]{1,12}", t in 0.5f64..1.0) {
            prop_assert_eq!(super::jaro_winkler_at_least(&x, &y, t), strsim::jaro_winkler(&x, &y) >= t);
        }
    }
}
