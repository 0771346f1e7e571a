//! The one integration-test crate: it starts the demo ERP and the proxy on 127.0.0.1:0 and
//! drives them over real HTTP.

mod api;
mod demo;
mod hardening;
mod odoo;
mod ops;
mod passthrough;
mod support;
mod transcode;
mod upstream_failures;
mod xmlrpc;
