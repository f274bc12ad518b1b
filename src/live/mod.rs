//! The browser's live state: one [`LiveStore`] of signals per tab, filled from the embedded
//! snapshot and kept current by the browser's single `EventSource` ([`source`], held by one
//! tab and shared with the others by [`tabs`]; hydrate only).
//!
//! Views read signals from here and never open connections of their own (browsers allow six
//! HTTP/1.1 connections per host). On the server the same store is built from the snapshot
//! and simply never changes, so server HTML and hydrated DOM match.
//!
//! - [`store`]: [`LiveStore`], one field per view, and the one `apply` that dispatches events.
//! - [`keyed`]: [`KeyedStore`], the generic one-signal-per-row store (stocks, scores).
//! - [`feed`], [`notifications`]: the two views with extra client-side state (held posts,
//!   toasts).
//! - [`snapshot`]: the embedded snapshot and the server function that fetches a fresh one.
//! - [`status`]: the connection badge's states and since when the page is stale.
//! - [`pace`]: when the stream's events are applied (at once, or together once a frame when
//!   they come faster than that).
//! - [`pause`]: per-view pause, holding a paused view's events until it resumes.
//! - [`presence`]: "N watching" — the browser id and the count's wire format.
//! - One stream per browser (hydrate only): [`tabs`] elects the leader tab that holds the
//!   stream ([`source`]) and relays it to the other tabs ([`relay`] messages, the leader's
//!   [`ring`] of recent events); [`wake`] reconnects at once when a tab comes back.

pub mod feed;
pub mod keyed;
pub mod notifications;
pub mod pace;
pub mod pause;
pub mod presence;
pub mod relay;
pub mod ring;
pub mod snapshot;
#[cfg(feature = "hydrate")]
mod source;
pub mod status;
pub mod store;
#[cfg(feature = "hydrate")]
mod tabs;
#[cfg(feature = "hydrate")]
mod wake;

pub use feed::FeedStore;
pub use keyed::KeyedStore;
pub use notifications::{NotificationsStore, MAX_TOASTS};
#[cfg(feature = "hydrate")]
pub use snapshot::read_embedded_snapshot;
pub use snapshot::{
    fetch_snapshot, take_page_history, PageSnapshot, HISTORY_ELEMENT_ID, SNAPSHOT_ELEMENT_ID,
};
pub use status::ConnectionState;
pub use store::LiveStore;

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// Joins the browser's shared stream, or opens one for this tab where tabs cannot share
/// (browser only; on the server this does nothing). Call once, after hydration, with the store
/// built from the embedded snapshot.
pub fn start(store: LiveStore) {
    #[cfg(feature = "hydrate")]
    store.status.set(ConnectionState::Connecting);
    #[cfg(feature = "hydrate")]
    if !tabs::start(store) {
        tabs::mark("own");
        source::start(store);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = store;
}

/// Keeps [`LiveStore::stale_since`] in step with the badge (browser only; call once at the app
/// root, in a reactive owner).
pub fn track_staleness(store: LiveStore) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let state = store.status.get();
        let before = store.stale_since.get_untracked();
        let next = state.stale_since(before, js_sys::Date::now());
        if next != before {
            store.stale_since.set(next);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = store;
}

/// Reconnects at once instead of waiting out the backoff (the "Retry now" button): the same
/// path as the network coming back, so the tab holding the stream reconnects and the other
/// tabs ask it to.
pub fn retry_now() {
    #[cfg(feature = "hydrate")]
    if let Ok(online) = web_sys::Event::new("online") {
        let _ = window().dispatch_event(&online);
    }
}
