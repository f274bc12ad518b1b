//! `GET /api/topics/{topic}/snapshot`: the current state of a topic and the id it is current
//! to. Built-in topics return their view state (the same the pages render); any other topic
//! returns its newest event. A private topic (`--private-topics`) needs a signed URL's `exp`
//! and `sig`, signed for this one topic (see [`super::signed`]).
//!
//! `GET /api/monitor/history?range=5m|1h|24h`: the monitor's downsampled chart history (see
//! [`crate::event::history`]), what `/monitor` draws for that range.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::signed;
use super::AppState;
use crate::error::ApiError;
use crate::event::history::{HistoryView, Range};
use crate::event::Topic;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/topics/{topic}/snapshot", get(snapshot))
        .route("/api/monitor/history", get(monitor_history))
}

/// The `range` of a query string (`5m` when absent); other parameters are ignored.
pub fn range_of(query: Option<&str>) -> Result<Range, String> {
    let sent = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("range="));
    match sent {
        None | Some("") => Ok(Range::default()),
        Some(s) => Range::parse(s).ok_or_else(|| s.chars().take(16).collect()),
    }
}

async fn monitor_history(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<HistoryView>, ApiError> {
    let range = range_of(query.as_deref()).map_err(ApiError::BadRange)?;
    Ok(Json(state.hub.monitor_history(range)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_comes_from_the_query_and_defaults_to_five_minutes() {
        assert_eq!(range_of(None), Ok(Range::FiveMinutes));
        assert_eq!(range_of(Some("range=1h")), Ok(Range::Hour));
        assert_eq!(range_of(Some("kiosk&range=24h")), Ok(Range::Day));
        assert_eq!(range_of(Some("range=2h")), Err("2h".into()));
    }
}
