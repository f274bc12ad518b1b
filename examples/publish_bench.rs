//! Publish load generator: N concurrent publishers POST small JSON events as fast as each gets
//! its acknowledgement, bounded by a total count and a time limit, and report throughput and
//! acknowledge latency (p50 / p99 / max). Loopback only.
//!
//! ```sh
//! cargo run --release --example publish_bench -- \
//!     --url http://127.0.0.1:3000/api/topics/bench/events --token "$TOKEN" \
//!     --publishers 16 --count 20000 --seconds 20
//! ```
//! Without `--token` it sends no `Authorization` header (for the peers' `POST /publish`).

use std::time::{Duration, Instant};

struct Args {
    url: String,
    token: Option<String>,
    publishers: usize,
    count: usize,
    seconds: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        url: String::new(),
        token: None,
        publishers: 16,
        count: 20_000,
        seconds: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value,
            "--token" => args.token = Some(value),
            "--publishers" => args.publishers = value.parse().expect("--publishers N"),
            "--count" => args.count = value.parse().expect("--count N"),
            "--seconds" => args.seconds = value.parse().expect("--seconds N"),
            other => panic!("unknown flag {other}"),
        }
    }
    let host = args
        .url
        .strip_prefix("http://")
        .and_then(|r| r.split(['/', ':']).next())
        .unwrap_or("");
    assert!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "--url must be a loopback http:// address"
    );
    args
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.publishers)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let per = args.count.div_ceil(args.publishers);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..args.publishers {
        let client = client.clone();
        let url = args.url.clone();
        let token = args.token.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            let mut errors = 0usize;
            for i in 0..per {
                if Instant::now() > deadline {
                    break;
                }
                let body = format!(r#"{{"publisher":{p},"n":{i},"pad":"0123456789abcdef"}}"#);
                let mut req = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let t0 = Instant::now();
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t0.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::with_capacity(args.count);
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.unwrap();
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed();
    all.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "acked={} errors={} elapsed={:.2}s throughput={:.0}/s p50={:.2}ms p99={:.2}ms max={:.2}ms",
        all.len(),
        errors,
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        ms(all.last().copied().unwrap_or_default()),
    );
}
