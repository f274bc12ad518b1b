//! `GET /api/events?topics=a,b[&since=ID]`: the one SSE stream a page needs.
//!
//! On connect: `retry:`, then either exactly the events after `Last-Event-ID` / `since` (the
//! header wins: browsers send it on their own reconnects, when it is newer than the URL's
//! `since`) or an `event: reset` when that id is outside the history; then live events. Idle
//! streams get a `:` heartbeat. Frames come pre-encoded from the hub; several queued frames are
//! written as one chunk. On shutdown the stream sends a short `retry:` and ends, so
//! graceful shutdown never waits on it and clients come back quickly to the next instance.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::AppState;
use crate::error::ApiError;
use crate::event::{EventId, Topic};
use crate::hub::subscription::conflate;
use crate::hub::{Replay, Subscription};
use crate::sse::frame;

/// The most topics one stream may carry.
pub const MAX_TOPICS: usize = 32;

/// Frames written in one chunk at most (bounds the chunk at ~64 frames' size).
const FRAMES_PER_CHUNK: usize = 64;

/// `retry:` sent as the stream ends for shutdown: come back soon, the next instance is ready.
const SHUTDOWN_RETRY_MS: u64 = 500;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/events", get(events))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    topics: Option<String>,
    since: Option<String>,
}

/// Parses `a,b,c` into distinct, valid topics.
pub fn parse_topics(list: Option<&str>) -> Result<Vec<Topic>, ApiError> {
    let list = list.unwrap_or_default();
    if list.is_empty() {
        return Err(ApiError::BadTopicList(
            "name at least one topic, e.g. ?topics=stocks,notifications".into(),
        ));
    }
    let mut topics: Vec<Topic> = Vec::new();
    for name in list.split(',') {
        let topic = Topic::parse(name)
            .map_err(|e| ApiError::BadTopicList(format!("topic {name:?}: {e}")))?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    if topics.len() > MAX_TOPICS {
        return Err(ApiError::BadTopicList(format!(
            "{} topics requested; one stream carries at most {MAX_TOPICS}",
            topics.len()
        )));
    }
    Ok(topics)
}

fn parse_id(raw: &str, source: &str) -> Result<EventId, ApiError> {
    raw.parse().map_err(|e| {
        // Quoted with a bound, so a long header does not come back whole.
        let shown: String = raw.chars().take(32).collect();
        ApiError::BadEventId(format!("{source} {shown:?} is not valid: {e}"))
    })
}

async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    let topics = parse_topics(query.topics.as_deref())?;
    let header_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let since = match (header_id, query.since.as_deref().filter(|s| !s.is_empty())) {
        (Some(h), _) => Some(parse_id(h, "Last-Event-ID")?),
        (None, Some(s)) => Some(parse_id(s, "since")?),
        (None, None) => None,
    };
    let mut sub = state.hub.subscribe(topics, since).await;
    let mut head = VecDeque::new();
    head.push_back(Bytes::from(frame::retry(state.config.retry_ms)));
    match sub.take_replay() {
        Replay::Events(events) => {
            for chunk in events.chunks(FRAMES_PER_CHUNK) {
                head.push_back(join(chunk.iter().map(|e| &e.frame)));
            }
        }
        Replay::Reset { latest } => {
            let data = format!(r#"{{"id":{latest},"reason":"history"}}"#);
            let reset = frame::event(Some(&latest.to_string()), Some("reset"), &data)
                .expect("digits and a fixed name are single-line");
            head.push_back(Bytes::from(reset));
        }
    }
    let heartbeat = Duration::from_secs(state.config.heartbeat_secs);
    let mut ticker = interval_at(Instant::now() + heartbeat, heartbeat);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stream = Stream {
        head,
        sub,
        ticker,
        shutdown: state.shutdown.clone(),
        done: false,
    };
    let body = Body::from_stream(futures::stream::unfold(stream, Stream::next));
    let mut res = Response::new(body);
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}

fn join<'a>(frames: impl Iterator<Item = &'a Bytes>) -> Bytes {
    let mut buf = BytesMut::new();
    for f in frames {
        buf.extend_from_slice(f);
    }
    buf.freeze()
}

/// The state of one open stream.
struct Stream {
    /// Written before anything live: `retry:`, then the replay or the reset.
    head: VecDeque<Bytes>,
    sub: Subscription,
    ticker: Interval,
    shutdown: CancellationToken,
    done: bool,
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Bytes, std::convert::Infallible>, Stream)> {
        if self.done {
            return None;
        }
        if let Some(chunk) = self.head.pop_front() {
            return Some((Ok(chunk), self));
        }
        let chunk = tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => {
                self.done = true;
                Bytes::from(frame::retry(SHUTDOWN_RETRY_MS))
            }
            event = self.sub.next() => {
                // `None`: the hub cut this subscriber off for lagging (its queue was full).
                // Ending the stream makes the client reconnect with its last id and replay
                // exactly what it missed.
                let first = event?;
                let mut frames = vec![first];
                while frames.len() < FRAMES_PER_CHUNK {
                    match self.sub.try_next() {
                        Some(ev) => frames.push(ev),
                        None => break,
                    }
                }
                let skipped = conflate(&mut frames);
                if skipped > 0 {
                    self.sub.count_conflated(skipped);
                }
                self.ticker.reset();
                if frames.len() == 1 {
                    frames[0].frame.clone()
                } else {
                    join(frames.iter().map(|e| &e.frame))
                }
            }
            _ = self.ticker.tick() => Bytes::from_static(b":\n\n"),
        };
        Some((Ok(chunk), self))
    }
}
