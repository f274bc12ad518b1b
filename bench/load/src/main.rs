//! `pulse-load`: the load generator behind `cargo make bench` (see the README's benchmark
//! section). One scenario per run, against one server whose process id it is given, printing
//! one JSON line of results on stdout and a readable summary on stderr.
//!
//! ```text
//! pulse-load idle    --label L --pid PID --stream URL --publish URL [--token T] --subscribers N
//! pulse-load fanout  --label L --pid PID --stream URL --publish URL [--token T]
//!                    --subscribers S --events E --publishers P [--rate R] [--stalled K]
//! pulse-load publish --label L --pid PID --publish URL [--token T] --publishers P --events E
//! ```
//! `latency`, `wide` and `stalled` are names for the same run as `fanout` (the sizes differ).
//!
//! Rules it keeps: loopback URLs only (anything else is refused); at most 19,500 streams in
//! one process (the machines allow 20,000 open files per process); every phase ends by its
//! count or by `--seconds`, whichever comes first; SSE is parsed by the spec (`sse.rs`); each
//! published event carries the publisher's send time (`_bns`, nanoseconds on this process's
//! monotonic clock) and sequence number (`_bseq`), so every delivery gives a publish→receive
//! latency and loss/duplicates are counted per subscriber and sequence number. Server CPU is
//! utime+stime from `/proc/PID/stat`, memory VmRSS/VmHWM from `/proc/PID/status`.

mod http;
mod sse;

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout_at, Instant};

use http::{Chunked, Conn, Framing, Publisher, Url};

/// Streams one process may hold: the machines allow 20,000 open files per process, and the
/// publishers, stdio and /proc reads need a few more.
const MAX_STREAMS: usize = 19_500;
/// Connection attempts in flight at once.
const OPEN_CONCURRENCY: usize = 256;

fn usage() -> ! {
    eprintln!(
        "usage: pulse-load idle|fanout|latency|wide|stalled|publish --label NAME --pid PID \
         [--stream URL] --publish URL [--token T] [--subscribers N] [--stalled K] [--events E] \
         [--publishers P] [--rate PER_SECOND] [--pad BYTES] [--seconds S] [--settle-ms MS] \
         [--quiet-ms MS] [--stalled-rcvbuf BYTES] [--clk-tck HZ]"
    );
    std::process::exit(64)
}

#[derive(Clone)]
struct Args {
    scenario: String,
    label: String,
    pid: u32,
    stream: Option<Url>,
    publish: Url,
    token: Option<String>,
    subscribers: usize,
    stalled: usize,
    events: usize,
    publishers: usize,
    rate: f64,
    pad: usize,
    seconds: u64,
    settle_ms: u64,
    quiet_ms: u64,
    stalled_rcvbuf: u32,
    clk_tck: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let scenario = it.next().unwrap_or_else(|| usage());
    if !["idle", "fanout", "latency", "wide", "stalled", "publish"].contains(&scenario.as_str()) {
        usage();
    }
    let mut a = Args {
        scenario,
        label: "server".into(),
        pid: 0,
        stream: None,
        publish: Url::parse("http://127.0.0.1:1/").expect("a loopback URL"),
        token: None,
        subscribers: 100,
        stalled: 0,
        events: 100,
        publishers: 1,
        rate: 0.0,
        pad: 64,
        seconds: 120,
        settle_ms: 3000,
        quiet_ms: 5000,
        stalled_rcvbuf: 4096,
        clk_tck: 100.0,
    };
    let mut publish = None;
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} {v:?}: not a count"))
        };
        match flag.as_str() {
            "--label" => a.label = v,
            "--pid" => a.pid = num(&v)? as u32,
            "--stream" => a.stream = Some(Url::parse(&v)?),
            "--publish" => publish = Some(Url::parse(&v)?),
            "--token" => a.token = Some(v),
            "--subscribers" => a.subscribers = num(&v)? as usize,
            "--stalled" => a.stalled = num(&v)? as usize,
            "--events" => a.events = num(&v)? as usize,
            "--publishers" => a.publishers = (num(&v)? as usize).max(1),
            "--rate" => a.rate = v.parse().map_err(|_| format!("--rate {v:?}"))?,
            "--pad" => a.pad = num(&v)? as usize,
            "--seconds" => a.seconds = num(&v)?.clamp(1, 3600),
            "--settle-ms" => a.settle_ms = num(&v)?,
            "--quiet-ms" => a.quiet_ms = num(&v)?.max(100),
            "--stalled-rcvbuf" => a.stalled_rcvbuf = num(&v)? as u32,
            "--clk-tck" => a.clk_tck = num(&v)?.max(1) as f64,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    a.publish = publish.ok_or("--publish URL is required")?;
    if a.pid == 0 || !std::path::Path::new(&format!("/proc/{}/stat", a.pid)).exists() {
        return Err(format!("--pid {}: no such process", a.pid));
    }
    if a.scenario != "publish" && a.stream.is_none() {
        return Err("--stream URL is required".into());
    }
    let streams = if a.scenario == "publish" {
        0
    } else {
        a.subscribers + a.stalled
    };
    if streams > MAX_STREAMS {
        return Err(format!(
            "{streams} streams: one process holds at most {MAX_STREAMS} (the machines allow \
             20,000 open files per process); run several processes for more"
        ));
    }
    let files = streams + a.publishers + 64; // publishers, stdio, /proc reads, slack
    if let Some(limit) = open_file_limit() {
        if files as u64 > limit {
            return Err(format!(
                "{streams} streams and {} publishers need ~{files} open files; the limit is \
                 {limit} (ulimit -n)",
                a.publishers
            ));
        }
    }
    if a.events > 10_000_000 || !(a.rate >= 0.0 && a.rate.is_finite()) || a.pad > 60_000 {
        return Err("--events ≤ 10,000,000, --rate ≥ 0, --pad ≤ 60,000".into());
    }
    Ok(a)
}

