//! The connection badge's states.

use serde::{Deserialize, Serialize};

/// `data-state` on `data-testid="connection"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    /// Before the first successful connect (and in server-rendered HTML).
    Connecting,
    Live,
    /// Lost the stream; trying again (the browser's own retry, or ours with backoff).
    Reconnecting,
    /// The browser reports no network, or several attempts in a row failed; still retrying.
    Offline,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Live => "live",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Offline => "offline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "Connecting…",
            ConnectionState::Live => "Live",
            ConnectionState::Reconnecting => "Reconnecting…",
            ConnectionState::Offline => "Offline",
        }
    }
}
