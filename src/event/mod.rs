//! The event model shared by server and browser: topic names, payloads, and each view's state
//! with the pure `apply()` both sides use, so the server's snapshot and the browser's live state
//! can never disagree about what an event means.
//!
//! Nothing here touches tokio, a socket or a database: it compiles to wasm unchanged.

pub mod stocks;
pub mod topic;

use serde::{Deserialize, Serialize};

pub use stocks::{Quote, StocksState, Tick};
pub use topic::{Topic, TopicError};

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
/// topics are parsed into their typed payload, so a malformed tick never reaches a view.
pub fn validate_payload(topic: &Topic, body: &[u8]) -> Result<String, PayloadError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| PayloadError::InvalidJson(e.to_string()))?;
    if !value.is_object() {
        return Err(PayloadError::NotAnObject);
    }
    match topic.as_str() {
        topic::STOCKS => {
            let tick: Tick = serde_json::from_value(value).map_err(|e| PayloadError::Schema {
                topic: topic::STOCKS,
                detail: e.to_string(),
            })?;
            tick.validate()?;
            Ok(serde_json::to_string(&tick).expect("a Tick always serializes"))
        }
        _ => Ok(value.to_string()),
    }
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
    pub id: u64,
    pub stocks: StocksState,
}

impl Snapshot {
    /// Applies one event. Events of topics no view shows only advance `id`. Payloads that do not
    /// parse are reported and leave the state unchanged (the server validated them, so this
    /// means a version mismatch, not user error).
    pub fn apply(&mut self, id: u64, topic: &str, data: &str) -> Result<(), PayloadError> {
        if id <= self.id {
            return Ok(());
        }
        self.id = id;
        if topic == topic::STOCKS {
            let tick = Tick::parse(data)?;
            self.stocks.apply(&tick);
        }
        Ok(())
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
        s.apply(5, "stocks", r#"{"symbol":"ACME","price":10}"#)
            .unwrap();
        s.apply(5, "stocks", r#"{"symbol":"ACME","price":99}"#)
            .unwrap();
        s.apply(4, "stocks", r#"{"symbol":"ACME","price":98}"#)
            .unwrap();
        assert_eq!(s.id, 5);
        assert_eq!(s.stocks.quotes["ACME"].price, 10.0);
        assert_eq!(s.stocks.quotes["ACME"].ticks, 1);
        s.apply(6, "orders", r#"{"x":1}"#).unwrap();
        assert_eq!(s.id, 6);
    }
}
