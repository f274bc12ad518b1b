//! The in-memory backend: ids and events in a `Vec`, nothing on disk. One [`MemoryBroker`] can
//! back several hubs at once (clone it), each with its own tail, like several instances on one
//! Redis — which is how the hub's unit tests check that every instance sees the same ids in
//! the same order, without a network.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::event::{now_ms, EventId, Topic};
use crate::hub::broker::{BackendHealth, Broker, BrokerError, StoredEvent, Tail};
use crate::hub::core::Event;
use crate::hub::PublishError;

#[derive(Default)]
struct Shared {
    last: EventId,
    /// The newest `capacity` events, oldest first.
    events: Vec<Arc<Event>>,
    tails: Vec<Tail>,
    down: bool,
}

/// Cheap to clone; clones share one stream.
#[derive(Clone)]
pub struct MemoryBroker {
    shared: Arc<Mutex<Shared>>,
    capacity: usize,
}

impl MemoryBroker {
    /// A stream that keeps the newest `capacity` events for instances that start later.
    pub fn new(capacity: usize) -> MemoryBroker {
        MemoryBroker {
            shared: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes publishes fail as if the backend were unreachable (`true`) or back (`false`).
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }
}

impl Broker for MemoryBroker {
    fn start(&self, tail: Tail) -> BoxFuture<'_, Result<(), BrokerError>> {
        let mut sh = self.lock();
        let recent = sh
            .events
            .iter()
            .map(|e| e.stored())
            .collect::<Vec<StoredEvent>>();
        tail.seed(recent, sh.last);
        sh.tails.push(tail);
        drop(sh);
        futures::future::ready(Ok(())).boxed()
    }

    fn publish(&self, topic: Topic, data: String) -> BoxFuture<'_, Result<EventId, PublishError>> {
        let mut sh = self.lock();
        if sh.down {
            return futures::future::ready(Err(PublishError::Unavailable)).boxed();
        }
        sh.last = sh.last.next();
        let event = Arc::new(Event::new(sh.last, topic, data, now_ms()));
        sh.events.push(event.clone());
        if sh.events.len() > self.capacity {
            let excess = sh.events.len() - self.capacity;
            sh.events.drain(..excess);
        }
        // Under the lock, so every tail sees every event in id order.
        for tail in &sh.tails {
            tail.commit(std::slice::from_ref(&event));
        }
        futures::future::ready(Ok(event.id)).boxed()
    }

    fn shared(&self) -> bool {
        false
    }

    fn health(&self) -> BackendHealth {
        BackendHealth {
            kind: "memory",
            up: !self.lock().down,
        }
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        futures::future::ready(()).boxed()
    }
}
