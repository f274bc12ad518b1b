//! The serve loop: accept connections, admit them against the connection cap, and serve each
//! with hyper's own connection builders (HTTP/1.1; HTTP/2 when TLS negotiates it).
//!
//! `axum::serve` accepts without limit and leaves timeouts to the application; one client
//! could open connections until the process ran out of file descriptors, after which nobody —
//! `/healthz` included — got an answer. This loop owns those decisions.
//!
//! ## Design
//! ```text
//!  accept ──► Gate::admit ──┬─ under the cap ─────────► serve_connection (full service)
//!    │  EMFILE: back off    ├─ over it, overflow room ► serve_connection (restricted: only
//!    │  (never spins)       │                           /healthz and /metrics; others 503)
//!    ▼                      └─ overflow full too ─────► closed at once
//!  shutdown: stop accepting, ask every connection to finish (graceful), wait up to
//!  SHUTDOWN_GRACE, then drop what is left
//! ```
//! - **The seam**: [`serve_connection`] takes one accepted connection ([`Accepted`]: socket,
//!   peer, slot) and serves it to the end — TLS handshake, protocol choice, timeouts, the
//!   per-request service. Everything about *one* connection happens there and nowhere else.
//!   The stream fast path plugs in there ([`super::sse_socket`]): a plain-HTTP connection whose
//!   first bytes are a whole stream request is routed as usual and then written by a task that
//!   owns the socket and the admitted slot, with hyper's buffers never allocated; its idle rule
//!   is the watchdog's (no byte moved for `--idle-timeout-secs`) and it ends on the hard
//!   shutdown signal (streams end on their own at the graceful one).
//! - **Connection cap** (`--max-connections`, default: `RLIMIT_NOFILE` minus a reserve for
//!   files, SQLite and Redis, see [`budget`]): the process never runs out of descriptors, so
//!   accepting keeps working. Beyond the cap, [`OVERFLOW`] more connections are served in a
//!   *restricted* mode — `/healthz` and `/metrics` answer as usual, every other path gets a
//!   quick `503 over_capacity` — with keep-alive off and a short lifetime, so those slots turn
//!   over quickly and a monitor's probe gets through even while the cap is held. Past that
//!   the connection is closed as soon as it is accepted (it cost one descriptor for a moment).
//! - **Accept never spins**: `EMFILE`/`ENFILE` (descriptors exhausted by something else) makes
//!   the loop sleep [`ACCEPT_BACKOFF`] before the next try, logged once per burst.
//! - **Timeouts**: the request head must arrive within `--header-timeout-ms` (hyper's
//!   `header_read_timeout`; its timer starts when the connection opens and again whenever it
//!   waits for the next request, so it is also the keep-alive idle timeout). A TLS handshake
//!   gets the same time. Any connection that moves no byte in either direction for
//!   `--idle-timeout-secs` is closed by a watchdog ([`Watched`]): that ends HTTP/2 connections
//!   left idle and streams whose reader stopped reading (a live stream's heartbeat counts as
//!   traffic, so healthy streams are never cut). Bodies have their own deadline in
//!   [`super::guard`].
//! - **Head size**: `--max-header-bytes` bounds hyper's read buffer and the parsed head (431,
//!   sent by hyper without a body — the request could not be read; so do more than hyper's
//!   100 header fields) and HTTP/2's header list; an unfinished head therefore holds at most
//!   that much memory, for at most the header timeout.
//! - **Per request**, the connection's service adds `ConnectInfo<SocketAddr>` (handlers and
//!   server functions read it as before) and the [`ClientAddr`] decided by
//!   [`super::client::TrustedProxies`].

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::future::{Either, Ready};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::util::Oneshot;
use tower::ServiceExt;

use super::client::{ClientAddr, TrustedProxies};
use super::sse_socket;
use crate::error::ApiError;

/// How long shutdown waits for connections to finish after streams were told to end.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Connections served beyond the cap, restricted to `/healthz` and `/metrics`.
pub const OVERFLOW: usize = 16;

