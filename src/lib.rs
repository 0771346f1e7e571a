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
//! - [`secret`]: a string that is never formatted.

pub mod api;
pub mod demo;
pub mod pyliteral;
pub mod secret;
pub mod tokens;
pub mod xmlrpc;
