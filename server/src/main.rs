//! The hub binary.

use std::process::ExitCode;

use hub_core::service::webhooks::{Deliverer, Retry};
use hub_core::worker::{self, Clock};
use server::config::Config;
use server::startup;
use tracing_subscriber::EnvFilter;

/// mimalloc in place of glibc's allocator (see `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Started as the sandbox's helper, this process does that and never returns;
    // it must happen before the runtime starts any thread.
    hub_core::engine::sandbox::helper::dispatch();
    let cli = <server::cli::Cli as clap::Parser>::parse();
    match cli.command {
        None | Some(server::cli::Command::Serve) => serve(),
        Some(command) => command_line(command),
    }
}

/// A command other than serving (see `server::cli`).
#[tokio::main(flavor = "current_thread")]
async fn command_line(command: server::cli::Command) -> ExitCode {
    server::cli::run(command).await
}

#[tokio::main]
async fn serve() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line that says what to fix, not a panic trace.
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let prepared = startup::prepare(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| anyhow::anyhow!("HUB_ADDR: cannot listen on {}: {e}", config.addr))?;
    // Without TCP_NODELAY an answer's last small write waits for the client's delayed
    // ACK (about 40 ms) on a kept-alive connection: every file a page loads paid it.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {e}");
        }
    });

    tracing::info!(data_dir = %config.data_dir.display(), key = ?prepared.key_source, "hub ready");
    println!();
    println!("  Integration Hub is running at {}/", config.public_url);
    match &prepared.bootstrapped {
        Some(b) => match &b.generated_password {
            Some(p) => println!(
                "  Sign in as {} with the password {p}\n  (generated for this new hub and shown only once: keep it)",
                b.email
            ),
            None => println!("  Sign in as {} with the password from HUB_ADMIN_PASSWORD", b.email),
        },
        None => println!("  Sign in with your account (the first admin is {})", config.admin_email),
    }
    if !prepared.state.mailer.is_configured() {
        println!("  No SMTP server is set (HUB_SMTP_HOST): mail is kept under Settings → Sent mail.");
    }
    println!("  Press Ctrl+C to stop.");
    println!();

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state = &prepared.state;
    let clock = Clock::system();
    let builder = tokio::spawn(worker::run(state.builder.clone(), clock.clone(), stopped(stop_rx.clone())));
    let mailer = tokio::spawn(worker::run(state.mailer.clone(), clock.clone(), stopped(stop_rx.clone())));
    let engine = tokio::spawn(worker::run(state.engine.clone(), clock.clone(), stopped(stop_rx.clone())));
    let janitor = tokio::spawn(worker::run(state.janitor.clone(), clock.clone(), stopped(stop_rx.clone())));
    let deliverer =
        Deliverer::new(state.db.clone(), state.key.clone(), Retry::default()).with_egress(state.egress.clone());
    let deliverer = tokio::spawn(worker::run(deliverer, clock, stopped(stop_rx)));
    axum::serve(listener, prepared.router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop_tx.send(true);
    let _ = builder.await;
    let _ = mailer.await;
    let _ = engine.await;
    let _ = janitor.await;
    let _ = deliverer.await;
    Ok(())
}

/// Resolves when the stop flag is raised.
async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
