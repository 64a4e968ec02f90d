//! Phone numbers to E.164, through the `phonenumber` crate (Google's
//! libphonenumber metadata).
//!
//! The crate's full parse plus validity check costs ~8 µs a number, most of
//! a pull's time. [`e164`] first tries a fast path for the common shapes
//! (`+49 30 1234567`, `0049 …`, `030/1234567`, `(030) 123 45 67`): strip
//! the punctuation, take the country code from `+`/`00` or the region's
//! trunk `0` (for home regions whose trunk prefix is a plain `0`; for codes
//! several regions share, the region the crate would pick), and accept the number only when it matches the country's
//! general pattern *and* its fixed-line or mobile pattern — which implies
//! that the crate's own `is_valid` holds. Everything else, including every
//! number the fast path would reject, goes through the full parser, so the
//! answer is always the crate's (a property test checks the two agree).
//!
//! The crate's patterns sit behind one process-wide, mutex-guarded regex
//! cache that hashes the (long) pattern text on every match; with several
//! workers that lock is contended. The fast path therefore compiles each
//! pattern it uses once per thread ([`matches_at_start`]), keyed by the
//! address of the pattern text in the crate's static metadata.

use phonenumber::metadata::{Metadata, DATABASE};

/// A phone number in E.164, reading numbers without a country code in
/// `region` (ISO 3166 alpha-2).
pub(crate) fn e164(s: &str, region: &str) -> Result<String, String> {
    match fast(s, region) {
        Some(e) => Ok(e),
        None => full(s, region),
    }
}

/// The crate's parser and validity check.
pub(crate) fn full(s: &str, region: &str) -> Result<String, String> {
    let id: phonenumber::country::Id = region
        .trim()
        .to_uppercase()
        .parse()
        .map_err(|_| format!("unknown phone region `{region}`"))?;
    let number = phonenumber::parse(Some(id), s.trim())
        .map_err(|_| format!("'{}' is not a phone number", s.trim()))?;
    if !phonenumber::is_valid(&number) {
        return Err(format!("'{}' is not a valid phone number", s.trim()));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// A number the numbering plan does not take (`0152/4857109` with a digit
/// missing, `06/4993877`), as people type them, in E.164 form all the same:
/// the country code from `+`/`00` or `region`, the trunk `0` (also a
/// `(0)` after the country code) dropped, at least six national digits.
/// For comparing only — two spellings of one such number meet, a write
/// never uses it. `None` when the crate cannot read it at all.
pub(crate) fn loose(s: &str, region: &str) -> Option<String> {
    let id: phonenumber::country::Id = region.trim().to_uppercase().parse().ok()?;
    let cleaned = s.trim().replace("(0)", "");
    let number = phonenumber::parse(Some(id), cleaned.trim()).ok()?;
    let national = number.national().value().to_string();
    (national.len() >= 6).then(|| format!("+{}{national}", number.code().value()))
}

/// `Some(e164)` when the number is certainly valid; `None`: ask [`full`].
pub(crate) fn fast(s: &str, region: &str) -> Option<String> {
    let mut digits = String::with_capacity(s.len());
    for (i, c) in s.trim().char_indices() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => digits.push(c),
            ' ' | '/' | '-' | '(' | ')' | '.' => {}
            _ => return None,
        }
    }
    let home = DATABASE.by_id(region)?;
    // Regions whose trunk prefix is not a plain `0` (US: `1`) make the crate
    // read numbers in ways this path does not imitate.
    if home.national_prefix() != Some("0") || home.national_prefix_for_parsing().is_some() {
        return None;
    }
    if let Some(rest) = digits.strip_prefix('+') {
        international(rest)
    } else if let Some(rest) = digits.strip_prefix("00") {
        let dials_00 = home
            .international_prefix()
            .and_then(|p| p.find("00"))
            .is_some_and(|m| m.start() == 0 && m.end() == 2);
        dials_00.then(|| international(rest))?
    } else if let Some(national) = digits.strip_prefix('0') {
        certainly_valid(home, national).then(|| format!("+{}{national}", home.country_code()))
    } else {
        None
    }
}

