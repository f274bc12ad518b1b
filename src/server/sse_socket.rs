//! Event streams written straight to their socket once the response head is out.
//!
//! **Why.** hyper keeps, for as long as a connection lives, an 8 KiB read buffer, an 8 KiB
//! buffer for response heads and its connection state machine, inside a task the size of the
//! whole serve loop. A page request is done with those in milliseconds; an event stream keeps
//! them for hours to write a heartbeat now and then. For an idle subscriber they were most of
//! its cost (22.6 KB of server memory each; see the README's idle row).
//!
//! **How.** The serve loop ([`super::listen`]) peeks at a new plain-HTTP connection's first
//! bytes. When they are exactly one complete HTTP/1.1 `GET` head for a stream path
//! ([`is_stream_path`]) — no body, nothing after it — [`recognise`] turns them into a request,
//! the head is read off the socket, and the request goes through the same router as any other
//! (every layer: limits, CORS, security headers). The answer is written here ([`start`]): a
//! `text/event-stream` response's head, then its frames as chunks until the stream ends
//! ([`stream`], in a task of its own); any other answer (a 4xx, a 503) whole, with its
//! length. Both say
//! `connection: close`: a stream's connection serves nothing after it.
//!
//! What is left per stream is the stream's own state and a small task that owns the socket:
//! it waits for the next frame, writes it, and watches the socket for the peer going away.
//! Everything this path does not recognise — TLS, HTTP/1.0, a head split across packets, a
//! request with a body, a pipelined request, a header that does not parse — is left unread
//! on the socket for hyper, which serves it as before. So a client never sees a difference
//! except the `connection: close`.

use std::io::{self, IoSlice};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, Request, StatusCode, Uri, Version};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Header fields in a head this path reads (hyper's own limit is 100; more goes to hyper).
const MAX_HEADERS: usize = 64;

/// The most bytes looked at: a stream request with its cookies fits in far less. A longer
/// head goes to hyper, which applies `--max-header-bytes`.
pub const PEEK_BYTES: usize = 4096;

/// The largest non-stream answer written here (the refusals are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The paths whose answer is an event stream: [`super::events::PATH`] and a job's
/// `/api/jobs/{id}/events` (routed in `jobs/http.rs`).
pub fn is_stream_path(path: &str) -> bool {
    path == super::events::PATH
        || path
            .strip_prefix("/api/jobs/")
            .and_then(|rest| rest.strip_suffix("/events"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// The stream request in `peeked`, and the length of its head — or `None`, and hyper serves
/// the connection: anything but exactly one whole bodiless HTTP/1.1 `GET` of a stream path.
pub fn recognise(peeked: &[u8]) -> Option<(Request<Body>, usize)> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut fields);
    let len = match head.parse(peeked) {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return None,
    };
    if len != peeked.len() || head.method != Some("GET") || head.version != Some(1) {
        return None;
    }
    let target = head.path?;
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    if !is_stream_path(path) {
        return None;
    }
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    for field in head.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).ok()?;
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::EXPECT
        {
            return None;
        }
        headers.append(name, HeaderValue::from_bytes(field.value).ok()?);
    }
    let mut req = Request::new(Body::empty());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = target.parse::<Uri>().ok()?;
    *req.version_mut() = Version::HTTP_11;
    *req.headers_mut() = headers;
    Some((req, len))
}

/// How the body of a written response is delimited.
enum Framing {
    /// `transfer-encoding: chunked`: a stream, for as long as it lasts.
    Chunked,
    /// `content-length`: a whole answer.
    Length(usize),
}

/// The response head as it goes on the wire: the response's own fields (hyper's framing and
/// connection fields replaced by ours), a `date` if it has none, and `connection: close`.
fn head(status: StatusCode, headers: &HeaderMap, framing: Framing) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !headers.contains_key(header::DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(n.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out
}

/// A chunk's size line (`1a2b\r\n`), written into `buf`.
fn chunk_size(len: usize, buf: &mut [u8; 18]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut i = 16;
    let mut n = len;
    loop {
        i -= 1;
        buf[i] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    buf[16] = b'\r';
    buf[17] = b'\n';
    &buf[i..]
}

/// Whether a response is an event stream (written chunked) rather than a whole answer.
fn is_stream(res: &Response) -> bool {
    res.status() == StatusCode::OK
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

/// Why a connection on this path ended early (logged at debug, never sent).
#[derive(Debug)]
pub enum Ended {
    /// No byte could be written for the idle timeout: the peer stopped reading.
    Stalled,
    /// The socket failed (the peer reset it, most likely).
    Io(io::Error),
}

/// Writes the head of `res` on `tcp` and returns the body still to stream, for a stream;
/// writes any other answer whole and returns `None` (the connection is done).
pub async fn start(tcp: &TcpStream, res: Response, idle: Duration) -> Result<Option<Body>, Ended> {
    if !is_stream(&res) {
        return answer(tcp, res, idle).await.map(|()| None);
    }
    // Only the body goes on: an open stream keeps nothing of the head it was sent with.
    let (parts, body) = res.into_parts();
    let head = head(parts.status, &parts.headers, Framing::Chunked);
    drop(parts);
    write_all(tcp, &mut [IoSlice::new(&head)], idle).await?;
    Ok(Some(body))
}

/// Writes a whole answer with its length.
async fn answer(tcp: &TcpStream, res: Response, idle: Duration) -> Result<(), Ended> {
    let (parts, body) = res.into_parts();
    // A refusal's body is a few hundred bytes, made at once (the caller bounds the time);
    // anything bigger is a bug to log, and the client gets the head with an empty body.
    let body = match Limited::new(body, MAX_ANSWER_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::warn!("answer on the stream path not written whole: {e}");
            Bytes::new()
        }
    };
    let head = head(parts.status, &parts.headers, Framing::Length(body.len()));
    write_all(tcp, &mut [IoSlice::new(&head), IoSlice::new(&body)], idle).await
}

/// Writes a stream's frames as chunks until it ends, the peer goes away or `hard` fires.
///
/// This is what an open stream costs besides its own state, so it is kept small: the wait
/// for room in the socket is boxed (only a stalled reader needs it), and the peer is watched
/// with a one-byte read.
pub async fn stream(
    tcp: &TcpStream,
    mut body: Body,
    idle: Duration,
    hard: &CancellationToken,
) -> Result<(), Ended> {
    loop {
        let frame = tokio::select! {
            biased;
            _ = hard.cancelled() => return Ok(()),
            _ = peer_gone(tcp) => return Ok(()),
            frame = body.frame() => frame,
        };
        let data = match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                _ => continue,
            },
            Some(Err(e)) => {
                tracing::warn!("stream body failed: {e}");
                return Ok(());
            }
            None => return write_all(tcp, &mut [IoSlice::new(b"0\r\n\r\n")], idle).await,
        };
        let mut size = [0u8; 18];
        let size = chunk_size(data.len(), &mut size);
        let mut parts = [
            IoSlice::new(size),
            IoSlice::new(&data),
            IoSlice::new(b"\r\n"),
        ];
        tokio::select! {
            biased;
            _ = hard.cancelled() => return Ok(()),
            written = write_all(tcp, &mut parts, idle) => written?,
        }
    }
}

