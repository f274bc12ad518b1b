//! Security headers on every response: a Content-Security-Policy, `X-Content-Type-Options`,
//! `Referrer-Policy` and `X-Frame-Options`, set by tower-http's `SetResponseHeaderLayer`.
//!
//! Pages get a policy that allows only scripts from this origin and inline scripts carrying the
//! page's nonce: [`nonce`] draws a fresh one per request and hands it to Leptos (see
//! [`super::pages`]), which puts it on the hydration script and on every script it streams; the
//! header layer then writes the same nonce into the policy. No `unsafe-inline` for scripts, so
//! markup injected into a page could not run script even if escaping ever failed. The embedded
//! snapshot (`<script type="application/json">`) is data, which CSP does not govern.
//!
//! `'wasm-unsafe-eval'` lets the page compile its own WebAssembly (the app) — it allows no
//! `eval` of JavaScript. Style *attributes* are allowed inline (`style-src-attr`): the server
//! renders bar widths as `style="width: …"`, and a style attribute cannot run script; style
//! sheets come only from this origin.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Response};
use axum::middleware::Next;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// A page's CSP nonce: 128 random bits, hex. In the request's extensions for Leptos, and in
/// the response's for the header layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub Arc<str>);

impl CspNonce {
    pub fn new() -> CspNonce {
        CspNonce(super::hex::random::<16>().into())
    }
}

impl Default for CspNonce {
    fn default() -> Self {
        CspNonce::new()
    }
}

/// The policy of an HTML page whose inline scripts carry `nonce`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The policy of everything else (JSON, streams, files): nothing may be loaded or framed by it.
pub const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Middleware: a fresh nonce for this request (Leptos reads it from the request), kept on an
/// HTML response so the header layer can name it.
pub async fn nonce(mut req: Request, next: Next) -> axum::response::Response {
    let nonce = CspNonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    if is_html(&res) {
        res.extensions_mut().insert(nonce);
    }
    res
}

fn is_html<B>(res: &Response<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/html"))
}

/// The CSP for one response: the page policy with its nonce, or [`OTHER_POLICY`].
fn policy_for<B>(res: &Response<B>) -> Option<HeaderValue> {
    match res.extensions().get::<CspNonce>() {
        Some(n) if is_html(res) => HeaderValue::from_str(&page_policy(&n.0)).ok(),
        _ => Some(HeaderValue::from_static(OTHER_POLICY)),
    }
}

/// Wraps `router` with the header layers (outermost, so refusals from the request checks get
/// the headers too). The nonce middleware is not here: only the pages router draws nonces
/// ([`super::pages`]), so streams, publishes and files do not pay for random bytes they
/// never use.
pub fn layer<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            policy_for::<axum::body::Body>,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_fresh_and_fit_a_policy() {
        let a = CspNonce::new();
        let b = CspNonce::new();
        assert_ne!(a, b);
        assert_eq!(a.0.len(), 32);
        assert!(
            a.0.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{a:?}"
        );
        let p = page_policy(&a.0);
        assert!(p.contains(&format!("'nonce-{}'", a.0)));
        assert!(!p.contains("script-src 'self' 'unsafe-inline'"));
        assert!(p.contains("frame-ancestors 'none'"));
    }
}
