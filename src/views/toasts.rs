//! Toasts for the `notifications` topic, on every page. The region is `aria-live="polite"`, so a
//! screen reader announces each new notice without interrupting; each toast has a dismiss
//! button, and informational ones fade after [`FADE_AFTER`] (warnings and errors stay until
//! dismissed, so nobody misses an alert by looking away). Escape dismisses the newest.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;

use super::format;
use crate::event::Notice;
use crate::live::LiveStore;

pub const FADE_AFTER: Duration = Duration::from_secs(10);

#[component]
pub fn Toasts() -> AnyView {
    let notifications = expect_context::<LiveStore>().notifications;
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.key() == "Escape" {
                if let Some(last) = notifications
                    .toasts
                    .with_untracked(|t| t.last().map(|n| n.id))
                {
                    notifications.dismiss(last);
                }
            }
        });
        on_cleanup(move || handle.remove());
    });
    view! {
        <section class="toasts" aria-label="Notifications">
            <ol aria-live="polite" aria-relevant="additions">
                <For each=move || notifications.toasts.get() key=|n| n.id let:notice>
                    <Toast notice/>
                </For>
            </ol>
        </section>
    }
    .into_any()
}

#[component]
fn Toast(notice: Notice) -> AnyView {
    let notifications = expect_context::<LiveStore>().notifications;
    let id = notice.id;
    if !notice.level.sticky() {
        Effect::new(move |_| {
            set_timeout(move || notifications.dismiss(id), FADE_AFTER);
        });
    }
    view! {
        <li class=format!("toast toast-{}", notice.level.as_str()) data-testid="toast" data-level=notice.level.as_str()>
            <div class="toast-main">
                <p class="toast-title">{notice.title}</p>
                {(!notice.body.is_empty()).then(|| view! { <p class="toast-body">{notice.body}</p> })}
                <p class="toast-meta muted">
                    {notice.source.map(|s| format!("{s} · "))}
                    <time datetime=format::iso(notice.at)>{format::clock_utc(notice.at)}</time>
                    {notice.link.map(|href| view! { " · " <A href=href>"Open"</A> })}
                </p>
            </div>
            <button
                class="toast-close"
                data-testid="dismiss-toast"
                aria-label="Dismiss notification"
                on:click=move |_| notifications.dismiss(id)
            >
                "×"
            </button>
        </li>
    }
    .into_any()
}
