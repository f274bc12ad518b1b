//! The one shape every view's state has: a payload type, the built-in topic it comes from, and
//! a pure [`ViewState::apply`] that the server (snapshots) and the browser (live store) both
//! call, so they can never disagree about what an event means.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::payload::Payload;
use super::topic::BuiltIn;
use super::EventId;

/// What one event changed in a view's state, so the browser's store can update just the
/// signals that need it (one row, or the list of rows) instead of the whole view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// The row whose contents changed (a symbol, a game id, a job id), if the view has rows.
    pub key: Option<String>,
    /// Rows were added, removed or reordered: the list itself must be re-read.
    pub order: bool,
}

impl Changed {
    pub fn row(key: &str, order: bool) -> Changed {
        Changed {
            key: Some(key.to_owned()),
            order,
        }
    }

    /// The whole state changed (views without rows).
    pub fn all() -> Changed {
        Changed {
            key: None,
            order: true,
        }
    }
}

/// A view's state. Implementations are plain data with no I/O, unit-tested without a browser.
pub trait ViewState:
    Default + Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// What one event of [`Self::TOPIC`] carries.
    type Event: Payload;
    /// The built-in topic whose events this state folds.
    const TOPIC: BuiltIn;

    /// Folds one committed event (with its id) into the state and says what changed. Callers
    /// apply each id once, in order; the snapshot and the live store both guarantee that.
    fn apply(&mut self, id: EventId, event: &Self::Event) -> Changed;
}

/// A view whose state is a set of rows, each with a string key (stocks: symbols; scores: game
/// ids). The browser keeps one signal per row ([`crate::live::KeyedStore`]), so an event
/// re-renders one row and the row's element is never re-created.
pub trait KeyedState: ViewState {
    type Row: Clone + PartialEq + Send + Sync + 'static;

    /// Row keys in display order.
    fn keys(&self) -> Vec<String>;

    fn row(&self, key: &str) -> Option<&Self::Row>;
}
