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
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::history::History;
use super::log::StoredEvent;
use super::stats::Stats;
use super::subscription::{Replay, Subscription};
use super::HubConfig;
use crate::event::{Snapshot, Topic, ViewEvent};
use crate::sse::frame;

/// One published event, with its SSE frame encoded once and shared by every subscriber.
#[derive(Debug)]
pub struct Event {
    pub id: u64,
    pub topic: Topic,
    /// Compact JSON.
    pub data: String,
    pub at_ms: i64,
    /// `id: …\nevent: …\ndata: …\n\n`, ready to write to any stream.
    pub frame: Bytes,
}

impl Event {
    pub fn new(id: u64, topic: Topic, data: String, at_ms: i64) -> Event {
        let frame = frame::event(Some(&id.to_string()), Some(topic.as_str()), &data)
            .expect("topic names are validated single-line; ids are digits");
        Event {
            id,
            topic,
            data,
            at_ms,
            frame: Bytes::from(frame),
        }
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
}

struct State {
    history: History,
    snapshot: Snapshot,
    latest: HashMap<Topic, Arc<Event>>,
    subscribers: HashMap<u64, Subscriber>,
    next_subscriber: u64,
}

pub struct Core {
    state: Mutex<State>,
    config: HubConfig,
    pub stats: Stats,
}

impl Core {
    pub fn new(config: HubConfig, last_id: u64, recent: Vec<StoredEvent>) -> Core {
        let mut snapshot = Snapshot::default();
        let mut latest = HashMap::new();
        let mut seed = Vec::with_capacity(recent.len());
        for e in recent {
            // The log only holds events that passed validation; one that no longer parses
            // (an older schema) is kept for replay but cannot change the snapshot.
            let Ok(topic) = Topic::parse(&e.topic) else {
                continue;
            };
            let _ = snapshot.apply(e.id, topic.as_str(), &e.data);
            let ev = Arc::new(Event::new(e.id, topic.clone(), e.data, e.at_ms));
            latest.insert(topic, ev.clone());
            seed.push(ev);
        }
        snapshot.id = last_id;
        Core {
            state: Mutex::new(State {
                history: History::new(config.history, seed, last_id),
                snapshot,
                latest,
                subscribers: HashMap::new(),
                next_subscriber: 0,
            }),
            config,
            stats: Stats::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, never a half-applied
        // invariant that matters more than staying up, so a poisoned lock is still used.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a durable batch visible: history, snapshot, then every subscriber's queue.
    pub fn commit(&self, events: &[Arc<Event>]) {
        // Parsing is the costly part of updating the snapshot; it needs no lock, so it happens
        // before the lock that every subscriber and the fan-out wait on.
        let parsed: Vec<Option<ViewEvent>> = events
            .iter()
            .map(|ev| ViewEvent::parse(ev.topic.as_str(), &ev.data).ok().flatten())
            .collect();
        let mut st = self.lock();
        for (ev, view) in events.iter().zip(&parsed) {
            st.history.push(ev.clone());
            st.snapshot.advance(ev.id, view.as_ref());
            st.latest.insert(ev.topic.clone(), ev.clone());
        }
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
                if sub.lagged.load(Relaxed) {
                    self.stats.lagged.fetch_add(1, Relaxed);
                }
            }
        }
        drop(st);
        self.stats.delivered.fetch_add(delivered, Relaxed);
        self.stats.published.fetch_add(events.len() as u64, Relaxed);
    }

    pub fn subscribe(core: &Arc<Core>, topics: Vec<Topic>, since: Option<u64>) -> Subscription {
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
            },
        );
        drop(st);
        match &replay {
            Replay::Events(events) => {
                core.stats.replayed.fetch_add(events.len() as u64, Relaxed);
            }
            Replay::Reset { .. } => {
                core.stats.resets.fetch_add(1, Relaxed);
            }
        }
        core.stats.subscribed.fetch_add(1, Relaxed);
        Subscription::new(id, core.clone(), replay, rx, lagged)
    }

    /// Drops events older than `before_ms` from the replay window.
    pub fn expire(&self, before_ms: i64) {
        self.lock().history.expire(before_ms);
    }

    pub fn unsubscribe(&self, id: u64) {
        self.lock().subscribers.remove(&id);
    }

    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot.clone()
    }

    pub fn latest(&self, topic: &Topic) -> Option<Arc<Event>> {
        self.lock().latest.get(topic).cloned()
    }

    pub fn gauges(&self) -> (usize, usize, u64) {
        let st = self.lock();
        (st.subscribers.len(), st.history.len(), st.snapshot.id)
    }
}
