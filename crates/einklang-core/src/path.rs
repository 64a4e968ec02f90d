//! Paths into raw records: where a mapping, an id, a filter or a soft
//! delete finds a value in the JSON an API answers, and where a push
//! writes it back.
//!
//! Two spellings, one meaning:
//!
//! - a **JSON pointer** (RFC 6901): `/custom_fields_values/0/values/0/value`
//!   — `~1` is `/`, `~0` is `~`, a number indexes an array;
//! - a **readable path**: keys joined by dots, brackets for arrays —
//!   `address.city`, `values[0].value`, `emailAddresses[*].address` (every
//!   element), `custom_fields_values[field_id=1218176].values[0].value`
//!   (the element whose `field_id` is 1218176), `_embedded.contacts[is_main=true].id`,
//!   `column_values[id=email].text`, `["key with.dots"]`. A selector may
//!   name several keys (`[type=phone,primary=true]`); its values are JSON
//!   (`true`, `12`, `null`) or text, quoted with `"` when they hold `,` or `]`.
//!
//! **Reading** gives the value there, `None` when the way is missing; a
//! `[*]` gives the array of what each element holds there (elements
//! without it left out), a selector the first matching element. A
//! selector's number matches the same number written as text and back
//! (APIs are not consistent about ids).
//!
//! **Writing** creates the way where it is missing: objects for keys,
//! arrays for indexes and selectors. A selector patches the matching
//! element in place — its other keys and the array's other elements stay
//! — and appends an element carrying the selector's keys when none
//! matches; an object written as the selected element keeps the
//! selector's keys. `[*]` distributes an array over the elements (element *i*
//! takes item *i*, keeping its other keys; extra elements go). An index
//! past the end pads with `null`.
//!
//! Hand-written rather than a JSONPath crate: JSONPath has no write side
//! and no "create the keyed element when it is missing", which is the
//! point of this module, and the grammar is a few dozen lines.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// One step of a path.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    /// An object key (a number also indexes an array, as in JSON pointers).
    Key(String),
    /// An array index.
    Index(usize),
    /// Every element of an array.
    All,
    /// The first element whose keys hold these values.
    Select(Vec<(String, Value)>),
}

/// A parsed path; its text is kept for messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    text: String,
    segments: Vec<Segment>,
}

/// A path that cannot be parsed: where (a 0-based character column in
/// the path's text) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("path `{text}`, column {}: {message}", column + 1)]
pub struct PathError {
    /// The path's text.
    pub text: String,
    /// 0-based character column of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parse a pointer (`/a/0`) or a readable path (`a[k=v].b`).
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let segments = match text.strip_prefix('/') {
            Some(rest) => pointer(rest),
            None => Parser::new(text).readable()?,
        };
        if segments.is_empty() {
            return Err(PathError {
                text: text.into(),
                column: 0,
                message: "an empty path names nothing".into(),
            });
        }
        Ok(Path {
            text: text.to_string(),
            segments,
        })
    }

    /// The steps.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The text it was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key of the first step (what a record's top level must hold).
    pub fn top_key(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// Is it one plain key?
    pub fn is_key(&self) -> bool {
        matches!(self.segments.as_slice(), [Segment::Key(_)])
    }

    /// The value at the path (see the module docs).
    pub fn get<'a>(&self, root: &'a Map<String, Value>) -> Option<Cow<'a, Value>> {
        let (first, rest) = self.segments.split_first()?;
        let start = match first {
            Segment::Key(k) => root.get(k)?,
            _ => return None,
        };
        read(start, rest)
    }

    /// Write `value` at the path (see the module docs).
    pub fn set(&self, root: &mut Map<String, Value>, value: Value) {
        let Some((Segment::Key(k), rest)) = self.segments.split_first() else {
            return;
        };
        let slot = root.entry(k.clone()).or_insert(Value::Null);
        write(slot, rest, value);
    }
}

/// The top-level key a raw field name or path writes into (`a.b[0]` →
/// `a`); a text that is no valid path is its own key.
pub fn top_key_of(text: &str) -> String {
    if !(text.starts_with('/') || text.contains('[') || text.contains('.')) {
        return text.to_string();
    }
    match Path::parse(text) {
        Ok(p) => p.top_key().unwrap_or(text).to_string(),
        Err(_) => text.to_string(),
    }
}

