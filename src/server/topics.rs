//! `GET /api/topics/{topic}/snapshot`: the current state of a topic and the id it is current
//! to. Built-in topics return their view state (the same the pages render); any other topic
//! returns its newest event. A private topic (`--private-topics`) needs a signed URL's `exp`
//! and `sig`, signed for this one topic (see [`super::signed`]).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::signed;
use super::AppState;
use crate::error::ApiError;
use crate::event::Topic;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/topics/{topic}/snapshot", get(snapshot))
}

async fn snapshot(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let topic = Topic::parse_new(&topic).map_err(ApiError::BadTopic)?;
    let (exp, sig) = signed::grant_params(raw.as_deref());
    state
        .signer
        .check(std::slice::from_ref(&topic), exp, sig, signed::now_secs())?;
    let snap = state.snapshot();
    let view = topic.builtin().map(|b| snap.view_json(b));
    let body = if let Some(view) = view {
        json!({ "topic": topic, "id": snap.id, "state": view })
    } else {
        let last = state.hub.latest(&topic);
        let (last_id, data) = match last {
            Some(ev) => (
                Some(ev.id),
                serde_json::from_str::<Value>(&ev.data).unwrap_or(Value::Null),
            ),
            None => (None, Value::Null),
        };
        json!({ "topic": topic, "id": snap.id, "state": { "last_id": last_id, "last": data } })
    };
    Ok(Json(body))
}
