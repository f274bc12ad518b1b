//! `pulse tail`: print a server's events as they happen, one line each, and keep doing so across
//! disconnects and server restarts without printing an event twice or skipping one.
//!
//! It is an `EventSource` for the shell: the bytes are decoded as the HTML spec says (UTF-8, one
//! leading BOM dropped) and parsed by [`crate::sse::parse::Parser`]; on any end of the stream it
//! reconnects with `Last-Event-ID` set to the last id it printed, so the server replays exactly
//! what was missed. Where a browser would retry at a fixed `retry:` interval, the tail backs off
//! (doubling, capped, jittered) so a fleet of scripts does not hammer a server that is down.
//!
//! Ids are remembered as numbers as well: an event whose id is not newer than the last one
//! printed is dropped, so even a server that replayed too much could not make it print twice.

use std::process::ExitCode;
use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Response, StatusCode, Url};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::{
    api_url, base_url, describe_refusal, read_body, retry_after, root_cause, secs, CONNECT_TIMEOUT,
    DEFAULT_URL,
};
use crate::sse::parse::{Parsed, Parser};

/// Exit code when `--timeout-secs` passed before `--max-events` events were printed (the
/// convention of coreutils' `timeout`).
pub const EXIT_TIMED_OUT: u8 = 124;

/// The first wait before reconnecting, until the server sends its own `retry:`.
pub const DEFAULT_BASE: Duration = Duration::from_millis(500);

/// The longest wait between attempts (before jitter), however long the server has been down.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// A `retry:` below this is raised to it, so a misconfigured server cannot make the tail spin.
const MIN_BASE: Duration = Duration::from_millis(100);

const AFTER_HELP: &str = "\
Output (stdout): one line per event, `ID TOPIC DATA` (line breaks inside DATA shown as \\n).
With --json, one JSON object per line: {\"id\":\"1042\",\"event\":\"stocks\",\"data\":{...}},
where data is the event's JSON exactly as sent (a JSON string if the data is not JSON).

A reset (the server no longer has the events after the id the tail resumes from, e.g. an old
--since) is reported on stderr; with --json it is also printed as a line with
\"event\":\"reset\" and \"previous_id\". The tail then continues with new events.
Reconnect notices go to stderr too.

Reconnecting: waits the server's retry: (0.5 s until it sent one), doubled after each failed
attempt up to 30 s, plus up to 25% jitter; back to the base once connected. Resumes with
Last-Event-ID = the last id printed. 5xx answers and refused connections are retried forever
(bound the run with --timeout-secs).

Exit codes:
  0    stopped by SIGINT/SIGTERM; --max-events printed; --timeout-secs passed (without
       --max-events); stdout closed (e.g. `| head`)
  1    what answered is not a Pulse stream (404, not text/event-stream), or stdout failed
  2    usage error: bad flags or --url, or the server refused the topics or id (HTTP 400)
  124  --timeout-secs passed before --max-events events were printed";

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct TailArgs {
    /// The server's base address (plain http://).
    #[arg(long, env = "PULSE_URL", default_value = DEFAULT_URL)]
    pub url: String,

    /// Topics to follow, comma-separated, e.g. `stocks,notifications`.
    #[arg(long)]
    pub topics: String,

    /// Print exactly the events after this id (a reset if the server no longer has them).
    /// Without it, only events published from now on.
    #[arg(long)]
    pub since: Option<u64>,

    /// One JSON object per line (NDJSON) instead of `ID TOPIC DATA`.
    #[arg(long)]
    pub json: bool,

    /// Exit (0) after printing this many events.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_events: Option<u64>,

    /// Exit after this many seconds: 0, or 124 if --max-events was given and not reached.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: Option<u64>,

    /// Reconnect when nothing arrives for this many seconds, not even a heartbeat (Pulse sends
    /// one every 15 s by default); catches connections that died without being closed.
    #[arg(long, default_value_t = 45, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_secs: u64,
}

/// Why the tail cannot go on; each says what to fix.
#[derive(Debug)]
pub enum TailError {
    /// Bad flags or `--url` (exit 2).
    Usage(String),
    /// The server refused the subscription itself (400: a bad topic list or id), so retrying
    /// would only be refused again (exit 2).
    Refused(String),
    /// What answered is not a Pulse event stream: a 404, another content type (exit 1).
    NotAStream(String),
    /// Writing the events to stdout failed, other than by the reader going away (exit 1).
    Output(std::io::Error),
}

impl TailError {
    pub fn exit_code(&self) -> u8 {
        match self {
            TailError::Usage(_) | TailError::Refused(_) => 2,
            TailError::NotAStream(_) | TailError::Output(_) => 1,
        }
    }
}

impl std::fmt::Display for TailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TailError::Usage(m) | TailError::NotAStream(m) => f.write_str(m),
            TailError::Refused(m) => write!(f, "the server refused the subscription: {m}"),
            TailError::Output(e) => write!(f, "cannot write to stdout: {e}"),
        }
    }
}

