//! The browser's one `EventSource` (hydrate only): held by the leader tab ([`super::tabs`]),
//! or by every tab in browsers without Web Locks or `BroadcastChannel`.
//!
//! - Subscribes with `since=<last applied id>`, so the page → stream handoff and every
//!   reconnect of ours resume exactly where the state is.
//! - On any error we close the `EventSource` and reconnect ourselves, from the last applied id,
//!   with exponential backoff plus jitter capped at 30 s: the browser's own loop would retry
//!   a refused connection every half second forever (and gives up for good on a non-200, e.g.
//!   a 503 during a deploy). The badge says `reconnecting`, then `offline` after
//!   [`OFFLINE_AFTER`] failures in a row; a restart does not meet a synchronized storm.
//! - Hidden tabs keep their stream (browsers do not close an `EventSource` in the
//!   background); when a tab becomes visible or the browser comes back online while the stream
//!   is down, or the page comes back from the back/forward cache, it reconnects at once
//!   instead of waiting out the backoff ([`super::wake`]).
//! - The URL carries the browser's random id (`browser=`, kept in `localStorage`), so the
//!   server counts browsers, not tabs, for "N watching"; id-less `presence` frames carry it.
//! - Events are applied through [`super::pace`]: at once when they come a frame or more
//!   apart, together once a frame (20 times a second in a flood) when they come faster.
//! - A [`Tap`] (the leader's) sees every event applied and every state replacement, to pass
//!   them on to the other tabs.
//! - On `reset` (our id is older than the server's history) the store is replaced by a fresh
//!   snapshot from the server and the stream reopens from that snapshot's id.
//!
//! Callbacks never drop the closures they run in: tear-down and reopen are deferred to a
//! microtask with `spawn_local`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, MessageEvent};

use super::pace::{Arrival, Pace, Timer};
use super::presence::{is_browser_id, PresenceCount, BROWSER_PARAM, PRESENCE_EVENT};
use super::relay::Relayed;
use super::wake::{self, Wake};
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

/// What the stream has done, for whoever passes it on (the leader tab).
pub enum Tapped<'a> {
    /// An event was applied (its id was newer than the store's).
    Event(&'a Relayed),
    /// The store was replaced by a snapshot at this id (after `reset`).
    Replaced(u64),
    /// The server's count of browsers watching.
    Presence(u64),
}

