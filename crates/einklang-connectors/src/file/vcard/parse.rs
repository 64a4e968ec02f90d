//! Reading and writing vCard 3.0/4.0 text.
//!
//! Hand-written on purpose: the vCard crates on crates.io either pull in a
//! large parser stack or drop properties they do not model, and einklang must
//! keep unknown properties (`PHOTO`, `X-…`) byte for byte when it writes a
//! card back. The subset here is RFC 6350's line format: folding, groups,
//! parameters, and the `\\ \, \; \n` escapes.

use serde_json::{json, Map, Value};

mod update;

/// One unfolded content line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The property name, upper-case, group stripped.
    pub name: String,
    /// Parameters as written (`TYPE=work`), upper-cased keys.
    pub params: Vec<(String, String)>,
    /// The raw (still escaped) value.
    pub value: String,
    /// The whole line as it was in the file (unfolded).
    pub raw: String,
    /// The line's bytes as they were: its physical lines with their folds
    /// and line breaks, and the blank lines after it.
    pub text: String,
}

/// Unfold and split a card into its content lines (BEGIN/END included).
pub fn lines(text: &str) -> Result<Vec<Line>, String> {
    // (unfolded line, its text as it was)
    let mut unfolded: Vec<(String, String)> = Vec::new();
    let mut leading = String::new();
    for physical in text.split_inclusive('\n') {
        let content = physical.strip_suffix('\n').unwrap_or(physical);
        let content = content.strip_suffix('\r').unwrap_or(content);
        if let Some(rest) = content.strip_prefix([' ', '\t']) {
            match unfolded.last_mut() {
                Some((line, was)) => {
                    line.push_str(rest);
                    was.push_str(physical);
                }
                None => return Err("the file starts with a continuation line".into()),
            }
        } else if content.is_empty() {
            match unfolded.last_mut() {
                Some((_, was)) => was.push_str(physical),
                None => leading.push_str(physical),
            }
        } else {
            let mut was = std::mem::take(&mut leading);
            was.push_str(physical);
            unfolded.push((content.to_string(), was));
        }
    }
    unfolded
        .into_iter()
        .map(|(l, was)| line(&l).map(|line| Line { text: was, ..line }))
        .collect()
}

fn line(raw: &str) -> Result<Line, String> {
    let mut in_quotes = false;
    let colon = raw
        .char_indices()
        .find(|&(_, c)| {
            if c == '"' {
                in_quotes = !in_quotes;
            }
            c == ':' && !in_quotes
        })
        .map(|(i, _)| i)
        .ok_or_else(|| format!("line without `:`: {}", crate::excerpt(raw, 60)))?;
    let (head, value) = (&raw[..colon], &raw[colon + 1..]);
    let mut parts = head.split(';');
    let name = parts.next().unwrap_or_default();
    let name = name
        .rsplit('.')
        .next()
        .unwrap_or(name)
        .trim()
        .to_uppercase();
    if name.is_empty() {
        return Err(format!(
            "line without a property name: {}",
            crate::excerpt(raw, 60)
        ));
    }
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_uppercase(), v.trim_matches('"').to_string()),
            None => ("TYPE".to_string(), p.to_string()),
        })
        .collect();
    Ok(Line {
        name,
        params,
        value: value.to_string(),
        raw: raw.to_string(),
        text: String::new(),
    })
}

/// Undo vCard escaping.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escape text for a vCard value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Split a structured value at unescaped `sep`, unescaping each part.
pub fn components(value: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            parts.push(unescape(&cur));
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    parts.push(unescape(&cur));
    parts
}

fn type_param(l: &Line) -> Option<String> {
    let types: Vec<String> = l
        .params
        .iter()
        .filter(|(k, _)| k == "TYPE")
        .flat_map(|(_, v)| v.split(',').map(|t| t.to_lowercase()))
        .filter(|t| t != "internet" && t != "pref" && t != "voice")
        .collect();
    (!types.is_empty()).then(|| types.join(","))
}

/// The raw fields of a card (see docs/CONFIG.md for the names).
pub fn fields(lines: &[Line]) -> Map<String, Value> {
    let mut f = Map::new();
    let mut push = |key: &str, v: Value| {
        if let Value::Array(list) = f.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
            list.push(v);
        }
    };
    let mut single: Vec<(&str, Value)> = Vec::new();
    for l in lines {
        match l.name.as_str() {
            "UID" => single.push(("uid", json!(unescape(&l.value)))),
            "FN" => single.push(("fn", json!(unescape(&l.value)))),
            "N" => {
                let c = components(&l.value, ';');
                let get = |i: usize| c.get(i).cloned().unwrap_or_default();
                single.push(("n", json!({"family": get(0), "given": get(1), "additional": get(2), "prefix": get(3), "suffix": get(4)})));
            }
            "ORG" => single.push((
                "org",
                json!(components(&l.value, ';').join(", ").trim_end_matches(", ")),
            )),
            "TITLE" => single.push(("title", json!(unescape(&l.value)))),
            "EMAIL" => push("email", json!(unescape(&l.value))),
            "TEL" => push(
                "tel",
                json!(unescape(l.value.strip_prefix("tel:").unwrap_or(&l.value))),
            ),
            "ADR" => {
                let c = components(&l.value, ';');
                let get = |i: usize| c.get(i).cloned().unwrap_or_default();
                let mut a = json!({"street": get(2), "city": get(3), "region": get(4), "postcode": get(5), "country": get(6)});
                if let Some(t) = type_param(l) {
                    a["type"] = json!(t);
                }
                push("adr", a);
            }
            "BDAY" => single.push(("bday", json!(basic_date(&unescape(&l.value))))),
            "NOTE" => single.push(("note", json!(unescape(&l.value)))),
            "URL" => single.push(("url", json!(unescape(&l.value)))),
            "REV" => single.push(("rev", json!(unescape(&l.value)))),
            "CATEGORIES" => single.push(("categories", json!(components(&l.value, ',')))),
            _ => {}
        }
    }
    for (k, v) in single {
        f.insert(k.to_string(), v);
    }
    f
}

