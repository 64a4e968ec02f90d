//! Answers lost after the write, for every emulated system: a test (or
//! `POST /_emulator/{system}/drop-answers?count=N`) asks that the next N
//! writes that succeed be applied and then answered with nothing — the
//! connection is closed before a byte of the answer is sent, as when a
//! proxy, a load balancer or the network loses it (issue 11 asks the seed
//! 002 job to survive "dropped connection, lost answer"; seed 002 itself
//! names no such fault, and Advoware's gateway is not documented — this is
//! the emulator's model of the fault). The client sees its request fail with the
//! record already written: a retried create doubles it unless the client
//! finds it first.
//!
//! A dropped connection rather than a `502`: a gateway that answers `502`
//! tells the client the write may not have happened, while a connection
//! closed without an answer says nothing at all — the harder and more
//! common case, and the one the engine's lost-answer handling is for.
//!
//! Which requests are writes: `POST`, `PUT`, `PATCH` and `DELETE` of a
//! system's API routes (its token route is outside the layer), answered
//! with a `2xx` — a refused write changed nothing and loses no answer.
//! monday.com, where every request is a `POST`, loses the answers of
//! mutations only (its handler asks [`Lossy::take_drop`] itself).
//!
//! This module owns the layer, the empty answer and the control route; the
//! count of answers still to lose lives in each system's state ([`Gate`](crate::common::Gate)
//! for the seed systems, [`State::drops`] for Kommo).

use crate::common::param;
use crate::State;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Query, Request, State as Ext};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use http_body::Frame;
use serde_json::{json, Value};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// A system's state that can lose the answers of its writes.
pub trait Lossy: Send + 'static {
    /// Lose the answers of the next `n` successful writes.
    fn drop_answers(&mut self, n: u32);
    /// Whether the answer of a write just applied is to be lost.
    fn take_drop(&mut self) -> bool;
}

/// The seed systems keep the count in their [`Gate`].
macro_rules! gated {
    ($($state:ty),*) => {$(
        impl Lossy for $state {
            fn drop_answers(&mut self, n: u32) {
                self.gate.drop_answers(n);
            }
            fn take_drop(&mut self) -> bool {
                self.gate.take_drop()
            }
        }
    )*};
}

gated!(
    crate::graph::GraphState,
    crate::monday::MondayState,
    crate::espo::EspoState,
    crate::advoware::AdvowareState
);

impl Lossy for State {
    fn drop_answers(&mut self, n: u32) {
        self.drops += n;
    }
    fn take_drop(&mut self) -> bool {
        let drop = self.drops > 0;
        self.drops = self.drops.saturating_sub(1);
        drop
    }
}

/// The layer of a system's API routes: a write that succeeded while a
/// drop is queued is answered with [`severed`].
pub async fn after_write<S: Lossy>(
    Ext(state): Ext<Arc<Mutex<S>>>,
    request: Request,
    next: Next,
) -> Response {
    let write =
        [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(request.method());
    let response = next.run(request).await;
    if write && response.status().is_success() && state.lock().unwrap().take_drop() {
        return severed();
    }
    response
}

/// The routes of a system's API whose write answers can be lost: a
/// router so far gets [`after_write`] as its route layer, with the count
/// kept in `state`. Routes added after it (a token route) are outside.
pub trait LossyRoutes {
    /// These routes, lossy through `state`.
    fn lossy<S: Lossy>(self, state: &Arc<Mutex<S>>) -> Self;
}

impl<R: Clone + Send + Sync + 'static> LossyRoutes for Router<R> {
    fn lossy<S: Lossy>(self, state: &Arc<Mutex<S>>) -> Self {
        self.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            after_write::<S>,
        ))
    }
}

/// An answer that is never sent: its body fails before the first byte, so
/// the server closes the connection with the status line still unwritten.
pub fn severed() -> Response {
    Response::new(Body::new(Severed))
}

/// A body whose first frame is an error.
struct Severed;

impl HttpBody for Severed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let e = std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the emulator drops this answer after the write",
        );
        Poll::Ready(Some(Err(e)))
    }
}

/// `POST {path}?count=N` (default 1): lose the answers of the next N
/// writes of the system; answers the number now queued.
pub fn control<S: Lossy>(path: &str, state: Arc<Mutex<S>>) -> Router {
    Router::new()
        .route(path, post(queue::<S>))
        .with_state(state)
}

async fn queue<S: Lossy>(
    Ext(state): Ext<Arc<Mutex<S>>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Json<Value> {
    let n = param(&q, "count").and_then(|c| c.parse().ok()).unwrap_or(1);
    state.lock().unwrap().drop_answers(n);
    Json(json!({ "drop_answers": n }))
}