/// This process's soft limit on open files, from /proc/self/limits (None when unlimited).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The server process, from /proc.

/// utime + stime of the whole process, in seconds.
fn cpu_seconds(pid: u32, clk_tck: f64) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("server {pid} gone: {e}"))?;
    let after = &stat[stat.rfind(')').ok_or("odd /proc stat")? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or("odd /proc stat")
    };
    Ok((ticks(11)? + ticks(12)?) as f64 / clk_tck)
}

/// A `kB` line of `/proc/PID/status` (VmRSS, VmHWM).
fn status_kb(pid: u32, key: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("server {pid} gone: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
}

// ---------------------------------------------------------------------------------------------
// Time and payloads.

static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();

/// Nanoseconds on this process's monotonic clock (publishers and subscribers share it).
fn now_ns() -> u64 {
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

fn payload(seq: usize, pad: &str) -> Vec<u8> {
    format!(r#"{{"_bseq":{seq},"_bns":{},"pad":"{pad}"}}"#, now_ns()).into_bytes()
}

const PROBE: &[u8] = br#"{"_bprobe":1}"#;

/// The unsigned number after `"key"` and a colon, wherever the server put it in the JSON.
fn number_after(data: &[u8], key: &[u8]) -> Option<u64> {
    let at = http::find(data, key)? + key.len();
    let rest = &data[at..];
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let rest = rest.strip_prefix(b":")?;
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

fn percentile(sorted: &[u32], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64 / 1000.0) // µs → ms
}

// ---------------------------------------------------------------------------------------------
// Subscribers.

struct Shared {
    url: Url,
    request: Vec<u8>,
    events: usize,
    deadline: Instant,
    open: Semaphore,
    readers_up: AtomicUsize,
    stalled_up: AtomicUsize,
    failed: AtomicUsize,
    probed: AtomicUsize,
    delivered: AtomicU64,
    stalled_rcvbuf: u32,
}

#[derive(Default)]
struct Sub {
    reader: bool,
    connected: bool,
    error: Option<String>,
    /// The stream ended (server closed it) before the run did.
    ended: bool,
    got: Vec<u64>,
    distinct: u64,
    dups: u64,
    /// Events that are neither the probe nor a bench event (e.g. a server's own notices).
    other: u64,
    probe: bool,
    lat_us: Vec<u32>,
}

impl Sub {
    fn on_event(&mut self, data: &[u8], sh: &Shared) {
        if http::find(data, b"\"_bprobe\"").is_some() {
            if !self.probe {
                self.probe = true;
                sh.probed.fetch_add(1, Relaxed);
            }
            return;
        }
        match (
            number_after(data, b"\"_bseq\""),
            number_after(data, b"\"_bns\""),
        ) {
            (Some(seq), Some(ns)) if (seq as usize) < sh.events => {
                let (w, bit) = (seq as usize / 64, 1u64 << (seq % 64));
                if self.got[w] & bit != 0 {
                    self.dups += 1;
                    return;
                }
                self.got[w] |= bit;
                self.distinct += 1;
                sh.delivered.fetch_add(1, Relaxed);
                let us = now_ns().saturating_sub(ns) / 1000;
                self.lat_us.push(us.min(u32::MAX as u64) as u32);
            }
            _ => self.other += 1,
        }
    }
}

thread_local! {
    /// One read buffer for every stream: the runtime is single-threaded, so an idle stream
    /// costs the load process its socket and parser state only.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 64 * 1024]);
}

/// Source address for connection `idx`: spread over 127.0.0.1–8 so that 19,500 streams and
/// the TIME_WAIT left by earlier runs stay far from the ephemeral port range's end.
fn local_ip(idx: usize, url: &Url) -> Option<IpAddr> {
    url.addr
        .is_ipv4()
        .then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (idx % 8) as u8)))
}