/// `19800203` → `1980-02-03`; anything else unchanged.
fn basic_date(s: &str) -> String {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..])
    } else {
        s.to_string()
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// The VERSION of a card's lines (`3.0` when it names none).
pub fn version(lines: &[Line]) -> &str {
    let v = lines.iter().find(|l| l.name == "VERSION");
    v.map_or("3.0", |l| l.value.trim())
}

/// The card `lines` with `fields` merged in (a null removes), every line
/// whose value did not change kept as it was: see [`update`].
pub fn rewrite(lines: Vec<Line>, uid: &str, fields: &Map<String, Value>) -> String {
    update::rewrite(&lines, uid, fields)
}

/// Render a new vCard 3.0 card from raw fields.
pub fn render(uid: &str, f: &Map<String, Value>) -> String {
    render_as("3.0", uid, f, &[])
}

/// Render a card of `version` (`3.0` or `4.0`) from raw fields, keeping
/// `kept` (unknown properties of the card being replaced) before END.
pub fn render_as(version: &str, uid: &str, f: &Map<String, Value>, kept: &[Line]) -> String {
    let v4 = version == "4.0";
    let mut out: Vec<String> = vec![
        "BEGIN:VCARD".into(),
        format!("VERSION:{}", if v4 { "4.0" } else { "3.0" }),
        format!("UID:{}", escape(uid)),
    ];
    let n = f.get("n");
    let part = |k: &str| escape(&text(n.and_then(|n| n.get(k))));
    // FN is required: a card created from a record without one gets its
    // name from N (or ORG)
    let mut fn_ = text(f.get("fn"));
    if fn_.trim().is_empty() {
        let name = [
            text(n.and_then(|n| n.get("given"))),
            text(n.and_then(|n| n.get("family"))),
        ];
        fn_ = name
            .iter()
            .filter(|p| !p.trim().is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        if fn_.is_empty() {
            fn_ = text(f.get("org"));
        }
    }
    out.push(format!("FN:{}", escape(&fn_)));
    out.push(format!(
        "N:{};{};{};{};{}",
        part("family"),
        part("given"),
        part("additional"),
        part("prefix"),
        part("suffix")
    ));
    for (key, prop) in [
        ("org", "ORG"),
        ("title", "TITLE"),
        ("bday", "BDAY"),
        ("note", "NOTE"),
        ("url", "URL"),
        ("rev", "REV"),
    ] {
        let v = text(f.get(key));
        if !v.is_empty() {
            out.push(format!("{prop}:{}", escape(&v)));
        }
    }
    // 4.0 has no TYPE=INTERNET, and its TEL is a URI unless VALUE=text
    let (email, tel) = match v4 {
        true => ("EMAIL", "TEL;VALUE=text"),
        false => ("EMAIL;TYPE=INTERNET", "TEL"),
    };
    for e in list(f.get("email")) {
        out.push(format!("{email}:{}", escape(&text(Some(e)))));
    }
    for t in list(f.get("tel")) {
        out.push(format!("{tel}:{}", escape(&text(Some(t)))));
    }
    for a in list(f.get("adr")) {
        let p = |k: &str| escape(&text(a.get(k)));
        let ty = text(a.get("type"));
        let head = if ty.is_empty() {
            "ADR".to_string()
        } else {
            format!("ADR;TYPE={ty}")
        };
        out.push(format!(
            "{head}:;;{};{};{};{};{}",
            p("street"),
            p("city"),
            p("region"),
            p("postcode"),
            p("country")
        ));
    }
    let cats: Vec<String> = list(f.get("categories"))
        .into_iter()
        .map(|c| escape(&text(Some(c))))
        .collect();
    if !cats.is_empty() {
        out.push(format!("CATEGORIES:{}", cats.join(",")));
    }
    out.extend(kept.iter().map(|l| l.raw.clone()));
    out.push("END:VCARD".into());
    let mut text = String::new();
    for l in out {
        fold_into(&mut text, &l);
    }
    text
}

/// Append `line` folded at 75 octets (never inside a UTF-8 sequence), CRLF.
/// The same folding as iCalendar's (RFC 5545 §3.1).
pub fn fold_into(out: &mut String, line: &str) {
    fold_with(out, line, "\r\n");
}

/// [`fold_into`] with the line break `eol` (`\r\n` or `\n`).
pub fn fold_with(out: &mut String, line: &str, eol: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str(eol);
            out.push(' ');
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str(eol);
}
