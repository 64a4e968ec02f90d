//! `GET /api/runs/{id}/events`: a run as Server-Sent Events — an event
//! `progress` whenever its status or its steps' progress changed (looked
//! at twice a second), then one event `finished` with the run as it
//! ended, and the stream closes. Each event's data is the run as
//! `GET /api/runs/{id}` shows it. A browser's `EventSource` or
//! `curl -N` follows a "Sync now" to its end with it.

use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use einklang_store::{Role, RunStatus};
use futures_util::stream::Stream;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// How often the stream looks at the run.
const EVERY: Duration = Duration::from_millis(500);

struct Follow {
    s: Arc<Shared>,
    tenant: String,
    id: i64,
    last: Option<Value>,
    ended: bool,
    first: bool,
}

/// The route.
#[utoipa::path(get, path = "/api/runs/{id}/events", tag = "runs", security(("token" = [])), params(("id" = i64, Path, description = "run id")), responses((status = 200, description = "Server-Sent Events: `progress` while the run goes on, `finished` at its end", content_type = "text/event-stream"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such run of the token's tenant")))]
pub(crate) async fn events(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let t = tenant.clone();
    if s.with_store(move |st| st.run(&t, id)).await?.is_none() {
        return Err(ApiError::NotFound(format!("no run {id}")));
    }
    let start = Follow {
        s,
        tenant,
        id,
        last: None,
        ended: false,
        first: true,
    };
    let stream = futures_util::stream::unfold(start, |mut f| async move {
        if f.ended {
            return None;
        }
        loop {
            if !f.first {
                tokio::time::sleep(EVERY).await;
            }
            f.first = false;
            let (tenant, id) = (f.tenant.clone(), f.id);
            let Ok(Some(run)) = f.s.with_store(move |st| st.run(&tenant, id)).await else {
                f.ended = true;
                let gone = Event::default()
                    .event("finished")
                    .data("{\"error\": \"the run is gone\"}");
                return Some((Ok(gone), f));
            };
            let now =
                serde_json::to_value(crate::api::with_progress(&f.s, &run)).unwrap_or_default();
            let over = !matches!(run.status, RunStatus::Queued | RunStatus::Running);
            if over {
                f.ended = true;
                return Some((
                    Ok(Event::default().event("finished").data(now.to_string())),
                    f,
                ));
            }
            if f.last.as_ref() != Some(&now) {
                f.last = Some(now.clone());
                return Some((
                    Ok(Event::default().event("progress").data(now.to_string())),
                    f,
                ));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
