//! Display controls shared by every page: the light / dark / system theme switch and kiosk
//! mode.
//!
//! **Theme.** The choice is kept in the browser's `localStorage` (`pulse-theme`) and applied
//! as `data-theme` on `<html>` (the stylesheet's dark variables follow it; "system" removes
//! the attribute, so `prefers-color-scheme` decides). It is applied by the hydrated app — no
//! inline script, so a strict Content-Security-Policy keeps working; a browser whose choice
//! differs from its system setting shows the system theme until the app hydrates.
//!
//! **Kiosk.** `?kiosk` in the address hides the chrome (bar, footer, forms) and enlarges the
//! type, for wall displays. The server sees the query too, so the first paint is already kiosk.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// The stored choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(s: &str) -> Theme {
        match s {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::Theme;

    const STORAGE_KEY: &str = "pulse-theme";

    pub fn load() -> Theme {
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .map_or(Theme::System, |v| Theme::parse(&v))
    }

    pub fn store(theme: Theme) {
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = match theme {
                Theme::System => s.remove_item(STORAGE_KEY),
                t => s.set_item(STORAGE_KEY, t.as_str()),
            };
        }
    }

    pub fn apply(theme: Theme) {
        let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        else {
            return;
        };
        let _ = match theme {
            Theme::System => root.remove_attribute("data-theme"),
            t => root.set_attribute("data-theme", t.as_str()),
        };
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    use super::Theme;

    pub fn load() -> Theme {
        Theme::System
    }

    pub fn store(_: Theme) {}

    pub fn apply(_: Theme) {}
}

/// The theme picker in the header.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let theme = RwSignal::new(Theme::System);
    // After hydration: read the stored choice, then keep `<html>` and storage in step.
    Effect::new(move |_| theme.set(browser::load()));
    Effect::new(move |prev: Option<()>| {
        let t = theme.get();
        browser::apply(t);
        if prev.is_some() {
            browser::store(t);
        }
    });
    view! {
        <label class="theme-switch">
            <span class="theme-label">"Theme"</span>
            <select
                data-testid="theme"
                on:change=move |ev| theme.set(Theme::parse(&event_target_value(&ev)))
                prop:value=move || theme.get().as_str()
            >
                <option value="system">"System"</option>
                <option value="light">"Light"</option>
                <option value="dark">"Dark"</option>
            </select>
        </label>
    }
}

/// Whether the address asks for kiosk mode (`?kiosk`, `?kiosk=1`; `?kiosk=0` does not).
pub fn use_kiosk() -> Memo<bool> {
    let location = use_location();
    Memo::new(move |_| {
        location
            .query
            .with(|q| q.get_str("kiosk").is_some_and(|v| v != "0" && v != "false"))
    })
}
