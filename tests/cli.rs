//! The binary's own surface: `--help`, and what happens when the event log is unreadable.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn pulse() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pulse"));
    c.env("LEPTOS_OUTPUT_NAME", "pulse")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PULSE_STOCKS_RATE", "0");
    c
}

/// Runs to completion, or kills the process after 20 s and fails (a server that started
/// when it should have refused would otherwise run forever).
fn run(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "pulse kept running: {:?}",
                child.wait_with_output().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let mut cmd = pulse();
    cmd.arg("--help");
    let out = run(cmd);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for (flag, env) in [
        ("--data-dir", "PULSE_DATA_DIR"),
        ("--publish-token", "PULSE_PUBLISH_TOKEN"),
        ("--heartbeat-secs", "PULSE_HEARTBEAT_SECS"),
        ("--history", "PULSE_HISTORY"),
        ("--queue", "PULSE_QUEUE"),
        ("--retention-secs", "PULSE_RETENTION_SECS"),
        ("--fresh-log", "PULSE_FRESH_LOG"),
        ("--max-connections", "PULSE_MAX_CONNECTIONS"),
        ("--header-timeout-ms", "PULSE_HEADER_TIMEOUT_MS"),
        ("--body-timeout-ms", "PULSE_BODY_TIMEOUT_MS"),
        ("--idle-timeout-secs", "PULSE_IDLE_TIMEOUT_SECS"),
        ("--max-header-bytes", "PULSE_MAX_HEADER_BYTES"),
        ("--max-url-bytes", "PULSE_MAX_URL_BYTES"),
        ("--max-streams-per-client", "PULSE_MAX_STREAMS_PER_CLIENT"),
        ("--max-streams", "PULSE_MAX_STREAMS"),
        ("--trusted-proxy", "PULSE_TRUSTED_PROXY"),
        ("--publish-rate", "PULSE_PUBLISH_RATE"),
        ("--publish-burst", "PULSE_PUBLISH_BURST"),
        ("--max-stock-symbols", "PULSE_MAX_STOCK_SYMBOLS"),
        ("--max-custom-topics", "PULSE_MAX_CUSTOM_TOPICS"),
        ("--tls-cert", "PULSE_TLS_CERT"),
        ("--tls-key", "PULSE_TLS_KEY"),
    ] {
        assert!(text.contains(flag), "{flag} missing from --help");
        assert!(text.contains(env), "{env} missing from --help");
    }
}

#[test]
fn a_corrupt_log_stops_startup_with_a_clear_error_and_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let precious = b"not an sqlite file: somebody's data that must not be overwritten".repeat(64);
    std::fs::write(&db, &precious).unwrap();

    let mut cmd = pulse();
    cmd.env("PULSE_DATA_DIR", dir.path());
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("events.db") && err.contains("--fresh-log"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        precious,
        "the file is untouched"
    );
}

#[test]
fn a_bad_flag_value_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = pulse();
    cmd.env("PULSE_DATA_DIR", dir.path()).args(["--queue", "0"]);
    assert_eq!(run(cmd).status.code(), Some(2));
    let mut cmd = pulse();
    cmd.env("PULSE_DATA_DIR", dir.path())
        .args(["--stocks-symbols", "1ABC", "--stocks-rate", "5"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symbol"));
}

#[test]
fn unusable_limits_and_tls_files_are_refused_with_a_message_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let start = |args: &[&str]| {
        let mut cmd = pulse();
        cmd.env("PULSE_DATA_DIR", dir.path()).args(args);
        let out = run(cmd);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = start(&["--max-connections", "100000000"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("ulimit -n"), "{err}");
    let (code, err) = start(&["--heartbeat-secs", "30", "--idle-timeout-secs", "20"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--idle-timeout-secs"), "{err}");
    let (code, err) = start(&["--trusted-proxy", "10.0.0.0/40"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("10.0.0.0/40"), "{err}");
    let missing = dir.path().join("nope.pem");
    let missing = missing.to_str().unwrap();
    let (code, err) = start(&["--tls-cert", missing, "--tls-key", missing]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nope.pem"), "{err}");
    let (code, _) = start(&["--tls-cert", missing]);
    assert_eq!(
        code,
        Some(2),
        "a certificate without a key is a usage error"
    );
}
