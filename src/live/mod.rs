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

use crate::event::scores::Game;
use crate::event::{
    feed, FeedState, GameUpdate, MonitorState, NewNotice, NewPost, Notice, NotificationsState,
    Post, Quote, ScoresState, Snapshot, StocksState, Tick, ViewEvent,
};

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

/// The scoreboard as signals: one per game card. The pure [`ScoresState`] is kept beside them
/// (it decides insertion order and eviction), and after each update only the changed game's
/// signal is set, plus the id list when a game came or went.
#[derive(Clone, Copy)]
pub struct ScoresStore {
    /// Game ids in display order (first appearance).
    pub ids: RwSignal<Vec<String>>,
    games: StoredValue<HashMap<String, RwSignal<Game>>>,
    state: StoredValue<ScoresState>,
}

impl ScoresStore {
    fn new(state: &ScoresState) -> ScoresStore {
        let games = state
            .games
            .iter()
            .map(|(id, g)| (id.clone(), RwSignal::new(g.clone())))
            .collect();
        ScoresStore {
            ids: RwSignal::new(state.ordered_ids()),
            games: StoredValue::new(games),
            state: StoredValue::new(state.clone()),
        }
    }

    pub fn game(&self, id: &str) -> Option<RwSignal<Game>> {
        self.games.with_value(|g| g.get(id).copied())
    }

    fn apply(&self, u: &GameUpdate) {
        let applied = self.state.try_update_value(|s| s.apply(u));
        let Some(game) = self.state.with_value(|s| s.games.get(&u.id).cloned()) else {
            return;
        };
        match self.game(&u.id) {
            Some(sig) => sig.set(game),
            None => self.games.update_value(|g| {
                g.insert(u.id.clone(), RwSignal::new(game));
            }),
        }
        if applied.is_some_and(|a| a.added) {
            self.sync_ids();
        }
    }

    fn sync_ids(&self) {
        let ids = self.state.with_value(|s| s.ordered_ids());
        self.games
            .update_value(|g| g.retain(|id, _| ids.iter().any(|x| x == id)));
        self.ids.set(ids);
    }

    fn replace(&self, state: &ScoresState) {
        self.state.set_value(state.clone());
        for (id, game) in &state.games {
            match self.game(id) {
                Some(sig) => sig.set(game.clone()),
                None => self.games.update_value(|g| {
                    g.insert(id.clone(), RwSignal::new(game.clone()));
                }),
            }
        }
        self.sync_ids();
    }

