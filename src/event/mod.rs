//! The event model shared by server and browser: topic names, payloads, and each view's state
//! with the pure `apply()` both sides use, so the server's snapshot and the browser's live state
//! can never disagree about what an event means.
//!
//! Nothing here touches tokio, a socket or a database: it compiles to wasm unchanged.

pub mod feed;
pub mod history;
pub mod id;
pub mod jobs;
pub mod monitor;
pub mod notifications;
pub mod payload;
pub mod scores;
pub mod stocks;
pub mod topic;
pub mod view;

use serde::{Deserialize, Serialize};

pub use feed::{FeedState, NewPost, Post};
pub use id::{BadEventId, EventId};
pub use jobs::{Job, JobStatus, JobsState};
pub use monitor::{MonitorState, Sample};
pub use notifications::{NewNotice, Notice, NotificationsState};
pub use payload::Payload;
pub use scores::{GameUpdate, ScoresState};
pub use stocks::{Quote, StocksState, Tick};
pub use topic::{BuiltIn, Topic, TopicError};
pub use view::{Changed, KeyedState, ViewState};

/// Why a payload was refused. Each message says what a publisher must change.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadError {
    /// The body is not one JSON value (or has trailing bytes).
    InvalidJson(String),
    /// Custom topics take a JSON object; arrays, strings and numbers are refused.
    NotAnObject,
    /// A built-in topic's payload does not match its schema.
    Schema { topic: &'static str, detail: String },
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayloadError::InvalidJson(e) => write!(f, "body is not valid JSON: {e}"),
            PayloadError::NotAnObject => write!(f, "event payload must be a JSON object"),
            PayloadError::Schema { topic, detail } => {
                write!(f, "payload does not match the `{topic}` schema: {detail}")
            }
        }
    }
}

impl std::error::Error for PayloadError {}

/// Parses and checks a publish body for `topic`, returning the compact JSON to store and send.
///
/// The body must be exactly one JSON value (`serde_json` refuses trailing garbage). Built-in
/// topics are parsed into their typed payload, so a malformed tick never reaches a view, and
/// posts and notices without a time get `now_ms`.
pub fn validate_payload_at(
    topic: &Topic,
    body: &[u8],
    now_ms: i64,
) -> Result<String, PayloadError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| PayloadError::InvalidJson(e.to_string()))?;
    if !value.is_object() {
        return Err(PayloadError::NotAnObject);
    }
    match topic.builtin() {
        Some(BuiltIn::Stocks) => payload::normalize::<Tick>(value, now_ms),
        Some(BuiltIn::Scores) => payload::normalize::<GameUpdate>(value, now_ms),
        Some(BuiltIn::Feed) => payload::normalize::<NewPost>(value, now_ms),
        Some(BuiltIn::Monitor) => payload::normalize::<Sample>(value, now_ms),
        Some(BuiltIn::Notifications) => payload::normalize::<NewNotice>(value, now_ms),
        Some(BuiltIn::Jobs) => payload::normalize::<Job>(value, now_ms),
        None => Ok(value.to_string()),
    }
}

/// [`validate_payload_at`] with the server's clock.
#[cfg(feature = "ssr")]
pub fn validate_payload(topic: &Topic, body: &[u8]) -> Result<String, PayloadError> {
    validate_payload_at(topic, body, now_ms())
}

/// Milliseconds since the Unix epoch, by the server's clock.
#[cfg(feature = "ssr")]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Everything the views show, current to event `id`.
///
/// The server keeps one of these up to date under the hub's lock (so `id` and state always
/// match), renders pages from a copy, and embeds that copy in the page; the browser continues it
/// by applying each streamed event with the same [`Snapshot::apply`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The id of the newest event reflected here (0 before the first event). The page's stream
    /// subscribes with `since=id`, so nothing is missed and nothing is applied twice.
    pub id: EventId,
    pub stocks: StocksState,
    #[serde(default)]
    pub scores: ScoresState,
    #[serde(default)]
    pub feed: FeedState,
    #[serde(default)]
    pub monitor: MonitorState,
    #[serde(default)]
    pub notifications: NotificationsState,
    #[serde(default)]
    pub jobs: JobsState,
}

