//! The Leptos pages: each request renders from one snapshot of the hub, taken once and given to
//! the app as context (the shell also embeds it for hydration), with the request's CSP nonce
//! (see [`super::headers`]).

use axum::http::request::Parts;
use axum::Router;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{file_and_error_handler_with_context, generate_route_list, LeptosRoutes};

use super::headers::{self, CspNonce};
use super::AppState;
use crate::app::{shell, App};

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(App);
    let app_state = state.clone();
    let context = move || {
        provide_context(app_state.snapshot());
        // `/monitor` draws one range of the chart history; it goes into the page like the
        // snapshot (taken after it, so it is at least as current).
        if let Some(parts) = use_context::<Parts>().filter(|p| p.uri.path() == "/monitor") {
            let range = super::topics::range_of(parts.uri.query()).unwrap_or_default();
            provide_context(app_state.hub.monitor_history(range));
        }
        // Replaces the nonce leptos_axum drew with the one the CSP header will name.
        if let Some(nonce) =
            use_context::<Parts>().and_then(|p| p.extensions.get::<CspNonce>().cloned())
        {
            provide_context(Nonce::from_value(nonce.0));
        }
    };
    let options = state.leptos.clone();
    Router::new()
        .leptos_routes_with_context(state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        // A fresh CSP nonce per page (and per not-found page), for Leptos and the CSP header.
        .layer(axum::middleware::from_fn(headers::nonce))
}
