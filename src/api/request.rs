//! What a server function's body reads from its request (server only): the router's
//! [`AppState`], the request parts, the client's address and session, and the response it may
//! add a cookie or a status to. `leptos_axum` provides all of these as context.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use leptos::prelude::{expect_context, use_context};
use leptos_axum::ResponseOptions;

use super::Refusal;
use crate::server::client::ClientAddr;
use crate::server::session::Sessions;
use crate::server::AppState;

pub fn state() -> AppState {
    // Always present: the pages router provides it to every server function.
    expect_context::<AppState>()
}

pub fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The client's address as per-address rate limits count it: the address the serve loop
/// decided (the socket's, or the client a `--trusted-proxy` names; IPv6 by its /64), so a
/// client cannot pick its own bucket with a forged `X-Forwarded-For`. Unknown (a call without
/// connection info) shares one bucket.
pub fn client_ip() -> IpAddr {
    parts()
        .map(|p| ClientAddr::of(&p.extensions))
        .unwrap_or(ClientAddr(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
        .limit_key()
}

/// The session id of a signed-in browser, if the request carries a valid one.
pub async fn signed_in(state: &AppState) -> Option<String> {
    let id = Sessions::from_headers(&parts()?.headers)?;
    state.sessions.is_valid(&id).await.then_some(id)
}

pub fn set_cookie(value: String) {
    if let (Some(res), Ok(v)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&value),
    ) {
        res.append_header(SET_COOKIE, v);
    }
}

/// Gives a refused call the HTTP status its error names, so logs, proxies and API clients see
/// a 4xx/5xx that matches (the typed error itself is the JSON body).
pub fn answered<T, E: Refusal>(result: Result<T, E>) -> Result<T, E> {
    result.inspect_err(|e| {
        if let (Some(res), Ok(status)) = (
            use_context::<ResponseOptions>(),
            StatusCode::from_u16(e.status()),
        ) {
            res.set_status(status);
        }
    })
}

/// A wait as whole seconds for a `retry_after_secs` field (at least 1).
pub fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// A 400 for a call whose arguments did not decode (missing field, wrong type, bad encoding).
pub fn mark_client_fault(e: &leptos::server_fn::error::ServerFnErrorErr) {
    use leptos::server_fn::error::ServerFnErrorErr as E;
    if matches!(e, E::Args(_) | E::MissingArg(_) | E::Deserialization(_)) {
        if let Some(res) = use_context::<ResponseOptions>() {
            res.set_status(StatusCode::BAD_REQUEST);
        }
    }
}
