//! The HTTP API's errors: one enum, each variant's status documented, rendered as
//! `{"error": "...", "detail": "..."}`. Infrastructure failures are logged in full and shown
//! to the client only as a short, actionable message.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::event::{PayloadError, TopicError};
use crate::hub::PublishError;

#[derive(Debug)]
pub enum ApiError {
    /// 401: no `Authorization: Bearer` header, or the wrong token.
    Unauthorized,
    /// 422: the topic in the path is not a valid topic name.
    BadTopic(TopicError),
    /// 400: the `topics` list of a subscription is empty, too long or has a bad name.
    BadTopicList(String),
    /// 400: `since` / `Last-Event-ID` is not an event id.
    BadEventId(String),
    /// 400: the body is not one JSON object or does not match the topic's schema.
    BadPayload(PayloadError),
    /// 413: the body is larger than the configured limit.
    TooLarge { limit: usize },
    /// 404: nothing is known about this topic yet.
    UnknownTopic(String),
    /// 503: shutting down, or the log could not store the event.
    Unavailable(PublishError),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    detail: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadTopic(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadTopicList(_) | ApiError::BadEventId(_) | ApiError::BadPayload(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnknownTopic(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn parts(&self) -> (&'static str, String) {
        match self {
            ApiError::Unauthorized => (
                "unauthorized",
                "send the publish token as `Authorization: Bearer <token>`".into(),
            ),
            ApiError::BadTopic(e) => ("bad_topic", e.to_string()),
            ApiError::BadTopicList(d) => ("bad_topics", d.clone()),
            ApiError::BadEventId(d) => ("bad_event_id", d.clone()),
            ApiError::BadPayload(e) => ("bad_payload", e.to_string()),
            ApiError::TooLarge { limit } => (
                "too_large",
                format!("the body is larger than the {limit}-byte limit"),
            ),
            ApiError::UnknownTopic(t) => ("unknown_topic", format!("no events on `{t}` yet")),
            ApiError::Unavailable(e) => ("unavailable", e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (error, detail) = self.parts();
        let body = serde_json::to_string(&Body { error, detail })
            .unwrap_or_else(|_| r#"{"error":"internal"}"#.into());
        let mut res = (self.status(), body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if matches!(self, ApiError::Unauthorized) {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}
