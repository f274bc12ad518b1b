//! Staleness you cannot miss: while the stream is down, a banner at the top of every view says
//! how long ago the figures were last live (counting up every second) and offers "Retry now",
//! and the frame is marked `data-stale` so the stylesheet dims values and hatches charts.
//!
//! The badge alone (a small pill) was easy to miss during an outage while prices and charts
//! looked exactly as before. Server HTML never shows the banner: a page is as fresh as its
//! HTML until the browser has had a stream and lost it.

use leptos::prelude::*;

use super::format;
use crate::live::{ConnectionState, LiveStore};

/// `data-stale` for the page frame: present while the data on screen is not live.
pub fn stale_marker(store: LiveStore) -> impl Fn() -> Option<&'static str> + Copy {
    move || store.stale_since.get().map(|_| "")
}

#[component]
pub fn StaleBanner() -> impl IntoView {
    let store = expect_context::<LiveStore>();
    // The browser's clock, ticked once a second while stale (and only then).
    let now = RwSignal::new(0.0_f64);
    Effect::new(move |handle: Option<Option<IntervalHandle>>| {
        if let Some(Some(h)) = handle {
            h.clear();
        }
        store.stale_since.get()?;
        now.set(browser_now());
        set_interval_with_handle(
            move || now.set(browser_now()),
            std::time::Duration::from_secs(1),
        )
        .ok()
    });
    let age = move || {
        let since = store.stale_since.get().unwrap_or_default();
        format::elapsed(((now.get() - since).max(0.0) / 1000.0) as u64)
    };
    let offline = move || store.status.get() == ConnectionState::Offline;
    view! {
        <Show when=move || store.stale_since.get().is_some()>
            <div class="stale-banner" data-testid="stale" data-state=move || store.status.get().as_str()>
                <p>
                    <strong>{move || if offline() { "Offline." } else { "Not live." }}</strong>
                    " These figures were last updated "
                    <span class="stale-age num" data-testid="stale-age">{age}</span>
                    " ago. "
                    {move || {
                        if offline() {
                            "Pulse keeps trying, less often as it keeps failing."
                        } else {
                            "Reconnecting…"
                        }
                    }}
                </p>
                <button type="button" on:click=move |_| crate::live::retry_now()>
                    "Retry now"
                </button>
            </div>
        </Show>
    }
}

/// The browser's clock in ms as the banner counts it (0 on the server, where this never runs).
fn browser_now() -> f64 {
    super::local_time::now_ms().unwrap_or(0) as f64
}