fn international(rest: &str) -> Option<String> {
    for len in 1..=3.min(rest.len()) {
        let Ok(code) = rest[..len].parse::<u16>() else {
            continue;
        };
        let Some(regions) = DATABASE.region(&code) else {
            continue;
        };
        let national = &rest[len..];
        // The crate's choice of region for codes several regions share (+44:
        // GB, GG, IM, JE): the first whose leading digits match, or the first
        // without leading digits for which the number has a type.
        for id in regions {
            let meta = DATABASE.by_id(id)?;
            match meta.leading_digits() {
                Some(lead) if matches_at_start(lead.as_str(), national) => {
                    return certainly_valid(meta, national).then(|| format!("+{code}{national}"));
                }
                Some(_) => continue,
                None => {
                    return certainly_valid(meta, national).then(|| format!("+{code}{national}"))
                }
            }
        }
        return None;
    }
    None
}

fn certainly_valid(meta: &Metadata, national: &str) -> bool {
    let d = meta.descriptors();
    !national.is_empty()
        && descriptor_matches(d.general(), national)
        && (d
            .fixed_line()
            .is_some_and(|f| descriptor_matches(f, national))
            || d.mobile().is_some_and(|m| descriptor_matches(m, national)))
}

/// [`Descriptor::is_match`](phonenumber::metadata::Descriptor::is_match)
/// with this thread's compiled pattern.
fn descriptor_matches(d: &phonenumber::metadata::Descriptor, national: &str) -> bool {
    let lengths = d.possible_length();
    (lengths.is_empty() || lengths.contains(&(national.len() as u16)))
        && matches_at_start(d.national_number().as_str(), national)
}

/// Does `pattern` match at the start of `text`, as the crate's own
/// `find(..).start() == 0` checks (same answer, anchored)? Only for patterns of the crate's
/// metadata, which lives for the whole process: the cache is keyed by the
/// pattern text's address and length.
fn matches_at_start(pattern: &str, text: &str) -> bool {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static COMPILED: RefCell<HashMap<(usize, usize), Option<regex::Regex>>> = RefCell::new(HashMap::new());
    }
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        let re = cache
            .entry((pattern.as_ptr() as usize, pattern.len()))
            .or_insert_with(|| {
                // as the crate builds its patterns, but anchored: the
                // leftmost match starts at 0 exactly when a match does, and
                // an anchored search gives up at the first position
                regex::RegexBuilder::new(&format!("^(?:{pattern})"))
                    .ignore_whitespace(true)
                    .build()
                    .ok()
            });
        re.as_ref().is_some_and(|re| re.is_match(text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_shapes_take_the_fast_path() {
        for s in [
            "+49 30 1234567",
            "0049 30 1234567",
            "030/1234567",
            "(030) 123 45 67",
            "+386 41 123 456",
            "0171 2345678",
        ] {
            assert!(fast(s, "DE").is_some(), "{s}");
        }
        assert_eq!(
            fast("+49 (0)30 1234567", "DE"),
            None,
            "left to the full parser"
        );
        assert_eq!(
            e164("+49 (0)30 1234567", "DE"),
            full("+49 (0)30 1234567", "DE")
        );
    }

    proptest! {
        #[test]
        fn the_anchored_match_answers_as_the_crates_find(
            region in prop::sample::select(vec!["DE", "SI", "GB", "AT", "US", "NL"]),
            national in "[0-9]{4,12}",
        ) {
            let meta = DATABASE.by_id(region).unwrap();
            let d = meta.descriptors();
            for desc in [Some(d.general()), d.fixed_line(), d.mobile()].into_iter().flatten() {
                let pattern = desc.national_number().as_str();
                let re = regex::RegexBuilder::new(pattern).ignore_whitespace(true).build().unwrap();
                let crate_says = re.find(&national).is_some_and(|m| m.start() == 0);
                prop_assert_eq!(matches_at_start(pattern, &national), crate_says, "{} {}", pattern, national);
            }
        }

        #[test]
        fn fast_path_agrees_with_the_crate(
            prefix in prop::sample::select(vec!["+49 ", "0049 ", "0", "+386 ", "00386 ", "+44 ", "+1 ", "+43 ", "", "+"]),
            area in prop::sample::select(vec!["30", "89", "151", "171", "41", "1", "20", "7912", "212", "6991", "800"]),
            number in "[0-9]{3,9}",
            region in prop::sample::select(vec!["DE", "SI", "GB", "AT", "US"]),
        ) {
            let s = format!("{prefix}{area} {number}");
            if let Some(quick) = fast(&s, region) {
                prop_assert_eq!(Ok(quick), full(&s, region), "{}", s);
            }
        }
    }
}
