//! Kölner Phonetik (Postel, 1969): a phonetic code for German names, so
//! that Meier, Maier, Mayer and Meyer (all `67`) or Schmidt and Schmitt
//! (`862`) land in the same block. Hand-written: the algorithm is one
//! table and a dozen context rules, and the crates that offer it either
//! drag in a large NLP stack or treat umlauts and ß differently from the
//! published rules.

/// The code of a word (letters other than A–Z, umlauts and ß are skipped).
pub fn koelner(word: &str) -> String {
    let letters: Vec<char> = word
        .chars()
        .flat_map(|c| c.to_lowercase())
        .filter_map(|c| match c {
            'ä' => Some('a'),
            'ö' => Some('o'),
            'ü' => Some('u'),
            'ß' => Some('s'),
            'a'..='z' => Some(c),
            _ => None,
        })
        .collect();
    let mut digits = String::new();
    for (i, &c) in letters.iter().enumerate() {
        let prev = if i > 0 { Some(letters[i - 1]) } else { None };
        let next = letters.get(i + 1).copied();
        let code = match c {
            'a' | 'e' | 'i' | 'j' | 'o' | 'u' | 'y' => "0",
            'h' => "",
            'b' => "1",
            'p' => match next {
                Some('h') => "3",
                _ => "1",
            },
            'd' | 't' => match next {
                Some('c' | 's' | 'z') => "8",
                _ => "2",
            },
            'f' | 'v' | 'w' => "3",
            'g' | 'k' | 'q' => "4",
            'c' => c_code(prev, next),
            'x' => match prev {
                Some('c' | 'k' | 'q') => "8",
                _ => "48",
            },
            'l' => "5",
            'm' | 'n' => "6",
            'r' => "7",
            's' | 'z' => "8",
            _ => "",
        };
        digits.push_str(code);
    }
    // collapse repeats, then drop the zeros but a leading one
    let mut collapsed = String::new();
    for d in digits.chars() {
        if !collapsed.ends_with(d) {
            collapsed.push(d);
        }
    }
    let mut out = String::new();
    for (i, d) in collapsed.chars().enumerate() {
        if d != '0' || i == 0 {
            out.push(d);
        }
    }
    out
}

fn c_code(prev: Option<char>, next: Option<char>) -> &'static str {
    match prev {
        None => match next {
            Some('a' | 'h' | 'k' | 'l' | 'o' | 'q' | 'r' | 'u' | 'x') => "4",
            _ => "8",
        },
        Some('s' | 'z') => "8",
        Some(_) => match next {
            Some('a' | 'h' | 'k' | 'o' | 'q' | 'u' | 'x') => "4",
            _ => "8",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::koelner;

    #[test]
    fn published_examples() {
        assert_eq!(koelner("Müller-Lüdenscheidt"), "65752682");
        assert_eq!(koelner("Wikipedia"), "3412");
        assert_eq!(koelner("Breschnew"), "17863");
    }

    #[test]
    fn spellings_of_one_name_share_a_code() {
        for group in [
            &["Meier", "Maier", "Mayer", "Meyer"][..],
            &["Schmidt", "Schmitt", "Schmid"],
            &["Müller", "Mueller", "Muller"],
            &["Christoph", "Kristof"],
        ] {
            let codes: Vec<String> = group.iter().map(|n| koelner(n)).collect();
            assert!(
                codes.windows(2).all(|w| w[0] == w[1]),
                "{group:?}: {codes:?}"
            );
        }
        assert_ne!(koelner("Meier"), koelner("Müller"));
        assert_eq!(koelner(""), "");
        assert_eq!(koelner("---"), "");
    }
}
