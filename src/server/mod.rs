//! The HTTP server: state, router and startup; the serve loop itself is [`listen`].
//!
//! Each area owns its routes ([`events`], [`publish`], [`topics`], [`ops`], [`pages`]); they are
//! merged in [`router`], behind the per-request checks of [`guard`]. [`serve`] takes the
//! listener and the shutdown signal as parameters so tests run the real thing on
//! `127.0.0.1:0`.

pub mod assets;
pub mod auth;
pub mod client;
pub mod cors;
pub mod csrf;
pub mod events;
pub mod guard;
pub mod headers;
pub mod hex;
pub mod jobs;
pub mod limit;
pub mod listen;
pub mod ops;
pub mod page_snapshot;
pub mod pages;
pub mod presence;
pub mod presence_redis;
pub mod publish;
pub mod recorder;
pub mod session;
pub mod signed;
pub mod sse_socket;
pub mod subscribers;
pub mod tls;
pub mod topics;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::Router;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::event::feed::FEED_WINDOW;
use crate::event::EventId;
use crate::hub::backend::local::LocalBroker;
use crate::hub::backend::redis::{RedisBroker, RedisLink, RedisOptions};
use crate::hub::{Broker, BrokerError, Hub, HubConfig, LogError};
use crate::live::PageSnapshot;
use crate::sources::leader::Leadership;
use crate::storage::{JobStore, OpenMode, PostStore, SqliteLog};

/// Everything a handler needs: one `Arc`, because axum clones the state for every request
/// (as one handle per field, its clone and drop were 3 % of the CPU of rendering a page).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct AppStateInner {
    pub leptos: LeptosOptions,
    pub hub: Hub,
    /// The main publish token (also signs an operator in).
    pub token: Arc<str>,
    /// Every publish token: the main one and `--tokens-file`'s named ones.
    pub tokens: auth::Tokens,
    pub config: Arc<Config>,
    /// Cancelled when the server starts shutting down; open streams end on it.
    pub shutdown: CancellationToken,
    /// The feed's posts table (kept beyond the event history).
    pub posts: PostStore,
    /// How far the posts table is (publishers of a post wait for it).
    pub recorder: recorder::Recorder,
    /// Every job's newest state, kept beyond the replay window.
    pub jobs: JobStore,
    /// How far the jobs table is.
    pub jobs_recorder: recorder::Recorder,
    /// Serializes read-compute-publish of job states in this process.
    pub job_lock: Arc<tokio::sync::Mutex<()>>,
    /// Wakes the runner of Pulse's own jobs.
    pub runner: crate::sources::jobs::RunnerHandle,
    /// This instance's name (`--instance`), shown on /monitor.
    pub instance: Arc<str>,
    /// Whether the simulators run on this instance now (one instance at a time).
    pub leading: Arc<std::sync::atomic::AtomicBool>,
    /// The snapshot pages render from, with the newest posts and jobs stored before this start
    /// (a post or a job outlives the replay window); see [`AppState::snapshot`].
    pub pages: page_snapshot::PageSnapshots,
    pub sessions: session::Sessions,
    /// Posting through the feed's form, per client address.
    pub post_limit: limit::RateLimiter,
    /// Scorekeeper sign-in attempts, per client address (slows password guessing).
    pub sign_in_limit: limit::RateLimiter,
    /// Failed sign-ins from all addresses together, with a doubling wait (stops guessing from
    /// many addresses).
    pub sign_in_failures: limit::Backoff,
    /// Publishes per token, by its name (`--publish-rate`; `None`: no limit).
    pub publish_limit: Option<limit::RateLimiter<Arc<str>>>,
    /// Open streams, per client address and in all.
    pub streams: subscribers::StreamLimits,
    /// The serve loop's connection figures (for `/metrics`).
    pub connections: Arc<listen::ConnStats>,
    /// `--cors-origin`: origins trusted besides this site's own (CORS and the cross-site check).
    pub origins: csrf::TrustedOrigins,
    /// Browsers with a stream open ("N watching").
    pub presence: presence::Presence,
    /// `--private-topics` and the key that signs their subscription URLs.
    pub signer: signed::Signer,
}

/// Connections `--max-streams` leaves for pages and publishes by default (a quarter of the
/// cap when that is less).
const STREAM_MARGIN: usize = 64;

/// Sign-in attempts per minute per address, after a burst of [`SIGN_IN_BURST`].
const SIGN_IN_PER_MINUTE: f64 = 10.0;
const SIGN_IN_BURST: u32 = 5;

