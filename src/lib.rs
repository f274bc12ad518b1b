//! # Pulse — live dashboards in one Rust binary
//!
//! Pages are rendered on the server from a snapshot of the hub's state, then hydrated in the
//! browser, where one Server-Sent Events stream per tab keeps every view current.
//!
//! ## Layout
//! Shared by server and browser (no tokio, no database):
//! - [`event`]: topic names, event ids, and one payload + state + pure `apply()` per view.
//! - [`sse`]: the SSE wire format — the frame encoder and a spec parser ([`sse::frame`], [`sse::parse`]).
//! - [`live`]: the browser's one `EventSource` per tab and the signals the views read.
//! - [`views`]: one file per page (home, stocks, scores, feed, monitor), plus small components
//!   (sparkline, line chart, connection badge, toasts).
//! - [`app`]: the HTML shell, the router, navigation and the notification toasts.
//! - [`api`]: server functions the UI calls (scorekeeper sign-in and score changes, posting,
//!   older posts), with typed errors; bodies in `server::actions`.
//!
//! Server only (`ssr` feature):
//! - [`cli`]: the command line — `pulse` serves; `pulse tail` (a resuming SSE client for the
//!   shell) and `pulse publish` (events from arguments or NDJSON on stdin) are its clients.
//! - [`config`]: the serve flags, each with an environment fallback.
//! - [`hub`]: publish / subscribe / replay, the history window and the per-subscriber queue policy.
//! - [`storage`]: the durable event log (SQLite) behind the [`hub::EventLog`] interface, and the
//!   feed's posts table.
//! - [`server`]: the axum router, the `/api/events` SSE handler, publish/snapshot/health/metrics,
//!   server-function bodies, scorekeeper sessions, rate limits and the feed recorder.
//! - [`sources`]: built-in publishers (stocks and game simulators, the host sampler).
//! - [`error`]: API error enum and its HTTP mapping.

pub mod api;
pub mod app;
pub mod event;
pub mod live;
pub mod sse;
pub mod views;

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod sources;
#[cfg(feature = "ssr")]
pub mod storage;

/// Browser entry point, called by the hydration script that the server puts in `<head>`.
///
/// The server embeds the snapshot it rendered from in `<script id="pulse-snapshot">`; reading it
/// back here (instead of fetching) means the hydrated state is byte-for-byte what the HTML shows,
/// and the stream can resume from exactly the snapshot's id.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let snapshot = live::read_embedded_snapshot().unwrap_or_default();
    leptos::mount::hydrate_body(move || {
        leptos::prelude::provide_context(snapshot.clone());
        leptos::prelude::view! { <app::App/> }
    });
}
