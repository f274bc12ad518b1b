//! [`LiveStore`]: everything the views read, one field per view, provided as context at the
//! app root. On the server it is built from the snapshot and never changes, so server HTML and
//! hydrated DOM match; in the browser the stream applies each event to it.

use leptos::prelude::*;

use super::pause::Pauses;
use super::{ConnectionState, FeedStore, KeyedStore, NotificationsStore};
use crate::event::{
    BuiltIn, EventId, JobsState, MonitorState, ScoresState, Snapshot, StocksState, ViewEvent,
    ViewState,
};

#[derive(Clone, Copy)]
pub struct LiveStore {
    pub status: RwSignal<ConnectionState>,
    /// Since when (ms, the browser's clock) the data on screen has not been live; `None` while
    /// it is (see [`ConnectionState::stale_since`]). Views dim and say "updated … ago" from it.
    pub stale_since: RwSignal<Option<f64>>,
    /// The newest event id applied; the stream resumes after it.
    pub last_id: RwSignal<u64>,
    /// Events whose payload could not be decoded (shown in the badge, never a panic).
    pub decode_errors: RwSignal<u32>,
    /// How many browsers have Pulse open (all instances), once the stream has said so.
    pub presence: RwSignal<Option<u64>>,
    pub stocks: KeyedStore<StocksState>,
    pub scores: KeyedStore<ScoresState>,
    pub feed: FeedStore,
    /// One signal: every sample changes nearly every figure on the page anyway.
    pub monitor: RwSignal<MonitorState>,
    pub notifications: NotificationsStore,
    /// One signal per job row.
    pub jobs: KeyedStore<JobsState>,
    /// Views the reader paused, with the events held for them.
    pub pauses: Pauses,
}

impl LiveStore {
    pub fn new(snapshot: &Snapshot) -> LiveStore {
        LiveStore {
            status: RwSignal::new(ConnectionState::Static),
            stale_since: RwSignal::new(None),
            last_id: RwSignal::new(snapshot.id.get()),
            decode_errors: RwSignal::new(0),
            presence: RwSignal::new(None),
            stocks: KeyedStore::new(&snapshot.stocks),
            scores: KeyedStore::new(&snapshot.scores),
            feed: FeedStore::new(&snapshot.feed),
            monitor: RwSignal::new(snapshot.monitor.clone()),
            notifications: NotificationsStore::new(&snapshot.notifications),
            jobs: KeyedStore::new(&snapshot.jobs),
            pauses: Pauses::new(),
        }
    }

    /// Applies one streamed event. Ids at or below the last applied one are ignored, so a
    /// replay that overlaps what the snapshot already holds can never count twice.
    pub fn apply(&self, id: EventId, topic: BuiltIn, data: &str) {
        if id.get() <= self.last_id.get_untracked() {
            return;
        }
        self.last_id.set(id.get());
        if self.pauses.hold(topic, id, data) {
            return;
        }
        self.dispatch(id, topic, data);
    }

    /// Resumes a paused view: applies what it held, in order; when it held more than it may,
    /// reloads the page for a fresh state (browser only) rather than replay a huge backlog.
    pub fn resume(&self, topic: BuiltIn) {
        let Some(held) = self.pauses.take(topic) else {
            return;
        };
        if held.overflowed {
            #[cfg(feature = "hydrate")]
            let _ = window().location().reload();
            return;
        }
        for (id, data) in &held.events {
            self.dispatch(*id, topic, data);
        }
    }

    /// Applies one event to its view, whatever the ids (the caller has checked them).
    fn dispatch(&self, id: EventId, topic: BuiltIn, data: &str) {
        let Ok(event) = ViewEvent::parse(topic, data) else {
            self.decode_errors.update(|n| *n += 1);
            return;
        };
        match event {
            ViewEvent::Stocks(e) => self.stocks.apply(id, &e),
            ViewEvent::Scores(e) => self.scores.apply(id, &e),
            ViewEvent::Feed(e) => self.feed.apply(id, &e),
            ViewEvent::Monitor(e) => self.monitor.update(|m| drop(m.apply(id, &e))),
            ViewEvent::Notifications(e) => self.notifications.apply(id, &e),
            ViewEvent::Jobs(e) => self.jobs.apply(id, &e),
        }
    }

