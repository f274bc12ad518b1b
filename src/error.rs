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
    /// 403: the token is valid but not for this topic (`--tokens-file` patterns).
    TopicNotAllowed { token: String, topic: String },
    /// 422: the topic in the path is not a valid topic name.
    BadTopic(TopicError),
    /// 400: the `topics` list of a subscription is empty, too long or has a bad name.
    BadTopicList(String),
    /// 400: `since` / `Last-Event-ID` is not an event id.
    BadEventId(String),
    /// 400: `browser=` on a stream is not a browser id (32 hex digits).
    BadBrowserId,
    /// 400: the body is not one JSON object or does not match the topic's schema.
    BadPayload(PayloadError),
    /// 413: the body is larger than the configured limit.
    TooLarge { limit: u64 },
    /// 400: the body ended early or its framing was broken (the client went away mid-body).
    BodyUnreadable,
    /// 404: nothing is known about this topic yet.
    UnknownTopic(String),
    /// 503: shutting down, or the log could not store the event.
    Unavailable(PublishError),
    /// 429: this client address already holds `limit` open streams (`--max-streams-per-client`).
    TooManyStreams { limit: u64 },
    /// 503: the server holds as many streams as it takes (`--max-streams`); existing streams are
    /// unaffected.
    StreamsFull,
    /// 429: this token published faster than `--publish-rate` allows; retry after `retry_after`
    /// seconds.
    PublishRateLimited { retry_after: u64 },
    /// 414: the request target (path and query) is longer than `--max-url-bytes`.
    UriTooLong { limit: u64 },
    /// 408: the body did not arrive within `--body-timeout-ms`.
    BodyTimeout { limit_ms: u64 },
    /// 503: the server is at its connection cap; this connection may only ask `/healthz` and
    /// `/metrics` (see `src/server/listen.rs`).
    OverCapacity,
    /// 403: a server function called from another site's page (see `src/server/csrf.rs`);
    /// names what the browser said (`Origin …` / `Sec-Fetch-Site …`).
    CrossSite(String),
    /// 401: the stream or snapshot names a private topic (`--private-topics`) without a signed
    /// URL's `exp` and `sig`; carries the topic.
    SignatureRequired(String),
    /// 403: `sig` does not match the topic list and `exp` (forged, or the URL was edited).
    BadSignature,
    /// 401: the signed URL expired at the given unix second; a new one must be fetched.
    SubscriptionExpired(u64),
    /// 400: a `POST /api/subscriptions` body that is not `{"topics": [...], "ttl_secs": N}`.
    BadSubscriptionRequest(String),
    /// 415: a server function called with a body that is not URL-encoded; names the type sent.
    UnsupportedEncoding(String),
    /// 400: `range` of the monitor's history is not one of 5m, 1h, 24h; holds what was sent.
    BadRange(String),
}

