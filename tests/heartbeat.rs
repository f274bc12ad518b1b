//! The `:` heartbeat on idle streams, with tokio's clock paused (no real waiting).

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(start_paused = true)]
async fn idle_streams_get_a_heartbeat_every_interval() {
    let s = TestServer::start(&["--heartbeat-secs", "15"]).await;
    let mut sub = SseClient::connect(&s.url("/api/events?topics=quiet"), None).await;
    let started = tokio::time::Instant::now();
    // No events: only heartbeats (comments) can arrive. The clock jumps from timer to timer,
    // so this reads in one-second (paused) steps and notes when each heartbeat was seen.
    let mut seen_at = Vec::new();
    while seen_at.len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(120), "no heartbeat");
        assert!(sub.next_event(Duration::from_secs(1)).await.is_none());
        assert!(!sub.ended, "stream ended");
        if sub.parser.comments > seen_at.len() {
            seen_at.push(started.elapsed().as_secs());
        }
    }
    // Seen within the one-second step after 15 s and 30 s: not earlier, not later.
    assert!(
        (15..=16).contains(&seen_at[0]),
        "first heartbeat at {seen_at:?}"
    );
    assert!(
        (30..=32).contains(&seen_at[1]),
        "second heartbeat at {seen_at:?}"
    );
}
