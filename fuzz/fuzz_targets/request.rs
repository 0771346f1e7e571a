//! Fuzz target for request parsing: a query string, a `Content-Type` and a body (form or
//! JSON) through `api::request::parse_params`, then the `search_read` arguments of a list call
//! and a record id. No input panics; what is accepted stays inside the limits; what is refused
//! is a client error with a JSON body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo_rest_proxy::api::request::{parse_params, Param};
use odoo_rest_proxy::api::{parse_id, search_read_arguments};
use odoo_rest_proxy::config::Config;
use odoo_rest_proxy::error::Error;
use serde_json::Value;

const CONTENT_TYPES: [Option<&str>; 5] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json; charset=utf-8"),
    Some("application/vnd.api+json"),
    Some("text/plain"),
];

fuzz_target!(|data: &[u8]| {
    // Layout: one byte picks the Content-Type, then `query \0 body`.
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(kind) % CONTENT_TYPES.len()];
    let (query, body) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let query = std::str::from_utf8(query).ok();
    let params = match parse_params(query, content_type, body) {
        Ok(params) => params,
        Err(error) => return check_refusal(&error),
    };

    let mut limits = Config::default().limits;
    limits.max_filter_bytes = 4096;
    limits.max_filter_depth = 8;
    limits.max_limit = (kind & 0x80 != 0).then_some(50);
    match search_read_arguments(&params, &limits) {
        Ok((domain, kwargs)) => {
            assert!(domain.is_array(), "the domain is a list");
            assert!(depth(&domain) <= limits.max_filter_depth, "too deep: {domain}");
            if let Some(max) = limits.max_limit {
                let limit = kwargs.get("limit").and_then(Value::as_u64);
                assert!(limit.is_some_and(|l| l <= max), "limit {limit:?} above {max}");
            }
            if let Some(fields) = kwargs.get("fields") {
                let names = fields.as_array().expect("fields is a list");
                assert!(!names.is_empty() && names.iter().all(Value::is_string));
            }
        }
        Err(error) => check_refusal(&error),
    }
    if let Some(id) = params.get("id") {
        match parse_id(id) {
            Ok(id) => assert!(id > 0),
            Err(error) => check_refusal(&error),
        }
    }
    if let Some(Param::Text(text)) = params.get("id") {
        let _ = parse_id(&Param::Json(Value::from(text.as_str())));
    }
});

fn check_refusal(error: &Error) {
    assert!(error.status().is_client_error(), "{error:?} is not a 4xx");
    let body: Value = serde_json::from_slice(&error.body()).expect("the error body is JSON");
    assert!(body["error"].is_string() && body["error_descrip"].is_string());
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
