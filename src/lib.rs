//! odoo-rest-proxy: a reverse proxy that gives a legacy Odoo or Flectra ERP the REST API of
//! Flectra's `rest_api` addon. REST calls under `/api` become XML-RPC `execute_kw` calls on the
//! upstream ERP; everything else can pass straight through.
//!
//! Module map:
//! - [`config`]: CLI and `proxy.toml` into a validated [`config::Config`]; all defaults.
//! - [`server`]: accept loop, hyper connections, graceful shutdown, routing.
//! - [`api`]: the REST surface (request parsing, tokens endpoints, records, model gate).
//! - [`tokens`]: the token store: in memory, or in a Redis shared by every instance.
//! - [`odoo`]: the only code that talks to the upstream ERP.
//! - [`xmlrpc`]: the XML-RPC codec (no I/O).
//! - [`pyliteral`]: the Python-literal parser for `field` and `filters` (no I/O).
//! - [`error`]: the error type; the only place that picks HTTP status codes.
//! - [`demo`]: the embedded demo ERP, also the fake upstream of tests and benchmarks.
//! - [`passthrough`]: everything outside `/api`, forwarded to the ERP unchanged.
//! - [`pool`]: the keep-alive HTTP/1.1 connections to the ERP, below `odoo` and `passthrough`.
//! - [`plumbing`]: the response body type and JSON responses, below server, api and
//!   pass-through.
//! - [`secret`]: a string that is never formatted.
//! - [`metrics`]: every metric name and label; [`admin`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`access`]: request ids and the access-log line; [`logline`]: the log lines;
//!   [`cors`]: CORS under `/api`.
//! - [`check`]: the `check` subcommand's report.

pub mod access;
pub mod admin;
pub mod api;
pub mod check;
pub mod config;
pub mod cors;
pub mod demo;
pub mod error;
pub mod json2;
pub mod logline;
pub mod metrics;
pub mod odoo;
pub mod passthrough;
pub mod plumbing;
pub mod pool;
pub mod pyliteral;
pub mod secret;
pub mod server;
pub mod tokens;
pub mod xmlrpc;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;

/// Serves the proxy with `config` on `listener` until `shutdown` resolves. No admin listener
/// (see [`run_with_admin`]).
pub async fn run(
    config: config::Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    run_with_admin(config, listener, None, shutdown).await
}

/// [`run`], with the admin endpoints on `admin` when given (whatever `[admin] listen` says).
pub async fn run_with_admin(
    config: config::Config,
    listener: tokio::net::TcpListener,
    admin: Option<tokio::net::TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let state = Arc::new(api::AppState::new(config)?);
    serve_thread(state, listener, admin, true, shutdown).await;
    Ok(())
}

