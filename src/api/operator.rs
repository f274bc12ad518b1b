//! Operator sign-in: one session for everything an operator may do in the UI — change games on
//! `/scores`, start, cancel and retry jobs on `/jobs`, download exports. Signing in takes the
//! `--scorekeeper-password` or the publish token and sets an `HttpOnly`, `SameSite=Strict`
//! session cookie.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why signing in (or out) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInError {
    /// The password or token did not match.
    WrongSecret,
    /// Too many sign-in attempts from this address (or from everywhere at once).
    TooManyAttempts { retry_after_secs: u64 },
    /// The session could not be recorded (Redis unreachable).
    Unavailable(String),
    /// The request itself failed (network, encoding) before the server could answer.
    Request(String),
}

impl std::fmt::Display for SignInError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignInError::WrongSecret => {
                write!(f, "That password is not right. Check it and try again.")
            }
            SignInError::TooManyAttempts { retry_after_secs } => write!(
                f,
                "Too many sign-in attempts. Try again in {retry_after_secs} s."
            ),
            SignInError::Unavailable(m) => write!(f, "Signing in is unavailable right now: {m}"),
            SignInError::Request(m) => write!(
                f,
                "The request failed: {m}. Check your connection and try again."
            ),
        }
    }
}

impl std::error::Error for SignInError {}

impl super::Refusal for SignInError {
    fn status(&self) -> u16 {
        match self {
            SignInError::WrongSecret => 401,
            SignInError::TooManyAttempts { .. } => 429,
            SignInError::Unavailable(_) | SignInError::Request(_) => 503,
        }
    }
}

impl FromServerFnError for SignInError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        super::request_failed(&value);
        SignInError::Request(value.to_string())
    }
}

/// Signs in as operator with the `--scorekeeper-password` or the publish token.
#[server(prefix = "/api/fn", endpoint = "sign_in")]
pub async fn sign_in(secret: String) -> Result<(), SignInError> {
    super::request::answered(ssr::sign_in(secret).await)
}

/// Ends the operator session and clears the cookie.
#[server(prefix = "/api/fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), SignInError> {
    super::request::answered(ssr::sign_out().await)
}

/// Whether this browser holds an operator session.
#[server(prefix = "/api/fn", endpoint = "operator_status")]
pub async fn operator_status() -> Result<bool, SignInError> {
    Ok(ssr::operator_status().await)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::SignInError;
    use crate::api::request::{client_ip, parts, retry_secs, set_cookie, signed_in, state};
    use crate::server::auth::constant_time_eq;
    use crate::server::session::{self, Sessions};

    pub async fn sign_in(secret: String) -> Result<(), SignInError> {
        let state = state();
        state
            .sign_in_limit
            .check(client_ip())
            .map_err(|w| SignInError::TooManyAttempts {
                retry_after_secs: retry_secs(w),
            })?;
        // Everyone's failures together: many addresses do not make many guesses.
        state
            .sign_in_failures
            .check()
            .map_err(|w| SignInError::TooManyAttempts {
                retry_after_secs: retry_secs(w),
            })?;
        let given = secret.trim().as_bytes();
        let by_token = constant_time_eq(given, state.token.as_bytes());
        let by_password = state
            .config
            .scorekeeper_password
            .as_deref()
            .is_some_and(|p| !p.is_empty() && constant_time_eq(given, p.as_bytes()));
        if !(by_token || by_password) {
            if let Some(wait) = state.sign_in_failures.failed() {
                tracing::warn!(
                    "sign-in: many failed attempts from all addresses; sign-in locked for {} s",
                    wait.as_secs()
                );
            }
            return Err(SignInError::WrongSecret);
        }
        state.sign_in_failures.succeeded();
        let id = state.sessions.start().await.map_err(|_| {
            SignInError::Unavailable(
                "sign-in cannot be recorded right now; try again shortly".into(),
            )
        })?;
        set_cookie(session::set_cookie(&id, state.config.cookie_secure));
        Ok(())
    }

    pub async fn sign_out() -> Result<(), SignInError> {
        let state = state();
        if let Some(id) = parts().and_then(|p| Sessions::from_headers(&p.headers)) {
            state.sessions.finish(&id).await;
        }
        set_cookie(session::clear_cookie(state.config.cookie_secure));
        Ok(())
    }

    pub async fn operator_status() -> bool {
        signed_in(&state()).await.is_some()
    }
}
