//! The activity feed. A [`NewPost`] is what a publisher sends (`{"author", "text"}`); the event's
//! id becomes the [`Post`]'s id, so posts are ordered and deduplicated by the hub's sequence.
//! [`FeedState`] keeps the newest [`FEED_WINDOW`] posts; older ones are read from the posts table
//! on demand.
//!
//! Author and text are plain text everywhere: they are rendered as text nodes (never
//! `inner_html`), and the SSE encoder carries them inside JSON, so markup or line breaks in a
//! post can neither run nor start a new event.

use serde::{Deserialize, Serialize};

use super::payload::{check_text, Payload};
use super::topic::BuiltIn;
use super::view::{Changed, ViewState};
use super::EventId;

/// Posts a page shows on load (and the snapshot keeps).
pub const FEED_WINDOW: usize = 50;
pub const MAX_AUTHOR_CHARS: usize = 40;
pub const MAX_TEXT_CHARS: usize = 500;

/// A post as published to `feed`. `at` (ms since the Unix epoch) is filled in by the server
/// when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    pub author: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

impl Payload for NewPost {
    const TOPIC: BuiltIn = BuiltIn::Feed;

    fn check(&self) -> Result<(), String> {
        check_text("author", &self.author, 1, MAX_AUTHOR_CHARS)?;
        check_text("text", &self.text, 1, MAX_TEXT_CHARS)
    }

    fn stamp(&mut self, now_ms: i64) {
        self.author = self.author.trim().to_owned();
        self.text = self.text.trim().to_owned();
        self.at.get_or_insert(now_ms);
    }
}

/// A post as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The id of the event that carried it.
    pub id: u64,
    pub author: String,
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl Post {
    pub fn new(id: u64, p: &NewPost) -> Post {
        Post {
            id,
            author: p.author.clone(),
            text: p.text.clone(),
            at: p.at.unwrap_or(0),
        }
    }
}

/// The newest posts, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedState {
    pub posts: Vec<Post>,
}

impl ViewState for FeedState {
    type Event = NewPost;
    const TOPIC: BuiltIn = BuiltIn::Feed;

    /// Adds the post of event `id` in id order (a replayed or repeated id is ignored) and
    /// drops what falls out of the window.
    fn apply(&mut self, id: EventId, p: &NewPost) -> Changed {
        insert(&mut self.posts, Post::new(id.get(), p));
        self.posts.truncate(FEED_WINDOW);
        Changed::all()
    }
}

impl FeedState {
    /// Fills the window with `older` posts (newest first, from the posts table) — after a
    /// restart the event history may no longer hold every recent post.
    pub fn backfill(&mut self, older: &[Post]) {
        for p in older {
            if self.posts.len() >= FEED_WINDOW
                && self.posts.last().is_some_and(|last| p.id < last.id)
            {
                break;
            }
            insert(&mut self.posts, p.clone());
        }
        self.posts.truncate(FEED_WINDOW);
    }
}

/// Inserts keeping newest-first order by id; no duplicates.
pub fn insert(posts: &mut Vec<Post>, post: Post) {
    match posts.binary_search_by(|p| post.id.cmp(&p.id)) {
        Ok(_) => {}
        Err(at) => posts.insert(at, post),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(author: &str, text: &str) -> NewPost {
        NewPost {
            author: author.into(),
            text: text.into(),
            at: Some(1),
        }
    }

    #[test]
    fn newest_first_bounded_and_deduplicated() {
        let mut f = FeedState::default();
        for id in 1..=(FEED_WINDOW as u64 + 5) {
            f.apply(EventId::new(id), &new("a", &format!("post {id}")));
        }
        f.apply(EventId::new(7), &new("a", "replayed"));
        assert_eq!(f.posts.len(), FEED_WINDOW);
        assert_eq!(f.posts[0].id, FEED_WINDOW as u64 + 5);
        assert_eq!(f.posts.last().unwrap().id, 6);
        assert!(f.posts.windows(2).all(|w| w[0].id > w[1].id));
    }

    #[test]
    fn backfill_fills_only_below_the_window() {
        let mut f = FeedState::default();
        f.apply(EventId::new(10), &new("a", "ten"));
        let older: Vec<Post> = (1..=9)
            .rev()
            .map(|id| Post::new(id, &new("b", "x")))
            .collect();
        f.backfill(&older);
        assert_eq!(
            f.posts.iter().map(|p| p.id).collect::<Vec<_>>(),
            (1..=10).rev().collect::<Vec<_>>()
        );
        f.backfill(&older);
        assert_eq!(f.posts.len(), 10);
    }

    #[test]
    fn markup_is_kept_verbatim_and_limits_have_clear_messages() {
        let json = r#"{"author":"<img src=x onerror=alert(1)>","text":"</script>\r\n\r\nevent: stocks\ndata: x"}"#;
        let p = NewPost::parse(json).unwrap();
        assert_eq!(p.author, "<img src=x onerror=alert(1)>");
        assert!(p.text.contains("\r\n\r\nevent: stocks"));
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let err = new("a", &long).check().unwrap_err();
        assert_eq!(
            err,
            format!(
                "text is {} characters long; the limit is {MAX_TEXT_CHARS}",
                MAX_TEXT_CHARS + 1
            )
        );
        assert_eq!(
            new(" ", "x").check().unwrap_err(),
            format!("author is empty; write 1 to {MAX_AUTHOR_CHARS} characters")
        );
        // Characters, not bytes: 500 accented letters fit.
        assert!(new("é", &"é".repeat(MAX_TEXT_CHARS)).check().is_ok());
    }

    #[test]
    fn stamp_trims_and_keeps_a_given_time() {
        let mut p = NewPost {
            author: " ann ".into(),
            text: " hi ".into(),
            at: None,
        };
        p.stamp(42);
        assert_eq!(
            (p.author.as_str(), p.text.as_str(), p.at),
            ("ann", "hi", Some(42))
        );
        p.stamp(99);
        assert_eq!(p.at, Some(42));
    }
}
