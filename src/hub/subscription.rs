//! One subscriber's side of the hub: what to replay first, then its bounded live queue.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::core::{Core, Event};
use crate::event::EventId;

/// What a new subscriber gets before live events.
#[derive(Debug)]
pub enum Replay {
    /// Exactly the events after the requested id, for the requested topics (empty when no id
    /// was given: live from now).
    Events(Vec<Arc<Event>>),
    /// The requested id is older than the history window (or newer than any event), so the
    /// client cannot be caught up event by event: it must re-snapshot. `latest` is the id the
    /// live events that follow continue from.
    Reset { latest: EventId },
}

/// A live subscription. Dropping it unsubscribes.
pub struct Subscription {
    id: u64,
    core: Arc<Core>,
    pub replay: Replay,
    queue: mpsc::Receiver<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    pub(super) fn new(
        id: u64,
        core: Arc<Core>,
        replay: Replay,
        queue: mpsc::Receiver<Arc<Event>>,
        lagged: Arc<AtomicBool>,
    ) -> Subscription {
        Subscription {
            id,
            core,
            replay,
            queue,
            lagged,
        }
    }

    /// The next live event; `None` once the hub cut this subscriber off (see [`Self::lagged`])
    /// and the queued events are drained.
    pub async fn next(&mut self) -> Option<Arc<Event>> {
        self.queue.recv().await
    }

    /// The next queued event, if one is already waiting.
    pub fn try_next(&mut self) -> Option<Arc<Event>> {
        self.queue.try_recv().ok()
    }

    /// Whether the hub cut this subscriber off because its queue overflowed.
    pub fn lagged(&self) -> bool {
        self.lagged.load(Relaxed)
    }

    /// Takes the replay out, leaving an empty one.
    pub fn take_replay(&mut self) -> Replay {
        std::mem::replace(&mut self.replay, Replay::Events(Vec::new()))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.core.unsubscribe(self.id);
    }
}
