//! The hub's shared state and the one lock that guards it.
//!
//! This is a `std::sync::Mutex`, not a tokio one: nothing awaits while holding it, and every
//! critical section is short (push to the window, apply to the snapshot, `try_send` per
//! subscriber). Holding the same lock for commit and subscribe is what makes a resume exact:
//! an event is either in the replay a new subscriber gets, or in its queue — never both, never
//! neither.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

use super::broker::StoredEvent;
use super::history::History;
use super::stats::Stats;
use super::subscription::{Replay, Subscription};
use super::HubConfig;
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

struct Subscriber {
    topics: Vec<Topic>,
    queue: mpsc::Sender<Arc<Event>>,
    /// Set when this subscriber was cut off for lagging, so its stream can tell that apart
    /// from a server shutdown.
    lagged: Arc<AtomicBool>,
    /// Pulse's own consumers (the feed recorder) are not streams: they do not count in
    /// `pulse_subscribers`, which means "browsers and clients connected".
    internal: bool,
}

struct State {
    history: History,
    snapshot: Snapshot,
    latest: HashMap<Topic, Arc<Event>>,
    subscribers: HashMap<u64, Subscriber>,
    next_subscriber: u64,
    /// Subscribers that are streams (not `internal`).
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
                snapshot: Snapshot::default(),
                latest: HashMap::new(),
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
        let mut snapshot = Snapshot::default();
        let mut latest = HashMap::new();
        let mut seed = Vec::with_capacity(recent.len());
        for e in recent {
            // The log only holds events that passed validation; one that no longer parses
            // (an older schema) is kept out of the snapshot rather than guessed at.
            let Some(ev) = Event::from_stored(e) else {
                continue;
            };
            let _ = snapshot.apply(ev.id, ev.topic.as_str(), &ev.data);
            let ev = Arc::new(ev);
            latest.insert(ev.topic.clone(), ev.clone());
            seed.push(ev);
        }
        snapshot.id = last;
        let mut st = self.lock();
        st.history = History::new(self.config.history, seed, last);
        st.snapshot = snapshot;
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
            st.latest.insert(ev.topic.clone(), ev.clone());
        }
        let events = &events[events.len() - fresh..];
        let mut delivered = 0;
        let mut cut_off = Vec::new();
        for (id, sub) in st.subscribers.iter() {
            for ev in events.iter().filter(|e| sub.topics.contains(&e.topic)) {
                match sub.queue.try_send(ev.clone()) {
                    Ok(()) => delivered += 1,
                    Err(TrySendError::Full(_)) => {
                        sub.lagged.store(true, Relaxed);
                        cut_off.push(*id);
                        break;
                    }
                    Err(TrySendError::Closed(_)) => {
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
        }
        let last = st.snapshot.id;
        drop(st);
        self.committed.send_replace(last);
    }

    pub fn subscribe(
        core: &Arc<Core>,
        topics: Vec<Topic>,
        since: Option<EventId>,
        internal: bool,
    ) -> Subscription {
        let (tx, rx) = mpsc::channel(core.config.queue.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        let mut st = core.lock();
        let last_id = st.snapshot.id;
        let replay = match since {
            None => Replay::Events(Vec::new()),
            Some(since) if since <= last_id && st.history.covers(since) => {
                Replay::Events(st.history.after(since, |e| topics.contains(&e.topic)))
            }
            Some(_) => Replay::Reset { latest: last_id },
        };
        let id = st.next_subscriber;
        st.next_subscriber += 1;
        st.subscribers.insert(
            id,
            Subscriber {
                topics,
                queue: tx,
                lagged: lagged.clone(),
                internal,
            },
        );
        if !internal {
            st.streams += 1;
        }
        drop(st);
        if !internal {
            match &replay {
                Replay::Events(events) => {
                    core.stats.replayed.fetch_add(events.len() as u64, Relaxed);
                }
                Replay::Reset { .. } => {
                    core.stats.resets.fetch_add(1, Relaxed);
                }
            }
            core.stats.subscribed.fetch_add(1, Relaxed);
        }
        Subscription::new(id, core.clone(), replay, rx, lagged)
    }

    /// Drops events older than `before_ms` from the replay window.
    pub fn expire(&self, before_ms: i64) {
        self.lock().history.expire(before_ms);
    }

    pub fn unsubscribe(&self, id: u64) {
        let mut st = self.lock();
        if let Some(sub) = st.subscribers.remove(&id) {
            if !sub.internal {
                st.streams -= 1;
            }
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot.clone()
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