/// How long a restricted (over-the-cap) connection may live at most.
const RESTRICTED_LIFETIME: Duration = Duration::from_secs(2);

/// The pause after `accept` failed for lack of descriptors, before trying again.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Concurrent HTTP/2 streams per connection (requests and event streams alike).
const H2_MAX_STREAMS: u32 = 100;

/// The paths a restricted connection may ask.
const ALWAYS_ANSWERED: [&str; 2] = ["/healthz", "/metrics"];

/// How the loop serves, from the flags.
#[derive(Clone)]
pub struct ListenConfig {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_header_bytes: usize,
    pub tls: Option<TlsAcceptor>,
    pub trusted: Arc<TrustedProxies>,
}

/// The connection cap for an open-file limit: `(cap, reserve)`.
///
/// The reserve (an eighth of the limit, 32 to 256 descriptors) is for what the process opens
/// besides connections — the SQLite files and their WAL, Redis connections, exports, `/proc`
/// reads, the listener — and [`OVERFLOW`] more are kept for the restricted connections. A
/// requested cap (`--max-connections`) above what the limit allows is an error, not a silent
/// clamp, so the operator learns the real figure.
pub fn budget(nofile: u64, requested: u64) -> Result<(usize, u64), String> {
    let reserve = (nofile / 8).clamp(32, 256);
    let allowed = nofile.saturating_sub(reserve + OVERFLOW as u64);
    if allowed < 16 {
        return Err(format!(
            "the open-file limit ({nofile}) leaves no room for connections; raise it (ulimit -n)"
        ));
    }
    if requested > allowed {
        return Err(format!(
            "--max-connections {requested} is more than the open-file limit allows: {nofile} \
             minus {reserve} for files, SQLite and Redis and {OVERFLOW} for /healthz beyond the \
             cap leaves {allowed}; raise `ulimit -n` or lower --max-connections"
        ));
    }
    let cap = if requested == 0 { allowed } else { requested };
    Ok((cap as usize, reserve))
}

/// The process's soft open-file limit (`RLIMIT_NOFILE`).
pub fn open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass, which lives for the call.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !ok {
        return 1024;
    }
    if limit.rlim_cur == libc::RLIM_INFINITY {
        1 << 20
    } else {
        limit.rlim_cur
    }
}

/// Connection figures for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections open now (under the cap).
    pub open: AtomicUsize,
    /// Restricted connections open now (over the cap).
    pub overflow: AtomicUsize,
    /// The cap.
    pub limit: AtomicUsize,
    /// Connections served restricted because the cap was reached.
    pub restricted_total: AtomicU64,
    /// Connections closed at accept because the cap and the overflow were both full.
    pub refused_total: AtomicU64,
    /// Accepts that failed because descriptors ran out (each followed by a back-off).
    pub accept_errors_total: AtomicU64,
    /// Connections closed by the idle watchdog.
    pub idle_closed_total: AtomicU64,
    /// Wakes shutdown when the last connection closes.
    drained: Notify,
}

impl ConnStats {
    fn in_use(&self) -> usize {
        self.open.load(Relaxed) + self.overflow.load(Relaxed)
    }
}

/// One admitted connection's place under the cap (or in the overflow); dropping it frees it.
pub struct Slot {
    stats: Arc<ConnStats>,
    restricted: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let counter = if self.restricted {
            &self.stats.overflow
        } else {
            &self.stats.open
        };
        if counter.fetch_sub(1, Relaxed) == 1 && self.stats.in_use() == 0 {
            self.stats.drained.notify_waiters();
        }
    }
}

/// Admits connections against the cap. Only the accept loop admits, so check-then-add needs no
/// compare-and-swap; slots are given back from any task.
struct Gate {
    stats: Arc<ConnStats>,
    cap: usize,
}

