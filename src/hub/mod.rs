//! The event hub: one ordered stream of events across all topics, fanned out to every
//! subscriber, on one instance or many.
//!
//! ```text
//!  publish() ──► Broker::publish ──► backend mints the id, stores durably ──► ack (the id)
//!                                          │
//!               every instance's tail ◄────┘  (local: the sequencer thread;
//!                      │                        redis: XREAD on the shared stream)
//!                      ▼
//!              Core::commit (under one lock): history window, snapshot, fan-out
//!              to each subscriber's bounded queue, and Pulse's own consumers (posts table)
//! ```
//!
//! ## Why the seam is a broker
//! A storage interface (append / read back) is enough for one process, but not for several:
//! what instances must share is the *order* and the *feed*, not only the bytes. So the backend
//! ([`broker::Broker`]) mints ids when it stores an event and feeds every instance's fan-out
//! from its own log through a [`broker::Tail`] — publishing instance included. That is the shape
//! of centrifuge's `Broker` (publish returns a stream position; publications arrive through a
//! handler) and Mercure's `Transport`. Consequences:
//! - **Same ids everywhere.** There is one minting point per stream (the local sequencer, or
//!   Redis), so a client resumes on any instance with its `Last-Event-ID`.
//! - **Derived state is fed from committed events**, never from publish paths: the snapshot, the
//!   replay window and the feed's posts table are built from what the tail delivers, so every
//!   instance derives the same state.
//! - **Acknowledgement** means durable in the backend *and* committed on this instance, so a
//!   publisher that reads its own instance right after the 202 sees its event.
//!
//! Backends ([`backend`]): `local` (sequencer + SQLite, the default), `memory` (tests; several
//! hubs can share one), `redis` (Redis Streams, `--redis-url`).
//!
//! ## Ids never go back
//! [`EventId`]s are strictly increasing and never reused. The local log keeps its high-water mark
//! in the same transaction as the events. The Redis backend jumps past every id any instance
//! has seen when it finds the stream lost or rolled back, and declares a
//! [`broker::Tail::discontinuity`]: a client holding an older id gets `reset`, never a replay
//! with a hole in it.
//!
//! ## Lag and replay
//! Each subscriber has a bounded queue ([`HubConfig::queue`], `queue.rs`). A subscriber whose queue is full
//! is dropped from the fan-out and its stream ends after the events already queued, so the
//! client resumes by `Last-Event-ID` and replays exactly what it missed. Nothing is skipped
//! silently, and one slow reader never delays the others or grows memory. Replay comes from the
//! in-memory window, read lazily — a chunk at a time as the stream is polled, never copied up
//! front (see "Lazy replay" in `core.rs`); an id older than the window (or newer than anything
//! published) gets a reset instead, telling the client to re-snapshot.

pub mod backend;
pub mod broker;
mod core;
mod history;
mod latest;
mod queue;
pub mod stats;
pub mod subscription;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use self::backend::log::{EventLog, LogError};
pub use self::broker::{BackendHealth, Broker, BrokerError, StoredEvent};
pub use self::core::Event;
pub use self::stats::Stats;
pub use self::subscription::{Replay, Subscription};

use crate::event::{EventId, Snapshot, Topic};

/// How long a publish waits for this instance's tail to show the event it stored, and a resume
/// from an id this instance has not seen yet waits before answering `reset`. Only a shared
/// backend ever waits: locally the tail runs before the acknowledgement.
const TAIL_WAIT: Duration = Duration::from_secs(5);

/// Sizes of the hub's bounded buffers.
#[derive(Debug, Clone, Copy)]
pub struct HubConfig {
    /// Events kept in memory for replay (and the count the backend retains).
    pub history: usize,
    /// Per-subscriber queue, in events. When full, that subscriber is cut off (see module docs).
    pub queue: usize,
    /// Events older than this leave the history and the backend (`None`: count limit only).
    pub max_age: Option<Duration>,
    /// Custom topics whose newest event is remembered (least recently published forgotten
    /// first; see `latest.rs`).
    pub max_custom_topics: usize,
    /// Rows the stocks ticker keeps (least recently updated replaced first; see
    /// [`crate::event::StocksState`]).
    pub max_stock_symbols: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            history: 10_000,
            queue: 1024,
            max_age: None,
            max_custom_topics: 1000,
            max_stock_symbols: crate::event::stocks::DEFAULT_MAX_SYMBOLS,
        }
    }
}

/// Why a publish did not happen. The messages are what clients see: they never carry paths
/// or backend error text (those are logged where they happen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// The hub is shutting down; the publisher should retry against the next instance.
    ShuttingDown,
    /// The durable log refused the write (disk full, I/O error); the event was not stored.
    Storage,
    /// The shared backend (Redis) is unreachable; nothing was stored.
    Unavailable,
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::ShuttingDown => write!(f, "the server is shutting down; retry shortly"),
            PublishError::Storage => {
                write!(
                    f,
                    "the event could not be stored; nothing was published, retry shortly"
                )
            }
            PublishError::Unavailable => write!(
                f,
                "the event store is unreachable; nothing was published, retry shortly"
            ),
        }
    }
}

