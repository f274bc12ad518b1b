//! Scorekeeper actions: `update_game`, for a signed-in operator ([`super::operator`]).

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a scorekeeper action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoreError {
    /// No scorekeeper session (never signed in, signed out, expired, or the server restarted).
    NotSignedIn,
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
                "Only an operator can change games. Sign in with the operator password first."
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

impl super::Refusal for ScoreError {
    fn status(&self) -> u16 {
        match self {
            ScoreError::NotSignedIn => 401,
            ScoreError::Invalid(_) => 400,
            ScoreError::UnknownGame(_) => 404,
            ScoreError::Unavailable(_) | ScoreError::Request(_) => 503,
        }
    }
}

impl FromServerFnError for ScoreError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        super::request_failed(&value);
        ScoreError::Request(value.to_string())
    }
}

/// What a saved change left on the board, so the form can show the values that were saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// The id of the published event.
    pub event: u64,
    /// The game as it now stands, e.g. `Guests 19 – 21 Hosts · Final`.
    pub summary: String,
}

/// Changes one game. Fields left empty stay as they are (the form sends strings, so a number
/// that does not parse gets a message naming the field). The change is flagged `keeper`, so
/// the simulator leaves the game alone from then on ([`crate::event::scores`]).
#[server(prefix = "/api/fn", endpoint = "update_game")]
pub async fn update_game(
    game: String,
    home_score: String,
    away_score: String,
    status: String,
    play: String,
) -> Result<Saved, ScoreError> {
    super::request::answered(ssr::update_game(game, home_score, away_score, status, play).await)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{Saved, ScoreError};
    use crate::api::request::{signed_in, state};
    use crate::event::scores::{GameStatus, MAX_SCORE};
    use crate::event::{BuiltIn, GameUpdate, Payload};
    use crate::sources::scores::final_notice;

    fn score(field: &str, raw: &str) -> Result<Option<u32>, ScoreError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        match raw.parse::<u32>() {
            Ok(n) if n <= MAX_SCORE => Ok(Some(n)),
            _ => Err(ScoreError::Invalid(format!(
                "The {field} score must be a whole number from 0 to {MAX_SCORE} (or empty to keep it)."
            ))),
        }
    }

    pub async fn update_game(
        game: String,
        home_score: String,
        away_score: String,
        status: String,
        play: String,
    ) -> Result<Saved, ScoreError> {
        let state = state();
        if signed_in(&state).await.is_none() {
            return Err(ScoreError::NotSignedIn);
        }
        let id = game.trim().to_owned();
        let before = state.hub.snapshot().scores.games.get(&id).cloned();
        let Some(before) = before else {
            return Err(ScoreError::UnknownGame(id));
        };
        let status = match status.trim() {
            "" => None,
            s => Some(GameStatus::parse(s).ok_or_else(|| {
                ScoreError::Invalid("The status must be scheduled, live or final.".into())
            })?),
        };
        let play = play.trim();
        let update = GameUpdate {
            id,
            home_score: score("home", &home_score)?,
            away_score: score("away", &away_score)?,
            status,
            last_play: (!play.is_empty()).then(|| play.to_owned()),
            keeper: true,
            ..GameUpdate::default()
        };
        if update
            == (GameUpdate {
                id: update.id.clone(),
                keeper: true,
                ..GameUpdate::default()
            })
        {
            return Err(ScoreError::Invalid(
                "Nothing to change: enter a score, a status or a play.".into(),
            ));
        }
        update.check().map_err(ScoreError::Invalid)?;
        let data = serde_json::to_string(&update).expect("an update always serializes");
        let event_id = state
            .hub
            .publish(BuiltIn::Scores.topic(), data)
            .await
            .map_err(|e| ScoreError::Unavailable(e.to_string()))?;
        // The fold is pure, so the game as saved is `before` with the change applied (the
        // snapshot may already hold later updates, or lag on a shared broker).
        let mut after = before.clone();
        after.apply(&update);
        if update.status == Some(GameStatus::Final) && before.status != GameStatus::Final {
            if let Some(game) = state.hub.snapshot().scores.games.get(&update.id) {
                let notice =
                    serde_json::to_string(&final_notice(game)).expect("a notice serializes");
                let _ = state
                    .hub
                    .publish(BuiltIn::Notifications.topic(), notice)
                    .await;
            }
        }
        Ok(Saved {
            event: event_id.get(),
            summary: after.summary(),
        })
    }
}
