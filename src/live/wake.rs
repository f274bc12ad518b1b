//! When a tab should check its connection at once instead of waiting out a backoff (hydrate
//! only): it came back to the foreground (`visibilitychange`), the network came back
//! (`online`), or the page was restored from the back/forward cache (`pageshow` with
//! `persisted`; the browser closed its connections when it froze the page, often without an
//! `error` event, so the badge may still say `live`).

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::PageTransitionEvent;

/// Why the tab woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Visible again, or back online: reconnect if the stream is not live.
    Foreground,
    /// Restored from the back/forward cache: whatever the badge says, the old connection is gone.
    Restored,
}

/// Calls `on_wake` for every wake-up, for the life of the page (the listeners are never removed).
pub fn listen(on_wake: impl Fn(Wake) + 'static) {
    let on_wake = std::rc::Rc::new(on_wake);
    let foreground = on_wake.clone();
    let visible: Closure<dyn FnMut(web_sys::Event)> = Closure::new(move |_| {
        if !document().hidden() {
            foreground(Wake::Foreground);
        }
    });
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", visible.as_ref().unchecked_ref());
    let _ = window().add_event_listener_with_callback("online", visible.as_ref().unchecked_ref());
    visible.forget();
    let restored: Closure<dyn FnMut(web_sys::Event)> = Closure::new(move |e: web_sys::Event| {
        if e.dyn_ref::<PageTransitionEvent>()
            .is_some_and(|e| e.persisted())
        {
            on_wake(Wake::Restored);
        }
    });
    let _ =
        window().add_event_listener_with_callback("pageshow", restored.as_ref().unchecked_ref());
    restored.forget();
}