impl std::error::Error for TailError {}

/// How a run ended.
#[derive(Debug)]
enum End {
    Signal,
    Timeout,
    MaxEvents,
    /// Whoever read stdout is gone (`pulse tail | head -3`): nobody is left to print for.
    OutputClosed,
    Failed(TailError),
}

pub async fn run(args: TailArgs) -> ExitCode {
    // First, so a Ctrl-C during the first connection attempt is already handled cleanly.
    let stop = Stop::start(args.timeout_secs.map(Duration::from_secs));
    let mut tail = match Tail::new(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("pulse tail: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let end = tail.run(&stop).await;
    let _ = tail.out.flush().await;
    match end {
        End::Signal | End::MaxEvents | End::OutputClosed => ExitCode::SUCCESS,
        End::Timeout if args.max_events.is_some() => {
            eprintln!(
                "pulse tail: --timeout-secs passed after {} of {} events",
                tail.printed,
                args.max_events.unwrap_or_default()
            );
            ExitCode::from(EXIT_TIMED_OUT)
        }
        End::Timeout => ExitCode::SUCCESS,
        End::Failed(e) => {
            eprintln!("pulse tail: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// What stops the tail from outside: a signal or `--timeout-secs`.
#[derive(Debug, Clone, Copy)]
enum StopReason {
    Signal,
    Timeout,
}

struct Stop {
    rx: watch::Receiver<Option<StopReason>>,
}

impl Stop {
    fn start(timeout: Option<Duration>) -> Stop {
        let signal = super::shutdown_signal();
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let timer = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            let reason = tokio::select! {
                _ = signal => StopReason::Signal,
                _ = timer => StopReason::Timeout,
            };
            let _ = tx.send(Some(reason));
        });
        Stop { rx }
    }

    async fn wait(&self) -> End {
        let mut rx = self.rx.clone();
        let reason = match rx.wait_for(Option::is_some).await {
            Ok(r) => *r,
            Err(_) => None,
        };
        match reason {
            Some(StopReason::Signal) => End::Signal,
            Some(StopReason::Timeout) => End::Timeout,
            // The stopper task is gone without a reason (the runtime is shutting down).
            None => std::future::pending().await,
        }
    }
}

/// The result of one connection attempt.
enum Attempt {
    Connected(Response),
    /// Worth trying again later (connection refused, 5xx); `after` is the server's `Retry-After`.
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Fail(TailError),
}

struct Tail {
    client: reqwest::Client,
    base: Url,
    events_url: Url,
    json: bool,
    max_events: Option<u64>,
    idle: Duration,
    pos: Position,
    /// The wait before reconnecting: the server's latest `retry:`, or [`DEFAULT_BASE`].
    retry_base: Duration,
    /// Failed attempts since the last successful connection (the backoff's exponent).
    failures: u32,
    printed: u64,
    out: tokio::io::Stdout,
}

impl Tail {
    fn new(args: &TailArgs) -> Result<Tail, TailError> {
        let base = base_url(&args.url).map_err(TailError::Usage)?;
        if args.topics.trim().is_empty() {
            return Err(TailError::Usage(
                "--topics needs at least one topic, e.g. --topics stocks,notifications".into(),
            ));
        }
        let mut events_url = api_url(&base, &["api", "events"]);
        events_url
            .query_pairs_mut()
            .append_pair("topics", args.topics.trim());
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| TailError::Usage(format!("cannot set up HTTP: {}", root_cause(&e))))?;
        Ok(Tail {
            client,
            base,
            events_url,
            json: args.json,
            max_events: args.max_events,
            idle: Duration::from_secs(args.idle_secs),
            pos: Position::after(args.since),
            retry_base: DEFAULT_BASE,
            failures: 0,
            printed: 0,
            out: tokio::io::stdout(),
        })
    }

    async fn run(&mut self, stop: &Stop) -> End {
        // Whether the tail was ever connected, and whether the last attempt or stream failed:
        // together they pick the notice (none for the first connection that just works).
        let mut connected_before = false;
        let mut disconnected = false;
        loop {
            let attempt = tokio::select! {
                biased;
                end = stop.wait() => return end,
                attempt = self.connect() => attempt,
            };
            let (why, after) = match attempt {
                Attempt::Connected(res) => {
                    self.failures = 0;
                    if disconnected {
                        let again = if connected_before { "re" } else { "" };
                        eprintln!("pulse tail: {again}connected to {}", self.base);
                    }
                    connected_before = true;
                    let why = match self.follow(res, stop).await {
                        Ok(why) => why,
                        Err(end) => return end,
                    };
                    disconnected = true;
                    (why, None)
                }
                Attempt::Retry { why, after } => {
                    self.failures = self.failures.saturating_add(1);
                    disconnected = true;
                    (why, after)
                }
                Attempt::Fail(e) => return End::Failed(e),
            };
            // Failures count from 1, so a stream that simply ended waits `retry:` itself.
            let wait = backoff(
                self.retry_base,
                self.failures.saturating_sub(1),
                rand::random(),
            )
            .max(after.unwrap_or_default().min(MAX_DELAY));
            match &self.pos.resume {
                Some(id) => eprintln!(
                    "pulse tail: {why}; reconnecting in {} (resuming after id {id})",
                    secs(wait)
                ),
                None => eprintln!("pulse tail: {why}; reconnecting in {}", secs(wait)),
            }
            tokio::select! {
                biased;
                end = stop.wait() => return end,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn connect(&self) -> Attempt {
        // The header is what the server resumes from (as for a browser's reconnect); `since`
        // in the URL says the same to anyone reading access logs.
        let mut url = self.events_url.clone();
        if let Some(id) = &self.pos.resume {
            url.query_pairs_mut().append_pair("since", id);
        }
        let mut req = self
            .client
            .get(url)
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache");
        if let Some(id) = &self.pos.resume {
            req = req.header("last-event-id", id);
        }
        let res = match req.send().await {
            Ok(res) => res,
            Err(e) => {
                return Attempt::Retry {
                    why: format!("cannot reach {}: {}", self.base, root_cause(&e)),
                    after: None,
                }
            }
        };
        let status = res.status();
        if status == StatusCode::OK {
            let kind = res
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !kind.starts_with("text/event-stream") {
                return Attempt::Fail(TailError::NotAStream(format!(
                    "{} answered with {kind:?}, not text/event-stream; is --url a Pulse server?",
                    self.events_url
                )));
            }
            return Attempt::Connected(res);
        }
        let after = retry_after(res.headers());
        let body = read_body(res).await;
        let msg = describe_refusal(status, &body);
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            Attempt::Retry {
                why: format!("the server is unavailable ({msg})"),
                after,
            }
        } else if status == StatusCode::BAD_REQUEST {
            Attempt::Fail(TailError::Refused(msg))
        } else {
            Attempt::Fail(TailError::NotAStream(format!(
                "{msg} from {}; is --url a Pulse server?",
                self.events_url
            )))
        }
    }

    /// Prints the stream's events until it ends (`Ok`: why, to reconnect) or the run ends.
    async fn follow(&mut self, mut res: Response, stop: &Stop) -> Result<String, End> {
        // A new connection starts a new stream: an event cut off by the disconnect is dropped
        // here and comes again in the replay, because the resume id is the last one printed.
        let mut parser = Parser::new();
        let mut text = Utf8Stream::default();
        loop {
            let next = tokio::select! {
                biased;
                end = stop.wait() => return Err(end),
                next = tokio::time::timeout(self.idle, res.chunk()) => next,
            };
            let bytes = match next {
                Err(_) => {
                    return Ok(format!(
                        "nothing arrived for {}, not even a heartbeat",
                        secs(self.idle)
                    ))
                }
                Ok(Err(e)) => return Ok(format!("the stream broke: {}", root_cause(&e))),
                Ok(Ok(None)) => return Ok("the server ended the stream".into()),
                Ok(Ok(Some(bytes))) => bytes,
            };
            let events = parser.feed(&text.decode(&bytes));
            if let Some(ms) = parser.retry {
                self.retry_base = Duration::from_millis(ms).clamp(MIN_BASE, MAX_DELAY);
            }
            self.print(events).await?;
        }
    }

    async fn print(&mut self, events: Vec<Parsed>) -> Result<(), End> {
        let mut out = String::new();
        for event in events {
            match self.pos.accept(event) {
                Step::Duplicate => {}
                Step::Print(ev) => {
                    if self.json {
                        out.push_str(&json_line(&ev, None));
                    } else {
                        out.push_str(&human_line(&ev));
                    }
                    out.push('\n');
                    self.printed += 1;
                    if self.max_events.is_some_and(|max| self.printed >= max) {
                        self.write(&out).await?;
                        return Err(End::MaxEvents);
                    }
                }
                Step::Reset { previous, event } => {
                    // What came before is on the terminal before the notice.
                    self.write(&out).await?;
                    out.clear();
                    eprintln!("pulse tail: {}", reset_notice(previous.as_deref(), &event));
                    if self.json {
                        out.push_str(&json_line(&event, Some(previous.as_deref())));
                        out.push('\n');
                    }
                }
            }
        }
        self.write(&out).await
    }

    async fn write(&mut self, text: &str) -> Result<(), End> {
        if text.is_empty() {
            return Ok(());
        }
        let written = match self.out.write_all(text.as_bytes()).await {
            Ok(()) => self.out.flush().await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(End::OutputClosed),
            Err(e) => Err(End::Failed(TailError::Output(e))),
        }
    }
}

/// The wait before the next attempt: `base` doubled `failures` times, at most [`MAX_DELAY`],
/// plus up to 25% of that (`jitter` in `[0, 1)`), so the many tails cut off by one restart do
/// not all come back in the same instant. Never less than `base`: the server asked for it.
pub fn backoff(base: Duration, failures: u32, jitter: f64) -> Duration {
    let delay = base.saturating_mul(1u32 << failures.min(16)).min(MAX_DELAY);
    delay + delay.mul_f64(jitter.clamp(0.0, 1.0) * 0.25)
}

/// Where the tail is: the id to resume from, and the newest id printed. Together they make
/// "never twice, never skipped" hold across reconnects.
#[derive(Debug, Default, Clone)]
pub struct Position {
    /// Sent as `Last-Event-ID`: the last id printed, or the id a reset continues from.
    pub resume: Option<String>,
    /// The newest numeric id printed (or `--since`); anything not newer is a duplicate.
    newest: Option<u64>,
}

/// What to do with one parsed event.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Print(Parsed),
    /// Already printed (or before `--since`): drop it.
    Duplicate,
    /// The server could not resume from `previous`; events continue after `event.id`.
    Reset {
        previous: Option<String>,
        event: Parsed,
    },
}

impl Position {
    pub fn after(since: Option<u64>) -> Position {
        Position {
            resume: since.map(|s| s.to_string()),
            newest: since,
        }
    }

    pub fn accept(&mut self, event: Parsed) -> Step {
        let number = event.id.as_deref().and_then(|id| id.parse::<u64>().ok());
        if event.event == "reset" {
            // A reset starts a new count: its id may even be lower (the server lost data), and
            // what follows it is new.
            let previous = self.resume.clone();
            if event.id.is_some() {
                self.resume = event.id.clone();
                self.newest = number;
            }
            return Step::Reset { previous, event };
        }
        if let (Some(n), Some(newest)) = (number, self.newest) {
            if n <= newest {
                return Step::Duplicate;
            }
        }
        if event.id.is_some() {
            self.resume = event.id.clone();
            self.newest = number;
        }
        Step::Print(event)
    }
}

/// `ID TOPIC DATA` on one line; a line break inside the data is shown as `\n`.
pub fn human_line(ev: &Parsed) -> String {
    format!(
        "{} {} {}",
        ev.id.as_deref().unwrap_or("-"),
        ev.event,
        ev.data.replace('\n', "\\n")
    )
}

/// `{"id":"1042","event":"stocks","data":...}`: `data` is the event's JSON exactly as the server
/// sent it (key order and numbers untouched), or a JSON string when it is not JSON. A reset also
/// gets `"previous_id"` (`Some(None)`: there was none).
pub fn json_line(ev: &Parsed, previous: Option<Option<&str>>) -> String {
    let string = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let id = ev.id.as_deref().map_or_else(|| "null".into(), string);
    let data = if serde_json::from_str::<serde::de::IgnoredAny>(&ev.data).is_ok() {
        // Valid JSON holds a raw line break only as whitespace between tokens (never inside a
        // string), so a space keeps the value and keeps it on one line.
        ev.data.replace(['\r', '\n'], " ")
    } else {
        string(&ev.data)
    };
    let mut line = format!(r#"{{"id":{id},"event":{},"data":{data}"#, string(&ev.event));
    if let Some(previous) = previous {
        let previous = previous.map_or_else(|| "null".into(), string);
        line.push_str(&format!(r#","previous_id":{previous}"#));
    }
    line.push('}');
    line
}

/// The stderr line for a reset.
pub fn reset_notice(previous: Option<&str>, ev: &Parsed) -> String {
    let latest = ev.id.as_deref().unwrap_or("?");
    match previous {
        Some(prev) => format!(
            "reset: the server no longer has the history after id {prev}, so the events between \
             it and id {latest} are not available (re-read the current state from a snapshot if \
             you need it); events from here on continue after id {latest}"
        ),
        None => format!("reset: events from here on continue after id {latest}"),
    }
}

/// Turns the stream's bytes into text as the spec's decoder does: UTF-8 with U+FFFD for invalid
/// bytes, one leading byte-order mark dropped, and a character split across two chunks kept
/// whole (chunks end wherever TCP cut them).
#[derive(Debug, Default)]
pub struct Utf8Stream {
    /// The start of a character whose remaining bytes have not arrived yet.
    pending: Vec<u8>,
    /// Whether the first character was seen (only it can be the BOM).
    started: bool,
}

impl Utf8Stream {
    pub fn decode(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::with_capacity(self.pending.len());
        let mut at = 0;
        while at < self.pending.len() {
            match std::str::from_utf8(&self.pending[at..]) {
                Ok(text) => {
                    out.push_str(text);
                    at = self.pending.len();
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[at..at + valid]));
                    at += valid;
                    match e.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            at += bad;
                        }
                        // Incomplete at the end: keep it for the next chunk.
                        None => break,
                    }
                }
            }
        }
        self.pending.drain(..at);
        if !self.started && !out.is_empty() {
            self.started = true;
            if let Some(rest) = out.strip_prefix('\u{feff}') {
                return rest.to_owned();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, event: &str, data: &str) -> Parsed {
        Parsed {
            id: Some(id.into()),
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn backoff_doubles_from_the_base_to_the_cap_with_bounded_jitter() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 0, 0.0), base);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(base, 3, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(base, 10, 0.0), MAX_DELAY);
        assert_eq!(backoff(base, u32::MAX, 0.0), MAX_DELAY);
        let most = backoff(base, 2, 0.999);
        assert!(most > Duration::from_secs(2) && most < Duration::from_millis(2500));
        assert!(backoff(MAX_DELAY, 5, 0.999) < MAX_DELAY.mul_f64(1.25));
    }

    #[test]
    fn duplicates_and_events_before_since_are_dropped() {
        let mut pos = Position::after(Some(5));
        assert_eq!(pos.accept(ev("5", "a", "x")), Step::Duplicate);
        assert!(matches!(pos.accept(ev("6", "a", "x")), Step::Print(_)));
        assert_eq!(pos.accept(ev("6", "a", "x")), Step::Duplicate);
        assert!(matches!(pos.accept(ev("8", "b", "x")), Step::Print(_)));
        assert_eq!(pos.resume.as_deref(), Some("8"));
    }

    #[test]
    fn a_reset_moves_the_resume_point_even_backwards() {
        let mut pos = Position::after(Some(100));
        let step = pos.accept(ev("40", "reset", r#"{"id":40,"reason":"history"}"#));
        assert!(matches!(step, Step::Reset { previous: Some(ref p), .. } if p == "100"));
        assert_eq!(pos.resume.as_deref(), Some("40"));
        assert!(matches!(pos.accept(ev("41", "a", "x")), Step::Print(_)));
    }

    #[test]
    fn lines_are_one_per_event_and_json_keeps_the_data_verbatim() {
        let e = ev("7", "stocks", r#"{"symbol":"ACME","price":12.340}"#);
        assert_eq!(
            human_line(&e),
            r#"7 stocks {"symbol":"ACME","price":12.340}"#
        );
        assert_eq!(
            json_line(&e, None),
            r#"{"id":"7","event":"stocks","data":{"symbol":"ACME","price":12.340}}"#
        );
        let text = ev("8", "x", "two\nlines \"quoted\"");
        assert_eq!(human_line(&text), "8 x two\\nlines \"quoted\"");
        let line = json_line(&text, None);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["data"], "two\nlines \"quoted\"");
        let multi = ev("9", "x", "{\"a\":\n1}");
        assert_eq!(
            json_line(&multi, None),
            r#"{"id":"9","event":"x","data":{"a": 1}}"#
        );
        let reset = ev("20", "reset", r#"{"id":20,"reason":"history"}"#);
        let v: serde_json::Value =
            serde_json::from_str(&json_line(&reset, Some(Some("1")))).unwrap();
        assert_eq!(v["event"], "reset");
        assert_eq!(v["previous_id"], "1");
        assert_eq!(v["data"]["id"], 20);
    }

    #[test]
    fn utf8_split_across_chunks_bom_and_invalid_bytes() {
        let mut d = Utf8Stream::default();
        // The BOM itself split over two chunks, then "é" split in two.
        assert_eq!(d.decode(&[0xEF, 0xBB]), "");
        assert_eq!(d.decode(&[0xBF, b'a', 0xC3]), "a");
        assert_eq!(d.decode(&[0xA9, b'\n']), "é\n");
        // A second BOM is data, not a marker.
        assert_eq!(d.decode("\u{feff}x".as_bytes()), "\u{feff}x");
        assert_eq!(d.decode(&[b'a', 0xFF, b'b']), "a\u{fffd}b");
    }

    #[test]
    fn crlf_and_cr_streams_split_anywhere_parse_the_same() {
        let stream = "\u{feff}retry: 300\r\n\r\n: hi\rid: 1\revent: a\rdata: x\rdata: y\r\r\
                      id: 2\r\nevent: b\r\ndata: z\r\n\r\n";
        let bytes = stream.as_bytes();
        for cut in 1..bytes.len() {
            let mut d = Utf8Stream::default();
            let mut p = Parser::new();
            let mut got = p.feed(&d.decode(&bytes[..cut]));
            got.extend(p.feed(&d.decode(&bytes[cut..])));
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(got[0].data, "x\ny");
            assert_eq!(got[1].id.as_deref(), Some("2"));
            assert_eq!(p.retry, Some(300));
        }
    }
}