/// Seconds a client refused for load (a full server, a stream limit) should wait: long enough
/// not to come straight back, short enough that a freed slot is used.
pub const BUSY_RETRY_SECS: u64 = 5;

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
            ApiError::BadTopicList(_)
            | ApiError::BadEventId(_)
            | ApiError::BadBrowserId
            | ApiError::BadPayload(_)
            | ApiError::BodyUnreadable
            | ApiError::BadRange(_)
            | ApiError::BadSubscriptionRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::SignatureRequired(_) | ApiError::SubscriptionExpired(_) => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnknownTopic(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) | ApiError::StreamsFull | ApiError::OverCapacity => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooManyStreams { .. } | ApiError::PublishRateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::CrossSite(_) | ApiError::TopicNotAllowed { .. } | ApiError::BadSignature => {
                StatusCode::FORBIDDEN
            }
            ApiError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    /// The `Retry-After` header's seconds, for refusals that a later retry can overcome.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Unavailable(_) | ApiError::OverCapacity => Some(1),
            ApiError::TooManyStreams { .. } | ApiError::StreamsFull => Some(BUSY_RETRY_SECS),
            ApiError::PublishRateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    fn parts(&self) -> (&'static str, String) {
        match self {
            ApiError::Unauthorized => (
                "unauthorized",
                "send the publish token as `Authorization: Bearer <token>`".into(),
            ),
            ApiError::TopicNotAllowed { token, topic } => (
                "forbidden_topic",
                format!(
                    "the token {token:?} may not publish on `{topic}`; use a token whose topic \
                     patterns include it (see --tokens-file)"
                ),
            ),
            ApiError::BadTopic(e) => ("bad_topic", e.to_string()),
            ApiError::BadTopicList(d) => ("bad_topics", d.clone()),
            ApiError::BadEventId(d) => ("bad_event_id", d.clone()),
            ApiError::BadBrowserId => (
                "bad_browser_id",
                "`browser` is a random id of 32 hex digits, or leave it out".into(),
            ),
            ApiError::BadPayload(e) => ("bad_payload", e.to_string()),
            ApiError::TooLarge { limit } => (
                "too_large",
                format!("the body is larger than the {limit}-byte limit"),
            ),
            ApiError::BodyUnreadable => (
                "body_unreadable",
                "the body ended early or was malformed; send the request again".into(),
            ),
            ApiError::UnknownTopic(t) => ("unknown_topic", format!("no events on `{t}` yet")),
            ApiError::Unavailable(e) => ("unavailable", e.to_string()),
            ApiError::TooManyStreams { limit } => (
                "too_many_streams",
                format!(
                    "this address already has {limit} streams open (one per browser, or per \
                     tab where tabs cannot share); close one, or retry in {BUSY_RETRY_SECS} s"
                ),
            ),
            ApiError::StreamsFull => (
                "server_busy",
                format!(
                    "the server holds as many streams as it can; retry in {BUSY_RETRY_SECS} s \
                     (another instance may have room)"
                ),
            ),
            ApiError::PublishRateLimited { retry_after } => (
                "rate_limited",
                format!("this token is publishing faster than allowed; retry in {retry_after} s"),
            ),
            ApiError::UriTooLong { limit } => (
                "uri_too_long",
                format!(
                    "the path and query are longer than {limit} bytes; name fewer topics or \
                     shorter ones"
                ),
            ),
            ApiError::BodyTimeout { limit_ms } => (
                "body_timeout",
                format!("the body did not arrive within {limit_ms} ms; send it all at once"),
            ),
            ApiError::OverCapacity => (
                "over_capacity",
                "the server is at its connection limit and answers only /healthz and /metrics \
                 now; retry in 1 s"
                    .into(),
            ),
            ApiError::CrossSite(what) => (
                "cross_site",
                format!(
                    "this action can only be sent from a page of this site ({what} is not \
                     allowed); open the page on this site and try again"
                ),
            ),
            ApiError::SignatureRequired(topic) => (
                "signature_required",
                format!(
                    "`{topic}` is a private topic: subscribe with a signed URL (its `exp` and \
                     `sig` parameters), which a publish-token holder gets from POST \
                     /api/subscriptions"
                ),
            ),
            ApiError::BadSignature => (
                "bad_signature",
                "`sig` does not match this topic list and `exp`; a signed URL is valid only as \
                 it was issued (same topics, same exp) — ask for a new one"
                    .into(),
            ),
            ApiError::SubscriptionExpired(exp) => (
                "subscription_expired",
                format!(
                    "this signed URL expired at {exp} (unix seconds); fetch a new one from \
                     whoever issued it (POST /api/subscriptions) and reconnect with it"
                ),
            ),
            ApiError::BadSubscriptionRequest(d) => ("bad_request", d.clone()),
            ApiError::BadRange(sent) => (
                "bad_range",
                format!("range {sent:?} is not one of 5m, 1h, 24h; leave it out for 5m"),
            ),
            ApiError::UnsupportedEncoding(media) => (
                "unsupported_media_type",
                format!(
                    "send the arguments URL-encoded (Content-Type: \
                     application/x-www-form-urlencoded), not {media}"
                ),
            ),
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
        if let Some(secs) = self.retry_after() {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
