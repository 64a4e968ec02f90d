//! `einklang-gen dupes`: contacts with known duplicates, for bench/dedup.
//! The `cluster` column is the ground truth: one cluster is one person;
//! different people are different clusters even when they share a
//! company, an address, a mail address or a phone.
//!
//! # Presets
//!
//! **`classic`** is the generator as bench/RESULTS.md measured it, byte
//! for byte (a test pins it). About 15 % of the rows are second or third
//! records of a person (typos, swapped first and last name, umlauts
//! written out, other phone formats, missing fields, the private instead
//! of the work address, company legal-form variants, street
//! abbreviations, e-mail case), spread through the file as they arrive
//! from different systems. About a third of the people work at a company
//! and share its name, address, mail domain and phone switchboard with
//! their colleagues — the hard case that chains whole companies when
//! correlated fields count as independent evidence — and a few private
//! people share family name, address and landline with a housemate.
//!
//! **`real`** (the default) adds what real contact exports have and
//! `classic` lacks, still with about 15 % duplicate rows:
//!
//! - *shared identifiers*: households of 2–5 people sharing a family
//!   address (`jansen17@outlook.com`), a landline or both; companies that
//!   record their people under a general address (`info@…`,
//!   `kontakt@…`) and main line; a few large companies (one in 200, about
//!   40 people each at any file size), so that one address is carried by
//!   up to ~40 people while most shared ones are carried by 2–4;
//! - *people with 5–10 records* (1 % of the people, fewer of 10 than of
//!   5), their own e-mail on most of them;
//! - *phones as typed*: a digit missing or doubled (on every record of
//!   some people, on more duplicates than first records), national forms
//!   with a slash or a dash in every country (`0152/4857109`,
//!   `01-23067454`), the trunk 0 kept after the country code
//!   (`+44 (0)20 …`), digits run together, the country code without its
//!   plus. The numbers start out valid for their numbering plan
//!   (`valid_ranges`; `classic` draws some British and Slovenian ones
//!   from ranges no plan gives out); the slips make them fail it in
//!   Germany (mobiles: German landlines validate at almost any length),
//!   Britain and Slovenia ([`phones`]);
//! - *first names as other records write them*: nicknames, short forms
//!   and transliterations from a small table of the generator's own
//!   ([`names`]: Hans/Johannes, Bob/Robert, Aleksandr/Alexander/Sascha,
//!   Jürgen/Juergen, Peggy/Margaret), initials (`G.`), a one-letter slip
//!   in short names (`Dean`/`Dwan`), no first name at all — on
//!   duplicates, and on fewer first records.
//!
//! Measured on 100k rows, seed 42 (the test
//! `real_has_what_real_exports_have_and_classic_lacks_on_100k_rows`
//! prints them), `real` against `classic`:
//!
//! | | real | classic |
//! | --- | ---: | ---: |
//! | duplicate rows | 14.6 % | 14.3 % |
//! | rows with an e-mail another person carries too | 5.0 % | 0.005 % |
//! | rows with an e-mail or phone another person carries too | 8.6 % | 4.7 % |
//! | people on the most widely shared e-mail | 36 | 2 |
//! | shared e-mails carried by 2–4 people | 93 % | 100 % |
//! | people with 5–10 records | 0.93 % | 0 |
//! | their records carrying their commonest e-mail | 94 % | – |
//! | phones the numbering plan refuses, DE / GB / SI | 1.4 / 4.6 / 4.5 % | 0 / 15 / 9 % |
//! | rows with an initial for a first name | 1.5 % | 0 |
//! | rows without a first name | 2.4 % | 0 |
//! | people named by two forms of the nickname table | 740 | 113 |
//! | people with two short first names one letter apart | 480 | 3 |
//!
//! (`classic`'s shared phones are its housemates' and colleagues whose
//! direct lines happen to be equal; its refused British and Slovenian
//! numbers come from the ranges, not from typing.)
//!
//! # Knobs
//!
//! A preset is a set of [`Knobs`], percentages; `--knob NAME=VALUE`
//! changes one on top of the preset. Every knob at 0 adds nothing and
//! draws nothing from the random stream, which is how `classic` stays
//! what it was.
//!
//! | knob | classic | real | |
//! | --- | ---: | ---: | --- |
//! | `two_records` | 11 | 8 | people with two records |
//! | `three_records` | 3 | 2 | people with three records |
//! | `many_records` | 0 | 1 | people with 5–10 records |
//! | `housemates` | 3 | 1 | private people with a housemate: family name, address, phone |
//! | `households` | 0 | 3 | private people in a household of 2–5 sharing a family e-mail and/or landline |
//! | `general_companies` | 0 | 15 | companies recording 40–90 % of their people under `info@…` (half as many under the main line) |
//! | `large_companies` | 0 | 5 | employees at one of the large companies |
//! | `formal_names` | 0 | 10 | people drawn with a formal name of the nickname table |
//! | `nicknames` | 0 | 20 | duplicates with another form of the first name (¼ as many first records) |
//! | `initials` | 0 | 6 | duplicates with only the initial (¼ as many first records) |
//! | `short_slips` | 0 | 15 | duplicates of short first names (≤ 5 letters) with one letter slipped |
//! | `missing_first` | 0 | 6 | duplicates without a first name (⅓ as many first records) |
//! | `misdialled_people` | 0 | 3 | people whose number is stored with a digit missing or doubled |
//! | `misdialled_records` | 0 | 6 | duplicates with a digit missing or doubled (⅕ as many first records) |
//! | `typed_phones` | 0 | 20 | records with the phone written as typed |
//! | `valid_ranges` | 0 | 1 | 1: landlines only from ranges the numbering plan gives out |
//!
//! The pools ([`pools`]) are large enough that different people rarely
//! share name and address at 1M rows. Output is streamed: memory holds only
//! the duplicates not yet due.

