//! Shutdown with open streams, and restarts on the same data dir.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_and_returns_promptly() {
    let mut s = TestServer::start(&[]).await;
    let url = s.url("/api/events?topics=a,b");
    let mut subs = Vec::new();
    for _ in 0..5 {
        subs.push(SseClient::connect(&url, None).await);
    }
    s.publish("a", r#"{"n":1}"#).await;
    for sub in &mut subs {
        assert_eq!(sub.take(1, SECS5).await[0].event, "a");
    }
    let started = Instant::now();
    s.begin_stop();
    for sub in &mut subs {
        sub.drain_to_end(SECS5).await;
        assert!(sub.ended, "stream ended on shutdown");
        assert_eq!(sub.parser.retry, Some(500), "told to come back soon");
    }
    s.join().await.expect("clean exit");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "shutdown took {took:?}");
}

#[tokio::test]
async fn ids_continue_and_replay_works_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestServer::start_in(dir.path(), &[]).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(first.publish("orders", &format!(r#"{{"n":{n}}}"#)).await);
    }
    first
        .publish("stocks", r#"{"symbol":"ACME","price":3.5}"#)
        .await;
    first.stop().await.unwrap();

    let second = TestServer::start_in(dir.path(), &[]).await;
    let next = second.publish("orders", r#"{"n":5}"#).await;
    assert!(
        next > *ids.last().unwrap(),
        "ids are never reused: {next} after {ids:?}"
    );
    let mut sub = SseClient::connect(
        &second.url("/api/events?topics=orders"),
        Some(&ids[1].to_string()),
    )
    .await;
    let got = sub.take(4, SECS5).await;
    assert_eq!(common::ids(&got), [ids[2], ids[3], ids[4], next]);
    let snap: serde_json::Value = reqwest::get(second.url("/api/topics/stocks/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        snap["state"]["quotes"]["ACME"]["price"], 3.5,
        "state rebuilt from the log"
    );
    second.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_older_than_the_retention_age_leave_history_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_in(dir.path(), &["--retention-secs", "1"]).await;
    let first = s.publish("orders", r#"{"n":1}"#).await;
    s.publish("orders", r#"{"n":2}"#).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let fresh = s.publish("orders", r#"{"n":3}"#).await;
    assert!(s.metric("pulse_history_events").await <= 1.0);
    // Resuming from before the expired events cannot be exact any more: a reset, not a gap.
    let url = s.url(&format!("/api/events?topics=orders&since={first}"));
    let mut sub = SseClient::connect(&url, None).await;
    let ev = sub.take(1, SECS5).await.remove(0);
    assert_eq!(ev.event, "reset");
    assert_eq!(ev.id, Some(fresh.to_string()));
    s.stop().await.unwrap();

    let rows: i64 = rusqlite::Connection::open(dir.path().join("events.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert!(rows <= 1, "{rows} rows left in the log");
}
