//! `GET /api/openapi.json`: an OpenAPI 3.1 document of the caller's database, built from the
//! `fields_get` of every model the gate serves, once per (database, enabled-model set) and
//! cached for the gate's TTL (in steady state it costs no upstream call); `servers` names the
//! URL the client used. `GET /api/docs`: the page that renders it (see `docs`).

mod docs;
mod document;
mod fields;

use http::HeaderMap;
use serde_json::{json, Map, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::AppState;
use crate::error::{Error, Operation};
use crate::odoo::{OdooFault, UpstreamError};
use crate::secret::Secret;
use crate::tokens::Session;

pub use docs::page;
pub use document::ModelFields;

/// The attributes of `fields_get` that the document uses.
const ATTRIBUTES: &[&str] = &[
    "type",
    "string",
    "help",
    "required",
    "readonly",
    "selection",
    "relation",
];

/// `fields_get` calls in flight at once while a document is built.
const PARALLEL_FIELDS_GET: usize = 4;

/// The document for this session's database, with `servers` for this request.
pub async fn document(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Vec<u8>, Error> {
    let models = state.gate.enabled_models(&state.odoo, session).await?;
    // One entry per database: a new model set replaces the document built for the old one.
    let key = models.join(" ");
    let cached = match state.openapi.get(&session.db, &key) {
        Some(cached) => cached,
        None => {
            // One build at a time: clients that arrive while it runs wait for its result
            // instead of each sending the same fields_get calls.
            let _building = state.openapi.building.lock().await;
            match state.openapi.get(&session.db, &key) {
                Some(cached) => cached,
                None => {
                    let started = tokio::time::Instant::now();
                    let text = build(state, session, &models).await?;
                    tracing::info!(
                        db = %session.db,
                        models = models.len(),
                        bytes = text.len(),
                        build_ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
                        "OpenAPI document built"
                    );
                    let built = Built { models: key, text };
                    state.openapi.built.insert(&session.db, "", built)
                }
            }
        }
    };
    let text = &cached.text;
    let url = server_url(headers, peer, &state.config.passthrough.trusted_proxies);
    Ok(with_servers(text, &url))
}

/// The document's JSON text (without `servers`) from the models' `fields_get`. A model the
/// ERP does not have, or whose fields this account may not see, is left out.
async fn build(state: &AppState, session: &Session, models: &[String]) -> Result<Vec<u8>, Error> {
    let (uid, password) = state.gate.reader_credentials(&state.odoo, session).await?;
    let mut described = Vec::with_capacity(models.len());
    for chunk in models.chunks(PARALLEL_FIELDS_GET) {
        let calls = chunk
            .iter()
            .map(|model| describe(state, session, uid, password, model));
        for answer in futures_util::future::join_all(calls).await {
            described.extend(answer?);
        }
    }
    let document = document::build(env!("CARGO_PKG_VERSION"), &described);
    Ok(serde_json::to_vec(&document).expect("a JSON value always serializes"))
}

/// One model's `fields_get`; `None` when the ERP does not have the model or this account may
/// not see it.
async fn describe(
    state: &AppState,
    session: &Session,
    uid: i64,
    password: &Secret,
    model: &str,
) -> Result<Option<ModelFields>, Error> {
    let answer = state
        .odoo
        .execute_kw::<Value>(
            &session.db,
            uid,
            password,
            model,
            "fields_get",
            json!([]),
            Some(json!({ "attributes": ATTRIBUTES })),
        )
        .await;
    match answer {
        Ok(Value::Object(fields)) => Ok(Some(ModelFields {
            name: model.to_owned(),
            fields,
        })),
        Ok(_) => Err(Error::upstream(
            Operation::Read,
            UpstreamError::Unreadable("fields_get did not answer a struct".into()),
        )),
        Err(UpstreamError::Fault(OdooFault::UnknownModel(_) | OdooFault::AccessError(_))) => {
            tracing::debug!(%model, "left out of the OpenAPI document");
            Ok(None)
        }
        Err(e) => Err(Error::upstream(Operation::Read, e)),
    }
}

/// The document with `"servers"` first: `text` is a JSON object.
fn with_servers(text: &[u8], url: &str) -> Vec<u8> {
    let servers = json!([{ "url": url }]);
    let servers = serde_json::to_vec(&servers).expect("a JSON value always serializes");
    let mut out = Vec::with_capacity(text.len() + servers.len() + 16);
    out.extend_from_slice(b"{\"servers\":");
    out.extend_from_slice(&servers);
    match text.get(1..) {
        Some(rest) if rest.first() != Some(&b'}') => {
            out.push(b',');
            out.extend_from_slice(rest);
        }
        _ => out.push(b'}'),
    }
    out
}

/// The URL the client used to reach the proxy: `Host` (or `/` when it has none we can use),
/// or from a trusted proxy `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Prefix`.
pub fn server_url(headers: &HeaderMap, peer: SocketAddr, trusted: &[IpAddr]) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let forwarded = trusted.contains(&peer.ip().to_canonical());
    let from_proxy = |name: &str| if forwarded { header(name) } else { None };
    let scheme = match from_proxy("x-forwarded-proto") {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let host = from_proxy("x-forwarded-host")
        .filter(|host| is_host(host))
        .or_else(|| header("host").filter(|host| is_host(host)));
    let prefix = from_proxy("x-forwarded-prefix")
        .filter(|prefix| is_prefix(prefix))
        .map_or("", |prefix| prefix.trim_end_matches('/'));
    match host {
        Some(host) => format!("{scheme}://{host}{prefix}"),
        None if prefix.is_empty() => "/".to_owned(),
        None => prefix.to_owned(),
    }
}

/// A host name or address, with an optional port: nothing that could end the URL early.
fn is_host(host: &str) -> bool {
    host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        })
}

