//! Command-line flags, each with an environment fallback. `serve` works with none of them set.
//! The listen address comes from Leptos's own `LEPTOS_SITE_ADDR` (default 127.0.0.1:3000).

use std::path::PathBuf;

use clap::Parser;

use crate::storage::Sync;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "pulse",
    version,
    about = "Pulse: live dashboards over Server-Sent Events"
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

    /// Largest publish body accepted, in bytes (larger gets 413).
    #[arg(long, env = "PULSE_MAX_BODY", default_value_t = 64 * 1024)]
    pub max_body: usize,

    /// Milliseconds a browser should wait before reconnecting (sent as `retry:`).
    #[arg(long, env = "PULSE_RETRY_MS", default_value_t = 2000)]
    pub retry_ms: u64,

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
}

impl Config {
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("events.db")
    }

    pub fn token_path(&self) -> PathBuf {
        self.data_dir.join("publish-token")
    }
}
