//! Graph's delta query for contacts ("contact: delta",
//! learn.microsoft.com/graph/api/contact-delta, and "Use delta query to
//! track changes in Microsoft Graph data"): a request without a token
//! starts a round listing every contact of the folder; pages of
//! `Prefer: odata.maxpagesize` (default 10) are linked by
//! `@odata.nextLink` (a `$skiptoken`), and the last page carries
//! `@odata.deltaLink` (a `$deltatoken`). Asking that link starts the next
//! round: the contacts created or changed since (as they are now) and,
//! for those deleted, `{"@odata.type": "#microsoft.graph.contact", "id":
//! …, "@removed": {"reason": "deleted"}}`. A token the mailbox no longer
//! knows (never issued, or expired by [`super::GraphHandle::expire_delta_tokens`])
//! is answered `410 Gone` with `SyncStateNotFound`: the client starts over
//! with a full round. `$select` is kept in the links. Made up: tokens are
//! readable counters, not Exchange's opaque state.

use serde_json::{json, Map, Value};

/// Every create, change and delete, in order.
#[derive(Debug, Default)]
pub struct Log {
    /// (sequence number, mailbox, contact id).
    entries: Vec<(u64, String, String)>,
    seq: u64,
    /// Tokens carry the epoch they were issued in; another is forgotten.
    epoch: u64,
}

impl Log {
    /// Note a write of a contact.
    pub fn note(&mut self, mailbox: &str, id: &str) {
        self.seq += 1;
        self.entries
            .push((self.seq, mailbox.to_lowercase(), id.to_string()));
    }

    /// Forget every token issued so far.
    pub fn expire(&mut self) {
        self.epoch += 1;
    }

    /// The ids written in `mailbox` after `from` up to `upto`, once each.
    fn since(&self, mailbox: &str, from: u64, upto: u64) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for (seq, m, id) in &self.entries {
            if *seq > from && *seq <= upto && m == &mailbox.to_lowercase() && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }
}

/// Where a round is: changes after `from` (none: every contact) up to
/// `upto`, entries after the contact with serial `after`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    from: Option<u64>,
    upto: u64,
    after: u64,
}

/// The number in an emulated contact id (`AAMkADEm00000042AAA=` → 42).
fn serial(id: &str) -> u64 {
    id.trim_start_matches("AAMkADEm")
        .trim_end_matches("AAA=")
        .parse()
        .unwrap_or(0)
}

/// Parse the round's position from `$deltatoken` or `$skiptoken`; `None`
/// when the token is unknown or expired.
pub fn position(log: &Log, deltatoken: Option<&str>, skiptoken: Option<&str>) -> Option<Position> {
    let number = |t: &str| t.parse::<u64>().ok();
    let known = |epoch: &str, n: u64| (number(epoch)? == log.epoch && n <= log.seq).then_some(());
    match (deltatoken, skiptoken) {
        (None, None) => Some(Position {
            from: None,
            upto: log.seq,
            after: 0,
        }),
        (Some(d), None) => {
            let parts: Vec<&str> = d.strip_prefix("D.")?.split('.').collect();
            let [epoch, from] = parts[..] else {
                return None;
            };
            let from = number(from)?;
            known(epoch, from)?;
            Some(Position {
                from: Some(from),
                upto: log.seq,
                after: 0,
            })
        }
        (_, Some(s)) => {
            let parts: Vec<&str> = s.strip_prefix("S.")?.split('.').collect();
            let [epoch, from, upto, after] = parts[..] else {
                return None;
            };
            let upto = number(upto)?;
            known(epoch, upto)?;
            let from = match from {
                "all" => None,
                n => Some(number(n)?),
            };
            Some(Position {
                from,
                upto,
                after: number(after)?,
            })
        }
    }
}

/// One page of a round: the entries and the link query of what follows
/// (`("$skiptoken", …)` or `("$deltatoken", …)`).
pub fn page(
    log: &Log,
    contacts: &[Map<String, Value>],
    mailbox: &str,
    at: Position,
    size: usize,
    render: impl Fn(&Map<String, Value>) -> Value,
) -> (Vec<Value>, (&'static str, String)) {
    let mut ids: Vec<String> = match at.from {
        None => contacts
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect(),
        Some(from) => log.since(mailbox, from, at.upto),
    };
    ids.retain(|id| serial(id) > at.after);
    ids.sort_by_key(|id| serial(id));
    let more = ids.len() > size;
    ids.truncate(size);
    let value: Vec<Value> = ids
        .iter()
        .map(|id| match contacts.iter().find(|c| c["id"] == json!(id)) {
            Some(c) => {
                let mut v = render(c);
                v["@odata.type"] = json!("#microsoft.graph.contact");
                v
            }
            None => json!({"@odata.type": "#microsoft.graph.contact", "id": id, "@removed": {"reason": "deleted"}}),
        })
        .collect();
    let link = if more {
        let last = ids.last().map_or(at.after, |id| serial(id));
        let from = at.from.map_or("all".to_string(), |f| f.to_string());
        (
            "$skiptoken",
            format!("S.{}.{from}.{}.{last}", log.epoch, at.upto),
        )
    } else {
        ("$deltatoken", format!("D.{}.{}", log.epoch, at.upto))
    };
    (value, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(n: u64) -> Map<String, Value> {
        json!({"id": format!("AAMkADEm{n:08}AAA="), "n": n})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn a_round_pages_then_links_the_next_round_with_removals() {
        let mut log = Log::default();
        let mut contacts: Vec<_> = (1..=3).map(contact).collect();
        for c in &contacts {
            log.note("m", c["id"].as_str().unwrap());
        }
        let first = position(&log, None, None).unwrap();
        let (v, (k, t)) = page(&log, &contacts, "m", first, 2, |c| Value::Object(c.clone()));
        assert_eq!((v.len(), k), (2, "$skiptoken"));
        let next = position(&log, None, Some(&t)).unwrap();
        let (v, (k, t)) = page(&log, &contacts, "m", next, 2, |c| Value::Object(c.clone()));
        assert_eq!((v.len(), k, t.as_str()), (1, "$deltatoken", "D.0.3"));
        contacts.remove(0);
        log.note("m", "AAMkADEm00000001AAA=");
        let round = position(&log, Some("D.0.3"), None).unwrap();
        let (v, _) = page(&log, &contacts, "m", round, 10, |c| {
            Value::Object(c.clone())
        });
        assert_eq!(v[0]["@removed"]["reason"], json!("deleted"));
        log.expire();
        assert!(position(&log, Some("D.0.3"), None).is_none());
        assert!(position(&log, Some("D.1.99"), None).is_none());
        assert!(
            position(&log, Some("D.1.4"), None).is_some(),
            "a token issued after"
        );
        assert!(position(&log, Some("nonsense"), None).is_none());
    }
}
