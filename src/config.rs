//! Command-line flags, each with an environment fallback. `serve` works with none of them set.
//! The listen address comes from Leptos's own `LEPTOS_SITE_ADDR` (default 127.0.0.1:3000).

use std::path::PathBuf;

use clap::Parser;

use crate::storage::Sync;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "pulse",
    version,
    about = "Pulse: live dashboards over Server-Sent Events",
    // A flag given twice takes the last value, so tests and wrappers can override defaults.
    args_override_self = true
)]
pub struct Config {
    /// Directory for the event log and the generated publish token.
    #[arg(long, env = "PULSE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Bearer token publishers must send. When unset, one is generated on first start and kept
    /// in `<data-dir>/publish-token` (mode 0600); its path is printed, the token never is.
    #[arg(long, env = "PULSE_PUBLISH_TOKEN", hide_env_values = true)]
    pub publish_token: Option<String>,

    /// Seconds between `:` heartbeat comments on idle streams (keeps proxies from closing them).
    #[arg(long, env = "PULSE_HEARTBEAT_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub heartbeat_secs: u64,

    /// Events kept for replay (in memory and in the log).
    #[arg(long, env = "PULSE_HISTORY", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub history: u64,

    /// Seconds an event is kept for replay; older events leave the history and the log
    /// (0 = keep by count only).
    #[arg(long, env = "PULSE_RETENTION_SECS", default_value_t = 7 * 24 * 3600)]
    pub retention_secs: u64,

    /// Per-subscriber queue, in events. A subscriber that falls this far behind is cut off and
    /// resumes by id.
    #[arg(long, env = "PULSE_QUEUE", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub queue: u64,

    /// Largest request body accepted on any route, in bytes (larger gets 413).
    #[arg(long, env = "PULSE_MAX_BODY", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(64..=64 * 1024 * 1024))]
    pub max_body: u64,

    /// Milliseconds a browser should wait before reconnecting (sent as `retry:`).
    #[arg(long, env = "PULSE_RETRY_MS", default_value_t = 2000)]
    pub retry_ms: u64,

    /// Milliseconds a stream waits, when it wrote less than this long ago, so that events
    /// arriving meanwhile go out in the same write. Under sustained traffic a subscriber then
    /// costs one write per interval instead of one per commit (each write is a trip through the
    /// kernel's TCP stack, most of the CPU per delivery); a stream that has been quiet for this
    /// long writes at once, so at lower rates nothing waits. 0 writes every wake-up at once.
    #[arg(long, env = "PULSE_COALESCE_MS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub coalesce_ms: u64,

    /// Commit durability: `full` fsyncs every batch, `normal` survives crashes but not power loss.
    #[arg(long, env = "PULSE_SYNC", value_enum, default_value_t = Sync::Full)]
    pub sync: Sync,

    /// Move an unreadable event log aside (`events.db.corrupt-<time>`) and start a new one,
    /// instead of refusing to start.
    #[arg(long, env = "PULSE_FRESH_LOG", default_value_t = false)]
    pub fresh_log: bool,

