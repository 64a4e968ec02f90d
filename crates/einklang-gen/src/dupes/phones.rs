//! Phone numbers as people type them into forms and address books: a digit
//! missing or doubled, national formats with a slash or a dash, the trunk
//! 0 kept after the country code, digits run together, the country code
//! without its plus. The landlines and mobiles the generator starts from
//! are valid for their numbering plan (with `valid_ranges`); these are what
//! makes a share of them fail it.

use super::person::Phone;
use crate::rng::Rng;

/// `phone` with a digit dropped or doubled, as typed in a hurry, chosen
/// so that the numbering plan refuses it: the length of British and
/// Slovenian numbers and of German 15x mobiles is fixed (either slip
/// fails), German 16x/17x mobiles take 7 or 8 digits, so only a ninth
/// fails — except after 13 or 33, where nine digits make a voicemail
/// number, so those lose two instead. German landlines validate at
/// almost any length: theirs is a wrong number that still passes, as in
/// real exports.
pub fn misdial(rng: &mut Rng, (cc, area, number): &Phone) -> Phone {
    let mut d: Vec<char> = number.chars().collect();
    let de_1x = *cc == "49" && (area.starts_with("16") || area.starts_with("17"));
    let voicemail = de_1x && (number.starts_with("13") || number.starts_with("33"));
    let drop = voicemail || (!de_1x && rng.chance(50));
    // never the first digit: it decides the number range
    let i = 1 + rng.below(d.len() as u64 - 2) as usize;
    match (drop, voicemail) {
        (true, true) => {
            d.drain(i..i + 2);
        }
        (true, false) => {
            d.remove(i);
        }
        _ => d.insert(i, d[i]),
    }
    (cc, area, d.into_iter().collect())
}

/// `phone` written as people type it: `0152/48571090`, `01-2306745`,
/// `+49 (0)30 1234567`, `02079460018`, `44 20 7946 0018`, `0221 123-456`.
/// National forms (the trunk 0 and the area code, no country) are how
/// British and Slovenian people write their numbers too; only a country
/// field or the prefix tells the country then.
pub fn typed(rng: &mut Rng, (cc, area, number): &Phone) -> String {
    let (head, tail) = number.split_at(number.len() / 2);
    match rng.below(8) {
        0 | 1 => format!("0{area}/{number}"),
        2 => format!("0{area}-{number}"),
        3 => format!("+{cc} (0){area} {number}"),
        4 => format!("+{cc} (0) {area} {head} {tail}"),
        5 => format!("0{area}{number}"),
        6 => format!("{cc} {area} {number}"),
        _ => format!("0{area} {head}-{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::person::{landline, mobile};
    use super::super::pools::Country;
    use super::*;
    use phonenumber::country::Id;

    fn valid(country: Country, s: &str) -> bool {
        let region = match country {
            Country::De => Id::DE,
            Country::Gb => Id::GB,
            Country::Si => Id::SI,
        };
        phonenumber::parse(Some(region), s)
            .map(|n| phonenumber::is_valid(&n))
            .unwrap_or(false)
    }

    fn international((cc, area, number): &Phone) -> String {
        format!("+{cc} {area} {number}")
    }

    #[test]
    fn clean_numbers_pass_the_plan_typed_or_not_and_slips_fail_it() {
        let mut rng = Rng::new(5);
        for country in [Country::De, Country::Gb, Country::Si] {
            for _ in 0..2000 {
                let area = *rng.pick(&country.areas());
                let fixed = (
                    country.calling_code(),
                    area,
                    landline(&mut rng, country, area, true),
                );
                // German landlines validate at almost any length
                let fails = country != Country::De;
                for (p, fails) in [(fixed, fails), (mobile(&mut rng, country), true)] {
                    assert!(valid(country, &international(&p)), "{p:?}");
                    let t = typed(&mut rng, &p);
                    assert!(valid(country, &t), "{t}");
                    let bad = misdial(&mut rng, &p);
                    assert!(
                        (1..=2).contains(&bad.2.len().abs_diff(p.2.len())),
                        "{bad:?}"
                    );
                    if fails {
                        assert!(!valid(country, &international(&bad)), "{bad:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_issues_examples_fail_the_plan() {
        assert!(!valid(Country::De, "0152/4857109"));
        assert!(!valid(Country::Si, "01-23067454"));
        assert!(valid(Country::De, "+49 (0)152 48571090"));
    }
}
