//! The hub's shared state and the one lock that guards it.
//!
//! This is a `std::sync::Mutex`, not a tokio one: nothing awaits while holding it, and every
//! critical section is short (push to the window, apply to the snapshot, `try_send` per
//! subscriber, one bounded chunk of a replay). Holding the same lock for commit and for a
//! subscriber's switch from replay to live is what makes a resume exact: an event is either in
//! the replay a subscriber reads, or in its queue — never both, never neither.
//!
//! ## Lazy replay
//! A subscriber resuming from an id does not get a copy of what it missed. It holds a cursor
//! (the last id it has looked at) and, each time its stream is polled, takes the next chunk
//! after the cursor from the window under the lock ([`Core::replay_chunk`]). It is not in the
//! fan-out while it replays, so commits do not queue anything for it. In the critical section
//! where a chunk reaches the end of the window, the subscriber is added to the fan-out: every
//! event committed before that moment is in the window (it was read), every one after it goes
//! to the queue (commit runs under the same lock). If the window drops events the cursor has
//! not reached (the reader was too slow, or a discontinuity), the replay cannot be exact: the
//! stream ends as for a lagging reader, and the client's resume gets a `reset`. A reader that
//! never reads therefore pins nothing: not a copy, not even the events it has not read.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::watch;

use super::broker::StoredEvent;
use super::history::History;
use super::latest::Latest;
use super::queue;
use super::stats::Stats;
use super::subscription::{Pending, Subscription};
use super::HubConfig;
use crate::event::history::{HistoryView, MonitorHistory, Range};
use crate::event::jobs::Supersede;
use crate::event::{BuiltIn, EventId, Snapshot, Topic, ViewEvent};
use crate::sse::frame;

/// One published event, with its SSE frame encoded once and shared by every subscriber.
#[derive(Debug)]
pub struct Event {
    pub id: EventId,
    pub topic: Topic,
    /// Compact JSON.
    pub data: String,
    pub at_ms: i64,
    /// `id: …\nevent: …\ndata: …\n\n`, ready to write to any stream.
    pub frame: Bytes,
    /// For events a later one can make redundant (a job's state: each `jobs` event carries the
    /// whole state), so a stream behind its reader may skip it. `None`: never skipped.
    pub supersede: Option<Supersede>,
}

impl Event {
    pub fn new(id: EventId, topic: Topic, data: String, at_ms: i64) -> Event {
        let frame = frame::event(Some(&id.to_string()), Some(topic.as_str()), &data)
            .expect("topic names are validated single-line; ids are digits");
        let supersede = match topic.builtin() {
            Some(BuiltIn::Jobs) => Supersede::of(&data),
            _ => None,
        };
        Event {
            id,
            topic,
            data,
            at_ms,
            frame: Bytes::from(frame),
            supersede,
        }
    }

    /// Rebuilds an event read back from a backend; `None` for a topic name that no longer
    /// parses (an older schema): such an event is skipped, not guessed at.
    pub fn from_stored(e: StoredEvent) -> Option<Event> {
        let topic = Topic::parse(&e.topic).ok()?;
        Some(Event::new(e.id, topic, e.data, e.at_ms))
    }

    pub fn stored(&self) -> StoredEvent {
        StoredEvent {
            id: self.id,
            topic: self.topic.to_string(),
            data: self.data.clone(),
            at_ms: self.at_ms,
        }
    }
}

/// A subscriber in the fan-out (one that has caught up with the window).
struct Subscriber {
    topics: Vec<Topic>,
    queue: queue::Sender<Arc<Event>>,
    /// Set when this subscriber was cut off for lagging, so its stream can tell that apart
    /// from a server shutdown.
    lagged: Arc<AtomicBool>,
    /// Pulse's own consumers (the feed recorder) are not streams: they do not count in
    /// `pulse_subscribers`, which means "browsers and clients connected".
    internal: bool,
}

/// Events a replay takes from the window per chunk (one lock hold each).
pub const REPLAY_CHUNK: usize = 64;

/// Window entries one chunk looks at, at most, while looking for a subscriber's topics (bounds
/// the lock hold for a subscriber whose topics are rare).
const REPLAY_SCAN: usize = 4096;

