//! "Pause" / "Resume · N new" on each live view: freezes what the view shows while the stream
//! keeps running underneath ([`crate::live::pause`]), so a reader can study a moving table;
//! resuming applies everything held, in order.

use leptos::prelude::*;

use crate::event::BuiltIn;
use crate::live::LiveStore;

#[component]
pub fn PauseToggle(topic: BuiltIn) -> impl IntoView {
    let store = expect_context::<LiveStore>();
    let pauses = store.pauses;
    let paused = move || pauses.is_paused(topic);
    let label = move || {
        if paused() {
            match pauses.arrived(topic) {
                0 => "Resume".to_owned(),
                1 => "Resume · 1 new update".to_owned(),
                n => format!("Resume · {n} new updates"),
            }
        } else {
            "Pause".to_owned()
        }
    };
    view! {
        <button
            type="button"
            class="pause-toggle"
            data-testid="pause"
            aria-pressed=move || if paused() { "true" } else { "false" }
            on:click=move |_| {
                if paused() { store.resume(topic) } else { pauses.pause(topic) }
            }
        >
            {label}
        </button>
        <Show when=paused>
            <p class="paused-note" role="status" data-testid="paused">
                "Paused: this view is not updating. The stream keeps running; resume to catch up."
            </p>
        </Show>
    }
}