mod names;
mod person;
mod phones;
mod pools;

use crate::people::{ascii, iso_date, write_phone};
use crate::rng::Rng;
use person::{Company, Household, Person};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

/// The CSV header.
pub const HEADER: &str =
    "id,cluster,first_name,last_name,email,phone,company,street,postcode,city,date_of_birth";

/// Contacts per company on average.
const PER_COMPANY: u64 = 4;

/// One company in this many is a large one (`large_companies`).
const LARGE_COMPANY_EVERY: u64 = 200;

/// What the generator puts in, in percent unless said otherwise; the
/// module doc lists each preset's values. Every knob at 0 adds nothing
/// and draws nothing from the random stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Knobs {
    /// People with two records.
    pub two_records: u64,
    /// People with three records.
    pub three_records: u64,
    /// People with 5–10 records, their own e-mail on most.
    pub many_records: u64,
    /// Private people who get a housemate with their family name, address
    /// and phone but a mail address of their own.
    pub housemates: u64,
    /// Private people who live in a household of 2–5 sharing a family
    /// mail address, a landline or both.
    pub households: u64,
    /// Companies that record their people under their general address
    /// (40–90 % of them) and main line (half as many).
    pub general_companies: u64,
    /// Employees who work at one of the few large companies.
    pub large_companies: u64,
    /// People drawn with a formal first name of the variant table,
    /// Johannes, Robert, Aleksandr.
    pub formal_names: u64,
    /// Duplicates that write another form of the first name, Hans for
    /// Johannes (a quarter as many first records).
    pub nicknames: u64,
    /// Duplicates with only the initial, `G.` (a quarter as many first
    /// records).
    pub initials: u64,
    /// Duplicates of people with a short first name (≤ 5 letters) with
    /// one letter of it slipped, Dean → Dwan.
    pub short_slips: u64,
    /// Duplicates without a first name (a third as many first records).
    pub missing_first: u64,
    /// People whose number is stored with a digit missing or doubled, on
    /// every record.
    pub misdialled_people: u64,
    /// Duplicates with a digit of the number missing or doubled (a
    /// fifth as many first records).
    pub misdialled_records: u64,
    /// Records whose phone is written as typed: `0151/2345678`,
    /// `+49 (0)30 …`, `01-2306745`.
    pub typed_phones: u64,
    /// 1: landlines drawn only from the ranges the numbering plan gives
    /// out (classic draws some that no plan has).
    pub valid_ranges: u64,
}

