//! Accessibility after hydration, where client-side routing would otherwise leave screen-reader
//! users behind: a polite live region that names the page after each in-app navigation (a
//! full page load is announced by the browser itself), and a skip link that moves focus to the
//! main content (the router would otherwise take its `#main` click as a navigation).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// The name a path's page goes by, as announced ("Stocks", "Notifications", …).
pub fn page_name(path: &str) -> &'static str {
    match path.trim_end_matches('/') {
        "" => "Overview",
        "/stocks" => "Stocks",
        "/scores" => "Scores",
        "/feed" => "Feed",
        "/monitor" => "Monitor",
        "/jobs" => "Jobs",
        "/notifications" => "Notifications",
        _ => "Page not found",
    }
}

/// Announces each in-app navigation ("Scores page") once it has happened.
#[component]
pub fn RouteAnnouncer() -> impl IntoView {
    let path = use_location().pathname;
    let text = RwSignal::new(String::new());
    Effect::new(move |first: Option<()>| {
        let p = path.get();
        // The first run is the page load: the browser announces that one.
        if first.is_some() {
            text.set(format!("{} page", page_name(&p)));
        }
    });
    view! {
        <p class="sr-only" aria-live="polite" aria-atomic="true" data-testid="route-announcer">
            {move || text.get()}
        </p>
    }
}

/// "Skip to content": focuses `<main id="main">` (which has `tabindex="-1"`).
#[component]
pub fn SkipLink() -> impl IntoView {
    view! {
        <a
            class="skip-link"
            href="#main"
            on:click=move |ev| {
                ev.prevent_default();
                #[cfg(feature = "hydrate")]
                if let Some(main) = document().get_element_by_id("main") {
                    use leptos::wasm_bindgen::JsCast;
                    if let Ok(main) = main.dyn_into::<leptos::web_sys::HtmlElement>() {
                        let _ = main.focus();
                    }
                }
            }
        >
            "Skip to content"
        </a>
    }
}

#[cfg(test)]
mod tests {
    use super::page_name;

    #[test]
    fn every_route_has_a_name() {
        assert_eq!(page_name("/"), "Overview");
        assert_eq!(page_name("/stocks"), "Stocks");
        assert_eq!(page_name("/notifications/"), "Notifications");
        assert_eq!(page_name("/nope"), "Page not found");
    }
}
