//! The local backend: today's single-process engine behind the broker seam. A sequencer thread
//! (see `sequencer.rs`) assigns ids, writes each batch to the [`EventLog`] in one transaction
//! and then hands it to the tail, so an acknowledged event is durable *and* visible.

use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::{mpsc, oneshot};

use super::log::EventLog;
use super::sequencer::{self, Command};
use crate::event::{EventId, Topic};
use crate::hub::broker::{BackendHealth, Broker, BrokerError, Tail};
use crate::hub::{HubConfig, PublishError};

/// Publishes waiting for the sequencer. Bounded: when publishers outrun the disk, `publish`
/// waits here instead of queueing without limit.
const COMMAND_QUEUE: usize = 4096;

pub struct LocalBroker {
    config: HubConfig,
    /// Taken by `start`, which hands it to the sequencer thread.
    log: Mutex<Option<Box<dyn EventLog>>>,
    commands: mpsc::Sender<Command>,
    receiver: Mutex<Option<mpsc::Receiver<Command>>>,
}

impl LocalBroker {
    pub fn new(log: Box<dyn EventLog>, config: HubConfig) -> LocalBroker {
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        LocalBroker {
            config,
            log: Mutex::new(Some(log)),
            commands: tx,
            receiver: Mutex::new(Some(rx)),
        }
    }
}

impl Broker for LocalBroker {
    fn start(&self, tail: Tail) -> BoxFuture<'_, Result<(), BrokerError>> {
        let taken = (
            self.log.lock().ok().and_then(|mut l| l.take()),
            self.receiver.lock().ok().and_then(|mut r| r.take()),
        );
        async move {
            let (Some(log), Some(rx)) = taken else {
                return Err(BrokerError::Storage(
                    "the local backend was started twice".into(),
                ));
            };
            let recent = log
                .recent(self.config.history)
                .map_err(|e| BrokerError::Storage(e.to_string()))?;
            let last = log.last_id();
            tail.seed(recent, last);
            sequencer::spawn(log, rx, tail, last, self.config);
            if let (Some(age), Ok(rt)) =
                (self.config.max_age, tokio::runtime::Handle::try_current())
            {
                // Age-based retention must also run when nothing is published.
                let commands = self.commands.clone();
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
            Ok(())
        }
        .boxed()
    }

    fn publish(&self, topic: Topic, data: String) -> BoxFuture<'_, Result<EventId, PublishError>> {
        async move {
            let (ack, done) = oneshot::channel();
            self.commands
                .send(Command::Publish { topic, data, ack })
                .await
                .map_err(|_| PublishError::ShuttingDown)?;
            done.await.map_err(|_| PublishError::ShuttingDown)?
        }
        .boxed()
    }

    fn shared(&self) -> bool {
        false
    }

    fn health(&self) -> BackendHealth {
        BackendHealth {
            kind: "local",
            up: !self.commands.is_closed(),
        }
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        async move {
            let (tx, rx) = oneshot::channel();
            if self.commands.send(Command::Stop(tx)).await.is_ok() {
                let _ = rx.await;
            }
        }
        .boxed()
    }
}
