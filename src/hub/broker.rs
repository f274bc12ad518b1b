//! The seam between the hub and where events live: a [`Broker`] mints ids, stores events, and
//! feeds every instance's fan-out through a [`Tail`].
//!
//! Why here and not at storage level: with several Pulse instances, the thing that must be
//! shared is not just the log but the *order* — who assigns the next id, and how an event
//! published on instance B reaches subscribers on A. A storage interface (`append`, `recent`)
//! cannot say that; a broker can. Publishing returns the id the backend assigned (like
//! centrifuge's `Broker::Publish` returning a stream position), and committed events arrive
//! through the tail on every instance, the publisher's own included (like Mercure's
//! `Transport`). Everything derived from events — snapshots, the replay window, the feed's
//! posts table — is built from what the tail delivers, so every instance derives the same state.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::core::{Core, Event};
use super::PublishError;
use crate::event::{EventId, Topic};

/// An event as a backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: EventId,
    pub topic: String,
    pub data: String,
    /// Unix time in milliseconds when the backend accepted it (for age-based retention).
    pub at_ms: i64,
}

/// Why a backend could not start. The message says what to do; it names the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// The embedded log could not be opened or read.
    Storage(String),
    /// Redis could not be reached or refused a command at start.
    Unreachable(String),
}

impl std::fmt::Display for BrokerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerError::Storage(e) => write!(f, "event log: {e}"),
            BrokerError::Unreachable(e) => write!(f, "redis: {e}"),
        }
    }
}

impl std::error::Error for BrokerError {}

/// What `/healthz` reports about the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendHealth {
    /// `"local"`, `"memory"` or `"redis"`.
    pub kind: &'static str,
    /// False while the backend cannot accept publishes (Redis unreachable).
    pub up: bool,
}

/// A place events live. Implementations: [`super::backend::local`] (sequencer + SQLite, the
/// zero-setup default), [`super::backend::memory`] (tests), [`super::backend::redis`]
/// (several instances on Redis Streams).
pub trait Broker: Send + Sync + 'static {
    /// Starts feeding `tail`: first [`Tail::seed`] with the newest committed events, then every
    /// committed batch, in id order, exactly once — including events other instances published.
    fn start(&self, tail: Tail) -> BoxFuture<'_, Result<(), BrokerError>>;

    /// Stores one validated event and returns its id once it is durable in the backend.
    fn publish(&self, topic: Topic, data: String) -> BoxFuture<'_, Result<EventId, PublishError>>;

    /// Whether other processes publish into the same stream. Then an id newer than this
    /// instance has seen may be real (another instance is ahead), and the hub waits briefly for
    /// its tail instead of answering `reset` at once.
    fn shared(&self) -> bool;

    /// The newest id the backend has handed out, anywhere. Only a shared backend needs to ask
    /// (one round trip): its answer lets an instance wait until its tail has committed
    /// everything acknowledged before the call ([`super::Hub::sync`]). Backends that only this
    /// process writes answer `None`: their tail commits before any acknowledgement.
    fn head(&self) -> BoxFuture<'_, Result<Option<EventId>, PublishError>> {
        Box::pin(futures::future::ready(Ok(None)))
    }

    fn health(&self) -> BackendHealth;

    /// Stops accepting publishes, finishes what was accepted, and releases the backend.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

/// The hub's receiving end, handed to [`Broker::start`]. Calls must come from one task or
/// thread at a time, in id order; the hub relies on that for exact resume.
#[derive(Clone)]
pub struct Tail {
    pub(super) core: Arc<Core>,
}

impl Tail {
    /// Fills the replay window and the snapshot from the newest stored events (oldest first).
    /// `last` is the highest id ever handed out, which may be past the newest stored event.
    pub fn seed(&self, recent: Vec<StoredEvent>, last: EventId) {
        self.core.seed(recent, last);
    }

    /// Makes a committed batch visible: replay window, snapshot, then every subscriber.
    pub fn commit(&self, events: &[Arc<Event>]) {
        self.core.commit(events);
    }

    /// Declares that events up to and including `through` cannot be replayed exactly (the
    /// backend lost them, or trimmed them before this instance read them). Clients resuming
    /// from an older id get `reset` instead of a replay with a hole in it.
    pub fn discontinuity(&self, through: EventId) {
        self.core.discontinuity(through);
    }

    /// Drops events accepted before `before_ms` from the replay window.
    pub fn expire(&self, before_ms: i64) {
        self.core.expire(before_ms);
    }

    /// The newest id this instance has committed.
    pub fn last(&self) -> EventId {
        self.core.last_id()
    }

    /// Counts a batch written to the backend (the group-commit factor in `/metrics`).
    pub fn count_batch(&self) {
        self.core
            .stats
            .batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts publishes the backend refused.
    pub fn count_storage_errors(&self, n: u64) {
        self.core
            .stats
            .storage_errors
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}