/// Failed sign-ins (from all addresses together) before each further one locks sign-in for a
/// doubling wait, from [`SIGN_IN_LOCK_BASE`] up to [`SIGN_IN_LOCK_MAX`]; forgotten after
/// [`SIGN_IN_QUIET`] without a failure.
const SIGN_IN_FREE_FAILURES: u32 = 20;
const SIGN_IN_LOCK_BASE: Duration = Duration::from_secs(1);
const SIGN_IN_LOCK_MAX: Duration = Duration::from_secs(300);
const SIGN_IN_QUIET: Duration = Duration::from_secs(15 * 60);

impl AppState {
    /// The snapshot a page renders from: the hub's, with the feed's and the jobs' windows filled
    /// from their tables when a restart left fewer in the event history. Shared until it changes.
    pub fn snapshot(&self) -> PageSnapshot {
        self.pages.get(&self.hub)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Why the server could not start, naming the component that failed (the message goes to
/// the operator's terminal and log, so it names the file too). Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The event log (`events.db`, or the ids file beside it) could not be opened (exit code 3).
    #[error("event log: {0}")]
    Storage(#[source] LogError),
    /// The posts table (`posts.db`) could not be opened or caught up (exit code 3).
    #[error("posts table: {0}")]
    Posts(String),
    /// The jobs table (`jobs.db`) could not be opened or caught up (exit code 3).
    #[error("jobs table: {0}")]
    Jobs(String),
    /// Redis (`--redis-url`) could not be reached or read at start (exit code 5).
    #[error("redis: {0}")]
    Redis(String),
    /// The publish token could not be read or created (exit code 4).
    #[error("publish token: {0}")]
    Token(String),
    /// `--private-topics` is unusable, or the signing key could not be read or created
    /// (exit code 4).
    #[error("private topics: {0}")]
    SigningKey(String),
    /// A flag has an unusable value (exit code 2).
    #[error("configuration: {0}")]
    Config(String),
}

impl StartError {
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Config(_) => 2,
            StartError::Storage(_) | StartError::Posts(_) | StartError::Jobs(_) => 3,
            StartError::Token(_) | StartError::SigningKey(_) => 4,
            StartError::Redis(_) => 5,
        }
    }
}

/// All routes: pages, the stream, the publish API, snapshots, health and metrics, each request
/// through [`guard`] first.
pub fn router(state: AppState) -> Router {
    let limits = guard::RequestLimits {
        max_url: state.config.max_url_bytes,
        max_body: state.config.max_body,
        body_timeout: Duration::from_millis(state.config.body_timeout_ms),
    };
    // The stream and the read APIs, readable by `--cors-origin` pages.
    let mut readable = Router::new()
        .merge(events::router())
        .merge(jobs::router())
        .merge(topics::router());
    if let Some(cors) = cors::layer(&state.origins) {
        readable = readable.layer(cors);
    }
    let routes = Router::new()
        .merge(readable)
        .merge(publish::router())
        .merge(signed::router())
        .merge(ops::router())
        .merge(assets::router(&state.leptos))
        .merge(assets::compress_pages(pages::router(&state)))
        .layer(axum::middleware::from_fn_with_state(limits, guard::guard))
        // Before the body is read: a cross-site call costs nothing.
        .layer(axum::middleware::from_fn_with_state(
            state.origins.clone(),
            csrf::guard,
        ));
    headers::layer(routes).with_state(state)
}

/// What the serve loop and the stream limits are sized by: the connection cap, the stream
/// cap, and the listen settings. Checked before anything is opened.
fn listen_setup(config: &Config) -> Result<(listen::ListenConfig, u64), StartError> {
    let nofile = listen::open_file_limit();
    let (cap, reserve) =
        listen::budget(nofile, config.max_connections).map_err(StartError::Config)?;
    if config.idle_timeout_secs <= config.heartbeat_secs {
        return Err(StartError::Config(format!(
            "--idle-timeout-secs {} must be above --heartbeat-secs {} (a quiet stream's \
             heartbeat is what keeps it from counting as idle)",
            config.idle_timeout_secs, config.heartbeat_secs
        )));
    }
    let streams = if config.max_streams > 0 {
        config.max_streams
    } else {
        // Room for page loads and publishes beside the streams.
        (cap - (cap / 4).min(STREAM_MARGIN)) as u64
    };
    let trusted =
        client::TrustedProxies::parse(&config.trusted_proxy).map_err(StartError::Config)?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key).map_err(StartError::Config)?),
        _ => None,
    };
    tracing::info!(
        "connections: at most {cap} (open-file limit {nofile}, {reserve} kept for files), \
         streams: at most {streams}, {} per client address",
        if config.max_streams_per_client == 0 {
            "any number".to_owned()
        } else {
            config.max_streams_per_client.to_string()
        }
    );
    Ok((
        listen::ListenConfig {
            max_connections: cap,
            header_timeout: Duration::from_millis(config.header_timeout_ms),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
            max_header_bytes: config.max_header_bytes as usize,
            tls,
            trusted: Arc::new(trusted),
        },
        streams,
    ))
}