    pub fn len(&self) -> usize {
        self.ids.with(Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The feed as the reader sees it. Posts never change once made, so the list is one signal and
/// the view keys items by id: a new post inserts one element, the others stay.
///
/// While the reader is scrolled down (`holding`), live posts wait in `pending` and the page shows
/// "N new posts" instead of pushing what they are reading down the page.
#[derive(Clone, Copy)]
pub struct FeedStore {
    /// Shown posts, newest first: the snapshot's window, live posts, and older pages loaded.
    pub posts: RwSignal<Vec<Post>>,
    /// Live posts not shown yet because the reader is scrolled down.
    pub pending: RwSignal<Vec<Post>>,
    /// Set by the feed page from the scroll position.
    pub holding: RwSignal<bool>,
    /// No older posts exist beyond the last one shown.
    pub exhausted: RwSignal<bool>,
}

impl FeedStore {
    fn new(state: &FeedState) -> FeedStore {
        FeedStore {
            posts: RwSignal::new(state.posts.clone()),
            pending: RwSignal::new(Vec::new()),
            holding: RwSignal::new(false),
            // A window that is not full means the posts table holds nothing older.
            exhausted: RwSignal::new(state.posts.len() < crate::event::feed::FEED_WINDOW),
        }
    }

    fn apply(&self, id: u64, p: &NewPost) {
        let post = Post::new(id, p);
        if self.holding.get_untracked() {
            self.pending.update(|q| feed::insert(q, post));
        } else {
            self.posts.update(|list| feed::insert(list, post));
        }
    }

    /// Shows the posts that arrived while the reader was scrolled down.
    pub fn reveal(&self) {
        let pending = self.pending.try_update(std::mem::take).unwrap_or_default();
        if !pending.is_empty() {
            self.posts.update(|list| {
                for p in pending {
                    feed::insert(list, p);
                }
            });
        }
    }

    /// Appends a page of older posts (from the posts table).
    pub fn extend_older(&self, older: Vec<Post>) {
        self.posts.update(|list| {
            for p in older {
                feed::insert(list, p);
            }
        });
    }

    fn replace(&self, state: &FeedState) {
        self.posts.update(|list| {
            for p in &state.posts {
                feed::insert(list, p.clone());
            }
        });
    }
}

/// Notifications: the recent list (overview) and the toasts currently on screen.
#[derive(Clone, Copy)]
pub struct NotificationsStore {
    pub recent: RwSignal<Vec<Notice>>,
    /// Toasts shown now, oldest first. Only notices that arrive live become toasts: a page load
    /// does not replay old alerts at the reader.
    pub toasts: RwSignal<Vec<Notice>>,
}

/// Toasts on screen at once; a new one pushes the oldest out.
pub const MAX_TOASTS: usize = 4;

impl NotificationsStore {
    fn new(state: &NotificationsState) -> NotificationsStore {
        NotificationsStore {
            recent: RwSignal::new(state.recent.clone()),
            toasts: RwSignal::new(Vec::new()),
        }
    }

    fn apply(&self, id: u64, n: &NewNotice) {
        let mut state = NotificationsState {
            recent: self.recent.get_untracked(),
        };
        state.apply(id, n);
        self.recent.set(state.recent);
        let notice = Notice::new(id, n);
        self.toasts.update(|t| {
            t.push(notice);
            if t.len() > MAX_TOASTS {
                t.remove(0);
            }
        });
    }

    pub fn dismiss(&self, id: u64) {
        self.toasts.update(|t| t.retain(|n| n.id != id));
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
    pub scores: ScoresStore,
    pub feed: FeedStore,
    /// One signal: every sample changes nearly every figure on the page anyway.
    pub monitor: RwSignal<MonitorState>,
    pub notifications: NotificationsStore,
}

impl LiveStore {
    pub fn new(snapshot: &Snapshot) -> LiveStore {
        LiveStore {
            status: RwSignal::new(ConnectionState::Connecting),
            last_id: RwSignal::new(snapshot.id.get()),
            decode_errors: RwSignal::new(0),
            stocks: StocksStore::new(&snapshot.stocks),
            scores: ScoresStore::new(&snapshot.scores),
            feed: FeedStore::new(&snapshot.feed),
            monitor: RwSignal::new(snapshot.monitor.clone()),
            notifications: NotificationsStore::new(&snapshot.notifications),
        }
    }

    /// Applies one streamed event. Ids at or below the last applied one are ignored, so a
    /// replay that overlaps what the snapshot already holds can never count twice.
    pub fn apply(&self, id: u64, topic: &str, data: &str) {
        if id <= self.last_id.get_untracked() {
            return;
        }
        self.last_id.set(id);
        match ViewEvent::parse(topic, data) {
            Ok(Some(ViewEvent::Stocks(t))) => self.stocks.apply(&t),
            Ok(Some(ViewEvent::Scores(u))) => self.scores.apply(&u),
            Ok(Some(ViewEvent::Feed(p))) => self.feed.apply(id, &p),
            Ok(Some(ViewEvent::Monitor(s))) => self.monitor.update(|m| m.apply(&s)),
            Ok(Some(ViewEvent::Notice(n))) => self.notifications.apply(id, &n),
            Ok(None) => {}
            Err(_) => self.decode_errors.update(|n| *n += 1),
        }
    }

    /// Replaces the state with a fresh snapshot (after `reset`).
    pub fn replace(&self, snapshot: &Snapshot) {
        self.stocks.replace(&snapshot.stocks);
        self.scores.replace(&snapshot.scores);
        self.feed.replace(&snapshot.feed);
        self.monitor.set(snapshot.monitor.clone());
        self.notifications
            .recent
            .set(snapshot.notifications.recent.clone());
        self.last_id.set(snapshot.id.get());
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
    use crate::event::topic::{FEED, MONITOR, NOTIFICATIONS, SCORES, STOCKS};
    use crate::event::EventId;

    #[test]
    fn store_applies_ticks_like_the_pure_state_and_skips_old_ids() {
        let owner = Owner::new();
        owner.set();
        let mut snapshot = Snapshot::default();
        snapshot
            .apply(EventId::new(1), STOCKS, r#"{"symbol":"ZED","price":5}"#)
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
            let _ = expected.apply(EventId::new(id), STOCKS, json);
        }
        assert_eq!(store.last_id.get_untracked(), 4);
        assert_eq!(store.decode_errors.get_untracked(), 1);
        assert_eq!(store.stocks.symbols.get_untracked(), ["ACME", "ZED"]);
        for (symbol, quote) in &expected.stocks.quotes {
            assert_eq!(&store.stocks.row(symbol).unwrap().get_untracked(), quote);
        }
    }

    #[test]
    fn every_view_follows_the_pure_state() {
        let owner = Owner::new();
        owner.set();
        let store = LiveStore::new(&Snapshot::default());
        let mut expected = Snapshot::default();
        let events = [
            (
                1,
                SCORES,
                r#"{"id":"g1","home":"A","away":"B","status":"live"}"#,
            ),
            (2, SCORES, r#"{"id":"g1","home_score":2}"#),
            (3, FEED, r#"{"author":"ann","text":"<b>hi</b>","at":5}"#),
            (4, MONITOR, r#"{"cpu":12,"mem_used":1,"mem_total":2}"#),
            (
                5,
                NOTIFICATIONS,
                r#"{"title":"Final","level":"success","at":9}"#,
            ),
            (6, SCORES, r#"{"id":"BAD"}"#),
        ];
        for (id, topic, json) in events {
            store.apply(id, topic, json);
            let _ = expected.apply(EventId::new(id), topic, json);
        }
        assert_eq!(store.decode_errors.get_untracked(), 1);
        assert_eq!(store.scores.ids.get_untracked(), ["g1"]);
        assert_eq!(
            store.scores.game("g1").unwrap().get_untracked(),
            expected.scores.games["g1"]
        );
        assert_eq!(store.feed.posts.get_untracked(), expected.feed.posts);
        assert_eq!(store.monitor.get_untracked(), expected.monitor);
        assert_eq!(
            store.notifications.recent.get_untracked(),
            expected.notifications.recent
        );
        assert_eq!(store.notifications.toasts.get_untracked().len(), 1);
    }

    #[test]
    fn posts_wait_while_the_reader_is_scrolled_down() {
        let owner = Owner::new();
        owner.set();
        let store = LiveStore::new(&Snapshot::default());
        store.apply(1, FEED, r#"{"author":"a","text":"one","at":1}"#);
        store.feed.holding.set(true);
        store.apply(2, FEED, r#"{"author":"a","text":"two","at":2}"#);
        store.apply(3, FEED, r#"{"author":"a","text":"three","at":3}"#);
        assert_eq!(store.feed.posts.get_untracked().len(), 1);
        assert_eq!(store.feed.pending.get_untracked().len(), 2);
        store.feed.reveal();
        let ids: Vec<u64> = store
            .feed
            .posts
            .get_untracked()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, [3, 2, 1]);
        assert!(store.feed.pending.get_untracked().is_empty());
    }
}
