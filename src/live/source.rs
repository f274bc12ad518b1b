//! The tab's one `EventSource` (hydrate only).
//!
//! - Subscribes with `since=<last applied id>`, so the page → stream handoff and every
//!   reconnect of ours resume exactly where the state is.
//! - While the browser retries on its own it resends `Last-Event-ID`; the badge shows
//!   `reconnecting`. When the browser gives up for good (any non-200 answer, e.g. 503 during a
//!   deploy) we reconnect ourselves with exponential backoff plus jitter, capped at 30 s, so a
//!   restart does not meet a synchronized storm of clients.
//! - Hidden tabs keep their stream (browsers do not close an `EventSource` in the
//!   background); when a tab becomes visible or the browser comes back online while the stream
//!   is down, it reconnects at once instead of waiting out the backoff.
//! - On `reset` (our id is older than the server's history) the store is replaced by a fresh
//!   snapshot from the server and the stream reopens from that snapshot's id.
//!
//! Callbacks never drop the closures they run in: tear-down and reopen are deferred to a
//! microtask with `spawn_local`.

use std::cell::{Cell, RefCell};

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, MessageEvent};

use super::{fetch_snapshot, ConnectionState, LiveStore};
use crate::event::{BuiltIn, EventId};

/// Failures in a row after which the badge says `offline` (we keep retrying).
const OFFLINE_AFTER: u32 = 4;
const BACKOFF_BASE_MS: f64 = 500.0;
const BACKOFF_MAX_MS: f64 = 30_000.0;

type Callback = Closure<dyn FnMut(web_sys::Event)>;

struct Connection {
    source: EventSource,
    _callbacks: Vec<Callback>,
}

thread_local! {
    static CURRENT: RefCell<Option<Connection>> = const { RefCell::new(None) };
    static FAILURES: Cell<u32> = const { Cell::new(0) };
}

pub fn start(store: LiveStore) {
    open(store);
    // A tab coming back to the foreground, or the network coming back, should not wait out
    // a long backoff: reconnect at once (from the last applied id) if the stream is not live.
    let wake: Callback = Closure::new(move |_| {
        if store.status.get_untracked() != ConnectionState::Live && !document().hidden() {
            spawn_local(async move {
                FAILURES.with(|f| f.set(0));
                open(store);
            });
        }
    });
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", wake.as_ref().unchecked_ref());
    let _ = window().add_event_listener_with_callback("online", wake.as_ref().unchecked_ref());
    // Lives as long as the page: the listeners are never removed.
    wake.forget();
}

fn close_current() {
    if let Some(conn) = CURRENT.with(|c| c.borrow_mut().take()) {
        conn.source.close();
    }
}

fn online() -> bool {
    window().navigator().on_line()
}

fn open(store: LiveStore) {
    close_current();
    let since = store.last_id.get_untracked();
    let topics: Vec<&str> = BuiltIn::ALL.iter().map(|b| b.name()).collect();
    let url = format!("/api/events?topics={}&since={since}", topics.join(","));
    let Ok(source) = EventSource::new(&url) else {
        spawn_local(async move { retry_later(store) });
        return;
    };
    let mut callbacks: Vec<Callback> = Vec::new();

    let on_open: Callback = Closure::new(move |_| {
        FAILURES.with(|f| f.set(0));
        store.status.set(ConnectionState::Live);
    });
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    callbacks.push(on_open);

    let watched = source.clone();
    let on_error: Callback = Closure::new(move |_| {
        if watched.ready_state() == EventSource::CLOSED {
            // The browser gave up (non-200 or bad content type): we take over.
            spawn_local(async move { retry_later(store) });
        } else {
            store.status.set(if online() {
                ConnectionState::Reconnecting
            } else {
                ConnectionState::Offline
            });
        }
    });
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    callbacks.push(on_error);

    for topic in BuiltIn::ALL {
        let on_event: Callback = Closure::new(move |e: web_sys::Event| {
            let Some(msg) = e.dyn_ref::<MessageEvent>() else {
                return;
            };
            let Ok(id) = msg.last_event_id().parse::<EventId>() else {
                store.decode_errors.update(|n| *n += 1);
                return;
            };
            match msg.data().as_string() {
                Some(data) => store.apply(id, topic, &data),
                None => store.decode_errors.update(|n| *n += 1),
            }
        });
        let _ = source
            .add_event_listener_with_callback(topic.name(), on_event.as_ref().unchecked_ref());
        callbacks.push(on_event);
    }

    let resetting = source.clone();
    let on_reset: Callback = Closure::new(move |_| {
        resetting.close();
        store.status.set(ConnectionState::Reconnecting);
        spawn_local(async move {
            match fetch_snapshot().await {
                Ok(snapshot) => {
                    store.replace(&snapshot);
                    open(store);
                }
                Err(_) => retry_later(store),
            }
        });
    });
    let _ = source.add_event_listener_with_callback("reset", on_reset.as_ref().unchecked_ref());
    callbacks.push(on_reset);

    CURRENT.with(|c| {
        *c.borrow_mut() = Some(Connection {
            source,
            _callbacks: callbacks,
        })
    });
}

/// Closes the dead connection and schedules the next attempt: 0.5 s, 1 s, 2 s … 30 s, each
/// scaled by a random factor in [0.5, 1) so clients cut off together come back spread out.
fn retry_later(store: LiveStore) {
    close_current();
    let failures = FAILURES.with(|f| {
        f.set(f.get() + 1);
        f.get()
    });
    store.status.set(if failures >= OFFLINE_AFTER || !online() {
        ConnectionState::Offline
    } else {
        ConnectionState::Reconnecting
    });
    let exp = BACKOFF_BASE_MS * 2f64.powi(failures.saturating_sub(1).min(16) as i32);
    let delay = exp.min(BACKOFF_MAX_MS) * (0.5 + js_sys::Math::random() * 0.5);
    let reopen = Closure::once_into_js(move || open(store));
    let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(
        reopen.unchecked_ref(),
        delay as i32,
    );
}
