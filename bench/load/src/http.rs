//! Just enough HTTP/1.1 for the benchmark, over loopback only: a URL parser that refuses
//! anything but loopback, a response-head parser, a chunked-transfer decoder, a keep-alive
//! client (POST for publishers, GET for pages) and a streaming GET.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout_at, Instant};

/// A response head larger than this is refused.
const MAX_HEAD: usize = 64 * 1024;
/// A response body (publish answer, page) larger than this is refused.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// `http://HOST:PORT/PATH?QUERY` with HOST a loopback address.
#[derive(Clone, Debug)]
pub struct Url {
    pub addr: SocketAddr,
    /// The `Host` header value.
    pub host: String,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http:// URLs"))?;
        let (authority, target) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, p) = v6
                .split_once("]:")
                .ok_or_else(|| format!("{url}: need [::1]:PORT"))?;
            (h, p)
        } else {
            authority
                .rsplit_once(':')
                .ok_or_else(|| format!("{url}: the port is required"))?
        };
        let port: u16 = port.parse().map_err(|_| format!("{url}: bad port"))?;
        let ip: IpAddr = if host == "localhost" {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.parse()
                .map_err(|_| format!("{url}: the host must be an IP literal or localhost"))?
        };
        if !ip.is_loopback() {
            return Err(format!("{url}: refusing a non-loopback address ({ip})"));
        }
        Ok(Url {
            addr: SocketAddr::new(ip, port),
            host: authority.to_string(),
            target: target.to_string(),
        })
    }
}

/// How the body of a response is delimited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
}

#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
    pub close: bool,
    pub content_type: String,
}

/// Parses a response head (everything before the blank line, without it).
pub fn parse_head(head: &[u8]) -> Result<Head, String> {
    let text = std::str::from_utf8(head).map_err(|_| "response head is not UTF-8".to_string())?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x response: {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    let mut close = version == "HTTP/1.0";
    let mut content_type = String::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("bad header line {line:?}"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "content-length" => {
                length = Some(
                    value
                        .parse()
                        .map_err(|_| format!("bad content-length {value:?}"))?,
                )
            }
            "connection" => {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    close = true;
                } else if v.contains("keep-alive") {
                    close = false;
                }
            }
            "content-type" => content_type = value.to_ascii_lowercase(),
            _ => {}
        }
    }
    let framing = if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Length(0)
    } else {
        Framing::UntilClose
    };
    Ok(Head {
        status,
        framing,
        close,
        content_type,
    })
}

#[derive(Clone, Copy, Debug)]
enum ChunkState {
    Size { value: u64, digits: u32, ext: bool },
    SizeLf { value: u64 },
    Data(u64),
    DataCr,
    DataLf,
    Trailer { len: usize },
    TrailerLf { empty: bool },
    Done,
}

/// Decodes `Transfer-Encoding: chunked` incrementally.
pub struct Chunked {
    state: ChunkState,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked {
            state: ChunkState::Size {
                value: 0,
                digits: 0,
                ext: false,
            },
        }
    }
}

impl Chunked {
    pub fn done(&self) -> bool {
        matches!(self.state, ChunkState::Done)
    }