impl std::error::Error for PublishError {}

/// Handle to the hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    core: Arc<core::Core>,
    broker: Arc<dyn Broker>,
}

impl Hub {
    /// Opens the hub over `broker`: the backend seeds the replay window and the snapshot from
    /// its newest events, then feeds every commit.
    pub async fn open(broker: Arc<dyn Broker>, config: HubConfig) -> Result<Hub, BrokerError> {
        let core = Arc::new(core::Core::new(config));
        broker.start(broker::Tail { core: core.clone() }).await?;
        Ok(Hub { core, broker })
    }

    /// Publishes one already-validated event and waits until it is durable and committed on
    /// this instance; returns its id.
    pub async fn publish(&self, topic: Topic, data: String) -> Result<EventId, PublishError> {
        let started = Instant::now();
        let id = self.broker.publish(topic, data).await?;
        if self.broker.shared() && !self.core.wait_for(id, TAIL_WAIT).await {
            // Stored, so acknowledged; this instance's tail is just slow to show it.
            tracing::warn!("event {id} is stored but this instance's tail has not caught up");
        }
        self.core.stats.ack_latency.observe(started.elapsed());
        Ok(id)
    }

    /// Waits until this instance has committed every event acknowledged anywhere before this
    /// call. Read-compute-publish updates (a job's next state from its current one) call it
    /// first, so a report that reaches another instance than the previous one still starts
    /// from the newest state. Free with a backend only this process writes.
    pub async fn sync(&self) -> Result<(), PublishError> {
        if let Some(head) = self.broker.head().await? {
            if !self.core.wait_for(head, TAIL_WAIT).await {
                return Err(PublishError::Unavailable);
            }
        }
        Ok(())
    }

    /// Subscribes to `topics`, replaying what came after `since` (see [`Replay`]).
    pub async fn subscribe(&self, topics: Vec<Topic>, since: Option<EventId>) -> Subscription {
        self.wait_for_resume(since).await;
        core::Core::subscribe(&self.core, topics, since, false)
    }

    /// Like [`Self::subscribe`], for Pulse's own consumers (the feed recorder): not counted as
    /// an open stream.
    pub async fn observe(&self, topics: Vec<Topic>, since: Option<EventId>) -> Subscription {
        self.wait_for_resume(since).await;
        core::Core::subscribe(&self.core, topics, since, true)
    }

    /// With a shared backend, an id newer than this instance has seen may come from a client
    /// that was just on another instance: give the tail a moment before deciding on `reset`.
    async fn wait_for_resume(&self, since: Option<EventId>) {
        if let Some(since) = since {
            if self.broker.shared() && since > self.core.last_id() {
                self.core.wait_for(since, TAIL_WAIT).await;
            }
        }
    }

    /// The state every view shows, with the id it is current to (shared until it changes).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.core.snapshot()
    }

    /// The monitor's chart history for `range` (see [`crate::event::history`]).
    pub fn monitor_history(
        &self,
        range: crate::event::history::Range,
    ) -> crate::event::history::HistoryView {
        self.core.monitor_history(range)
    }

    /// Reads the snapshot in place, without copying it (under the hub's lock: keep `f` short).
    pub fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        self.core.read(f)
    }

    /// The events of the replay window that `wanted` accepts, oldest first (what an export
    /// can reach).
    pub fn window(&self, wanted: impl Fn(&Event) -> bool) -> Vec<Arc<Event>> {
        self.core.window(wanted)
    }

    /// The newest event of a topic (what a custom topic's snapshot shows).
    pub fn latest(&self, topic: &Topic) -> Option<Arc<Event>> {
        self.core.latest(topic)
    }

    /// Custom topics whose newest event is remembered now (at most
    /// [`HubConfig::max_custom_topics`]).
    pub fn custom_topics(&self) -> usize {
        self.core.custom_topics()
    }

    /// The newest id committed on this instance.
    pub fn last_id(&self) -> EventId {
        self.core.last_id()
    }

    /// Waits until this instance has committed `id`; false if `limit` passed first.
    pub async fn wait_for(&self, id: EventId, limit: Duration) -> bool {
        self.core.wait_for(id, limit).await
    }

    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    pub fn health(&self) -> BackendHealth {
        self.broker.health()
    }

    /// Live figures for `/metrics`: (open streams, history length, last id).
    pub fn gauges(&self) -> (usize, usize, EventId) {
        self.core.gauges()
    }

    /// Stops accepting publishes, lets the backend store everything already accepted, and
    /// releases it. Publishes after this fail with [`PublishError::ShuttingDown`].
    pub async fn shutdown(&self) {
        self.broker.shutdown().await;
    }
}

#[cfg(test)]
mod tests;
