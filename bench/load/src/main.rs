//! `pulse-load`: the load generator behind `cargo make bench` (see the README's benchmark
//! section). One scenario per run, against one server whose process id it is given, printing
//! one JSON line of results on stdout and a readable summary on stderr.
//!
//! ```text
//! pulse-load idle    --label L --pid PID --stream URL --publish URL [--token T] --subscribers N
//! pulse-load fanout  --label L --pid PID --stream URL --publish URL [--token T]
//!                    --subscribers S --events E --publishers P [--rate R] [--stalled K]
//! pulse-load publish --label L --pid PID --publish URL [--token T] --publishers P --events E
//! pulse-load storm   --label L --pid PID --stream URL --publish URL [--token T]
//!                    --subscribers S --events E --rate R [--drop-after-ms MS]
//!                    [--reconnect-concurrency C]
//! pulse-load ssr     --label L --pid PID --get URL --requests N --connections C [--warmup W]
//! pulse-load instances --label L --pid PID --stream URL --publish URL [--publish URL …]
//!                    --subscribers S --events E --rate R --part K --parts N --sync-dir DIR
//! ```
//! `latency`, `wide` and `stalled` are names for the same run as `fanout` (the sizes differ).
//! `storm` (`storm.rs`): every subscriber drops its stream at once and resumes with
//! `Last-Event-ID`. `ssr` (`ssr.rs`): keep-alive GETs of a page. `instances` (`instances.rs`):
//! one process of several, each subscribing to one instance of a scaled-out server, the first
//! also publishing (rotating over every `--publish` URL); they meet through files in DIR.
//!
//! Rules it keeps: loopback URLs only (anything else is refused); at most 19,500 streams in
//! one process (the machines allow 20,000 open files per process); every phase ends by its
//! count or by `--seconds`, whichever comes first; SSE is parsed by the spec (`sse.rs`); each
//! published event carries the publisher's send time (`_bns`, nanoseconds on this process's
//! monotonic clock) and sequence number (`_bseq`), so every delivery gives a publish→receive
//! latency and loss/duplicates are counted per subscriber and sequence number. Server CPU is
//! utime+stime from `/proc/PID/stat`, memory VmRSS/VmHWM from `/proc/PID/status`.

mod hist;
mod http;
mod instances;
mod sse;
mod ssr;
mod storm;

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout_at, Instant};

use http::{Chunked, Client, Conn, Framing, Url};

/// Streams one process may hold: the machines allow 20,000 open files per process, and the
/// publishers, stdio and /proc reads need a few more.
const MAX_STREAMS: usize = 19_500;
/// Connection attempts in flight at once.
const OPEN_CONCURRENCY: usize = 256;

fn usage() -> ! {
    eprintln!(
        "usage: pulse-load idle|fanout|latency|wide|stalled|publish|storm|ssr|instances \
         --label NAME --pid PID [--stream URL] [--publish URL]... [--get URL] [--token T] \
         [--subscribers N] [--stalled K] [--events E] [--publishers P] [--rate PER_SECOND] \
         [--pad BYTES] [--seconds S] [--settle-ms MS] [--quiet-ms MS] [--stalled-rcvbuf BYTES] \
         [--clk-tck HZ] [--drop-after-ms MS] [--reconnect-concurrency C] [--requests N] \
         [--connections C] [--warmup N] [--part K --parts N --sync-dir DIR]"
    );
    std::process::exit(64)
}

#[derive(Clone)]
struct Args {
    scenario: String,
    label: String,
    pid: u32,
    stream: Option<Url>,
    /// Publish endpoints; event `i` goes to `publish[i % len]` (several only for `instances`).
    publish: Vec<Url>,
    /// The page `ssr` requests.
    get: Option<Url>,
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
    /// storm: ms after the first publish at which every stream drops (0: a third of the run).
    drop_after_ms: u64,
    /// storm: reconnects in flight at once (0: all at once, as a real storm).
    reconnect_concurrency: usize,
    /// ssr: measured requests, connections, unmeasured warm-up requests.
    requests: usize,
    connections: usize,
    warmup: usize,
    /// instances: this process's index, the number of processes, the directory they share.
    part: usize,
    parts: usize,
    sync_dir: Option<std::path::PathBuf>,
}

