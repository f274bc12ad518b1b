//! Fan-out load generator: S subscribers hold SSE streams while P publishers send N events;
//! reports the server's CPU time per delivered event (from `/proc/<pid>/stat`) and, with
//! `--idle`, the server's resident memory per idle connection. Loopback only; every phase is
//! bounded in count and time.
//!
//! ```sh
//! cargo run --release --example fanout_bench -- --pid $PID \
//!     --stream 'http://127.0.0.1:3000/api/events?topics=bench' \
//!     --publish http://127.0.0.1:3000/api/topics/bench/events --token "$TOKEN" \
//!     --subscribers 100 --events 2000 --publishers 8 --idle 1000
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

struct Args {
    pid: u32,
    stream: String,
    publish: String,
    token: Option<String>,
    subscribers: usize,
    events: usize,
    publishers: usize,
    idle: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        pid: 0,
        stream: String::new(),
        publish: String::new(),
        token: None,
        subscribers: 100,
        events: 2000,
        publishers: 8,
        idle: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--pid" => a.pid = v.parse().expect("--pid N"),
            "--stream" => a.stream = v,
            "--publish" => a.publish = v,
            "--token" => a.token = Some(v),
            "--subscribers" => a.subscribers = v.parse().expect("N"),
            "--events" => a.events = v.parse().expect("N"),
            "--publishers" => a.publishers = v.parse().expect("N"),
            "--idle" => a.idle = v.parse().expect("N"),
            other => panic!("unknown flag {other}"),
        }
    }
    for url in [&a.stream, &a.publish] {
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:"),
            "only loopback URLs: {url}"
        );
    }
    a
}

/// (user + system CPU seconds, resident bytes) of a process.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("server pid");
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    let rss_pages: u64 = f[21].parse().unwrap();
    (ticks / 100.0, rss_pages * 4096)
}

/// Opens a stream and counts `data:` lines (one per event for every server measured).
async fn subscribe(client: reqwest::Client, url: String, count: Arc<AtomicU64>, until: Instant) {
    let Ok(res) = client.get(&url).send().await else {
        return;
    };
    let mut body = res.bytes_stream();
    let mut tail: Vec<u8> = Vec::new();
    while Instant::now() < until {
        let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(Duration::from_millis(200), body.next()).await
        else {
            if Instant::now() >= until {
                break;
            }
            continue;
        };
        tail.extend_from_slice(&chunk);
        let n = tail.windows(5).filter(|w| w == b"data:").count();
        count.fetch_add(n as u64, Ordering::Relaxed);
        let keep = tail.len().min(4);
        tail.drain(..tail.len() - keep);
    }
}

#[tokio::main]
async fn main() {
    let a = parse_args();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);

    // Idle connections: memory per connection.
    if a.idle > 0 {
        let (_, rss0) = usage(a.pid);
        let idle_count = Arc::new(AtomicU64::new(0));
        let mut idle = Vec::new();
        for _ in 0..a.idle {
            idle.push(tokio::spawn(subscribe(
                client.clone(),
                a.stream.clone(),
                idle_count.clone(),
                Instant::now() + Duration::from_secs(8),
            )));
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
        let (_, rss1) = usage(a.pid);
        println!(
            "idle: {} connections, server RSS +{:.1} MB = {:.1} KB per connection",
            a.idle,
            (rss1 as f64 - rss0 as f64) / 1e6,
            (rss1 as f64 - rss0 as f64) / a.idle as f64 / 1024.0
        );
        for t in idle {
            t.abort();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Fan-out: CPU per delivery.
    let received = Arc::new(AtomicU64::new(0));
    let subs: Vec<_> = (0..a.subscribers)
        .map(|_| {
            tokio::spawn(subscribe(
                client.clone(),
                a.stream.clone(),
                received.clone(),
                until,
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, _) = usage(a.pid);
    let started = Instant::now();
    let per = a.events / a.publishers;
    let pubs: Vec<_> = (0..a.publishers)
        .map(|p| {
            let client = client.clone();
            let url = a.publish.clone();
            let token = a.token.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    let mut req = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(format!(
                            r#"{{"p":{p},"i":{i},"pad":"0123456789abcdef0123456789"}}"#
                        ));
                    if let Some(t) = &token {
                        req = req.bearer_auth(t);
                    }
                    let _ = req.send().await.map(|r| r.status());
                }
            })
        })
        .collect();
    for p in pubs {
        let _ = p.await;
    }
    let expected = (per * a.publishers * a.subscribers) as u64;
    while received.load(Ordering::Relaxed) < expected && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let (cpu1, rss) = usage(a.pid);
    let got = received.load(Ordering::Relaxed);
    println!(
        "fanout: {} subscribers x {} events: delivered {got}/{expected} in {:.2}s, server CPU {:.2}s = {:.2} us per delivery, RSS {:.1} MB",
        a.subscribers,
        per * a.publishers,
        elapsed.as_secs_f64(),
        cpu1 - cpu0,
        (cpu1 - cpu0) * 1e6 / got.max(1) as f64,
        rss as f64 / 1e6
    );
    for s in subs {
        s.abort();
    }
}
