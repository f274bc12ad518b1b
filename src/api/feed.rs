//! Feed actions: `create_post` and `older_posts`.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::event::Post;

/// Why a feed action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedError {
    /// Author or text is empty or too long; the message says which and the limit.
    Invalid(String),
    /// This address posted too often; it may post again after the wait.
    RateLimited { retry_after_secs: u64 },
    /// The server could not store the post or read older ones.
    Unavailable(String),
    /// The request itself failed before the server could answer.
    Request(String),
}

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedError::Invalid(m) => {
                let mut c = m.chars();
                match c.next() {
                    Some(first) => write!(f, "{}{}.", first.to_uppercase(), c.as_str()),
                    None => Ok(()),
                }
            }
            FeedError::RateLimited { retry_after_secs } => write!(
                f,
                "You are posting faster than this feed allows. Try again in {retry_after_secs} s."
            ),
            FeedError::Unavailable(m) => write!(f, "The feed is unavailable right now: {m}"),
            FeedError::Request(m) => write!(
                f,
                "The request failed: {m}. Check your connection and try again."
            ),
        }
    }
}

impl std::error::Error for FeedError {}

impl super::Refusal for FeedError {
    fn status(&self) -> u16 {
        match self {
            FeedError::Invalid(_) => 400,
            FeedError::RateLimited { .. } => 429,
            FeedError::Unavailable(_) | FeedError::Request(_) => 503,
        }
    }
}

impl FromServerFnError for FeedError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        super::request_failed(&value);
        FeedError::Request(value.to_string())
    }
}

/// Posts to the feed as `author`. Returns the post's id.
#[server(prefix = "/api/fn", endpoint = "create_post")]
pub async fn create_post(author: String, text: String) -> Result<u64, FeedError> {
    super::request::answered(ssr::create_post(author, text).await)
}

/// Up to one page of posts older than `before` (a post id), newest first; empty when there are
/// no more.
#[server(prefix = "/api/fn", endpoint = "older_posts")]
pub async fn older_posts(before: u64) -> Result<Vec<Post>, FeedError> {
    super::request::answered(ssr::older_posts(before).await)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::FeedError;
    use crate::api::request::{client_ip, retry_secs, state};
    use crate::event::feed::FEED_WINDOW;
    use crate::event::{now_ms, BuiltIn, NewPost, Payload, Post};

    pub async fn create_post(author: String, text: String) -> Result<u64, FeedError> {
        let state = state();
        let mut post = NewPost {
            author,
            text,
            at: None,
        };
        post.check().map_err(FeedError::Invalid)?;
        state
            .post_limit
            .check(client_ip())
            .map_err(|w| FeedError::RateLimited {
                retry_after_secs: retry_secs(w),
            })?;
        post.stamp(now_ms());
        let data = serde_json::to_string(&post).expect("a post always serializes");
        let id = state
            .hub
            .publish(BuiltIn::Feed.topic(), data)
            .await
            .map_err(|e| FeedError::Unavailable(e.to_string()))?;
        // The page that posted reads the posts table next (older posts): wait until it has it.
        state.recorder.stored(id).await;
        Ok(id.get())
    }

    pub async fn older_posts(before: u64) -> Result<Vec<Post>, FeedError> {
        let store = state().posts.clone();
        tokio::task::spawn_blocking(move || store.page(Some(before), FEED_WINDOW))
            .await
            .map_err(|e| FeedError::Unavailable(e.to_string()))?
            .map_err(|e| {
                tracing::error!("older posts: {e}");
                FeedError::Unavailable("older posts cannot be read; try again shortly".into())
            })
    }
}
