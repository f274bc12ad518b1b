//! The feed as the reader sees it. Posts never change once made, so the list is one signal and
//! the view keys items by id: a new post inserts one element, the others stay.

use leptos::prelude::*;

use crate::event::feed::{self, FEED_WINDOW};
use crate::event::{EventId, FeedState, NewPost, Post};

/// While the reader is scrolled down (`holding`), live posts wait in `pending` and the page shows
/// "N new posts" instead of pushing what they are reading down the page.
#[derive(Clone, Copy)]
pub struct FeedStore {
    /// Shown posts, newest first: the snapshot's window, live posts, and older pages loaded.
    pub posts: RwSignal<Vec<Post>>,
    /// Live posts not shown yet because the reader is scrolled down.
    pub pending: RwSignal<Vec<Post>>,
    /// Set by the feed page from the scroll position.
    pub holding: RwSignal<bool>,
    /// No older posts exist beyond the last one shown.
    pub exhausted: RwSignal<bool>,
}

impl FeedStore {
    pub fn new(state: &FeedState) -> FeedStore {
        FeedStore {
            posts: RwSignal::new(state.posts.clone()),
            pending: RwSignal::new(Vec::new()),
            holding: RwSignal::new(false),
            // A window that is not full means the posts table holds nothing older.
            exhausted: RwSignal::new(state.posts.len() < FEED_WINDOW),
        }
    }

    pub fn apply(&self, id: EventId, p: &NewPost) {
        let post = Post::new(id.get(), p);
        if self.holding.get_untracked() {
            self.pending.update(|q| feed::insert(q, post));
        } else {
            self.posts.update(|list| feed::insert(list, post));
        }
    }

    /// Shows the posts that arrived while the reader was scrolled down.
    pub fn reveal(&self) {
        let pending = self.pending.try_update(std::mem::take).unwrap_or_default();
        if !pending.is_empty() {
            self.posts.update(|list| {
                for p in pending {
                    feed::insert(list, p);
                }
            });
        }
    }

    /// Appends a page of older posts (from the posts table).
    pub fn extend_older(&self, older: Vec<Post>) {
        self.posts.update(|list| {
            for p in older {
                feed::insert(list, p);
            }
        });
    }

    pub fn replace(&self, state: &FeedState) {
        self.posts.update(|list| {
            for p in &state.posts {
                feed::insert(list, p.clone());
            }
        });
    }
}
