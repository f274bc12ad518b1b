//! One stream per browser, shared by every tab (hydrate only).
//!
//! Browsers allow six HTTP/1.1 connections per host; with one `EventSource` per tab the
//! seventh tab never loads. So the tabs of one browser elect a leader with a Web Lock
//! (`navigator.locks.request`: held while our callback's promise is pending, released by the
//! browser when the tab closes or crashes). The leader holds the one stream ([`super::source`])
//! and passes every event, badge state and presence count to the other tabs over a
//! `BroadcastChannel` ([`super::relay`] is what they say).
//!
//! - Followers apply events exactly as the stream would: idempotently by id. An event whose
//!   `prev` is newer than the follower's newest id means it missed some (a throttled tab): it
//!   asks the leader (`Hello { since }`) and gets them from the leader's [`Ring`], or takes a
//!   fresh snapshot if it is further behind than the ring reaches — like a reconnect.
//! - A tab opened later starts from its page's snapshot and asks the same way.
//! - Followers say `Hello` every [`HEARTBEAT_MS`] as well, and the leader posts events only
//!   while it has heard one within [`LISTENERS_TTL_MS`]: encoding and posting every event cost
//!   a lone tab 12–14 % of its main thread at 1,000 events/s, for nobody. Exactness does not
//!   depend on it — a follower the leader stopped posting to (a background tab whose timers
//!   the browser throttles to once a minute) asks with its next `Hello`, like any tab behind.
//! - Hand-off: when the leader goes, the browser grants the lock to a waiting tab at once; it
//!   opens the stream from its own newest id (a follower that kept up has the newest any tab
//!   has; one that is ahead skips the repeats by id) and says so (`Leader`), so every follower
//!   asks it for anything it missed in between.
//! - Without Web Locks (old browsers, or plain HTTP on a non-local host: locks need a secure
//!   context) or `BroadcastChannel`, [`start`] returns `false` and the tab holds its own stream.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

use super::relay::{Relayed, TabMessage};
use super::ring::{Ring, RING_CAPACITY};
use super::source::{self, Tapped};
use super::wake;
use super::{fetch_snapshot, LiveStore};
use crate::event::{BuiltIn, EventId};