async fn open(sh: &Shared, idx: usize, reader: bool) -> Result<(Conn, Framing), String> {
    let _slot = timeout_at(sh.deadline, sh.open.acquire())
        .await
        .map_err(|_| "no connection slot before the deadline".to_string())?
        .map_err(|_| "semaphore closed".to_string())?;
    let deadline = sh.deadline.min(Instant::now() + Duration::from_secs(20));
    let rcvbuf = (!reader).then_some(sh.stalled_rcvbuf);
    let mut conn = http::connect(&sh.url, local_ip(idx, &sh.url), rcvbuf, deadline).await?;
    use tokio::io::AsyncWriteExt;
    timeout_at(deadline, conn.stream.write_all(&sh.request))
        .await
        .map_err(|_| "request write timed out".to_string())?
        .map_err(|e| format!("request write: {e}"))?;
    let head = conn.read_head(deadline).await?;
    if head.status != 200 {
        return Err(format!("stream answered {}", head.status));
    }
    if !head.content_type.starts_with("text/event-stream") {
        return Err(format!("stream content-type {:?}", head.content_type));
    }
    Ok((conn, head.framing))
}

async fn subscriber(
    sh: Arc<Shared>,
    idx: usize,
    reader: bool,
    mut stop: watch::Receiver<bool>,
) -> Sub {
    let mut sub = Sub {
        reader,
        ..Sub::default()
    };
    let (mut conn, framing) = match open(&sh, idx, reader).await {
        Ok(c) => c,
        Err(e) => {
            sh.failed.fetch_add(1, Relaxed);
            sub.error = Some(e);
            return sub;
        }
    };
    sub.connected = true;
    if !reader {
        // Never reads past the head: the server's writes pile up in the (small) socket
        // buffers and then in whatever the server keeps for a slow subscriber.
        sh.stalled_up.fetch_add(1, Relaxed);
        let _ = timeout_at(sh.deadline, stop.wait_for(|s| *s)).await;
        return sub;
    }
    sub.got = vec![0; sh.events.div_ceil(64)];
    sh.readers_up.fetch_add(1, Relaxed);
    let mut parser = sse::Parser::new();
    let mut chunked = (framing == Framing::Chunked).then(Chunked::default);
    let mut broken: Option<String> = None;
    let mut feed =
        |bytes: &[u8], sub: &mut Sub, parser: &mut sse::Parser, broken: &mut Option<String>| {
            let mut on_event = |e: &sse::Event<'_>| sub.on_event(e.data, &sh);
            let mut body = |b: &[u8]| {
                if broken.is_none() {
                    if let Err(e) = parser.feed(b, &mut on_event) {
                        *broken = Some(e);
                    }
                }
            };
            match chunked.as_mut() {
                Some(dec) => match dec.decode(bytes, &mut body) {
                    Ok(_) if dec.done() => Some("stream ended (last chunk)".to_string()),
                    Ok(_) => None,
                    Err(e) => Some(e),
                },
                None => {
                    body(bytes);
                    None
                }
            }
        };
    let leftover = std::mem::take(&mut conn.buf);
    if let Some(end) = feed(&leftover, &mut sub, &mut parser, &mut broken) {
        sub.ended = true;
        sub.error = Some(end);
        return sub;
    }
    loop {
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = sleep_until(sh.deadline) => break,
            ready = conn.stream.readable() => {
                if let Err(e) = ready {
                    sub.error = Some(format!("readable: {e}"));
                    break;
                }
                let outcome = SCRATCH.with(|scratch| {
                    let mut scratch = scratch.borrow_mut();
                    // Bounded: at most 16 reads (1 MB) per wake, then yield to the others.
                    for _ in 0..16 {
                        match conn.stream.try_read(&mut scratch) {
                            Ok(0) => return Some("stream closed by the server".to_string()),
                            Ok(n) => {
                                if let Some(end) = feed(&scratch[..n], &mut sub, &mut parser, &mut broken) {
                                    return Some(end);
                                }
                                if let Some(e) = broken.take() {
                                    return Some(e);
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return None,
                            Err(e) => return Some(format!("read: {e}")),
                        }
                    }
                    None
                });
                if let Some(end) = outcome {
                    sub.ended = true;
                    sub.error = Some(end);
                    break;
                }
            }
        }
    }
    sub
}

// ---------------------------------------------------------------------------------------------
// Publishers.

#[derive(Default)]
struct Published {
    accepted: Vec<bool>,
    accepted_count: usize,
    errors: usize,
    first_error: Option<String>,
    ack_us: Vec<u32>,
    elapsed: Duration,
}

/// One publisher's (sequence number, accepted, ack µs) per publish, and its first error.
type PublisherLog = (Vec<(usize, bool, u32)>, Option<String>);

/// `publishers` connections publish events `0..events` between them (publisher p takes every
/// p-th), each at its scheduled time `i / rate` when a rate is given, else as fast as
/// acknowledgements come back. Ends at the deadline whatever is left.
async fn publish_all(a: &Args, deadline: Instant) -> Published {
    let pad: Arc<str> = "x".repeat(a.pad).into();
    let start = Instant::now();
    let mut tasks: Vec<JoinHandle<PublisherLog>> = Vec::new();
    for p in 0..a.publishers.min(a.events.max(1)) {
        let (url, token, pad) = (a.publish.clone(), a.token.clone(), pad.clone());
        let (events, publishers, rate) = (a.events, a.publishers, a.rate);
        tasks.push(tokio::spawn(async move {
            let mut client = Publisher::new(url, token.as_deref(), None);
            let mut out = Vec::with_capacity(events / publishers + 1);
            let mut first_error = None;
            for i in (p..events).step_by(publishers) {
                if rate > 0.0 {
                    sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
                }
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let per_request = (deadline - now).min(Duration::from_secs(10));
                let t0 = Instant::now();
                let r = client.post(&mut || payload(i, &pad), per_request).await;
                let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
                let ok = matches!(r, Ok(s) if (200..300).contains(&s));
                if !ok && first_error.is_none() {
                    first_error = Some(match r {
                        Ok(s) => format!("publish answered {s}"),
                        Err(e) => e,
                    });
                }
                out.push((i, ok, us));
            }
            (out, first_error)
        }));
    }
    let mut res = Published {
        accepted: vec![false; a.events],
        ..Published::default()
    };
    for t in tasks {
        let Ok((out, err)) = t.await else { continue };
        if res.first_error.is_none() {
            res.first_error = err;
        }
        for (i, ok, us) in out {
            if ok {
                res.accepted[i] = true;
                res.accepted_count += 1;
                res.ack_us.push(us);
            } else {
                res.errors += 1;
            }
        }
    }
    res.elapsed = start.elapsed();
    res.ack_us.sort_unstable();
    res
}

async fn probe(a: &Args) -> Result<(), String> {
    let mut client = Publisher::new(a.publish.clone(), a.token.as_deref(), None);
    match client
        .post(&mut || PROBE.to_vec(), Duration::from_secs(10))
        .await
    {
        Ok(s) if (200..300).contains(&s) => Ok(()),
        Ok(s) => Err(format!("probe publish answered {s}")),
        Err(e) => Err(format!("probe publish: {e}")),
    }
}

/// Polls `done` every 10 ms until it holds, `deadline` passes, or (with `quiet`) `progress`
/// has not changed for that long. True when `done` held.
async fn wait_until(
    deadline: Instant,
    quiet: Option<Duration>,
    progress: impl Fn() -> u64,
    done: impl Fn() -> bool,
) -> bool {
    let mut last = progress();
    let mut last_change = Instant::now();
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let p = progress();
        if p != last {
            last = p;
            last_change = now;
        } else if quiet.is_some_and(|q| now - last_change >= q) {
            return false;
        }
        sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Results as one JSON line.

#[derive(Default)]
struct Json(Vec<(String, String)>);

impl Json {
    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        let mut s = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
                c => s.push(c),
            }
        }
        s.push('"');
        self.0.push((k.into(), s));
        self
    }
    fn int(&mut self, k: &str, v: u64) -> &mut Self {
        self.0.push((k.into(), v.to_string()));
        self
    }
    fn num(&mut self, k: &str, v: Option<f64>) -> &mut Self {
        let s = match v {
            Some(v) if v.is_finite() => format!("{v:.4}"),
            _ => "null".into(),
        };
        self.0.push((k.into(), s));
        self
    }
    fn render(&self) -> String {
        let fields: Vec<String> = self.0.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", fields.join(","))
    }
}

