//! Keeps the posts table in step with the `feed` topic. Every path that publishes a post (the
//! HTTP API and the form's server function) calls [`keep`] once the hub has acknowledged the
//! event, so a post is in the event log *and* the posts table before its publisher hears back.
//!
//! Should the process die between those two writes, [`catch_up`] at the next start copies the
//! posts the event history holds beyond the newest stored id. (A recorder subscribed to the hub
//! would do the same without a hook, but it would count as an open stream in `/metrics` and the
//! monitor, which would then no longer mean "browsers and clients connected".)

use crate::event::topic::FEED;
use crate::event::{NewPost, Payload, Post, Topic};
use crate::hub::{Hub, Replay};
use crate::storage::{PostStore, PostsError};

/// Stores the post carried by event `id` (`data` is the validated `feed` payload). Failures are
/// logged, not returned: the event itself is already durable and the next start catches up.
pub async fn keep(store: &PostStore, id: u64, data: &str) {
    let Ok(post) = NewPost::parse(data) else {
        return;
    };
    let post = Post::new(id, &post);
    let store = store.clone();
    match tokio::task::spawn_blocking(move || store.insert(&[post])).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("feed: post {id} not stored (kept in the event log): {e}"),
        Err(e) => tracing::error!("feed: post {id} writer failed: {e}"),
    }
}

/// Copies posts that reached the event log but not the posts table (a crash between the two
/// writes). Runs once at start, before the server accepts connections.
pub fn catch_up(hub: &Hub, store: &PostStore) -> Result<usize, PostsError> {
    let since = store.last_id()?;
    let topic = Topic::parse(FEED).expect("built-in topic name is valid");
    // A momentary subscription, only for its replay; dropped at the end of this function.
    let mut sub = hub.subscribe(vec![topic], Some(since));
    let posts: Vec<Post> = match sub.take_replay() {
        Replay::Events(events) => events
            .iter()
            .filter_map(|e| NewPost::parse(&e.data).ok().map(|p| Post::new(e.id, &p)))
            .collect(),
        // The table is ahead of (or older than) the history: keep what the window shows.
        Replay::Reset { .. } => hub
            .snapshot()
            .feed
            .posts
            .into_iter()
            .filter(|p| p.id > since)
            .collect(),
    };
    store.insert(&posts)?;
    Ok(posts.len())
}