pub type Tap = Rc<dyn Fn(Tapped<'_>)>;

/// An event that arrived while the page was being updated faster than once a frame.
struct Arrived {
    id: EventId,
    topic: BuiltIn,
    data: String,
}

thread_local! {
    static PACE: RefCell<Pace> = RefCell::new(Pace::default());
    static QUEUED: RefCell<Vec<Arrived>> = const { RefCell::new(Vec::new()) };
    static CURRENT: RefCell<Option<Connection>> = const { RefCell::new(None) };
    static FAILURES: Cell<u32> = const { Cell::new(0) };
    static TAP: RefCell<Option<Tap>> = const { RefCell::new(None) };
}

fn tap(what: Tapped<'_>) {
    if let Some(tap) = TAP.with(|t| t.borrow().clone()) {
        tap(what);
    }
}

/// Applies an event now, or queues it for the next flush ([`super::pace`]). Queued events
/// survive a reconnect: the store skips any id it already has, so nothing counts twice.
fn deliver(store: LiveStore, id: EventId, topic: BuiltIn, data: String) {
    let queue = |data| QUEUED.with(|q| q.borrow_mut().push(Arrived { id, topic, data }));
    match PACE.with(|p| p.borrow_mut().arrive(js_sys::Date::now())) {
        Arrival::ApplyNow => apply(store, id, topic, data),
        Arrival::FlushNow => {
            queue(data);
            flush(store);
        }
        Arrival::Queue { timer_in } => {
            queue(data);
            if let Some(ms) = timer_in {
                start_timer(store, ms);
            }
        }
    }
}

fn start_timer(store: LiveStore, ms: f64) {
    set_timeout(
        move || match PACE.with(|p| p.borrow_mut().timer(js_sys::Date::now())) {
            Timer::Flush => flush(store),
            Timer::Again(ms) => start_timer(store, ms),
            Timer::Idle => {}
        },
        std::time::Duration::from_micros((ms.max(0.0) * 1000.0) as u64),
    );
}

/// Applies everything queued, in order, in one task (so their effects run once).
fn flush(store: LiveStore) {
    let queued = QUEUED.with(|q| std::mem::take(&mut *q.borrow_mut()));
    let applied = queued.len();
    for a in queued {
        apply(store, a.id, a.topic, a.data);
    }
    PACE.with(|p| p.borrow_mut().flushed(js_sys::Date::now(), applied));
}

fn apply(store: LiveStore, id: EventId, topic: BuiltIn, data: String) {
    let prev = store.last_id.get_untracked();
    store.apply(id, topic, &data);
    if id.get() > prev {
        tap(Tapped::Event(&Relayed {
            id: id.get(),
            prev,
            topic: topic.name().to_owned(),
            data,
        }));
    }
}

/// This tab holds its own stream (no tabs to share it with), reconnecting on every wake-up.
pub fn start(store: LiveStore) {
    open(store);
    wake::listen(move |why| on_wake(store, why));
}

/// Opens the stream for the tab that just became the browser's leader; `tap` sees what it
/// applies. The leader's wake-ups are routed here by [`super::tabs`].
pub fn start_leading(store: LiveStore, passes_on: Tap) {
    TAP.with(|t| *t.borrow_mut() = Some(passes_on));
    FAILURES.with(|f| f.set(0));
    open(store);
}

/// A tab coming back to the foreground, or the network coming back, should not wait out a
/// long backoff: reconnect at once (from the last applied id) if the stream is not live; a
/// page restored from the back/forward cache reconnects whatever the badge says.
pub fn on_wake(store: LiveStore, why: Wake) {
    if why == Wake::Restored || store.status.get_untracked() != ConnectionState::Live {
        spawn_local(async move {
            FAILURES.with(|f| f.set(0));
            open(store);
        });
    }
}

/// The browser's random id, made once and kept in `localStorage`: the server counts distinct
/// ids for "N watching". It identifies nothing but "the same browser" and is never shown.
fn browser_id() -> String {
    const KEY: &str = "pulse-browser";
    let storage = window().local_storage().ok().flatten();
    if let Some(id) = storage
        .as_ref()
        .and_then(|s| s.get_item(KEY).ok().flatten())
    {
        if is_browser_id(&id) {
            return id;
        }
    }
    let id: String = (0..4)
        .map(|_| format!("{:08x}", (js_sys::Math::random() * 4_294_967_296.0) as u32))
        .collect();
    if let Some(s) = storage {
        let _ = s.set_item(KEY, &id);
    }
    id
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
    let url = format!(
        "/api/events?topics={}&since={since}&{BROWSER_PARAM}={}",
        topics.join(","),
        browser_id()
    );
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

    let on_error: Callback = Closure::new(move |_| {
        // Whether the browser gave up (a non-200 answer) or is about to retry on its own, we
        // take over: its own loop retries every `retry:` interval for as long as connections
        // are refused, with no backoff, and never tells us it is failing.
        spawn_local(async move { retry_later(store) });
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
            let Some(data) = msg.data().as_string() else {
                store.decode_errors.update(|n| *n += 1);
                return;
            };
            deliver(store, id, topic, data);
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
                    tap(Tapped::Replaced(snapshot.id.get()));
                    open(store);
                }
                Err(_) => retry_later(store),
            }
        });
    });
    let _ = source.add_event_listener_with_callback("reset", on_reset.as_ref().unchecked_ref());
    callbacks.push(on_reset);

    let on_presence: Callback = Closure::new(move |e: web_sys::Event| {
        let watching = e
            .dyn_ref::<MessageEvent>()
            .and_then(|m| m.data().as_string())
            .and_then(|d| serde_json::from_str::<PresenceCount>(&d).ok());
        if let Some(PresenceCount { watching: n }) = watching {
            store.presence.set(Some(n));
            tap(Tapped::Presence(n));
        }
    });
    let _ = source
        .add_event_listener_with_callback(PRESENCE_EVENT, on_presence.as_ref().unchecked_ref());
    callbacks.push(on_presence);

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
