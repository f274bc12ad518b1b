//! `pulse publish`: publish one event, or one per NDJSON line of stdin, and print the ids the
//! server acknowledged.
//!
//! The exit code says what a script can do next: fix the invocation (2), fix the event (3), fix
//! the token (4), try again later (5). A request is retried only when the event cannot have been
//! stored — the connection was refused, or the server answered 503, 429 (the token's publish
//! rate) or 408 (the body arrived too slowly), which Pulse sends only when nothing was stored —
//! because retrying after an unknown outcome could publish it twice.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{
    api_url, base_url, describe_refusal, read_body, retry_after, root_cause, secs, CONNECT_TIMEOUT,
    DEFAULT_URL,
};

/// The environment variable holding the token: the same one the server reads, so a shell set up
/// for one is set up for the other.
pub const TOKEN_ENV: &str = "PULSE_PUBLISH_TOKEN";

/// How long one event may take to be acknowledged (the server answers once it is durable).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The first wait before a retry when the server did not send `Retry-After`.
const RETRY_BASE: Duration = Duration::from_millis(500);

/// The longest single wait before a retry, whatever `Retry-After` says: the run stays bounded.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

const AFTER_HELP: &str = "\
Token: PULSE_PUBLISH_TOKEN (the variable the server reads too), or --token-file PATH, which
wins over the variable (e.g. the <data-dir>/publish-token a server generated). There is no
--token flag, so the token never lands in shell history or in `ps`.

JSON|- is the event (the topic decides what it must hold), or `-` to read NDJSON from stdin:
each non-blank line is one event, published in order; the first failure stops the run (the
lines before it stay published) and its message names the line.

Output (stdout): the id acknowledged for each event, one per line; with --json {\"id\":1042},
plus \"line\":N when reading stdin.

Retries: only when nothing can have been stored — connection refused, HTTP 503 (the server
is shutting down or its store is down), 429 (the token is over its publish rate) or 408 (the
body was too slow) — up to --retries times, waiting the server's Retry-After (else 0.5 s,
doubling; at most 10 s). Other failures are not retried: the event may have been stored, and
sending it again would publish it twice.

Exit codes:
  0  every event acknowledged (HTTP 202)
  1  anything else: not a Pulse server (e.g. 404), an unreadable answer, stdin or stdout failed
  2  usage error: bad flags or --url, no token, unreadable --token-file, invalid JSON
  3  the server refused the event: HTTP 400 (bad payload), 413 (too large), 422 (bad topic)
  4  not authorized: HTTP 401 (no or wrong token)
  5  server unavailable: HTTP 503 or another 5xx, 429 or 408 after the retries, connection
     refused, no answer within 30 s";

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct PublishArgs {
    /// The server's base address (plain http://).
    #[arg(long, env = "PULSE_URL", default_value = DEFAULT_URL)]
    pub url: String,

    /// Read the publish token from this file (surrounding whitespace ignored); wins over
    /// PULSE_PUBLISH_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Print each acknowledgement as a JSON object instead of the bare id.
    #[arg(long)]
    pub json: bool,

    /// Retries of one event while the server is unavailable (503, connection refused).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// The topic, e.g. `stocks` or `notifications`.
    pub topic: String,

    /// The event as JSON, or `-` to read one event per line (NDJSON) from stdin.
    #[arg(value_name = "JSON|-", allow_hyphen_values = true)]
    pub event: String,
}

/// Why publishing stopped; the variant is the exit code, the text says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishFailure {
    /// Bad flags, `--url`, token or JSON: nothing was sent (exit 2).
    Usage(String),
    /// The server refused this event (400, 413, 422); sending it again cannot help (exit 3).
    Refused(String),
    /// No token or the wrong one (401) (exit 4).
    Unauthorized(String),
    /// The server is down, shutting down or cannot store (503, other 5xx, refused connection,
    /// no answer) (exit 5).
    Unavailable(String),
    /// Anything else: what answered is not Pulse, stdin or stdout failed (exit 1).
    Other(String),
}

impl PublishFailure {
    pub fn exit_code(&self) -> u8 {
        match self {
            PublishFailure::Other(_) => 1,
            PublishFailure::Usage(_) => 2,
            PublishFailure::Refused(_) => 3,
            PublishFailure::Unauthorized(_) => 4,
            PublishFailure::Unavailable(_) => 5,
        }
    }

    fn message(&self) -> &str {
        match self {
            PublishFailure::Usage(m)
            | PublishFailure::Refused(m)
            | PublishFailure::Unauthorized(m)
            | PublishFailure::Unavailable(m)
            | PublishFailure::Other(m) => m,
        }
    }

