//! "N watching": what the browser and the server agree on (shared, no browser APIs).
//!
//! Each browser makes one random id and sends it with its stream (`browser=`); the server
//! counts distinct ids with an open stream and sends the count on that stream as id-less
//! `event: presence` frames (no id: they are not events, are never replayed, and leave the
//! client's `Last-Event-ID` alone). Only the count ever leaves the server.

use serde::{Deserialize, Serialize};

/// The SSE event name of presence frames.
pub const PRESENCE_EVENT: &str = "presence";

/// The `browser=` query parameter of `/api/events`.
pub const BROWSER_PARAM: &str = "browser";

/// The data of a presence frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceCount {
    pub watching: u64,
}

/// A browser id is 32 hex digits (128 random bits): anything else is refused, so the server
/// never keeps arbitrary strings.
pub fn is_browser_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_32_hex_digits_are_an_id() {
        assert!(is_browser_id("0123456789abcdef0123456789ABCDEF"));
        assert!(!is_browser_id("0123456789abcdef"));
        assert!(!is_browser_id("0123456789abcdef0123456789abcdeg"));
        assert!(!is_browser_id(""));
        let json = serde_json::to_string(&PresenceCount { watching: 3 }).unwrap();
        assert_eq!(json, r#"{"watching":3}"#);
    }
}
