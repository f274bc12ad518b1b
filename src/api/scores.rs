//! Scorekeeper actions: `sign_in`, `sign_out`, `scorekeeper_status`, `update_game`.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a scorekeeper action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoreError {
    /// No scorekeeper session (never signed in, signed out, expired, or the server restarted).
    NotSignedIn,
    /// The password or token did not match.
    WrongSecret,
    /// Too many sign-in attempts from this address.
    TooManyAttempts { retry_after_secs: u64 },
    /// A field of the change is not valid; the message names it.
    Invalid(String),
    /// There is no game with this id on the board.
    UnknownGame(String),
    /// The server could not publish the change (shutting down, or storage failed).
    Unavailable(String),
    /// The request itself failed (network, encoding) before the server could answer.
    Request(String),
}

impl std::fmt::Display for ScoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScoreError::NotSignedIn => write!(
                f,
                "Only a scorekeeper can change games. Sign in with the scorekeeper password first."
            ),
            ScoreError::WrongSecret => {
                write!(f, "That password is not right. Check it and try again.")
            }
            ScoreError::TooManyAttempts { retry_after_secs } => write!(
                f,
                "Too many sign-in attempts. Try again in {retry_after_secs} s."
            ),
            ScoreError::Invalid(m) => write!(f, "{m}"),
            ScoreError::UnknownGame(id) => {
                write!(
                    f,
                    "There is no game {id:?} on the board; pick one from the list."
                )
            }
            ScoreError::Unavailable(m) => write!(f, "The change was not saved: {m}"),
            ScoreError::Request(m) => write!(
                f,
                "The request failed: {m}. Check your connection and try again."
            ),
        }
    }
}

impl std::error::Error for ScoreError {}

impl FromServerFnError for ScoreError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ScoreError::Request(value.to_string())
    }
}

/// Signs in as scorekeeper with the `--scorekeeper-password` or the publish token; sets an
/// `HttpOnly`, `SameSite=Strict` session cookie.
#[server(prefix = "/api/fn", endpoint = "sign_in")]
pub async fn sign_in(secret: String) -> Result<(), ScoreError> {
    crate::server::actions::sign_in(secret).await
}

/// Ends the scorekeeper session and clears the cookie.
#[server(prefix = "/api/fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ScoreError> {
    crate::server::actions::sign_out().await
}

/// Whether this browser holds a scorekeeper session.
#[server(prefix = "/api/fn", endpoint = "scorekeeper_status")]
pub async fn scorekeeper_status() -> Result<bool, ScoreError> {
    crate::server::actions::scorekeeper_status().await
}

/// Changes one game. Fields left empty stay as they are (the form sends strings, so a number
/// that does not parse gets a message naming the field). Returns the event id.
#[server(prefix = "/api/fn", endpoint = "update_game")]
pub async fn update_game(
    game: String,
    home_score: String,
    away_score: String,
    status: String,
    play: String,
) -> Result<u64, ScoreError> {
    crate::server::actions::update_game(game, home_score, away_score, status, play).await
}
