//! The `odoo-rest-proxy` binary: parse the command line, load the config, set up logging,
//! and call [`odoo_rest_proxy::run_per_core`] (or serve the demo ERP). Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;
use odoo_rest_proxy::config::{Cli, Command, Config, ConfigError, LogConfig, LogFormat};
use odoo_rest_proxy::demo::{self, DemoConfig};
use odoo_rest_proxy::logline::{JsonLine, TextLine};
use tokio::net::TcpListener;

/// mimalloc: a REST call allocates for every value it decodes; glibc's malloc was a quarter of
/// the proxy's CPU time under load (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = Config::load(&cli);
    if let Some(Command::Check { db }) = &cli.command {
        return check(&cli, loaded, db.as_deref());
    }
    let config = match loaded {
        Ok(config) => config,
        Err(error) => {
            eprintln!("odoo-rest-proxy: {error}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    match serve(cli.command, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("odoo-rest-proxy: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `[log] level` and `format`; `RUST_LOG`, when set, wins over the level.
fn init_logging(log: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match log.format {
        LogFormat::Text => builder.fmt_fields(TextLine).event_format(TextLine).init(),
        LogFormat::Json => builder.fmt_fields(JsonLine).event_format(JsonLine).init(),
    }
}

/// `odoo-rest-proxy check`: the report on stdout; exit 0 when nothing failed, else 1.
fn check(cli: &Cli, loaded: Result<Config, ConfigError>, db: Option<&str>) -> ExitCode {
    let config = match loaded {
        Ok(config) => config,
        Err(error) => {
            println!("FAIL config: {error}");
            return ExitCode::FAILURE;
        }
    };
    let source = match &cli.config {
        Some(path) => path.display().to_string(),
        None if std::path::Path::new("proxy.toml").exists() => "proxy.toml".to_owned(),
        None => "the built-in defaults (no proxy.toml)".to_owned(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            println!("FAIL runtime: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(odoo_rest_proxy::check::run(&config, &source, db));
    print!("{}", report.render());
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn serve(command: Option<Command>, mut config: Config) -> Result<(), String> {
    // The signal handlers, and the demo ERP when there is one, live on this runtime; the proxy
    // runs on its own threads (`run_per_core`).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if matches!(command, Some(Command::DemoErp { .. })) {
            config.server_threads()
        } else {
            1
        })
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let shutdown = {
        let _context = runtime.enter();
        shutdown_signal()
    };
    let bind = |addr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    };
    // The demo ERP serves for as long as this handle lives.
    let _demo_erp = match command {
        None | Some(Command::Check { .. }) => None,
        Some(Command::DemoErp {
            keep_alive,
            odoo_version,
            overload,
        }) => {
            let overload = overload.mode();
            return runtime.block_on(async {
                let listener = bind(config.listen).await?;
                let erp = demo::spawn(
                    listener,
                    DemoConfig {
                        keep_alive,
                        odoo_version,
                        overload,
                    },
                )
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
                print_api_keys(odoo_version, erp.addr());
                shutdown.await;
                Ok(())
            });
        }
        Some(Command::Demo {
            odoo_version,
            overload,
        }) => {
            let erp = runtime.block_on(async {
                let listener = bind("127.0.0.1:0".parse().expect("a valid address")).await?;
                demo::spawn(
                    listener,
                    DemoConfig {
                        keep_alive: true,
                        odoo_version,
                        overload: overload.mode(),
                    },
                )
                .await
                .map_err(|e| format!("cannot start the demo ERP: {e}"))
            })?;
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
            print_api_keys(odoo_version, erp.addr());
            Some(erp)
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    runtime.spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let upstream = odoo_rest_proxy::secret::redact_url(&config.upstream.url);
    let token_store = config.tokens.store.describe();
    let threads = config.server_threads();
    // Building the state runs in this runtime's context; a shared token store's connections are
    // opened later, each on the server thread that uses it.
    let _context = runtime.enter();
    odoo_rest_proxy::run_per_core(config, threads, stopped, |addr, admin| {
        // The listening line last: scripts read stdout up to it, then may close the pipe.
        if let Some(admin) = admin {
            println!("admin (healthz, readyz, metrics) on http://{admin}");
        }
        println!("odoo-rest-proxy listening on http://{addr}");
        tracing::info!(%upstream, %token_store, threads, "serving");
    })
}

/// Odoo 19's JSON-2 takes API keys only: say which ones the demo users have.
fn print_api_keys(version: demo::OdooVersion, addr: std::net::SocketAddr) {
    if version != demo::OdooVersion::Odoo19 {
        return;
    }
    println!("demo ERP speaks Odoo 19's JSON-2 too: POST http://{addr}/json/2/<model>/<method>");
    println!(
        "API keys (log in with one as the password): {}={} {}={}",
        demo::DEMO_LOGIN,
        demo::DEMO_ADMIN_API_KEY,
        demo::DEMO_USER_LOGIN,
        demo::DEMO_USER_API_KEY
    );
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
