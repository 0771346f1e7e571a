//! odoo-rest-proxy: a reverse proxy that gives a legacy Odoo or Flectra ERP the REST API of
//! Flectra's `rest_api` addon. REST calls under `/api` become XML-RPC `execute_kw` calls on the
//! upstream ERP; everything else can pass straight through.
//!
//! Module map:
//! - [`config`]: CLI and `proxy.toml` into a validated [`config::Config`]; all defaults.
//! - [`server`]: accept loop, hyper connections, graceful shutdown, routing.
//! - [`api`]: the REST surface (request parsing, tokens endpoints, records, model gate).
//! - [`tokens`]: the in-memory token store.
//! - [`odoo`]: the only code that talks to the upstream ERP.
//! - [`xmlrpc`]: the XML-RPC codec (no I/O).
//! - [`pyliteral`]: the Python-literal parser for `field` and `filters` (no I/O).
//! - [`error`]: the error type; the only place that picks HTTP status codes.
//! - [`demo`]: the embedded demo ERP, also the fake upstream of tests and benchmarks.
//! - [`passthrough`]: everything outside `/api`, forwarded to the ERP unchanged.
//! - [`secret`]: a string that is never formatted.

pub mod api;
pub mod config;
pub mod demo;
pub mod error;
pub mod odoo;
pub mod passthrough;
pub mod pyliteral;
pub mod secret;
pub mod server;
pub mod tokens;
pub mod xmlrpc;

use std::future::Future;
use std::sync::Arc;

/// Serves the proxy with `config` on `listener` until `shutdown` resolves.
pub async fn run(
    config: config::Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let state = Arc::new(api::AppState::new(config)?);
    let sweeper = state
        .tokens
        .spawn_sweeper(std::time::Duration::from_secs(30));
    server::serve(state, listener, shutdown).await;
    sweeper.abort();
    Ok(())
}