fn is_prefix(prefix: &str) -> bool {
    prefix.starts_with('/')
        && !prefix.starts_with("//")
        && prefix.len() <= 255
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_' | b'~'))
}

/// The document for fixed models, for tests and tools: `fields_get` answers by model.
pub fn document_for(models: Vec<(String, Map<String, Value>)>) -> Value {
    let models: Vec<ModelFields> = models
        .into_iter()
        .map(|(name, fields)| ModelFields { name, fields })
        .collect();
    document::build(env!("CARGO_PKG_VERSION"), &models)
}

/// A built document's text (without `servers`), and the enabled models it describes.
pub struct Built {
    models: String,
    text: Vec<u8>,
}

/// The built documents: one per database, for the model set it was built for.
pub struct Documents {
    built: super::TtlCache<Built>,
    building: tokio::sync::Mutex<()>,
}

impl Documents {
    /// Documents kept `ttl`, for at most `capacity` databases.
    pub fn new(ttl: std::time::Duration, capacity: usize) -> Documents {
        Documents {
            built: super::TtlCache::new(ttl, capacity),
            building: tokio::sync::Mutex::new(()),
        }
    }

    /// The document of `db` if it was built for the model set `models`.
    fn get(&self, db: &str, models: &str) -> Option<Arc<Built>> {
        self.built
            .get(db, "")
            .filter(|cached| cached.models == models)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn url(peer: &str, headers: &[(&str, &str)], trusted: &[&str]) -> String {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| t.parse().expect("an IP")).collect();
        server_url(&map, peer.parse().expect("a socket address"), &trusted)
    }

    #[test]
    fn servers_name_the_url_the_client_used() {
        let forwarded = [
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "erp.example.com"),
            ("x-forwarded-prefix", "/rest/"),
        ];
        assert_eq!(
            url("192.0.2.1:5", &[("host", "proxy:8080")], &[]),
            "http://proxy:8080"
        );
        // From a client, X-Forwarded-* are ignored; from a trusted proxy they count.
        assert_eq!(url("192.0.2.1:5", &forwarded, &[]), "http://10.0.0.5:8080");
        assert_eq!(
            url("10.0.0.1:5", &forwarded, &["10.0.0.1"]),
            "https://erp.example.com/rest"
        );
        // A host that would change the URL is not used.
        assert_eq!(url("192.0.2.1:5", &[("host", "a/b@c")], &[]), "/");
        assert_eq!(url("192.0.2.1:5", &[], &[]), "/");
    }

    #[test]
    fn servers_come_first_in_the_text() {
        let with = with_servers(br#"{"openapi":"3.1.0"}"#, "http://h");
        let value: Value = serde_json::from_slice(&with).expect("valid JSON");
        assert_eq!(
            value,
            json!({"servers": [{"url": "http://h"}], "openapi": "3.1.0"})
        );
        let empty: Value = serde_json::from_slice(&with_servers(b"{}", "/")).expect("JSON");
        assert_eq!(empty, json!({"servers": [{"url": "/"}]}));
    }
}
