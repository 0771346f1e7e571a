//! The one integration-test crate: it starts the demo ERP and the proxy on 127.0.0.1:0 and
//! drives them over real HTTP.

mod api;
mod demo;
mod flectra14;
mod flectra_rows;
mod hardening;
mod json2;
mod json2_replay;
mod odoo;
mod openapi;
mod ops;
mod overload;
mod passthrough;
mod shared_store;
mod support;
mod transcode;
mod upstream_failures;
mod xmlrpc;