/// One event of a built-in topic, parsed into its view's payload: the single place that maps
/// a topic to a payload type, for the snapshot (server) and the live store (browser).
#[derive(Debug, Clone)]
pub enum ViewEvent {
    Stocks(Tick),
    Scores(GameUpdate),
    Feed(NewPost),
    Monitor(Sample),
    Notifications(NewNotice),
    Jobs(Job),
}

impl ViewEvent {
    /// Parses `data` as the payload of the built-in topic `topic`.
    pub fn parse(topic: BuiltIn, data: &str) -> Result<ViewEvent, PayloadError> {
        Ok(match topic {
            BuiltIn::Stocks => ViewEvent::Stocks(Tick::parse(data)?),
            BuiltIn::Scores => ViewEvent::Scores(GameUpdate::parse(data)?),
            BuiltIn::Feed => ViewEvent::Feed(NewPost::parse(data)?),
            BuiltIn::Monitor => ViewEvent::Monitor(Sample::parse(data)?),
            BuiltIn::Notifications => ViewEvent::Notifications(NewNotice::parse(data)?),
            BuiltIn::Jobs => ViewEvent::Jobs(Job::parse(data)?),
        })
    }

    /// Parses `data` for a topic by name; `Ok(None)` for custom topics (no view shows them).
    pub fn parse_named(topic: &str, data: &str) -> Result<Option<ViewEvent>, PayloadError> {
        BuiltIn::from_name(topic)
            .map(|b| ViewEvent::parse(b, data))
            .transpose()
    }
}

impl Snapshot {
    /// An empty snapshot whose stocks table keeps at most `max_stock_symbols` rows.
    pub fn bounded(max_stock_symbols: usize) -> Snapshot {
        Snapshot {
            stocks: StocksState::with_max(max_stock_symbols),
            ..Snapshot::default()
        }
    }

    /// One view's state as JSON (what `GET /api/topics/{topic}/snapshot` returns).
    pub fn view_json(&self, topic: BuiltIn) -> serde_json::Value {
        let json = match topic {
            BuiltIn::Stocks => serde_json::to_value(&self.stocks),
            BuiltIn::Scores => serde_json::to_value(&self.scores),
            BuiltIn::Feed => serde_json::to_value(&self.feed),
            BuiltIn::Monitor => serde_json::to_value(&self.monitor),
            BuiltIn::Notifications => serde_json::to_value(&self.notifications),
            BuiltIn::Jobs => serde_json::to_value(&self.jobs),
        };
        json.unwrap_or(serde_json::Value::Null)
    }

    /// Applies one event. Events of topics no view shows only advance `id`. Payloads that do not
    /// parse are reported and leave the state unchanged (the server validated them, so this
    /// means a version mismatch, not user error).
    pub fn apply(&mut self, id: EventId, topic: &str, data: &str) -> Result<(), PayloadError> {
        if id <= self.id {
            return Ok(());
        }
        let parsed = ViewEvent::parse_named(topic, data);
        self.advance(id, parsed.as_ref().ok().and_then(Option::as_ref));
        parsed.map(drop)
    }

