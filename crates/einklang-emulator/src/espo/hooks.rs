//! EspoCRM webhooks, after the Espo docs (administration/webhooks):
//! subscribed with `POST api/v1/Webhook {event, url}` (answered with `id`
//! and `secretKey`); events `ENTITY.create` (every attribute),
//! `ENTITY.update` (only the changed ones, with `id`), `ENTITY.delete`
//! (`id`), `ENTITY.fieldUpdate.FIELD`; sent as POSTs whose body is always
//! a JSON list (a batch of up to 50 events of one hook), with the header
//! `Signature: base64(webhookId + ":" + hex(HMAC-SHA256(body, secretKey)))`;
//! on 400, 401, 403, 404, 405, 408 or a failed connection tried again (at
//! most 4 attempts), on 410 the hook is removed. Espo sends from a
//! scheduled job; here events queue until [`deliver`] runs (from a test,
//! the control route, or after every write with `auto_deliver`). Seed 002's
//! receiver reads bodies like `[{"id": "68e4af00172be7924"}]`.

use super::EspoState;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    /// Its id.
    pub id: String,
    /// `Contact.update`, …
    pub event: String,
    /// Where to POST.
    pub url: String,
    /// The key of its signature.
    pub secret: String,
}

/// A queued event: its hook, payload and attempts so far.
#[derive(Clone, Debug)]
struct Queued {
    hook: String,
    payload: Value,
    attempts: u32,
}

/// What a delivery did: hook, URL, status (0: no connection), body sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// The hook's id.
    pub hook: String,
    /// Its URL.
    pub url: String,
    /// The receiver's status, 0 when it could not be reached.
    pub status: u16,
    /// The JSON list sent.
    pub body: String,
}

/// Subscriptions, the queue and what was sent.
#[derive(Clone, Debug, Default)]
pub struct Hooks {
    /// The subscriptions.
    pub list: Vec<Webhook>,
    queue: Vec<Queued>,
    /// Every delivery so far.
    pub sent: Vec<Sent>,
}

/// How a record changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Change {
    /// Created.
    Create,
    /// Updated.
    Update,
    /// Deleted.
    Delete,
}

impl Hooks {
    /// Queue the events of a change of `entity` for every matching hook.
    pub fn record(
        &mut self,
        entity: &str,
        change: Change,
        rec: &Map<String, Value>,
        changed: &Map<String, Value>,
    ) {
        let id = rec.get("id").cloned().unwrap_or(Value::Null);
        let with_id = |mut m: Map<String, Value>| {
            m.insert("id".into(), id.clone());
            Value::Object(m)
        };
        let mut events: Vec<(String, Value)> = match change {
            Change::Create => vec![(format!("{entity}.create"), Value::Object(rec.clone()))],
            Change::Update => vec![(format!("{entity}.update"), with_id(changed.clone()))],
            Change::Delete => vec![(format!("{entity}.delete"), json!({ "id": id }))],
        };
        if change == Change::Update {
            for (k, v) in changed {
                events.push((
                    format!("{entity}.fieldUpdate.{k}"),
                    with_id(Map::from_iter([(k.clone(), v.clone())])),
                ));
            }
        }
        for (event, payload) in events {
            for hook in self.list.iter().filter(|h| h.event == event) {
                self.queue.push(Queued {
                    hook: hook.id.clone(),
                    payload: payload.clone(),
                    attempts: 0,
                });
            }
        }
    }

    /// The payloads waiting to be sent, in order.
    pub fn pending(&self) -> Vec<Value> {
        self.queue.iter().map(|q| q.payload.clone()).collect()
    }

    /// Take the queue as batches: per hook, up to 50 events a batch.
    fn take(&mut self) -> Vec<(Webhook, Vec<Queued>)> {
        let mut batches: Vec<(Webhook, Vec<Queued>)> = Vec::new();
        for q in std::mem::take(&mut self.queue) {
            let Some(hook) = self.list.iter().find(|h| h.id == q.hook) else {
                continue;
            };
            match batches
                .iter_mut()
                .find(|(h, items)| h.id == q.hook && items.len() < 50)
            {
                Some((_, items)) => items.push(q),
                None => batches.push((hook.clone(), vec![q])),
            }
        }
        batches
    }

