//! The site's static files under `/pkg` (the wasm bundle, its JS glue, the stylesheet) and
//! compression of the pages.
//!
//! The bundle is most of a first visit: ~1.7 MB of wasm raw, a third of that gzipped and less
//! with brotli. The release build writes `.br` and `.gz` copies beside each file
//! (`cargo leptos build --release --precompress`), so they are sent compressed without
//! spending CPU per request; a file without copies is sent as it is.
//!
//! The release build names each bundle file after its content (`pulse.<hash>.wasm`, see
//! `hash-files` in Cargo.toml), so a name never means two contents: those files are cached
//! for a year as `immutable` — a repeat visit downloads nothing, not even a 304 — and a new
//! build is picked up because the page names new files. A file without a hash (a build
//! without `hash-files`) gets `no-cache`: browsers revalidate (a 304 from `Last-Modified`),
//! since a stale bundle against a newer server would fail to hydrate.

use std::path::Path;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
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
        .service(files);
    Router::new()
        .nest_service(&format!("/{}", options.site_pkg_dir), service)
        .layer(axum::middleware::from_fn(cache_control))
}

/// `Cache-Control` by name: for good when the name carries the content's hash.
async fn cache_control(req: Request, next: Next) -> Response {
    let hashed = is_hashed(req.uri().path());
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
    }
    res
}

/// Whether a file name is `<name>.<hash>.<ext>` as cargo-leptos writes them: a middle part of
/// at least 10 characters of the URL-safe base64 alphabet.
pub fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut parts = name.split('.');
    let (Some(_stem), Some(hash), Some(_ext)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    hash.len() >= 10
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Compresses what the pages router answers (HTML, favicon) when the client accepts it.
/// Only ever layered on pages: tower-http's default predicate also skips `text/event-stream`,
/// but the stream never goes through it in the first place.
pub fn compress_pages(pages: Router<AppState>) -> Router<AppState> {
    pages.layer(CompressionLayer::new().br(true).gzip(true))
}

#[cfg(test)]
mod tests {
    use super::is_hashed;

    #[test]
    fn only_content_hashed_names_are_cached_for_good() {
        assert!(is_hashed("/pkg/pulse.Xk3_9aQ-bd2F.wasm"));
        assert!(is_hashed("/pkg/pulse.Xk3_9aQ-bd2F.wasm.br"));
        assert!(is_hashed("pulse.0123456789abcdef.css"));
        assert!(!is_hashed("/pkg/pulse.wasm"));
        assert!(!is_hashed("/pkg/pulse_bg.wasm.gz"));
        assert!(!is_hashed("/pkg/pulse.min.js"));
        assert!(!is_hashed("/pkg/pulse.0123456789/x.js"));
    }
}
