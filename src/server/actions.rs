//! The bodies of the server functions declared in [`crate::api`]. Each reads the router's
//! [`AppState`] and the request's parts from the Leptos context that `leptos_axum` provides.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use leptos::prelude::{expect_context, use_context};
use leptos_axum::ResponseOptions;

use super::auth::constant_time_eq;
use super::session::{self, Sessions};
use super::AppState;
use crate::api::feed::FeedError;
use crate::api::scores::ScoreError;
use crate::event::feed::FEED_WINDOW;
use crate::event::scores::{GameStatus, MAX_SCORE};
use crate::event::topic::{FEED, NOTIFICATIONS, SCORES};
use crate::event::{now_ms, GameUpdate, NewPost, Payload, Post, Topic};
use crate::hub::PublishError;
use crate::sources::scores::final_notice;

fn state() -> AppState {
    // Always present: the pages router provides it to every server function.
    expect_context::<AppState>()
}

fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The client's address, for rate limits. Unknown (tests calling through a mock) share one
/// bucket.
fn client_ip(parts: Option<&Parts>) -> IpAddr {
    parts
        .and_then(|p| p.extensions.get::<ConnectInfo<SocketAddr>>())
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

async fn signed_in(state: &AppState, parts: Option<&Parts>) -> Option<String> {
    let id = Sessions::from_headers(&parts?.headers)?;
    state.sessions.is_valid(&id).await.then_some(id)
}

fn set_cookie(value: String) {
    if let (Some(res), Ok(v)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&value),
    ) {
        res.append_header(SET_COOKIE, v);
    }
}

/// Sets the HTTP status of a refused call, so logs, proxies and API clients see a 4xx/5xx that
/// matches the error (the typed error itself is the JSON body).
fn refuse<E>(status: StatusCode, err: E) -> E {
    if let Some(res) = use_context::<ResponseOptions>() {
        res.set_status(status);
    }
    err
}

fn score_status(e: &ScoreError) -> StatusCode {
    match e {
        ScoreError::NotSignedIn | ScoreError::WrongSecret => StatusCode::UNAUTHORIZED,
        ScoreError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        ScoreError::Invalid(_) => StatusCode::BAD_REQUEST,
        ScoreError::UnknownGame(_) => StatusCode::NOT_FOUND,
        ScoreError::Unavailable(_) | ScoreError::Request(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn feed_status(e: &FeedError) -> StatusCode {
    match e {
        FeedError::Invalid(_) => StatusCode::BAD_REQUEST,
        FeedError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        FeedError::Unavailable(_) | FeedError::Request(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn scored<T>(r: Result<T, ScoreError>) -> Result<T, ScoreError> {
    r.map_err(|e| refuse(score_status(&e), e))
}

fn fed<T>(r: Result<T, FeedError>) -> Result<T, FeedError> {
    r.map_err(|e| refuse(feed_status(&e), e))
}

fn retry_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

async fn sign_in_inner(secret: String) -> Result<(), ScoreError> {
    let state = state();
    let parts = parts();
    state
        .sign_in_limit
        .check(client_ip(parts.as_ref()))
        .map_err(|w| ScoreError::TooManyAttempts {
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
        return Err(ScoreError::WrongSecret);
    }
    let id = state.sessions.start().await.map_err(|_| {
        ScoreError::Unavailable("sign-in cannot be recorded right now; try again shortly".into())
    })?;
    set_cookie(session::set_cookie(&id, state.config.cookie_secure));
    Ok(())
}

pub async fn sign_out() -> Result<(), ScoreError> {
    let state = state();
    if let Some(id) = parts().and_then(|p| Sessions::from_headers(&p.headers)) {
        state.sessions.finish(&id).await;
    }
    set_cookie(session::clear_cookie(state.config.cookie_secure));
    Ok(())
}

pub async fn scorekeeper_status() -> Result<bool, ScoreError> {
    Ok(signed_in(&state(), parts().as_ref()).await.is_some())
}

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

fn unavailable(e: PublishError) -> String {
    e.to_string()
}

async fn update_game_inner(
    game: String,
    home_score: String,
    away_score: String,
    status: String,
    play: String,
) -> Result<u64, ScoreError> {
    let state = state();
    if signed_in(&state, parts().as_ref()).await.is_none() {
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
        ..GameUpdate::default()
    };
    if update
        == (GameUpdate {
            id: update.id.clone(),
            ..GameUpdate::default()
        })
    {
        return Err(ScoreError::Invalid(
            "Nothing to change: enter a score, a status or a play.".into(),
        ));
    }
    update.check().map_err(ScoreError::Invalid)?;
    let data = serde_json::to_string(&update).expect("an update always serializes");
    let topic = Topic::parse(SCORES).expect("built-in topic name is valid");
    let event_id = state
        .hub
        .publish(topic, data)
        .await
        .map_err(|e| ScoreError::Unavailable(unavailable(e)))?;
    if update.status == Some(GameStatus::Final) && before.status != GameStatus::Final {
        if let Some(game) = state.hub.snapshot().scores.games.get(&update.id) {
            let notice = serde_json::to_string(&final_notice(game)).expect("a notice serializes");
            let topic = Topic::parse(NOTIFICATIONS).expect("built-in topic name is valid");
            let _ = state.hub.publish(topic, notice).await;
        }
    }
    Ok(event_id.get())
}

async fn create_post_inner(author: String, text: String) -> Result<u64, FeedError> {
    let state = state();
    let mut post = NewPost {
        author,
        text,
        at: None,
    };
    post.check().map_err(FeedError::Invalid)?;
    state
        .post_limit
        .check(client_ip(parts().as_ref()))
        .map_err(|w| FeedError::RateLimited {
            retry_after_secs: retry_secs(w),
        })?;
    post.stamp(now_ms());
    let data = serde_json::to_string(&post).expect("a post always serializes");
    let topic = Topic::parse(FEED).expect("built-in topic name is valid");
    let id = state
        .hub
        .publish(topic, data)
        .await
        .map_err(|e| FeedError::Unavailable(unavailable(e)))?;
    state.recorder.stored(id).await;
    Ok(id.get())
}

async fn older_posts_inner(before: u64) -> Result<Vec<Post>, FeedError> {
    let store = state().posts;
    tokio::task::spawn_blocking(move || store.page(Some(before), FEED_WINDOW))
        .await
        .map_err(|e| FeedError::Unavailable(e.to_string()))?
        .map_err(|e| {
            tracing::error!("older posts: {e}");
            FeedError::Unavailable("older posts cannot be read; try again shortly".into())
        })
}

pub async fn sign_in(secret: String) -> Result<(), ScoreError> {
    scored(sign_in_inner(secret).await)
}

pub async fn update_game(
    game: String,
    home_score: String,
    away_score: String,
    status: String,
    play: String,
) -> Result<u64, ScoreError> {
    scored(update_game_inner(game, home_score, away_score, status, play).await)
}

pub async fn create_post(author: String, text: String) -> Result<u64, FeedError> {
    fed(create_post_inner(author, text).await)
}

pub async fn older_posts(before: u64) -> Result<Vec<Post>, FeedError> {
    fed(older_posts_inner(before).await)
}
