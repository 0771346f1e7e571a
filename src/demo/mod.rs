//! The embedded demo ERP: an in-process XML-RPC server that behaves on the wire like an
//! Odoo 18 with the `contacts` app (the recorded transcripts in tests/fixtures/odoo18/ are its
//! reference). It is the upstream of the tests, the benchmarks and `odoo-rest-proxy demo`.
//! It keeps its data in memory, is seeded identically on every start, and never persists
//! anything. It serves `/xmlrpc/2/...` and a few web routes for pass-through tests (a login page
//! with a session cookie, a download, an upload echo, a WebSocket echo); no legacy
//! `/xmlrpc/<service>` (string fault codes: as Flectra 1.4, only an unknown service's), no
//! JSON-RPC, no real web client; images are empty.
//!
//! Codemap: `schema` and `models` (models and fields), `seed` (the dataset), `data`
//! (storage, computed fields, read format), `domain`, `matching` and `order` (search),
//! `records` and `values` (create / write / unlink rules, value conversion), `methods` (model
//! methods and argument binding), `faults` and `pyrepr` (Odoo's fault texts), `dispatch`
//! (services, credentials, access rights), `server` (HTTP), `web` (the non-RPC routes
//! pass-through is tested on).
//!
//! Credentials: [`DEMO_LOGIN`] / [`DEMO_PASSWORD`] (uid 2, all rights; [`DEMO_ADMIN_API_KEY`]
//! also works as its password) and [`DEMO_USER_LOGIN`] / [`DEMO_USER_PASSWORD`] (uid 8: no
//! contact creation, no access to `ir.model`, cannot create or delete users).
//!
//! [`OdooVersion::Flectra14`] answers in Flectra 1.4's dialect instead (`flectra`, `server`):
//! admin uid 1, demo_api uid 7 (who may read `ir.model` there), and the recorded wire texts.

mod data;
mod dispatch;
mod domain;
mod faults;
mod flectra;
mod json2;
mod matching;
mod methods;
mod models;
mod order;
mod overload;
mod pyrepr;
mod records;
mod schema;
mod seed;
mod server;
mod values;
mod web;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use dispatch::Erp;
pub use overload::OverloadMode;

/// The only database name the demo ERP knows.
pub const DEMO_DB: &str = "demo";
/// Login of the administrator (uid [`DEMO_ADMIN_UID`]).
pub const DEMO_LOGIN: &str = "admin";
/// Password of the administrator.
pub const DEMO_PASSWORD: &str = "admin";
/// An API key of the administrator, accepted wherever its password is (40 hex digits, like
/// the keys Odoo issues). Public on purpose: it only opens the in-memory demo.
pub const DEMO_ADMIN_API_KEY: &str = "8a1d0e5c3f7b2946d0c4e1a7b9f3265e0d8c4a1f";
/// uid of the administrator.
pub const DEMO_ADMIN_UID: i64 = 2;
/// An API key of the restricted user, accepted wherever its password is, and the only way in
/// over JSON-2 (`--odoo-version 19`).
pub const DEMO_USER_API_KEY: &str = "3f9c2b71e8d04a6c95b1f0e7d2a84c3b6e1f9a05";
/// Login of the restricted user (uid [`DEMO_USER_UID`]).
pub const DEMO_USER_LOGIN: &str = "demo_api";
/// Password of the restricted user.
pub const DEMO_USER_PASSWORD: &str = "demo_api";
/// uid of the restricted user.
pub const DEMO_USER_UID: i64 = 8;

/// One call the demo ERP served, as recorded for tests. Never holds a password: the
/// password parameter is not kept and struct members named like one are replaced by `***`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `common`, `db` or `object`.
    pub service: String,
    /// The XML-RPC method: `authenticate`, `execute_kw`, ...
    pub method: String,
    /// For `execute_kw`: the model, e.g. `res.partner`.
    pub model: Option<String>,
    /// For `execute_kw`: the model method, e.g. `search_read`.
    pub model_method: Option<String>,
    /// For `execute_kw`: the uid sent.
    pub uid: Option<i64>,
    /// For `execute_kw`: the positional arguments (an array), else `null`.
    pub args: Value,
    /// For `execute_kw`: the keyword arguments (an object), else `null`.
    pub kwargs: Value,
}

impl Call {
    fn new(service: &str, method: &str) -> Call {
        Call {
            service: service.to_string(),
            method: method.to_string(),
            model: None,
            model_method: None,
            uid: None,
            args: Value::Null,
            kwargs: Value::Null,
        }
    }
}

