//! The checking context: source positions, collected diagnostics, secret
//! interpolation and typed access to TOML values with their spans.

use crate::{Diagnostic, Location};
use std::ops::Range;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A spanned TOML value.
pub type Val<'i> = Spanned<DeValue<'i>>;

/// Everything a checking pass needs, and the problems found so far.
pub struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    line_starts: Vec<usize>,
    /// Problems found.
    pub diags: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn new(text: &'a str, path: &'a Path, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            text,
            path,
            env,
            line_starts,
            diags: Vec::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn loc(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Location {
            file: self.path.to_path_buf(),
            line,
            col,
        }
    }

    /// Record a problem at `span`.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let location = self.loc(span.start);
        self.diags.push(Diagnostic {
            location,
            message: message.into(),
        });
    }

    /// A text value with `${VAR}` replaced; the flag says whether a secret was used.
    pub fn text_secret(&mut self, v: &Val<'_>, what: &str) -> Option<(String, bool)> {
        match v.get_ref() {
            DeValue::String(s) => match interpolate(s, self.env) {
                Ok(r) => Some(r),
                Err(missing) => {
                    for var in missing {
                        self.error(
                            v.span(),
                            format!("{what}: environment variable {var} is not set"),
                        );
                    }
                    None
                }
            },
            other => {
                self.error(
                    v.span(),
                    format!("{what} must be text, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// A text value with `${VAR}` replaced.
    pub fn text(&mut self, v: &Val<'_>, what: &str) -> Option<String> {
        self.text_secret(v, what).map(|(s, _)| s)
    }

    /// A boolean.
    pub fn boolean(&mut self, v: &Val<'_>, what: &str) -> Option<bool> {
        let b = v.get_ref().as_bool();
        if b.is_none() {
            self.error(
                v.span(),
                format!(
                    "{what} must be true or false, found {}",
                    v.get_ref().type_str()
                ),
            );
        }
        b
    }

    /// A table.
    pub fn table<'v, 'i>(&mut self, v: &'v Val<'i>, what: &str) -> Option<&'v DeTable<'i>> {
        let t = v.get_ref().as_table();
        if t.is_none() {
            self.error(
                v.span(),
                format!("{what} must be a table, found {}", v.get_ref().type_str()),
            );
        }
        t
    }

    /// A list of texts (one text is accepted as a list of one).
    pub fn texts(&mut self, v: &Val<'_>, what: &str) -> Option<Vec<(String, Range<usize>)>> {
        match v.get_ref() {
            DeValue::String(_) => self.text(v, what).map(|s| vec![(s, v.span())]),
            DeValue::Array(items) => {
                // every item is checked, so each bad one is reported
                let out: Vec<_> = items
                    .iter()
                    .map(|item| self.text(item, what).map(|s| (s, item.span())))
                    .collect();
                out.into_iter().collect()
            }
            other => {
                self.error(
                    v.span(),
                    format!(
                        "{what} must be text or a list of texts, found {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    /// Any value as JSON, strings interpolated; the flag says whether a secret was used.
    pub fn json(&mut self, v: &Val<'_>, what: &str) -> Option<(serde_json::Value, bool)> {
        use serde_json::Value as J;
        Some(match v.get_ref() {
            DeValue::String(_) => {
                let (s, secret) = self.text_secret(v, what)?;
                (J::String(s), secret)
            }
            DeValue::Integer(i) => {
                let n = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()?;
                (J::from(n), false)
            }
            DeValue::Float(f) => (
                f.as_str()
                    .replace('_', "")
                    .parse::<f64>()
                    .ok()
                    .map_or(J::Null, J::from),
                false,
            ),
            DeValue::Boolean(b) => (J::Bool(*b), false),
            DeValue::Datetime(d) => (J::String(d.to_string()), false),
            DeValue::Array(items) => {
                // every item is converted, so each missing secret is reported
                let items: Vec<_> = items.iter().map(|item| self.json(item, what)).collect();
                let items: Vec<_> = items.into_iter().collect::<Option<_>>()?;
                let secret = items.iter().any(|(_, s)| *s);
                (
                    J::Array(items.into_iter().map(|(j, _)| j).collect()),
                    secret,
                )
            }
            DeValue::Table(t) => {
                let items: Vec<_> = t
                    .iter()
                    .map(|(k, item)| Some((k.get_ref().to_string(), self.json(item, what)?)))
                    .collect();
                let items: Vec<_> = items.into_iter().collect::<Option<_>>()?;
                let secret = items.iter().any(|(_, (_, s))| *s);
                let out = items.into_iter().map(|(k, (j, _))| (k, j)).collect();
                (J::Object(out), secret)
            }
        })
    }

    /// Report keys of `table` that are not in `allowed`, with a hint when one is close.
    pub fn unknown_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], what: &str) {
        for key in table.keys() {
            let k = key.get_ref();
            if !allowed.contains(&k.as_ref()) {
                let hint = closest(k, allowed)
                    .map(|c| format!(" — did you mean `{c}`?"))
                    .unwrap_or_default();
                self.error(key.span(), format!("unknown key `{k}` in {what}{hint}"));
            }
        }
    }
}

/// A number (integer or float) as `f64`; None for anything else.
pub fn number(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .ok()
            .map(|n| n as f64),
        DeValue::Float(f) => f.as_str().replace('_', "").parse().ok(),
        _ => None,
    }
}

/// A value as written, for messages: `"text"` quoted, numbers as given,
/// anything else by its type (`table`, `array`, ...).
pub fn shown(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("\"{s}\""),
        DeValue::Integer(i) => i.as_str().to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

/// ` — did you mean `x`?` when an allowed word is close to `word`, else empty.
pub fn hint(word: &str, allowed: &[&str]) -> String {
    closest(word, allowed)
        .map(|c| format!(" — did you mean `{c}`?"))
        .unwrap_or_default()
}

/// The allowed word within edit distance 2 of `word`, if any.
pub fn closest<'w>(word: &str, allowed: &[&'w str]) -> Option<&'w str> {
    allowed
        .iter()
        .map(|a| (levenshtein(word, a), *a))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, a)| a)
}

/// Edit distance; the lists compared here are a handful of short keys, so
/// a dozen lines beat a dependency.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Replace `${VAR}` from `env`; `$${` is a literal `${`. Returns the text and
/// whether any variable was used, or the names of the missing variables.
pub fn interpolate(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, bool), Vec<String>> {
    let mut out = String::with_capacity(s.len());
    let mut missing = Vec::new();
    let mut used = false;
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(body) = tail.strip_prefix("${") {
            match body.find('}') {
                Some(end) => {
                    let var = &body[..end];
                    match env(var) {
                        Some(v) => {
                            out.push_str(&v);
                            used = true;
                        }
                        None => missing.push(var.to_string()),
                    }
                    rest = &body[end + 1..];
                }
                None => {
                    out.push_str(tail);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok((out, used))
    } else {
        Err(missing)
    }
}
