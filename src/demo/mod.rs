//! The embedded demo ERP: an in-process XML-RPC server that behaves on the wire like an
//! Odoo 18 with the `contacts` app (the recorded transcripts in tests/fixtures/odoo18/ are its
//! reference). It is the upstream of the tests, the benchmarks and `odoo-rest-proxy demo`.
//! It keeps its data in memory, is seeded identically on every start, and never persists
//! anything.
//!
//! Codemap: `schema` (models and fields), `seed` (the dataset), `data` (storage, computed
//! fields, read format), `domain`, `matching` and `order` (search), `records` and `values`
//! (create / write / unlink rules, value conversion), `methods` (model methods and argument
//! binding), `faults` and `pyrepr` (Odoo's fault texts), `dispatch` (services, credentials,
//! access rights), `server` (HTTP).
//!
//! Credentials: [`DEMO_LOGIN`] / [`DEMO_PASSWORD`] (uid 2, all rights; [`DEMO_ADMIN_API_KEY`]
//! also works as its password) and [`DEMO_USER_LOGIN`] / [`DEMO_USER_PASSWORD`] (uid 8: no
//! contact creation, no access to `ir.model`, cannot create or delete users).

// Until the HTTP server (next commit) uses them, the pure parts are only reached by tests.
#![allow(dead_code)]

mod data;
mod dispatch;
mod domain;
mod faults;
mod matching;
mod methods;
mod order;
mod pyrepr;
mod records;
mod schema;
mod seed;
mod values;

use serde_json::Value;

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