    /// Feeds raw bytes; `out` receives the decoded body in pieces. Returns how many input
    /// bytes were used (fewer than given only once the last chunk and trailer are complete).
    pub fn decode(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) -> Result<usize, String> {
        use ChunkState::*;
        let mut i = 0;
        while i < input.len() {
            match self.state {
                Done => return Ok(i),
                Data(n) => {
                    let take = (input.len() - i).min(n.min(usize::MAX as u64) as usize);
                    out(&input[i..i + take]);
                    i += take;
                    self.state = if n == take as u64 {
                        DataCr
                    } else {
                        Data(n - take as u64)
                    };
                    continue;
                }
                _ => {}
            }
            let b = input[i];
            i += 1;
            self.state = match self.state {
                Size { value, digits, ext } => match b {
                    b'\r' => SizeLf {
                        value: Self::size(value, digits)?,
                    },
                    b'\n' => Self::after_size(Self::size(value, digits)?),
                    _ if ext => Size { value, digits, ext },
                    b';' | b' ' | b'\t' => Size {
                        value,
                        digits,
                        ext: true,
                    },
                    _ => {
                        let d = (b as char)
                            .to_digit(16)
                            .ok_or_else(|| format!("bad chunk size byte {b:#04x}"))?;
                        if digits >= 15 {
                            return Err("chunk size too large".into());
                        }
                        Size {
                            value: value * 16 + d as u64,
                            digits: digits + 1,
                            ext,
                        }
                    }
                },
                SizeLf { value } if b == b'\n' => Self::after_size(value),
                DataCr if b == b'\r' => DataLf,
                DataCr | DataLf if b == b'\n' => Size {
                    value: 0,
                    digits: 0,
                    ext: false,
                },
                Trailer { len } => match b {
                    b'\r' => TrailerLf { empty: len == 0 },
                    b'\n' if len == 0 => Done,
                    b'\n' => Trailer { len: 0 },
                    _ if len > MAX_HEAD => return Err("chunked trailer too long".into()),
                    _ => Trailer { len: len + 1 },
                },
                TrailerLf { empty } if b == b'\n' => {
                    if empty {
                        Done
                    } else {
                        Trailer { len: 0 }
                    }
                }
                state => return Err(format!("bad chunked framing at byte {b:#04x} in {state:?}")),
            };
        }
        Ok(i)
    }

    fn size(value: u64, digits: u32) -> Result<u64, String> {
        if digits == 0 {
            Err("empty chunk size".into())
        } else {
            Ok(value)
        }
    }

    fn after_size(value: u64) -> ChunkState {
        if value == 0 {
            ChunkState::Trailer { len: 0 }
        } else {
            ChunkState::Data(value)
        }
    }
}

/// A connection with the bytes read past what has been consumed.
pub struct Conn {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
}

/// Connects to `url` from the local loopback address `local` (spreading many connections over
/// several source addresses keeps clear of the ephemeral port range), with an optional small
/// receive buffer.
pub async fn connect(
    url: &Url,
    local: Option<IpAddr>,
    recv_buffer: Option<u32>,
    deadline: Instant,
) -> Result<Conn, String> {
    let socket = match url.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| format!("socket: {e}"))?;
    if let Some(size) = recv_buffer {
        socket
            .set_recv_buffer_size(size)
            .map_err(|e| format!("SO_RCVBUF: {e}"))?;
    }
    if let Some(ip) = local {
        if ip.is_ipv4() == url.addr.is_ipv4() {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| format!("bind {ip}: {e}"))?;
        }
    }
    let stream = timeout_at(deadline, socket.connect(url.addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect {}: {e}", url.addr))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    Ok(Conn {
        stream,
        buf: Vec::with_capacity(1024),
    })
}

impl Conn {
    /// Reads until the response head is complete; the bytes after it stay in `buf`.
    pub async fn read_head(&mut self, deadline: Instant) -> Result<Head, String> {
        let mut scanned: usize = 0;
        loop {
            if let Some(p) = find(&self.buf[scanned.saturating_sub(3)..], b"\r\n\r\n") {
                let end = scanned.saturating_sub(3) + p;
                let head = parse_head(&self.buf[..end])?;
                self.buf.drain(..end + 4);
                return Ok(head);
            }
            scanned = self.buf.len();
            if scanned > MAX_HEAD {
                return Err("response head too long".into());
            }
            let n = self.read_more(deadline).await?;
            if n == 0 {
                return Err(if scanned == 0 {
                    "connection closed before any response".into()
                } else {
                    "connection closed inside the response head".into()
                });
            }
        }
    }

    /// Appends up to 16 KB to `buf`; 0 at end of stream.
    async fn read_more(&mut self, deadline: Instant) -> Result<usize, String> {
        let len = self.buf.len();
        self.buf.resize(len + 16 * 1024, 0);
        let r = timeout_at(deadline, self.stream.read(&mut self.buf[len..])).await;
        let n = match r {
            Err(_) => {
                self.buf.truncate(len);
                return Err("read timed out".into());
            }
            Ok(Err(e)) => {
                self.buf.truncate(len);
                return Err(format!("read: {e}"));
            }
            Ok(Ok(n)) => n,
        };
        self.buf.truncate(len + n);
        Ok(n)
    }

