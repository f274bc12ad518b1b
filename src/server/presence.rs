//! "N watching": how many browsers have a stream open (see [`crate::live::presence`] for the
//! wire side).
//!
//! A stream that names its browser (`browser=<id>`) joins here for as long as it is open;
//! the count is of distinct ids, so the tabs of one browser — one shared stream, or one each
//! where they cannot share — count once. The shown count is a `watch` value: every stream that
//! asked for presence writes an id-less `presence` frame when it changes (several changes in
//! quick succession are written once, with the newest count). Only the count leaves here.
//!
//! With the Redis backend the shown count is the sum over instances ([`super::presence_redis`]
//! publishes this instance's ids and sets [`Presence::show`]); alone, it is this map's size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};

#[derive(Clone)]
pub struct Presence {
    inner: Arc<Inner>,
}

struct Inner {
    /// Browser id → streams open on this instance; entries leave at zero, so the map is
    /// bounded by the open streams (themselves limited).
    browsers: Mutex<HashMap<String, u32>>,
    shown: watch::Sender<u64>,
    /// Set once another instance-wide count (Redis) owns `shown`.
    shared: AtomicBool,
    /// Wakes the sharer when this instance's set changes.
    changed: Notify,
}

impl Default for Presence {
    fn default() -> Presence {
        Presence {
            inner: Arc::new(Inner {
                browsers: Mutex::default(),
                shown: watch::Sender::new(0),
                shared: AtomicBool::new(false),
                changed: Notify::new(),
            }),
        }
    }
}

impl Presence {
    /// Counts `browser` while the returned guard lives.
    pub fn join(&self, browser: String) -> PresenceGuard {
        let mut map = self.lock();
        *map.entry(browser.clone()).or_insert(0) += 1;
        let n = map.len();
        drop(map);
        self.local_changed(n);
        PresenceGuard {
            presence: self.clone(),
            browser,
        }
    }

    /// The count as it changes (starts at the current one).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.shown.subscribe()
    }

    /// The count shown now.
    pub fn shown(&self) -> u64 {
        *self.inner.shown.borrow()
    }

    /// Distinct browsers with a stream on this instance.
    pub fn local(&self) -> u64 {
        self.lock().len() as u64
    }

    /// This instance's browser ids (for the Redis sharer; never sent to a client).
    pub fn browsers(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// From now on the shown count comes from [`Presence::show`] (the sum over instances).
    pub fn share(&self) {
        self.inner.shared.store(true, Ordering::Relaxed);
    }

    /// Sets the shown count (the sharer's sum).
    pub fn show(&self, n: u64) {
        self.inner
            .shown
            .send_if_modified(|v| std::mem::replace(v, n) != n);
    }

    /// Resolves when this instance's set has changed since the last call.
    pub async fn changed(&self) {
        self.inner.changed.notified().await
    }

    fn local_changed(&self, n: usize) {
        if !self.inner.shared.load(Ordering::Relaxed) {
            self.show(n as u64);
        }
        self.inner.changed.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.inner
            .browsers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// One stream's place in the count; dropping it (the stream ended) takes it out.
pub struct PresenceGuard {
    presence: Presence,
    browser: String,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let mut map = self.presence.lock();
        if let Some(n) = map.get_mut(&self.browser) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.browser);
            }
        }
        let n = map.len();
        drop(map);
        self.presence.local_changed(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_of_one_browser_count_once() {
        let p = Presence::default();
        let mut rx = p.subscribe();
        let a1 = p.join("a".into());
        let a2 = p.join("a".into());
        assert_eq!(p.shown(), 1);
        let b = p.join("b".into());
        assert_eq!(p.shown(), 2);
        drop(a1);
        assert_eq!(p.shown(), 2, "a still has a stream");
        drop(a2);
        assert_eq!(p.shown(), 1);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 1);
        drop(b);
        assert_eq!((p.shown(), p.local()), (0, 0));
    }

    #[test]
    fn a_shared_count_is_set_by_the_sharer_only() {
        let p = Presence::default();
        p.share();
        let _a = p.join("a".into());
        assert_eq!((p.shown(), p.local()), (0, 1));
        p.show(5);
        assert_eq!(p.shown(), 5);
        assert_eq!(p.browsers(), ["a"]);
    }
}
