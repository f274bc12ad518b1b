//! `GET /api/events?topics=a,b[&since=ID][&browser=ID]`: the one SSE stream a browser needs.
//!
//! First a place under the stream limits ([`super::subscribers`]: 429 per client address, 503
//! in all) — before the topics are even parsed, so a refused client costs one map lookup. A
//! list naming a private topic needs the signed URL's `exp` and `sig` ([`super::signed`]). On
//! connect: `retry:`, then either exactly the events after `Last-Event-ID` / `since` (the
//! header wins: browsers send it on their own reconnects, when it is newer than the URL's
//! `since`) or an `event: reset` when that id is outside the history; then live events. The
//! replay is read from the hub's window a chunk at a time as the body is polled, so a client
//! that asks for `since=0` and never reads pins nothing (see "Lazy replay" in the hub). Idle
//! streams get a `:` heartbeat. Frames come pre-encoded from the hub; several queued frames are
//! written as one chunk, and a live stream that wrote within the last `--coalesce-ms` waits out
//! the rest first, so a busy stream makes one write per interval, not one per commit. On
//! shutdown the stream sends a short `retry:` and ends, so graceful shutdown never waits on it
//! and clients come back quickly to the next instance.
//! A stream that names its browser counts toward "N watching" ([`super::presence`]) while it is
//! open, and gets the count as id-less `event: presence` frames whenever it changes.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bytes::{Bytes, BytesMut};
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::client::ClientAddr;
use super::presence::PresenceGuard;
use super::signed;
use super::subscribers::StreamPermit;
use super::AppState;
use crate::error::ApiError;
use crate::event::topic::MAX_LEN as MAX_TOPIC_LEN;
use crate::event::{EventId, Topic};
use crate::hub::subscription::conflate;
use crate::hub::Subscription;
use crate::live::presence::{is_browser_id, PresenceCount, BROWSER_PARAM, PRESENCE_EVENT};
use crate::sse::frame;

/// The most topics one stream may carry.
pub const MAX_TOPICS: usize = 32;

/// Frames written in one chunk at most (bounds the chunk at ~64 frames' size).
const FRAMES_PER_CHUNK: usize = 64;

/// `retry:` sent as the stream ends for shutdown: come back soon, the next instance is ready.
const SHUTDOWN_RETRY_MS: u64 = 500;

/// The stream's path (the stream fast path in [`super::sse_socket`] recognises it too).
pub const PATH: &str = "/api/events";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(events))
}

/// The longest `topics=` value (still percent-encoded) that could name [`MAX_TOPICS`] valid
/// topics: anything longer is refused by its length alone, before it is decoded or scanned.
const MAX_RAW_TOPICS: usize = 3 * MAX_TOPICS * (MAX_TOPIC_LEN + 1);

#[derive(Debug, Default)]
struct EventsQuery {
    topics: Option<String>,
    since: Option<String>,
    browser: Option<String>,
}

impl EventsQuery {
    /// Reads `topics`, `since` and `browser` from the raw query string. Done by hand rather than with a
    /// generic deserializer so that an oversized topic list is refused by its length before a
    /// byte of it is decoded (see [`parse_topics`] for the rest). Other parameters are ignored.
    fn parse(raw: Option<&str>) -> Result<EventsQuery, ApiError> {
        let mut q = EventsQuery::default();
        for pair in raw.unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match key {
                "topics" => &mut q.topics,
                "since" => &mut q.since,
                BROWSER_PARAM => &mut q.browser,
                _ => continue,
            };
            if slot.is_some() {
                return Err(ApiError::BadTopicList(format!("give `{key}` once")));
            }
            if key == "topics" && value.len() > MAX_RAW_TOPICS {
                return Err(ApiError::BadTopicList(format!(
                    "the topic list is {} bytes long; one stream carries at most {MAX_TOPICS} \
                     topics of at most {MAX_TOPIC_LEN} characters",
                    value.len()
                )));
            }
            *slot = Some(decode_component(value));
        }
        Ok(q)
    }
}

