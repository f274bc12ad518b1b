//! Checks every request passes before any route sees it: the request target's length (414)
//! and the body — its size (413) and how long it takes to arrive (408).
//!
//! A body is read here, whole, with both limits, before the handler runs; handlers then get it
//! from memory. That makes the limits one rule for every route (publish, job reports, server
//! functions, anything added later) instead of one per handler, and a client that dribbles a
//! body costs at most `--max-body` bytes for at most `--body-timeout-ms`. Requests without a
//! body (every page and stream) pass straight through. The request head itself is bounded
//! before this, by the serve loop (`--max-header-bytes`, `--header-timeout-ms`: see
//! [`super::listen`]).

use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use http_body_util::BodyExt;

use crate::error::ApiError;

/// The limits, from the flags.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub max_url: u64,
    pub max_body: u64,
    pub body_timeout: Duration,
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn guard(State(limits): State<RequestLimits>, req: Request, next: Next) -> Response {
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.uri().path().len(), |pq| pq.as_str().len());
    if target as u64 > limits.max_url {
        return ApiError::UriTooLong {
            limit: limits.max_url,
        }
        .into_response();
    }
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return ApiError::TooLarge {
            limit: limits.max_body,
        }
        .into_response();
    }
    let (parts, body) = req.into_parts();
    let read = read_body(body, limits.max_body, declared);
    let bytes = match tokio::time::timeout(limits.body_timeout, read).await {
        Err(_) => {
            return ApiError::BodyTimeout {
                limit_ms: limits.body_timeout.as_millis() as u64,
            }
            .into_response()
        }
        Ok(Err(e)) => return e.into_response(),
        Ok(Ok(bytes)) => bytes,
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The whole body, refusing it as soon as it grows past `max`.
async fn read_body(
    mut body: Body,
    max: u64,
    declared: Option<u64>,
) -> Result<bytes::Bytes, ApiError> {
    // Reserve what was declared (already checked against `max`), else grow as it comes.
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(max) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            tracing::debug!("request body not read: {e}");
            ApiError::BodyUnreadable
        })?;
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > max {
                return Err(ApiError::TooLarge { limit: max });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}