fn pointer(rest: &str) -> Vec<Segment> {
    rest.split('/')
        .map(|t| Segment::Key(t.replace("~1", "/").replace("~0", "~")))
        .collect()
}

/// Read `segments` from `v`.
fn read<'a>(v: &'a Value, segments: &[Segment]) -> Option<Cow<'a, Value>> {
    let Some((seg, rest)) = segments.split_first() else {
        return Some(Cow::Borrowed(v));
    };
    match (seg, v) {
        (Segment::Key(k), Value::Object(m)) => read(m.get(k)?, rest),
        (Segment::Key(k), Value::Array(a)) => read(a.get(k.parse::<usize>().ok()?)?, rest),
        (Segment::Index(i), Value::Array(a)) => read(a.get(*i)?, rest),
        (Segment::Select(keys), Value::Array(a)) => {
            read(a.iter().find(|e| selected(e, keys))?, rest)
        }
        (Segment::All, Value::Array(a)) => {
            let mut out = Vec::new();
            for e in a {
                match read(e, rest).map(Cow::into_owned) {
                    // a nested [*] flattens into this one
                    Some(Value::Array(inner)) if rest.contains(&Segment::All) => out.extend(inner),
                    Some(Value::Null) | None => {}
                    Some(x) => out.push(x),
                }
            }
            Some(Cow::Owned(Value::Array(out)))
        }
        _ => None,
    }
}

/// Does `element` hold every `(key, value)` of a selector?
fn selected(element: &Value, keys: &[(String, Value)]) -> bool {
    keys.iter()
        .all(|(k, want)| element.get(k).is_some_and(|have| same(have, want)))
}

/// Equal, or the same number or flag once written as text.
fn same(have: &Value, want: &Value) -> bool {
    have == want || text_of(have).is_some_and(|h| text_of(want).as_deref() == Some(&h))
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Write `value` at `segments` below `slot`, creating the way.
/// Null, or objects and arrays of nothing but nulls.
fn all_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.values().all(all_null),
        Value::Array(a) => a.iter().all(all_null),
        _ => false,
    }
}

