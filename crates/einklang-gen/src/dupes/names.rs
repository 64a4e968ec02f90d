//! First names as other records write them: given-name variants
//! (nicknames, short forms, transliterations), initials and one-letter
//! slips in short names. The table is the generator's own, written for it;
//! the product keeps its own and the two share no code, so a benchmark on
//! this data does not grade the product against its own list.

use super::pools::Country;
use crate::rng::Rng;

/// Given names and the other forms the same person's records carry:
/// short forms and nicknames, spelling variants and transliterations.
/// The first entry of a row is the formal name a person may be drawn
/// with ([`formal`]); every name of a row is a variant of the others.
const DE: &[&[&str]] = &[
    &["Johannes", "Hans", "Jan", "Johann"],
    &["Josef", "Sepp", "Joseph", "Jupp"],
    &["Elisabeth", "Lisa", "Elise", "Liesel"],
    &["Katharina", "Katja", "Kathrin", "Käthe", "Katrin"],
    &["Alexander", "Alex", "Sascha"],
    &["Aleksandr", "Alexander", "Sascha", "Sasha", "Alexandr"],
    &["Jürgen", "Juergen"],
    &["Jörg", "Joerg"],
    &["Björn", "Bjoern"],
    &["Michael", "Micha", "Michi"],
    &["Andreas", "Andi"],
    &["Stefan", "Stephan"],
    &["Christian", "Chris"],
    &["Matthias", "Mathias", "Matze"],
    &["Maximilian", "Max"],
    &["Sebastian", "Basti"],
    &["Tobias", "Tobi"],
    &["Florian", "Flo"],
    &["Philipp", "Phil", "Philip"],
    &["Benedikt", "Bene"],
    &["Friedrich", "Fritz"],
    &["Wilhelm", "Willi", "Willy"],
    &["Heinrich", "Heinz", "Heiner"],
    &["Franziska", "Franzi"],
    &["Stefanie", "Steffi", "Stephanie"],
    &["Susanne", "Susi", "Sanne"],
    &["Christine", "Christina", "Tine"],
    &["Johanna", "Hanna", "Hannah"],
    &["Barbara", "Bärbel", "Babsi"],
    &["Ursula", "Uschi", "Ulla"],
    &["Margarete", "Grete", "Greta", "Margret"],
    &["Dmitrij", "Dmitri", "Dmitry"],
    &["Sergej", "Sergei", "Sergey"],
    &["Natalja", "Natalia", "Natascha", "Natalya"],
    &["Jelena", "Elena"],
    &["Jekaterina", "Ekaterina", "Katja"],
];
const GB: &[&[&str]] = &[
    &["William", "Bill", "Will", "Billy"],
    &["Robert", "Bob", "Rob", "Bobby"],
    &["Margaret", "Peggy", "Maggie", "Meg"],
    &["Elizabeth", "Liz", "Beth", "Lisa", "Betty"],
    &["James", "Jim", "Jimmy", "Jamie"],
    &["Richard", "Rick", "Dick", "Rich"],
    &["Edward", "Ed", "Ted", "Eddie"],
    &["Samuel", "Sam"],
    &["Joseph", "Joe"],
    &["Thomas", "Tom", "Tommy"],
    &["Daniel", "Dan", "Danny"],
    &["Michael", "Mike", "Mick"],
    &["Andrew", "Andy", "Drew"],
    &["Stephen", "Steve", "Steven"],
    &["Peter", "Pete"],
    &["David", "Dave"],
    &["Henry", "Harry", "Hal"],
    &["Charles", "Charlie", "Chuck"],
    &["Jacob", "Jake"],
    &["Joshua", "Josh"],
    &["Alfred", "Alfie", "Alf"],
    &["Oliver", "Ollie"],
    &["Rebecca", "Becky"],
    &["Jessica", "Jess", "Jessie"],
    &["Amelia", "Millie", "Amy"],
    &["Susan", "Sue", "Susie"],
    &["Catherine", "Kate", "Cathy", "Katie"],
    &["Alexander", "Alex", "Sandy"],
];
const SI: &[&[&str]] = &[
    &["Aleksander", "Saša", "Aleks", "Sasa"],
    &["Janez", "Janko", "Jani"],
    &["Gregor", "Grega"],
    &["Katarina", "Katja", "Kaja"],
    &["Jožef", "Jože", "Joze"],
    &["Tomaž", "Tomi", "Tomaz"],
    &["Matjaž", "Matjaz"],
    &["Žiga", "Ziga"],
    &["Špela", "Spela"],
    &["Urška", "Urska"],
    &["Nataša", "Natasa"],
    &["Franc", "Franci", "Francelj"],
];

fn table(country: Country) -> &'static [&'static [&'static str]] {
    match country {
        Country::De => DE,
        Country::Gb => GB,
        Country::Si => SI,
    }
}

/// A formal name from the variant table of `country` (Johannes, Robert,
/// Aleksandr), for people whose records will show its other forms.
pub fn formal(rng: &mut Rng, country: Country) -> String {
    rng.pick(table(country))[0].to_string()
}