/// A named set of knobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// The generator before the knobs, byte for byte.
    Classic,
    /// Shared identifiers, many-record people, typed phones, first-name
    /// variants: what real exports have.
    Real,
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "classic" => Ok(Preset::Classic),
            "real" => Ok(Preset::Real),
            _ => Err(format!("unknown preset {s:?}: classic or real")),
        }
    }
}

impl Preset {
    /// Its knobs.
    pub fn knobs(self) -> Knobs {
        match self {
            Preset::Classic => Knobs {
                two_records: 11,
                three_records: 3,
                many_records: 0,
                housemates: 3,
                households: 0,
                general_companies: 0,
                large_companies: 0,
                formal_names: 0,
                nicknames: 0,
                initials: 0,
                short_slips: 0,
                missing_first: 0,
                misdialled_people: 0,
                misdialled_records: 0,
                typed_phones: 0,
                valid_ranges: 0,
            },
            Preset::Real => Knobs {
                two_records: 8,
                three_records: 2,
                many_records: 1,
                housemates: 1,
                households: 3,
                general_companies: 15,
                large_companies: 5,
                formal_names: 10,
                nicknames: 20,
                initials: 6,
                short_slips: 15,
                missing_first: 6,
                misdialled_people: 3,
                misdialled_records: 6,
                typed_phones: 20,
                valid_ranges: 1,
            },
        }
    }
}

impl Knobs {
    fn fields(&mut self) -> [(&'static str, &mut u64); 16] {
        [
            ("two_records", &mut self.two_records),
            ("three_records", &mut self.three_records),
            ("many_records", &mut self.many_records),
            ("housemates", &mut self.housemates),
            ("households", &mut self.households),
            ("general_companies", &mut self.general_companies),
            ("large_companies", &mut self.large_companies),
            ("formal_names", &mut self.formal_names),
            ("nicknames", &mut self.nicknames),
            ("initials", &mut self.initials),
            ("short_slips", &mut self.short_slips),
            ("missing_first", &mut self.missing_first),
            ("misdialled_people", &mut self.misdialled_people),
            ("misdialled_records", &mut self.misdialled_records),
            ("typed_phones", &mut self.typed_phones),
            ("valid_ranges", &mut self.valid_ranges),
        ]
    }

    /// Set one knob from `NAME=VALUE`.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("{assignment:?}: expected NAME=VALUE"))?;
        let value: u64 = value
            .trim()
            .parse()
            .map_err(|_| format!("{assignment:?}: the value is not a whole number"))?;
        let limit = if name.trim() == "valid_ranges" {
            1
        } else {
            100
        };
        if value > limit {
            return Err(format!("{assignment:?}: at most {limit}"));
        }
        let mut fields = self.fields();
        let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        let names = names.join(", ");
        match fields.iter_mut().find(|(n, _)| *n == name.trim()) {
            Some((_, field)) => {
                **field = value;
                Ok(())
            }
            None => Err(format!("unknown knob {name:?}; knobs: {names}")),
        }
    }
}

/// True with probability `percent`/100, drawing nothing when it is 0.
fn maybe(rng: &mut Rng, percent: u64) -> bool {
    percent > 0 && rng.chance(percent)
}

/// Where one row of a person stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Row {
    /// The first record: as the person gave it.
    First,
    /// A later record, written differently.
    Duplicate,
    /// A later record of a person with 5–10, who keeps their e-mail.
    DuplicateOfMany,
}

/// The rows not yet due: (due row, sequence, row without its id).
/// Duplicates and household members arrive later, as from other systems.
struct Later {
    heap: BinaryHeap<Reverse<(u64, u64, String)>>,
    seq: u64,
    count: u64,
}

impl Later {
    /// Whether the file has room for one more row besides the `rows`
    /// written and those waiting.
    fn room(&self, rows: u64) -> bool {
        rows + (self.heap.len() as u64) < self.count
    }

    fn push(&mut self, due: u64, line: String) {
        self.seq += 1;
        self.heap.push(Reverse((due, self.seq, line)));
    }

