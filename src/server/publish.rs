//! `POST /api/topics/{topic}/events`: publish one JSON event, acknowledged once durable.
//!
//! Checks run in this order, so the cheapest refusal comes first and nothing is stored unless
//! all pass: body size and time (413/408, in [`super::guard`] before any route), token (401),
//! the token's publish rate (429), topic name (422), the token's topics (403), JSON and schema
//! (400).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};

use super::AppState;
use crate::error::ApiError;
use crate::event::{validate_payload, BuiltIn, Topic};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/topics/{topic}/events", post(publish))
}

async fn publish(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let caller = state
        .tokens
        .identify(&headers)
        .ok_or(ApiError::Unauthorized)?;
    if let Some(limit) = &state.publish_limit {
        // Keyed by the token's name, so each token has its own budget.
        limit
            .check(caller.name.clone())
            .map_err(|wait| ApiError::PublishRateLimited {
                retry_after: crate::api::request::retry_secs(wait),
            })?;
    }
    let topic = Topic::parse_new(&topic).map_err(ApiError::BadTopic)?;
    if !caller.allows(topic.as_str()) {
        return Err(ApiError::TopicNotAllowed {
            token: caller.name.to_string(),
            topic: topic.as_str().to_owned(),
        });
    }
    if topic.builtin() == Some(BuiltIn::Jobs) {
        // Job states are computed by the server from reports (rate, ETA, transitions).
        return Err(ApiError::BadTopicList(
            "job progress is reported through POST /api/jobs/{id}/progress, not published".into(),
        ));
    }
    let limit = state.config.max_body;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge { limit });
    }
    let bytes = axum::body::to_bytes(body, limit as usize)
        .await
        .map_err(|_| ApiError::TooLarge { limit })?;
    let data = validate_payload(&topic, &bytes).map_err(ApiError::BadPayload)?;
    let is_post = topic.builtin() == Some(BuiltIn::Feed);
    let id = state
        .hub
        .publish(topic, data)
        .await
        .map_err(ApiError::Unavailable)?;
    if is_post {
        // The posts table is fed from committed events; a post is there before its 202.
        state.recorder.stored(id).await;
    }
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))))
}
