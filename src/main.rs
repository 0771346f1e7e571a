//! The `odoo-rest-proxy` binary: parse the command line, load the config, set up logging,
//! bind, and call [`odoo_rest_proxy::run`]. Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;
use odoo_rest_proxy::config::{Cli, Command, Config};
use odoo_rest_proxy::demo::{self, DemoConfig};
use tokio::net::TcpListener;

/// mimalloc: a REST call allocates for every value it decodes; glibc's malloc was a quarter of
/// the proxy's CPU time under load (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One thread, like an nginx worker: measured with benches/load.py, the multi-thread runtime
/// (2 workers) spent 12-17 % more CPU per REST call (cross-thread wake-ups between the server
/// connection, the upstream connection task and the timer), for no throughput the ERP behind
/// could use (docs/PERFORMANCE.md, "Load").
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = match Config::load(&cli) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("odoo-rest-proxy: {error}");
            return ExitCode::from(2);
        }
    };
    let bind = |addr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    };
    let result = async {
        // The demo ERP serves for as long as this handle lives.
        let _demo_erp = match cli.command {
            None => None,
            Some(Command::DemoErp { keep_alive }) => {
                let shutdown = shutdown_signal();
                let listener = bind(config.listen).await?;
                let erp = demo::spawn(listener, DemoConfig { keep_alive })
                    .await
                    .map_err(|e| format!("cannot start the demo ERP: {e}"))?;
                println!(
                    "demo ERP: XML-RPC at http://{}/xmlrpc/2/common and /xmlrpc/2/object",
                    erp.addr()
                );
                println!(
                    "database {:?}, login {:?}, password {:?}",
                    demo::DEMO_DB,
                    demo::DEMO_LOGIN,
                    demo::DEMO_PASSWORD
                );
                shutdown.await;
                return Ok(());
            }
            Some(Command::Demo) => {
                let erp_listener = bind("127.0.0.1:0".parse().expect("a valid address")).await?;
                let erp = demo::spawn(erp_listener, DemoConfig { keep_alive: true })
                    .await
                    .map_err(|e| format!("cannot start the demo ERP: {e}"))?;
                config.upstream.url = format!("http://{}", erp.addr());
                println!(
                    "demo ERP (XML-RPC, callable directly): http://{}/xmlrpc/2/object",
                    erp.addr()
                );
                println!(
                    "log in with: db={} username={} password={}",
                    demo::DEMO_DB,
                    demo::DEMO_LOGIN,
                    demo::DEMO_PASSWORD
                );
                Some(erp)
            }
        };
        let shutdown = shutdown_signal();
        let listener = bind(config.listen).await?;
        println!(
            "odoo-rest-proxy listening on http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        tracing::info!(upstream = %config.upstream.url, "serving");
        odoo_rest_proxy::run(config, listener, shutdown).await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("odoo-rest-proxy: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the SIGINT (Ctrl-C) and SIGTERM handlers at once, so that a signal arriving
/// before the first poll is neither lost nor fatal; the future resolves on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).expect("the SIGINT handler installs");
        let mut terminate = signal(SignalKind::terminate()).expect("the SIGTERM handler installs");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}