struct State {
    history: History,
    snapshot: Snapshot,
    /// `snapshot` as last handed out, shared by every page rendered until the next change:
    /// a page costs one `Arc` clone, not a deep copy of every view. Cleared by every change.
    shared: Option<Arc<Snapshot>>,
    /// The monitor's charts over 5 min, 1 h and 24 h, downsampled; fed like the snapshot (kept
    /// apart from it: pages embed the snapshot, but only /monitor needs one range of this).
    monitor: MonitorHistory,
    latest: Latest,
    subscribers: HashMap<u64, Subscriber>,
    next_subscriber: u64,
    /// Streams (subscriptions that are not `internal`) being served: replaying, or in the
    /// fan-out. One cut off for lagging no longer counts, even while its body drains.
    streams: usize,
}

pub struct Core {
    state: Mutex<State>,
    config: HubConfig,
    /// The newest committed id, for publishers and resumers that wait for this instance's tail
    /// to catch up (see [`super::Hub::publish`]).
    committed: watch::Sender<EventId>,
    pub stats: Stats,
}

impl Core {
    pub fn new(config: HubConfig) -> Core {
        Core {
            state: Mutex::new(State {
                history: History::new(config.history, vec![], EventId::ZERO),
                snapshot: Snapshot::bounded(config.max_stock_symbols),
                shared: None,
                monitor: MonitorHistory::default(),
                latest: Latest::new(config.max_custom_topics),
                subscribers: HashMap::new(),
                next_subscriber: 0,
                streams: 0,
            }),
            config,
            committed: watch::Sender::new(EventId::ZERO),
            stats: Stats::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, never a half-applied
        // invariant that matters more than staying up, so a poisoned lock is still used.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rebuilds the window and the snapshot from the newest stored events (see
    /// [`super::broker::Tail::seed`]).
    pub fn seed(&self, recent: Vec<StoredEvent>, last: EventId) {
        let mut snapshot = Snapshot::bounded(self.config.max_stock_symbols);
        let mut latest = Latest::new(self.config.max_custom_topics);
        let mut monitor = MonitorHistory::default();
        let mut seed = Vec::with_capacity(recent.len());
        for e in recent {
            // The log only holds events that passed validation; one that no longer parses
            // (an older schema) is kept out of the snapshot rather than guessed at.
            let Some(ev) = Event::from_stored(e) else {
                continue;
            };
            // Parsed once, for the snapshot and the monitor's history alike.
            let view = ViewEvent::parse_named(ev.topic.as_str(), &ev.data)
                .ok()
                .flatten();
            snapshot.advance(ev.id, view.as_ref());
            if let Some(ViewEvent::Monitor(s)) = &view {
                monitor.push(s.at.unwrap_or(ev.at_ms), s);
            }
            let ev = Arc::new(ev);
            latest.insert(ev.clone());
            seed.push(ev);
        }
        snapshot.id = last;
        let mut st = self.lock();
        st.history = History::new(self.config.history, seed, last);
        st.snapshot = snapshot;
        st.shared = None;
        st.monitor = monitor;
        st.latest = latest;
        drop(st);
        self.committed.send_replace(last);
    }

    /// Makes a durable batch visible: history, snapshot, then every subscriber's queue.
    pub fn commit(&self, events: &[Arc<Event>]) {
        // Parsing is the costly part of updating the snapshot; it needs no lock, so it happens
        // before the lock that every subscriber and the fan-out wait on.
        let parsed: Vec<Option<ViewEvent>> = events
            .iter()
            .map(|ev| {
                let topic = ev.topic.builtin()?;
                ViewEvent::parse(topic, &ev.data).ok()
            })
            .collect();
        let mut st = self.lock();
        let mut fresh = 0;
        for (ev, view) in events.iter().zip(&parsed) {
            if ev.id <= st.snapshot.id {
                // Already committed (a backend re-read after reconnecting): never twice.
                continue;
            }
            fresh += 1;
            st.history.push(ev.clone());
            st.snapshot.advance(ev.id, view.as_ref());
            if let Some(ViewEvent::Monitor(s)) = view {
                st.monitor.push(s.at.unwrap_or(ev.at_ms), s);
            }
            st.latest.insert(ev.clone());
        }
        if fresh > 0 {
            st.shared = None;
        }
        let events = &events[events.len() - fresh..];
        let mut delivered = 0;
        let mut cut_off = Vec::new();
        for (id, sub) in st.subscribers.iter() {
            for ev in events.iter().filter(|e| sub.topics.contains(&e.topic)) {
                match sub.queue.try_send(ev.clone()) {
                    Ok(()) => delivered += 1,
                    Err(queue::TrySendError::Full(_)) => {
                        sub.lagged.store(true, Relaxed);
                        cut_off.push(*id);
                        break;
                    }
                    Err(queue::TrySendError::Closed(_)) => {
                        cut_off.push(*id);
                        break;
                    }
                }
            }
        }
        for id in cut_off {
            if let Some(sub) = st.subscribers.remove(&id) {
                if !sub.internal {
                    st.streams -= 1;
                }
                if sub.lagged.load(Relaxed) {
                    self.stats.lagged.fetch_add(1, Relaxed);
                }
            }
        }
        let last = st.snapshot.id;
        drop(st);
        self.committed.send_replace(last);
        self.stats.delivered.fetch_add(delivered, Relaxed);
        self.stats.published.fetch_add(fresh as u64, Relaxed);
    }

    /// See [`super::broker::Tail::discontinuity`]. Connected subscribers keep their streams:
    /// they received everything this instance committed, and the next event simply has a
    /// higher id.
    pub fn discontinuity(&self, through: EventId) {
        let mut st = self.lock();
        st.history.discontinuity(through);
        if st.snapshot.id < through {
            st.snapshot.id = through;
            st.shared = None;
        }
        let last = st.snapshot.id;
        drop(st);
        self.committed.send_replace(last);
    }

    /// A new subscription to `topics`. Without `since`, it is live at once. With `since`
    /// inside the window it replays lazily (see the module docs); an id older than the window
    /// or newer than anything committed gets a reset to report, and live events from now.
    pub fn subscribe(
        core: &Arc<Core>,
        topics: Vec<Topic>,
        since: Option<EventId>,
        internal: bool,
    ) -> Subscription {
        let (tx, rx) = queue::bounded(core.config.queue);
        let lagged = Arc::new(AtomicBool::new(false));
        let mut st = core.lock();
        let last_id = st.snapshot.id;
        let id = st.next_subscriber;
        st.next_subscriber += 1;
        if !internal {
            st.streams += 1;
        }
        let mut reset = None;
        let mut pending = None;
        match since {
            Some(since) if since < last_id && st.history.covers(since) => {
                pending = Some(Pending {
                    cursor: since,
                    topics,
                    queue: tx,
                });
            }
            Some(since) if since == last_id && st.history.covers(since) => {
                register(&mut st, id, topics, tx, &lagged, internal);
            }
            Some(_) => {
                reset = Some(last_id);
                register(&mut st, id, topics, tx, &lagged, internal);
            }
            None => register(&mut st, id, topics, tx, &lagged, internal),
        }
        drop(st);
        if !internal {
            if reset.is_some() {
                core.stats.resets.fetch_add(1, Relaxed);
            }
            core.stats.subscribed.fetch_add(1, Relaxed);
        }
        Subscription::new(id, core.clone(), internal, reset, pending, rx, lagged)
    }

    /// The next part of a replay: moves at most `max` events after the cursor into `out` and
    /// advances the cursor. When that reaches the end of the window, the subscriber joins the
    /// fan-out in the same critical section and `pending` becomes `None`. Returns false (and
    /// leaves `pending` as it was) if the window no longer holds everything after the cursor:
    /// the replay cannot be exact and the subscriber must resume anew.
    pub(super) fn replay_chunk(
        &self,
        id: u64,
        pending: &mut Option<Pending>,
        max: usize,
        lagged: &Arc<AtomicBool>,
        internal: bool,
        out: &mut VecDeque<Arc<Event>>,
    ) -> bool {
        let Some(p) = pending.as_mut() else {
            return true;
        };
        let before = out.len();
        let mut st = self.lock();
        if !st.history.covers(p.cursor) {
            return false;
        }
        let scan = if max == usize::MAX {
            usize::MAX
        } else {
            REPLAY_SCAN
        };
        let topics = &p.topics;
        let (cursor, at_end) =
            st.history
                .take_after(p.cursor, max, scan, |e| topics.contains(&e.topic), out);
        p.cursor = cursor;
        if at_end {
            if let Some(p) = pending.take() {
                register(&mut st, id, p.topics, p.queue, lagged, internal);
            }
        }
        drop(st);
        if !internal {
            let n = (out.len() - before) as u64;
            self.stats.replayed.fetch_add(n, Relaxed);
        }
        true
    }

    /// Adds a subscriber whose replay could not be completed to the fan-out as it is (a
    /// consumer that reads the whole replay at once then reports a reset); returns the id
    /// live events continue after.
    pub(super) fn join_now(
        &self,
        id: u64,
        pending: Pending,
        lagged: &Arc<AtomicBool>,
        internal: bool,
    ) -> EventId {
        let mut st = self.lock();
        let latest = st.snapshot.id;
        register(&mut st, id, pending.topics, pending.queue, lagged, internal);
        drop(st);
        if !internal {
            self.stats.resets.fetch_add(1, Relaxed);
        }
        latest
    }

    /// A replay that fell out of the window ended its stream: it no longer counts.
    pub(super) fn replay_lost(&self, internal: bool) {
        if !internal {
            self.lock().streams -= 1;
            self.stats.lagged.fetch_add(1, Relaxed);
        }
    }

    /// Drops events older than `before_ms` from the replay window.
    pub fn expire(&self, before_ms: i64) {
        self.lock().history.expire(before_ms);
    }

    /// Removes a dropped subscription: from the fan-out if it is there, and from the count if
    /// it still counted (in the fan-out, or still `replaying`).
    pub fn unsubscribe(&self, id: u64, internal: bool, replaying: bool) {
        let mut st = self.lock();
        let removed = st.subscribers.remove(&id).is_some();
        if !internal && (removed || replaying) {
            st.streams -= 1;
        }
    }

    /// The snapshot as of now, shared: copied once per change, not once per reader.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        let mut st = self.lock();
        if let Some(shared) = &st.shared {
            return shared.clone();
        }
        let shared = Arc::new(st.snapshot.clone());
        st.shared = Some(shared.clone());
        shared
    }

    /// The monitor's history for `range`, with the id it is current to.
    pub fn monitor_history(&self, range: Range) -> HistoryView {
        let st = self.lock();
        HistoryView {
            through: st.snapshot.id.get(),
            tier: st.monitor.tier(range).clone(),
        }
    }

    /// Reads the snapshot in place (no copy), under the lock: keep `f` short.
    pub fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        f(&self.lock().snapshot)
    }

