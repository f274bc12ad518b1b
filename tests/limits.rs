//! Connection and resource limits, tried the way an anonymous client would abuse them: too
//! many streams, forged forwarding headers, slow and oversized request heads, slow bodies,
//! never-reading replays, huge topic lists, publish floods, unbounded symbols and topics, a
//! fresh log; and the built-in HTTPS with HTTP/2. Each test checks the answer (status, JSON
//! error, `Retry-After`) and that the server and its other clients carry on unchanged.
//!
//! Memory figures come from the real binary started as a child process (`VmRSS` in
//! `/proc/<pid>/status`); run with `--nocapture` to see them.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::process::free_port;
use common::{SseClient, TestServer, SECS5, TOKEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The tests that run the binary as a child process and measure memory or latency take turns,
/// so their figures are their own and not their neighbours'.
static MEASURED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// GETs `url` from the loopback address `from`, with extra headers; the response unread.
async fn get_from(url: &str, from: IpAddr, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .local_address(from)
        .build()
        .unwrap();
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}

/// Status, `Retry-After` and the JSON body of a refusal.
async fn refusal(res: reqwest::Response) -> (u16, Option<String>, serde_json::Value) {
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, retry, body)
}

async fn healthz_ms(base: &str) -> (u16, u128) {
    let started = Instant::now();
    let status = reqwest::get(format!("{base}/healthz"))
        .await
        .map_or(0, |r| r.status().as_u16());
    (status, started.elapsed().as_millis())
}