/// The newest event id the derived tables hold: a new event log must start after it.
fn derived_floor(posts: &PostStore, jobs: &JobStore) -> Result<EventId, StartError> {
    use crate::storage::Table;
    let posts = posts.mark().map_err(|e| StartError::Posts(e.to_string()))?;
    let jobs = jobs.mark().map_err(|e| StartError::Jobs(e.to_string()))?;
    Ok(posts.max(jobs))
}

/// Opens storage, starts the hub and the built-in sources, and serves until `shutdown`
/// resolves. Then: streams end (with a `retry:` hint), connections get
/// [`listen::SHUTDOWN_GRACE`] to
/// finish, sources stop, and the hub writes what it accepted and closes the log.
pub async fn serve(
    config: Config,
    leptos: LeptosOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let stocks =
        crate::sources::stocks::Simulator::from_config(&config).map_err(StartError::Config)?;
    let sampler =
        crate::sources::monitor::Sampler::from_config(&config).map_err(StartError::Config)?;
    let games = crate::sources::scores::Simulator::from_config(&config);
    let rate = config.feed_posts_per_minute;
    if !(rate.is_finite() && rate >= 0.0) {
        return Err(StartError::Config(format!(
            "--feed-posts-per-minute {rate} must be 0 or more"
        )));
    }
    let publish_rate = config.publish_rate;
    if !(publish_rate.is_finite() && publish_rate >= 0.0) {
        return Err(StartError::Config(format!(
            "--publish-rate {publish_rate} must be 0 (no limit) or more"
        )));
    }
    if config.stocks_rate > 0.0 && config.stocks_symbols.len() as u64 > config.max_stock_symbols {
        return Err(StartError::Config(format!(
            "--stocks-symbols names {} symbols but --max-stock-symbols is {}; the ticker would \
             keep replacing its own rows",
            config.stocks_symbols.len(),
            config.max_stock_symbols
        )));
    }
    let (listen_config, max_streams) = listen_setup(&config)?;
    let origins = csrf::TrustedOrigins::parse(&config.cors_origin).map_err(StartError::Config)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        StartError::Config(format!(
            "cannot create data directory {}: {e}",
            config.data_dir.display()
        ))
    })?;
    let token = auth::resolve_token(&config).map_err(StartError::Token)?;
    let tokens = auth::resolve_tokens(&config, &token).map_err(StartError::Token)?;
    let signer = signed::resolve(&config).map_err(StartError::SigningKey)?;
    let hub_config = HubConfig {
        history: config.history as usize,
        queue: config.queue as usize,
        max_age: (config.retention_secs > 0).then(|| Duration::from_secs(config.retention_secs)),
        max_custom_topics: config.max_custom_topics as usize,
        max_stock_symbols: config.max_stock_symbols as usize,
    };
    let port = listener.local_addr().map_or(0, |a| a.port());
    let instance: Arc<str> = config.instance_name(port).into();
    let posts =
        PostStore::open(&config.posts_path()).map_err(|e| StartError::Posts(e.to_string()))?;
    let jobs = JobStore::open(&config.jobs_path()).map_err(|e| StartError::Jobs(e.to_string()))?;
    let redis = match config.redis_url.as_deref() {
        Some(url) => Some(
            RedisLink::connect(url)
                .await
                .map_err(|e| StartError::Redis(e.to_string()))?,
        ),
        None => None,
    };
    let broker: Arc<dyn Broker> = match &redis {
        Some(link) => Arc::new(RedisBroker::new(
            link.clone(),
            hub_config,
            RedisOptions {
                prefix: config.redis_prefix.clone(),
                high_water: config.high_water_path(),
            },
        )),
        None => {
            let mode = if config.fresh_log {
                OpenMode::Fresh
            } else {
                OpenMode::Existing
            };
            // Ids continue past every id handed out before, even on a new log: the posts and
            // jobs tables are keyed by them (see `storage::sqlite`).
            let floor = derived_floor(&posts, &jobs)?;
            let log = SqliteLog::open(&config.log_path(), config.sync, mode)
                .and_then(|log| log.keep_ids_in(&config.ids_path(), floor))
                .map_err(StartError::Storage)?;
            Arc::new(LocalBroker::new(Box::new(log), hub_config))
        }
    };
    let hub = Hub::open(broker, hub_config).await.map_err(|e| match e {
        BrokerError::Storage(e) => StartError::Storage(LogError(e)),
        BrokerError::Unreachable(e) => StartError::Redis(e),
    })?;

    let cancel = CancellationToken::new();
    let (recorder, caught_up) =
        recorder::Recorder::start(hub.clone(), posts.clone(), cancel.clone())
            .await
            .map_err(|e| StartError::Posts(e.to_string()))?;
    if caught_up > 0 {
        tracing::info!("feed: stored {caught_up} posts from the event log");
    }
    let (jobs_recorder, _) = recorder::Recorder::start(hub.clone(), jobs.clone(), cancel.clone())
        .await
        .map_err(|e| StartError::Jobs(e.to_string()))?;
    let feed_seed = posts
        .page(None, FEED_WINDOW)
        .map_err(|e| StartError::Posts(e.to_string()))?;
    let jobs_seed = {
        let mut all = jobs.all().map_err(|e| StartError::Jobs(e.to_string()))?;
        // Everything unfinished, and the newest finished ones (`all` is newest first).
        let mut finished = 0;
        all.retain(|j| {
            !j.status.is_final() || {
                finished += 1;
                finished <= crate::event::jobs::KEEP_FINISHED
            }
        });
        all
    };

    let mut sources = Vec::new();
    if let Some(mut sampler) = sampler {
        // Every instance samples its own host.
        sampler.set_instance(&instance);
        sources.push(tokio::spawn(sampler.run(hub.clone(), cancel.clone())));
    }
    let leadership = match &redis {
        Some(link) => Leadership::lease(link.clone(), &config.redis_prefix, &instance),
        None => Leadership::Alone,
    };
    let sim_hub = hub.clone();
    let simulators = move |term: CancellationToken| {
        let mut tasks = Vec::new();
        if let Some(sim) = stocks.clone() {
            tasks.push(tokio::spawn(sim.run(sim_hub.clone(), term.clone())));
        }
        if let Some(sim) = games.clone() {
            tasks.push(tokio::spawn(sim.run(sim_hub.clone(), term.clone())));
        }
        tasks
    };
    let leading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    sources.push(tokio::spawn(leadership.run(
        cancel.clone(),
        leading.clone(),
        simulators,
    )));

    let sessions = match &redis {
        Some(link) => session::Sessions::shared(link.clone(), &config.redis_prefix),
        None => session::Sessions::default(),
    };
    let state = AppState(Arc::new(AppStateInner {
        leptos,
        hub: hub.clone(),
        token: token.into(),
        tokens,
        shutdown: cancel.clone(),
        posts,
        recorder,
        jobs,
        jobs_recorder,
        job_lock: Arc::default(),
        runner: crate::sources::jobs::RunnerHandle::default(),
        instance,
        leading,
        pages: page_snapshot::PageSnapshots::new(feed_seed, jobs_seed),
        sessions,
        post_limit: limit::RateLimiter::new(config.feed_posts_per_minute, config.feed_burst),
        sign_in_limit: limit::RateLimiter::new(SIGN_IN_PER_MINUTE, SIGN_IN_BURST),
        sign_in_failures: limit::Backoff::new(
            SIGN_IN_FREE_FAILURES,
            SIGN_IN_LOCK_BASE,
            SIGN_IN_LOCK_MAX,
            SIGN_IN_QUIET,
        ),
        publish_limit: (publish_rate > 0.0)
            .then(|| limit::RateLimiter::new(publish_rate * 60.0, config.publish_burst)),
        streams: subscribers::StreamLimits::new(config.max_streams_per_client, max_streams),
        connections: Arc::default(),
        origins,
        presence: presence::Presence::default(),
        signer,
        config: Arc::new(config),
    }));
    if let Some(link) = &redis {
        sources.push(tokio::spawn(presence_redis::share(
            state.presence.clone(),
            link.clone(),
            state.config.redis_prefix.clone(),
            state.instance.to_string(),
            cancel.clone(),
        )));
    }
    let runner = crate::sources::jobs::Runner::new(state.clone(), state.runner.clone());
    sources.push(tokio::spawn(runner.run(cancel.clone())));
    let stats = state.connections.clone();
    let app = router(state);
    if let Ok(addr) = listener.local_addr() {
        let scheme = if listen_config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!("listening on {scheme}://{addr}");
    }

    let stop = cancel.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: ending streams");
        stop.cancel();
    });
    // Returns once shutdown began and the connections finished (or the grace period ended).
    listen::serve(listener, app, listen_config, stats, cancel.clone()).await;
    cancel.cancel();
    for task in sources {
        let _ = task.await;
    }
    hub.shutdown().await;
    tracing::info!("event backend flushed and closed");
    Ok(())
}
