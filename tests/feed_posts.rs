//! The feed over real HTTP: posts kept in SQLite across restarts (beyond the event history),
//! the `create_post` / `older_posts` server functions' validation and rate limit, and markup or
//! SSE control characters in a post staying inert text in the HTML and on the stream.

mod common;

use std::time::Duration;

use common::{TestServer, SECS5};
use pulse::event::Post;

/// Calls a server function the way a browser form does (URL-encoded body).
async fn call(server: &TestServer, name: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = reqwest::Client::new()
        .post(server.url(&format!("/api/fn/{name}")))
        .form(form)
        .send()
        .await
        .expect("server function request");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

async fn page(server: &TestServer, path: &str) -> String {
    reqwest::get(server.url(path))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn posts_survive_a_restart_even_beyond_the_event_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), &["--history", "4"]).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let body = format!(r#"{{"author":"ann","text":"kept post {i}"}}"#);
        ids.push(server.publish("feed", &body).await);
    }
    let (status, body) = call(
        &server,
        "create_post",
        &[("author", "bob"), ("text", "from the form")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Push every post out of the 4-event history.
    for i in 0..8 {
        server.publish("other", &format!(r#"{{"n":{i}}}"#)).await;
    }
    server.stop().await.unwrap();

    let server = TestServer::start_in(dir.path(), &["--history", "4"]).await;
    let html = page(&server, "/feed").await;
    for i in 0..6 {
        assert!(
            html.contains(&format!("kept post {i}")),
            "post {i} missing after restart"
        );
    }
    assert!(html.contains("from the form"));
    assert!(
        html.find("from the form").unwrap() < html.find("kept post 5").unwrap(),
        "newest first"
    );

    // Older pages come from the posts table, newest first.
    let before = ids[3].to_string();
    let (status, body) = call(&server, "older_posts", &[("before", &before)]).await;
    assert_eq!(status, 200, "{body}");
    let older: Vec<Post> = serde_json::from_str(&body).unwrap();
    let texts: Vec<&str> = older.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["kept post 2", "kept post 1", "kept post 0"]);
    assert_eq!(older[0].id, ids[2]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_form_checks_lengths_and_rate_limits_each_client() {
    let server = TestServer::start(&["--feed-burst", "2", "--feed-posts-per-minute", "1"]).await;
    let (status, body) = call(&server, "create_post", &[("author", " "), ("text", "hi")]).await;
    assert_eq!(status, 400);
    assert!(body.contains("author is empty"), "{body}");
    let long = "x".repeat(501);
    let (status, body) = call(
        &server,
        "create_post",
        &[("author", "ann"), ("text", &long)],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("text is 501 characters long; the limit is 500"),
        "{body}"
    );

    for i in 0..2 {
        let text = format!("burst {i}");
        let (status, body) = call(
            &server,
            "create_post",
            &[("author", "ann"), ("text", &text)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = call(
        &server,
        "create_post",
        &[("author", "ann"), ("text", "one too many")],
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("RateLimited") && body.contains("retry_after_secs"),
        "{body}"
    );
    // Refused posts never reach the feed.
    let html = page(&server, "/feed").await;
    assert!(html.contains("burst 1") && !html.contains("one too many"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn markup_in_posts_is_escaped_in_html_and_the_embedded_snapshot() {
    let server = TestServer::start(&[]).await;
    let body = serde_json::json!({
        "author": "<img src=x onerror=alert(1)>",
        "text": "</script><script>alert(1)</script>",
    });
    server.publish("feed", &body.to_string()).await;
    let html = page(&server, "/feed").await;
    assert!(!html.contains("<script>alert(1)"), "raw script in the page");
    assert!(!html.contains("<img src=x"), "raw img in the page");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The snapshot JSON for hydration carries it with `<` escaped.
    assert!(html.contains(r"\u003c/script>\u003cscript>alert(1)\u003c/script>"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn line_breaks_in_a_post_stay_inside_one_feed_event() {
    let server = TestServer::start(&[]).await;
    let mut sse =
        common::SseClient::connect(&server.url("/api/events?topics=feed,stocks"), None).await;
    let text = "a\r\n\r\nevent: stocks\ndata: {\"symbol\":\"EVIL\",\"price\":1}\n\nid: 999\rb";
    let body = serde_json::json!({ "author": "crlf\nid: 5", "text": text });
    let id = server.publish("feed", &body.to_string()).await;
    let events = sse.take(1, SECS5).await;
    assert_eq!(events[0].event, "feed");
    assert_eq!(events[0].id.as_deref(), Some(id.to_string().as_str()));
    let post: serde_json::Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(post["text"], text);
    assert_eq!(post["author"], "crlf\nid: 5");
    assert!(
        sse.next_event(Duration::from_millis(300)).await.is_none(),
        "no second event"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn posts_missing_from_the_table_are_copied_from_the_event_log_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), &[]).await;
    for i in 0..3 {
        server
            .publish(
                "feed",
                &format!(r#"{{"author":"ann","text":"logged {i}"}}"#),
            )
            .await;
    }
    server.stop().await.unwrap();
    // As if the process had died after the event log's write but before the posts table's.
    for name in ["posts.db", "posts.db-wal", "posts.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    let server = TestServer::start_in(dir.path(), &[]).await;
    let (status, body) = call(&server, "older_posts", &[("before", &u64::MAX.to_string())]).await;
    assert_eq!(status, 200, "{body}");
    let posts: Vec<Post> = serde_json::from_str(&body).unwrap();
    let texts: Vec<&str> = posts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["logged 2", "logged 1", "logged 0"]);
    server.stop().await.unwrap();
}
