//! `einklang-gen dupes`: contacts with known duplicates, for bench/dedup.
//! About 15 % of the rows are second or third records of a person (typos,
//! swapped first and last name, umlauts written out, other phone formats,
//! missing fields, the private instead of the work address, company
//! legal-form variants, street abbreviations, e-mail case), spread through
//! the file as they arrive from different systems. About a third of the
//! people work at a company and share its name, address, mail domain and
//! phone switchboard with their colleagues — the hard case that chains
//! whole companies when correlated fields count as independent evidence —
//! and a few private people share family name, address and landline with
//! a housemate. The `cluster` column is the ground truth.
//!
//! The pools ([`pools`]) are large enough that different people rarely
//! share name and address at 1M rows. Output is streamed: memory holds only
//! the duplicates not yet due.

mod person;
mod pools;

use crate::people::{ascii, iso_date, write_phone};
use crate::rng::Rng;
use person::{Company, Person};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

/// The CSV header.
pub const HEADER: &str =
    "id,cluster,first_name,last_name,email,phone,company,street,postcode,city,date_of_birth";

/// Contacts per company on average.
const PER_COMPANY: u64 = 4;

/// Write `count` rows.
pub fn write(w: &mut impl Write, count: u64, seed: u64) -> std::io::Result<()> {
    writeln!(w, "{HEADER}")?;
    let mut rng = Rng::new(seed);
    let companies = (count * 35 / 100 / PER_COMPANY).max(1);
    let window = (count / 2).max(1);
    // (due row, sequence, row without its id): duplicates arrive later
    let mut pending: BinaryHeap<Reverse<(u64, u64, String)>> = BinaryHeap::new();
    let (mut rows, mut cluster, mut seq) = (0u64, 0u64, 0u64);
    let emit = |w: &mut dyn Write, rows: &mut u64, line: &str| {
        *rows += 1;
        writeln!(w, "r{},{line}", *rows)
    };
    loop {
        while let Some(Reverse((due, _, _))) = pending.peek() {
            if *due > rows {
                break;
            }
            let Reverse((_, _, line)) = pending.pop().expect("peeked");
            emit(w, &mut rows, &line)?;
        }
        if rows + pending.len() as u64 >= count {
            break;
        }
        cluster += 1;
        let p = match rng.chance(35) {
            true => {
                let company = Company::nth(seed, rng.below(companies));
                Person::employee(&mut rng, &company, cluster)
            }
            false => Person::private(&mut rng, cluster),
        };
        emit(w, &mut rows, &line(&mut rng, cluster, &p, false))?;
        let dupes = match rng.below(100) {
            0..=2 => 2,
            3..=13 => 1,
            _ => 0,
        };
        for _ in 0..dupes {
            if rows + (pending.len() as u64) < count {
                seq += 1;
                let due = rows + rng.below(window);
                pending.push(Reverse((due, seq, line(&mut rng, cluster, &p, true))));
            }
        }
        if p.company.is_empty() && rng.chance(3) && rows + (pending.len() as u64) < count {
            cluster += 1;
            let h = Person::housemate(&mut rng, &p, cluster);
            emit(w, &mut rows, &line(&mut rng, cluster, &h, false))?;
        }
    }
    while let Some(Reverse((_, _, line))) = pending.pop() {
        emit(w, &mut rows, &line)?;
    }
    Ok(())
}

