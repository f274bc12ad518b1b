//! Cross-site request refusal for the server functions (`/api/fn/*`): every one of them that
//! changes something (post, score update, sign-in/out, jobs actions) acts with the visitor's
//! address or session cookie, so another site must not be able to make a visitor's browser
//! call it.
//!
//! A call is refused with 403 when the browser says it came from another site: `Sec-Fetch-Site`
//! other than `same-origin`/`none`, or an `Origin` whose host is not this request's own host
//! and not one of `--cors-origin`. A request with neither header is not from a browser (curl,
//! scripts) and cannot carry a visitor's ambient credentials, so it passes. The body must be
//! URL-encoded — what the server functions and their no-JS forms send; anything else (notably
//! `text/plain`, which another site's form can send without a preflight) gets 415.
//!
//! A no-JS form submit is answered by `leptos_axum` with a redirect to its `Referer`; the
//! redirect is narrowed here to a path on this site, so the form cannot be used to bounce a
//! visitor to another one. The session cookie is `SameSite=Strict` besides (see
//! [`super::session`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Where the server functions are mounted (their `prefix`).
pub const SERVER_FN_PREFIX: &str = "/api/fn/";

/// The only body encoding the server functions take.
const FORM: &str = "application/x-www-form-urlencoded";

/// Origins trusted besides this site's own (`--cors-origin`), as `scheme://host[:port]`.
#[derive(Debug, Clone, Default)]
pub struct TrustedOrigins(pub Arc<Vec<String>>);

impl TrustedOrigins {
    /// Parses the `--cors-origin` values: each `http(s)://host[:port]`, no path; `*` is refused
    /// (an allowlist, never everyone).
    pub fn parse(values: &[String]) -> Result<TrustedOrigins, String> {
        let mut out = Vec::new();
        for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
            let v = v.trim_end_matches('/');
            let rest = v.split_once("://").map_or("", |(_, rest)| rest);
            let ok = (v.starts_with("http://") || v.starts_with("https://"))
                && !rest.is_empty()
                && !rest.contains(['/', '*', '?', '#', '@', ' ']);
            if !ok {
                return Err(format!(
                    "--cors-origin {v:?} is not an origin: write scheme://host[:port], e.g. \
                     https://dash.example.com (no path, no `*`)"
                ));
            }
            out.push(v.to_ascii_lowercase());
        }
        Ok(TrustedOrigins(Arc::new(out)))
    }

    pub fn contains(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        self.0.contains(&origin)
    }
}

/// The `host[:port]` of `scheme://host[:port][/...]`.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// Why a server-function call was refused before it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Sent by another site's page; names what the browser said.
    CrossSite(String),
    /// Not a URL-encoded body; names the type sent.
    Encoding(String),
}

/// The checks, on the request head. `own_host` is the request's own `host[:port]`.
pub fn check(
    method: &Method,
    headers: &HeaderMap,
    own_host: Option<&str>,
    trusted: &TrustedOrigins,
) -> Result<(), Refused> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site = text(header::HeaderName::from_static("sec-fetch-site"));
    let same_origin = matches!(fetch_site, Some("same-origin" | "none"));
    if !same_origin {
        match text(header::ORIGIN) {
            Some(origin) => {
                let own = own_host.is_some_and(|h| {
                    host_of(origin).is_some_and(|o| o.eq_ignore_ascii_case(h.trim()))
                });
                if !own && !trusted.contains(origin) {
                    return Err(Refused::CrossSite(format!("Origin {origin}")));
                }
            }
            // A browser that says cross-site but sends no Origin: still another site.
            None if fetch_site.is_some() => {
                return Err(Refused::CrossSite(format!(
                    "Sec-Fetch-Site {}",
                    fetch_site.unwrap_or_default()
                )))
            }
            None => {}
        }
    }
    let media = text(header::CONTENT_TYPE)
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media != FORM {
        return Err(Refused::Encoding(if media.is_empty() {
            "none".into()
        } else {
            media
        }));
    }
    Ok(())
}

/// `location` narrowed to a path on this site: a path stays, an absolute URL to this host
/// becomes its path, anything else becomes `/`.
pub fn same_site_location(location: &str, own_host: Option<&str>) -> String {
    let l = location.trim();
    let is_path = |p: &str| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.starts_with("/\\")
            && !p.chars().any(|c| c.is_control())
    };
    if is_path(l) {
        return l.to_owned();
    }
    if l.starts_with("http://") || l.starts_with("https://") {
        if let (Some(host), Some(own)) = (host_of(l), own_host) {
            if host.eq_ignore_ascii_case(own.trim()) {
                let after = &l[l.find("://").map_or(0, |i| i + 3) + host.len()..];
                let path = if after.starts_with('/') {
                    after.to_owned()
                } else {
                    format!("/{after}")
                };
                if is_path(&path) {
                    return path;
                }
            }
        }
    }
    "/".to_owned()
}

