//! Copies of webhook calls: a call that shares a key (its MAC, its
//! delivery id — see `einklang_connectors::Delivery`) with one accepted
//! for the same connector within that call's window is a copy, answered
//! but never run.
//!
//! Memory is bounded: keys are kept as 128-bit hashes, forgotten when
//! their window ends, and at most [`CAPACITY`] at once (over it, the
//! soonest to expire are forgotten first). Only verified calls are
//! remembered, so filling it takes the secret. A map and an
//! expiry-ordered set do this in a few lines; no cache crate is needed.

use einklang_connectors::Delivery;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;
use xxhash_rust::xxh3::xxh3_128;

/// Keys remembered at most (~80 bytes each).
pub const CAPACITY: usize = 100_000;

/// Keys of accepted calls and when each is forgotten.
pub struct Replay {
    until: HashMap<u128, Instant>,
    by_expiry: BTreeSet<(Instant, u128)>,
    capacity: usize,
}

impl Replay {
    /// Empty, remembering at most `capacity` keys.
    pub fn new(capacity: usize) -> Replay {
        Replay {
            until: HashMap::new(),
            by_expiry: BTreeSet::new(),
            capacity,
        }
    }

    /// Whether `call` is the first of its kind for `connector` within its
    /// window; remembers it if it is.
    pub fn first(&mut self, connector: &str, call: &Delivery, now: Instant) -> bool {
        self.expire(now);
        let keys = keys(connector, call);
        if keys.iter().any(|k| self.until.contains_key(k)) {
            return false;
        }
        let until = now + call.remember;
        for key in keys {
            self.until.insert(key, until);
            self.by_expiry.insert((until, key));
        }
        while self.until.len() > self.capacity {
            match self.by_expiry.pop_first() {
                Some((_, key)) => self.until.remove(&key),
                None => break,
            };
        }
        true
    }

    /// Forget `call` again: it was not acted on (its run could not be
    /// queued), so the sender's retry must not count as its copy.
    pub fn forget(&mut self, connector: &str, call: &Delivery) {
        for key in keys(connector, call) {
            if let Some(until) = self.until.remove(&key) {
                self.by_expiry.remove(&(until, key));
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(until, key)) = self.by_expiry.first() {
            if until > now {
                break;
            }
            self.by_expiry.pop_first();
            self.until.remove(&key);
        }
    }
}

/// A call's keys for `connector`, hashed.
fn keys(connector: &str, call: &Delivery) -> Vec<u128> {
    call.keys
        .iter()
        .map(|k| xxh3_128(format!("{connector}\n{k}").as_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(keys: &[&str], secs: u64) -> Delivery {
        Delivery {
            ids: vec!["1".into()],
            id: None,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            remember: Duration::from_secs(secs),
            handshake: None,
        }
    }

    #[test]
    fn a_copy_within_the_window_is_refused_and_forgotten_after_it() {
        let mut r = Replay::new(10);
        let t = Instant::now();
        assert!(r.first("crm", &call(&["sig:a", "id:1"], 600), t));
        assert!(!r.first("crm", &call(&["sig:a", "id:1"], 600), t));
        // a stripped or changed delivery id does not make a copy new
        assert!(!r.first("crm", &call(&["sig:a", "id:2"], 600), t));
        // a retry signed anew is still the same delivery
        assert!(!r.first("crm", &call(&["sig:b", "id:1"], 600), t));
        assert!(
            r.first("shop", &call(&["sig:a", "id:1"], 600), t),
            "per connector"
        );
        let later = t + Duration::from_secs(601);
        assert!(r.first("crm", &call(&["sig:a", "id:1"], 600), later));
        assert_eq!(r.until.len(), 2, "the expired keys are gone");
    }

    #[test]
    fn a_call_forgotten_is_new_again_and_others_stay_remembered() {
        let mut r = Replay::new(10);
        let t = Instant::now();
        assert!(r.first("crm", &call(&["sig:a", "id:1"], 600), t));
        assert!(r.first("crm", &call(&["sig:b", "id:2"], 600), t));
        r.forget("crm", &call(&["sig:a", "id:1"], 600));
        assert!(
            r.first("crm", &call(&["sig:a", "id:1"], 600), t),
            "its retry runs"
        );
        assert!(!r.first("crm", &call(&["sig:b", "id:2"], 600), t));
        assert_eq!((r.until.len(), r.by_expiry.len()), (4, 4));
    }

    #[test]
    fn memory_is_bounded_by_the_capacity() {
        let mut r = Replay::new(100);
        let t = Instant::now();
        for i in 0..1000 {
            let key = format!("sig:{i}");
            assert!(r.first("crm", &call(&[&key], 600), t));
        }
        assert_eq!((r.until.len(), r.by_expiry.len()), (100, 100));
    }
}