    /// Replaces the state with a fresh snapshot (after `reset`).
    pub fn replace(&self, snapshot: &Snapshot) {
        self.stocks.replace(&snapshot.stocks);
        self.scores.replace(&snapshot.scores);
        self.feed.replace(&snapshot.feed);
        self.monitor.set(snapshot.monitor.clone());
        self.notifications.replace(&snapshot.notifications);
        self.jobs.replace(&snapshot.jobs);
        self.pauses.clear_held();
        self.last_id.set(snapshot.id.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::BuiltIn::{Feed, Monitor, Notifications, Scores, Stocks};

    fn apply_both(store: &LiveStore, expected: &mut Snapshot, id: u64, topic: BuiltIn, json: &str) {
        store.apply(EventId::new(id), topic, json);
        let _ = expected.apply(EventId::new(id), topic.name(), json);
    }

    #[test]
    fn store_applies_ticks_like_the_pure_state_and_skips_old_ids() {
        let owner = Owner::new();
        owner.set();
        let mut snapshot = Snapshot::default();
        snapshot
            .apply(EventId::new(1), "stocks", r#"{"symbol":"ZED","price":5}"#)
            .unwrap();
        let store = LiveStore::new(&snapshot);
        let mut expected = snapshot.clone();
        for (id, json) in [
            (2, r#"{"symbol":"ZED","price":6}"#),
            (3, r#"{"symbol":"ACME","price":1.5}"#),
            (3, r#"{"symbol":"ACME","price":99}"#),
            (4, "not json"),
        ] {
            apply_both(&store, &mut expected, id, Stocks, json);
        }
        assert_eq!(store.last_id.get_untracked(), 4);
        assert_eq!(store.decode_errors.get_untracked(), 1);
        assert_eq!(store.stocks.keys.get_untracked(), ["ACME", "ZED"]);
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
                Scores,
                r#"{"id":"g1","home":"A","away":"B","status":"live"}"#,
            ),
            (2, Scores, r#"{"id":"g1","home_score":2}"#),
            (3, Feed, r#"{"author":"ann","text":"<b>hi</b>","at":5}"#),
            (4, Monitor, r#"{"cpu":12,"mem_used":1,"mem_total":2}"#),
            (
                5,
                Notifications,
                r#"{"title":"Final","level":"success","at":9}"#,
            ),
            (6, Scores, r#"{"id":"BAD"}"#),
        ];
        for (id, topic, json) in events {
            apply_both(&store, &mut expected, id, topic, json);
        }
        assert_eq!(store.decode_errors.get_untracked(), 1);
        assert_eq!(store.scores.keys.get_untracked(), ["g1"]);
        assert_eq!(
            store.scores.row("g1").unwrap().get_untracked(),
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
    fn a_row_signal_is_kept_across_updates_and_a_reset() {
        let owner = Owner::new();
        owner.set();
        let store = LiveStore::new(&Snapshot::default());
        store.apply(EventId::new(1), Stocks, r#"{"symbol":"ACME","price":1}"#);
        let row = store.stocks.row("ACME").unwrap();
        store.apply(EventId::new(2), Stocks, r#"{"symbol":"ACME","price":2}"#);
        assert_eq!(store.stocks.row("ACME"), Some(row));
        assert_eq!(row.get_untracked().ticks, 2);
        let mut fresh = Snapshot::default();
        fresh
            .apply(EventId::new(9), "stocks", r#"{"symbol":"ACME","price":7}"#)
            .unwrap();
        store.replace(&fresh);
        assert_eq!(
            store.stocks.row("ACME"),
            Some(row),
            "same signal after reset"
        );
        assert_eq!(row.get_untracked().price, 7.0);
        assert_eq!(store.last_id.get_untracked(), 9);
    }

    #[test]
    fn a_paused_view_holds_its_events_and_resumes_where_it_paused() {
        let owner = Owner::new();
        owner.set();
        let store = LiveStore::new(&Snapshot::default());
        store.apply(EventId::new(1), Stocks, r#"{"symbol":"ACME","price":1}"#);
        store.pauses.pause(Stocks);
        store.apply(EventId::new(2), Stocks, r#"{"symbol":"ACME","price":2}"#);
        store.apply(
            EventId::new(3),
            Scores,
            r#"{"id":"g1","home":"A","away":"B"}"#,
        );
        store.apply(EventId::new(4), Stocks, r#"{"symbol":"ACME","price":3}"#);
        // The stream's position moves on (a reconnect resumes after 4); the paused view does not.
        assert_eq!(store.last_id.get_untracked(), 4);
        let row = store.stocks.row("ACME").unwrap();
        assert_eq!(row.get_untracked().price, 1.0);
        assert_eq!(
            store.scores.keys.get_untracked(),
            ["g1"],
            "other views stay live"
        );
        assert_eq!(store.pauses.arrived(Stocks), 2);
        store.resume(Stocks);
        let quote = row.get_untracked();
        assert_eq!(
            (quote.price, quote.ticks),
            (3.0, 3),
            "both held ticks, in order"
        );
        store.apply(EventId::new(5), Stocks, r#"{"symbol":"ACME","price":4}"#);
        assert_eq!(row.get_untracked().price, 4.0);
    }

    #[test]
    fn posts_wait_while_the_reader_is_scrolled_down() {
        let owner = Owner::new();
        owner.set();
        let store = LiveStore::new(&Snapshot::default());
        store.apply(
            EventId::new(1),
            Feed,
            r#"{"author":"a","text":"one","at":1}"#,
        );
        store.feed.holding.set(true);
        store.apply(
            EventId::new(2),
            Feed,
            r#"{"author":"a","text":"two","at":2}"#,
        );
        store.apply(
            EventId::new(3),
            Feed,
            r#"{"author":"a","text":"three","at":3}"#,
        );
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
