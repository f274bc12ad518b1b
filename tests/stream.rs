//! `/api/events` over real HTTP: live order, replay by `Last-Event-ID` and `since`, reset,
//! headers, slow subscribers.

mod common;

use std::time::Duration;

use common::*;

fn t(n: u64) -> String {
    format!(r#"{{"n":{n}}}"#)
}

#[tokio::test]
async fn live_events_arrive_in_order_with_the_stream_headers() {
    let s = TestServer::start(&[]).await;
    let mut sub = SseClient::connect(&s.url("/api/events?topics=alpha,beta"), None).await;
    assert_eq!(sub.status, 200);
    assert_eq!(sub.headers["content-type"], "text/event-stream");
    assert_eq!(sub.headers["cache-control"], "no-cache");
    assert_eq!(sub.headers["x-accel-buffering"], "no");
    assert!(
        sub.headers.get("content-encoding").is_none(),
        "SSE must not be compressed"
    );

    let mut expected = Vec::new();
    for n in 0..60 {
        let topic = ["alpha", "beta", "gamma"][n as usize % 3];
        let id = s.publish(topic, &t(n)).await;
        if topic != "gamma" {
            expected.push((id, topic.to_owned(), t(n)));
        }
    }
    let got = sub.take(expected.len(), SECS5).await;
    let got: Vec<_> = got
        .into_iter()
        .map(|e| (e.id.unwrap().parse::<u64>().unwrap(), e.event, e.data))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(sub.parser.retry, Some(2000), "retry: is sent on connect");
    assert!(sub.next_event(Duration::from_millis(200)).await.is_none());
}

#[tokio::test]
async fn replay_after_last_event_id_is_exactly_the_missed_events() {
    let s = TestServer::start(&[]).await;
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(s.publish("orders", &t(n)).await);
        s.publish("other", &t(100 + n)).await;
    }
    let resume_from = ids[3];
    let mut sub = SseClient::connect(
        &s.url("/api/events?topics=orders"),
        Some(&resume_from.to_string()),
    )
    .await;
    let replayed = sub.take(6, SECS5).await;
    assert_eq!(common::ids(&replayed), ids[4..].to_vec());
    assert_eq!(replayed[0].data, t(4));
    // Nothing else was replayed, and live events follow right after.
    assert!(sub.next_event(Duration::from_millis(200)).await.is_none());
    let live = s.publish("orders", &t(10)).await;
    assert_eq!(common::ids(&sub.take(1, SECS5).await), [live]);
}

#[tokio::test]
async fn replay_after_since_and_the_header_wins_over_since() {
    let s = TestServer::start(&[]).await;
    let mut ids = Vec::new();
    for n in 0..8 {
        ids.push(s.publish("orders", &t(n)).await);
    }
    let url = s.url(&format!("/api/events?topics=orders&since={}", ids[1]));
    let mut by_since = SseClient::connect(&url, None).await;
    assert_eq!(
        common::ids(&by_since.take(6, SECS5).await),
        ids[2..].to_vec()
    );
    assert!(by_since
        .next_event(Duration::from_millis(200))
        .await
        .is_none());

    // A browser reconnecting keeps the URL (old `since`) and sends a newer Last-Event-ID.
    let mut by_header = SseClient::connect(&url, Some(&ids[5].to_string())).await;
    assert_eq!(
        common::ids(&by_header.take(2, SECS5).await),
        ids[6..].to_vec()
    );
    assert!(by_header
        .next_event(Duration::from_millis(200))
        .await
        .is_none());
}

#[tokio::test]
async fn an_id_older_than_the_history_gets_a_reset() {
    let s = TestServer::start(&["--history", "5"]).await;
    let mut last = 0;
    for n in 0..20 {
        last = s.publish("orders", &t(n)).await;
    }
    let mut sub = SseClient::connect(&s.url("/api/events?topics=orders&since=2"), None).await;
    let reset = sub.take(1, SECS5).await.remove(0);
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.id, Some(last.to_string()));
    let body: serde_json::Value = serde_json::from_str(&reset.data).unwrap();
    assert_eq!(body["id"], last);
    // After the reset, live events continue.
    let next = s.publish("orders", &t(99)).await;
    assert_eq!(common::ids(&sub.take(1, SECS5).await), [next]);

    // An id the server never issued is a reset too.
    let mut ahead =
        SseClient::connect(&s.url("/api/events?topics=orders&since=999999"), None).await;
    assert_eq!(ahead.take(1, SECS5).await[0].event, "reset");
    assert!(s.metric("pulse_resets_total").await >= 2.0);

    // Within the window: an exact replay, no reset.
    let mut ok = SseClient::connect(
        &s.url(&format!("/api/events?topics=orders&since={}", last - 2)),
        None,
    )
    .await;
    let evs = ok.take(3, SECS5).await;
    assert!(evs.iter().all(|e| e.event == "orders"));
}

