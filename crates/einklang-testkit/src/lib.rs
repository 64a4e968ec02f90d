//! Test support for einklang's crates (a dev-dependency only, never
//! published):
//!
//! - [`env`](mod@env): the guards of the real test servers `scripts/test` starts —
//!   a fresh PostgreSQL database per test ([`env::PgDb`]), the Radicale
//!   base ([`env::dav_base`]), Directus ([`env::directus`]) — that skip
//!   locally without them and fail under `CI=true`;
//! - [`proxy`]: a fault proxy for HTTP/1.1 and the PostgreSQL protocol in
//!   front of those servers (also the `einklang-faultproxy` binary);
//! - [`trace`]: capturing `tracing` output to assert on it;
//! - [`configs`]: connector tables of the emulated seed systems that tests
//!   of several crates write into their configs;
//! - [`graph`]: the Graph emulator with a mailbox of contacts, as the
//!   delta-feed tests of the connector and of the engine start from.

pub mod configs;
pub mod env;
pub mod graph;
pub mod proxy;
pub mod trace;

pub use configs::{advoware_connector, graph_connector};
pub use env::{dav_base, directus, pg_base, PgDb, DAV_PASSWORD, DAV_USER};
pub use graph::{graph_with_contacts, GRAPH_MAILBOX};
pub use proxy::{FaultProxy, Mode, Rule};