/// Which ERP the demo imitates on the wire (`--odoo-version`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OdooVersion {
    /// Odoo 18.0 (tests/fixtures/odoo18/).
    #[default]
    #[value(name = "18")]
    Odoo18,
    /// Odoo 17.0: for now the Odoo 18 dialect answering version 17.0 (the differences of
    /// tests/fixtures/odoo17/ are not modelled yet).
    #[value(name = "17")]
    Odoo17,
    /// Flectra 1.4, built on Odoo 11 (tests/fixtures/flectra14/, `flectra` module).
    #[value(name = "flectra-1.4")]
    Flectra14,
    /// Odoo 19.0: also JSON-2 (`POST /json/2/<model>/<method>`, API keys as Bearer tokens) and
    /// `GET /web/version` saying 19.0 (tests/fixtures/odoo19-json2/).
    #[value(name = "19")]
    Odoo19,
}

impl OdooVersion {
    /// uid of the administrator in this dialect.
    pub fn admin_uid(self) -> i64 {
        match self {
            OdooVersion::Flectra14 => flectra::ADMIN_UID,
            _ => DEMO_ADMIN_UID,
        }
    }

    /// uid of the restricted user in this dialect.
    pub fn user_uid(self) -> i64 {
        match self {
            OdooVersion::Flectra14 => flectra::USER_UID,
            _ => DEMO_USER_UID,
        }
    }
}

/// How the demo ERP serves HTTP.
#[derive(Debug, Clone, Default)]
pub struct DemoConfig {
    /// Keep connections open between requests (for benchmarks). Off by default, like Odoo,
    /// which answers `Connection: close` and closes after every response. Flectra 1.4 always
    /// closes.
    pub keep_alive: bool,
    /// The ERP it imitates.
    pub odoo_version: OdooVersion,
    /// Overload mode: a cursor pool of N that refuses calls like a threaded Odoo out of
    /// cursors (see `overload`). `None`: unlimited.
    pub overload: Option<OverloadMode>,
}

/// A running demo ERP. Cheap to clone; the server stops when [`DemoErp::shutdown`] is called
/// or the last clone is dropped.
#[derive(Clone)]
pub struct DemoErp {
    inner: Arc<Running>,
}

struct Running {
    addr: SocketAddr,
    erp: Arc<Erp>,
    cursors: Option<Arc<overload::CursorPool>>,
    stop: watch::Sender<bool>,
    accept_loop: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Serves the demo ERP on `listener` in the background, with a freshly seeded database.
/// Fails only if the listener's address cannot be read.
pub async fn spawn(listener: TcpListener, config: DemoConfig) -> io::Result<DemoErp> {
    let addr = listener.local_addr()?;
    let erp = Arc::new(Erp::new(config.odoo_version));
    let cursors = config
        .overload
        .map(|mode| Arc::new(overload::CursorPool::new(mode)));
    let (stop, stopped) = watch::channel(false);
    let accept_loop = tokio::spawn(server::serve(
        listener,
        Arc::clone(&erp),
        server::Options {
            keep_alive: config.keep_alive && config.odoo_version != OdooVersion::Flectra14,
            cursors: cursors.clone(),
        },
        stopped,
    ));
    Ok(DemoErp {
        inner: Arc::new(Running {
            addr,
            erp,
            cursors,
            stop,
            accept_loop: Mutex::new(Some(accept_loop)),
        }),
    })
}

impl DemoErp {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `http://<addr>`, the base URL of its XML-RPC endpoints (`/xmlrpc/2/common`, ...).
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The calls served so far (at most the last 10 000), oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.erp.calls()
    }

    /// How many `execute_kw` calls were served (a cheap atomic counter).
    pub fn execute_kw_count(&self) -> u64 {
        self.inner.erp.execute_kw_count()
    }

    /// Revokes every API key (`true`): JSON-2 calls with one get 401 "Invalid apikey"; or
    /// gives them back (`false`).
    pub fn set_api_keys_revoked(&self, revoked: bool) {
        self.inner.erp.set_api_keys_revoked(revoked);
    }

    /// In overload mode, how many calls found every cursor in use (0 otherwise).
    pub fn overload_refusals(&self) -> u64 {
        self.inner
            .cursors
            .as_ref()
            .map_or(0, |pool| pool.refusals())
    }

    /// Forgets the recorded calls and zeroes the counter.
    pub fn reset_calls(&self) {
        self.inner.erp.reset_calls();
    }

    /// Stops accepting connections, lets open ones finish their current request, and waits
    /// for the accept loop to end. Calling it again does nothing.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let accept_loop = self
            .inner
            .accept_loop
            .lock()
            .map(|mut accept_loop| accept_loop.take())
            .unwrap_or_default();
        if let Some(accept_loop) = accept_loop {
            let _ = accept_loop.await;
        }
    }
}

impl fmt::Debug for DemoErp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoErp")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}