#[tokio::test]
async fn bad_subscriptions_get_400_with_a_json_error() {
    let s = TestServer::start(&[]).await;
    for q in [
        "",
        "?topics=",
        "?topics=Stocks",
        "?topics=a,,b",
        "?topics=a%0Ab",
        "?topics=ok&since=abc",
    ] {
        let res = reqwest::get(s.url(&format!("/api/events{q}")))
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{q}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(
            body["error"].is_string() && body["detail"].is_string(),
            "{q}: {body}"
        );
    }
    let many: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
    let res = reqwest::get(s.url(&format!("/api/events?topics={}", many.join(","))))
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// One subscriber's socket is never read. The others stay current, the hub cuts the stuck one
/// off instead of buffering for it, and it can resume by id with nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_cut_off_without_slowing_others() {
    use tokio::io::AsyncWriteExt;
    let s = TestServer::start(&["--queue", "32", "--history", "100000"]).await;

    // The stuck client: sends its request, then never reads a byte.
    let mut stuck = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    stuck
        .write_all(b"GET /api/events?topics=load HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut fast = SseClient::connect(&s.url("/api/events?topics=load"), None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.metric("pulse_subscribers").await, 2.0);

    // ~16 MB in all: far more than the socket buffers and the 32-event queue can hold.
    let payload = format!(r#"{{"pad":"{}"}}"#, "x".repeat(8 * 1024));
    let total = 2000;
    let started = std::time::Instant::now();
    let publisher = {
        let url = s.url("/api/topics/load/events");
        let payload = payload.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for _ in 0..total {
                let res = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .body(payload.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 202);
            }
        })
    };
    let got = fast.take(total, Duration::from_secs(60)).await;
    publisher.await.unwrap();
    let ids = common::ids(&got);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "fast subscriber got events in order"
    );
    println!(
        "fast subscriber received {total} events in {:?}",
        started.elapsed()
    );

    assert_eq!(s.metric("pulse_subscribers_lagged_total").await, 1.0);
    assert_eq!(
        s.metric("pulse_subscribers").await,
        1.0,
        "the stuck one is out of the fan-out"
    );
    drop(stuck);

    // Resuming from any id replays exactly the rest: what the stuck client missed is not lost.
    let mut resumed = SseClient::connect(
        &s.url("/api/events?topics=load"),
        Some(&ids[99].to_string()),
    )
    .await;
    let rest = resumed.take(total - 100, Duration::from_secs(30)).await;
    assert_eq!(common::ids(&rest), ids[100..].to_vec());
}

/// The body of a chunked response read so far, and whether its head said `connection: close`.
struct RawStream {
    tcp: tokio::net::TcpStream,
    bytes: Vec<u8>,
}

impl RawStream {
    /// The response head (up to the blank line), lower-cased.
    fn head(&self) -> String {
        let end = self
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&self.bytes[..end]).to_lowercase()
    }

    /// The body with its chunk framing removed (whole chunks only).
    fn body(&self) -> String {
        let end = self
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4;
        let mut rest = &self.bytes[end..];
        let mut out = Vec::new();
        while let Some(line) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16)
                .expect("a chunk size line");
            if rest.len() < line + 2 + size + 2 {
                break;
            }
            out.extend_from_slice(&rest[line + 2..line + 2 + size]);
            assert_eq!(&rest[line + 2 + size..line + 4 + size], b"\r\n");
            rest = &rest[line + 4 + size..];
        }
        String::from_utf8(out).unwrap()
    }

    /// Reads until the body holds `needle`, for at most 5 s.
    async fn read_until(&mut self, needle: &str) {
        use tokio::io::AsyncReadExt;
        let deadline = tokio::time::Instant::now() + SECS5;
        while !self.bytes.windows(4).any(|w| w == b"\r\n\r\n") || !self.body().contains(needle) {
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.tcp.read(&mut buf))
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "{needle:?} not received; got {:?}",
                        String::from_utf8_lossy(&self.bytes)
                    )
                })
                .unwrap();
            assert!(n > 0, "closed before {needle:?}");
            self.bytes.extend_from_slice(&buf[..n]);
        }
    }
}

/// A stream request whose head arrives in one piece is written on its socket directly (the
/// fast path, which says `connection: close`); one whose head arrives in pieces is served by
/// hyper as before. A client sees the same stream either way: same status, headers, framing
/// and events, byte for byte.
#[tokio::test]
async fn a_stream_is_the_same_whether_its_request_arrives_whole_or_in_pieces() {
    use tokio::io::AsyncWriteExt;
    let s = TestServer::start(&[]).await;
    let head =
        b"GET /api/events?topics=orders HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
    let mut whole = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    whole.write_all(head).await.unwrap();
    let mut pieces = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    pieces.write_all(&head[..20]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    pieces.write_all(&head[20..]).await.unwrap();
    let deadline = tokio::time::Instant::now() + SECS5;
    while s.metric("pulse_subscribers").await < 2.0 {
        assert!(tokio::time::Instant::now() < deadline, "both streams open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(s.publish("orders", &t(n)).await);
    }
    let last = format!("id: {}\n", ids[2]);
    let mut streams = [
        RawStream {
            tcp: whole,
            bytes: Vec::new(),
        },
        RawStream {
            tcp: pieces,
            bytes: Vec::new(),
        },
    ];
    for stream in &mut streams {
        stream.read_until(&last).await;
        let head = stream.head();
        assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: text/event-stream\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\ntransfer-encoding: chunked"), "{head}");
        assert!(
            head.contains("\r\nx-content-type-options: nosniff"),
            "{head}"
        );
        assert!(head.contains("\r\ndate: "), "{head}");
    }
    assert!(streams[0].head().contains("\r\nconnection: close"));
    assert!(!streams[1].head().contains("connection: close"));
    let body = streams[0].body();
    assert!(body.starts_with("retry: 2000\n\n"), "{body:?}");
    for (n, id) in ids.iter().enumerate() {
        assert!(
            body.contains(&format!(
                "id: {id}\nevent: orders\ndata: {}\n\n",
                t(n as u64)
            )),
            "{body:?}"
        );
    }
    assert_eq!(body, streams[1].body(), "the same bytes either way");

    // A stream connection carries nothing after it: bytes sent after the head close it.
    let [mut fast, _] = streams;
    fast.tcp
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + SECS5;
    while s.metric("pulse_subscribers").await > 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream was closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
