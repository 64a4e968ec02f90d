//! Normalisers for matching: the forms in which two spellings of the same
//! name, e-mail, phone number, company or address compare equal. They are
//! for comparison only — the hub keeps what the sources wrote.
//!
//! Every normaliser answers `None` for an empty or placeholder value
//! (`-`, `n/a`, `keine`, `test@test.de`, `0000000`): such values are never
//! evidence that two records are the same (seed 000's auto-merge treated
//! empty e-mails as equal and merged strangers).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Values that stand for "nothing here" in real exports.
const PLACEHOLDERS: &[&str] = &[
    "-",
    "--",
    "---",
    ".",
    "?",
    "x",
    "xx",
    "xxx",
    "n/a",
    "na",
    "n.a.",
    "none",
    "null",
    "nil",
    "keine",
    "kein",
    "k.a.",
    "ka",
    "unbekannt",
    "unknown",
    "leer",
    "empty",
    "tbd",
    "todo",
    "test",
    "dummy",
    "0",
];

/// Whether a value is empty or a placeholder.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_lowercase();
    v.is_empty() || PLACEHOLDERS.contains(&v.as_str())
}

/// Lower case, NFKC, German umlauts and ß transliterated (ä → ae, ß → ss),
/// other accents removed (č → c, é → e).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfkc().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'ø' => out.push_str("oe"),
            'đ' => out.push('d'),
            'ł' => out.push('l'),
            c => out.extend(c.to_string().nfd().filter(|c| !is_combining_mark(*c))),
        }
    }
    out
}

/// Words of a folded text: dots and apostrophes dropped (`e.K.` → `ek`,
/// `O'Brien` → `obrien`), other punctuation splits.
pub fn words(s: &str) -> Vec<String> {
    let folded: String = fold(s)
        .chars()
        .filter(|c| !matches!(c, '.' | '\'' | '’' | '`'))
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Academic and courtesy titles that are not part of a name.
const TITLES: &[&str] = &[
    "dr", "prof", "mag", "dipl", "ing", "diplom", "med", "rer", "nat", "phil", "jur", "habil",
    "univ", "mba", "msc", "bsc", "ba", "ma", "llm", "phd", "dds", "herr", "frau", "hr", "fr", "mr",
    "mrs", "ms", "miss", "sir", "gospod", "ga", "dhr", "mevr", "ir", "drs",
];

/// A person's name as comparison words: folded, titles removed, in order.
pub fn name_words(name: &str) -> Vec<String> {
    if is_placeholder(name) {
        return Vec::new();
    }
    let w: Vec<String> = words(name)
        .into_iter()
        .filter(|w| !TITLES.contains(&w.as_str()))
        .collect();
    // what is left may be a placeholder itself (`-x` is `x`)
    match is_placeholder(&w.join(" ")) {
        true => Vec::new(),
        false => w,
    }
}

/// A name for comparison (`Dr. Jürgen  Weißmüller` → `juergen weissmueller`).
pub fn name(name: &str) -> Option<String> {
    let w = name_words(name);
    (!w.is_empty()).then(|| w.join(" "))
}

/// First and last name in either order, as one key (`Novak, Anna` and
/// `Anna Novak` both → `anna novak`).
pub fn person(first: &str, last: &str) -> Option<String> {
    let mut w = name_words(first);
    w.extend(name_words(last));
    if w.is_empty() {
        return None;
    }
    w.sort();
    Some(w.join(" "))
}

/// An e-mail for comparison: trimmed, lower case; `None` when it is no
/// address or a placeholder (`test@test.de`, `noreply@…`).
pub fn email(value: &str) -> Option<String> {
    let v = value.trim().trim_start_matches("mailto:").to_lowercase();
    let (local, domain) = v.split_once('@')?;
    if local.is_empty() || !domain.contains('.') || v.contains(char::is_whitespace) {
        return None;
    }
    let placeholder = matches!(
        local,
        "noreply" | "no-reply" | "donotreply" | "test" | "dummy" | "keine" | "none"
    ) || domain.starts_with("test.")
        || domain.starts_with("example.invalid");
    (!placeholder).then_some(v)
}

/// A phone number as E.164 (`+49 89 1234567`, `0049 89 …`, `089 …` in
/// region DE all → `+49891234567`); `None` when it is no valid number or
/// a placeholder (all one digit, `123456…`).
pub fn phone(value: &str, region: &str) -> Option<String> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let first = digits.chars().next()?;
    if digits.chars().all(|d| d == first) || "1234567890".starts_with(&digits) && digits.len() >= 6
    {
        return None;
    }
    crate::transform::phone::e164(value, region)
        .ok()
        .or_else(|| crate::transform::phone::loose(value, region))
}

