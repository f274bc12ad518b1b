//! The site's static files under `/pkg` (the wasm bundle, its JS glue, the stylesheet) and
//! compression of the pages.
//!
//! The bundle is most of a first visit: ~1.7 MB of wasm raw, a third of that gzipped and less
//! with brotli. The release build writes `.br` and `.gz` copies beside each file
//! (`cargo leptos build --release --precompress`), so they are sent compressed without
//! spending CPU per request; a file without copies is sent as it is. Names carry no content
//! hash, so browsers must revalidate (`no-cache`: a 304 from `Last-Modified` costs a
//! round trip, not a download) — a stale bundle against a newer server would fail to hydrate.

use std::path::Path;

use axum::http::{header, HeaderValue};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;

/// `/pkg/…` from the site directory, precompressed copies preferred (brotli, then gzip).
pub fn router(options: &leptos::config::LeptosOptions) -> Router<AppState> {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let service = ServiceBuilder::new()
        // The body depends on Accept-Encoding: a shared cache must not hand brotli to a
        // client that did not ask for it.
        .layer(SetResponseHeaderLayer::overriding(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .service(files);
    Router::new().nest_service(&format!("/{}", options.site_pkg_dir), service)
}

/// Compresses what the pages router answers (HTML, favicon) when the client accepts it.
/// Only ever layered on pages: tower-http's default predicate also skips `text/event-stream`,
/// but the stream never goes through it in the first place.
pub fn compress_pages(pages: Router<AppState>) -> Router<AppState> {
    pages.layer(CompressionLayer::new().br(true).gzip(true))
}
