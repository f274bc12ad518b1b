//! One generic store for every view whose state is a set of keyed rows (stocks rows, game
//! cards): one signal per row, and one for the list of keys.
//!
//! The pure state ([`KeyedState`]) is kept beside the signals and decides everything (order,
//! eviction, how an event folds in); after each event only the signals [`Changed`] names are
//! set. So a tick re-renders the cells of one row, and a row's element is never re-created.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;

use crate::event::{Changed, EventId, KeyedState};

pub struct KeyedStore<S: KeyedState> {
    /// Row keys in display order; changes only when rows come, go or move.
    pub keys: RwSignal<Vec<String>>,
    rows: StoredValue<HashMap<String, RwSignal<S::Row>>>,
    state: StoredValue<S>,
}

// Handles to arena slots: copying is free whatever `S` is (a derive would demand `S: Copy`).
impl<S: KeyedState> Clone for KeyedStore<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: KeyedState> Copy for KeyedStore<S> {}

impl<S: KeyedState> KeyedStore<S> {
    pub fn new(state: &S) -> KeyedStore<S> {
        let keys = state.keys();
        let rows = keys
            .iter()
            .filter_map(|k| state.row(k).map(|r| (k.clone(), RwSignal::new(r.clone()))))
            .collect();
        KeyedStore {
            keys: RwSignal::new(keys),
            rows: StoredValue::new(rows),
            state: StoredValue::new(state.clone()),
        }
    }

    /// The signal of one row, `None` for a key the state does not hold.
    pub fn row(&self, key: &str) -> Option<RwSignal<S::Row>> {
        self.rows.with_value(|rows| rows.get(key).copied())
    }

    /// Folds one event into the pure state, then sets only the signals that changed.
    pub fn apply(&self, id: EventId, event: &S::Event) {
        let changed = self
            .state
            .try_update_value(|s| s.apply(id, event))
            .unwrap_or_default();
        self.sync(&changed);
    }

    /// Brings every row to `state` (after a reset), updating existing rows in place.
    pub fn replace(&self, state: &S) {
        self.state.set_value(state.clone());
        for key in state.keys() {
            self.sync_row(&key);
        }
        self.sync_keys();
    }

    fn sync(&self, changed: &Changed) {
        if let Some(key) = &changed.key {
            self.sync_row(key);
        }
        if changed.order {
            self.sync_keys();
        }
    }

    fn sync_row(&self, key: &str) {
        let Some(row) = self.state.with_value(|s| s.row(key).cloned()) else {
            return;
        };
        match self.row(key) {
            Some(signal) => signal.set(row),
            None => self.rows.update_value(|rows| {
                rows.insert(key.to_owned(), RwSignal::new(row));
            }),
        }
    }

    fn sync_keys(&self) {
        let keys = self.state.with_value(S::keys);
        let kept: HashSet<&str> = keys.iter().map(String::as_str).collect();
        self.rows
            .update_value(|rows| rows.retain(|k, _| kept.contains(k.as_str())));
        self.keys.set(keys);
    }

    pub fn len(&self) -> usize {
        self.keys.with(Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
