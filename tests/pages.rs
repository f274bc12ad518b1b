//! Every page finishes loading, however many are rendered at once.
//!
//! A page is rendered on whichever tokio worker polls its response, and a render that waits
//! (a resource, a slow client) can move between workers. A value bound to the thread it was
//! made on, made during a render and dropped on another worker, panicked in the middle of the
//! response: the browser's page never finished loading (1 request in 14 on `/notifications`,
//! and pages over HTTP/2). Many concurrent renders on a two-worker runtime make such moves
//! common enough to see in one run.

mod common;

use std::time::Duration;

use common::{TestServer, TOKEN};
use futures::future::join_all;

const PAGES: [&str; 7] = [
    "/",
    "/stocks",
    "/scores",
    "/feed",
    "/monitor",
    "/jobs",
    "/notifications",
];

/// Fetches `path` and returns why it is not a whole page, if it is not.
async fn incomplete(client: &reqwest::Client, url: String) -> Option<String> {
    let fetched = tokio::time::timeout(Duration::from_secs(5), async {
        let response = client.get(&url).send().await?;
        let status = response.status();
        response.text().await.map(|body| (status, body))
    })
    .await;
    match fetched {
        Err(_) => Some(format!("{url}: no whole response within 5 s")),
        Ok(Err(e)) => Some(format!("{url}: {e}")),
        Ok(Ok((status, _))) if status != 200 => Some(format!("{url}: status {status}")),
        Ok(Ok((_, body))) if !body.contains("</html>") => Some(format!(
            "{url}: the page stops after {} bytes: …{}",
            body.len(),
            &body[body.len().saturating_sub(120)..]
        )),
        Ok(Ok(_)) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_finishes_loading_under_concurrent_renders() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, root) = common::self_signed(certs.path());
    // Plain HTTP/1.1, and HTTPS where HTTP/2 runs each request as a task of its own.
    let plain = TestServer::start(&[]).await;
    let tls = TestServer::start(&["--tls-cert", &cert, "--tls-key", &key]).await;
    let h1 = (reqwest::Client::new(), plain.url(""));
    let h2 = (
        reqwest::Client::builder()
            .add_root_certificate(root)
            .resolve("localhost", tls.addr)
            .build()
            .unwrap(),
        format!("https://localhost:{}", tls.addr.port()),
    );
    // A few notices, so `/notifications` has a history to render.
    for (client, base) in [&h1, &h2] {
        for i in 0..5 {
            let published = client
                .post(format!("{base}/api/topics/notifications/events"))
                .bearer_auth(TOKEN)
                .body(format!(
                    r#"{{"level":"info","title":"notice {i}","body":"b","source":"test"}}"#
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(published.status(), 202);
        }
    }
    const CLIENTS: usize = 8;
    const ROUNDS: usize = 20;
    let total = CLIENTS * ROUNDS * PAGES.len();
    // Bounded: CLIENTS × ROUNDS × every page, each within 5 s.
    let clients = (0..CLIENTS).map(|n| {
        let (client, base) = if n % 2 == 0 { h1.clone() } else { h2.clone() };
        async move {
            let mut failures = Vec::new();
            for _ in 0..ROUNDS {
                for page in PAGES {
                    if let Some(why) = incomplete(&client, format!("{base}{page}")).await {
                        failures.push(why);
                    }
                }
            }
            failures
        }
    });
    let failures: Vec<String> = join_all(clients).await.into_iter().flatten().collect();
    assert!(
        failures.is_empty(),
        "{} of {total} page loads never finished, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    plain.stop().await.unwrap();
    tls.stop().await.unwrap();
}