    /// Applies an event already parsed (or `None`: nothing a view shows) and moves `id` to it.
    /// The hub parses outside its lock and calls this under it.
    pub fn advance(&mut self, id: EventId, event: Option<&ViewEvent>) {
        if id <= self.id {
            return;
        }
        self.id = id;
        let Some(event) = event else {
            return;
        };
        match event {
            ViewEvent::Stocks(e) => drop(self.stocks.apply(id, e)),
            ViewEvent::Scores(e) => drop(self.scores.apply(id, e)),
            ViewEvent::Feed(e) => drop(self.feed.apply(id, e)),
            ViewEvent::Monitor(e) => drop(self.monitor.apply(id, e)),
            ViewEvent::Notifications(e) => drop(self.notifications.apply(id, e)),
            ViewEvent::Jobs(e) => drop(self.jobs.apply(id, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stocks() -> Topic {
        Topic::parse("stocks").unwrap()
    }

    #[test]
    fn trailing_garbage_is_invalid_json() {
        let err = validate_payload(&stocks(), br#"{"symbol":"A","price":1} x"#).unwrap_err();
        assert!(matches!(err, PayloadError::InvalidJson(_)), "{err:?}");
    }

    #[test]
    fn custom_topics_take_objects_only() {
        let t = Topic::parse("orders.eu").unwrap();
        assert_eq!(
            validate_payload(&t, b"[1,2]"),
            Err(PayloadError::NotAnObject)
        );
        assert_eq!(
            validate_payload(&t, br#" {"a" : 1} "#).unwrap(),
            r#"{"a":1}"#
        );
    }

    #[test]
    fn stocks_schema_is_enforced() {
        let err = validate_payload(&stocks(), br#"{"symbol":"ACME"}"#).unwrap_err();
        assert!(matches!(err, PayloadError::Schema { .. }), "{err:?}");
        let err = validate_payload(&stocks(), br#"{"symbol":"ACME","price":-3}"#).unwrap_err();
        assert!(err.to_string().contains("price"), "{err}");
    }

    #[test]
    fn snapshot_ignores_events_it_already_has() {
        let mut s = Snapshot::default();
        s.apply(EventId::new(5), "stocks", r#"{"symbol":"ACME","price":10}"#)
            .unwrap();
        s.apply(EventId::new(5), "stocks", r#"{"symbol":"ACME","price":99}"#)
            .unwrap();
        s.apply(EventId::new(4), "stocks", r#"{"symbol":"ACME","price":98}"#)
            .unwrap();
        assert_eq!(s.id, EventId::new(5));
        assert_eq!(s.stocks.quotes["ACME"].price, 10.0);
        assert_eq!(s.stocks.quotes["ACME"].ticks, 1);
        s.apply(EventId::new(6), "orders", r#"{"x":1}"#).unwrap();
        assert_eq!(s.id, EventId::new(6));
    }

    /// Found by `cargo fuzz` (`publish_body`): without serde_json's `float_roundtrip`, a large
    /// number was read imprecisely, so the stored event changed each time it was read back.
    #[test]
    fn a_stored_custom_event_reads_back_as_the_same_json() {
        let topic = Topic::parse("orders").unwrap();
        let body = br#"{"x":[200200030,139552222222222222222222222222222222222222222222222222222222222222221615]}"#;
        let stored = validate_payload_at(&topic, body, 0).unwrap();
        let again = validate_payload_at(&topic, stored.as_bytes(), 0).unwrap();
        assert_eq!(stored, again);
        let n: f64 = serde_json::from_str::<serde_json::Value>(&stored).unwrap()["x"][1]
            .as_f64()
            .unwrap();
        assert_eq!(n.to_string().parse::<f64>().unwrap(), n);
    }

    proptest::proptest! {
        /// Any body sent to any built-in topic is answered (accepted or a `PayloadError`),
        /// never a panic, and what is accepted is what the views will parse.
        #[test]
        fn any_body_to_a_builtin_topic_is_answered(
            body in "\\PC{0,64}|\\{(\"[a-z_]{1,8}\":(-?[0-9]{1,12}(\\.[0-9]{1,3})?|\"[^\"\\\\]{0,12}\"|true|null|\\[\\]),?){0,6}\\}",
            which in 0usize..BuiltIn::ALL.len(),
        ) {
            let builtin = BuiltIn::ALL[which];
            let topic = Topic::parse(builtin.name()).unwrap();
            if let Ok(normalized) = validate_payload_at(&topic, body.as_bytes(), 1_700_000_000_000) {
                proptest::prop_assert!(
                    ViewEvent::parse(builtin, &normalized).is_ok(),
                    "{builtin:?} accepted {body:?} as {normalized:?}, which its view cannot parse"
                );
            }
        }
    }
}
