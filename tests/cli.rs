//! The binary's own surface: `--help`, and what happens when the event log is unreadable.

use std::process::Command;

fn pulse() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pulse"));
    c.env("LEPTOS_OUTPUT_NAME", "pulse")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PULSE_STOCKS_RATE", "0");
    c
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = pulse().arg("--help").output().unwrap();
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

    let out = pulse().env("PULSE_DATA_DIR", dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("events.db") && err.contains("--fresh-log"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), precious, "the file is untouched");
}

#[test]
fn a_bad_flag_value_is_refused_before_anything_starts() {
    let out = pulse().args(["--queue", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = pulse().args(["--stocks-symbols", "1ABC"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symbol"));
}
