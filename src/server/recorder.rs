//! Keeps a derived table ([`Table`]: the feed's posts, the jobs) in step with its topic, fed
//! from committed events.
//!
//! A [`Recorder`] is one of the hub's own consumers ([`crate::hub::Hub::observe`]): it sees every
//! committed event of its topic, whichever instance or path published it (the HTTP API, a
//! server function, another instance through Redis), so every instance's table holds the same
//! rows. It resumes by id like any subscriber: at start from the table's mark, after a lag from
//! the last event it stored, and on a reset from what the snapshot holds.
//!
//! Publishers wait (briefly) for [`Recorder::stored`], so a post or a job is in its table before
//! its publisher hears back.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::event::{EventId, Topic};
use crate::hub::{Event, Hub, Replay};
use crate::storage::{PostsError, Table};

/// How long a publisher waits for its event to reach the table.
const STORE_WAIT: Duration = Duration::from_secs(5);

/// Events written in one transaction at most.
const BATCH: usize = 256;

/// Cheap to clone: how far the table is.
#[derive(Clone)]
pub struct Recorder {
    stored: watch::Receiver<EventId>,
    name: &'static str,
}

impl Recorder {
    /// Copies the events committed since the table's mark (a crash between commit and table,
    /// or events from other instances while this one was down), then follows the hub. The
    /// catch-up finishes before this returns, so pages served afterwards see every row.
    pub async fn start<T: Table>(
        hub: Hub,
        table: T,
        stop: CancellationToken,
    ) -> Result<(Recorder, usize), PostsError> {
        let since = {
            let t = table.clone();
            blocking(move || t.mark()).await?
        };
        let (tx, rx) = watch::channel(since);
        let mut run = Run {
            hub,
            table,
            stored: tx,
            since,
        };
        let caught_up = run.catch_up().await?;
        tokio::spawn(run.follow(stop));
        Ok((
            Recorder {
                stored: rx,
                name: T::NAME,
            },
            caught_up,
        ))
    }

    /// Waits until event `id` is in the table (or a few seconds passed; the event is durable
    /// in the event log either way).
    pub async fn stored(&self, id: EventId) {
        let mut rx = self.stored.clone();
        if tokio::time::timeout(STORE_WAIT, rx.wait_for(|s| *s >= id))
            .await
            .is_err()
        {
            tracing::warn!("{}: event {id} is not stored yet", self.name);
        }
    }
}

async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, PostsError> + Send + 'static,
) -> Result<R, PostsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PostsError(format!("writer failed: {e}")))?
}

struct Run<T: Table> {
    hub: Hub,
    table: T,
    stored: watch::Sender<EventId>,
    /// Every event up to here is in the table.
    since: EventId,
}

impl<T: Table> Run<T> {
    fn topic() -> Topic {
        T::TOPIC.topic()
    }

    /// One subscription's replay, stored. Returns how many events it stored.
    async fn catch_up(&mut self) -> Result<usize, PostsError> {
        let mut sub = self
            .hub
            .observe(vec![Self::topic()], Some(self.since))
            .await;
        match sub.take_replay() {
            Replay::Events(events) => {
                let n = events.len();
                self.write(events).await?;
                Ok(n)
            }
            // The table is older than the history (or ahead of a stream that was lost): keep
            // what the snapshot shows. Nothing older can be recovered, so the table now counts
            // as current to `latest`, and the follower resumes from there.
            Replay::Reset { latest } => {
                let snapshot = self.hub.snapshot();
                let table = self.table.clone();
                blocking(move || table.store_snapshot(&snapshot, latest)).await?;
                self.advance(latest);
                Ok(0)
            }
        }
    }

    fn advance(&mut self, to: EventId) {
        self.since = self.since.max(to);
        self.stored.send_replace(self.since);
    }

    async fn write(&mut self, events: Vec<Arc<Event>>) -> Result<(), PostsError> {
        let Some(newest) = events.last().map(|e| e.id) else {
            return Ok(());
        };
        let table = self.table.clone();
        blocking(move || table.store(&events, newest)).await?;
        self.advance(newest);
        Ok(())
    }

    /// Follows the hub until `stop`. A lag (queue full) or a failed write resumes from the
    /// last stored event, so nothing is skipped.
    async fn follow(mut self, stop: CancellationToken) {
        'outer: while !stop.is_cancelled() {
            let mut sub = self
                .hub
                .observe(vec![Self::topic()], Some(self.since))
                .await;
            let replay = match sub.take_replay() {
                Replay::Events(events) => events,
                Replay::Reset { .. } => {
                    drop(sub);
                    if let Err(e) = self.catch_up().await {
                        tracing::error!("{}: catch-up failed (will retry): {e}", T::NAME);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            };
            if let Err(e) = self.write(replay).await {
                tracing::error!("{}: not stored (will retry): {e}", T::NAME);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            loop {
                let first = tokio::select! {
                    _ = stop.cancelled() => break 'outer,
                    ev = sub.next() => ev,
                };
                // `None`: cut off for lagging; resubscribe from the last stored event.
                let Some(first) = first else { continue 'outer };
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match sub.try_next() {
                        Some(ev) => batch.push(ev),
                        None => break,
                    }
                }
                if let Err(e) = self.write(batch).await {
                    tracing::error!("{}: not stored (will retry): {e}", T::NAME);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue 'outer;
                }
            }
        }
    }
}
