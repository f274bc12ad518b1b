//! The command line: `pulse` alone serves (as it always has), `pulse tail` and `pulse publish`
//! are small HTTP clients so Pulse can be scripted from a shell without curl and an SSE parser.
//!
//! The clients live in the server's binary on purpose: one artefact to ship, and the stream is
//! read by the same spec parser ([`crate::sse::parse`]) the tests use to stand in for a browser.
//! They speak plain HTTP/1.1 only (`http://`); anything else is refused up front with a message,
//! rather than failing later with a confusing connection error.

pub mod publish;
pub mod tail;

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use reqwest::Url;

use crate::config::Config;

/// Where the clients connect when `--url` and `PULSE_URL` are unset: a server started with no
/// settings listens here (`LEPTOS_SITE_ADDR`'s default).
pub const DEFAULT_URL: &str = "http://127.0.0.1:3000";

/// How long a client waits for a TCP connection before counting the attempt as failed.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `pulse [serve flags]` or `pulse <tail|publish> ...`.
///
/// The serve flags stay at the top level (not under a `serve` subcommand) so every existing
/// deployment, wrapper and `pulse --help` reader keeps working unchanged.
#[derive(Debug, Parser)]
#[command(
    name = "pulse",
    version,
    about = "Pulse: live dashboards over Server-Sent Events",
    long_about = "Pulse: live dashboards over Server-Sent Events.\n\n\
        With no command, serves the app (the flags below). `pulse tail` and `pulse publish` \
        are clients for a running server; see `pulse <command> --help`.",
    // A flag given twice takes the last value, so tests and wrappers can override defaults.
    args_override_self = true,
    // `pulse --history 5 tail ...` is a mistake (serve flags do nothing for a client): refuse it.
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub serve: Config,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the events of a running server's stream, resuming across disconnects and restarts.
    Tail(tail::TailArgs),
    /// Publish one event, or one per line of NDJSON from stdin, to a running server.
    Publish(publish::PublishArgs),
}

impl Command {
    /// Runs the client to completion; the exit code is what a script acts on.
    pub async fn run(self) -> ExitCode {
        match self {
            Command::Tail(args) => tail::run(args).await,
            Command::Publish(args) => publish::run(args).await,
        }
    }
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first polled, so a
/// signal that arrives while the caller is still setting up is not lost (nor does it kill the
/// process with the default action). Must be called inside the tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    // Could not install the handler: never resolve (the default action still
                    // stops the process), rather than resolving at once and stopping for nothing.
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {}
                _ = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Checks `--url`: an absolute `http://` address with no query or fragment (the clients append
/// the API paths to it, so a server behind a path prefix such as `http://host/pulse/` works).
pub fn base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        format!("--url {raw:?} is not a URL ({e}); give the server's address, e.g. {DEFAULT_URL}")
    })?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err(format!(
                "--url {raw:?}: https:// is not supported yet; use the server's http:// address \
                 (or a local TLS-terminating proxy in front of it)"
            ))
        }
        other => {
            return Err(format!(
                "--url {raw:?}: the scheme {other}:// is not supported; use http://, e.g. {DEFAULT_URL}"
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("--url {raw:?} has no host; e.g. {DEFAULT_URL}"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "--url {raw:?}: give the server's base address without `?` or `#`, e.g. {DEFAULT_URL}"
        ));
    }
    Ok(url)
}

/// `base` with `segments` appended to its path, each percent-encoded as needed, so a topic
/// name the server will refuse still reaches it intact (and is refused with its own message).
pub fn api_url(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// One line describing a refusal: the status and the server's JSON `error` and `detail`
/// (`{"error": "bad_payload", "detail": "..."}`), or the start of the body when it is not
/// Pulse's JSON (a proxy's error page, another server).
pub fn describe_refusal(status: reqwest::StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ApiError {
        error: Option<String>,
        detail: Option<String>,
    }
    let reason = status.canonical_reason().unwrap_or("");
    let head = format!("HTTP {} {reason}", status.as_u16());
    match serde_json::from_slice::<ApiError>(body) {
        Ok(ApiError { error, detail }) => match (error, detail) {
            (Some(e), Some(d)) => format!("{head}: {e}: {d}"),
            (Some(e), None) => format!("{head}: {e}"),
            (None, Some(d)) => format!("{head}: {d}"),
            (None, None) => head,
        },
        // An HTML error page (a proxy's, or the app's 404 page) says nothing the status does not.
        Err(_) if body.trim_ascii_start().starts_with(b"<") => head,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text: String = text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(160)
                .collect();
            if text.is_empty() {
                head
            } else {
                format!("{head}: {text}")
            }
        }
    }
}

/// The innermost cause of an error ("Connection refused (os error 111)"), which is what a
/// user can act on; reqwest's own message only says which request failed.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// `Retry-After` in seconds (the only form Pulse sends), if present and sane.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The start of an error response's body (enough for Pulse's JSON error), without waiting long
/// for a slow or endless one: the body only feeds a message.
pub(crate) async fn read_body(mut res: reqwest::Response) -> Vec<u8> {
    const MOST: usize = 16 * 1024;
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = res.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= MOST {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
    body
}

/// Formats a wait for messages: `0.6 s`, `12 s`.
pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_base_addresses_are_accepted() {
        assert!(base_url("http://127.0.0.1:3000").is_ok());
        assert!(base_url("http://127.0.0.1:3000/pulse/").is_ok());
        assert!(base_url("https://example.com")
            .unwrap_err()
            .contains("https"));
        assert!(base_url("ftp://x").unwrap_err().contains("ftp"));
        assert!(base_url("127.0.0.1:3000").is_err());
        assert!(base_url("http://h/?topics=a").is_err());
    }

    #[test]
    fn api_paths_are_appended_and_encoded() {
        let base = base_url("http://h:1/pulse/").unwrap();
        let url = api_url(&base, &["api", "topics", "a b/c", "events"]);
        assert_eq!(url.as_str(), "http://h:1/pulse/api/topics/a%20b%2Fc/events");
        let base = base_url("http://h:1").unwrap();
        assert_eq!(
            api_url(&base, &["api", "events"]).as_str(),
            "http://h:1/api/events"
        );
    }

    #[test]
    fn refusals_name_the_status_and_the_servers_detail() {
        let s = describe_refusal(
            reqwest::StatusCode::BAD_REQUEST,
            br#"{"error":"bad_payload","detail":"price must be positive"}"#,
        );
        assert_eq!(
            s,
            "HTTP 400 Bad Request: bad_payload: price must be positive"
        );
        let s = describe_refusal(
            reqwest::StatusCode::BAD_GATEWAY,
            b"\n<html><b>502</b></html>",
        );
        assert_eq!(s, "HTTP 502 Bad Gateway");
        let s = describe_refusal(
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            b"upstream\n  went away",
        );
        assert_eq!(s, "HTTP 500 Internal Server Error: upstream went away");
    }
}
