//! [`Connector`] for a DAV [`Collection`]: each call finds the collection
//! first (once, see `discover`), then does its work in `collection`, in a
//! debug span naming connector, kind and operation.

use super::collection::{Collection, ItemFormat};
use crate::Lookup;
use crate::{
    Capabilities, ChangeFeed, Connector, ConnectorError, Listed, ReadItem, WriteOp, WriteResult,
};

impl<F: ItemFormat + Send> Connector for Collection<F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        F::KIND
    }
    fn capabilities(&self) -> Capabilities {
        Collection::capabilities(self)
    }
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        Ok(None)
    }
    fn probe(&mut self) -> Result<String, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "probe");
        self.ready()?;
        Collection::cursor(self)?;
        Ok(format!("{} {}", F::COLLECTION, self.dav.collection_path()))
    }
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "read");
        self.ready()?;
        let ids: Vec<String> = Collection::list(self)?.into_iter().map(|l| l.id).collect();
        let items = Collection::fetch(self, &ids)?;
        Ok(Box::new(items.into_iter()))
    }
    fn list(&mut self) -> Result<Vec<Listed>, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "list");
        self.ready()?;
        Collection::list(self)
    }
    fn fetch(&mut self, ids: &[String]) -> Result<Vec<ReadItem>, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "fetch");
        self.ready()?;
        Collection::fetch(self, ids)
    }
    fn cursor(&mut self) -> Result<String, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "cursor");
        self.ready()?;
        Collection::cursor(self)
    }
    fn changes(&mut self, cursor: &str) -> Result<Option<ChangeFeed>, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "changes");
        self.ready()?;
        Collection::changes(self, cursor)
    }
    fn write(&mut self, _key: &str, ops: &[WriteOp]) -> Result<Vec<WriteResult>, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "write");
        self.ready()?;
        Ok(ops.iter().map(|op| self.one(op)).collect())
    }
    fn find_created(&mut self, _key: &str, marker: &str) -> Result<Lookup, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "find_created");
        self.ready()?;
        Collection::find_created(self, marker)
    }
    fn named_after_marker(&self) -> Option<(String, String)> {
        Some((String::new(), F::EXT.to_string()))
    }
    fn install(&mut self) -> Result<Vec<String>, ConnectorError> {
        let _span = crate::calls::span(&self.name, F::KIND, "install");
        self.ready()?;
        Collection::install(self)
    }
}