const CHANNEL: &str = "pulse-live";
const LOCK: &str = "pulse-live-leader";
/// A question unanswered this long (the leader went away meanwhile) may be asked again.
const ASK_AGAIN_MS: f64 = 2_000.0;
/// Snapshots in a row a follower takes while still too far behind the leader's ring; then it
/// waits for the next event or wake-up to try again.
const MAX_SNAPSHOTS: u32 = 3;
/// How often a follower says it is there (a `Hello` from its newest id).
const HEARTBEAT_MS: u32 = 1_000;
/// How long after the last `Hello` the leader keeps posting events: three heartbeats missed.
const LISTENERS_TTL_MS: f64 = 3.5 * HEARTBEAT_MS as f64;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`. Bound here because web-sys still has it behind
    /// `web_sys_unstable_apis`, and we need one method.
    type LockManager;

    #[wasm_bindgen(method)]
    fn request(this: &LockManager, name: &str, callback: &js_sys::Function) -> js_sys::Promise;
}

/// Says on `<html data-stream=…>` how this tab gets its events: `leader` (holds the
/// browser's stream), `follower` (from the leader) or `own` (a stream of its own). For
/// debugging and tests; nothing reads it.
pub fn mark(role: &str) {
    if let Some(html) = document().document_element() {
        let _ = html.set_attribute("data-stream", role);
    }
}

fn lock_manager() -> Option<LockManager> {
    let locks = js_sys::Reflect::get(&window().navigator(), &JsValue::from_str("locks")).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then(|| locks.unchecked_into())
}

struct Tab {
    store: LiveStore,
    channel: BroadcastChannel,
    /// Names this tab in `Hello`/`CatchUp` (random; only tabs of this browser see it).
    id: String,
    leader: Cell<bool>,
    /// The leader's recent events, for followers that ask.
    ring: RefCell<Ring>,
    /// When our last `Hello` (or snapshot fetch) started, while it is unanswered.
    asked_at: Cell<Option<f64>>,
    snapshots: Cell<u32>,
    /// Leader: until when (`Date.now()`) some follower is known to listen.
    listened_until: Cell<f64>,
}

/// Shares the browser's stream with the other tabs; `false` when this browser cannot (the
/// caller then opens a stream for this tab alone).
pub fn start(store: LiveStore) -> bool {
    let Some(locks) = lock_manager() else {
        return false;
    };
    let Ok(channel) = BroadcastChannel::new(CHANNEL) else {
        return false;
    };
    let tab = Rc::new(Tab {
        store,
        channel,
        id: format!("{:x}", (js_sys::Math::random() * 1e15) as u64),
        leader: Cell::new(false),
        ring: RefCell::new(Ring::new(0, RING_CAPACITY)),
        asked_at: Cell::new(None),
        snapshots: Cell::new(0),
        listened_until: Cell::new(0.0),
    });

    let receiver = tab.clone();
    let on_message: Closure<dyn FnMut(MessageEvent)> = Closure::new(move |e: MessageEvent| {
        if let Some(msg) = e.data().as_string().and_then(|s| TabMessage::decode(&s)) {
            receiver.receive(msg);
        }
    });
    tab.channel
        .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Lives as long as the page, like the channel.
    on_message.forget();

    // The leader's badge is every tab's badge.
    let relay = tab.clone();
    Effect::new(move |_| {
        let state = store.status.get();
        if relay.leader.get() {
            relay.post(&TabMessage::Status { state });
        }
    });

    let waker = tab.clone();
    wake::listen(move |why| {
        if waker.leader.get() {
            source::on_wake(store, why);
        } else {
            waker.ask();
        }
    });

    // Followers say they are there (and catch up on anything the leader did not post).
    let beating = tab.clone();
    let _ = set_interval_with_handle(
        move || {
            if !beating.leader.get() {
                beating.ask();
            }
        },
        std::time::Duration::from_millis(HEARTBEAT_MS.into()),
    );

    // Where is the stream? (Unanswered until there is a leader; the leader's `Leader` asks again.)
    mark("follower");
    tab.ask();
    let candidate = tab.clone();
    let granted = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
        candidate.lead();
        // Pending for ever: the lock is ours until the browser drops the tab.
        js_sys::Promise::new(&mut |_, _| {})
    });
    let _ = locks.request(LOCK, granted.unchecked_ref());
    true
}

impl Tab {
    fn post(&self, msg: &TabMessage) {
        let _ = self.channel.post_message(&JsValue::from_str(&msg.encode()));
    }

    fn newest(&self) -> u64 {
        self.store.last_id.get_untracked()
    }

    /// This tab holds the lock now: open the stream from our newest id and tell the others.
    fn lead(self: &Rc<Self>) {
        self.leader.set(true);
        mark("leader");
        self.asked_at.set(None);
        self.ring.borrow_mut().reset(self.newest());
        let me = self.clone();
        source::start_leading(self.store, Rc::new(move |what: Tapped<'_>| me.tapped(what)));
        self.post(&TabMessage::Leader);
    }

    /// What the leader's stream did, passed on.
    fn tapped(&self, what: Tapped<'_>) {
        match what {
            Tapped::Event(e) => {
                self.ring.borrow_mut().push(e.clone());
                if js_sys::Date::now() < self.listened_until.get() {
                    self.post(&TabMessage::Event(e.clone()));
                }
            }
            Tapped::Replaced(id) => {
                self.ring.borrow_mut().reset(id);
                self.post(&TabMessage::Replaced { id });
            }
            Tapped::Presence(watching) => self.post(&TabMessage::Presence { watching }),
        }
    }

    fn receive(self: &Rc<Self>, msg: TabMessage) {
        if self.leader.get() {
            if let TabMessage::Hello { tab, since } = msg {
                self.listened_until
                    .set(js_sys::Date::now() + LISTENERS_TTL_MS);
                self.post(&TabMessage::CatchUp {
                    tab,
                    events: self.ring.borrow().after(since),
                    state: self.store.status.get_untracked(),
                    watching: self.store.presence.get_untracked(),
                });
            }
            return;
        }
        match msg {
            TabMessage::Event(e) => {
                if self.waiting() {
                    // The answer to our question holds this event, or it comes after it.
                } else if e.prev > self.newest() {
                    self.ask();
                } else {
                    self.apply(&e);
                }
            }
            TabMessage::Status { state } => self.store.status.set(state),
            TabMessage::Presence { watching } => self.store.presence.set(Some(watching)),
            TabMessage::Replaced { .. } => self.resnapshot(),
            TabMessage::Leader => {
                self.asked_at.set(None);
                self.ask();
            }
            TabMessage::CatchUp {
                tab,
                events,
                state,
                watching,
            } if tab == self.id => {
                self.asked_at.set(None);
                self.store.status.set(state);
                if watching.is_some() {
                    self.store.presence.set(watching);
                }
                match events {
                    Some(events) => {
                        self.snapshots.set(0);
                        for e in &events {
                            self.apply(e);
                        }
                    }
                    None => self.resnapshot(),
                }
            }
            TabMessage::CatchUp { .. } | TabMessage::Hello { .. } => {}
        }
    }

    fn apply(&self, e: &Relayed) {
        match BuiltIn::from_name(&e.topic) {
            Some(topic) => self.store.apply(EventId::new(e.id), topic, &e.data),
            None => self.store.decode_errors.update(|n| *n += 1),
        }
    }

    /// A question is out and not yet overdue.
    fn waiting(&self) -> bool {
        self.asked_at
            .get()
            .is_some_and(|at| js_sys::Date::now() - at < ASK_AGAIN_MS)
    }

    /// Asks the leader for everything after our newest id (once at a time).
    fn ask(&self) {
        if self.waiting() {
            return;
        }
        self.asked_at.set(Some(js_sys::Date::now()));
        self.post(&TabMessage::Hello {
            tab: self.id.clone(),
            since: self.newest(),
        });
    }

    /// Too far behind (or the server said `reset`): start again from a fresh snapshot, then
    /// ask the leader for what followed it.
    fn resnapshot(self: &Rc<Self>) {
        let taken = self.snapshots.get();
        if taken >= MAX_SNAPSHOTS {
            self.snapshots.set(0);
            self.asked_at.set(None);
            return;
        }
        self.snapshots.set(taken + 1);
        self.asked_at.set(Some(js_sys::Date::now()));
        let me = self.clone();
        spawn_local(async move {
            if let Ok(snapshot) = fetch_snapshot().await {
                me.store.replace(&snapshot);
            }
            me.asked_at.set(None);
            if !me.leader.get() {
                me.ask();
            }
        });
    }
}
