//! Test harness: the real server on `127.0.0.1:0` with a temporary data dir (a real SQLite
//! file), reached over real HTTP, and an SSE client that reads what a browser would.
#![allow(dead_code)]

pub mod process;
pub mod servers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser as _;
use futures::StreamExt;
use leptos::config::LeptosOptions;
use pulse::config::Config;
use pulse::server::{serve, StartError};
use pulse::sse::parse::{Parsed, Parser};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-token-0123456789";

pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), StartError>>,
    _tmp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A server with the simulators and the sampler off, so every event in a test is one the
    /// test published.
    pub async fn start(args: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_owned();
        let mut s = TestServer::start_in(&dir, args).await;
        s._tmp = Some(tmp);
        s
    }

    pub async fn start_in(dir: &Path, args: &[&str]) -> TestServer {
        let dir_s = dir.to_str().unwrap().to_owned();
        let mut argv = vec![
            "pulse",
            "--data-dir",
            &dir_s,
            "--publish-token",
            TOKEN,
            "--stocks-rate",
            "0",
            "--monitor-interval-ms",
            "0",
            "--scores-games",
            "0",
            "--sync",
            "normal",
        ];
        argv.extend_from_slice(args);
        let config = Config::parse_from(argv);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let leptos = LeptosOptions::builder()
            .output_name("pulse")
            .site_addr(addr)
            .build();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(config, leptos, listener, async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            dir: dir.to_owned(),
            stop: Some(tx),
            task,
            _tmp: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) -> Result<(), StartError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.expect("server task panicked")
    }

    /// Signals shutdown; returns the task to await separately.
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    pub async fn join(self) -> Result<(), StartError> {
        self.task.await.expect("server task panicked")
    }

    /// POSTs `body` to the topic with the right token; returns status and body text.
    pub async fn publish_raw(&self, topic: &str, body: &str) -> (u16, String) {
        let res = reqwest::Client::new()
            .post(self.url(&format!("/api/topics/{topic}/events")))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("publish request");
        let status = res.status().as_u16();
        (status, res.text().await.unwrap_or_default())
    }

    /// Publishes and asserts 202; returns the event id.
    pub async fn publish(&self, topic: &str, body: &str) -> u64 {
        let (status, text) = self.publish_raw(topic, body).await;
        assert_eq!(status, 202, "publish to {topic} failed: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["id"].as_u64().expect("id in the 202 body")
    }

    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing"))
    }
}

/// An SSE client that parses the stream as the spec says a browser does.
pub struct SseClient {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    pub parser: Parser,
    queued: std::collections::VecDeque<Parsed>,
    pub ended: bool,
}

impl SseClient {
    pub async fn connect(url: &str, last_event_id: Option<&str>) -> SseClient {
        Self::try_connect(url, last_event_id)
            .await
            .expect("stream request")
    }

    /// Like [`Self::connect`], but `None` when the server is unreachable or does not answer 200.
    pub async fn try_connect(url: &str, last_event_id: Option<&str>) -> Option<SseClient> {
        let mut req = reqwest::Client::new()
            .get(url)
            .header("accept", "text/event-stream")
            .header("accept-encoding", "gzip, br");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.ok()?;
        if res.status() != 200 {
            return None;
        }
        Some(SseClient {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.bytes_stream().boxed(),
            parser: Parser::new(),
            queued: Default::default(),
            ended: false,
        })
    }

    /// Reads until something arrives; false when the stream ended or `wait` passed.
    async fn fill(&mut self, wait: Duration) -> bool {
        match tokio::time::timeout(wait, self.body.next()).await {
            Ok(Some(Ok(chunk))) => {
                let text = String::from_utf8(chunk.to_vec()).expect("utf-8 stream");
                let events = self.parser.feed(&text);
                self.queued.extend(events);
                true
            }
            Ok(_) => {
                self.ended = true;
                false
            }
            Err(_) => false,
        }
    }

    /// The next event, or `None` if none arrives within `wait` or the stream ends.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Parsed> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(ev) = self.queued.pop_front() {
                return Some(ev);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || !self.fill(left).await {
                return None;
            }
        }
    }

    /// Exactly `n` events, failing the test if they do not arrive within `wait`.
    pub async fn take(&mut self, n: usize, wait: Duration) -> Vec<Parsed> {
        let mut out = Vec::with_capacity(n);
        let deadline = tokio::time::Instant::now() + wait;
        while out.len() < n {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(ev) => out.push(ev),
                None => panic!("got {} of {n} events (ended: {})", out.len(), self.ended),
            }
        }
        out
    }

    /// Reads until the stream ends (or `wait` passes); returns the events read.
    pub async fn drain_to_end(&mut self, wait: Duration) -> Vec<Parsed> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out: Vec<Parsed> = self.queued.drain(..).collect();
        while !self.ended {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            self.fill(left).await;
            out.extend(self.queued.drain(..));
        }
        out
    }
}

pub fn ids(events: &[Parsed]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect()
}

pub const SECS5: Duration = Duration::from_secs(5);

/// A self-signed certificate for `localhost` and `127.0.0.1` written into `dir`: the
/// `--tls-cert` and `--tls-key` paths, and the root a client must trust.
pub fn self_signed(dir: &std::path::Path) -> (String, String, reqwest::Certificate) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_pem = cert.cert.pem();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    (
        cert_path.to_str().unwrap().to_owned(),
        key_path.to_str().unwrap().to_owned(),
        reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap(),
    )
}
