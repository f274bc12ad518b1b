//! "N watching" over real HTTP: streams that name their browser (`browser=`) are counted by
//! distinct browser, and every such stream gets the count as id-less `presence` frames.

mod common;

use std::time::Duration;

use common::*;

const ALICE: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
const BOB: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2";

fn stream_url(s: &TestServer, browser: &str) -> String {
    s.url(&format!("/api/events?topics=t&browser={browser}"))
}

/// The next presence count on this stream, skipping other events; `None` if none comes.
async fn next_count(sub: &mut SseClient, wait: Duration) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let ev = sub.next_event(left).await?;
        if ev.event == "presence" {
            let v: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
            return Some(v["watching"].as_u64().expect("a count"));
        }
    }
}

#[tokio::test]
async fn browsers_are_counted_once_however_many_streams_they_hold() {
    let s = TestServer::start(&[]).await;

    let mut a1 = SseClient::connect(&stream_url(&s, ALICE), None).await;
    assert_eq!(next_count(&mut a1, SECS5).await, Some(1));

    // A second stream of the same browser (a tab that cannot share): still one browser.
    let mut a2 = SseClient::connect(&stream_url(&s, ALICE), None).await;
    assert_eq!(next_count(&mut a2, SECS5).await, Some(1));
    assert_eq!(s.metric("pulse_presence_browsers").await, 1.0);

    // Another browser: both see two.
    let mut b = SseClient::connect(&stream_url(&s, BOB), None).await;
    assert_eq!(next_count(&mut b, SECS5).await, Some(2));
    assert_eq!(next_count(&mut a1, SECS5).await, Some(2));
    assert_eq!(next_count(&mut a2, SECS5).await, Some(2));

    // Presence frames carry no id: events still resume by their own ids.
    let id = s.publish("t", r#"{"n":1}"#).await;
    let ev = a1.next_event(SECS5).await.expect("the event");
    assert_eq!((ev.event.as_str(), ev.id), ("t", Some(id.to_string())));

    // Bob closes his stream: the others are told at once.
    drop(b);
    assert_eq!(next_count(&mut a1, SECS5).await, Some(1));
    // Alice closing one of her two streams changes nothing.
    drop(a2);
    assert_eq!(
        next_count(&mut a1, Duration::from_millis(500)).await,
        None,
        "the count did not change"
    );
    assert_eq!(s.metric("pulse_presence_browsers").await, 1.0);
    drop(a1);
    let deadline = tokio::time::Instant::now() + SECS5;
    while s.metric("pulse_presence_browsers").await != 0.0 {
        assert!(tokio::time::Instant::now() < deadline, "never dropped to 0");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.stop().await.unwrap();
}

#[tokio::test]
async fn streams_without_a_browser_are_not_counted_and_bad_ids_are_refused() {
    let s = TestServer::start(&[]).await;
    let mut anonymous = SseClient::connect(&s.url("/api/events?topics=t"), None).await;
    let mut a = SseClient::connect(&stream_url(&s, ALICE), None).await;
    assert_eq!(next_count(&mut a, SECS5).await, Some(1));
    assert_eq!(
        next_count(&mut anonymous, Duration::from_millis(500)).await,
        None,
        "no presence frames for a stream that did not ask"
    );

    let res = reqwest::get(s.url("/api/events?topics=t&browser=not-an-id"))
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "bad_browser_id");
    assert_eq!(s.metric("pulse_presence_browsers").await, 1.0);
    s.stop().await.unwrap();
}

/// Reads counts until this one arrives; fails the test if it does not within `wait`.
async fn until_count(sub: &mut SseClient, want: u64, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = Vec::new();
    while seen.last() != Some(&want) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match next_count(sub, left).await {
            Some(n) => seen.push(n),
            None => panic!("wanted {want} watching, saw {seen:?}"),
        }
    }
}

#[tokio::test]
async fn with_redis_the_count_is_of_browsers_on_every_instance() {
    let dir = tempfile::tempdir().unwrap();
    let redis = common::servers::RedisServer::start(dir.path());
    let url = redis.url();
    let a = TestServer::start(&["--redis-url", &url, "--instance", "a"]).await;
    let b = TestServer::start(&["--redis-url", &url, "--instance", "b"]).await;
    // Within a heartbeat (3 s) a change on one instance shows on the other.
    let wait = Duration::from_secs(8);

    let mut alice_on_a = SseClient::connect(&stream_url(&a, ALICE), None).await;
    until_count(&mut alice_on_a, 1, wait).await;
    let mut bob_on_b = SseClient::connect(&stream_url(&b, BOB), None).await;
    until_count(&mut bob_on_b, 2, wait).await;
    until_count(&mut alice_on_a, 2, wait).await;

    // Alice's second stream lands on the other instance: still two browsers.
    let mut alice_on_b = SseClient::connect(&stream_url(&b, ALICE), None).await;
    until_count(&mut alice_on_b, 2, wait).await;
    assert_eq!(b.metric("pulse_presence_browsers").await, 2.0);

    // Bob leaves: both instances come down to one.
    drop(bob_on_b);
    until_count(&mut alice_on_b, 1, wait).await;
    until_count(&mut alice_on_a, 1, wait).await;

    // An instance that stops takes its browsers out of the count: Alice is left on `a` only.
    drop(alice_on_b);
    let mut carol_on_b =
        SseClient::connect(&stream_url(&b, "cccccccccccccccccccccccccccccccc"), None).await;
    until_count(&mut carol_on_b, 2, wait).await;
    a.stop().await.unwrap();
    drop(alice_on_a);
    until_count(&mut carol_on_b, 1, wait).await;
    b.stop().await.unwrap();
}
