//! Toasts for the `notifications` topic, on every page. The region is `aria-live="polite"`, so a
//! screen reader announces each new notice without interrupting; each toast has a dismiss
//! button, and informational ones fade after [`FADE_AFTER`] (warnings and errors stay until
//! dismissed, so nobody misses an alert by looking away). Escape dismisses the newest.
//!
//! With two or more toasts a "Dismiss all" button clears them. On small screens only the newest
//! toast shows, with a counter button ("3 more") that expands the stack, so warnings never cover
//! the page. Dismissing from inside the stack puts focus back where it was before it entered
//! the stack (the focused element is lost with the toast otherwise).

use std::time::Duration;

use leptos::prelude::*;
use leptos::reactive::send_wrapper_ext::SendOption;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys;
use leptos_router::components::A;

use super::format;
use crate::event::Notice;
use crate::live::LiveStore;

pub const FADE_AFTER: Duration = Duration::from_secs(10);

/// Where focus was before it entered the toasts, to give it back after a dismissal.
#[derive(Clone, Copy)]
struct FocusReturn {
    region: NodeRef<leptos::html::Section>,
    /// A `SendOption`, not `LocalStorage`: a thread-bound value made on the server is dropped
    /// wherever the response stream ends, on any tokio worker, and that panics mid-page. Made
    /// empty, a `SendOption` holds nothing thread-bound until the browser gives it an element.
    previous: StoredValue<SendOption<web_sys::Element>>,
}

impl FocusReturn {
    /// Remembers the element focus came from when it enters the region from outside.
    fn entered(&self, ev: &web_sys::FocusEvent) {
        let Some(region) = self.region.get_untracked() else {
            return;
        };
        let from = ev
            .related_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        if let Some(from) = from.filter(|el| !region.contains(Some(el))) {
            self.previous.set_value(SendOption::new_local(Some(from)));
        }
    }

    /// After a dismissal: if focus was inside the region (on a button that is now gone), put
    /// it back where it was before; focus elsewhere on the page is left alone.
    fn restore(&self, was_inside: bool) {
        if !was_inside {
            return;
        }
        let target = self.previous.with_value(|p| p.as_ref().cloned());
        if let Some(el) = target.filter(|el| el.is_connected()) {
            if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        }
    }

    /// Whether focus is inside the region now.
    fn focus_inside(&self) -> bool {
        let active = document().active_element();
        self.region
            .get_untracked()
            .is_some_and(|r| active.is_some_and(|a| r.contains(Some(&a))))
    }

    /// Runs a dismissal, then gives focus back if it was in the stack.
    fn dismiss(&self, f: impl FnOnce()) {
        let inside = self.focus_inside();
        f();
        self.restore(inside);
    }
}

#[component]
pub fn Toasts() -> AnyView {
    let notifications = expect_context::<LiveStore>().notifications;
    let focus = FocusReturn {
        region: NodeRef::new(),
        previous: StoredValue::new(SendOption::new_local(None)),
    };
    provide_context(focus);
    let expanded = RwSignal::new(false);
    let count = move || notifications.toasts.with(Vec::len);
    // A new quiet stack starts collapsed again.
    Effect::new(move |_| {
        if count() <= 1 {
            expanded.set(false);
        }
    });
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.key() == "Escape" {
                if let Some(last) = notifications
                    .toasts
                    .with_untracked(|t| t.last().map(|n| n.id))
                {
                    focus.dismiss(|| notifications.dismiss(last));
                }
            }
        });
        on_cleanup(move || handle.remove());
    });
    view! {
        <section
            class="toasts"
            aria-label="Notifications"
            node_ref=focus.region
            data-expanded=move || expanded.get().to_string()
            on:focusin=move |ev| focus.entered(&ev)
        >
            <Show when=move || { count() > 1 }>
                <div class="toasts-bar">
                    <button
                        type="button"
                        class="toasts-more"
                        data-testid="toasts-more"
                        aria-expanded=move || expanded.get().to_string()
                        on:click=move |_| expanded.update(|e| *e = !*e)
                    >
                        {move || {
                            if expanded.get() {
                                "Show only the newest".to_owned()
                            } else {
                                format!("{} more", count() - 1)
                            }
                        }}
                    </button>
                    <button
                        type="button"
                        class="toasts-clear"
                        data-testid="dismiss-all"
                        on:click=move |_| focus.dismiss(|| notifications.dismiss_all())
                    >
                        {move || format!("Dismiss all {}", count())}
                    </button>
                </div>
            </Show>
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
    let focus = expect_context::<FocusReturn>();
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
                on:click=move |_| focus.dismiss(|| notifications.dismiss(id))
            >
                "×"
            </button>
        </li>
    }
    .into_any()
}