/// One row (without its id) of person `p`; a `variant` is written
/// differently, as another system would have it.
fn line(rng: &mut Rng, cluster: u64, p: &Person, variant: bool) -> String {
    let (mut first, mut last) = (p.first.clone(), p.last.clone());
    let mut email = p.email.clone();
    let mut phone = write_phone(rng, &p.phone);
    let mut company = p.company.clone();
    let mut street = p.address.street.clone();
    let mut postcode = p.address.postcode.clone();
    let mut birthday = p.birthday.map(iso_date).unwrap_or_default();
    if variant {
        match rng.below(6) {
            0 => first = typo(rng, &first),
            1 => last = typo(rng, &last),
            2 => std::mem::swap(&mut first, &mut last),
            3 => {
                first = transliterate(&first);
                last = transliterate(&last);
            }
            _ => {}
        }
        if rng.chance(30) {
            email = email.to_uppercase();
        }
        if rng.chance(10) && !p.private_email.is_empty() {
            email = p.private_email.clone();
        }
        if rng.chance(20) {
            email.clear();
        }
        if rng.chance(25) {
            phone.clear();
        }
        if rng.chance(20) {
            birthday.clear();
        }
        if rng.chance(10) {
            street.clear();
        }
        if rng.chance(5) {
            postcode.clear();
        }
        if rng.chance(30) {
            street = street
                .replace("straße", "str.")
                .replace(" Street", " St")
                .replace(" cesta", " c.");
        }
        if !company.is_empty() && rng.chance(50) {
            company = legal_form_variant(rng, &company);
        }
        if !company.is_empty() && rng.chance(10) {
            company.clear();
        }
    }
    [
        cluster.to_string(),
        csv(&first),
        csv(&last),
        csv(&email),
        csv(&phone),
        csv(&company),
        csv(&street),
        csv(&postcode),
        csv(p.address.city),
        birthday,
    ]
    .join(",")
}

/// The same company with its legal form written otherwise.
fn legal_form_variant(rng: &mut Rng, company: &str) -> String {
    let stem_of = |form: &str| company.strip_suffix(form).map(str::to_string);
    if let Some(stem) = stem_of(" GmbH") {
        return match rng.below(3) {
            0 => format!("{stem} GmbH & Co. KG"),
            1 => format!("{stem} Gesellschaft mbH"),
            _ => stem,
        };
    }
    if let Some(stem) = stem_of(" Ltd") {
        return match rng.below(2) {
            0 => format!("{stem} Limited"),
            _ => format!("{stem} Ltd."),
        };
    }
    match stem_of(" d.o.o.") {
        Some(stem) => format!("{stem}, d.o.o."),
        None => company.to_string(),
    }
}

/// Umlauts and diacritics written out (Müller → Mueller, Kovač → Kovac),
/// keeping the capital.
fn transliterate(s: &str) -> String {
    let folded = ascii(s);
    let mut c = folded.chars();
    match (c.next(), s.chars().next()) {
        (Some(f), Some(orig)) if orig.is_uppercase() => f.to_uppercase().chain(c).collect(),
        _ => folded,
    }
}

/// One typing error: a letter dropped, doubled or two swapped.
fn typo(rng: &mut Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 3 {
        return s.to_string();
    }
    let i = 1 + rng.below(c.len() as u64 - 2) as usize;
    match rng.below(3) {
        0 => {
            c.remove(i);
        }
        1 => c.insert(i, c[i]),
        _ => c.swap(i, i - 1),
    }
    c.into_iter().collect()
}

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    fn rows(count: u64, seed: u64) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        super::write(&mut out, count, seed).unwrap();
        csv::Reader::from_reader(&out[..])
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn deterministic_with_duplicates_and_colleagues() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        super::write(&mut a, 2000, 7).unwrap();
        super::write(&mut b, 2000, 7).unwrap();
        assert_eq!(a, b);
        let rows = rows(2000, 7);
        assert_eq!(rows.len(), 2000);
        let ids: BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(ids.len(), 2000, "ids are unique");
        let clusters: BTreeSet<&str> = rows.iter().map(|r| r[1].as_str()).collect();
        let dupes = rows.len() - clusters.len();
        assert!(
            (200..=400).contains(&dupes),
            "{dupes} duplicate rows of 2000"
        );
        // colleagues: one company, several clusters
        let mut at: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
        for r in rows.iter().filter(|r| !r[6].is_empty()) {
            at.entry((&r[6], &r[7])).or_default().insert(&r[1]);
        }
        let shared = at.values().filter(|c| c.len() > 1).count();
        assert!(shared > 50, "{shared} companies with colleagues");
    }

    #[test]
    fn different_people_rarely_share_name_and_address() {
        let rows = rows(100_000, 42);
        let mut people: BTreeMap<(&str, &str, &str, &str), BTreeSet<&str>> = BTreeMap::new();
        for r in rows.iter().filter(|r| !r[7].is_empty()) {
            people
                .entry((&r[2], &r[3], &r[7], &r[8]))
                .or_default()
                .insert(&r[1]);
        }
        let collisions: usize = people.values().map(|c| c.len() - 1).sum();
        assert!(
            collisions < 100,
            "{collisions} namesakes at one address in 100k rows"
        );
    }
}
