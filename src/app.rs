//! The HTML shell, the app root (store, stream, router) and the page frame every view shares.

use leptos::config::LeptosOptions;
use leptos::hydration::{AutoReload, HydrationScripts};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

use crate::event::history::HistoryView;
use crate::live::{self, LiveStore, PageSnapshot, HISTORY_ELEMENT_ID, SNAPSHOT_ELEMENT_ID};
use crate::views::{
    announcer::{RouteAnnouncer, SkipLink},
    badge::{ConnectionBadge, PresenceCount},
    display::{use_kiosk, ThemeSwitch},
    feed::FeedPage,
    home::HomePage,
    jobs::JobsPage,
    monitor::MonitorPage,
    not_found::NotFound,
    notifications::NotificationsPage,
    operator::Operator,
    scores::ScoresPage,
    staleness::{stale_marker, StaleBanner},
    stocks::StocksPage,
    toasts::Toasts,
};

/// The document around the app, rendered on the server only.
///
/// The request's snapshot is embedded as JSON so the browser hydrates from exactly the state
/// the HTML was rendered from (see [`crate::hydrate`]).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let snapshot = use_context::<PageSnapshot>().unwrap_or_default();
    let history = use_context::<HistoryView>().map(|h| {
        let json = serde_json::to_string(&h)
            .unwrap_or_else(|_| "null".into())
            .replace('<', "\\u003c");
        view! { <script type="application/json" id=HISTORY_ELEMENT_ID inner_html=json></script> }
    });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="description" content="Pulse: live dashboards streamed over Server-Sent Events"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <script type="application/json" id=SNAPSHOT_ELEMENT_ID inner_html=snapshot.embedded_json()></script>
                {history}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let snapshot = use_context::<PageSnapshot>().unwrap_or_default();
    let store = LiveStore::new(&snapshot);
    provide_context(store);
    Operator::provide();
    // Effects run only in the browser, after hydration: one stream per browser, shared by its
    // tabs (one per tab where the browser cannot share).
    Effect::new(move |_| live::start(store));
    live::track_staleness(store);

    view! {
        <Title text="Pulse"/>
        <Router>
            <Frame>
            <SkipLink/>
            <RouteAnnouncer/>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◉"</span>
                    " Pulse"
                </A>
                <nav aria-label="Views" class="views-nav">
                    <A href="/stocks">"Stocks"</A>
                    <A href="/scores">"Scores"</A>
                    <A href="/feed">"Feed"</A>
                    <A href="/monitor">"Monitor"</A>
                    <A href="/jobs">"Jobs"</A>
                    <A href="/notifications">"Notifications"</A>
                </nav>
                <PresenceCount/>
                <ThemeSwitch/>
                <ConnectionBadge/>
            </header>
            <main id="main" tabindex="-1">
                <StaleBanner/>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("") view=HomePage/>
                    <Route path=path!("stocks") view=StocksPage/>
                    <Route path=path!("scores") view=ScoresPage/>
                    <Route path=path!("feed") view=FeedPage/>
                    <Route path=path!("monitor") view=MonitorPage/>
                    <Route path=path!("jobs") view=JobsPage/>
                    <Route path=path!("notifications") view=NotificationsPage/>
                </Routes>
            </main>
            <Toasts/>
            <footer class="footer">
                <p>"Server-rendered, hydrated, and kept live by one Server-Sent Events stream."</p>
            </footer>
            </Frame>
        </Router>
    }
}

/// Everything inside the router, marked `data-kiosk` in kiosk mode ([`crate::views::display`])
/// and `data-stale` while the stream is down ([`crate::views::staleness`]).
#[component]
fn Frame(children: Children) -> impl IntoView {
    let kiosk = use_kiosk();
    let stale = stale_marker(expect_context::<LiveStore>());
    view! {
        <div class="frame" data-kiosk=move || kiosk.get().then_some("") data-stale=stale>
            {children()}
        </div>
    }
}