    /// Events in the replay window that `wanted` accepts, oldest first.
    pub fn window(&self, wanted: impl Fn(&Event) -> bool) -> Vec<Arc<Event>> {
        self.lock().history.after(EventId::ZERO, wanted)
    }

    pub fn latest(&self, topic: &Topic) -> Option<Arc<Event>> {
        self.lock().latest.get(topic).cloned()
    }

    /// Custom topics whose newest event is remembered now.
    pub fn custom_topics(&self) -> usize {
        self.lock().latest.custom_len()
    }

    pub fn last_id(&self) -> EventId {
        *self.committed.borrow()
    }

    /// Waits until this instance has committed `id` (or `limit` passed); returns whether it has.
    pub async fn wait_for(&self, id: EventId, limit: std::time::Duration) -> bool {
        let mut rx = self.committed.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|last| *last >= id))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn gauges(&self) -> (usize, usize, EventId) {
        let st = self.lock();
        (st.streams, st.history.len(), st.snapshot.id)
    }
}

/// Adds a subscriber to the fan-out (under the lock).
fn register(
    st: &mut State,
    id: u64,
    topics: Vec<Topic>,
    queue: queue::Sender<Arc<Event>>,
    lagged: &Arc<AtomicBool>,
    internal: bool,
) {
    st.subscribers.insert(
        id,
        Subscriber {
            topics,
            queue,
            lagged: lagged.clone(),
            internal,
        },
    );
}
