//! `pulse`: with no command, parse the serve flags, bind and serve until SIGINT/SIGTERM;
//! `pulse tail` / `pulse publish` run a client. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use leptos::config::get_configuration;
use pulse::cli::{shutdown_signal, Cli};
use pulse::config::Config;

/// mimalloc rather than glibc's malloc: rendering a page is thousands of small allocations and
/// frees, and glibc's were a quarter of the CPU of a server rendering `/stocks`
/// (`scripts/profile.sh ssr`). Built `no_thp`: asked for transparent huge pages, its arenas
/// held 31 KB per idle subscriber instead of 23 KB (glibc) or 22.6 KB (this).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(command) => command.run().await,
        None => serve(cli.serve).await,
    }
}

async fn serve(config: Config) -> ExitCode {
    // Only the server logs through tracing (to stdout); the clients keep stdout for their output.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,pulse=info".into()),
        )
        .init();
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
    // A build with hashed bundle names leaves their list beside the binary: use it without
    // asking for LEPTOS_HASH_FILES, so the page always names the files that exist.
    if !leptos.hash_files {
        leptos.hash_files = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join(&*leptos.hash_file)))
            .is_some_and(|f| f.is_file());
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