// ---------------------------------------------------------------------------------------------
// Streams per client address and in total

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_streams_per_address_get_429_and_in_total_503() {
    let s = TestServer::start(&["--max-streams-per-client", "3", "--max-streams", "5"]).await;
    let url = s.url("/api/events?topics=t");
    // Three streams from 127.0.0.1, two from 127.0.0.2: the total of five is reached.
    let mut open = Vec::new();
    for from in [
        "127.0.0.1",
        "127.0.0.1",
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.2",
    ] {
        let res = get_from(&url, ip(from), &[]).await;
        assert_eq!(res.status(), 200);
        open.push(res);
    }
    let (status, retry, body) = refusal(get_from(&url, ip("127.0.0.1"), &[]).await).await;
    assert_eq!(status, 429);
    assert_eq!(retry.as_deref(), Some("5"));
    assert_eq!(body["error"], "too_many_streams");
    assert!(
        body["detail"].as_str().unwrap().contains("3 streams"),
        "{body}"
    );

    let (status, retry, body) = refusal(get_from(&url, ip("127.0.0.3"), &[]).await).await;
    assert_eq!(status, 503);
    assert_eq!(retry.as_deref(), Some("5"));
    assert_eq!(body["error"], "server_busy");

    // At the cap: health and metrics still answer, the refused streams left nothing behind,
    // and the streams already open still get every event.
    let (status, _) = healthz_ms(&format!("http://{}", s.addr)).await;
    assert_eq!(status, 200);
    assert_eq!(s.metric("pulse_subscribers").await, 5.0);
    let mut subs: Vec<_> = open
        .into_iter()
        .map(|r| {
            use futures::StreamExt;
            r.bytes_stream().boxed()
        })
        .collect();
    let id = s.publish("t", r#"{"n":1}"#).await;
    for body in &mut subs {
        let mut seen = String::new();
        let deadline = Instant::now() + SECS5;
        while !seen.contains(&format!("id: {id}\n")) {
            use futures::StreamExt;
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, body.next())
                .await
                .expect("event in time")
                .unwrap()
                .unwrap();
            seen.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
    // A closed stream gives its place back (once the server sees the connection close).
    drop(subs.pop());
    let deadline = Instant::now() + SECS5;
    loop {
        let res = get_from(&url, ip("127.0.0.3"), &[]).await;
        if res.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the place never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Client address: forwarding headers only from trusted proxies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarded_for_does_not_escape_a_per_address_limit() {
    let args = ["--max-streams-per-client", "2", "--feed-burst", "1"];
    let s = TestServer::start(&args).await;
    let url = s.url("/api/events?topics=t");
    let _a = get_from(&url, ip("127.0.0.1"), &[]).await;
    let _b = get_from(&url, ip("127.0.0.1"), &[]).await;
    for forged in [
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9"),
    ] {
        let (status, _, body) = refusal(get_from(&url, ip("127.0.0.1"), &[forged]).await).await;
        assert_eq!(status, 429, "{forged:?} was believed");
        assert_eq!(body["error"], "too_many_streams");
    }
    // The feed's post limit (burst 1) counts the same address, header or not.
    let post = |xff: &'static str| {
        let url = s.url("/api/fn/create_post");
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", xff)
                .form(&[("author", "ann"), ("text", "hi")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post("198.51.100.1").await, 200);
    assert_eq!(
        post("198.51.100.2").await,
        429,
        "a new forged address is no new client"
    );
    s.stop().await.unwrap();

    // Behind a trusted proxy, the address it names is the client.
    let mut args = args.to_vec();
    args.extend(["--trusted-proxy", "127.0.0.1"]);
    let s = TestServer::start(&args).await;
    let url = s.url("/api/events?topics=t");
    let as_a = [("x-forwarded-for", "198.51.100.7")];
    let _a1 = get_from(&url, ip("127.0.0.1"), &as_a).await;
    let _a2 = get_from(&url, ip("127.0.0.1"), &as_a).await;
    let (status, _, _) = refusal(get_from(&url, ip("127.0.0.1"), &as_a).await).await;
    assert_eq!(status, 429, "client A is at its limit");
    // A client that prepends someone else's address is still itself (read from the right).
    let forged = [("x-forwarded-for", "198.51.100.99, 198.51.100.7")];
    let (status, _, _) = refusal(get_from(&url, ip("127.0.0.1"), &forged).await).await;
    assert_eq!(status, 429, "a prepended address is ignored");
    let as_b = [("forwarded", "for=\"198.51.100.8:5555\"")];
    let _b = get_from(&url, ip("127.0.0.1"), &as_b).await;
    // The same header from another, untrusted peer is not believed.
    let other = get_from(&url, ip("127.0.0.2"), &as_a).await;
    assert_eq!(other.status(), 200, "127.0.0.2 is itself, not client A");
    assert_eq!(s.metric("pulse_subscribers").await, 4.0);
    // The feed's post limit counts the client the proxy names, too.
    let post = |xff: &'static str| {
        let url = s.url("/api/fn/create_post");
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", xff)
                .form(&[("author", "ann"), ("text", "hi")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post("198.51.100.7").await, 200);
    assert_eq!(post("198.51.100.7").await, 429, "client A used its burst");
    assert_eq!(post("198.51.100.8").await, 200, "client B has its own");
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Request heads and bodies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_dripped_byte_by_byte_is_closed_after_the_header_timeout() {
    let s = TestServer::start(&["--header-timeout-ms", "600"]).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut closed_after = None;
    // One byte every 100 ms, for at most 5 s.
    for b in b"X-Slow: ".iter().cycle().take(50) {
        if tcp.write_all(&[*b]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(100), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(n)) => panic!(
                "answered before the head was complete: {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(_) => {}
        }
    }
    let closed_after = closed_after.expect("the dripping connection was never closed");
    assert!(
        closed_after < Duration::from_millis(2000),
        "closed only after {closed_after:?}"
    );
    let (status, _) = healthz_ms(&format!("http://{}", s.addr)).await;
    assert_eq!(status, 200, "everyone else is served meanwhile");
    s.stop().await.unwrap();
}

/// Sends `head` on a new connection and returns the status line of the answer.
async fn status_line(addr: SocketAddr, head: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let _ = tcp.write_all(head).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(SECS5, tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_head_gets_431_and_a_long_url_414() {
    let s = TestServer::start(&[]).await;
    let big = "x".repeat(40 * 1024);
    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let line = status_line(s.addr, head.as_bytes()).await;
    assert!(line.starts_with("HTTP/1.1 431"), "{line}");
    // A 64 KB topic list is a head over the cap too: refused before it is parsed.
    let topics = vec!["t"; 32 * 1024].join(",");
    let head = format!("GET /api/events?topics={topics} HTTP/1.1\r\nHost: x\r\n\r\n");
    let line = status_line(s.addr, head.as_bytes()).await;
    assert!(line.starts_with("HTTP/1.1 431"), "{line}");

    // A target between the URL cap (8 KiB) and the head cap: 414 with a JSON error.
    let res = reqwest::get(s.url(&format!("/healthz?pad={}", "y".repeat(10 * 1024))))
        .await
        .unwrap();
    let (status, _, body) = refusal(res).await;
    assert_eq!(status, 414);
    assert_eq!(body["error"], "uri_too_long");
    let (status, _) = healthz_ms(&format!("http://{}", s.addr)).await;
    assert_eq!(status, 200);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_gets_408_and_is_not_stored() {
    let s = TestServer::start(&["--body-timeout-ms", "500"]).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /api/topics/t/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"n\":"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(SECS5, tcp.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""error":"body_timeout""#), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let health: serde_json::Value = reqwest::get(s.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["last_id"], 0, "nothing was stored");
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Topic lists

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_topic_list_is_refused_fast_and_health_stays_quick() {
    let _turn = MEASURED.lock().await;
    // Heads and URLs of 128 KiB allowed, so a 64 KB topic list reaches the topic parser (with
    // the defaults it is refused even earlier, as an oversized head: 431).
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args = ["--max-header-bytes", "131072", "--max-url-bytes", "131072"];
    let _child = spawn_pulse(dir.path(), port, &args, 4096);
    let base = format!("http://127.0.0.1:{port}");
    // ~64 KB (hyper's own bound on a request target is 65,534 bytes): 32,000 one-letter
    // topics, all the same (de-duplication used to be quadratic).
    let huge = vec!["t"; 32_000].join(",");
    // Raw requests, built once, so the attackers cost this process little and the server's
    // cost is what the probe feels.
    let request = std::sync::Arc::new(format!(
        "GET /api/events?topics={huge} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut attackers = Vec::new();
    for _ in 0..20 {
        let (request, stop) = (request.clone(), stop.clone());
        attackers.push(tokio::spawn(async move {
            let (mut statuses, mut n) = (std::collections::BTreeSet::new(), 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 500 {
                let line = status_line(addr, request.as_bytes()).await;
                if let Some(code) = line.split(' ').nth(1) {
                    statuses.insert(code.parse::<u16>().unwrap_or(0));
                }
                n += 1;
            }
            (statuses, n)
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut probes = Vec::new();
    for _ in 0..10 {
        let (status, ms) = healthz_ms(&base).await;
        assert_eq!(status, 200);
        probes.push(ms);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut statuses, mut sent) = (std::collections::BTreeSet::new(), 0);
    for a in attackers {
        let (st, n) = a.await.unwrap();
        statuses.extend(st);
        sent += n;
    }
    probes.sort_unstable();
    let (median, slowest) = (probes[probes.len() / 2], probes[probes.len() - 1]);
    eprintln!(
        "/healthz while 20 clients sent {sent} requests with a 64 KB topic list: median of 10 \
         probes {median} ms, slowest {slowest} ms (debug build); answers {statuses:?}"
    );
    assert!(median < 200, "/healthz took {median} ms (median)");
    assert!(slowest < 500, "/healthz took {slowest} ms");
    assert_eq!(statuses, [400].into(), "only refusals");

    let res = reqwest::get(format!("{base}/api/events?topics={huge}"))
        .await
        .unwrap();
    let (status, _, body) = refusal(res).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "bad_topics");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("at most 32") && detail.len() < 200,
        "{detail}"
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("pulse_subscribers 0\n"),
        "no stream was opened"
    );
}

// ---------------------------------------------------------------------------------------------
// Publish rate per token

#[tokio::test]
async fn publishing_faster_than_the_token_may_gets_429() {
    let s = TestServer::start(&["--publish-rate", "0.5", "--publish-burst", "2"]).await;
    s.publish("t", r#"{"n":1}"#).await;
    let last = s.publish("t", r#"{"n":2}"#).await;
    let res = reqwest::Client::new()
        .post(s.url("/api/topics/t/events"))
        .bearer_auth(TOKEN)
        .body(r#"{"n":3}"#)
        .send()
        .await
        .unwrap();
    let (status, retry, body) = refusal(res).await;
    assert_eq!(status, 429);
    assert_eq!(retry.as_deref(), Some("2"), "one publish every 2 s");
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(s.metric("pulse_last_event_id").await, last as f64);
    // A wrong token is refused as before (401), not counted against the real one.
    let (status, _) = {
        let res = reqwest::Client::new()
            .post(s.url("/api/topics/t/events"))
            .bearer_auth("wrong")
            .body("{}")
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), ())
    };
    assert_eq!(status, 401);
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Bounded state

#[tokio::test]
async fn stock_symbols_and_custom_topics_are_capped_least_recent_first() {
    let s = TestServer::start(&["--max-stock-symbols", "3", "--max-custom-topics", "2"]).await;
    for (sym, price) in [
        ("AAA", 1.0),
        ("BBB", 2.0),
        ("CCC", 3.0),
        ("AAA", 1.5),
        ("DDD", 4.0),
    ] {
        s.publish(
            "stocks",
            &format!(r#"{{"symbol":"{sym}","price":{price}}}"#),
        )
        .await;
    }
    let snap: serde_json::Value = reqwest::get(s.url("/api/topics/stocks/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut symbols: Vec<&str> = snap["state"]["quotes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    symbols.sort();
    assert_eq!(
        symbols,
        ["AAA", "CCC", "DDD"],
        "BBB was updated longest ago"
    );
    assert_eq!(snap["state"]["quotes"]["AAA"]["price"], 1.5);
    assert_eq!(
        snap["state"]["max_symbols"], 3,
        "the bound reaches the browser"
    );

    for topic in ["one", "two", "one", "three"] {
        s.publish(topic, r#"{"x":1}"#).await;
    }
    let last_id = |topic: &'static str| {
        let url = s.url(&format!("/api/topics/{topic}/snapshot"));
        async move {
            let snap: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            snap["state"]["last_id"].clone()
        }
    };
    assert_eq!(
        last_id("two").await,
        serde_json::Value::Null,
        "`two` was published longest ago"
    );
    assert!(last_id("one").await.is_u64());
    assert!(last_id("three").await.is_u64());
    assert_eq!(s.metric("pulse_custom_topics").await, 2.0);
    // A forgotten topic's events are still in the history: a resume replays them.
    let mut sub = SseClient::connect(&s.url("/api/events?topics=two&since=0"), None).await;
    assert_eq!(sub.take(1, SECS5).await[0].event, "two");
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Ids after a fresh log

#[tokio::test]
async fn after_fresh_log_ids_are_larger_and_new_posts_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestServer::start_in(dir.path(), &[]).await;
    let mut old = Vec::new();
    for i in 0..3 {
        old.push(
            first
                .publish("feed", &format!(r#"{{"author":"ann","text":"old {i}"}}"#))
                .await,
        );
    }
    first.stop().await.unwrap();

    let second = TestServer::start_in(dir.path(), &["--fresh-log"]).await;
    let new = second
        .publish("feed", r#"{"author":"bob","text":"after the fresh log"}"#)
        .await;
    assert!(new > *old.last().unwrap(), "id {new} after {old:?}");
    second.stop().await.unwrap();

    let posts = rusqlite::Connection::open(dir.path().join("posts.db")).unwrap();
    let stored: Vec<(u64, String)> = posts
        .prepare("SELECT id, text FROM posts ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert_eq!(stored[3], (new, "after the fresh log".to_owned()));
    assert_eq!(stored[0], (old[0], "old 0".to_owned()), "old posts kept");
}

// ---------------------------------------------------------------------------------------------
// The real binary: connection cap, memory under slow heads, never-reading replays

/// The `pulse` binary on `port`, with `args`, at most `nofile` open files; waits for /healthz.
fn spawn_pulse(dir: &std::path::Path, port: u16, args: &[&str], nofile: u32) -> Killed {
    let child = Killed(
        Command::new("sh")
            .arg("-c")
            .arg(format!(r#"ulimit -n {nofile} && exec "$0" "$@""#))
            .arg(env!("CARGO_BIN_EXE_pulse"))
            .args(args)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "pulse")
            .env("PULSE_DATA_DIR", dir)
            .env("PULSE_PUBLISH_TOKEN", TOKEN)
            .env("PULSE_STOCKS_RATE", "0")
            .env("PULSE_SCORES_GAMES", "0")
            .env("PULSE_MONITOR_INTERVAL_MS", "0")
            .env("PULSE_SYNC", "normal")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start pulse"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        assert!(Instant::now() < deadline, "pulse did not start on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Opens a stream with a raw request and reads only the response head.
async fn raw_stream(addr: SocketAddr, path: &str) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(SECS5, tcp.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap_or(0);
    (tcp, String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_health_still_answers_and_nothing_runs_out() {
    let _turn = MEASURED.lock().await;
    // 256 open files: an eighth (32) is kept for files, 16 for the overflow, 208 for clients.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // No stream limits: the connection cap is what this test reaches.
    let args = [
        "--max-streams-per-client",
        "0",
        "--max-streams",
        "100000",
        "--header-timeout-ms",
        "30000",
    ];
    let child = spawn_pulse(dir.path(), port, &args, 256);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let base = format!("http://{addr}");
    let before = rss_kib(child.0.id());

    // Open streams until the server stops accepting them (bounded: 400 tries).
    let mut held = Vec::new();
    let mut next = String::new();
    for _ in 0..400 {
        let (mut tcp, head) = raw_stream(addr, "/api/events?topics=t").await;
        if head.starts_with("HTTP/1.1 200") {
            held.push(tcp);
        } else {
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(SECS5, tcp.read_to_end(&mut rest)).await;
            next = head + &String::from_utf8_lossy(&rest);
            break;
        }
    }
    let cap = held.len();
    assert_eq!(
        cap,
        256 - 32 - 16,
        "the cap is the open-file limit minus the reserves"
    );
    assert!(next.starts_with("HTTP/1.1 503"), "{next}");
    assert!(next.contains("over_capacity"), "{next}");

    // The health check gets through at the cap, and so do the metrics.
    let (status, ms) = healthz_ms(&base).await;
    assert_eq!(status, 200);
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("pulse_connections {cap}")),
        "{metrics}"
    );

    // Flood past the overflow too: the extra connections are closed at once, nothing runs out.
    let mut flood = Vec::new();
    for _ in 0..40 {
        if let Ok(tcp) = TcpStream::connect(addr).await {
            flood.push(tcp);
        }
    }
    let reads = flood.iter_mut().map(|tcp| async move {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    });
    let closed_at_once = futures::future::join_all(reads)
        .await
        .into_iter()
        .filter(|closed| *closed)
        .count();
    // Once the restricted slots turn over (at most 2 s), health answers again.
    let started = Instant::now();
    let mut health_after_flood = None;
    while started.elapsed() < Duration::from_secs(4) {
        let (status, _) = healthz_ms(&base).await;
        if status == 200 {
            health_after_flood = Some(started.elapsed().as_millis());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health_after_flood = health_after_flood.expect("/healthz answered again within 4 s");
    let rss = rss_kib(child.0.id());
    eprintln!(
        "connection cap: {cap} streams held (limit 256 open files); next stream: {}; \
         /healthz at the cap: 200 in {ms} ms; flood of 40 more: {closed_at_once} closed at once, \
         /healthz 200 again after {health_after_flood} ms; RSS {before} -> {rss} KiB",
        next.lines().next().unwrap_or_default()
    );
    assert!(
        closed_at_once >= 20,
        "{closed_at_once} of 40 closed at once"
    );

    // The held streams are all alive: each gets the next event. (A publish at the cap is
    // refused like any other request, so one stream makes room for it first.)
    drop(flood);
    drop(held.pop());
    let deadline = Instant::now() + SECS5;
    loop {
        let res = reqwest::Client::new()
            .post(format!("{base}/api/topics/t/events"))
            .bearer_auth(TOKEN)
            .body(r#"{"n":1}"#)
            .send()
            .await
            .unwrap();
        if res.status() == 202 {
            break;
        }
        assert_eq!(res.status(), 503, "only refused for the cap");
        assert!(Instant::now() < deadline, "the freed place never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut got = 0;
    for tcp in &mut held {
        let mut buf = vec![0u8; 4096];
        let mut seen = String::new();
        let deadline = Instant::now() + SECS5;
        while !seen.contains("event: t") && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(1), tcp.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => break,
            }
        }
        got += usize::from(seen.contains("event: t"));
    }
    assert_eq!(got, cap - 1, "every held stream got the event");
}

/// Opens `n` connections that each send up to `bytes` of one request header that never ends;
/// returns the connections and how many the server refused (a `431`, or closed: a reset can
/// discard the `431` before the client reads it).
async fn unfinished_heads(
    addr: SocketAddr,
    n: usize,
    bytes: usize,
    answer_within: Duration,
) -> (Vec<TcpStream>, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(async move {
                let mut tcp = TcpStream::connect(addr).await.ok()?;
                tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: ")
                    .await
                    .ok()?;
                let chunk = vec![b'a'; 8 * 1024];
                let mut sent = 0;
                while sent < bytes {
                    let part = &chunk[..chunk.len().min(bytes - sent)];
                    let w = tokio::time::timeout(Duration::from_secs(2), tcp.write_all(part)).await;
                    if !matches!(w, Ok(Ok(()))) {
                        break;
                    }
                    sent += part.len();
                }
                let mut buf = [0u8; 64];
                let answered = match tokio::time::timeout(answer_within, tcp.read(&mut buf)).await {
                    Ok(Ok(n)) => n == 0 || buf[..n].starts_with(b"HTTP/1.1 431"),
                    Ok(Err(_)) => true,
                    Err(_) => false,
                };
                Some((tcp, answered))
            })
        })
        .collect();
    let (mut open, mut refused) = (Vec::new(), 0);
    for t in tasks {
        if let Some((tcp, answered)) = t.await.unwrap() {
            refused += usize::from(answered);
            open.push(tcp);
        }
    }
    (open, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_400_kb_heads_do_not_grow_memory() {
    let _turn = MEASURED.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args = ["--header-timeout-ms", "4000"];
    let child = spawn_pulse(dir.path(), port, &args, 4096);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let base = format!("http://{addr}");
    let pid = child.0.id();
    let before = rss_kib(pid);

    // 500 heads of 400 KB: each is refused once it passes the 32 KiB cap.
    let (big, refused) = unfinished_heads(addr, 500, 400 * 1024, SECS5).await;
    let after_big = rss_kib(pid);
    let (status, ms) = healthz_ms(&base).await;
    assert_eq!(status, 200);
    drop(big);

    // 500 heads of 30 KB, just under the cap, held open: the most a slow head can pin.
    let (held, answered) = unfinished_heads(addr, 500, 30 * 1024, Duration::ZERO).await;
    assert_eq!(answered, 0, "a head under the cap is waited for");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_held = rss_kib(pid);
    let (status2, ms2) = healthz_ms(&base).await;
    assert_eq!(status2, 200);
    eprintln!(
        "500 unfinished 400 KB heads: {refused} refused (431 or closed); server RSS {before} -> \
         {after_big} KiB (/healthz {ms} ms). 500 unfinished 30 KB heads held: RSS -> \
         {after_held} KiB (+{} KiB over the start; /healthz {ms2} ms)",
        after_held.saturating_sub(before)
    );
    assert_eq!(refused, 500, "every oversized head was refused");
    assert!(
        after_big.saturating_sub(before) < 64 * 1024,
        "RSS grew by {} KiB",
        after_big - before
    );
    assert!(
        after_held.saturating_sub(before) < 96 * 1024,
        "RSS grew by {} KiB",
        after_held - before
    );
    // The header timeout then closes every one of them.
    let reads = held.into_iter().map(|mut tcp| async move {
        let mut b = [0u8; 64];
        matches!(
            tokio::time::timeout(Duration::from_secs(8), tcp.read(&mut b)).await,
            Ok(Ok(_)) | Ok(Err(_))
        )
    });
    let closed = futures::future::join_all(reads)
        .await
        .into_iter()
        .filter(|c| *c)
        .count();
    assert_eq!(closed, 500, "closed by the header timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_reading_replays_pin_no_copy_of_the_history() {
    let _turn = MEASURED.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args = [
        "--history",
        "6000",
        "--publish-rate",
        "0",
        "--max-streams-per-client",
        "0",
        "--idle-timeout-secs",
        "3",
        "--heartbeat-secs",
        "1",
    ];
    let child = spawn_pulse(dir.path(), port, &args, 4096);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let base = format!("http://{addr}");
    // 5,000 events of 2 KB: a 10 MB history.
    let pad = "x".repeat(2000);
    let client = reqwest::Client::new();
    let mut publishers = Vec::new();
    for p in 0..8 {
        let (client, base, pad) = (client.clone(), base.clone(), pad.clone());
        publishers.push(tokio::spawn(async move {
            for n in 0..625 {
                let res = client
                    .post(format!("{base}/api/topics/t/events"))
                    .bearer_auth(TOKEN)
                    .body(format!(r#"{{"p":{p},"n":{n},"pad":"{pad}"}}"#))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 202);
            }
        }));
    }
    for p in publishers {
        p.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(child.0.id());
    // 50 streams replaying from 0 that never read past the response head, with a small
    // receive buffer so the server's writes back up at once.
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut tcp = socket.connect(addr).await.unwrap();
        tcp.write_all(b"GET /api/events?topics=t&since=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        stalled.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let during = rss_kib(child.0.id());
    // A reader that reads gets the whole replay, exactly, while the others stall.
    let mut reader = SseClient::connect(&format!("{base}/api/events?topics=t&since=0"), None).await;
    let all = reader.take(5000, Duration::from_secs(20)).await;
    let ids = common::ids(&all);
    assert_eq!(ids.len(), 5000);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicates"
    );
    eprintln!(
        "50 never-reading since=0 streams over a 5,000 x 2 KB history: server RSS {before} -> \
         {during} KiB (+{} KiB; a copy each would be ~500 MB)",
        during.saturating_sub(before)
    );
    assert!(
        during.saturating_sub(before) < 60 * 1024,
        "RSS grew by {} KiB",
        during - before
    );
    // The stalled streams move no bytes: the idle watchdog closes them and their places free.
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(10);
    let metric = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(-1.0)
    };
    loop {
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metric(&text, "pulse_connections_idle_closed_total") >= 50.0
            && metric(&text, "pulse_subscribers") == 0.0
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stalled streams not closed:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(stalled);
}

// ---------------------------------------------------------------------------------------------
// HTTPS with HTTP/2

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_the_stream_and_pages_over_http2_and_http1() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, root) = common::self_signed(certs.path());
    let s = TestServer::start(&["--tls-cert", &cert, "--tls-key", &key]).await;
    let base = format!("https://localhost:{}", s.addr.port());
    let h2 = reqwest::Client::builder()
        .add_root_certificate(root.clone())
        .resolve("localhost", s.addr)
        .build()
        .unwrap();
    let h1 = reqwest::Client::builder()
        .add_root_certificate(root)
        .resolve("localhost", s.addr)
        .http1_only()
        .build()
        .unwrap();
    for (client, version) in [
        (&h2, reqwest::Version::HTTP_2),
        (&h1, reqwest::Version::HTTP_11),
    ] {
        let page = client.get(format!("{base}/stocks")).send().await.unwrap();
        assert_eq!(page.version(), version);
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("pulse-snapshot"));

        let stream = client
            .get(format!("{base}/api/events?topics=t"))
            .send()
            .await
            .unwrap();
        assert_eq!(stream.version(), version);
        assert_eq!(stream.headers()["content-type"], "text/event-stream");
        let published = client
            .post(format!("{base}/api/topics/t/events"))
            .bearer_auth(TOKEN)
            .body(r#"{"over":"tls"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 202);
        let id = published.json::<serde_json::Value>().await.unwrap()["id"].clone();
        let mut parser = pulse::sse::parse::Parser::new();
        let mut body = {
            use futures::StreamExt;
            stream.bytes_stream().boxed()
        };
        let mut events = Vec::new();
        let deadline = Instant::now() + SECS5;
        while events.is_empty() && Instant::now() < deadline {
            use futures::StreamExt;
            let chunk = tokio::time::timeout(SECS5, body.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            events.extend(parser.feed(std::str::from_utf8(&chunk).unwrap()));
        }
        assert_eq!(events[0].event, "t");
        assert_eq!(events[0].data, r#"{"over":"tls"}"#);
        assert_eq!(events[0].id.as_deref(), Some(id.to_string().as_str()));
        assert_eq!(
            parser.retry,
            Some(2000),
            "the same stream as over plain HTTP"
        );
    }
    // Plain HTTP to the TLS port is not served.
    assert!(reqwest::get(s.url("/healthz")).await.is_err());
    s.stop().await.unwrap();
}
