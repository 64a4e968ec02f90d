//! Two-way sync through the hub, end to end with in-process remotes
//! (`einklang_connectors::memory`): the scenario matrix of seed 002
//! (EspoCRM ↔ Advoware) and the guarantees of issue 3.

mod accounting;
mod caldav;
mod carddav;
mod conflicts;
mod creates;
mod deletes;
mod directus;
mod doctor;
mod failures;
mod feeds;
mod flags;
mod harness;
mod http;
mod identity;
mod invariant;
mod lists;
mod lost_answers;
mod postgres;
mod rebase;
mod scenarios;
mod scope;
mod targeted;
mod truth;
