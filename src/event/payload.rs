//! What every built-in payload shares: parse from JSON, check the values serde cannot, and stamp
//! a publish time where the payload carries one. [`super::validate_payload_at`] and
//! [`super::Snapshot::apply`] go through here, so the server and the browser refuse the same
//! things with the same messages.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::topic::BuiltIn;
use super::PayloadError;

pub trait Payload: Serialize + DeserializeOwned {
    /// The built-in topic this payload belongs to.
    const TOPIC: BuiltIn;

    /// Checks values beyond their types; the message says what to change.
    fn check(&self) -> Result<(), String>;

    /// Fills a missing publish time (milliseconds since the Unix epoch). Most payloads carry
    /// none; posts and notifications show when they happened.
    fn stamp(&mut self, _now_ms: i64) {}

    /// Parses and checks one event's data.
    fn parse(json: &str) -> Result<Self, PayloadError> {
        let value: Self = serde_json::from_str(json).map_err(|e| schema::<Self>(e.to_string()))?;
        value.check().map_err(schema::<Self>)?;
        Ok(value)
    }
}

/// A schema error for `P`'s topic.
pub fn schema<P: Payload>(detail: String) -> PayloadError {
    PayloadError::Schema {
        topic: P::TOPIC.name(),
        detail,
    }
}

/// Checks a text field's length in characters (not bytes: "é" is one character to a reader),
/// after trimming, so a message can say exactly how long it may be.
pub fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    let n = value.trim().chars().count();
    if n < min {
        return Err(if min == 1 {
            format!("{field} is empty; write 1 to {max} characters")
        } else {
            format!("{field} is {n} characters; it needs at least {min}")
        });
    }
    if n > max {
        return Err(format!(
            "{field} is {n} characters long; the limit is {max}"
        ));
    }
    Ok(())
}

/// Normalizes a JSON value as `P`: parse, check, stamp, and write back compactly. Unknown
/// fields are refused by each payload's `deny_unknown_fields`, so a typo is an error, not
/// silently ignored.
pub fn normalize<P: Payload>(
    value: serde_json::Value,
    now_ms: i64,
) -> Result<String, PayloadError> {
    let mut payload: P = serde_json::from_value(value).map_err(|e| schema::<P>(e.to_string()))?;
    payload.check().map_err(schema::<P>)?;
    payload.stamp(now_ms);
    Ok(serde_json::to_string(&payload).expect("payloads always serialize"))
}
