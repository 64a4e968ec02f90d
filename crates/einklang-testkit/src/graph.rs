//! The Microsoft Graph emulator as the delta-feed tests of the `http`
//! connector and of the engine set it up: one mailbox with a number of
//! contacts (twelve are more than a round's page of ten), read through
//! [`graph_connector`](crate::configs::graph_connector).

use einklang_emulator::{Emulator, Options};
use serde_json::json;

/// The mailbox of the delta-feed tests.
pub const GRAPH_MAILBOX: &str = "info@bau.de";

/// A started emulator whose Graph mailbox [`GRAPH_MAILBOX`] holds `n`
/// contacts `K0`, `K1`, … (given names; surname `Bau`), and their ids in
/// that order.
pub fn graph_with_contacts(n: usize) -> (Emulator, Vec<String>) {
    let emu = Emulator::start(Options::default());
    let g = emu.graph();
    let ids = (0..n)
        .map(|i| {
            g.insert(
                GRAPH_MAILBOX,
                json!({"givenName": format!("K{i}"), "surname": "Bau"}),
            )
        })
        .collect();
    (emu, ids)
}