const SCENARIOS: [&str; 9] = [
    "idle",
    "fanout",
    "latency",
    "wide",
    "stalled",
    "publish",
    "storm",
    "ssr",
    "instances",
];

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let scenario = it.next().unwrap_or_else(|| usage());
    if !SCENARIOS.contains(&scenario.as_str()) {
        usage();
    }
    let mut a = Args {
        scenario,
        label: "server".into(),
        pid: 0,
        stream: None,
        publish: Vec::new(),
        get: None,
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
        drop_after_ms: 0,
        reconnect_concurrency: 0,
        requests: 10_000,
        connections: 4,
        warmup: 200,
        part: 0,
        parts: 1,
        sync_dir: None,
    };
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
            "--publish" => a.publish.push(Url::parse(&v)?),
            "--get" => a.get = Some(Url::parse(&v)?),
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
            "--drop-after-ms" => a.drop_after_ms = num(&v)?,
            "--reconnect-concurrency" => a.reconnect_concurrency = num(&v)? as usize,
            "--requests" => a.requests = num(&v)? as usize,
            "--connections" => a.connections = (num(&v)? as usize).clamp(1, 1024),
            "--warmup" => a.warmup = num(&v)? as usize,
            "--part" => a.part = num(&v)? as usize,
            "--parts" => a.parts = (num(&v)? as usize).max(1),
            "--sync-dir" => a.sync_dir = Some(v.into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.scenario == "ssr" {
        if a.get.is_none() {
            return Err("--get URL is required".into());
        }
        if a.requests > 10_000_000 {
            return Err("--requests ≤ 10,000,000".into());
        }
    } else if a.publish.is_empty() {
        return Err("--publish URL is required".into());
    }
    if a.scenario == "instances" {
        if a.sync_dir.is_none() {
            return Err("instances needs --sync-dir DIR (shared by its --parts processes)".into());
        }
        if a.part >= a.parts {
            return Err(format!("--part {} of --parts {}", a.part, a.parts));
        }
    }
    if a.pid == 0 || !std::path::Path::new(&format!("/proc/{}/stat", a.pid)).exists() {
        return Err(format!("--pid {}: no such process", a.pid));
    }
    let streaming = !matches!(a.scenario.as_str(), "publish" | "ssr");
    if streaming && a.stream.is_none() {
        return Err("--stream URL is required".into());
    }
    let streams = if streaming {
        a.subscribers + a.stalled
    } else {
        0
    };
    if streams > MAX_STREAMS {
        return Err(format!(
            "{streams} streams: one process holds at most {MAX_STREAMS} (the machines allow \
             20,000 open files per process); run several processes for more"
        ));
    }
    // Publishers (one connection per publish URL each), GET connections, stdio, /proc, slack.
    let files = streams + a.publishers * a.publish.len().max(1) + a.connections + 64;
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

/// Nanoseconds on the machine's `CLOCK_MONOTONIC`. One clock for the whole machine (not one
/// per process), so a publish time stamped by one load process can be subtracted from a
/// receive time read in another: `instances` runs one load process per server instance. It
/// never jumps (unlike the wall clock), and every existing use takes differences only.
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer; CLOCK_MONOTONIC is
    // always available on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn payload(seq: usize, pad: &str) -> Vec<u8> {
    format!(r#"{{"_bseq":{seq},"_bns":{},"pad":"{pad}"}}"#, now_ns()).into_bytes()
}

const PROBE: &[u8] = br#"{"_bprobe":1}"#;

/// A probe that also carries its send time: `storm` counts it as "published after this
/// subscriber reconnected" when no benchmark event is left to show that.
fn timed_probe() -> Vec<u8> {
    format!(r#"{{"_bprobe":2,"_bns":{}}}"#, now_ns()).into_bytes()
}

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

/// Nearest-rank percentile of microsecond latencies, in milliseconds.
fn percentile(sorted: &[u32], p: f64) -> Option<f64> {
    hist::nearest_rank(sorted, p).map(|us| us as f64 / 1000.0)
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
    /// Newest receive time of a benchmark event on any stream (`now_ns`).
    last_rx_ns: AtomicU64,
    /// storm: reconnects in flight at once; streams back (200 received) and live again (an
    /// event published after that received).
    reconnect: Semaphore,
    reconnected: AtomicUsize,
    live_again: AtomicUsize,
    /// storm: streams closed by the drop, and streams that broke before it.
    dropped: AtomicUsize,
    broken_early: AtomicUsize,
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
    /// `event: reset` received (the server could not replay from the id sent).
    resets: u64,
    /// storm: when the stream dropped, when the new one answered 200 (`now_ns`), and when an
    /// event published after that arrived: the subscriber is live again.
    dropped_ns: Option<u64>,
    reconnected_ns: Option<u64>,
    live_ns: Option<u64>,
    /// storm: the `Last-Event-ID` sent on reconnect.
    resumed_from: Option<String>,
}

impl Sub {
    fn on_event(&mut self, e: &sse::Event<'_>, sh: &Shared) {
        let data = e.data;
        if e.kind == b"reset" {
            self.resets += 1;
            return;
        }
        let sent_ns = number_after(data, b"\"_bns\"");
        if let (Some(back), None, Some(ns)) = (self.reconnected_ns, self.live_ns, sent_ns) {
            if ns >= back {
                self.live_ns = Some(now_ns());
                sh.live_again.fetch_add(1, Relaxed);
            }
        }
        if http::find(data, b"\"_bprobe\"").is_some() {
            if !self.probe {
                self.probe = true;
                sh.probed.fetch_add(1, Relaxed);
            }
            return;
        }
        match (number_after(data, b"\"_bseq\""), sent_ns) {
            (Some(seq), Some(ns)) if (seq as usize) < sh.events => {
                let (w, bit) = (seq as usize / 64, 1u64 << (seq % 64));
                if self.got[w] & bit != 0 {
                    self.dups += 1;
                    return;
                }
                self.got[w] |= bit;
                self.distinct += 1;
                sh.delivered.fetch_add(1, Relaxed);
                let now = now_ns();
                sh.last_rx_ns.fetch_max(now, Relaxed);
                let us = now.saturating_sub(ns) / 1000;
                self.lat_us.push(us.min(u32::MAX as u64) as u32);
            }
            _ => self.other += 1,
        }
    }

    /// Loss, duplicates and extras of this subscriber against what the publishers had
    /// accepted: (accepted and never received, received twice, received but not accepted).
    fn tally(&self, accepted: &[bool]) -> (u64, u64, u64) {
        let (mut loss, mut extra) = (0, 0);
        for (i, &acc) in accepted.iter().enumerate() {
            let got = self
                .got
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0);
            match (acc, got) {
                (true, false) => loss += 1,
                (false, true) => extra += 1,
                _ => {}
            }
        }
        (loss, self.dups, extra)
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

/// Opens one stream (a connection slot from `slots` while connecting); with `last_id`, asks
/// to resume after it (`Last-Event-ID`, as a browser's EventSource does on reconnect).
async fn open(
    sh: &Shared,
    idx: usize,
    reader: bool,
    slots: &Semaphore,
    last_id: Option<&[u8]>,
) -> Result<(Conn, Framing), String> {
    let _slot = timeout_at(sh.deadline, slots.acquire())
        .await
        .map_err(|_| "no connection slot before the deadline".to_string())?
        .map_err(|_| "semaphore closed".to_string())?;
    let deadline = sh.deadline.min(Instant::now() + Duration::from_secs(20));
    let rcvbuf = (!reader).then_some(sh.stalled_rcvbuf);
    let mut conn = http::connect(&sh.url, local_ip(idx, &sh.url), rcvbuf, deadline).await?;
    use tokio::io::AsyncWriteExt;
    let resume;
    let request = match last_id {
        Some(id) => {
            resume = http::stream_request_after(&sh.url, id)?;
            &resume
        }
        None => &sh.request,
    };
    timeout_at(deadline, conn.stream.write_all(request))
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

/// Why a stream's read loop ended.
enum Ended {
    /// The run is over (stop signal or deadline).
    Stop,
    /// storm: told to drop the connection.
    Drop,
    /// The server ended the stream or it broke; the reason.
    Broken(String),
}

/// Resolves when `flag` is set; never without one.
async fn raised(flag: Option<&mut watch::Receiver<bool>>) {
    match flag {
        Some(rx) => {
            let _ = rx.wait_for(|v| *v).await;
        }
        None => std::future::pending().await,
    }
}

/// Reads one stream, parsing every event into `sub`, until the run stops, `drop` is raised,
/// or the stream ends. `parser` is the caller's so that the id to resume from outlives the
/// connection.
async fn read_stream(
    sh: &Shared,
    sub: &mut Sub,
    mut conn: Conn,
    framing: Framing,
    parser: &mut sse::Parser,
    stop: &mut watch::Receiver<bool>,
    mut drop: Option<&mut watch::Receiver<bool>>,
) -> Ended {
    let mut chunked = (framing == Framing::Chunked).then(Chunked::default);
    // Feeds raw bytes through the chunked decoder and the SSE parser; Some(reason) once the
    // stream is over or broken.
    let mut feed = |bytes: &[u8], sub: &mut Sub, parser: &mut sse::Parser| -> Option<String> {
        let mut broken: Option<String> = None;
        let mut on_event = |e: &sse::Event<'_>| sub.on_event(e, sh);
        let mut body = |b: &[u8]| {
            if broken.is_none() {
                if let Err(e) = parser.feed(b, &mut on_event) {
                    broken = Some(e);
                }
            }
        };
        let end = match chunked.as_mut() {
            Some(dec) => match dec.decode(bytes, &mut body) {
                Ok(_) if dec.done() => Some("stream ended (last chunk)".to_string()),
                Ok(_) => None,
                Err(e) => Some(e),
            },
            None => {
                body(bytes);
                None
            }
        };
        broken.or(end)
    };
    let leftover = std::mem::take(&mut conn.buf);
    if let Some(end) = feed(&leftover, sub, parser) {
        return Ended::Broken(end);
    }
    loop {
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return Ended::Stop,
            _ = sleep_until(sh.deadline) => return Ended::Stop,
            _ = raised(drop.as_deref_mut()) => return Ended::Drop,
            ready = conn.stream.readable() => {
                if let Err(e) = ready {
                    return Ended::Broken(format!("readable: {e}"));
                }
                let outcome = SCRATCH.with(|scratch| {
                    let mut scratch = scratch.borrow_mut();
                    // Bounded: at most 16 reads (1 MB) per wake, then yield to the others.
                    for _ in 0..16 {
                        match conn.stream.try_read(&mut scratch) {
                            Ok(0) => return Some("stream closed by the server".to_string()),
                            Ok(n) => {
                                if let Some(end) = feed(&scratch[..n], sub, parser) {
                                    return Some(end);
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return None,
                            Err(e) => return Some(format!("read: {e}")),
                        }
                    }
                    None
                });
                if let Some(end) = outcome {
                    return Ended::Broken(end);
                }
            }
        }
    }
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
    let (conn, framing) = match open(&sh, idx, reader, &sh.open, None).await {
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
        drop(conn);
        return sub;
    }
    sub.got = vec![0; sh.events.div_ceil(64)];
    sh.readers_up.fetch_add(1, Relaxed);
    let mut parser = sse::Parser::new();
    if let Ended::Broken(e) =
        read_stream(&sh, &mut sub, conn, framing, &mut parser, &mut stop, None).await
    {
        sub.ended = true;
        sub.error = Some(e);
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

/// `publishers` publishers publish events `0..events` between them (publisher p takes every
/// p-th), each at its scheduled time `i / rate` when a rate is given, else as fast as
/// acknowledgements come back. Event `i` goes to `a.publish[i % len]` (each publisher keeps
/// one keep-alive connection per URL), so with several instances the publishes rotate over
/// them. Ends at the deadline whatever is left.
async fn publish_all(a: &Args, deadline: Instant) -> Published {
    let pad: Arc<str> = "x".repeat(a.pad).into();
    let start = Instant::now();
    let mut tasks: Vec<JoinHandle<PublisherLog>> = Vec::new();
    for p in 0..a.publishers.min(a.events.max(1)) {
        let (urls, token, pad) = (a.publish.clone(), a.token.clone(), pad.clone());
        let (events, publishers, rate) = (a.events, a.publishers, a.rate);
        tasks.push(tokio::spawn(async move {
            let mut clients: Vec<Client> = urls
                .into_iter()
                .map(|u| Client::new(u, token.as_deref(), None))
                .collect();
            let n = clients.len();
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
                let r = clients[i % n]
                    .post(&mut || payload(i, &pad), per_request)
                    .await;
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
    probe_with(a, &mut || PROBE.to_vec()).await
}

/// Publishes one probe (not a benchmark event) on the first publish URL.
async fn probe_with(a: &Args, body: &mut impl FnMut() -> Vec<u8>) -> Result<(), String> {
    let mut client = Client::new(a.publish[0].clone(), a.token.as_deref(), None);
    match client.post(body, Duration::from_secs(10)).await {
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
    /// A value that is already JSON (a histogram's array).
    fn raw(&mut self, k: &str, v: String) -> &mut Self {
        self.0.push((k.into(), v));
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

fn new_shared(a: &Args, deadline: Instant) -> Arc<Shared> {
    let url = a.stream.clone().expect("checked in parse_args");
    Arc::new(Shared {
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
        last_rx_ns: AtomicU64::new(0),
        reconnect: Semaphore::new(match a.reconnect_concurrency {
            0 => a.subscribers.max(1),
            c => c,
        }),
        reconnected: AtomicUsize::new(0),
        live_again: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        broken_early: AtomicUsize::new(0),
    })
}

fn spawn_subscribers(
    a: &Args,
    deadline: Instant,
) -> (Arc<Shared>, Vec<JoinHandle<Sub>>, watch::Sender<bool>) {
    let sh = new_shared(a, deadline);
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
        let (l, d, x) = s.tally(&published.accepted);
        loss += l;
        extra += x;
        dups += d;
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
        "storm" => storm::run(&a).await,
        "ssr" => ssr::run(&a).await,
        "instances" => instances::run(&a).await,
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
