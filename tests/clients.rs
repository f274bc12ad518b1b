//! `pulse tail` and `pulse publish`, run as the real binary (`CARGO_BIN_EXE_pulse`) against real
//! servers on loopback: the in-process test server, the binary restarted mid-stream, and a
//! server whose Redis is stopped. Every child process runs under a deadline and is killed if it
//! outlives it.

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{free_port, steady_publisher, PulseProcess};
use common::servers::RedisServer;
use common::{SseClient, TestServer, SECS5, TOKEN};

const LIMIT: Duration = Duration::from_secs(60);

/// `pulse` with a clean environment for the clients (no inherited URL or token).
fn pulse(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pulse"));
    c.args(args)
        .env_remove("PULSE_URL")
        .env_remove("PULSE_PUBLISH_TOKEN")
        .env("RUST_LOG", "warn");
    c
}

/// What a finished run printed.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Runs `cmd` to completion with `stdin` (else none), killing it and failing after `limit`.
async fn run(cmd: Command, stdin: Option<&str>, limit: Duration) -> Ran {
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || run_blocking(cmd, stdin, limit))
        .await
        .unwrap()
}

fn run_blocking(mut cmd: Command, stdin: Option<String>, limit: Duration) -> Ran {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start pulse");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        std::thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    let out = reader(child.stdout.take().unwrap());
    let err = reader(child.stderr.take().unwrap());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "pulse {:?} still running after {limit:?}; stdout: {} stderr: {}",
                cmd.get_args().collect::<Vec<_>>(),
                out.join().unwrap(),
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ran {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// A `pulse tail` left running: its stdout lines and stderr are collected as they come.
struct Tail {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Tail {
    fn start(args: &[&str]) -> Tail {
        let mut child = pulse(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pulse tail");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut err = child.stderr.take().unwrap();
        let l = lines.clone();
        let e = stderr.clone();
        let readers = vec![
            std::thread::spawn(move || {
                let mut line = String::new();
                while std::io::BufRead::read_line(&mut out, &mut line).unwrap_or(0) > 0 {
                    l.lock()
                        .unwrap()
                        .push(line.trim_end_matches('\n').to_owned());
                    line.clear();
                }
            }),
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    e.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }),
        ];
        Tail {
            child,
            lines,
            stderr,
            readers,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the printed lines satisfy `done`, failing after `limit`.
    async fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.lines()) {
            assert!(
                Instant::now() < deadline,
                "tail: {what} did not happen within {limit:?}; {} lines, stderr:\n{}",
                self.lines().len(),
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Waits for the exit (killing it and failing after `limit`), then for its output to end.
    async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "pulse tail did not exit within {limit:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        status
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `--json` lines as values.
fn parse_json_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn id_of(v: &serde_json::Value) -> u64 {
    v["id"].as_str().expect("id is a string").parse().unwrap()
}

// ---------------------------------------------------------------------------------------- tail

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_prints_every_acknowledged_event_once_across_sigterm_and_sigkill_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A short `retry:` so the tail comes back quickly after the SIGKILL (no goodbye `retry:`).
    let env = [("PULSE_RETRY_MS", "300")];
    let mut server = Some(PulseProcess::start_with(dir.path(), port, &env).await);
    let base = format!("http://127.0.0.1:{port}");
    // From id 0, so nothing published before the tail connected can be missed.
    let mut tail = Tail::start(&[
        "tail",
        "--url",
        &base,
        "--topics",
        "seq",
        "--since",
        "0",
        "--json",
        "--timeout-secs",
        "120",
    ]);

    let acked = Arc::new(AtomicU64::new(0));
    let total = 400;
    let publisher = steady_publisher(
        base.clone(),
        "seq",
        total,
        Duration::from_millis(8),
        acked.clone(),
        LIMIT,
    );
    // Each interruption hits the tail mid-stream: it has printed this many events, so it is
    // connected to the instance that goes away.
    tail.wait_for("80 events", LIMIT, |lines| lines.len() >= 80)
        .await;
    let took = server.take().unwrap().terminate();
    println!("SIGTERM exit took {took:?}");
    server = Some(PulseProcess::start_with(dir.path(), port, &env).await);
    tail.wait_for("200 events", LIMIT, |lines| lines.len() >= 200)
        .await;
    println!(
        "SIGKILL at {} acknowledged, tail printed {}",
        acked.load(Ordering::SeqCst),
        tail.lines().len()
    );
    server.take().unwrap().kill_9();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server = Some(PulseProcess::start_with(dir.path(), port, &env).await);

    let acked_ids = publisher.await.unwrap();
    assert_eq!(acked_ids.len(), total, "publisher finished");
    let last = *acked_ids.last().unwrap();
    tail.wait_for("the last acknowledged id", LIMIT, |lines| {
        lines
            .last()
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .is_some_and(|v| id_of(&v) >= last)
    })
    .await;
    tail.signal("INT");
    let status = tail.wait_exit(SECS5).await;
    assert_eq!(status.code(), Some(0), "SIGINT is a clean exit");

    let events = parse_json_lines(&tail.lines());
    assert!(
        events.iter().all(|e| e["event"] == "seq"),
        "only seq events, no reset"
    );
    let ids: Vec<u64> = events.iter().map(id_of).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids printed in order, none twice: {ids:?}"
    );
    let seen: std::collections::HashSet<u64> = ids.iter().copied().collect();
    let missing: Vec<u64> = acked_ids
        .iter()
        .copied()
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not printed: {missing:?}"
    );
    for e in &events {
        assert!(e["data"]["n"].is_u64(), "data is the event's JSON: {e}");
    }
    let stderr = tail.stderr();
    println!("tail's stderr:\n{stderr}");
    assert!(
        stderr.matches("reconnected").count() >= 2,
        "both restarts were noticed:\n{stderr}"
    );
    println!(
        "{} acknowledged, {} printed exactly once in order",
        acked_ids.len(),
        ids.len()
    );
    drop(server);
}

/// A server with a history of 5 and events 1..=20 on `seq`.
async fn server_with_twenty() -> TestServer {
    let server = TestServer::start(&["--history", "5"]).await;
    for n in 1..=20 {
        assert_eq!(server.publish("seq", &format!(r#"{{"n":{n}}}"#)).await, n);
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_since_prints_exactly_the_events_after_that_id() {
    let server = server_with_twenty().await;
    let url = server.url("");
    let ran = run(
        pulse(&[
            "tail",
            "--url",
            &url,
            "--topics",
            "seq,other",
            "--since",
            "15",
            "--json",
            "--timeout-secs",
            "2",
        ]),
        None,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        ran.code,
        Some(0),
        "--timeout-secs alone ends cleanly: {ran:?}"
    );
    let lines: Vec<String> = ran.lines().iter().map(|l| l.to_string()).collect();
    let events = parse_json_lines(&lines);
    assert_eq!(
        events.iter().map(id_of).collect::<Vec<_>>(),
        vec![16, 17, 18, 19, 20]
    );
    assert_eq!(
        lines[0], r#"{"id":"16","event":"seq","data":{"n":16}}"#,
        "NDJSON with the data as sent"
    );

    // The human format, and --max-events not reached before --timeout-secs: exit 124.
    let ran = run(
        pulse(&[
            "tail",
            "--url",
            &url,
            "--topics",
            "seq",
            "--since",
            "18",
            "--max-events",
            "5",
            "--timeout-secs",
            "1",
        ]),
        None,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(ran.code, Some(124), "{ran:?}");
    assert_eq!(
        ran.lines(),
        vec![r#"19 seq {"n":19}"#, r#"20 seq {"n":20}"#]
    );
    assert!(ran.stderr.contains("2 of 5 events"), "{}", ran.stderr);

    // --max-events reached: exit 0 at once.
    let ran = run(
        pulse(&[
            "tail",
            "--url",
            &url,
            "--topics",
            "seq",
            "--since",
            "16",
            "--max-events",
            "2",
        ]),
        None,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(ran.lines().len(), 2);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_reports_a_reset_and_goes_on() {
    let server = server_with_twenty().await;
    let url = server.url("");
    let mut tail = Tail::start(&[
        "tail",
        "--url",
        &url,
        "--topics",
        "seq",
        "--since",
        "1",
        "--json",
        "--max-events",
        "3",
        "--timeout-secs",
        "30",
    ]);
    tail.wait_for("the reset line", LIMIT, |lines| !lines.is_empty())
        .await;
    let reset: serde_json::Value = serde_json::from_str(&tail.lines()[0]).unwrap();
    assert_eq!(reset["event"], "reset", "{reset}");
    assert_eq!(reset["id"], "20");
    assert_eq!(reset["previous_id"], "1");
    assert_eq!(reset["data"]["id"], 20);
    let stderr = tail.stderr();
    assert!(
        stderr.contains("reset") && stderr.contains("after id 1") && stderr.contains("id 20"),
        "{stderr}"
    );

    for n in 21..=23 {
        assert_eq!(server.publish("seq", &format!(r#"{{"n":{n}}}"#)).await, n);
    }
    let status = tail.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0), "{}", tail.stderr());
    let events = parse_json_lines(&tail.lines());
    assert_eq!(
        events.iter().map(id_of).collect::<Vec<_>>(),
        vec![20, 21, 22, 23],
        "the reset, then the tail continued"
    );
    assert_eq!(events[3]["data"]["n"], 23);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_refusals_are_usage_errors() {
    let server = TestServer::start(&[]).await;
    let url = server.url("");
    let ran = run(
        pulse(&["tail", "--url", &url, "--topics", "Bad Topic"]),
        None,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr.contains("HTTP 400") && ran.stderr.contains("bad_topics"),
        "the server's error and detail: {}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty());

    let ran = run(
        pulse(&["tail", "--url", "https://127.0.0.1:1", "--topics", "seq"]),
        None,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("https://"), "{}", ran.stderr);

    // Serve flags do not apply to a client.
    let ran = run(
        pulse(&["--history", "5", "tail", "--topics", "seq"]),
        None,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_exits_0_on_sigterm_while_the_server_is_down() {
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let mut tail = Tail::start(&["tail", "--url", &nobody, "--topics", "seq"]);
    let deadline = Instant::now() + LIMIT;
    while !tail.stderr().contains("Connection refused") {
        assert!(
            Instant::now() < deadline,
            "no retry notice: {}",
            tail.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tail.signal("TERM");
    let status = tail.wait_exit(SECS5).await;
    assert_eq!(status.code(), Some(0), "{}", tail.stderr());
    assert!(tail.lines().is_empty());
}

// ------------------------------------------------------------------------------------- publish

/// `pulse publish --url <server> args...` with `token` in the environment.
fn publish(url: &str, token: Option<&str>, args: &[&str]) -> Command {
    let mut c = pulse(&["publish", "--url", url]);
    c.args(args);
    if let Some(t) = token {
        c.env("PULSE_PUBLISH_TOKEN", t);
    }
    c
}

const RUN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_exit_codes_and_messages() {
    let server = TestServer::start(&["--max-body", "256"]).await;
    let url = server.url("");

    // 202: the id on stdout, exit 0.
    let ran = run(
        publish(&url, Some(TOKEN), &["seq", r#"{"n":1}"#]),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let id: u64 = ran.stdout.trim().parse().expect("one id");
    let snap: serde_json::Value = reqwest::get(server.url("/api/topics/seq/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snap["id"], id, "{snap}");

    // --json, and the token from a file (its trailing newline ignored).
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let ran = run(
        publish(
            &url,
            Some("not-the-token"),
            &[
                "--token-file",
                token_file.to_str().unwrap(),
                "--json",
                "seq",
                r#"{"n":2}"#,
            ],
        ),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(0), "--token-file wins: {ran:?}");
    assert_eq!(ran.stdout, format!("{{\"id\":{}}}\n", id + 1));

    // 400: the payload does not match the topic's schema.
    let ran = run(
        publish(
            &url,
            Some(TOKEN),
            &["stocks", r#"{"symbol":"ACME","price":-1}"#],
        ),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(3), "{ran:?}");
    assert!(
        ran.stderr.contains("HTTP 400") && ran.stderr.contains("bad_payload: payload"),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.stderr.lines().count(), 1, "one line: {}", ran.stderr);

    // 401: the wrong token.
    let ran = run(
        publish(&url, Some("wrong"), &["seq", r#"{"n":3}"#]),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(4), "{ran:?}");
    assert!(
        ran.stderr.contains("HTTP 401") && ran.stderr.contains("Authorization: Bearer"),
        "{}",
        ran.stderr
    );

    // 413: over --max-body.
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1000));
    let ran = run(publish(&url, Some(TOKEN), &["seq", &big]), None, RUN).await;
    assert_eq!(ran.code, Some(3), "{ran:?}");
    assert!(
        ran.stderr.contains("HTTP 413") && ran.stderr.contains("256-byte limit"),
        "{}",
        ran.stderr
    );

    // 422: not a topic name (sent percent-encoded, refused by the server).
    let ran = run(
        publish(&url, Some(TOKEN), &["Bad Topic!", r#"{"n":4}"#]),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(3), "{ran:?}");
    assert!(
        ran.stderr.contains("HTTP 422") && ran.stderr.contains("bad_topic"),
        "{}",
        ran.stderr
    );

    // Usage errors: nothing is sent.
    let ran = run(publish(&url, None, &["seq", r#"{"n":5}"#]), None, RUN).await;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr.contains("PULSE_PUBLISH_TOKEN") && ran.stderr.contains("--token-file"),
        "{}",
        ran.stderr
    );
    let ran = run(
        publish(
            &url,
            None,
            &["--token-file", "/nonexistent/token", "seq", r#"{"n":5}"#],
        ),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("/nonexistent/token"), "{}", ran.stderr);
    let ran = run(publish(&url, Some(TOKEN), &["seq", r#"{"n":"#]), None, RUN).await;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("not valid JSON"), "{}", ran.stderr);
    let ran = run(
        publish("https://127.0.0.1:1", Some(TOKEN), &["seq", r#"{"n":5}"#]),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(2), "{ran:?}");

    // None of the refused events was stored.
    let snap: serde_json::Value = reqwest::get(server.url("/api/topics/seq/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snap["id"], id + 1, "{snap}");

    // Nothing listening: retried, then exit 5.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let ran = run(
        publish(
            &nobody,
            Some(TOKEN),
            &["--retries", "1", "seq", r#"{"n":6}"#],
        ),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(5), "{ran:?}");
    assert!(
        ran.stderr.contains("cannot connect") && ran.stderr.contains("retry 1 of 1"),
        "{}",
        ran.stderr
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_from_stdin_sends_each_line_in_order() {
    let server = TestServer::start(&[]).await;
    let url = server.url("");
    let before = server.publish("seq", r#"{"n":0}"#).await;

    let input = "{\"n\":1}\n\n  \n{\"n\":2}\r\n{\"n\":3}";
    let ran = run(publish(&url, Some(TOKEN), &["seq", "-"]), Some(input), RUN).await;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let ids: Vec<u64> = ran.lines().iter().map(|l| l.parse().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{ran:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let mut sub = SseClient::connect(
        &server.url(&format!("/api/events?topics=seq&since={before}")),
        None,
    )
    .await;
    let got = sub.take(3, SECS5).await;
    assert_eq!(common::ids(&got), ids);
    let data: Vec<&str> = got.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, vec![r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]);

    // The second line is refused: the first stays published, the run stops at line 2.
    let input = "{\"symbol\":\"ACME\",\"price\":1.5}\n{\"symbol\":\"ACME\"}\n{\"symbol\":\"ACME\",\"price\":2}\n";
    let ran = run(
        publish(&url, Some(TOKEN), &["--json", "stocks", "-"]),
        Some(input),
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(3), "{ran:?}");
    assert_eq!(ran.lines().len(), 1, "{ran:?}");
    let ack: serde_json::Value = serde_json::from_str(ran.lines()[0]).unwrap();
    assert_eq!(ack["line"], 1);
    assert!(
        ran.stderr.contains("line 2:")
            && ran.stderr.contains("HTTP 400")
            && ran.stderr.contains("1 earlier event was published"),
        "{}",
        ran.stderr
    );

    // A line that is not JSON is a usage error, named by its line number.
    let ran = run(
        publish(&url, Some(TOKEN), &["seq", "-"]),
        Some("{\"n\":7}\nnot json\n"),
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr.contains("line 2: not valid JSON"),
        "{}",
        ran.stderr
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_waits_out_the_token_rate_limit() {
    // One publish every 2 s after a burst of one: the second line gets 429 + Retry-After 2,
    // which certainly stored nothing, so it is sent again after the wait.
    let server = TestServer::start(&["--publish-rate", "0.5", "--publish-burst", "1"]).await;
    let url = server.url("");
    let started = std::time::Instant::now();
    let ran = run(
        publish(&url, Some(TOKEN), &["seq", "-"]),
        Some("{\"n\":1}\n{\"n\":2}\n"),
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(ran.lines().len(), 2, "{ran:?}");
    assert!(ran.stderr.contains("HTTP 429"), "{}", ran.stderr);
    assert!(started.elapsed() >= Duration::from_millis(1800));
    // With no retries left it is exit 5, and nothing was stored twice.
    let ran = run(
        publish(&url, Some(TOKEN), &["--retries", "0", "seq", r#"{"n":3}"#]),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(5), "{ran:?}");
    assert_eq!(server.metric("pulse_events_published_total").await, 2.0);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_while_redis_is_down_exits_5_and_recovers_with_retries() {
    let redis_dir = tempfile::tempdir().unwrap();
    let mut redis = RedisServer::start(redis_dir.path());
    let redis_url = redis.url();
    let server = TestServer::start(&["--redis-url", &redis_url]).await;
    let url = server.url("");

    let ran = run(
        publish(&url, Some(TOKEN), &["seq", r#"{"n":1}"#]),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(0), "{ran:?}");

    redis.kill();
    let started = Instant::now();
    let ran = run(
        publish(&url, Some(TOKEN), &["--retries", "1", "seq", r#"{"n":2}"#]),
        None,
        RUN,
    )
    .await;
    assert_eq!(ran.code, Some(5), "{ran:?}");
    assert!(
        ran.stderr.contains("HTTP 503")
            && ran.stderr.contains("unavailable")
            && ran.stderr.contains("retry 1 of 1")
            && ran.stderr.contains("gave up after 1 retries"),
        "{}",
        ran.stderr
    );
    println!("503 with one retry took {:?}", started.elapsed());

    // Redis back while the client is retrying: the event is published once.
    let cmd = publish(&url, Some(TOKEN), &["--retries", "10", "seq", r#"{"n":3}"#]);
    let pending = tokio::task::spawn_blocking(move || run_blocking(cmd, None, RUN));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.restart();
    let ran = pending.await.unwrap();
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let id: u64 = ran.stdout.trim().parse().unwrap();
    let mut sub = SseClient::connect(
        &server.url(&format!("/api/events?topics=seq&since={}", id - 1)),
        None,
    )
    .await;
    let got = sub.take(1, SECS5).await;
    assert_eq!(got[0].data, r#"{"n":3}"#);
    server.stop().await.unwrap();
}
