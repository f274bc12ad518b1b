//! CORS for the stream (`/api/events`) and the read APIs (topic snapshots, the jobs `GET`s):
//! same-origin only unless `--cors-origin` names origins, and then exactly those — never `*`,
//! never with credentials (nothing these routes answer depends on a cookie). Preflights are
//! answered by tower-http's `CorsLayer`: an allowed origin gets its own origin back with the
//! methods and headers a reader needs (`GET`, `Last-Event-ID` for a resuming `EventSource`);
//! any other origin gets no `Access-Control-Allow-Origin`, which the browser treats as a refusal.

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::csrf::TrustedOrigins;

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The layer for the read routes, or `None` when no origin is allowed (same-origin only: no
/// CORS headers at all).
pub fn layer(origins: &TrustedOrigins) -> Option<CorsLayer> {
    if origins.0.is_empty() {
        return None;
    }
    let list: Vec<HeaderValue> = origins
        .0
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::HEAD])
            .allow_headers([
                HeaderName::from_static("last-event-id"),
                header::ACCEPT,
                header::CACHE_CONTROL,
            ])
            .allow_credentials(false)
            .max_age(PREFLIGHT_MAX_AGE),
    )
}
