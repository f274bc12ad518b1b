//! `POST /api/topics/{topic}/events`: every error code, and that a refused publish changes
//! nothing. Plus snapshots, health, metrics and the server-rendered page.

mod common;

use common::*;

async fn last_id(s: &TestServer) -> u64 {
    let v: serde_json::Value = reqwest::get(s.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["last_id"].as_u64().unwrap()
}

async fn post(
    s: &TestServer,
    topic: &str,
    auth: Option<&str>,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .post(s.url(&format!("/api/topics/{topic}/events")))
        .body(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

#[tokio::test]
async fn publish_errors_have_the_right_status_and_change_nothing() {
    let s = TestServer::start(&[]).await;
    let ok = br#"{"symbol":"ACME","price":12.34}"#.to_vec();
    let bearer = format!("Bearer {TOKEN}");
    let before = last_id(&s).await;
    let long_topic = "x".repeat(65);

    let cases: Vec<(&str, Option<String>, Vec<u8>, u16)> = vec![
        ("stocks", None, ok.clone(), 401),
        ("stocks", Some("Bearer wrong".into()), ok.clone(), 401),
        ("stocks", Some(format!("Bearer {TOKEN}x")), ok.clone(), 401),
        ("stocks", Some(format!("Basic {TOKEN}")), ok.clone(), 401),
        ("Stocks", Some(bearer.clone()), ok.clone(), 422),
        ("a%20b", Some(bearer.clone()), ok.clone(), 422),
        (&long_topic, Some(bearer.clone()), ok.clone(), 422),
        // the stream's own control events: a topic by those names would be read as one
        ("reset", Some(bearer.clone()), br#"{"id":1}"#.to_vec(), 422),
        (
            "presence",
            Some(bearer.clone()),
            br#"{"n":1}"#.to_vec(),
            422,
        ),
        ("stocks", Some(bearer.clone()), b"{not json".to_vec(), 400),
        (
            "stocks",
            Some(bearer.clone()),
            br#"{"symbol":"ACME","price":1} trailing"#.to_vec(),
            400,
        ),
        (
            "stocks",
            Some(bearer.clone()),
            br#"{"symbol":"ACME"}"#.to_vec(),
            400,
        ),
        (
            "stocks",
            Some(bearer.clone()),
            br#"{"symbol":"ACME","price":"1"}"#.to_vec(),
            400,
        ),
        ("custom", Some(bearer.clone()), b"[1,2,3]".to_vec(), 400),
        ("custom", Some(bearer.clone()), b"".to_vec(), 400),
        (
            "custom",
            Some(bearer.clone()),
            format!(r#"{{"big":"{}"}}"#, "x".repeat(70 * 1024)).into_bytes(),
            413,
        ),
    ];
    for (topic, auth, body, want) in cases {
        let (status, json) = post(&s, topic, auth.as_deref(), body).await;
        assert_eq!(status, want, "{topic} {auth:?} -> {json}");
        assert!(
            json["error"].is_string() && json["detail"].is_string(),
            "{json}"
        );
    }
    assert_eq!(
        last_id(&s).await,
        before,
        "refused publishes stored nothing"
    );
    let (_, json) = post(&s, "reset", Some(&bearer), b"{}".to_vec()).await;
    assert!(
        json["detail"].as_str().unwrap().contains("reserved"),
        "{json}"
    );
    let res = reqwest::get(s.url("/api/events?topics=stocks,reset"))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400, "subscribing to a reserved name");
    let json: serde_json::Value = res.json().await.unwrap();
    assert!(
        json["detail"].as_str().unwrap().contains("reserved"),
        "{json}"
    );

    let (status, json) = post(&s, "stocks", Some(&bearer), ok).await;
    assert_eq!(status, 202);
    assert_eq!(json["id"], before + 1);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    let s = TestServer::start(&["--max-body", "1024"]).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![b' '; 512])).collect();
    let res = reqwest::Client::new()
        .post(s.url("/api/topics/custom/events"))
        .bearer_auth(TOKEN)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(last_id(&s).await, 0);
}

#[tokio::test]
async fn snapshots_health_and_metrics() {
    let s = TestServer::start(&[]).await;
    s.publish("stocks", r#"{"symbol":"ACME","price":10}"#).await;
    let id = s
        .publish("stocks", r#"{"symbol":"ACME","price":12.5}"#)
        .await;
    let snap: serde_json::Value = reqwest::get(s.url("/api/topics/stocks/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snap["id"], id);
    assert_eq!(snap["state"]["quotes"]["ACME"]["price"], 12.5);
    assert_eq!(snap["state"]["quotes"]["ACME"]["high"], 12.5);
    assert_eq!(snap["state"]["quotes"]["ACME"]["open"], 10.0);

    let custom_id = s.publish("orders.eu", r#"{"total":3}"#).await;
    let snap: serde_json::Value = reqwest::get(s.url("/api/topics/orders.eu/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snap["state"]["last"]["total"], 3);
    assert_eq!(snap["state"]["last_id"], custom_id);
    assert_eq!(
        reqwest::get(s.url("/api/topics/BAD/snapshot"))
            .await
            .unwrap()
            .status(),
        422
    );

    assert_eq!(reqwest::get(s.url("/healthz")).await.unwrap().status(), 200);
    let metrics = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("pulse_"), "{line}");
    }
    assert_eq!(s.metric("pulse_events_published_total").await, 3.0);
    assert_eq!(s.metric("pulse_publish_ack_seconds_count").await, 3.0);
}

#[tokio::test]
async fn stocks_page_is_server_rendered_from_the_snapshot() {
    let s = TestServer::start(&[]).await;
    s.publish("stocks", r#"{"symbol":"ACME","price":12.34}"#)
        .await;
    let id = s.publish("stocks", r#"{"symbol":"ZED","price":7}"#).await;
    let html = reqwest::get(s.url("/stocks"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"data-testid="stock-row""#), "{html}");
    assert!(html.contains(r#"data-symbol="ACME""#));
    assert!(html.contains(">12.34<"));
    assert!(html.contains(r#"data-testid="connection""#));
    assert!(html.contains(r#"id="pulse-snapshot""#));
    assert!(
        html.contains(&format!(r#""id":{id}"#)),
        "snapshot carries its id"
    );
    let missing = reqwest::get(s.url("/no-such-page")).await.unwrap();
    assert_eq!(missing.status(), 404);
}
