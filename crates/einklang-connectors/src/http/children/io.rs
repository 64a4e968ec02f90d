//! Sending sub-resource requests and reading child lists (see the parent
//! module): lists read per parent where the answer lacks them, the
//! parent's version with its children's, and the child requests of one
//! write — each traced like every request of the connector.

use super::plan::{plan, ChildOp};
use super::Children;
use crate::http::template::{self, Vars};
use crate::http::Http;
use crate::{ConnectorError, RawFields, WriteOp};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The child lists of one write, split off the parent's fields: the
/// index of each collection in the spec and the list wanted.
pub(in crate::http) type Wanted = Vec<(usize, Vec<Value>)>;

impl Http {
    /// Read the child lists that a record's answer does not carry (one
    /// `list` request per collection with one).
    pub(in crate::http) fn fill_children(
        &mut self,
        record: &mut Map<String, Value>,
    ) -> Result<(), ConnectorError> {
        let Some(parent) = self.id_of(record) else {
            return Ok(());
        };
        for i in 0..self.spec.children.len() {
            if self.spec.children[i].list.is_none() {
                continue;
            }
            let list = self.list_children(i, &parent)?;
            let field = self.spec.children[i].field.clone();
            record.insert(field, Value::Array(list));
        }
        Ok(())
    }

    /// The children of collection `i` of `parent`, as its `list` answers.
    fn list_children(&mut self, i: usize, parent: &str) -> Result<Vec<Value>, ConnectorError> {
        let Some(call) = self.spec.children[i].list.clone() else {
            return Ok(Vec::new());
        };
        let vars = Vars {
            parent: Some(parent),
            ..Vars::default()
        };
        let (url, selected) = self.ask_json(&call, &vars, false)?;
        match selected {
            Some(Value::Array(a)) => Ok(a),
            None => Ok(Vec::new()),
            Some(other) => Err(ConnectorError::Other {
                connector: self.name.clone(),
                message: format!(
                    "GET {url}: expected a list of `{}` at `{}`, found {}",
                    self.spec.children[i].field,
                    call.select,
                    crate::http::pages::kind_of(&other)
                ),
            }),
        }
    }

    /// The hash of the children's versions that the parent's version
    /// carries (`None`: no collection has a `version`).
    pub(in crate::http) fn children_hash(&self, fields: &RawFields) -> Option<String> {
        let mut versioned = self
            .spec
            .children
            .iter()
            .filter(|c| c.version.is_some())
            .peekable();
        versioned.peek()?;
        let mut h = Sha256::new();
        for c in versioned {
            h.update(c.field.as_bytes());
            let version = c.version.as_deref().unwrap_or_default();
            for child in fields
                .get(&c.field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let v = child.get(version).map(Value::to_string).unwrap_or_default();
                h.update([0]);
                h.update(v.as_bytes());
            }
            h.update([1]);
        }
        let digest = h.finalize();
        Some(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Split a write's fields into the parent's own and the child lists.
    pub(in crate::http) fn split_children(&self, fields: &RawFields) -> (RawFields, Wanted) {
        let mut own = fields.clone();
        let mut wanted = Vec::new();
        for (i, c) in self.spec.children.iter().enumerate() {
            if let Some(v) = own.remove(&c.field) {
                let list = match v {
                    Value::Array(a) => a,
                    Value::Null => Vec::new(),
                    other => vec![other],
                };
                wanted.push((i, list));
            }
        }
        (own, wanted)
    }

    /// Write the child lists of `parent` from what `current` holds to
    /// `wanted`. Every request is tried; the failures come back as
    /// messages naming the collection and the child. The number of
    /// requests that went through.
    pub(in crate::http) fn write_children(
        &mut self,
        op: &WriteOp,
        parent: &str,
        current: &RawFields,
        wanted: Wanted,
        failures: &mut Vec<String>,
    ) -> usize {
        let mut sent = 0;
        for (i, want) in wanted {
            let ch = self.spec.children[i].clone();
            let now: Vec<Value> = current
                .get(&ch.field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ops = match plan(&ch, &now, &want) {
                Ok(ops) => ops,
                Err(e) => {
                    failures.push(format!("`{}`: {}", ch.field, e.0));
                    continue;
                }
            };
            for child in ops {
                match self.send_child(op, &ch, parent, &child) {
                    Ok(()) => sent += 1,
                    Err(e) => failures.push(format!("`{}` {}: {e}", ch.field, describe(&child))),
                }
            }
        }
        sent
    }

    /// One child request.
    fn send_child(
        &mut self,
        op: &WriteOp,
        ch: &Children,
        parent: &str,
        child: &ChildOp,
    ) -> Result<(), String> {
        let (call, id, fields) = match child {
            ChildOp::Create(f) => (ch.create.clone(), None, Some(f)),
            ChildOp::Update(id, f) | ChildOp::Blank(id, f) => {
                (ch.update.clone(), Some(id.as_str()), Some(f))
            }
            ChildOp::Delete(id) => (ch.delete.clone(), Some(id.as_str()), None),
        };
        let Some(call) = call else {
            return Err("no request is configured for it".into());
        };
        let key = match (&ch.key, id, child) {
            (Some(k), Some(id), ChildOp::Update(..) | ChildOp::Blank(..)) => {
                Some(self.look_up_key(ch, k, parent, id)?)
            }
            _ => None,
        };
        let vars = Vars {
            record: fields,
            id,
            parent: Some(parent),
            key: key.as_deref(),
            ..Vars::default()
        };
        // a create is sent once: a lost answer must not make two children
        let idempotent = !matches!(child, ChildOp::Create(_));
        self.send_with(op, &call, &vars, &[], idempotent)
            .map(|_| ())
            .map_err(|e| e.message)
    }

    /// The current `key` of child `id`, by listing the parent's children.
    fn look_up_key(
        &mut self,
        ch: &Children,
        key: &str,
        parent: &str,
        id: &str,
    ) -> Result<String, String> {
        let i = self
            .spec
            .children
            .iter()
            .position(|c| c.field == ch.field)
            .unwrap_or_default();
        let list = self.list_children(i, parent).map_err(|e| e.to_string())?;
        list.iter()
            .filter_map(Value::as_object)
            .find(|c| template::scalar(c.get(&ch.id)).as_deref() == Some(id))
            .and_then(|c| template::scalar(c.get(key)))
            .ok_or_else(|| format!("child {id} is not listed with a `{key}` any more"))
    }
}

fn describe(op: &ChildOp) -> String {
    match op {
        ChildOp::Create(f) => format!("create {}", Value::Object(f.clone())),
        ChildOp::Update(id, _) => format!("update of {id}"),
        ChildOp::Blank(id, _) => format!("blanking of {id}"),
        ChildOp::Delete(id) => format!("delete of {id}"),
    }
}
