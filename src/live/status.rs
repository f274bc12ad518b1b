//! The connection badge's states, and since when the page's data has been stale.

use serde::{Deserialize, Serialize};

/// `data-state` on `data-testid="connection"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    /// Server-rendered HTML: nothing will update it until the app has started in the browser,
    /// so a page whose script is off or failed to load says so instead of "Connecting…".
    Static,
    /// The app is running and opening its first stream.
    Connecting,
    Live,
    /// Lost the stream; trying again with backoff.
    Reconnecting,
    /// The browser reports no network, or several attempts in a row failed; still retrying.
    Offline,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Static => "static",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Live => "live",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Offline => "offline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnectionState::Static => "Not live",
            ConnectionState::Connecting => "Connecting…",
            ConnectionState::Live => "Live",
            ConnectionState::Reconnecting => "Reconnecting…",
            ConnectionState::Offline => "Offline",
        }
    }

    /// Since when (ms, the browser's clock) the data on screen has not been live, given the new
    /// state, the previous answer and the time now: a live stream clears it; losing the stream
    /// starts it at the moment it was lost and later failures keep that moment, so "updated 40 s
    /// ago" keeps counting through every retry. Before the first connect (`static`,
    /// `connecting`) the page is as fresh as its HTML, so nothing is stale yet.
    pub fn stale_since(self, before: Option<f64>, now_ms: f64) -> Option<f64> {
        match self {
            ConnectionState::Live => None,
            ConnectionState::Static | ConnectionState::Connecting => before,
            ConnectionState::Reconnecting | ConnectionState::Offline => {
                Some(before.unwrap_or(now_ms))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionState::*;

    #[test]
    fn staleness_starts_when_the_stream_is_lost_and_ends_when_it_is_back() {
        // A fresh page is not stale, and neither is a stream being opened.
        assert_eq!(Static.stale_since(None, 1_000.0), None);
        assert_eq!(Connecting.stale_since(None, 1_000.0), None);
        // Lost at t=5 s: stale from then on, however many retries fail after it.
        let lost = Reconnecting.stale_since(None, 5_000.0);
        assert_eq!(lost, Some(5_000.0));
        let later = Offline.stale_since(lost, 30_000.0);
        assert_eq!(later, Some(5_000.0));
        assert_eq!(Reconnecting.stale_since(later, 40_000.0), Some(5_000.0));
        assert_eq!(Connecting.stale_since(later, 41_000.0), Some(5_000.0));
        // Live again: nothing stale; the next loss counts from its own moment.
        assert_eq!(Live.stale_since(later, 42_000.0), None);
        assert_eq!(Offline.stale_since(None, 50_000.0), Some(50_000.0));
    }
}