fn write(slot: &mut Value, segments: &[Segment], value: Value) {
    let Some((seg, rest)) = segments.split_first() else {
        *slot = value;
        return;
    };
    match seg {
        Segment::Key(k) => match slot {
            Value::Array(a) if k.parse::<usize>().is_ok() => {
                write(element(a, k.parse().unwrap_or(0)), rest, value)
            }
            _ => {
                let object = object(slot);
                write(object.entry(k.clone()).or_insert(Value::Null), rest, value)
            }
        },
        Segment::Index(i) => {
            let clearing = value.is_null();
            let a = array(slot);
            write(element(a, *i), rest, value);
            // clearing the one element of a list clears the list: Kommo
            // clears a custom field by `"values": null`
            if clearing && a.len() == 1 && all_null(&a[0]) {
                *slot = Value::Null;
            }
        }
        Segment::Select(keys) => {
            let a = array(slot);
            let at = match a.iter().position(|e| selected(e, keys)) {
                Some(at) => at,
                None => {
                    let new: Map<String, Value> = keys.iter().cloned().collect();
                    a.push(Value::Object(new));
                    a.len() - 1
                }
            };
            match (rest.is_empty(), value) {
                // an object written as the element keeps its selector keys
                (true, Value::Object(mut m)) => {
                    for (k, v) in keys {
                        m.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                    a[at] = Value::Object(m);
                }
                (_, value) => write(&mut a[at], rest, value),
            }
        }
        Segment::All if rest.is_empty() => *slot = value,
        Segment::All => {
            let items = match value {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                one => vec![one],
            };
            let a = array(slot);
            a.truncate(items.len());
            for (i, item) in items.into_iter().enumerate() {
                write(element(a, i), rest, item);
            }
        }
    }
}

fn object(slot: &mut Value) -> &mut Map<String, Value> {
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

fn array(slot: &mut Value) -> &mut Vec<Value> {
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut().expect("just made an array")
}

fn element(a: &mut Vec<Value>, i: usize) -> &mut Value {
    if a.len() <= i {
        a.resize(i + 1, Value::Null);
    }
    &mut a[i]
}

/// The readable spelling's parser.
struct Parser<'t> {
    text: &'t str,
    chars: Vec<char>,
    at: usize,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Self {
        Parser {
            text,
            chars: text.chars().collect(),
            at: 0,
        }
    }

    fn fail<T>(&self, column: usize, message: impl Into<String>) -> Result<T, PathError> {
        Err(PathError {
            text: self.text.into(),
            column,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn readable(mut self) -> Result<Vec<Segment>, PathError> {
        let mut out = Vec::new();
        let mut first = true;
        while self.at < self.chars.len() {
            match self.peek() {
                Some('[') => out.push(self.bracket()?),
                Some('.') if !first => {
                    self.at += 1;
                    out.push(Segment::Key(self.key()?));
                }
                _ if first => out.push(Segment::Key(self.key()?)),
                Some(c) => return self.fail(self.at, format!("`{c}` here: expected `.` or `[`")),
                None => {}
            }
            first = false;
        }
        Ok(out)
    }

    /// A bare key up to the next `.` or `[`.
    fn key(&mut self) -> Result<String, PathError> {
        let start = self.at;
        while let Some(c) = self.peek() {
            match c {
                '.' | '[' => break,
                ']' => return self.fail(self.at, "`]` without its `[`"),
                _ => self.at += 1,
            }
        }
        if self.at == start {
            return self.fail(start, "a key is missing here");
        }
        Ok(self.chars[start..self.at].iter().collect())
    }

    /// `[*]`, `[3]`, `["key"]` or `[k=v,k2=v2]`.
    fn bracket(&mut self) -> Result<Segment, PathError> {
        let open = self.at;
        self.at += 1;
        let segment = match self.peek() {
            Some('*') => {
                self.at += 1;
                Segment::All
            }
            Some('"') => Segment::Key(self.quoted()?),
            Some(c) if c.is_ascii_digit() => {
                let digits = self.until(&[']']);
                match digits.parse() {
                    Ok(i) if !digits.contains('=') => Segment::Index(i),
                    _ => {
                        self.at = open + 1;
                        Segment::Select(self.selector()?)
                    }
                }
            }
            Some(_) => Segment::Select(self.selector()?),
            None => return self.fail(open, "`[` is not closed"),
        };
        match self.peek() {
            Some(']') => {
                self.at += 1;
                Ok(segment)
            }
            _ => self.fail(open, "`[` is not closed with `]`"),
        }
    }

    fn until(&mut self, stops: &[char]) -> String {
        let start = self.at;
        while self.peek().is_some_and(|c| !stops.contains(&c)) {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn quoted(&mut self) -> Result<String, PathError> {
        let open = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.fail(open, "the quote is not closed"),
                Some('"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some('\\') if self.chars.get(self.at + 1) == Some(&'"') => {
                    out.push('"');
                    self.at += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    /// `k=v` pairs separated by `,`.
    fn selector(&mut self) -> Result<Vec<(String, Value)>, PathError> {
        let mut keys = Vec::new();
        loop {
            let start = self.at;
            let key = self.until(&['=', ']', ',']).trim().to_string();
            if key.is_empty() || self.peek() != Some('=') {
                let what = "expected `*`, an index, a \"quoted key\" or `key=value`";
                return self.fail(start, what);
            }
            self.at += 1;
            let value = match self.peek() {
                Some('"') => Value::String(self.quoted()?),
                _ => {
                    let from = self.at;
                    let text = self.until(&[']', ',', '[']);
                    if self.peek() == Some('[') {
                        return self.fail(from, "a value holding `[` must be quoted");
                    }
                    literal(text.trim())
                }
            };
            keys.push((key, value));
            match self.peek() {
                Some(',') => self.at += 1,
                _ => return Ok(keys),
            }
        }
    }
}

/// A selector's unquoted value: JSON when it is a number, flag or null,
/// else text.
fn literal(text: &str) -> Value {
    match text {
        "true" | "false" | "null" => serde_json::from_str(text).unwrap_or(Value::Null),
        _ if text.parse::<f64>().is_ok() => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()))
        }
        _ => Value::String(text.into()),
    }
}

#[cfg(test)]
mod tests;