    /// Schedule the later records of person `p` (cluster `cluster`) after
    /// row `from`, within `window` rows: how many is drawn from the knobs.
    /// Nothing is drawn for a record the file has no room for.
    #[allow(clippy::too_many_arguments)]
    fn duplicates(
        &mut self,
        rng: &mut Rng,
        rows: u64,
        from: u64,
        window: u64,
        cluster: u64,
        p: &Person,
        k: &Knobs,
    ) {
        let d = rng.below(100);
        let (n, row) = if d < k.many_records {
            // 5–10 records, fewer more often
            let n = match rng.below(20) {
                0..=6 => 4,
                7..=11 => 5,
                12..=14 => 6,
                15..=16 => 7,
                17..=18 => 8,
                _ => 9,
            };
            (n, Row::DuplicateOfMany)
        } else if d < k.many_records + k.three_records {
            (2, Row::Duplicate)
        } else if d < k.many_records + k.three_records + k.two_records {
            (1, Row::Duplicate)
        } else {
            (0, Row::Duplicate)
        };
        for _ in 0..n {
            if self.room(rows) {
                let due = from + rng.below(window);
                let line = line(rng, cluster, p, row, k);
                self.push(due, line);
            }
        }
    }
}

/// Write `count` rows with the knobs `k`.
pub fn write(w: &mut impl Write, count: u64, seed: u64, k: &Knobs) -> std::io::Result<()> {
    writeln!(w, "{HEADER}")?;
    let mut rng = Rng::new(seed);
    let companies = (count * 35 / 100 / PER_COMPANY).max(1);
    let large = (companies / LARGE_COMPANY_EVERY).max(1);
    let window = (count / 2).max(1);
    let mut later = Later {
        heap: BinaryHeap::new(),
        seq: 0,
        count,
    };
    let (mut rows, mut cluster) = (0u64, 0u64);
    let emit = |w: &mut dyn Write, rows: &mut u64, line: &str| {
        *rows += 1;
        writeln!(w, "r{},{line}", *rows)
    };
    loop {
        while let Some(Reverse((due, _, _))) = later.heap.peek() {
            if *due > rows {
                break;
            }
            let Reverse((_, _, line)) = later.heap.pop().expect("peeked");
            emit(w, &mut rows, &line)?;
        }
        if !later.room(rows) {
            break;
        }
        cluster += 1;
        let mut p = match rng.chance(35) {
            true => {
                let id = match maybe(&mut rng, k.large_companies) {
                    true => rng.below(large),
                    false => rng.below(companies),
                };
                let big = k.large_companies > 0 && id < large;
                Person::employee(&mut rng, &Company::nth(seed, id, big, k), cluster, k)
            }
            false => Person::private(&mut rng, cluster, k),
        };
        let household = match p.company.is_empty() && maybe(&mut rng, k.households) {
            true => Some(Household::new(&mut rng, &mut p, cluster, k)),
            false => None,
        };
        misdial_person(&mut rng, &mut p, k);
        emit(w, &mut rows, &line(&mut rng, cluster, &p, Row::First, k))?;
        later.duplicates(&mut rng, rows, rows, window, cluster, &p, k);
        if let Some(h) = household {
            for _ in 0..h.others {
                if !later.room(rows) {
                    break;
                }
                cluster += 1;
                let mut m = h.member(&mut rng, &p, cluster, k);
                misdial_person(&mut rng, &mut m, k);
                let due = rows + rng.below(window);
                let first = line(&mut rng, cluster, &m, Row::First, k);
                later.push(due, first);
                later.duplicates(&mut rng, rows, due, window, cluster, &m, k);
            }
        }
        if p.company.is_empty() && rng.chance(k.housemates) && later.room(rows) {
            cluster += 1;
            let h = Person::housemate(&mut rng, &p, cluster);
            emit(w, &mut rows, &line(&mut rng, cluster, &h, Row::First, k))?;
        }
    }
    while let Some(Reverse((_, _, line))) = later.heap.pop() {
        emit(w, &mut rows, &line)?;
    }
    Ok(())
}

