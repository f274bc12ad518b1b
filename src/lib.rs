//! # Pulse — live dashboards in one Rust binary
//!
//! Pages are rendered on the server from a snapshot of the hub's state, then hydrated in the
//! browser, where one Server-Sent Events stream per browser (held by one tab, shared with the
//! others) keeps every view current.
//!
//! ## Layout
//! Shared by server and browser (no tokio, no database):
//! - [`event`]: the event model. [`event::BuiltIn`] lists the topics Pulse's views show;
//!   each view has a payload and a state with one pure [`event::ViewState::apply`] that the
//!   server (snapshots) and the browser (live store) both call; [`event::EventId`]s.
//! - [`sse`]: the SSE wire format — the frame encoder and a spec parser ([`sse::frame`], [`sse::parse`]).
//! - [`live`]: the browser's one `EventSource`, held by a leader tab and relayed to the other
//!   tabs, and the signals the views read ([`live::LiveStore`]; [`live::KeyedStore`] for views
//!   made of keyed rows); "N watching" ([`live::presence`]).
//! - [`views`]: one file per page (home, stocks, scores, feed, monitor), plus small components
//!   (sparkline, line chart, connection badge, toasts).
//! - [`app`]: the HTML shell, the router, navigation and the notification toasts.
//! - [`api`]: server functions the UI calls, each file with its bodies (server-only `ssr`
//!   modules) and one error enum that owns its HTTP status.
//!
//! Server only (`ssr` feature):
//! - [`cli`]: the command line — `pulse` serves; `pulse tail` (a resuming SSE client for the
//!   shell) and `pulse publish` (events from arguments or NDJSON on stdin) are its clients.
//! - [`config`]: the serve flags, each with an environment fallback.
//! - [`hub`]: publish / subscribe / replay over a [`hub::Broker`] (local SQLite, memory, Redis
//!   Streams in [`hub::backend`]), the history window and the per-subscriber queue policy.
//! - [`storage`]: the local backend's SQLite event log, and tables derived from committed
//!   events (the feed's posts, the jobs).
//! - [`server`]: the serve loop (connection cap, timeouts, TLS with HTTP/2: `server::listen`),
//!   the axum router and its per-request checks, browser security (security headers with a
//!   per-request CSP nonce: `server::headers`; the cross-site check of the server functions:
//!   `server::csrf`; CORS for the read APIs: `server::cors`), the `/api/events` SSE handler,
//!   publish/snapshot/health/metrics, the jobs API, operator sessions, client addresses, stream
//!   and rate limits, private topics' signed subscription URLs (`server::signed`), and the
//!   recorders of derived tables.
//! - [`sources`]: built-in publishers (stocks and game simulators, the host sampler) and the
//!   runner of Pulse's own jobs (export, compact).
//! - [`error`]: API error enum and its HTTP mapping.
//!
//! ## Adding a view
//! 1. `src/event/<view>.rs`: the payload (`impl Payload`: schema checks with messages that say
//!    what to fix) and the state (`impl ViewState`, and `KeyedState` if it is a set of rows),
//!    with unit tests of `apply`.
//! 2. Add a variant to [`event::BuiltIn`] (name and `ALL`), then follow the compiler: every
//!    `match` on it is exhaustive — [`event::ViewEvent`], [`event::Snapshot`] (a field,
//!    `advance`, `view_json`), `validate_payload_at`, and [`live::LiveStore`] (a field —
//!    a `KeyedStore<YourState>` for rows — plus `apply` and `replace`).
//! 3. `src/views/<view>.rs`: the page, reading its store from `LiveStore`; a `<Route>` and a
//!    nav link in [`app`]; a card on the home page if it has something to glance at.
//! 4. If it has actions: `src/api/<view>.rs` with `#[server]` functions, their bodies in an
//!    `ssr` module beside them, and an error enum implementing [`api::Refusal`].
//! 5. A publisher, if Pulse makes the events itself: `src/sources/<view>.rs`.
//! 6. Tests: the state's `apply` (unit), the page without JS and live (Playwright, with
//!    `data-testid` locators), the topic's schema errors (`tests/publish.rs`).

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
    let snapshot = live::PageSnapshot::new(std::sync::Arc::new(
        live::read_embedded_snapshot().unwrap_or_default(),
    ));
    leptos::mount::hydrate_body(move || {
        leptos::prelude::provide_context(snapshot.clone());
        leptos::prelude::view! { <app::App/> }
    });
}
