//! An update of a card in place: only the properties whose value changes
//! are written, every other line stays as it was, byte for byte.
//!
//! The given fields are merged into the card's fields (a null removes; an
//! `n` object names only the parts it changes), the result is rendered as
//! a fresh card and read back: that read is the normalised new value of
//! each field, compared with the read of the card as it is. Only a field
//! that was given and whose normalised value differs touches its lines:
//!
//! - a single property (`FN`, `N`, `ORG`, `TITLE`, `BDAY`, `NOTE`, `URL`,
//!   `REV`, `CATEGORIES`): the line the read takes its value from (the last
//!   of its name) gets the new value behind its own group and parameters
//!   (a fresh line when those name an `ENCODING` or `CHARSET`); other lines
//!   of the name stay; a removed value removes every line of the name; a
//!   new one is a new line before `END:VCARD`;
//! - a list (`EMAIL`, `TEL`, `ADR`): each old line whose normalised value
//!   is still in the list stays as it is (group, parameters, place), lines
//!   of values no longer there go, new values get new lines next to the
//!   kept ones in list order (before `END:VCARD` when the card had none).
//!   A list whose kept values come in another order is written as one
//!   block where its first line was.
//!
//! `BEGIN`, `VERSION`, `UID`, `END` and every property einklang does not
//! map are never touched. New and changed lines are folded at 75 octets
//! and end with the card's own line break (`\r\n` unless it uses `\n`).

use super::{fields, fold_with, render_as, version, Line};
use crate::ops::merge;
use serde_json::{Map, Value};

/// The fields einklang writes, their property and whether they are lists.
const PROPS: [(&str, &str, bool); 12] = [
    ("fn", "FN", false),
    ("n", "N", false),
    ("org", "ORG", false),
    ("title", "TITLE", false),
    ("email", "EMAIL", true),
    ("tel", "TEL", true),
    ("adr", "ADR", true),
    ("bday", "BDAY", false),
    ("note", "NOTE", false),
    ("url", "URL", false),
    ("rev", "REV", false),
    ("categories", "CATEGORIES", false),
];