fn header(a: &Args) -> Json {
    let mut j = Json::default();
    j.str("scenario", &a.scenario).str("label", &a.label);
    j
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

fn spawn_subscribers(
    a: &Args,
    deadline: Instant,
) -> (Arc<Shared>, Vec<JoinHandle<Sub>>, watch::Sender<bool>) {
    let url = a.stream.clone().expect("checked in parse_args");
    let sh = Arc::new(Shared {
        request: http::stream_request(&url),
        url,
        events: a.events,
        deadline,
        open: Semaphore::new(OPEN_CONCURRENCY),
        readers_up: AtomicUsize::new(0),
        stalled_up: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        probed: AtomicUsize::new(0),
        delivered: AtomicU64::new(0),
        stalled_rcvbuf: a.stalled_rcvbuf,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let total = a.subscribers + a.stalled;
    let tasks = (0..total)
        .map(|i| {
            tokio::spawn(subscriber(
                sh.clone(),
                i,
                i < a.subscribers,
                stop_rx.clone(),
            ))
        })
        .collect();
    (sh, tasks, stop_tx)
}

async fn open_phase(a: &Args, sh: &Shared, deadline: Instant) -> Result<(), String> {
    let total = a.subscribers + a.stalled;
    let up = || sh.readers_up.load(Relaxed) + sh.stalled_up.load(Relaxed);
    let all = wait_until(
        deadline,
        Some(Duration::from_secs(20)),
        || (up() + sh.failed.load(Relaxed)) as u64,
        || up() + sh.failed.load(Relaxed) >= total,
    )
    .await;
    if !all {
        return Err(format!(
            "only {} of {total} streams opened before the deadline",
            up()
        ));
    }
    Ok(())
}

async fn stop_all(stop: watch::Sender<bool>, tasks: Vec<JoinHandle<Sub>>) -> Vec<Sub> {
    let _ = stop.send(true);
    let mut subs = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(s) = t.await {
            subs.push(s);
        }
    }
    subs
}

fn first_error(subs: &[Sub]) -> Option<String> {
    subs.iter().find_map(|s| s.error.clone())
}

async fn idle(a: &Args) -> Result<Json, String> {
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let rss0 = status_kb(a.pid, "VmRSS")?;
    let (sh, tasks, stop) = spawn_subscribers(a, deadline);
    let opened = open_phase(a, &sh, deadline).await;
    let held = sh.readers_up.load(Relaxed);
    // Let the server finish whatever a new stream costs it (first writes, buffers).
    sleep_until((Instant::now() + Duration::from_millis(a.settle_ms)).min(deadline)).await;
    let rss1 = status_kb(a.pid, "VmRSS")?;
    // One event to every held stream: are they live, not just accepted?
    let probed = match probe(a).await {
        Ok(()) => {
            let probe_deadline = deadline.min(Instant::now() + Duration::from_secs(30));
            wait_until(
                probe_deadline,
                Some(Duration::from_secs(5)),
                || sh.probed.load(Relaxed) as u64,
                || sh.probed.load(Relaxed) >= held,
            )
            .await;
            Ok(())
        }
        Err(e) => Err(e),
    };
    let live = sh.probed.load(Relaxed);
    let hwm = status_kb(a.pid, "VmHWM")?;
    let subs = stop_all(stop, tasks).await;
    let per_sub = (held > 0).then(|| (rss1 as f64 - rss0 as f64) / held as f64);
    let mut j = header(a);
    j.int("subscribers", a.subscribers as u64)
        .int("held", held as u64)
        .int("live", live as u64)
        .int("failed", sh.failed.load(Relaxed) as u64)
        .int("rss_before_kb", rss0)
        .int("rss_after_kb", rss1)
        .int("rss_hwm_kb", hwm)
        .num("rss_per_sub_kb", per_sub);
    if let Err(e) = opened.and(probed) {
        j.str("warning", &e);
    }
    if let Some(e) = first_error(&subs) {
        j.str("first_stream_error", &e);
    }
    eprintln!(
        "[{}] idle: {held}/{} held, {live} live after a probe event; server RSS {:.1} → {:.1} MB = {:.2} KB per subscriber",
        a.label,
        a.subscribers,
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0,
        per_sub.unwrap_or(f64::NAN)
    );
    Ok(j)
}

async fn fanout(a: &Args) -> Result<Json, String> {
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let rss0 = status_kb(a.pid, "VmRSS")?;
    let (sh, tasks, stop) = spawn_subscribers(a, deadline);
    let opened = open_phase(a, &sh, deadline).await;
    let readers = sh.readers_up.load(Relaxed);
    let stalled = sh.stalled_up.load(Relaxed);
    // Every reader receives a probe before the measured run: all streams are live, and the
    // server's first-event paths are warm.
    probe(a).await?;
    let probe_deadline = deadline.min(Instant::now() + Duration::from_secs(30));
    wait_until(
        probe_deadline,
        Some(Duration::from_secs(5)),
        || sh.probed.load(Relaxed) as u64,
        || sh.probed.load(Relaxed) >= readers,
    )
    .await;
    let probed = sh.probed.load(Relaxed);
    let cpu0 = cpu_seconds(a.pid, a.clk_tck)?;
    let rss_start = status_kb(a.pid, "VmRSS")?;
    let t0 = Instant::now();
    let published = publish_all(a, deadline).await;
    let expected = (published.accepted_count * readers) as u64;
    let quiet = Duration::from_millis(a.quiet_ms);
    wait_until(
        deadline,
        Some(quiet),
        || sh.delivered.load(Relaxed),
        || sh.delivered.load(Relaxed) >= expected,
    )
    .await;
    let elapsed = t0.elapsed();
    let cpu = cpu_seconds(a.pid, a.clk_tck)? - cpu0;
    let rss_end = status_kb(a.pid, "VmRSS")?;
    let hwm = status_kb(a.pid, "VmHWM")?;
    let subs = stop_all(stop, tasks).await;

    let (mut loss, mut dups, mut extra, mut other, mut ended, mut delivered) =
        (0u64, 0, 0, 0, 0, 0);
    let mut lat: Vec<u32> = Vec::new();
    for s in subs.iter().filter(|s| s.reader && s.connected) {
        for (i, &acc) in published.accepted.iter().enumerate() {
            let got = s.got[i / 64] & (1 << (i % 64)) != 0;
            match (acc, got) {
                (true, false) => loss += 1,
                (false, true) => extra += 1,
                _ => {}
            }
        }
        dups += s.dups;
        other += s.other;
        delivered += s.distinct;
        ended += s.ended as u64;
        lat.extend_from_slice(&s.lat_us);
    }
    lat.sort_unstable();
    let per_delivery = (delivered > 0).then(|| cpu * 1e6 / delivered as f64);
    let mut j = header(a);
    j.int("subscribers", a.subscribers as u64)
        .int("stalled", a.stalled as u64)
        .int("events", a.events as u64)
        .int("publishers", a.publishers as u64)
        .num("rate", Some(a.rate))
        .int("readers_held", readers as u64)
        .int("stalled_held", stalled as u64)
        .int("failed", sh.failed.load(Relaxed) as u64)
        .int("probed", probed as u64)
        .int("accepted", published.accepted_count as u64)
        .int("publish_errors", published.errors as u64)
        .int("expected", expected)
        .int("delivered", delivered)
        .int("loss", loss)
        .int("dups", dups)
        .int("extra", extra)
        .int("other_events", other)
        .int("streams_ended", ended)
        .num("p50_ms", percentile(&lat, 0.50))
        .num("p99_ms", percentile(&lat, 0.99))
        .num("max_ms", percentile(&lat, 1.0))
        .num("ack_p50_ms", percentile(&published.ack_us, 0.50))
        .num("ack_p99_ms", percentile(&published.ack_us, 0.99))
        .num("publish_s", Some(published.elapsed.as_secs_f64()))
        .num("elapsed_s", Some(elapsed.as_secs_f64()))
        .num("cpu_s", Some(cpu))
        .num("cpu_per_delivery_us", per_delivery)
        .int("rss_before_kb", rss0)
        .int("rss_start_kb", rss_start)
        .int("rss_after_kb", rss_end)
        .int("rss_hwm_kb", hwm);
    if let Err(e) = opened {
        j.str("warning", &e);
    }
    if let Some(e) = &published.first_error {
        j.str("first_publish_error", e);
    }
    if let Some(e) = first_error(&subs) {
        j.str("first_stream_error", &e);
    }
    eprintln!(
        "[{}] {}: {readers} readers (+{stalled} stalled) × {}/{} accepted events: delivered {delivered}/{expected}, \
         loss {loss}, dups {dups}; p50 {:.2} ms p99 {:.2} ms; server CPU {cpu:.2} s = {:.2} µs/delivery; RSS {:.1} MB (peak {:.1})",
        a.label,
        a.scenario,
        published.accepted_count,
        a.events,
        percentile(&lat, 0.5).unwrap_or(f64::NAN),
        percentile(&lat, 0.99).unwrap_or(f64::NAN),
        per_delivery.unwrap_or(f64::NAN),
        rss_end as f64 / 1024.0,
        hwm as f64 / 1024.0,
    );
    Ok(j)
}

async fn publish(a: &Args) -> Result<Json, String> {
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let cpu0 = cpu_seconds(a.pid, a.clk_tck)?;
    let p = publish_all(a, deadline).await;
    let cpu = cpu_seconds(a.pid, a.clk_tck)? - cpu0;
    let secs = p.elapsed.as_secs_f64();
    let rate = (secs > 0.0).then(|| p.accepted_count as f64 / secs);
    let mut j = header(a);
    j.int("events", a.events as u64)
        .int("publishers", a.publishers as u64)
        .int("accepted", p.accepted_count as u64)
        .int("publish_errors", p.errors as u64)
        .num("elapsed_s", Some(secs))
        .num("acked_per_s", rate)
        .num("ack_p50_ms", percentile(&p.ack_us, 0.50))
        .num("ack_p99_ms", percentile(&p.ack_us, 0.99))
        .num("ack_max_ms", percentile(&p.ack_us, 1.0))
        .num("cpu_s", Some(cpu))
        .int("rss_hwm_kb", status_kb(a.pid, "VmHWM")?);
    if let Some(e) = &p.first_error {
        j.str("first_publish_error", e);
    }
    eprintln!(
        "[{}] publish: {} publishers, {}/{} acknowledged in {secs:.2} s = {:.0}/s; ack p50 {:.2} ms p99 {:.2} ms",
        a.label,
        a.publishers,
        p.accepted_count,
        a.events,
        rate.unwrap_or(0.0),
        percentile(&p.ack_us, 0.5).unwrap_or(f64::NAN),
        percentile(&p.ack_us, 0.99).unwrap_or(f64::NAN),
    );
    Ok(j)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    now_ns(); // fix the epoch
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pulse-load: {e}");
            std::process::exit(64);
        }
    };
    let result = match a.scenario.as_str() {
        "idle" => idle(&a).await,
        "publish" => publish(&a).await,
        _ => fanout(&a).await,
    };
    match result {
        Ok(j) => println!("{}", j.render()),
        Err(e) => {
            eprintln!("[{}] {}: failed: {e}", a.label, a.scenario);
            let mut j = header(&a);
            j.str("error", &e);
            println!("{}", j.render());
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_wherever_the_server_put_them() {
        assert_eq!(
            number_after(br#"{"_bns":12,"_bseq":3}"#, b"\"_bseq\""),
            Some(3)
        );
        assert_eq!(
            number_after(br#"{"_bseq": 7, "_bns": 99}"#, b"\"_bns\""),
            Some(99)
        );
        assert_eq!(number_after(br#"{"_bseq" :  8}"#, b"\"_bseq\""), Some(8));
        assert_eq!(number_after(br#"{"other":1}"#, b"\"_bseq\""), None);
        assert_eq!(number_after(br#"{"_bseq":"x"}"#, b"\"_bseq\""), None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&v, 1.0), Some(100.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
