//! Keeps the posts table in step with the `feed` topic, fed from committed events.
//!
//! The [`Recorder`] is one of the hub's own consumers ([`crate::hub::Hub::observe`]): it sees
//! every committed post, whichever instance or path published it (the HTTP API, the form's
//! server function, another instance through Redis), so every instance's table holds the same
//! posts. It resumes by id like any subscriber: at start from the newest stored post, after a
//! lag from the last one it stored, and on a reset from what the snapshot's window holds.
//!
//! Publishers of a post wait (briefly) for [`Recorder::stored`], so a post is in the table
//! before its author hears back — "older posts" never misses a post that was just made.

use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::event::BuiltIn;
use crate::event::{EventId, NewPost, Payload, Post, Topic};
use crate::hub::{Event, Hub, Replay};
use crate::storage::{PostStore, PostsError};

/// How long a publisher waits for its post to reach the table.
const STORE_WAIT: Duration = Duration::from_secs(5);

/// Posts written in one transaction at most.
const BATCH: usize = 256;

/// Cheap to clone: a view of how far the table is.
#[derive(Clone)]
pub struct Recorder {
    stored: watch::Receiver<EventId>,
}

impl Recorder {
    /// Copies the posts committed since the newest stored one (a crash between commit and
    /// table, or posts made on other instances while this one was down), then follows the hub.
    /// The catch-up finishes before this returns, so pages served afterwards see every post.
    pub async fn start(
        hub: Hub,
        store: PostStore,
        stop: CancellationToken,
    ) -> Result<(Recorder, usize), PostsError> {
        let since = EventId::new(store.last_id()?);
        let (tx, rx) = watch::channel(since);
        let mut run = Run {
            hub,
            store,
            stored: tx,
            since,
        };
        let caught_up = run.catch_up().await?;
        tokio::spawn(run.follow(stop));
        Ok((Recorder { stored: rx }, caught_up))
    }

    /// Waits until the post with event id `id` is in the table (or a few seconds passed; the
    /// post is durable in the event log either way).
    pub async fn stored(&self, id: EventId) {
        let mut rx = self.stored.clone();
        if tokio::time::timeout(STORE_WAIT, rx.wait_for(|s| *s >= id))
            .await
            .is_err()
        {
            tracing::warn!("feed: post {id} is not in the posts table yet");
        }
    }
}

fn feed_topic() -> Topic {
    BuiltIn::Feed.topic()
}

struct Run {
    hub: Hub,
    store: PostStore,
    stored: watch::Sender<EventId>,
    /// Every post up to here is in the table.
    since: EventId,
}

impl Run {
    /// One subscription's replay, stored. Returns how many posts it stored.
    async fn catch_up(&mut self) -> Result<usize, PostsError> {
        let mut sub = self.hub.observe(vec![feed_topic()], Some(self.since)).await;
        let (posts, through) = match sub.take_replay() {
            Replay::Events(events) => (events.iter().filter_map(|e| post(e)).collect(), None),
            // The table is older than the history (or ahead of a stream that was lost): keep
            // what the window shows. Nothing older can be recovered, so the table now counts
            // as current to `latest`: the follower resumes from there instead of asking again.
            Replay::Reset { latest } => {
                let posts: Vec<Post> = self
                    .hub
                    .snapshot()
                    .feed
                    .posts
                    .into_iter()
                    .filter(|p| p.id > self.since.get())
                    .collect();
                (posts, Some(latest))
            }
        };
        let n = posts.len();
        self.write(posts).await?;
        if let Some(latest) = through {
            self.since = self.since.max(latest);
            self.stored.send_replace(self.since);
        }
        Ok(n)
    }

    async fn write(&mut self, posts: Vec<Post>) -> Result<(), PostsError> {
        let Some(newest) = posts.iter().map(|p| p.id).max() else {
            return Ok(());
        };
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.insert(&posts))
            .await
            .map_err(|e| PostsError(format!("posts writer failed: {e}")))??;
        self.since = self.since.max(EventId::new(newest));
        self.stored.send_replace(self.since);
        Ok(())
    }

    /// Follows the hub until `stop`. A lag (queue full) or a failed write resumes from the
    /// last stored post, so nothing is skipped.
    async fn follow(mut self, stop: CancellationToken) {
        'outer: while !stop.is_cancelled() {
            let mut sub = self.hub.observe(vec![feed_topic()], Some(self.since)).await;
            let replay: Vec<Post> = match sub.take_replay() {
                Replay::Events(events) => events.iter().filter_map(|e| post(e)).collect(),
                Replay::Reset { .. } => {
                    drop(sub);
                    if let Err(e) = self.catch_up().await {
                        tracing::error!("feed: posts table catch-up failed (will retry): {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            };
            if let Err(e) = self.write(replay).await {
                tracing::error!("feed: posts not stored (will retry): {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            loop {
                let first = tokio::select! {
                    _ = stop.cancelled() => break 'outer,
                    ev = sub.next() => ev,
                };
                // `None`: cut off for lagging; resubscribe from the last stored post.
                let Some(first) = first else { continue 'outer };
                let mut posts: Vec<Post> = post(&first).into_iter().collect();
                while posts.len() < BATCH {
                    match sub.try_next() {
                        Some(ev) => posts.extend(post(&ev)),
                        None => break,
                    }
                }
                if let Err(e) = self.write(posts).await {
                    tracing::error!("feed: posts not stored (will retry): {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue 'outer;
                }
            }
        }
    }
}

fn post(e: &Event) -> Option<Post> {
    NewPost::parse(&e.data)
        .ok()
        .map(|p| Post::new(e.id.get(), &p))
}
