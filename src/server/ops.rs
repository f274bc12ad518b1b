//! `GET /healthz` (liveness) and `GET /metrics` (Prometheus text, every name prefixed `pulse_`).

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let (_, _, last_id) = state.hub.gauges();
    axum::Json(serde_json::json!({ "status": "ok", "last_id": last_id }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let s = state.hub.stats();
    let (subscribers, history, last_id) = state.hub.gauges();
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP pulse_{name} {help}");
        let _ = writeln!(out, "# TYPE pulse_{name} {kind}");
        let _ = writeln!(out, "pulse_{name} {value}");
    };
    let counters = [
        (
            "events_published_total",
            "Events acknowledged to publishers.",
            &s.published,
        ),
        (
            "events_delivered_total",
            "Event frames queued to subscribers.",
            &s.delivered,
        ),
        (
            "events_replayed_total",
            "Events replayed to resuming subscribers.",
            &s.replayed,
        ),
        (
            "subscribers_lagged_total",
            "Subscribers cut off because their queue was full.",
            &s.lagged,
        ),
        (
            "resets_total",
            "Resets sent for resume ids outside the history.",
            &s.resets,
        ),
        (
            "log_batches_total",
            "Batches committed to the event log.",
            &s.batches,
        ),
        (
            "publish_storage_errors_total",
            "Publishes refused because the log failed.",
            &s.storage_errors,
        ),
        ("subscriptions_total", "Streams ever opened.", &s.subscribed),
    ];
    for (name, help, value) in counters {
        metric(name, "counter", help, value.load(Relaxed).to_string());
    }
    metric(
        "subscribers",
        "gauge",
        "Open streams.",
        subscribers.to_string(),
    );
    metric(
        "history_events",
        "gauge",
        "Events held for replay.",
        history.to_string(),
    );
    metric(
        "last_event_id",
        "gauge",
        "Id of the newest event.",
        last_id.to_string(),
    );
    let (buckets, count, sum) = s.ack_latency.read();
    let _ = writeln!(
        out,
        "# HELP pulse_publish_ack_seconds Publish-to-durable-acknowledge latency."
    );
    let _ = writeln!(out, "# TYPE pulse_publish_ack_seconds histogram");
    for (le, n) in buckets {
        let _ = writeln!(out, "pulse_publish_ack_seconds_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "pulse_publish_ack_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(out, "pulse_publish_ack_seconds_sum {sum}");
    let _ = writeln!(out, "pulse_publish_ack_seconds_count {count}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