    /// Reads a whole (small) response body.
    async fn read_body(&mut self, framing: Framing, deadline: Instant) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        match framing {
            Framing::Length(n) => {
                if n > MAX_BODY {
                    return Err("response body too large".into());
                }
                while self.buf.len() < n {
                    if self.read_more(deadline).await? == 0 {
                        return Err("connection closed inside the body".into());
                    }
                }
                body.extend(self.buf.drain(..n));
            }
            Framing::Chunked => {
                let mut dec = Chunked::default();
                loop {
                    let used = dec.decode(&self.buf, &mut |b: &[u8]| body.extend_from_slice(b))?;
                    self.buf.drain(..used);
                    if dec.done() {
                        break;
                    }
                    if body.len() > MAX_BODY {
                        return Err("response body too large".into());
                    }
                    if self.read_more(deadline).await? == 0 {
                        return Err("connection closed inside the body".into());
                    }
                }
            }
            Framing::UntilClose => loop {
                body.append(&mut self.buf);
                if body.len() > MAX_BODY {
                    return Err("response body too large".into());
                }
                if self.read_more(deadline).await? == 0 {
                    break;
                }
            },
        }
        Ok(body)
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The request head of a streaming GET.
pub fn stream_request(url: &Url) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
        url.target, url.host
    )
    .into_bytes()
}

/// The request head of a streaming GET that resumes after `last_id` (the header a browser's
/// EventSource sends when it reconnects). Refuses an id that would break the header.
pub fn stream_request_after(url: &Url, last_id: &[u8]) -> Result<Vec<u8>, String> {
    if last_id.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err("an event id with a line break or NUL cannot be sent as Last-Event-ID".into());
    }
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n",
        url.target, url.host
    )
    .into_bytes();
    if !last_id.is_empty() {
        req.extend_from_slice(b"Last-Event-ID: ");
        req.extend_from_slice(last_id);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    Ok(req)
}

/// A keep-alive connection that sends one request at a time: JSON POSTs (publishers) or GETs
/// (the `ssr` run).
pub struct Client {
    url: Url,
    auth: Option<String>,
    local: Option<IpAddr>,
    conn: Option<Conn>,
    request: Vec<u8>,
}

impl Client {
    pub fn new(url: Url, token: Option<&str>, local: Option<IpAddr>) -> Client {
        Client {
            url,
            auth: token.map(|t| format!("Authorization: Bearer {t}\r\n")),
            local,
            conn: None,
            request: Vec::with_capacity(512),
        }
    }

    /// POSTs one body built by `body` (called right before the bytes are written, so a
    /// timestamp in it is the send time); returns the HTTP status.
    pub async fn post(
        &mut self,
        body: &mut impl FnMut() -> Vec<u8>,
        per_request: Duration,
    ) -> Result<u16, String> {
        Ok(self.send(true, body, per_request).await?.0)
    }

    /// GETs the URL; returns the HTTP status and the body's length.
    pub async fn get(&mut self, per_request: Duration) -> Result<(u16, usize), String> {
        self.send(false, &mut Vec::new, per_request).await
    }