impl Gate {
    fn admit(&self) -> Option<Slot> {
        let stats = &self.stats;
        let restricted = if stats.open.load(Relaxed) < self.cap {
            stats.open.fetch_add(1, Relaxed);
            false
        } else if stats.overflow.load(Relaxed) < OVERFLOW {
            stats.overflow.fetch_add(1, Relaxed);
            stats.restricted_total.fetch_add(1, Relaxed);
            true
        } else {
            stats.refused_total.fetch_add(1, Relaxed);
            return None;
        };
        Some(Slot {
            stats: stats.clone(),
            restricted,
        })
    }
}

/// One accepted connection, admitted, ready to serve.
pub struct Accepted {
    pub tcp: TcpStream,
    pub peer: SocketAddr,
    pub slot: Slot,
}

/// What every connection task shares.
struct Shared {
    app: Router,
    config: ListenConfig,
    stats: Arc<ConnStats>,
    /// Cancelled at shutdown: connections finish their requests and close.
    graceful: CancellationToken,
    /// Cancelled when the grace period is over: connections are dropped.
    hard: CancellationToken,
}

/// Accepts until `stop` is cancelled, then shuts down gracefully (see the module docs).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ListenConfig,
    stats: Arc<ConnStats>,
    stop: CancellationToken,
) {
    stats.limit.store(config.max_connections, Relaxed);
    let gate = Gate {
        stats: stats.clone(),
        cap: config.max_connections,
    };
    let shared = Arc::new(Shared {
        app,
        config,
        stats: stats.clone(),
        graceful: CancellationToken::new(),
        hard: CancellationToken::new(),
    });
    // Bursts are logged once, at their start, and summed up at their end.
    let mut starved = 0u64;
    let mut at_cap = false;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((tcp, peer)) => {
                if starved > 0 {
                    tracing::info!("accepting again after {starved} failed accepts");
                    starved = 0;
                }
                match gate.admit() {
                    Some(slot) => {
                        if slot.restricted != at_cap {
                            at_cap = slot.restricted;
                            if at_cap {
                                tracing::warn!(
                                    "at the connection cap ({}): new connections get only \
                                     /healthz and /metrics until some close",
                                    gate.cap
                                );
                            } else {
                                tracing::info!("below the connection cap again");
                            }
                        }
                        let conn = Accepted { tcp, peer, slot };
                        tokio::spawn(serve_connection(conn, shared.clone()));
                    }
                    None => drop(tcp),
                }
            }
            Err(e) if out_of_descriptors(&e) => {
                stats.accept_errors_total.fetch_add(1, Relaxed);
                if starved == 0 {
                    tracing::warn!(
                        "cannot accept: {e}; retrying every {ACCEPT_BACKOFF:?} (lower \
                         --max-connections or raise the open-file limit)"
                    );
                }
                starved += 1;
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
            // The peer gave up between SYN and accept, or similar: nothing to do.
            Err(e) => tracing::debug!("accept failed: {e}"),
        }
    }
    drop(listener);
    shared.graceful.cancel();
    let drained = async {
        loop {
            let notified = stats.drained.notified();
            if stats.in_use() == 0 {
                return;
            }
            notified.await;
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        tracing::warn!(
            "{} connections still open after {SHUTDOWN_GRACE:?}; closing them",
            stats.in_use()
        );
    }
    shared.hard.cancel();
}

fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Serves one accepted connection to its end: the seam described in the module docs.
async fn serve_connection(conn: Accepted, shared: Arc<Shared>) {
    let Accepted { tcp, peer, slot } = conn;
    // Nagle off: a stream already decides when to write (`--coalesce-ms`, in `events.rs`);
    // the kernel holding a small write back for an ACK would only add latency on top.
    let _ = tcp.set_nodelay(true);
    let (tcp, slot) = if shared.config.tls.is_none() && !slot.restricted {
        match serve_stream_directly(tcp, peer, slot, &shared).await {
            Some(back) => back,
            None => return,
        }
    } else {
        (tcp, slot)
    };
    let activity = Activity::new();
    let io = Watched {
        inner: tcp,
        activity: activity.clone(),
    };
    let restricted = slot.restricted;
    let service = ConnService {
        app: shared.app.clone(),
        peer,
        trusted: shared.config.trusted.clone(),
        restricted,
    };
    let work = async {
        match &shared.config.tls {
            None => serve_h1(io, service, &shared).await,
            Some(acceptor) => {
                let handshake = acceptor.accept(io);
                let tls = match tokio::time::timeout(shared.config.header_timeout, handshake).await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => return tracing::debug!("TLS handshake with {peer}: {e}"),
                    Err(_) => return tracing::debug!("TLS handshake with {peer} timed out"),
                };
                if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                    serve_h2(tls, service, &shared).await
                } else {
                    serve_h1(tls, service, &shared).await
                }
            }
        }
    };
    let lifetime = async {
        if restricted {
            tokio::time::sleep(RESTRICTED_LIFETIME.min(shared.config.header_timeout)).await
        } else {
            std::future::pending().await
        }
    };
    tokio::select! {
        _ = work => {}
        _ = activity.idle_for(shared.config.idle_timeout) => {
            shared.stats.idle_closed_total.fetch_add(1, Relaxed);
            tracing::debug!("closing {peer}: no traffic for {:?}", shared.config.idle_timeout);
        }
        _ = lifetime => {}
        _ = shared.hard.cancelled() => {}
    }
    drop(slot);
}

/// The stream fast path ([`super::sse_socket`]): looks at the connection's first bytes; a
/// stream request is read, routed and handed to a task of its own that owns the socket and
/// the slot (`None`: this task is done); anything else comes back untouched, for hyper.
///
/// The wait for the first bytes counts against the header timeout: a connection that sends
/// nothing is closed after it, as hyper would; one that starts sending gets hyper's full
/// header timeout from then on.
async fn serve_stream_directly(
    mut tcp: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    shared: &Arc<Shared>,
) -> Option<(TcpStream, Slot)> {
    let mut buf = vec![0u8; sse_socket::PEEK_BYTES];
    let peeked = tokio::select! {
        r = tokio::time::timeout(shared.config.header_timeout, tcp.peek(&mut buf)) => r.ok()?,
        _ = shared.hard.cancelled() => return None,
    };
    let Some((mut req, head_len)) = peeked.ok().and_then(|n| sse_socket::recognise(&buf[..n]))
    else {
        return Some((tcp, slot));
    };
    // The head is already in the socket's receive buffer: this read does not wait.
    if let Err(e) = tcp.read_exact(&mut buf[..head_len]).await {
        tracing::debug!("reading a stream request's head from {peer}: {e}");
        return None;
    }
    drop(buf);
    annotate(&mut req, peer, &shared.config.trusted);
    let idle = shared.config.idle_timeout;
    // Routing and the head are bounded like any connection's work: by the idle timeout (the
    // watchdog's rule) and by the hard shutdown.
    let started = async {
        let Ok(res) = shared.app.clone().oneshot(req).await;
        sse_socket::start(&tcp, res, idle).await
    };
    let started = tokio::select! {
        biased;
        _ = shared.hard.cancelled() => return None,
        r = tokio::time::timeout(idle, started) => r.unwrap_or(Err(sse_socket::Ended::Stalled)),
    };
    let body = match started {
        Ok(Some(body)) => body,
        Ok(None) => return None,
        Err(e) => {
            ended(e, peer, idle, &slot);
            return None;
        }
    };
    let hard = shared.hard.clone();
    // A task of its own, holding only the socket, the body and the slot: the stream does not
    // keep this task's (hyper-sized) state.
    tokio::spawn(async move {
        if let Err(e) = sse_socket::stream(&tcp, body, idle, &hard).await {
            ended(e, peer, idle, &slot);
        }
        drop(slot);
    });
    None
}

