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

impl FromServerFnError for FeedError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        FeedError::Request(value.to_string())
    }
}

/// Posts to the feed as `author`. Returns the post's id.
#[server(prefix = "/api/fn", endpoint = "create_post")]
pub async fn create_post(author: String, text: String) -> Result<u64, FeedError> {
    crate::server::actions::create_post(author, text).await
}

/// Up to one page of posts older than `before` (a post id), newest first; empty when there are
/// no more.
#[server(prefix = "/api/fn", endpoint = "older_posts")]
pub async fn older_posts(before: u64) -> Result<Vec<Post>, FeedError> {
    crate::server::actions::older_posts(before).await
}
