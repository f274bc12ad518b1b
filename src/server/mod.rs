//! The HTTP server: state, router and the serve loop with graceful shutdown.
//!
//! Each area owns its routes ([`events`], [`publish`], [`topics`], [`ops`], [`pages`]); they are
//! merged in [`router`]. [`serve`] takes the listener and the shutdown signal as parameters so
//! tests run the real thing on `127.0.0.1:0`.

pub mod auth;
pub mod events;
pub mod ops;
pub mod pages;
pub mod publish;
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
use crate::hub::{Hub, HubConfig, LogError};
use crate::storage::{OpenMode, SqliteLog};

/// How long shutdown waits for connections to finish after streams were told to end.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything a handler needs; cloned per request (all fields are cheap handles).
#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub hub: Hub,
    pub token: Arc<str>,
    pub config: Arc<Config>,
    /// Cancelled when the server starts shutting down; open streams end on it.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Why the server could not start. Each message says what to do.
#[derive(Debug)]
pub enum StartError {
    /// The event log could not be opened (exit code 3).
    Storage(LogError),
    /// The publish token could not be read or created (exit code 4).
    Token(String),
    /// A flag has an unusable value (exit code 2).
    Config(String),
    /// The server failed while running (exit code 1).
    Serve(std::io::Error),
}

impl StartError {
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Serve(_) => 1,
            StartError::Config(_) => 2,
            StartError::Storage(_) => 3,
            StartError::Token(_) => 4,
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Storage(e) => write!(f, "event log: {e}"),
            StartError::Token(e) => write!(f, "publish token: {e}"),
            StartError::Config(e) => write!(f, "configuration: {e}"),
            StartError::Serve(e) => write!(f, "server: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// All routes: pages, the stream, the publish API, snapshots, health and metrics.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(events::router())
        .merge(publish::router())
        .merge(topics::router())
        .merge(ops::router())
        .merge(pages::router(&state))
        .with_state(state)
}

/// Opens storage, starts the hub and the built-in sources, and serves until `shutdown`
/// resolves. Then: streams end (with a `retry:` hint), connections get [`SHUTDOWN_GRACE`] to
/// finish, sources stop, and the hub writes what it accepted and closes the log.
pub async fn serve(
    config: Config,
    leptos: LeptosOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let stocks =
        crate::sources::stocks::Simulator::from_config(&config).map_err(StartError::Config)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        StartError::Config(format!(
            "cannot create data directory {}: {e}",
            config.data_dir.display()
        ))
    })?;
    let token = auth::resolve_token(&config).map_err(StartError::Token)?;
    let mode = if config.fresh_log {
        OpenMode::Fresh
    } else {
        OpenMode::Existing
    };
    let log =
        SqliteLog::open(&config.log_path(), config.sync, mode).map_err(StartError::Storage)?;
    let hub = Hub::open(
        Box::new(log),
        HubConfig {
            history: config.history as usize,
            queue: config.queue as usize,
            max_age: (config.retention_secs > 0)
                .then(|| Duration::from_secs(config.retention_secs)),
        },
    )
    .map_err(StartError::Storage)?;

    let cancel = CancellationToken::new();
    let sources = stocks.map(|sim| tokio::spawn(sim.run(hub.clone(), cancel.clone())));

    let state = AppState {
        leptos,
        hub: hub.clone(),
        token: token.into(),
        config: Arc::new(config),
        shutdown: cancel.clone(),
    };
    let app = router(state);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("listening on http://{addr}");
    }

    let stop = cancel.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: ending streams");
        stop.cancel();
    });
    let grace = cancel.clone();
    let result = tokio::select! {
        r = server => r.map_err(StartError::Serve),
        _ = async { grace.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
            Ok(())
        }
    };
    cancel.cancel();
    if let Some(task) = sources {
        let _ = task.await;
    }
    hub.shutdown().await;
    tracing::info!("event log flushed and closed");
    result
}
