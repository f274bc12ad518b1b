//! The snapshot pages and snapshot reads are served from: the hub's, with the feed's and the
//! jobs' windows filled from their tables when a restart left fewer in the event history.
//!
//! Made once per change of the hub's snapshot and then shared, so a page rendered between two
//! events costs an `Arc` clone instead of a deep copy, a backfill and a JSON encoding of every
//! view (a fifth of a `/stocks` render when it was done per request).

use std::sync::{Arc, Mutex};

use crate::event::{Job, Post, Snapshot};
use crate::hub::Hub;
use crate::live::PageSnapshot;

pub struct PageSnapshots {
    /// Posts and jobs stored before this start (fixed after it).
    feed_seed: Vec<Post>,
    jobs_seed: Vec<Job>,
    /// The hub's snapshot the cached page was made from, and the page.
    cached: Mutex<Option<(Arc<Snapshot>, PageSnapshot)>>,
}

impl PageSnapshots {
    pub fn new(feed_seed: Vec<Post>, jobs_seed: Vec<Job>) -> PageSnapshots {
        PageSnapshots {
            feed_seed,
            jobs_seed,
            cached: Mutex::new(None),
        }
    }

    /// Jobs stored before this start (queued ones may still need running).
    pub fn jobs_seed(&self) -> &[Job] {
        &self.jobs_seed
    }

    /// The page snapshot as of the hub's current state.
    pub fn get(&self, hub: &Hub) -> PageSnapshot {
        let from = hub.snapshot();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((made_from, page)) = cached.as_ref() {
            // The hub hands out the same `Arc` until its snapshot changes.
            if Arc::ptr_eq(made_from, &from) {
                return page.clone();
            }
        }
        let snap = if self.feed_seed.is_empty() && self.jobs_seed.is_empty() {
            from.clone() // nothing to fill in: the hub's copy is the page's
        } else {
            let mut snap = Snapshot::clone(&from);
            snap.feed.backfill(&self.feed_seed);
            snap.jobs.backfill(&self.jobs_seed);
            Arc::new(snap)
        };
        let page = PageSnapshot::new(snap);
        *cached = Some((from, page.clone()));
        page
    }
}
