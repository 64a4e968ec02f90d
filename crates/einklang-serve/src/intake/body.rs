//! Reading a request's body within the port's limits: a `Content-Length`
//! over the cap is answered 413 before a byte of the body is read; a
//! chunked body is cut off at the cap (`http_body_util::Limited`); the
//! whole body must arrive within the timeout, else 408. Every refusal
//! closes the connection, so an unread body is never waited for.

use axum::body::{Body, Bytes};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;
use std::time::Duration;

/// The body limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes at most.
    pub max: u64,
    /// Time for the whole body.
    pub timeout: Duration,
}

/// The body, or the answer that refuses it.
pub async fn read(headers: &HeaderMap, body: Body, limits: &Limits) -> Result<Bytes, Response> {
    let max = limits.max;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(len) = declared.filter(|len| *len > max) {
        let message = format!("a body of {len} bytes is over the limit of {max}");
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, message));
    }
    let limited = Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX));
    match tokio::time::timeout(limits.timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over the limit of {max} bytes"),
        )),
        Ok(Err(e)) => Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("the body could not be read: {e}"),
        )),
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s",
                limits.timeout.as_secs()
            ),
        )),
    }
}

/// An error answer that closes the connection.
fn refuse(status: StatusCode, message: String) -> Response {
    let mut response = (status, Json(json!({ "error": message }))).into_response();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}
