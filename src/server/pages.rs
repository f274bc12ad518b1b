//! The Leptos pages: each request renders from one snapshot of the hub, taken once and given to
//! the app as context (the shell also embeds it for hydration).

use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{file_and_error_handler_with_context, generate_route_list, LeptosRoutes};

use super::AppState;
use crate::app::{shell, App};

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(App);
    let app_state = state.clone();
    let context = move || provide_context(app_state.snapshot());
    let options = state.leptos.clone();
    Router::new()
        .leptos_routes_with_context(state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
}