/// Percent-decodes one query component (`+` is a space), leaving malformed escapes as they
/// are; the names and ids it yields are validated afterwards anyway.
fn decode_component(s: &str) -> String {
    if !s.contains(['%', '+']) {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    bytes.get(i + 1).and_then(|b| hex(*b)),
                    bytes.get(i + 2).and_then(|b| hex(*b)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a,b,c` into distinct, valid topics.
///
/// The cheap refusals come first, before any per-name work: a list longer than
/// [`MAX_TOPICS`] names could be, or with more than [`MAX_TOPICS`] entries (counted by their
/// commas, duplicates included), is refused as a whole. Then each name is parsed once and
/// de-duplicated with a set, so the work is linear in a list that is already bounded.
pub fn parse_topics(list: Option<&str>) -> Result<Vec<Topic>, ApiError> {
    let list = list.unwrap_or_default();
    if list.is_empty() {
        return Err(ApiError::BadTopicList(
            "name at least one topic, e.g. ?topics=stocks,notifications".into(),
        ));
    }
    let entries = list.bytes().filter(|b| *b == b',').count() + 1;
    if entries > MAX_TOPICS || list.len() > MAX_TOPICS * (MAX_TOPIC_LEN + 1) {
        return Err(ApiError::BadTopicList(format!(
            "{entries} topics requested ({} bytes); one stream carries at most {MAX_TOPICS}",
            list.len()
        )));
    }
    let mut seen = HashSet::with_capacity(entries);
    let mut topics: Vec<Topic> = Vec::with_capacity(entries);
    for name in list.split(',') {
        let topic = Topic::parse_new(name).map_err(|e| {
            let shown: String = name.chars().take(MAX_TOPIC_LEN + 1).collect();
            ApiError::BadTopicList(format!("topic {shown:?}: {e}"))
        })?;
        if seen.insert(topic.clone()) {
            topics.push(topic);
        }
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
    client: ClientAddr,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let permit = state.streams.acquire(client)?;
    let query = EventsQuery::parse(raw.as_deref())?;
    let topics = parse_topics(query.topics.as_deref())?;
    let (exp, sig) = signed::grant_params(raw.as_deref());
    state.signer.check(&topics, exp, sig, signed::now_secs())?;
    let header_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let since = match (header_id, query.since.as_deref().filter(|s| !s.is_empty())) {
        (Some(h), _) => Some(parse_id(h, "Last-Event-ID")?),
        (None, Some(s)) => Some(parse_id(s, "since")?),
        (None, None) => None,
    };
    let presence = match query.browser {
        Some(id) if is_browser_id(&id) => {
            let mut count = state.presence.subscribe();
            // The first frame says the count as it is, this browser included.
            count.mark_changed();
            Some(Watching {
                _guard: state.presence.join(id.to_ascii_lowercase()),
                count,
            })
        }
        Some(_) => return Err(ApiError::BadBrowserId),
        None => None,
    };
    let mut sub = state.hub.subscribe(topics, since).await;
    let mut head = VecDeque::new();
    head.push_back(Bytes::from(frame::retry(state.config.retry_ms)));
    if let Some(latest) = sub.take_reset() {
        let data = format!(r#"{{"id":{latest},"reason":"history"}}"#);
        let reset = frame::event(Some(&latest.to_string()), Some("reset"), &data)
            .expect("digits and a fixed name are single-line");
        head.push_back(Bytes::from(reset));
    }
    let heartbeat = Duration::from_secs(state.config.heartbeat_secs);
    let mut ticker = interval_at(Instant::now() + heartbeat, heartbeat);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stream = Stream {
        head,
        sub,
        ticker,
        pacing: Pacing::new(Duration::from_millis(state.config.coalesce_ms)),
        shutdown: state.shutdown.clone(),
        done: false,
        presence,
        _permit: permit,
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

/// When a live stream may write next (`--coalesce-ms`): a write less than `every` after the
/// last one waits out the rest, unless the last write was a full chunk (a backlog: it goes
/// out at once, so pacing never caps a subscriber's rate). The replay is never paced.
struct Pacing {
    every: Duration,
    last: Option<Instant>,
    backlog: bool,
}

impl Pacing {
    fn new(every: Duration) -> Pacing {
        Pacing {
            every,
            last: None,
            backlog: false,
        }
    }

    /// Waits out the interval if this write must, and returns the write's moment: one clock
    /// read per write, none with pacing off (`None`).
    async fn ready(&self) -> Option<Instant> {
        if self.every.is_zero() {
            return None;
        }
        let now = Instant::now();
        match self.due(now) {
            Some(due) => {
                tokio::time::sleep_until(due).await;
                Some(due)
            }
            None => Some(now),
        }
    }

    /// The moment to wait for before the next write, if any.
    fn due(&self, now: Instant) -> Option<Instant> {
        let due = self.last? + self.every;
        (!self.every.is_zero() && !self.backlog && now < due).then_some(due)
    }

    fn wrote(&mut self, now: Instant, frames: usize) {
        self.last = Some(now);
        self.backlog = frames >= FRAMES_PER_CHUNK;
    }
}

/// The state of one open stream.
struct Stream {
    /// Written before anything else: `retry:`, and the reset if there is one.
    head: VecDeque<Bytes>,
    /// The replay (read from the window as the body is polled), then live events.
    sub: Subscription,
    ticker: Interval,
    pacing: Pacing,
    shutdown: CancellationToken,
    done: bool,
    /// Set when the client named its browser: its place in the count, and the count.
    presence: Option<Watching>,
    /// This stream's place under the stream limits, given back when the body is dropped.
    _permit: StreamPermit,
}

struct Watching {
    _guard: PresenceGuard,
    count: tokio::sync::watch::Receiver<u64>,
}

/// The next count to write, when it changed (pending for ever on a stream without presence).
async fn presence_changed(presence: &mut Option<Watching>) -> u64 {
    if let Some(w) = presence {
        if w.count.changed().await.is_ok() {
            return *w.count.borrow_and_update();
        }
    }
    std::future::pending().await
}

fn presence_frame(watching: u64) -> Bytes {
    let data = serde_json::to_string(&PresenceCount { watching }).expect("a number serializes");
    Bytes::from(frame::event(None, Some(PRESENCE_EVENT), &data).expect("one line, fixed name"))
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Bytes, std::convert::Infallible>, Stream)> {
        if self.done {
            return None;
        }
        if let Some(chunk) = self.head.pop_front() {
            return Some((Ok(chunk), self));
        }
        // A replay is written as it was committed; only live batches (a reader that fell
        // behind) skip superseded job states.
        let live = !self.sub.replaying();
        let chunk = tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => {
                self.done = true;
                Bytes::from(frame::retry(SHUTDOWN_RETRY_MS))
            }
            event = self.sub.next() => {
                // `None`: the hub cut this subscriber off for lagging (its queue was full, or
                // the window moved past its replay). Ending the stream makes the client
                // reconnect with its last id and replay exactly what it missed (or get a reset).
                let first = event?;
                let paced_at = if live { self.pacing.ready().await } else { None };
                let mut frames = vec![first];
                while frames.len() < FRAMES_PER_CHUNK {
                    match self.sub.try_next() {
                        Some(ev) => frames.push(ev),
                        None => break,
                    }
                }
                if live {
                    let skipped = conflate(&mut frames);
                    if skipped > 0 {
                        self.sub.count_conflated(skipped);
                    }
                }
                self.ticker.reset();
                if let Some(at) = paced_at {
                    self.pacing.wrote(at, frames.len());
                }
                if frames.len() == 1 {
                    frames[0].frame.clone()
                } else {
                    join(frames.iter().map(|e| &e.frame))
                }
            }
            watching = presence_changed(&mut self.presence) => {
                self.ticker.reset();
                presence_frame(watching)
            }
            _ = self.ticker.tick() => Bytes::from_static(b":\n\n"),
        };
        Some((Ok(chunk), self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_waits_only_after_a_recent_write_and_never_behind_a_backlog() {
        let t0 = Instant::now();
        let every = Duration::from_millis(5);
        let mut p = Pacing::new(every);
        assert_eq!(p.due(t0), None, "the first write goes at once");
        p.wrote(t0, 3);
        assert_eq!(p.due(t0 + Duration::from_millis(1)), Some(t0 + every));
        assert_eq!(p.due(t0 + every), None, "quiet for the interval: at once");
        p.wrote(t0, FRAMES_PER_CHUNK);
        assert_eq!(
            p.due(t0 + Duration::from_millis(1)),
            None,
            "a full chunk: more is waiting"
        );
        let mut off = Pacing::new(Duration::ZERO);
        off.wrote(t0, 1);
        assert_eq!(off.due(t0), None, "0 turns pacing off");
    }

    #[test]
    fn the_query_is_read_by_hand_like_a_form() {
        let q = EventsQuery::parse(Some("x=1&topics=a%2Cb,c&since=42&browser=ab")).unwrap();
        assert_eq!(q.topics.as_deref(), Some("a,b,c"));
        assert_eq!(q.since.as_deref(), Some("42"));
        assert_eq!(q.browser.as_deref(), Some("ab"));
        assert_eq!(decode_component("a+b%zz%4"), "a b%zz%4");
        assert!(EventsQuery::parse(Some("topics=a&topics=b")).is_err());
        assert!(EventsQuery::parse(None).unwrap().topics.is_none());
    }

    #[test]
    fn long_or_crowded_lists_are_refused_before_any_name_is_parsed() {
        let long = "t,".repeat(40_000);
        let err = EventsQuery::parse(Some(&format!("topics={long}"))).unwrap_err();
        assert!(matches!(err, ApiError::BadTopicList(ref d) if d.contains("bytes long")));
        // 33 copies of one name: refused by the count, duplicates or not.
        let crowded = vec!["a"; 33].join(",");
        let err = parse_topics(Some(&crowded)).unwrap_err();
        assert!(matches!(err, ApiError::BadTopicList(ref d) if d.contains("at most 32")));
        let ok = parse_topics(Some("a,b,a,c")).unwrap();
        let names: Vec<&str> = ok.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            ["a", "b", "c"],
            "de-duplicated, first occurrence kept"
        );
    }

    proptest::proptest! {
        /// Any list (commas, empties, escapes, unicode, very long): no panic; a list that is
        /// accepted holds 1–32 distinct valid names, in the order first named.
        #[test]
        fn any_topic_list_is_answered_and_an_accepted_one_is_clean(
            list in "[a-z0-9.,_-]{0,80}|\\PC{0,80}|(stocks,){0,40}",
        ) {
            if let Ok(topics) = parse_topics(Some(&list)) {
                proptest::prop_assert!(!topics.is_empty() && topics.len() <= MAX_TOPICS);
                let names: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
                let mut first_seen: Vec<&str> = Vec::new();
                for name in list.split(',') {
                    proptest::prop_assert!(Topic::parse_new(name).is_ok(), "{name:?} accepted in {list:?}");
                    if !first_seen.contains(&name) {
                        first_seen.push(name);
                    }
                }
                proptest::prop_assert_eq!(names, first_seen);
            }
        }

        /// Lists of valid names are accepted up to 32 entries (duplicates counted) and refused
        /// above, without looking at the names.
        #[test]
        fn valid_names_are_accepted_up_to_the_entry_limit(
            names in proptest::collection::vec("[a-z][a-z0-9]{0,8}", 1..40),
        ) {
            let list = names.join(",");
            proptest::prop_assert_eq!(parse_topics(Some(&list)).is_ok(), names.len() <= MAX_TOPICS);
        }
    }
}
