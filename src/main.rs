//! `pulse`: parse flags, bind, serve until SIGINT/SIGTERM. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use leptos::config::get_configuration;
use pulse::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,pulse=info".into()),
        )
        .init();
    let config = Config::parse();
    let mut leptos = match get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(e) => {
            eprintln!("pulse: LEPTOS_* settings are invalid: {e}");
            return ExitCode::from(2);
        }
    };
    if leptos.output_name.is_empty() {
        leptos.output_name = "pulse".into();
    }
    let addr = leptos.site_addr;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "pulse: cannot listen on {addr}: {e} (set LEPTOS_SITE_ADDR to another address)"
            );
            return ExitCode::from(2);
        }
    };
    match pulse::server::serve(config, leptos, listener, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pulse: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