/// `location` without an empty query (`/feed?`, left when server_fn strips its error fields).
fn tidy(location: String) -> String {
    match location.strip_suffix('?') {
        Some(bare) if !bare.is_empty() => bare.to_owned(),
        _ => location,
    }
}

/// The request's own `host[:port]`: the URI's authority (HTTP/2), else `Host`.
fn own_host(req: &Request) -> Option<String> {
    req.uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
}

/// The middleware, for every route (it looks only at `/api/fn/*`).
pub async fn guard(State(trusted): State<TrustedOrigins>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with(SERVER_FN_PREFIX) {
        return next.run(req).await;
    }
    let host = own_host(&req);
    if let Err(refused) = check(req.method(), req.headers(), host.as_deref(), &trusted) {
        tracing::info!("server function {} refused: {refused:?}", req.uri().path());
        return match refused {
            Refused::CrossSite(what) => ApiError::CrossSite(what),
            Refused::Encoding(media) => ApiError::UnsupportedEncoding(media),
        }
        .into_response();
    }
    let mut res = next.run(req).await;
    if let Some(location) = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    {
        let narrowed = tidy(same_site_location(location, host.as_deref()));
        if narrowed != location {
            if let Ok(v) = HeaderValue::from_str(&narrowed) {
                res.headers_mut().insert(header::LOCATION, v);
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const HOST: Option<&str> = Some("pulse.example:3000");

    #[test]
    fn browser_calls_from_this_site_pass_others_are_refused() {
        let post = Method::POST;
        let none = TrustedOrigins::default();
        let form = (
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        );
        let same = headers(&[("origin", "http://pulse.example:3000"), form]);
        assert_eq!(check(&post, &same, HOST, &none), Ok(()));
        let fetch = headers(&[("sec-fetch-site", "same-origin"), form]);
        assert_eq!(check(&post, &fetch, HOST, &none), Ok(()));
        let tool = headers(&[form]);
        assert_eq!(check(&post, &tool, HOST, &none), Ok(()));
        let evil = headers(&[("origin", "https://evil.example"), form]);
        assert!(matches!(
            check(&post, &evil, HOST, &none),
            Err(Refused::CrossSite(_))
        ));
        let null = headers(&[("origin", "null"), form]);
        assert!(check(&post, &null, HOST, &none).is_err());
        let cross = headers(&[("sec-fetch-site", "cross-site"), form]);
        assert!(check(&post, &cross, HOST, &none).is_err());
        let lookalike = headers(&[("origin", "http://pulse.example:3000.evil.example"), form]);
        assert!(check(&post, &lookalike, HOST, &none).is_err());
        let trusted = TrustedOrigins::parse(&["https://evil.example".into()]).unwrap();
        assert_eq!(check(&post, &evil, HOST, &trusted), Ok(()));
    }

    #[test]
    fn only_url_encoded_bodies() {
        let none = TrustedOrigins::default();
        for ct in [
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/json",
        ] {
            let h = headers(&[("content-type", ct)]);
            assert!(matches!(
                check(&Method::POST, &h, HOST, &none),
                Err(Refused::Encoding(_))
            ));
        }
        assert!(check(&Method::POST, &HeaderMap::new(), HOST, &none).is_err());
    }

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(same_site_location("/feed?x=1", HOST), "/feed?x=1");
        assert_eq!(
            same_site_location("http://pulse.example:3000/scores", HOST),
            "/scores"
        );
        assert_eq!(same_site_location("https://evil.example/phish", HOST), "/");
        assert_eq!(same_site_location("//evil.example/", HOST), "/");
        assert_eq!(same_site_location("/\\evil.example", HOST), "/");
        assert_eq!(same_site_location("javascript:alert(1)", HOST), "/");
        assert_eq!(
            same_site_location("http://pulse.example:3000.evil.example/", HOST),
            "/"
        );
    }

    #[test]
    fn cors_origins_are_origins() {
        assert!(TrustedOrigins::parse(&["*".into()]).is_err());
        assert!(TrustedOrigins::parse(&["https://a.example/path".into()]).is_err());
        assert!(TrustedOrigins::parse(&["a.example".into()]).is_err());
        let t = TrustedOrigins::parse(&["https://A.example:8443/".into()]).unwrap();
        assert!(t.contains("https://a.example:8443"));
    }
}
