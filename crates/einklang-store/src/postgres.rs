//! PostgreSQL implementation of [`crate::HubStore`] (to be written).

/// The PostgreSQL hub store.
pub struct PgStore;

impl PgStore {
    /// Connect to `url`.
    pub fn connect(url: &str) -> crate::Result<Self> {
        let _ = url;
        todo!()
    }
}
