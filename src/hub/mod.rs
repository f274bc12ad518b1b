//! The event hub: one ordered log of events across all topics, fanned out to every subscriber.
//!
//! ```text
//!  publish() ──► command queue ──► sequencer thread ──► EventLog::append (durable, one tx per batch)
//!   (await ack)      (bounded)       assigns ids,            │
//!                                    encodes frames once     ▼
//!                                                    Core::commit (under one lock):
//!                                                      history window, snapshot, fan-out
//!                                                      to each subscriber's bounded queue
//! ```
//!
//! - **Ids** are assigned by the single sequencer, continue from [`EventLog::last_id`] after a
//!   restart, and are never reused (an id whose batch failed to write is skipped, not retried).
//! - **Frames** are encoded once per event ([`Event::frame`]) and shared by every subscriber.
//! - **Acknowledgement** happens only after [`EventLog::append`] returned, so a 202 means durable.
//! - **Lag**: each subscriber has a bounded queue ([`HubConfig::queue`]). A subscriber whose
//!   queue is full is dropped from the fan-out and its stream ends after the events already
//!   queued, so the client resumes by `Last-Event-ID` and replays exactly what it missed. Nothing
//!   is skipped silently, and one slow reader never delays the others or grows memory.
//! - **Replay** comes from the in-memory history window; an id older than the window (or newer
//!   than anything published) gets a reset instead, telling the client to re-snapshot.

mod core;
mod history;
mod log;
mod sequencer;
pub mod stats;
mod subscription;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

pub use self::core::Event;
pub use self::log::{EventLog, LogError, StoredEvent};
pub use self::stats::Stats;
pub use self::subscription::{Replay, Subscription};

use crate::event::{Snapshot, Topic};
use sequencer::Command;

/// Sizes of the hub's bounded buffers.
#[derive(Debug, Clone, Copy)]
pub struct HubConfig {
    /// Events kept in memory for replay (and the count the log retains).
    pub history: usize,
    /// Per-subscriber queue, in events. When full, that subscriber is cut off (see module docs).
    pub queue: usize,
    /// Events older than this leave the history and the log (`None`: count limit only).
    pub max_age: Option<std::time::Duration>,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            history: 10_000,
            queue: 1024,
            max_age: None,
        }
    }
}

/// Why a publish did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// The hub is shutting down; the publisher should retry against the next instance.
    ShuttingDown,
    /// The durable log refused the write (disk full, I/O error); the event was not stored.
    Storage(String),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::ShuttingDown => write!(f, "the server is shutting down; retry shortly"),
            PublishError::Storage(e) => write!(f, "the event could not be stored: {e}"),
        }
    }
}

impl std::error::Error for PublishError {}

/// Handle to the hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    core: Arc<core::Core>,
    /// Commands for the sequencer. Bounded (4096): when publishers outrun the disk, `publish`
    /// waits here instead of queueing without limit.
    commands: mpsc::Sender<Command>,
}

impl Hub {
    /// Opens the hub over `log`: seeds the history window and the snapshot from the log's newest
    /// events, then starts the sequencer thread.
    pub fn open(log: Box<dyn EventLog>, config: HubConfig) -> Result<Hub, LogError> {
        let recent = log.recent(config.history)?;
        let last_id = log.last_id();
        let core = Arc::new(core::Core::new(config, last_id, recent));
        let (tx, rx) = mpsc::channel(4096);
        sequencer::spawn(log, rx, core.clone(), last_id, config);
        if let (Some(age), Ok(rt)) = (config.max_age, tokio::runtime::Handle::try_current()) {
            // Age-based retention must also run when nothing is published.
            let commands = tx.clone();
            let every = (age / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
            rt.spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if commands.send(Command::Maintain).await.is_err() {
                        return;
                    }
                }
            });
        }
        Ok(Hub { core, commands: tx })
    }

    /// Publishes one already-validated event and waits until it is durable; returns its id.
    pub async fn publish(&self, topic: Topic, data: String) -> Result<u64, PublishError> {
        let started = Instant::now();
        let (ack, done) = oneshot::channel();
        self.commands
            .send(Command::Publish { topic, data, ack })
            .await
            .map_err(|_| PublishError::ShuttingDown)?;
        let result = done.await.map_err(|_| PublishError::ShuttingDown)?;
        if result.is_ok() {
            self.core.stats.ack_latency.observe(started.elapsed());
        }
        result
    }

    /// Subscribes to `topics`, replaying what came after `since` (see [`Replay`]).
    pub fn subscribe(&self, topics: Vec<Topic>, since: Option<u64>) -> Subscription {
        core::Core::subscribe(&self.core, topics, since)
    }

    /// The state every view shows, with the id it is current to.
    pub fn snapshot(&self) -> Snapshot {
        self.core.snapshot()
    }

    /// The newest event of a topic (what a custom topic's snapshot shows).
    pub fn latest(&self, topic: &Topic) -> Option<Arc<Event>> {
        self.core.latest(topic)
    }

    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// Live figures for `/metrics`: (subscribers, history length, last id).
    pub fn gauges(&self) -> (usize, usize, u64) {
        self.core.gauges()
    }

    /// Stops accepting publishes, lets the sequencer write everything already queued, and waits
    /// for the log to be closed. Publishes after this fail with [`PublishError::ShuttingDown`].
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}
