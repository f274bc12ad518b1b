//! `notification_history`: the notices the server still holds in its event history, for the
//! notifications page (the embedded snapshot carries only the newest few, for the toasts).

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::event::Notice;

/// Why the history could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryError {
    /// The request itself failed before the server could answer.
    Request(String),
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryError::Request(m) => write!(
                f,
                "The history could not be loaded: {m}. Check your connection and reload."
            ),
        }
    }
}

impl std::error::Error for HistoryError {}

impl super::Refusal for HistoryError {
    fn status(&self) -> u16 {
        503
    }
}

impl FromServerFnError for HistoryError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        super::request_failed(&value);
        HistoryError::Request(value.to_string())
    }
}

/// Up to [`crate::event::notifications::HISTORY_MAX`] notices, newest first: as many as the
/// server's event history (`--history`, `--retention-secs`) still holds.
#[server(prefix = "/api/fn", endpoint = "notification_history")]
pub async fn notification_history() -> Result<Vec<Notice>, HistoryError> {
    Ok(ssr::history())
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::api::request::state;
    use crate::event::notifications::HISTORY_MAX;
    use crate::event::{BuiltIn, NewNotice, Notice, Payload};

    pub fn history() -> Vec<Notice> {
        let topic = BuiltIn::Notifications.topic();
        let events = state().hub.window(|e| e.topic == topic);
        events
            .iter()
            .rev()
            .filter_map(|e| {
                // Stored events passed the same check when published; one that no longer
                // parses (an older schema) is left out rather than guessed at.
                NewNotice::parse(&e.data)
                    .ok()
                    .map(|n| Notice::new(e.id.get(), &n))
            })
            .take(HISTORY_MAX)
            .collect()
    }
}