/// Serves one thread's `listener` until `shutdown` resolves. The `first` thread also sweeps
/// expired tokens and serves the `admin` endpoints, which answer until its connections have
/// drained (not ready from the shutdown on).
async fn serve_thread(
    state: Arc<api::AppState>,
    listener: tokio::net::TcpListener,
    admin: Option<tokio::net::TcpListener>,
    first: bool,
    shutdown: impl Future<Output = ()>,
) {
    let sweeper = first
        .then(|| {
            state
                .tokens
                .spawn_sweeper(std::time::Duration::from_secs(30))
        })
        .flatten();
    let readiness = Arc::new(admin::Readiness::new(state.config.admin.probe_interval));
    let (admin_stop, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_tasks =
        admin.map(|listener| spawn_admin(&state, &readiness, listener, admin_stopped));
    let draining = {
        let readiness = Arc::clone(&readiness);
        async move {
            shutdown.await;
            readiness.shutting_down();
        }
    };
    server::serve(state, listener, draining).await;
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    let _ = admin_stop.send(());
    if let Some((server, probe)) = admin_tasks {
        probe.abort();
        let _ = server.await;
    }
}

/// Starts the admin server and the readiness probe on the current runtime.
fn spawn_admin(
    state: &Arc<api::AppState>,
    readiness: &Arc<admin::Readiness>,
    listener: tokio::net::TcpListener,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> (tokio::task::JoinHandle<()>, tokio::task::JoinHandle<()>) {
    let probe = tokio::spawn(admin::probe_forever(
        state.odoo.clone(),
        Arc::clone(readiness),
        state.config.admin.probe_interval,
    ));
    let server = tokio::spawn(admin::serve(
        Arc::clone(state),
        Arc::clone(readiness),
        listener,
        async move {
            let _ = stop.await;
        },
    ));
    (server, probe)
}

/// Serves the proxy on `threads` threads, each running a single-threaded tokio runtime with its
/// own `SO_REUSEPORT` listener on `config.listen` and its own upstream connection pools, so that
/// a connection stays on the thread that accepted it (nginx's worker model: no cross-thread
/// wake-ups on the hot path; with the Redis token store, each thread also has its own Redis
/// connection). The token store, caches and login limiter are shared. The admin
/// listener (`[admin] listen`) is served by the first thread. `ready` gets the bound addresses
/// (main, admin) once every thread listens. Returns once `shutdown` turns true and
/// every thread has drained its connections.
pub fn run_per_core(
    config: config::Config,
    threads: usize,
    shutdown: watch::Receiver<bool>,
    ready: impl FnOnce(SocketAddr, Option<SocketAddr>),
) -> Result<(), String> {
    let first = api::AppState::new(config)?;
    let mut states = Vec::with_capacity(threads.max(1));
    for _ in 1..threads.max(1) {
        states.push(first.for_another_thread()?);
    }
    states.insert(0, first);

    // A taken admin port does not stop the proxy (two proxies on one machine, both with the
    // default 127.0.0.1:9180): it serves without, and says so at WARN.
    let mut admin_listener = states[0].config.admin.listen.and_then(|admin| {
        let bound = std::net::TcpListener::bind(admin).and_then(|listener| {
            listener.set_nonblocking(true)?;
            Ok(listener)
        });
        match bound {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(%admin, %error, "no admin listener: cannot listen on [admin] listen");
                None
            }
        }
    });
    let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());
    let mut addr = states[0].config.listen;
    let (bound_tx, bound_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
    let mut workers = Vec::with_capacity(states.len());
    for (index, state) in states.into_iter().enumerate() {
        let bound = bound_tx.clone();
        let mut stop = shutdown.clone();
        let mut admin_listener = if index == 0 {
            admin_listener.take()
        } else {
            None
        };
        let worker = std::thread::Builder::new()
            .name(format!("proxy-{index}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => return drop(bound.send(Err(format!("cannot start a runtime: {e}")))),
                };
                runtime.block_on(async move {
                    let listener = match server::reuse_port_listener(addr) {
                        Ok(listener) => listener,
                        Err(e) => {
                            return drop(bound.send(Err(format!("cannot listen on {addr}: {e}"))))
                        }
                    };
                    let _ = bound.send(listener.local_addr().map_err(|e| e.to_string()));
                    let state = Arc::new(state);
                    if index == 0 {
                        // `[upstream] protocol = "auto"` asks the ERP's version at start-up
                        // (and again at the first login after it was unreachable).
                        let odoo = state.odoo.clone();
                        tokio::spawn(async move {
                            let json2 = odoo.offers_json2().await;
                            tracing::info!(
                                configured = ?odoo.protocol_choice(),
                                json2_for_api_keys = json2,
                                "upstream protocol"
                            );
                        });
                    }
                    let admin = match admin_listener.take().map(tokio::net::TcpListener::from_std) {
                        Some(Ok(listener)) => Some(listener),
                        Some(Err(e)) => {
                            tracing::error!(error = %e, "cannot serve the admin listener");
                            return;
                        }
                        None => None,
                    };
                    let stopped = async move {
                        let _ = stop.wait_for(|&stop| stop).await;
                    };
                    serve_thread(state, listener, admin, index == 0, stopped).await;
                });
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        workers.push(worker);
        // The first thread picks the port (when it is 0); the others bind the same one.
        addr = bound_rx
            .recv()
            .map_err(|_| "a server thread stopped before it listened".to_owned())??;
    }
    ready(addr, admin_addr);
    for worker in workers {
        if worker.join().is_err() {
            return Err("a server thread panicked".into());
        }
    }
    Ok(())
}
