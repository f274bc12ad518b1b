//! `GET /healthz` (liveness) and `GET /metrics` (Prometheus text, every name prefixed `pulse_`).

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// 200 while this instance can take publishes; 503 while its backend cannot (Redis
/// unreachable), so a load balancer's health check steers publishers elsewhere. Open streams
/// keep running either way.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let (_, _, last_id) = state.hub.gauges();
    let backend = state.hub.health();
    let mut body = serde_json::json!({
        "status": if backend.up { "ok" } else { "unavailable" },
        "last_id": last_id,
        "backend": backend.kind,
        "instance": &*state.instance,
        "simulators": state.leading.load(std::sync::atomic::Ordering::Relaxed),
    });
    if backend.kind == "redis" {
        body["redis"] = (if backend.up { "up" } else { "down" }).into();
    }
    let status = if backend.up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
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
        (
            "events_conflated_total",
            "Superseded job states skipped for slow readers (a newer state was queued).",
            &s.conflated,
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
        "presence_browsers",
        "gauge",
        "Distinct browsers with a stream open on this instance (\"N watching\" sums instances).",
        state.presence.local().to_string(),
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
    let c = &state.connections;
    let gauges = [
        (
            "connections",
            "Open connections (under the cap).",
            c.open.load(Relaxed),
        ),
        (
            "connections_limit",
            "The connection cap (--max-connections).",
            c.limit.load(Relaxed),
        ),
        (
            "connections_overflow",
            "Connections over the cap, answering only /healthz and /metrics.",
            c.overflow.load(Relaxed),
        ),
    ];
    for (name, help, value) in gauges {
        metric(name, "gauge", help, value.to_string());
    }
    let conn_counters = [
        (
            "connections_restricted_total",
            "Connections served restricted because the cap was reached.",
            &c.restricted_total,
        ),
        (
            "connections_refused_total",
            "Connections closed at accept: the cap and its overflow were full.",
            &c.refused_total,
        ),
        (
            "accept_errors_total",
            "Accepts that failed for lack of file descriptors.",
            &c.accept_errors_total,
        ),
        (
            "connections_idle_closed_total",
            "Connections closed after moving no bytes for --idle-timeout-secs.",
            &c.idle_closed_total,
        ),
    ];
    for (name, help, value) in conn_counters {
        metric(name, "counter", help, value.load(Relaxed).to_string());
    }
    metric(
        "streams_limit",
        "gauge",
        "Streams allowed open at once (--max-streams).",
        state.streams.total_limit().to_string(),
    );
    metric(
        "custom_topics",
        "gauge",
        "Custom topics whose newest event is remembered (--max-custom-topics).",
        state.hub.custom_topics().to_string(),
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
