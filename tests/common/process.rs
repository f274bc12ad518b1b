//! The real `pulse` binary as a child process (for `kill -9` and restarts), a resuming
//! subscriber like a browser's, and a TCP proxy whose connections can be cut.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::{SseClient, TOKEN};

/// A port that was free a moment ago (bound to 0, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct PulseProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl PulseProcess {
    /// Starts the binary on `port` with `dir` as data dir and waits until `/healthz` answers.
    pub async fn start(dir: &Path, port: u16) -> PulseProcess {
        PulseProcess::start_with(dir, port, &[]).await
    }

    /// Like [`Self::start`], with more environment variables (they win over the defaults).
    pub async fn start_with(dir: &Path, port: u16, env: &[(&str, &str)]) -> PulseProcess {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_pulse"))
            .env("LEPTOS_SITE_ADDR", addr.to_string())
            .env("LEPTOS_OUTPUT_NAME", "pulse")
            .env("PULSE_DATA_DIR", dir)
            .env("PULSE_PUBLISH_TOKEN", TOKEN)
            .env("PULSE_STOCKS_RATE", "0")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start pulse");
        let p = PulseProcess { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(format!("http://{addr}/healthz")).await {
                if r.status() == 200 {
                    return p;
                }
            }
            assert!(Instant::now() < deadline, "pulse did not start on {addr}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no shutdown code runs at all.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for the exit; returns how long it took.
    pub fn terminate(mut self) -> Duration {
        let started = Instant::now();
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "clean exit after SIGTERM: {status}");
        started.elapsed()
    }
}

impl Drop for PulseProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a resuming subscriber saw.
#[derive(Debug, Default)]
pub struct Received {
    pub ids: Vec<u64>,
    pub resets: usize,
    /// Successful connections (1 = never interrupted).
    pub connections: usize,
}

/// Subscribes to `topic` at `base` like a browser does: on any end or error it reconnects
/// with `Last-Event-ID` set to the last id it received, until it has seen `target` (once
/// `target` is non-zero) or `limit` passes.
pub fn resuming_subscriber(
    base: String,
    topic: &'static str,
    target: Arc<AtomicU64>,
    limit: Duration,
) -> JoinHandle<Received> {
    tokio::spawn(async move {
        let deadline = Instant::now() + limit;
        let mut got = Received::default();
        let mut last: Option<u64> = None;
        let done = |last: Option<u64>| {
            let t = target.load(Ordering::SeqCst);
            t != 0 && last.is_some_and(|l| l >= t)
        };
        while !done(last) && Instant::now() < deadline {
            let url = format!("{base}/api/events?topics={topic}");
            let id = last.map(|l| l.to_string());
            let Some(mut sub) = SseClient::try_connect(&url, id.as_deref()).await else {
                tokio::time::sleep(Duration::from_millis(30)).await;
                continue;
            };
            got.connections += 1;
            while !done(last) && Instant::now() < deadline {
                match sub.next_event(Duration::from_millis(100)).await {
                    Some(ev) if ev.event == "reset" => got.resets += 1,
                    Some(ev) => {
                        let id: u64 = ev.id.as_deref().unwrap().parse().unwrap();
                        got.ids.push(id);
                        last = Some(id);
                    }
                    None if sub.ended => break,
                    None => {}
                }
            }
        }
        got
    })
}

/// Publishes `{"n": k}` to `topic` at a steady pace until `count` publishes were acknowledged
/// (or `limit` passes). Failures (server down, 503) are retried with a new `n`. Returns the
/// acknowledged ids in order. `acked` counts acknowledgements as they happen.
pub fn steady_publisher(
    base: String,
    topic: &'static str,
    count: usize,
    every: Duration,
    acked: Arc<AtomicU64>,
    limit: Duration,
) -> JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let deadline = Instant::now() + limit;
        let mut ids = Vec::with_capacity(count);
        let mut n = 0u64;
        let mut tick = tokio::time::interval(every);
        while ids.len() < count && Instant::now() < deadline {
            tick.tick().await;
            n += 1;
            let res = client
                .post(format!("{base}/api/topics/{topic}/events"))
                .bearer_auth(TOKEN)
                .body(format!(r#"{{"n":{n}}}"#))
                .send()
                .await;
            if let Ok(r) = res {
                if r.status() == 202 {
                    let v: serde_json::Value = r.json().await.unwrap();
                    ids.push(v["id"].as_u64().unwrap());
                    acked.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        ids
    })
}

/// A loopback TCP proxy in front of `upstream`; [`Proxy::cut`] drops every open connection
/// at once, as a network failure would.
pub struct Proxy {
    pub addr: SocketAddr,
    cut: broadcast::Sender<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = broadcast::channel(4);
        let cut_tx = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut_rx = cut_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.recv() => {}
                    }
                });
            }
        });
        Proxy { addr, cut }
    }

    pub fn cut(&self) {
        let _ = self.cut.send(());
    }
}