/// With `misdialled_people`, `p`'s number as it was stored wrong once and
/// copied to every later record.
fn misdial_person(rng: &mut Rng, p: &mut Person, k: &Knobs) {
    if maybe(rng, k.misdialled_people) {
        p.phone = phones::misdial(rng, &p.phone);
    }
}

/// One row (without its id) of person `p`; a duplicate is written
/// differently, as another system would have it.
fn line(rng: &mut Rng, cluster: u64, p: &Person, row: Row, k: &Knobs) -> String {
    let (mut first, mut last) = (p.first.clone(), p.last.clone());
    let mut email = p.email.clone();
    let mut phone = write_phone(rng, &p.phone);
    let mut company = p.company.clone();
    let mut street = p.address.street.clone();
    let mut postcode = p.address.postcode.clone();
    let mut birthday = p.birthday.map(iso_date).unwrap_or_default();
    let variant = row != Row::First;
    let many = row == Row::DuplicateOfMany;
    let mut swapped = false;
    if variant {
        match rng.below(6) {
            0 => first = typo(rng, &first),
            1 => last = typo(rng, &last),
            2 => {
                std::mem::swap(&mut first, &mut last);
                swapped = true;
            }
            3 => {
                first = transliterate(&first);
                last = transliterate(&last);
            }
            _ => {}
        }
        if rng.chance(30) {
            email = email.to_uppercase();
        }
        // a person with many records keeps their e-mail on most of them
        if rng.chance(10) && !p.private_email.is_empty() && !(many && rng.chance(50)) {
            email = p.private_email.clone();
        }
        if rng.chance(20) && !(many && rng.chance(75)) {
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
    // what `real` adds, drawn after everything `classic` draws
    let share = |percent: u64, first_records: u64| match variant {
        true => percent,
        false => percent / first_records,
    };
    if !phone.is_empty() {
        let mut number = p.phone.clone();
        let slipped = maybe(rng, share(k.misdialled_records, 5));
        if slipped {
            number = phones::misdial(rng, &number);
        }
        if maybe(rng, k.typed_phones) {
            phone = phones::typed(rng, &number);
        } else if slipped {
            phone = write_phone(rng, &number);
        }
    }
    if !swapped && !first.is_empty() {
        if maybe(rng, share(k.nicknames, 4)) {
            first = names::variant(rng, &first);
        }
        if variant && first.chars().count() <= names::SHORT && maybe(rng, k.short_slips) {
            first = names::slip(rng, &first);
        }
        if maybe(rng, share(k.initials, 4)) {
            first = names::initial(rng, &first);
        }
        if maybe(rng, share(k.missing_first, 3)) {
            first.clear();
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
    use super::pools::Country;
    use super::{names, Knobs, Preset};
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    fn bytes(count: u64, seed: u64, k: &Knobs) -> Vec<u8> {
        let mut out = Vec::new();
        super::write(&mut out, count, seed, k).unwrap();
        out
    }

    fn rows(count: u64, seed: u64, k: &Knobs) -> Vec<Vec<String>> {
        csv::Reader::from_reader(&bytes(count, seed, k)[..])
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    /// FNV-1a, 64 bits.
    fn fnv(b: &[u8]) -> u64 {
        b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
            (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    #[test]
    fn classic_is_byte_for_byte_the_generator_before_the_knobs() {
        // taken from `einklang-gen dupes` at bc52bbb, before presets existed
        let classic = Preset::Classic.knobs();
        assert_eq!(fnv(&bytes(2000, 42, &classic)), 0xe8b1_ac2c_8913_2ba5);
        assert_eq!(fnv(&bytes(2000, 7, &classic)), 0x305e_a8ff_9fc9_503c);
        let out = bytes(100_000, 42, &classic);
        let header_and_2000_rows = out
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(2000)
            .map(|(i, _)| i + 1)
            .unwrap();
        assert_eq!(fnv(&out[..header_and_2000_rows]), 0xc662_194d_33d4_1c57);
        assert_eq!(fnv(&out), 0xf617_89d1_23a7_0525);
    }

    #[test]
    fn deterministic_per_seed_with_duplicates_and_colleagues() {
        for preset in [Preset::Classic, Preset::Real] {
            let k = preset.knobs();
            assert_eq!(bytes(2000, 7, &k), bytes(2000, 7, &k));
            assert_ne!(bytes(2000, 7, &k), bytes(2000, 8, &k));
            let rows = rows(2000, 7, &k);
            assert_eq!(rows.len(), 2000);
            let ids: BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
            assert_eq!(ids.len(), 2000, "ids are unique");
            let clusters: BTreeSet<&str> = rows.iter().map(|r| r[1].as_str()).collect();
            let dupes = rows.len() - clusters.len();
            assert!(
                (200..=400).contains(&dupes),
                "{preset:?}: {dupes} duplicate rows of 2000"
            );
            // colleagues: one company, several clusters
            let mut at: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
            for r in rows.iter().filter(|r| !r[6].is_empty()) {
                at.entry((&r[6], &r[7])).or_default().insert(&r[1]);
            }
            let shared = at.values().filter(|c| c.len() > 1).count();
            assert!(
                shared > 50,
                "{preset:?}: {shared} companies with colleagues"
            );
        }
        assert_ne!(
            bytes(2000, 7, &Preset::Classic.knobs()),
            bytes(2000, 7, &Preset::Real.knobs())
        );
    }

    #[test]
    fn knobs_are_set_by_name() {
        let mut k = Preset::Classic.knobs();
        k.set("households=8").unwrap();
        k.set(" valid_ranges = 1").unwrap();
        assert_eq!((k.households, k.valid_ranges), (8, 1));
        assert!(k.set("households").is_err());
        assert!(k.set("households=x").is_err());
        assert!(k.set("households=101").is_err());
        assert!(k.set("valid_ranges=2").is_err());
        let err = k.set("shoe_size=3").unwrap_err();
        assert!(err.contains("typed_phones"), "{err}");
        let names: Vec<&str> = k.fields().iter().map(|(n, _)| *n).collect();
        for name in names {
            let mut k = Preset::Classic.knobs();
            k.set(&format!("{name}=1")).unwrap();
            assert_ne!(k, Preset::Classic.knobs(), "{name}");
        }
        assert_eq!("real".parse(), Ok(Preset::Real));
        assert_eq!("classic".parse(), Ok(Preset::Classic));
        assert!("Real".parse::<Preset>().is_err());
    }

    #[test]
    fn different_people_rarely_share_name_and_address() {
        // households and large companies make namesakes at one address a
        // little more common in `real`: a father and son both Thomas
        for (preset, most) in [(Preset::Classic, 100), (Preset::Real, 300)] {
            let rows = rows(100_000, 42, &preset.knobs());
            let mut people: BTreeMap<(&str, &str, &str, &str), BTreeSet<&str>> = BTreeMap::new();
            for r in rows.iter().filter(|r| !r[7].is_empty() && !r[2].is_empty()) {
                people
                    .entry((&r[2], &r[3], &r[7], &r[8]))
                    .or_default()
                    .insert(&r[1]);
            }
            let collisions: usize = people.values().map(|c| c.len() - 1).sum();
            assert!(
                collisions < most,
                "{preset:?}: {collisions} namesakes at one address in 100k rows"
            );
        }
    }

    /// A phone's national significant digits: no country code, no trunk
    /// 0, whichever way it is written.
    fn national(phone: &str) -> String {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let t = phone.trim_start();
        let international = t.starts_with('+')
            || digits.starts_with("00")
            || ["49 ", "44 ", "386 "].iter().any(|cc| t.starts_with(cc));
        let d = match international {
            true => {
                let d = digits.strip_prefix("00").unwrap_or(&digits);
                ["386", "49", "44"]
                    .iter()
                    .find_map(|cc| d.strip_prefix(cc))
                    .unwrap_or(d)
            }
            false => &digits,
        };
        d.strip_prefix('0').unwrap_or(d).to_string()
    }

    fn valid_phone(country: Country, phone: &str) -> bool {
        let region = match country {
            Country::De => phonenumber::country::Id::DE,
            Country::Gb => phonenumber::country::Id::GB,
            Country::Si => phonenumber::country::Id::SI,
        };
        phonenumber::parse(Some(region), phone)
            .map(|n| phonenumber::is_valid(&n))
            .unwrap_or(false)
    }

    /// What a file has of what real exports have, as shares.
    #[derive(Debug, Default)]
    struct Shares {
        duplicate_rows: f64,
        /// rows with an e-mail another cluster carries too
        shared_email: f64,
        /// rows with a phone (national digits) another cluster carries
        shared_phone: f64,
        shared_either: f64,
        /// people carrying the most widely shared e-mail
        largest_email_group: usize,
        /// e-mail groups of 2–4 people among all shared e-mails
        small_email_groups: f64,
        /// clusters with 5–10 records, and the most records of one
        many_record_clusters: f64,
        most_records: usize,
        /// of a many-record cluster's rows, those with its commonest e-mail
        own_email_on_many: f64,
        /// invalid phones by the numbering plan, per country
        invalid_phones: BTreeMap<&'static str, f64>,
        initials: f64,
        missing_first: f64,
        /// clusters whose rows name a person by two forms of the table
        nickname_clusters: usize,
        /// clusters with two short first names one letter apart
        slip_clusters: usize,
    }

    fn shares(rows: &[Vec<String>]) -> Shares {
        let n = rows.len() as f64;
        let country = |r: &[String]| Country::of_city(&r[9]).expect("a city of the pools");
        let mut clusters: HashMap<&str, Vec<&[String]>> = HashMap::new();
        let mut emails: HashMap<String, BTreeSet<&str>> = HashMap::new();
        let mut phones: HashMap<(Country, String), BTreeSet<&str>> = HashMap::new();
        for r in rows {
            clusters.entry(&r[1]).or_default().push(r);
            if !r[4].is_empty() {
                emails.entry(r[4].to_lowercase()).or_default().insert(&r[1]);
            }
            if !r[5].is_empty() {
                let key = (country(r), national(&r[5]));
                phones.entry(key).or_default().insert(&r[1]);
            }
        }
        let email_shared =
            |r: &[String]| !r[4].is_empty() && emails[&r[4].to_lowercase()].len() > 1;
        let phone_shared =
            |r: &[String]| !r[5].is_empty() && phones[&(country(r), national(&r[5]))].len() > 1;
        let count = |f: &dyn Fn(&[String]) -> bool| rows.iter().filter(|r| f(r)).count() as f64 / n;
        let groups: Vec<usize> = emails
            .values()
            .map(BTreeSet::len)
            .filter(|l| *l > 1)
            .collect();
        let many: Vec<&Vec<&[String]>> = clusters.values().filter(|c| c.len() >= 5).collect();
        let own_email_on_many = many
            .iter()
            .map(|c| {
                let mut by: HashMap<String, usize> = HashMap::new();
                for r in c.iter().filter(|r| !r[4].is_empty()) {
                    *by.entry(r[4].to_lowercase()).or_default() += 1;
                }
                by.values().max().copied().unwrap_or(0) as f64 / c.len() as f64
            })
            .sum::<f64>()
            / many.len().max(1) as f64;
        let mut invalid: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
        for r in rows.iter().filter(|r| !r[5].is_empty()) {
            let c = country(r);
            let e = invalid.entry(c.tld()).or_default();
            e.0 += 1;
            e.1 += usize::from(!valid_phone(c, &r[5]));
        }
        let firsts = |c: &Vec<&[String]>| -> Vec<String> {
            let set: BTreeSet<&str> = c.iter().map(|r| r[2].as_str()).collect();
            set.into_iter()
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect()
        };
        let one_letter_apart = |a: &str, b: &str| {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            a.len() == b.len()
                && a.len() <= names::SHORT
                && a[0] == b[0]
                // not Blaž/Blaz: that is the diacritic written out
                && a.iter().chain(&b).all(char::is_ascii)
                && a.iter().zip(&b).filter(|(x, y)| x != y).count() == 1
        };
        let any_pair = |c: &Vec<&[String]>, f: &dyn Fn(&str, &str) -> bool| {
            let f2 = firsts(c);
            f2.iter()
                .enumerate()
                .any(|(i, a)| f2[i + 1..].iter().any(|b| f(a, b)))
        };
        Shares {
            duplicate_rows: 1.0 - clusters.len() as f64 / n,
            shared_email: count(&|r| email_shared(r)),
            shared_phone: count(&|r| phone_shared(r)),
            shared_either: count(&|r| email_shared(r) || phone_shared(r)),
            largest_email_group: groups.iter().copied().max().unwrap_or(0),
            small_email_groups: groups.iter().filter(|l| **l <= 4).count() as f64
                / groups.len().max(1) as f64,
            many_record_clusters: many.len() as f64 / clusters.len() as f64,
            most_records: clusters.values().map(Vec::len).max().unwrap_or(0),
            own_email_on_many,
            invalid_phones: invalid
                .into_iter()
                .map(|(c, (all, bad))| (c, bad as f64 / all as f64))
                .collect(),
            initials: count(&|r| {
                let c: Vec<char> = r[2].chars().collect();
                matches!(c.as_slice(), [i] | [i, '.'] if i.is_uppercase())
            }),
            missing_first: count(&|r| r[2].is_empty()),
            nickname_clusters: clusters
                .values()
                .filter(|c| any_pair(c, &names::are_variants))
                .count(),
            slip_clusters: clusters
                .values()
                .filter(|c| any_pair(c, &one_letter_apart))
                .count(),
        }
    }

    #[test]
    fn real_has_what_real_exports_have_and_classic_lacks_on_100k_rows() {
        let real = shares(&rows(100_000, 42, &Preset::Real.knobs()));
        let classic = shares(&rows(100_000, 42, &Preset::Classic.knobs()));
        println!("real: {real:#?}\nclassic: {classic:#?}");
        for s in [&real, &classic] {
            assert!((0.12..=0.18).contains(&s.duplicate_rows), "{s:?}");
        }
        // households and companies sharing one e-mail or landline
        assert!(real.shared_either >= 0.04, "{real:?}");
        assert!(real.shared_email >= 0.04, "{real:?}");
        assert!(classic.shared_email < 0.001, "{classic:?}");
        assert!(real.shared_phone > classic.shared_phone, "{real:?}");
        assert!((25..=60).contains(&real.largest_email_group), "{real:?}");
        assert!(real.small_email_groups >= 0.8, "{real:?}");
        // people with 5–10 records, their own e-mail on most
        assert!(
            (0.005..=0.015).contains(&real.many_record_clusters),
            "{real:?}"
        );
        assert_eq!(real.most_records, 10);
        assert!(real.own_email_on_many >= 0.7, "{real:?}");
        assert_eq!(
            (classic.many_record_clusters, classic.most_records),
            (0.0, 3)
        );
        // numbers the numbering plan refuses, in every country
        assert_eq!(real.invalid_phones.len(), 3);
        for (country, share) in &real.invalid_phones {
            assert!((0.005..=0.1).contains(share), "{country}: {share}");
        }
        assert_eq!(classic.invalid_phones["de"], 0.0);
        // initials, one-letter slips, nicknames, missing first names
        assert!(real.initials >= 0.005, "{real:?}");
        assert!(real.missing_first >= 0.01, "{real:?}");
        // classic has Jürgen/Juergen, written out
        assert!(real.nickname_clusters >= 500, "{real:?}");
        assert!(real.nickname_clusters > 3 * classic.nickname_clusters);
        assert!(real.slip_clusters >= 100, "{real:?}");
        assert_eq!((classic.initials, classic.missing_first), (0.0, 0.0));
        assert!(classic.slip_clusters < 10, "{classic:?}");
    }

    #[test]
    fn without_slips_every_real_phone_passes_the_plan() {
        let mut k = Preset::Real.knobs();
        k.set("misdialled_people=0").unwrap();
        k.set("misdialled_records=0").unwrap();
        let s = shares(&rows(20_000, 3, &k));
        assert!(s.invalid_phones.values().all(|v| *v == 0.0), "{s:?}");
    }
}
