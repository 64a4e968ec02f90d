//! Kommo pipelines and their statuses (`GET /api/v4/leads/pipelines`,
//! `/api/v4/leads/pipelines/{id}`, after developers.kommo.com/reference/
//! leads-pipelines): a pipeline `{id, name, sort, is_main, is_unsorted_on,
//! is_archive, account_id, _embedded.statuses[]}`, a status `{id, name,
//! sort, is_editable, pipeline_id, color, type}` (`type` 1: the unsorted
//! stage). Every pipeline ends in 142 "Closed - won" and 143 "Closed -
//! lost", the same two ids in every pipeline. A lead written with a
//! `status_id` its pipeline does not have is refused (`NotSupportedChoice`
//! at `status_id`), as Kommo does.
//!
//! The one pipeline is the car rental's of seed 003, with the two stages
//! it does not count as bookings (79790631 "Request bot answering",
//! 91703923 "Follow up").

use super::{Problem, DEFAULT_PIPELINE, DEFAULT_STATUS, STATUS_LOST};
use serde_json::{json, Value};

/// "Closed - won", in every pipeline.
pub const STATUS_WON: u64 = 142;
/// The rental's confirmed stage (made up).
pub const STATUS_CONFIRMED: u64 = 70_000_012;

/// One pipeline: id, name and its statuses (id, name, type).
pub struct Pipeline {
    /// Pipeline id.
    pub id: u64,
    /// Its name.
    pub name: &'static str,
    /// Statuses in order: (id, name, type).
    pub statuses: Vec<(u64, &'static str, u8)>,
}

/// The account's pipelines.
pub fn catalog() -> Vec<Pipeline> {
    vec![Pipeline {
        id: DEFAULT_PIPELINE,
        name: "Rentals",
        statuses: vec![
            (DEFAULT_STATUS, "Incoming", 1),
            (79_790_631, "Request bot answering", 0),
            (91_703_923, "Follow up", 0),
            (STATUS_CONFIRMED, "Confirmed", 0),
            (STATUS_WON, "Closed - won", 0),
            (STATUS_LOST, "Closed - lost", 0),
        ],
    }]
}

/// A pipeline as the API answers it.
pub fn render(p: &Pipeline, origin: &str) -> Value {
    let statuses: Vec<Value> = (p.statuses.iter().enumerate())
        .map(|(i, (id, name, ty))| {
            json!({"id": id, "name": name, "sort": (i + 1) * 10, "is_editable": ![STATUS_WON, STATUS_LOST].contains(id) && *ty == 0,
                   "pipeline_id": p.id, "color": "#99ccff", "type": ty, "account_id": 1,
                   "_links": {"self": {"href": format!("{origin}/api/v4/leads/pipelines/{}/statuses/{id}", p.id)}}})
        })
        .collect();
    json!({"id": p.id, "name": p.name, "sort": 1, "is_main": p.id == DEFAULT_PIPELINE,
           "is_unsorted_on": true, "is_archive": false, "account_id": 1,
           "_links": {"self": {"href": format!("{origin}/api/v4/leads/pipelines/{}", p.id)}},
           "_embedded": {"statuses": statuses}})
}

/// Whether a lead may be in `status` of `pipeline`: a pipeline the account
/// does not have, or a status it does not have, is refused.
pub fn check(pipeline: u64, status: u64) -> Result<(), Problem> {
    let all = catalog();
    let Some(p) = all.iter().find(|p| p.id == pipeline) else {
        return Err(Problem::new(
            "pipeline_id",
            "NotSupportedChoice",
            format!("pipeline {pipeline} does not exist"),
        ));
    };
    match p.statuses.iter().any(|(id, _, _)| *id == status) {
        true => Ok(()),
        false => Err(Problem::new(
            "status_id",
            "NotSupportedChoice",
            format!("status {status} is not in pipeline {pipeline}"),
        )),
    }
}
