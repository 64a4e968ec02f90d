//! SQLite implementation of [`crate::HubStore`] (to be written).

/// The embedded SQLite hub store.
pub struct SqliteStore;

impl SqliteStore {
    /// Open (creating if needed) the database at `path`.
    pub fn open(path: &str) -> crate::Result<Self> {
        let _ = path;
        todo!()
    }
}