    /// The same failure with its message rewritten (to name the stdin line).
    fn map(self, f: impl FnOnce(&str) -> String) -> PublishFailure {
        let m = f(self.message());
        match self {
            PublishFailure::Usage(_) => PublishFailure::Usage(m),
            PublishFailure::Refused(_) => PublishFailure::Refused(m),
            PublishFailure::Unauthorized(_) => PublishFailure::Unauthorized(m),
            PublishFailure::Unavailable(_) => PublishFailure::Unavailable(m),
            PublishFailure::Other(_) => PublishFailure::Other(m),
        }
    }
}

impl std::fmt::Display for PublishFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for PublishFailure {}

pub async fn run(args: PublishArgs) -> ExitCode {
    let result = match Publisher::new(&args).await {
        Ok(mut publisher) if args.event == "-" => publisher.stdin().await,
        Ok(mut publisher) => publisher.one(&args.event).await,
        Err(failure) => Err(failure),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("pulse publish: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The outcome of one request.
enum Sent {
    Acknowledged(u64),
    /// Certainly not stored, so it may be sent again; `after` is the server's `Retry-After`.
    NotStored {
        failure: PublishFailure,
        after: Option<Duration>,
    },
    Failed(PublishFailure),
}

struct Publisher {
    client: reqwest::Client,
    base: Url,
    url: Url,
    token: String,
    json: bool,
    retries: u32,
    published: usize,
    out: tokio::io::Stdout,
}

impl Publisher {
    async fn new(args: &PublishArgs) -> Result<Publisher, PublishFailure> {
        let base = base_url(&args.url).map_err(PublishFailure::Usage)?;
        let url = api_url(&base, &["api", "topics", &args.topic, "events"]);
        let token = token(args).await?;
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| {
                PublishFailure::Other(format!("cannot set up HTTP: {}", root_cause(&e)))
            })?;
        Ok(Publisher {
            client,
            base,
            url,
            token,
            json: args.json,
            retries: args.retries,
            published: 0,
            out: tokio::io::stdout(),
        })
    }

    async fn one(&mut self, event: &str) -> Result<(), PublishFailure> {
        let event = event.trim();
        check_json(event).map_err(|e| {
            PublishFailure::Usage(format!("the event is not valid JSON ({e}): {event:.80}"))
        })?;
        let id = self.send(event).await?;
        self.print(id, None).await
    }

    async fn stdin(&mut self) -> Result<(), PublishFailure> {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut number = 0usize;
        loop {
            number += 1;
            let line = match lines.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(self.at(number, PublishFailure::Usage("not UTF-8 text".into())))
                }
                Err(e) => {
                    return Err(self.at(
                        number,
                        PublishFailure::Other(format!("cannot read stdin: {e}")),
                    ))
                }
            };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Err(e) = check_json(line) {
                let failure = PublishFailure::Usage(format!("not valid JSON ({e}): {line:.80}"));
                return Err(self.at(number, failure));
            }
            let id = match self.send(line).await {
                Ok(id) => id,
                Err(failure) => return Err(self.at(number, failure)),
            };
            self.print(id, Some(number)).await?;
        }
    }

    /// Names the stdin line that failed and what was published before it.
    fn at(&self, line: usize, failure: PublishFailure) -> PublishFailure {
        let done = self.published;
        failure.map(|m| {
            format!(
                "line {line}: {m} (stopped there; {done} earlier event{} published)",
                if done == 1 { " was" } else { "s were" }
            )
        })
    }

    async fn print(&mut self, id: u64, line: Option<usize>) -> Result<(), PublishFailure> {
        self.published += 1;
        let text = match (self.json, line) {
            (false, _) => format!("{id}\n"),
            (true, None) => format!("{{\"id\":{id}}}\n"),
            (true, Some(n)) => format!("{{\"id\":{id},\"line\":{n}}}\n"),
        };
        let written = match self.out.write_all(text.as_bytes()).await {
            Ok(()) => self.out.flush().await,
            Err(e) => Err(e),
        };
        written.map_err(|e| {
            PublishFailure::Other(format!(
                "event {id} was published, but writing its id to stdout failed: {e}"
            ))
        })
    }

    /// Sends one event, retrying while it certainly was not stored.
    async fn send(&self, event: &str) -> Result<u64, PublishFailure> {
        let mut retry = 0u32;
        loop {
            let (failure, after) = match self.post(event).await {
                Sent::Acknowledged(id) => return Ok(id),
                Sent::Failed(failure) => return Err(failure),
                Sent::NotStored { failure, after } => (failure, after),
            };
            if retry >= self.retries {
                return Err(if retry == 0 {
                    failure
                } else {
                    failure.map(|m| format!("{m} (gave up after {retry} retries)"))
                });
            }
            let wait = after
                .unwrap_or_else(|| super::tail::backoff(RETRY_BASE, retry, rand::random()))
                .min(MAX_RETRY_WAIT);
            retry += 1;
            eprintln!(
                "pulse publish: {failure}; retry {retry} of {} in {}",
                self.retries,
                secs(wait)
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn post(&self, event: &str) -> Sent {
        let sent = self
            .client
            .post(self.url.clone())
            .bearer_auth(&self.token)
            .header(CONTENT_TYPE, "application/json")
            .body(event.to_owned())
            .send()
            .await;
        let res = match sent {
            Ok(res) => res,
            Err(e) if e.is_connect() => {
                return Sent::NotStored {
                    failure: PublishFailure::Unavailable(format!(
                        "cannot connect to {}: {}",
                        self.base,
                        root_cause(&e)
                    )),
                    after: None,
                }
            }
            Err(e) if e.is_timeout() => {
                return Sent::Failed(PublishFailure::Unavailable(format!(
                    "no answer from {} within {}; the event may or may not have been published",
                    self.base,
                    secs(REQUEST_TIMEOUT)
                )))
            }
            Err(e) => {
                return Sent::Failed(PublishFailure::Unavailable(format!(
                    "the request to {} failed ({}); the event may or may not have been published",
                    self.base,
                    root_cause(&e)
                )))
            }
        };
        let status = res.status();
        let after = retry_after(res.headers());
        let body = read_body(res).await;
        if status.is_success() {
            return match serde_json::from_slice::<Ack>(&body) {
                Ok(ack) => Sent::Acknowledged(ack.id),
                Err(_) => Sent::Failed(PublishFailure::Other(format!(
                    "{} answered {} without {{\"id\": N}}; is --url a Pulse server? ({})",
                    self.url,
                    status.as_u16(),
                    describe_refusal(status, &body)
                ))),
            };
        }
        let message = describe_refusal(status, &body);
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Sent::Failed(PublishFailure::Unauthorized(format!(
                    "{message} (check {TOKEN_ENV} or --token-file)"
                )))
            }
            StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNPROCESSABLE_ENTITY => Sent::Failed(PublishFailure::Refused(message)),
            // Refused before anything was stored: sending it again is safe.
            StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::TOO_MANY_REQUESTS
            | StatusCode::REQUEST_TIMEOUT => Sent::NotStored {
                failure: PublishFailure::Unavailable(message),
                after,
            },
            s if s.is_server_error() => Sent::Failed(PublishFailure::Unavailable(format!(
                "{message} (not retried: the event may have been stored)"
            ))),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => {
                Sent::Failed(PublishFailure::Other(format!(
                    "{message} from {}; is --url a Pulse server?",
                    self.url
                )))
            }
            _ => Sent::Failed(PublishFailure::Other(message)),
        }
    }
}

/// A 202's body.
#[derive(serde::Deserialize)]
struct Ack {
    id: u64,
}

/// Checks locally that `text` is one JSON value, so a typo is a usage error (exit 2) with
/// serde's position rather than a round trip; the server still checks what the topic needs.
fn check_json(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map(|_| ())
}

/// The token from `--token-file`, else from [`TOKEN_ENV`].
async fn token(args: &PublishArgs) -> Result<String, PublishFailure> {
    let token = match &args.token_file {
        Some(path) => {
            let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                PublishFailure::Usage(format!("cannot read --token-file {}: {e}", path.display()))
            })?;
            let token = text.trim().to_owned();
            if token.is_empty() {
                return Err(PublishFailure::Usage(format!(
                    "--token-file {} is empty",
                    path.display()
                )));
            }
            token
        }
        None => match std::env::var(TOKEN_ENV) {
            Ok(t) if !t.trim().is_empty() => t.trim().to_owned(),
            _ => {
                return Err(PublishFailure::Usage(format!(
                    "no publish token: set {TOKEN_ENV} or pass --token-file PATH (a server \
                     started without --publish-token keeps its token in \
                     <data-dir>/publish-token, e.g. ./data/publish-token)"
                )))
            }
        },
    };
    if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
        return Err(PublishFailure::Usage(
            "the publish token holds characters an HTTP header cannot carry (control characters)"
                .into(),
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_failure() {
        assert_eq!(PublishFailure::Usage(String::new()).exit_code(), 2);
        assert_eq!(PublishFailure::Refused(String::new()).exit_code(), 3);
        assert_eq!(PublishFailure::Unauthorized(String::new()).exit_code(), 4);
        assert_eq!(PublishFailure::Unavailable(String::new()).exit_code(), 5);
        assert_eq!(PublishFailure::Other(String::new()).exit_code(), 1);
        let f = PublishFailure::Refused("x".into()).map(|m| format!("line 2: {m}"));
        assert_eq!(f, PublishFailure::Refused("line 2: x".into()));
    }

    #[test]
    fn only_json_is_sent() {
        assert!(check_json(r#"{"a":1}"#).is_ok());
        assert!(check_json(r#"{"a":1"#).is_err());
        assert!(check_json(r#"{"a":1} x"#).is_err());
    }
}