    /// Stock symbols the simulator trades, comma-separated.
    #[arg(
        long,
        env = "PULSE_STOCKS_SYMBOLS",
        value_delimiter = ',',
        default_value = "ACME,GLOBX,INITECH,UMBR,WAYNE,STARK,HOOLI,CYBD"
    )]
    pub stocks_symbols: Vec<String>,

    /// Simulated ticks per second across all symbols (0 turns the simulator off).
    #[arg(long, env = "PULSE_STOCKS_RATE", default_value_t = 6.0)]
    pub stocks_rate: f64,

    /// Milliseconds between host samples for /monitor (0 turns the sampler off; 250-60000).
    #[arg(long, env = "PULSE_MONITOR_INTERVAL_MS", default_value_t = 2000)]
    pub monitor_interval_ms: u64,

    /// CPU use (percent) that, held for three samples, sends a notification.
    #[arg(long, env = "PULSE_ALERT_CPU", default_value_t = 90.0)]
    pub alert_cpu: f64,

    /// Memory use (percent) that, held for three samples, sends a notification.
    #[arg(long, env = "PULSE_ALERT_MEMORY", default_value_t = 90.0)]
    pub alert_memory: f64,

    /// Games the scores simulator plays at once (0 turns it off).
    #[arg(long, env = "PULSE_SCORES_GAMES", default_value_t = 6, value_parser = clap::value_parser!(u64).range(0..=24))]
    pub scores_games: u64,

    /// Milliseconds between simulator steps; each step advances every live game's clock and
    /// sometimes scores, so smaller is busier.
    #[arg(long, env = "PULSE_SCORES_TICK_MS", default_value_t = 1500, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub scores_tick_ms: u64,

    /// Password that signs a scorekeeper in on /scores (the publish token always works too).
    #[arg(long, env = "PULSE_SCOREKEEPER_PASSWORD", hide_env_values = true)]
    pub scorekeeper_password: Option<String>,

    /// Mark the scorekeeper session cookie `Secure` (set this when serving over HTTPS).
    #[arg(long, env = "PULSE_COOKIE_SECURE", default_value_t = false)]
    pub cookie_secure: bool,

    /// Posts one client (by IP address) may make per minute through the feed's form.
    #[arg(long, env = "PULSE_FEED_POSTS_PER_MINUTE", default_value_t = 6.0)]
    pub feed_posts_per_minute: f64,

    /// Pulse's own jobs (export, compact) that run at once; more wait as `queued`.
    #[arg(long, env = "PULSE_JOBS_MAX", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=16))]
    pub jobs_max: u64,

    /// Events an export writes between two progress reports.
    #[arg(long, env = "PULSE_EXPORT_BATCH", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub export_batch: u64,

    /// Redis to share one event stream between several instances, e.g.
    /// `redis://127.0.0.1:6379/0`. Unset: one process with the embedded SQLite log.
    #[arg(long, env = "PULSE_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key Pulse uses (several deployments can share one Redis).
    #[arg(long, env = "PULSE_REDIS_PREFIX", default_value = "pulse")]
    pub redis_prefix: String,

    /// This instance's name on /monitor and in logs (default: hostname:port).
    #[arg(long, env = "PULSE_INSTANCE")]
    pub instance: Option<String>,

    /// Posts a client may make in a quick burst before the per-minute rate applies.
    #[arg(long, env = "PULSE_FEED_BURST", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub feed_burst: u32,

    /// Open connections at most (0: the open-file limit minus a reserve for files, SQLite and
    /// Redis). Beyond it a few more are accepted for /healthz and /metrics only; the rest are
    /// closed at once.
    #[arg(long, env = "PULSE_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: u64,

    /// Milliseconds a connection has to send a complete request head, counted from when it
    /// opens or finished its previous response (slow-header clients and idle keep-alive
    /// connections are closed after it).
    #[arg(long, env = "PULSE_HEADER_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub header_timeout_ms: u64,

    /// Milliseconds a request has to send its whole body (408 after it).
    #[arg(long, env = "PULSE_BODY_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub body_timeout_ms: u64,

    /// Seconds a connection may move no bytes at all before it is closed (a stream's heartbeat
    /// counts, so this only ends connections whose peer stopped reading or vanished; must be
    /// above --heartbeat-secs).
    #[arg(long, env = "PULSE_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..=86_400))]
    pub idle_timeout_secs: u64,

    /// Largest request head (request line and headers) in bytes; larger gets 431.
    #[arg(long, env = "PULSE_MAX_HEADER_BYTES", default_value_t = 32 * 1024, value_parser = clap::value_parser!(u64).range(8192..=1024 * 1024))]
    pub max_header_bytes: u64,

    /// Longest request target (path and query) in bytes; longer gets 414.
    #[arg(long, env = "PULSE_MAX_URL_BYTES", default_value_t = 8 * 1024, value_parser = clap::value_parser!(u64).range(256..=1024 * 1024))]
    pub max_url_bytes: u64,

    /// Streams (`/api/events`, `/api/jobs/{id}/events`) one client address may hold open at
    /// once (429 beyond; 0 = no per-client limit).
    #[arg(long, env = "PULSE_MAX_STREAMS_PER_CLIENT", default_value_t = 64)]
    pub max_streams_per_client: u64,

    /// Streams open at once in all (503 beyond; 0: the connection cap minus 64 connections
    /// for pages and publishes).
    #[arg(long, env = "PULSE_MAX_STREAMS", default_value_t = 0)]
    pub max_streams: u64,

    /// Reverse proxies (IP addresses or CIDR ranges, comma-separated) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client. From anyone else those headers are ignored
    /// and the socket's address is the client.
    #[arg(long, env = "PULSE_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<String>,

    /// File of named publish tokens, one per line: `name token [topic-pattern ...]` (a pattern
    /// is a topic, a prefix ending in `*`, or `*`; none = every topic). Revoke a token by
    /// deleting its line and restarting. The main token stays valid beside them.
    #[arg(long, env = "PULSE_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,

    /// Origins (`scheme://host[:port]`, comma-separated) trusted besides this site: they may
    /// read the stream and the read APIs from their pages (CORS, without credentials), and call
    /// the server functions (the cross-site check). Unset: same-origin only. Never `*`.
    #[arg(long, env = "PULSE_CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origin: Vec<String>,

    /// Publishes per second one token may make (429 beyond; 0 = no limit).
    #[arg(long, env = "PULSE_PUBLISH_RATE", default_value_t = 1000.0)]
    pub publish_rate: f64,

    /// Publishes a token may make in a quick burst before the per-second rate applies.
    #[arg(long, env = "PULSE_PUBLISH_BURST", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub publish_burst: u32,

    /// Stock symbols kept in the ticker; a new symbol beyond it replaces the least recently
    /// updated one.
    #[arg(long, env = "PULSE_MAX_STOCK_SYMBOLS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_stock_symbols: u64,

    /// Custom topics whose newest event is remembered for their snapshot; beyond it the least
    /// recently published one is forgotten (its snapshot then shows no newest event).
    #[arg(long, env = "PULSE_MAX_CUSTOM_TOPICS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_custom_topics: u64,

    /// Topic patterns (comma-separated; a topic name, or a prefix ending in `*`) that only a
    /// signed subscription URL may read (`POST /api/subscriptions` mints one). Unset: every
    /// topic is public. Built-in topics cannot be private.
    #[arg(long, env = "PULSE_PRIVATE_TOPICS", value_delimiter = ',')]
    pub private_topics: Vec<String>,

    /// File holding the key that signs subscription URLs (at least 32 bytes). Unset: a key
    /// generated at first start into the data directory (`signing-key`). Instances behind one
    /// proxy must share it.
    #[arg(long, env = "PULSE_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,

    /// PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1) instead of plain HTTP.
    /// Needs --tls-key.
    #[arg(long, env = "PULSE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for --tls-cert.
    #[arg(long, env = "PULSE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl Config {
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("events.db")
    }

    pub fn posts_path(&self) -> PathBuf {
        self.data_dir.join("posts.db")
    }

    pub fn jobs_path(&self) -> PathBuf {
        self.data_dir.join("jobs.db")
    }

    pub fn exports_dir(&self) -> PathBuf {
        self.data_dir.join("exports")
    }

    pub fn token_path(&self) -> PathBuf {
        self.data_dir.join("publish-token")
    }

    /// The generated key that signs subscription URLs (when `--signing-key-file` is unset).
    pub fn signing_key_path(&self) -> PathBuf {
        self.data_dir.join("signing-key")
    }

    /// Where the local backend keeps the ids it may have handed out (survives a new log).
    pub fn ids_path(&self) -> PathBuf {
        self.data_dir.join("ids")
    }

    /// Where the Redis backend keeps the highest id this instance has seen.
    pub fn high_water_path(&self) -> PathBuf {
        self.data_dir.join("redis-high-water")
    }

    /// `--instance`, or `hostname:port` for the address this process listens on.
    pub fn instance_name(&self, port: u16) -> String {
        if let Some(name) = self
            .instance
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            return name.chars().take(64).collect();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "pulse".into());
        format!("{host}:{port}")
    }
}
