//! The [`Connector`] over a [`MemoryRemote`](super::MemoryRemote)'s state:
//! capabilities from the options, reads and lists in id order, writes op
//! by op (see `state`), every call counted.

use super::state::{lock, Record, State, KEY};
use crate::Lookup;
use crate::{
    Capabilities, ChangeFeed, Connector, ConnectorError, Listed, RawRecord, ReadItem, WriteOp,
    WriteOutcome, WriteResult,
};
use std::sync::{Arc, Mutex, MutexGuard};

/// The connector of a [`MemoryRemote`](super::MemoryRemote) (kind `memory`).
#[derive(Debug)]
pub struct MemoryConnector {
    name: String,
    state: Arc<Mutex<State>>,
}

impl MemoryConnector {
    pub(super) fn new(name: &str, state: Arc<Mutex<State>>) -> Self {
        MemoryConnector {
            name: name.to_string(),
            state,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `list` and `fetch` need [`MemoryOptions::list_versions`](super::MemoryOptions::list_versions).
    fn feed(&self, operation: &str) -> Result<MutexGuard<'_, State>, ConnectorError> {
        let state = self.lock();
        match state.options.change_feed {
            true => Ok(state),
            false => Err(self.unsupported(operation)),
        }
    }

    fn listing(&self, operation: &str) -> Result<MutexGuard<'_, State>, ConnectorError> {
        let state = self.lock();
        match state.options.list_versions {
            true => Ok(state),
            false => Err(self.unsupported(operation)),
        }
    }
}

fn item(id: &str, record: &Record) -> ReadItem {
    ReadItem::Record(RawRecord {
        position: format!("id {id}"),
        fields: record.fields.clone(),
        version: Some(record.version.to_string()),
    })
}

impl Connector for MemoryConnector {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn capabilities(&self) -> Capabilities {
        let options = self.lock().options.clone();
        Capabilities {
            read: true,
            write: true,
            delete: options.deletes,
            fingerprint: options.fingerprint,
            version_tokens: true,
            list_versions: options.list_versions,
            fetch: options.list_versions,
            change_feed: options.change_feed && options.list_versions,
            key_field: Some(KEY.to_string()),
            client_ids: options.client_ids,
            finds_created: options.client_ids || options.finds_created,
            partial_update: true,
            conditional_writes: options.conditional_writes,
            writable: options.writable,
            batch_size: options.batch_size,
        }
    }
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        let state = self.lock();
        Ok(state.options.fingerprint.then(|| state.fingerprint()))
    }
    fn stamp(&mut self) -> Result<Option<String>, ConnectorError> {
        let state = self.lock();
        let stamp = format!("{}:{}", state.fingerprint(), state.foreign_writes);
        Ok(state.options.stamp.then_some(stamp))
    }
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let mut state = self.lock();
        state.calls.read += 1;
        let skip = state.take_skip();
        let items: Vec<ReadItem> = state
            .records
            .iter()
            .filter(|(id, _)| !skip.contains(id))
            .map(|(id, r)| item(id, r))
            .collect();
        Ok(Box::new(items.into_iter()))
    }
    fn list(&mut self) -> Result<Vec<Listed>, ConnectorError> {
        self.lock().calls.list += 1;
        let mut state = self.listing("list ids and versions")?;
        let skip = state.take_skip();
        let listed = state
            .records
            .iter()
            .filter(|(id, _)| !skip.contains(id))
            .map(|(id, r)| Listed {
                id: id.clone(),
                version: Some(r.version.to_string()),
            });
        Ok(listed.collect())
    }
    fn fetch(&mut self, ids: &[String]) -> Result<Vec<ReadItem>, ConnectorError> {
        self.lock().calls.fetch += 1;
        let mut state = self.listing("fetch records by id")?;
        let found = ids
            .iter()
            .filter_map(|id| Some(item(id, state.records.get(id)?)));
        let items: Vec<ReadItem> = found.collect();
        state.calls.fetched += items.len();
        Ok(items)
    }
    fn cursor(&mut self) -> Result<String, ConnectorError> {
        let state = self.feed("tell its change cursor")?;
        Ok(state.clock().to_string())
    }
    fn changes(&mut self, cursor: &str) -> Result<Option<ChangeFeed>, ConnectorError> {
        let mut state = self.feed("list changes since a cursor")?;
        state.calls.changes += 1;
        let Ok(since) = cursor.parse::<u64>() else {
            return Ok(None);
        };
        let (ids, now) = state.changes_since(since);
        let mut feed = ChangeFeed {
            cursor: now.to_string(),
            ..ChangeFeed::default()
        };
        for (id, version) in ids {
            match version {
                Some(v) => feed.changed.push(Listed {
                    id,
                    version: Some(v.to_string()),
                }),
                None => feed.deleted.push(id),
            }
        }
        Ok(Some(feed))
    }
    fn write(
        &mut self,
        _key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteResult>, ConnectorError> {
        let mut state = self.lock();
        state.calls.write_calls += 1;
        if ops.len() > state.options.batch_size {
            return Err(ConnectorError::Other {
                connector: self.name.clone(),
                message: format!(
                    "{} ops in one write call, at most {} allowed",
                    ops.len(),
                    state.options.batch_size
                ),
            });
        }
        Ok(ops.iter().map(|op| state.write(&self.name, op)).collect())
    }
    fn find_created(&mut self, _key_field: &str, marker: &str) -> Result<Lookup, ConnectorError> {
        let mut state = self.lock();
        state.calls.find_created += 1;
        if !state.options.finds_created {
            return Ok(Lookup::CannotTell);
        }
        let mut made = state.records.iter();
        let found = made.find(|(_, r)| r.marker.as_deref() == Some(marker));
        Ok(match found {
            Some((id, r)) => Lookup::Found(WriteOutcome {
                id: id.clone(),
                version: Some(r.version.to_string()),
                record: None,
                complete: false,
                unwritten: Vec::new(),
            }),
            None => Lookup::Absent,
        })
    }
}