/// The other forms of `name` (Hans → Johannes, Jan, Johann), looked up in
/// every country's rows; empty when the table does not know it.
pub fn variants(name: &str) -> Vec<&'static str> {
    [DE, GB, SI]
        .iter()
        .flat_map(|t| t.iter())
        .filter(|row| row.contains(&name))
        .flat_map(|row| row.iter().copied())
        .filter(|n| *n != name)
        .collect()
}

/// Whether `a` and `b` are forms of one name by the table.
#[cfg(test)]
pub fn are_variants(a: &str, b: &str) -> bool {
    a != b && variants(a).contains(&b)
}

/// Another form of `name`, or `name` itself when it has none.
pub fn variant(rng: &mut Rng, name: &str) -> String {
    let v = variants(name);
    match v.is_empty() {
        true => name.to_string(),
        false => rng.pick(&v).to_string(),
    }
}

/// The initial a form writes for a first name: `G.` mostly, `G` some.
pub fn initial(rng: &mut Rng, name: &str) -> String {
    match name.chars().next() {
        Some(c) if rng.chance(80) => format!("{c}."),
        Some(c) => c.to_string(),
        None => String::new(),
    }
}

/// Names of at most this many letters count as short.
pub const SHORT: usize = 5;

/// One letter of a short name replaced by its neighbour on the keyboard
/// (Dean → Dwan, Tim → Tom); the first letter stays. Longer names and
/// those of fewer than three letters come back unchanged.
pub fn slip(rng: &mut Rng, name: &str) -> String {
    let mut c: Vec<char> = name.chars().collect();
    if c.len() < 3 || c.len() > SHORT {
        return name.to_string();
    }
    let i = 1 + rng.below(c.len() as u64 - 1) as usize;
    let near = neighbours(c[i]);
    if near.is_empty() {
        return name.to_string();
    }
    c[i] = *rng.pick(&near);
    c.into_iter().collect()
}

/// Letters next to `c` on a keyboard: left and right in its row, the keys
/// above and below. QWERTY and QWERTZ differ only in y and z, which are
/// both taken as neighbours of each other's places.
fn neighbours(c: char) -> Vec<char> {
    const ROWS: [&[u8]; 3] = [b"qwertyuiop", b"asdfghjkl", b"zxcvbnm"];
    let lower = c.to_ascii_lowercase();
    let Some((r, i)) = ROWS.iter().enumerate().find_map(|(r, row)| {
        row.iter()
            .position(|b| char::from(*b) == lower)
            .map(|i| (r, i))
    }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut add = |row: usize, col: Option<usize>| {
        if let Some(b) = col.and_then(|col| ROWS[row].get(col)) {
            out.push(char::from(*b));
        }
    };
    add(r, i.checked_sub(1));
    add(r, Some(i + 1));
    if r > 0 {
        add(r - 1, Some(i));
    }
    if r < 2 {
        add(r + 1, Some(i));
    }
    match c.is_uppercase() {
        true => out.iter().map(|c| c.to_ascii_uppercase()).collect(),
        false => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_go_both_ways() {
        assert!(are_variants("Hans", "Johannes"));
        assert!(are_variants("Johannes", "Jan"));
        assert!(are_variants("Bob", "Robert"));
        assert!(are_variants("Aleksandr", "Alexander"));
        assert!(are_variants("Sasha", "Aleksandr"));
        assert!(are_variants("Jürgen", "Juergen"));
        assert!(are_variants("Peggy", "Margaret"));
        assert!(!are_variants("Hans", "Hans"));
        assert!(!are_variants("Hans", "Robert"));
        assert!(variants("Zzz").is_empty());
    }

    #[test]
    fn every_row_has_variants_and_no_blank() {
        for row in DE.iter().chain(GB).chain(SI) {
            assert!(row.len() >= 2, "{row:?}");
            assert!(row.iter().all(|n| !n.trim().is_empty()));
        }
    }

    #[test]
    fn slips_change_one_letter_of_short_names() {
        let mut rng = Rng::new(3);
        assert_eq!(slip(&mut rng, "Alexander"), "Alexander");
        assert_eq!(slip(&mut rng, "Ed"), "Ed");
        for _ in 0..200 {
            let s = slip(&mut rng, "Dean");
            assert_eq!(s.chars().count(), 4);
            assert!(s.starts_with('D'));
            let diff = s
                .chars()
                .zip("Dean".chars())
                .filter(|(a, b)| a != b)
                .count();
            assert!(diff <= 1, "{s}");
        }
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            seen.insert(slip(&mut rng, "Dean"));
        }
        assert!(seen.contains("Dwan"), "{seen:?}");
    }

    #[test]
    fn initials() {
        let mut rng = Rng::new(1);
        let seen: std::collections::BTreeSet<String> =
            (0..100).map(|_| initial(&mut rng, "Jürgen")).collect();
        assert_eq!(seen, ["J", "J."].iter().map(|s| s.to_string()).collect());
    }
}