/// Resolves when the peer closes its side, resets, or sends anything at all: a stream's
/// connection carries no further request, so bytes after the head end it too.
async fn peer_gone(tcp: &TcpStream) {
    let mut scratch = [0u8; 1];
    loop {
        if tcp.readable().await.is_err() {
            return;
        }
        match tcp.try_read(&mut scratch) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            _ => return,
        }
    }
}

/// Writes every byte of `parts`, waiting for room as needed; gives up when no room comes for
/// `idle` (the same rule as the serve loop's watchdog: no byte moved for that long).
async fn write_all(
    tcp: &TcpStream,
    mut parts: &mut [IoSlice<'_>],
    idle: Duration,
) -> Result<(), Ended> {
    // Leading empty slices would make a write of 0 bytes look like a closed socket.
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match tcp.try_write_vectored(parts) {
            Ok(0) => return Err(Ended::Io(io::ErrorKind::WriteZero.into())),
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match Box::pin(tokio::time::timeout(idle, tcp.writable())).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(Ended::Io(e)),
                    Err(_) => return Err(Ended::Stalled),
                }
            }
            Err(e) => return Err(Ended::Io(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_bodiless_http11_get_of_a_stream_path_is_taken() {
        let head =
            b"GET /api/events?topics=a,b&since=4 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\n";
        let (req, len) = recognise(head).expect("a stream request");
        assert_eq!(len, head.len());
        assert_eq!(req.uri().path(), "/api/events");
        assert_eq!(req.uri().query(), Some("topics=a,b&since=4"));
        assert_eq!(req.headers()["last-event-id"], "7");
        assert!(recognise(b"GET /api/jobs/j-1/events HTTP/1.1\r\nHost: x\r\n\r\n").is_some());

        for other in [
            // not a stream path, or not quite one
            &b"GET /stocks HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET /api/events/x HTTP/1.1\r\n\r\n",
            b"GET /api/jobs//events HTTP/1.1\r\n\r\n",
            b"GET /api/jobs/a/b/events HTTP/1.1\r\n\r\n",
            // not a GET, not HTTP/1.1
            b"POST /api/events HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            b"HEAD /api/events HTTP/1.1\r\n\r\n",
            b"GET /api/events HTTP/1.0\r\n\r\n",
            // a head still arriving, a body, more after the head
            b"GET /api/events HTTP/1.1\r\nHost: x\r\n",
            b"GET /api/events HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
            b"GET /api/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /api/events HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n",
            // a field hyper would refuse: hyper answers it
            b"GET /api/events HTTP/1.1\r\nBad Name: x\r\n\r\n",
        ] {
            assert!(
                recognise(other).is_none(),
                "{:?}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn the_head_carries_the_response_fields_with_our_framing() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "text/event-stream".parse().unwrap());
        headers.insert(header::CONTENT_LENGTH, "9".parse().unwrap());
        headers.insert(header::CONNECTION, "keep-alive".parse().unwrap());
        let text = String::from_utf8(head(StatusCode::OK, &headers, Framing::Chunked)).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("\r\ncontent-type: text/event-stream\r\n"));
        assert!(text.contains("\r\ndate: "));
        assert!(text.ends_with("\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"));
        assert!(!text.contains("content-length") && !text.contains("keep-alive"));

        let text = String::from_utf8(head(
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
            Framing::Length(42),
        ))
        .unwrap();
        assert!(text.starts_with("HTTP/1.1 429 Too Many Requests\r\n"));
        assert!(text.contains("\r\ncontent-length: 42\r\n"));
    }

    #[test]
    fn chunk_sizes_are_lowercase_hex_lines() {
        let mut buf = [0u8; 18];
        assert_eq!(chunk_size(0, &mut buf), b"0\r\n");
        assert_eq!(chunk_size(10, &mut buf), b"a\r\n");
        assert_eq!(chunk_size(0x1a2b, &mut buf), b"1a2b\r\n");
        assert_eq!(chunk_size(usize::MAX, &mut buf), b"ffffffffffffffff\r\n");
    }
}