    /// One request and its whole response. A request on a reused connection that the server
    /// had closed (no response byte at all) is sent once more on a new connection: the server
    /// never saw it.
    async fn send(
        &mut self,
        post: bool,
        body: &mut impl FnMut() -> Vec<u8>,
        per_request: Duration,
    ) -> Result<(u16, usize), String> {
        for attempt in 0..2 {
            let reused = self.conn.is_some();
            let deadline = Instant::now() + per_request;
            if self.conn.is_none() {
                self.conn = Some(connect(&self.url, self.local, None, deadline).await?);
            }
            let conn = self.conn.as_mut().expect("connected above");
            self.request.clear();
            if post {
                let payload = body();
                self.request.extend_from_slice(
                    format!(
                        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                        self.url.target,
                        self.url.host,
                        payload.len(),
                        self.auth.as_deref().unwrap_or("")
                    )
                    .as_bytes(),
                );
                self.request.extend_from_slice(&payload);
            } else {
                self.request.extend_from_slice(
                    format!(
                        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/html\r\n\r\n",
                        self.url.target, self.url.host
                    )
                    .as_bytes(),
                );
            }
            let sent = timeout_at(deadline, conn.stream.write_all(&self.request)).await;
            let head = match sent {
                Ok(Ok(())) => conn.read_head(deadline).await,
                Ok(Err(e)) => Err(format!("write: {e}")),
                Err(_) => Err("write timed out".into()),
            };
            let head = match head {
                Ok(h) => h,
                Err(e) => {
                    self.conn = None;
                    let unanswered = e.starts_with("connection closed before")
                        || e.starts_with("write:")
                        || e.contains("reset");
                    if reused && unanswered && attempt == 0 {
                        continue;
                    }
                    return Err(e);
                }
            };
            let body = conn.read_body(head.framing, deadline).await;
            if body.is_err() || head.close || head.framing == Framing::UntilClose {
                self.conn = None;
            }
            return Ok((head.status, body?.len()));
        }
        unreachable!("the loop returns on its second attempt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls() {
        let u = Url::parse("http://127.0.0.1:3400/api/events?topics=bench").unwrap();
        assert_eq!(u.addr.port(), 3400);
        assert_eq!(u.target, "/api/events?topics=bench");
        assert!(Url::parse("http://localhost:1/x").is_ok());
        assert!(Url::parse("http://[::1]:1/x").is_ok());
        assert!(Url::parse("http://127.8.9.10:1/").is_ok());
        for bad in [
            "http://10.0.0.1:80/",
            "http://example.com:80/",
            "https://127.0.0.1:1/",
            "http://0.0.0.0:1/",
            "http://[::]:1/",
            "http://127.0.0.1/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn resume_requests() {
        let u = Url::parse("http://127.0.0.1:1/api/events?topics=bench").unwrap();
        let r = String::from_utf8(stream_request_after(&u, b"42").unwrap()).unwrap();
        assert!(r.starts_with("GET /api/events?topics=bench HTTP/1.1\r\n"));
        assert!(r.contains("\r\nLast-Event-ID: 42\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
        let none = stream_request_after(&u, b"").unwrap();
        assert_eq!(
            none,
            stream_request(&u),
            "no id yet: a plain stream request"
        );
        assert!(stream_request_after(&u, b"1\r\nX: y").is_err());
    }

    #[test]
    fn heads() {
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked",
        )
        .unwrap();
        assert_eq!(
            (h.status, h.framing, h.close),
            (200, Framing::Chunked, false)
        );
        let h =
            parse_head(b"HTTP/1.1 202 Accepted\r\ncontent-length: 8\r\nconnection: close").unwrap();
        assert_eq!(
            (h.status, h.framing, h.close),
            (202, Framing::Length(8), true)
        );
        assert!(parse_head(b"SSH-2.0 hello").is_err());
    }

    fn dechunk(parts: &[&[u8]]) -> Result<(Vec<u8>, bool), String> {
        let mut d = Chunked::default();
        let mut out = Vec::new();
        for p in parts {
            d.decode(p, &mut |b: &[u8]| out.extend_from_slice(b))?;
        }
        Ok((out, d.done()))
    }

    #[test]
    fn chunked_in_any_split() {
        let wire: &[u8] = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";
        let (body, done) = dechunk(&[wire]).unwrap();
        assert_eq!(body, b"hello 0123456789");
        assert!(done);
        for a in 0..=wire.len() {
            for b in a..=wire.len() {
                let (body2, done2) = dechunk(&[&wire[..a], &wire[a..b], &wire[b..]]).unwrap();
                assert_eq!(
                    (body2.as_slice(), done2),
                    (body.as_slice(), true),
                    "split {a},{b}"
                );
            }
        }
        assert!(dechunk(&[b"zz\r\n"]).is_err());
        assert!(dechunk(&[b"2\r\nabX"]).is_err());
        let (partial, done) = dechunk(&[b"3\r\nab"]).unwrap();
        assert_eq!((partial.as_slice(), done), (&b"ab"[..], false));
    }
}