/// A phone number that is no valid number (a flagged value, see
/// `transform::flag`) for comparison: its digits, at least six, no
/// placeholder. `0170 12345` and `0170-12345` compare equal; such a form
/// never equals an E.164 form (those start with `+`).
pub fn phone_digits(value: &str) -> Option<String> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let first = digits.chars().next()?;
    let placeholder = digits.chars().all(|d| d == first) || "1234567890".starts_with(&digits);
    (digits.len() >= 6 && !placeholder).then_some(digits)
}

/// Legal forms stripped from the end of a company name.
const LEGAL_FORMS: &[&str] = &[
    "gmbh",
    "mbh",
    "ag",
    "ug",
    "haftungsbeschraenkt",
    "haftungsbeschrankt",
    "ek",
    "ev",
    "kg",
    "kgaa",
    "ohg",
    "gbr",
    "co",
    "se",
    "doo",
    "dd",
    "sp",
    "bv",
    "nv",
    "vof",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "plc",
    "corp",
    "corporation",
    "sa",
    "sarl",
    "srl",
    "spa",
    "ab",
    "oy",
    "as",
    "aps",
];

/// A company name for comparison, legal forms removed (`Weißmüller Bau
/// GmbH & Co. KG` → `weissmueller bau`). A name that is nothing but a
/// legal form keeps it.
pub fn company(value: &str) -> Option<String> {
    if is_placeholder(value) {
        return None;
    }
    let mut w = words(value);
    let all = w.clone();
    while w.last().is_some_and(|t| LEGAL_FORMS.contains(&t.as_str())) {
        w.pop();
    }
    let w = if w.is_empty() { all } else { w };
    // what is left may be a placeholder itself (`-x` is `x`)
    Some(w.join(" ")).filter(|c| !is_placeholder(c))
}

/// A street with its house number for comparison: `Straße`, `Strasse`,
/// `Str.` all `str`; `12 a`, `12-a`, `12A` all `12a`.
pub fn street(value: &str) -> Option<String> {
    if is_placeholder(value) {
        return None;
    }
    let w: Vec<String> = words(value)
        .into_iter()
        .map(|t| {
            let t = t.replace("strasse", "str");
            match t.strip_suffix("str") {
                Some(stem) if !stem.is_empty() => format!("{stem}str"),
                _ => t,
            }
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    for t in w {
        // a single letter after a number is the number's suffix
        let joins = t.len() == 1
            && t.chars().all(char::is_alphabetic)
            && out
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        match (joins, out.last_mut()) {
            (true, Some(p)) => p.push_str(&t),
            _ => out.push(t),
        }
    }
    Some(out.join(" ")).filter(|st| !is_placeholder(st))
}

/// A postcode for comparison: letters and digits, upper case, a country
/// prefix dropped (`D-80331` → `80331`, `1234 ab` → `1234AB`).
pub fn postcode(value: &str) -> Option<String> {
    let v = value.trim();
    let v = match v.split_once('-') {
        Some((cc, rest)) if cc.len() <= 2 && cc.chars().all(char::is_alphabetic) => rest,
        _ => v,
    };
    let out: String = v
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_uppercase();
    (!out.is_empty() && !is_placeholder(&out)).then_some(out)
}