    /// Settle a batch's outcome: removed on 410, queued again on the
    /// statuses Espo retries (at most 4 attempts).
    fn settle(&mut self, hook: &Webhook, items: Vec<Queued>, status: u16) {
        if status == 410 {
            self.list.retain(|h| h.id != hook.id);
            return;
        }
        if [0, 400, 401, 403, 404, 405, 408].contains(&status) {
            let again = items
                .into_iter()
                .map(|q| Queued {
                    attempts: q.attempts + 1,
                    ..q
                })
                .filter(|q| q.attempts < 4);
            self.queue.extend(again);
        }
    }
}

/// The `Signature` header of a body.
pub fn signature(hook_id: &str, secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    base64::engine::general_purpose::STANDARD.encode(format!("{hook_id}:{hex}"))
}

/// POST a body; the status (0 when there was no answer).
fn post(url: &str, body: &str, signature: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let sent = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Signature", signature)
        .send(body);
    sent.map(|r| r.status().as_u16()).unwrap_or(0)
}

/// Send every queued event now; what was sent. The lock is not held while
/// posting, so a receiver may call the emulator back.
pub fn deliver(state: &Arc<Mutex<EspoState>>) -> Vec<Sent> {
    let batches = state.lock().unwrap().hooks.take();
    let mut out = Vec::new();
    for (hook, items) in batches {
        let body = Value::Array(items.iter().map(|q| q.payload.clone()).collect()).to_string();
        let status = post(&hook.url, &body, &signature(&hook.id, &hook.secret, &body));
        let mut s = state.lock().unwrap();
        s.hooks.settle(&hook, items, status);
        let sent = Sent {
            hook: hook.id.clone(),
            url: hook.url.clone(),
            status,
            body,
        };
        s.hooks.sent.push(sent.clone());
        out.push(sent);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks() -> Hooks {
        let hook = |id: &str, event: &str| Webhook {
            id: id.into(),
            event: event.into(),
            url: "http://x".into(),
            secret: "k".into(),
        };
        Hooks {
            list: vec![
                hook("h1", "Contact.update"),
                hook("h2", "Contact.fieldUpdate.lastName"),
                hook("h3", "Contact.delete"),
            ],
            ..Hooks::default()
        }
    }

    #[test]
    fn updates_send_only_changed_attributes_with_the_id() {
        let mut h = hooks();
        let rec = json!({"id": "c1", "firstName": "Anna", "lastName": "Berger"})
            .as_object()
            .cloned()
            .unwrap();
        let changed = json!({"lastName": "Berger"}).as_object().cloned().unwrap();
        h.record("Contact", Change::Update, &rec, &changed);
        h.record("Contact", Change::Delete, &rec, &Map::new());
        h.record("Account", Change::Delete, &rec, &Map::new());
        let p = h.pending();
        assert_eq!(
            p,
            vec![
                json!({"id": "c1", "lastName": "Berger"}),
                json!({"id": "c1", "lastName": "Berger"}),
                json!({"id": "c1"})
            ]
        );
    }

    #[test]
    fn batches_hold_fifty_and_failures_are_retried_four_times_at_most() {
        let mut h = hooks();
        let rec = json!({"id": "c1"}).as_object().cloned().unwrap();
        for _ in 0..60 {
            h.record("Contact", Change::Delete, &rec, &Map::new());
        }
        let batches = h.take();
        assert_eq!(
            batches.iter().map(|(_, i)| i.len()).collect::<Vec<_>>(),
            vec![50, 10]
        );
        let (hook, items) = batches.into_iter().nth(1).unwrap();
        let mut items = items;
        for attempt in 1..=4 {
            h.settle(&hook, items, 404);
            items = h.take().into_iter().flat_map(|(_, i)| i).collect();
            assert_eq!(
                items.len(),
                if attempt < 4 { 10 } else { 0 },
                "attempt {attempt}"
            );
        }
        h.settle(&hook, Vec::new(), 410);
        assert!(!h.list.iter().any(|x| x.id == "h3"), "410 removes the hook");
    }

    #[test]
    fn the_signature_is_the_hook_id_and_the_hex_hmac_in_base64() {
        let sig = signature("h1", "secret", "[{\"id\":\"a\"}]");
        let decoded = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(sig)
                .unwrap(),
        )
        .unwrap();
        let (id, hex) = decoded.split_once(':').unwrap();
        assert_eq!((id, hex.len()), ("h1", 64));
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(
            signature("h1", "other", "[{\"id\":\"a\"}]"),
            signature("h1", "secret", "[{\"id\":\"a\"}]")
        );
    }
}
