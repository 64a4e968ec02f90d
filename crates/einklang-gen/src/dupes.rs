//! `einklang-gen dupes`: contacts with known duplicates, for bench/dedup.
//! About 15 % of the rows are second or third spellings of a person
//! (typos, swapped first and last name, umlauts written out, other phone
//! formats, missing fields, company legal-form variants, e-mail case), and
//! about 10 % of the people have colleagues: different people who share
//! company, street, postcode and the phone switchboard — the hard case
//! that chains whole companies when correlated fields count as
//! independent evidence. The `cluster` column is the ground truth.

use crate::people::{ascii, iso_date, write_phone, Person};
use crate::rng::Rng;
use std::io::Write;

/// The CSV header.
pub const HEADER: &str =
    "id,cluster,first_name,last_name,email,phone,company,street,postcode,city,date_of_birth";

/// Write `count` rows.
pub fn write(w: &mut impl Write, count: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    writeln!(w, "{HEADER}")?;
    let (mut rows, mut cluster) = (0u64, 0u64);
    while rows < count {
        cluster += 1;
        let mut p = Person::random(&mut rng);
        unique_email(&mut p, cluster);
        row(w, &mut rng, &mut rows, cluster, &p, false)?;
        let dupes = match rng.below(100) {
            0..=2 => 2,
            3..=13 => 1,
            _ => 0,
        };
        for _ in 0..dupes {
            if rows < count {
                row(w, &mut rng, &mut rows, cluster, &p, true)?;
            }
        }
        if rng.chance(10) && !p.company.is_empty() {
            for _ in 0..rng.range(1, 4) {
                if rows >= count {
                    break;
                }
                cluster += 1;
                let mut c = Person::random(&mut rng);
                unique_email(&mut c, cluster);
                c.company = p.company.clone();
                c.street = p.street.clone();
                c.postcode = p.postcode;
                c.city = p.city;
                let (cc, area, number) = &p.phone;
                let switchboard = format!("{}{:02}", &number[..number.len() - 2], rng.below(100));
                c.phone = (cc, area, switchboard);
                row(w, &mut rng, &mut rows, cluster, &c, false)?;
            }
        }
    }
    Ok(())
}

fn row(
    w: &mut impl Write,
    rng: &mut Rng,
    rows: &mut u64,
    cluster: u64,
    p: &Person,
    variant: bool,
) -> std::io::Result<()> {
    *rows += 1;
    let (mut first, mut last) = (p.first.clone(), p.last.clone());
    let mut email = p.email.clone();
    let mut phone = write_phone(rng, &p.phone);
    let mut company = p.company.clone();
    let mut birthday = p.birthday.map(iso_date).unwrap_or_default();
    if variant {
        match rng.below(6) {
            0 => first = typo(rng, &first),
            1 => last = typo(rng, &last),
            2 => std::mem::swap(&mut first, &mut last),
            3 => {
                first = ascii(&first);
                last = ascii(&last);
            }
            _ => {}
        }
        if rng.chance(30) {
            email = email.to_uppercase();
        }
        if rng.chance(25) {
            email.clear();
        }
        if rng.chance(25) {
            phone.clear();
        }
        if rng.chance(20) {
            birthday.clear();
        }
        if !company.is_empty() && rng.chance(50) {
            company = match company.strip_suffix(" GmbH") {
                Some(stem) => format!("{stem} GmbH & Co. KG"),
                None => format!("{company} Ltd"),
            };
        }
    }
    writeln!(
        w,
        "r{},{cluster},{},{},{},{},{},{},{},{},{}",
        *rows,
        csv(&first),
        csv(&last),
        csv(&email),
        csv(&phone),
        csv(&company),
        csv(&p.street),
        p.postcode,
        csv(p.city),
        birthday
    )
}

/// An address of this person's own: the generator's `first.lastNN@`
/// repeats among namesakes, real addresses do not.
fn unique_email(p: &mut Person, cluster: u64) {
    let domain = p
        .email
        .split_once('@')
        .map_or("example.org", |(_, d)| d)
        .to_string();
    p.email = format!("{}.{}{cluster}@{domain}", ascii(&p.first), ascii(&p.last));
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
    #[test]
    fn deterministic_with_duplicates_and_colleagues() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        super::write(&mut a, 2000, 7).unwrap();
        super::write(&mut b, 2000, 7).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 2000);
        let clusters: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.split(',').nth(1).unwrap()).collect();
        let dupes = rows.len() - clusters.len();
        assert!(
            (200..=400).contains(&dupes),
            "{dupes} duplicate rows of 2000"
        );
    }
}