/// The card `lines` with `given` merged in (see the module).
pub(super) fn rewrite(lines: &[Line], uid: &str, given: &Map<String, Value>) -> String {
    let current = fields(lines);
    let mut merged = current.clone();
    merge(&mut merged, given);
    // `n` given as an object changes only the parts it names
    if let (Some(Value::Object(old)), Some(Value::Object(parts))) =
        (current.get("n"), given.get("n"))
    {
        let mut n = old.clone();
        merge(&mut n, parts);
        merged.insert("n".into(), Value::Object(n));
    }
    let fresh = super::lines(&render_as(version(lines), uid, &merged, &[]))
        .expect("a rendered card is read back");
    let new = fields(&fresh);
    let crlf = lines.first().is_none_or(|l| l.text.ends_with("\r\n"));
    let eol = if crlf { "\r\n" } else { "\n" };
    let folded = |line: &str| {
        let mut out = String::new();
        fold_with(&mut out, line, eol);
        out
    };
    // what each old line becomes: itself or a new value or nothing, with
    // new lines before or after it
    let mut emit: Vec<Out> = lines
        .iter()
        .map(|l| Out {
            own: Some(l.text.clone()),
            ..Out::default()
        })
        .collect();
    let mut before_end: Vec<String> = Vec::new();
    let mut gone: Vec<&str> = Vec::new();
    for (key, prop, is_list) in PROPS {
        if !given.contains_key(key) || current.get(key) == new.get(key) {
            continue;
        }
        let old: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].name == prop)
            .collect();
        let now: Vec<&Line> = fresh.iter().filter(|l| l.name == prop).collect();
        if !is_list {
            match (old.last(), now.last()) {
                (Some(&i), Some(line)) => emit[i].own = Some(folded(&with_value(&lines[i], line))),
                (Some(_), None) => {
                    for &i in &old {
                        emit[i].own = None;
                        gone.extend(group(&lines[i]));
                    }
                }
                (None, Some(line)) => before_end.push(folded(&line.raw)),
                (None, None) => {}
            }
            continue;
        }
        let value = |l: &Line| fields(std::slice::from_ref(l)).get(key).cloned();
        let old_values: Vec<_> = old.iter().map(|&i| value(&lines[i])).collect();
        let mut used = vec![false; old.len()];
        // the new list: Ok(an old line kept) or Err(a new line)
        let seq: Vec<Result<usize, String>> = now
            .iter()
            .map(|line| {
                let v = value(line);
                match (0..old.len()).find(|&j| !used[j] && old_values[j] == v) {
                    Some(j) => {
                        used[j] = true;
                        Ok(old[j])
                    }
                    None => Err(folded(&line.raw)),
                }
            })
            .collect();
        let kept: Vec<usize> = seq
            .iter()
            .filter_map(|s| s.as_ref().ok().copied())
            .collect();
        let removed: Vec<usize> = (0..old.len())
            .filter(|&j| !used[j])
            .map(|j| old[j])
            .collect();
        for &i in &removed {
            emit[i].own = None;
            gone.extend(group(&lines[i]));
        }
        if !kept.windows(2).all(|w| w[0] < w[1]) {
            old.iter().for_each(|&i| emit[i].own = None);
            let block = seq
                .into_iter()
                .map(|s| s.map_or_else(|text| text, |i| lines[i].text.clone()));
            emit[old[0]].after = block.collect();
            continue;
        }
        // runs of new lines between kept ones: (kept before, kept after, lines)
        let mut runs = Vec::new();
        let (mut prev, mut pending) = (None, Vec::new());
        for s in seq {
            match s {
                Err(text) => pending.push(text),
                Ok(i) => {
                    if !pending.is_empty() {
                        runs.push((prev, Some(i), std::mem::take(&mut pending)));
                    }
                    prev = Some(i);
                }
            }
        }
        if !pending.is_empty() {
            runs.push((prev, None, pending));
        }
        for (p, q, texts) in runs {
            // where a removed line was, else next to the kept ones
            let slot = removed
                .iter()
                .find(|&&r| p.is_none_or(|p| r > p) && q.is_none_or(|q| r < q));
            match (slot, p, q) {
                (Some(&r), _, _) => emit[r].after.extend(texts),
                (None, _, Some(q)) => emit[q].before.extend(texts),
                (None, Some(p), None) => emit[after_group(lines, p)].after.extend(texts),
                (None, None, None) => before_end.extend(texts),
            }
        }
    }
    // lines grouped with a removed value (Apple's `item1.X-ABLabel`) go
    // with it unless a mapped property of the group stays
    for g in gone {
        let members = (0..lines.len()).filter(|&i| group(&lines[i]) == Some(g));
        let members: Vec<usize> = members.collect();
        let mapped = |i: &usize| PROPS.iter().any(|p| p.1 == lines[*i].name);
        if !members.iter().any(|i| mapped(i) && emit[*i].own.is_some()) {
            members.iter().for_each(|&i| emit[i].own = None);
        }
    }
    let end = lines.iter().rposition(|l| l.name == "END");
    let mut out = String::new();
    for (i, line) in emit.into_iter().enumerate() {
        if Some(i) == end {
            out.extend(before_end.drain(..));
        }
        out.extend(line.before);
        out.extend(line.own);
        out.extend(line.after);
    }
    out.extend(before_end);
    out
}

/// What an old line becomes in the output.
#[derive(Default)]
struct Out {
    /// New lines before it.
    before: Vec<String>,
    /// The line itself (as it was or with a new value); None when it goes.
    own: Option<String>,
    /// New lines after it.
    after: Vec<String>,
}

/// The changed property `old` with the value of the fresh line `new`,
/// behind `old`'s own group and parameters — unless those name an
/// encoding or charset that the new value is not in.
fn with_value(old: &Line, new: &Line) -> String {
    let encoded = old
        .params
        .iter()
        .any(|(k, _)| k == "ENCODING" || k == "CHARSET");
    if encoded {
        return new.raw.clone();
    }
    let head = &old.raw[..old.raw.len() - old.value.len() - 1];
    format!("{head}:{}", new.value)
}

/// A line's group (`item1` of `item1.TEL`), as written.
fn group(line: &Line) -> Option<&str> {
    let name = line.raw.split([';', ':']).next()?;
    name.rsplit_once('.').map(|(g, _)| g)
}

/// The last line of the run of lines from `i` on that share its group
/// (just `i` when it has none): new lines go after it.
fn after_group(lines: &[Line], i: usize) -> usize {
    let Some(g) = group(&lines[i]) else { return i };
    let mut at = i;
    while lines.get(at + 1).is_some_and(|l| group(l) == Some(g)) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests;
