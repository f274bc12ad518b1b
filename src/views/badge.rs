//! The connection badge on every page: `data-state` is `connecting` | `live` | `reconnecting` |
//! `offline`, `data-last-event-id` the newest applied id. Only the state text is announced to
//! screen readers (the id changes several times a second and would drown everything else).

use leptos::prelude::*;

use crate::live::LiveStore;

#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let store = expect_context::<LiveStore>();
    let state = move || store.status.get().as_str();
    view! {
        <div
            class="badge"
            data-testid="connection"
            data-state=state
            data-last-event-id=move || store.last_id.get().to_string()
        >
            <span class="dot" aria-hidden="true"></span>
            <span class="badge-label" role="status">{move || store.status.get().label()}</span>
            <span class="badge-id" title="Last event id">
                <span class="sr-only">"Last event "</span>
                "#"
                {move || store.last_id.get()}
            </span>
            <Show when=move || { store.decode_errors.get() > 0 }>
                <span class="badge-errors" title="Events that could not be decoded">
                    {move || format!("{} undecodable", store.decode_errors.get())}
                </span>
            </Show>
        </div>
    }
}

/// "N watching" beside the badge: how many browsers (not tabs) have Pulse open, as the stream
/// last said; empty until it has. Announced politely: it changes rarely.
#[component]
pub fn PresenceCount() -> impl IntoView {
    let store = expect_context::<LiveStore>();
    view! {
        <span
            class="presence"
            data-testid="presence"
            aria-live="polite"
            data-watching=move || store.presence.get().map(|n| n.to_string())
        >
            {move || store.presence.get().map(|n| format!("{n} watching"))}
        </span>
    }
}
