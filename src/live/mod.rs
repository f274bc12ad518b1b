//! The browser's live state: one [`LiveStore`] of signals per tab, filled from the embedded
//! snapshot and kept current by the tab's single `EventSource` ([`source`], hydrate only).
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
//! - [`status`]: the connection badge's states.

pub mod feed;
pub mod keyed;
pub mod notifications;
pub mod snapshot;
#[cfg(feature = "hydrate")]
mod source;
pub mod status;
pub mod store;

pub use feed::FeedStore;
pub use keyed::KeyedStore;
pub use notifications::{NotificationsStore, MAX_TOASTS};
#[cfg(feature = "hydrate")]
pub use snapshot::read_embedded_snapshot;
pub use snapshot::{fetch_snapshot, SNAPSHOT_ELEMENT_ID};
pub use status::ConnectionState;
pub use store::LiveStore;

/// Opens the tab's stream (browser only; on the server this does nothing). Call once, after
/// hydration, with the store built from the embedded snapshot.
pub fn start(store: LiveStore) {
    #[cfg(feature = "hydrate")]
    source::start(store);
    #[cfg(not(feature = "hydrate"))]
    let _ = store;
}