/// Counts and logs why a fast-path connection ended early.
fn ended(e: sse_socket::Ended, peer: SocketAddr, idle: Duration, slot: &Slot) {
    match e {
        sse_socket::Ended::Stalled => {
            slot.stats.idle_closed_total.fetch_add(1, Relaxed);
            tracing::debug!("closing stream to {peer}: nothing written for {idle:?}");
        }
        sse_socket::Ended::Io(e) => tracing::debug!("stream to {peer} ended: {e}"),
    }
}

/// Adds what handlers read about the connection: `ConnectInfo` and the [`ClientAddr`].
fn annotate<B>(req: &mut Request<B>, peer: SocketAddr, trusted: &TrustedProxies) {
    let client = trusted.client(peer.ip(), req.headers());
    let ext = req.extensions_mut();
    ext.insert(ConnectInfo(peer));
    ext.insert(ClientAddr(client));
}

async fn serve_h1<I>(io: I, service: ConnService, shared: &Shared)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.header_timeout)
        .max_buf_size(shared.config.max_header_bytes)
        .max_header_size(shared.config.max_header_bytes)
        .keep_alive(!service.restricted);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    drive(conn, &shared.graceful).await;
}

async fn serve_h2<I>(io: I, service: ConnService, shared: &Shared)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(shared.config.max_header_bytes as u32)
        .max_concurrent_streams(if service.restricted {
            2
        } else {
            H2_MAX_STREAMS
        });
    let conn = builder.serve_connection(TokioIo::new(io), service);
    drive(conn, &shared.graceful).await;
}

/// Runs a connection until it ends; on `graceful`, lets it finish what it is doing and close.
async fn drive<C>(conn: C, graceful: &CancellationToken)
where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    tokio::pin!(conn);
    let done = tokio::select! {
        r = conn.as_mut() => Some(r),
        _ = graceful.cancelled() => None,
    };
    let result = match done {
        Some(r) => r,
        None => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Timeouts, oversized heads, resets: the client's doing, not worth more than debug.
        tracing::debug!("connection ended: {e}");
    }
}

/// The per-connection service: adds what handlers read about the connection, and keeps a
/// restricted connection to the paths it may ask.
#[derive(Clone)]
struct ConnService {
    app: Router,
    peer: SocketAddr,
    trusted: Arc<TrustedProxies>,
    restricted: bool,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, Oneshot<Router, Request<Incoming>>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        if self.restricted && !ALWAYS_ANSWERED.contains(&req.uri().path()) {
            let mut res = ApiError::OverCapacity.into_response();
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Either::Left(futures::future::ready(Ok(res)));
        }
        annotate(&mut req, self.peer, &self.trusted);
        Either::Right(self.app.clone().oneshot(req))
    }
}

/// When a connection last moved a byte, shared by its [`Watched`] socket and its watchdog.
#[derive(Clone)]
struct Activity(Arc<ActivityInner>);

struct ActivityInner {
    start: Instant,
    /// Milliseconds after `start`.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity(Arc::new(ActivityInner {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }))
    }

    fn touch(&self) {
        let ms = self.0.start.elapsed().as_millis() as u64;
        self.0.last_ms.store(ms, Relaxed);
    }

    /// Resolves once no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.0.start + Duration::from_millis(self.0.last_ms.load(Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A socket that records when it last read or wrote a byte (for the idle watchdog).
struct Watched<T> {
    inner: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_files_and_the_overflow() {
        // The machines' 20,000: 2,500 would be an eighth; the reserve stops at 256.
        assert_eq!(budget(20_000, 0).unwrap(), (20_000 - 256 - 16, 256));
        // A common default of 1024: an eighth, 128.
        assert_eq!(budget(1024, 0).unwrap(), (1024 - 128 - 16, 128));
        assert_eq!(budget(20_000, 500).unwrap().0, 500);
        let err = budget(1024, 5000).unwrap_err();
        assert!(err.contains("ulimit -n") && err.contains("880"), "{err}");
        assert!(budget(40, 0).is_err());
    }
}
