//! The browser's live state: one [`LiveStore`] of signals per tab, filled from the embedded
//! snapshot and kept current by the tab's single `EventSource` ([`source`], hydrate only).
//!
//! Views read signals from here and never open connections of their own (browsers allow six
//! HTTP/1.1 connections per host). On the server the same store is built from the snapshot
//! and simply never changes, so server HTML and hydrated DOM match.

#[cfg(feature = "hydrate")]
mod source;

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::server_fn::error::ServerFnError;

use crate::event::topic::STOCKS;
use crate::event::{Quote, Snapshot, StocksState, Tick};

/// The connection badge's states (`data-state` on `data-testid="connection"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The ticker as signals: one signal per row, so a tick re-renders that row's cells only and
/// the row element itself is never re-created.
#[derive(Clone, Copy)]
pub struct StocksStore {
    /// Symbols in display order; changes only when a symbol appears.
    pub symbols: RwSignal<Vec<String>>,
    rows: StoredValue<HashMap<String, RwSignal<Quote>>>,
}

impl StocksStore {
    fn new(state: &StocksState) -> StocksStore {
        let rows = state
            .quotes
            .iter()
            .map(|(s, q)| (s.clone(), RwSignal::new(q.clone())))
            .collect();
        StocksStore {
            symbols: RwSignal::new(state.quotes.keys().cloned().collect()),
            rows: StoredValue::new(rows),
        }
    }

    pub fn row(&self, symbol: &str) -> Option<RwSignal<Quote>> {
        self.rows.with_value(|rows| rows.get(symbol).copied())
    }

    /// The same fold as [`StocksState::apply`], one row signal at a time.
    fn apply(&self, tick: &Tick) {
        match self.row(&tick.symbol) {
            Some(row) => row.update(|q| q.apply(tick.price)),
            None => self.insert(Quote::new(&tick.symbol, tick.price)),
        }
    }

    fn insert(&self, quote: Quote) {
        let symbol = quote.symbol.clone();
        self.rows.update_value(|rows| {
            rows.insert(symbol.clone(), RwSignal::new(quote));
        });
        self.symbols.update(|s| {
            if let Err(at) = s.binary_search(&symbol) {
                s.insert(at, symbol);
            }
        });
    }

    /// Brings every row to `state` (after a reset), updating existing rows in place.
    fn replace(&self, state: &StocksState) {
        for (symbol, quote) in &state.quotes {
            match self.row(symbol) {
                Some(row) => row.set(quote.clone()),
                None => self.insert(quote.clone()),
            }
        }
    }

    pub fn len(&self) -> usize {
        self.symbols.with(Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything the views read, provided as context at the app root.
#[derive(Clone, Copy)]
pub struct LiveStore {
    pub status: RwSignal<ConnectionState>,
    /// The newest event id applied; the stream resumes after it.
    pub last_id: RwSignal<u64>,
    /// Events whose payload could not be decoded (shown in the badge, never a panic).
    pub decode_errors: RwSignal<u32>,
    pub stocks: StocksStore,
}

impl LiveStore {
    pub fn new(snapshot: &Snapshot) -> LiveStore {
        LiveStore {
            status: RwSignal::new(ConnectionState::Connecting),
            last_id: RwSignal::new(snapshot.id),
            decode_errors: RwSignal::new(0),
            stocks: StocksStore::new(&snapshot.stocks),
        }
    }

    /// Applies one streamed event. Ids at or below the last applied one are ignored, so a
    /// replay that overlaps what the snapshot already holds can never count twice.
    pub fn apply(&self, id: u64, topic: &str, data: &str) {
        if id <= self.last_id.get_untracked() {
            return;
        }
        self.last_id.set(id);
        if topic == STOCKS {
            match Tick::parse(data) {
                Ok(tick) => self.stocks.apply(&tick),
                Err(_) => self.decode_errors.update(|n| *n += 1),
            }
        }
    }

    /// Replaces the state with a fresh snapshot (after `reset`).
    pub fn replace(&self, snapshot: &Snapshot) {
        self.stocks.replace(&snapshot.stocks);
        self.last_id.set(snapshot.id);
    }
}

/// Opens the tab's stream (browser only; on the server this does nothing). Call once, after
/// hydration, with the store built from the embedded snapshot.
pub fn start(store: LiveStore) {
    #[cfg(feature = "hydrate")]
    source::start(store);
    #[cfg(not(feature = "hydrate"))]
    let _ = store;
}

/// Reads the snapshot the server embedded in the page (`<script id="pulse-snapshot">`).
#[cfg(feature = "hydrate")]
pub fn read_embedded_snapshot() -> Option<Snapshot> {
    let text = leptos::prelude::document()
        .get_element_by_id(SNAPSHOT_ELEMENT_ID)?
        .text_content()?;
    serde_json::from_str(&text).ok()
}

/// The id of the `<script type="application/json">` that carries the page's snapshot.
pub const SNAPSHOT_ELEMENT_ID: &str = "pulse-snapshot";

/// A fresh snapshot of every view, for a client told to `reset`.
#[server(prefix = "/api/fn", endpoint = "snapshot")]
pub async fn fetch_snapshot() -> Result<Snapshot, ServerFnError> {
    use_context::<Snapshot>()
        .ok_or_else(|| ServerFnError::new("the server has no snapshot for this request"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_applies_ticks_like_the_pure_state_and_skips_old_ids() {
        let owner = Owner::new();
        owner.set();
        let mut snapshot = Snapshot::default();
        snapshot
            .apply(1, STOCKS, r#"{"symbol":"ZED","price":5}"#)
            .unwrap();
        let store = LiveStore::new(&snapshot);
        let mut expected = snapshot.clone();
        for (id, json) in [
            (2, r#"{"symbol":"ZED","price":6}"#),
            (3, r#"{"symbol":"ACME","price":1.5}"#),
            (3, r#"{"symbol":"ACME","price":99}"#),
            (4, "not json"),
        ] {
            store.apply(id, STOCKS, json);
            let _ = expected.apply(id, STOCKS, json);
        }
        assert_eq!(store.last_id.get_untracked(), 4);
        assert_eq!(store.decode_errors.get_untracked(), 1);
        assert_eq!(store.stocks.symbols.get_untracked(), ["ACME", "ZED"]);
        for (symbol, quote) in &expected.stocks.quotes {
            assert_eq!(&store.stocks.row(symbol).unwrap().get_untracked(), quote);
        }
    }
}
