//! The REST surface under `/api`: routing, token check, model gate, and the JSON answers.
//! Each handler returns a JSON value or an [`Error`]; this module turns both into responses.

mod auth;
mod cache;
pub mod coerce;
mod gate;
mod limiter;
pub mod openapi;
mod records;
pub mod request;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::cors::Cors;
use crate::error::Error;
use crate::metrics::{LoginOutcome, Metrics};
use crate::odoo::OdooClient;
use crate::passthrough::Passthrough;
use crate::plumbing::{error_response, json_response, Body};
use crate::tokens::{TokenLimits, TokenStore};

pub use cache::TtlCache;
pub use gate::Gate;
pub use limiter::LoginLimiter;
pub use records::{parse_id, search_read_arguments};

/// What every request handler shares.
pub struct AppState {
    pub config: Config,
    pub odoo: OdooClient,
    pub tokens: Arc<TokenStore>,
    pub gate: Arc<Gate>,
    /// `fields_get` per (database, model), for coercing form values.
    pub fields: Arc<TtlCache<Map<String, Value>>>,
    /// Where requests outside `/api` go; `None` when pass-through is off.
    pub passthrough: Option<Passthrough>,
    /// Failed logins per client address and per login.
    pub logins: Arc<LoginLimiter>,
    /// Open client connections, capped by `[limits] max_connections` across all threads.
    pub connections: Arc<tokio::sync::Semaphore>,
    /// Built OpenAPI documents per (database, enabled-model set).
    pub openapi: Arc<openapi::Documents>,
    /// Every metric, shared by all threads.
    pub metrics: Arc<Metrics>,
    pub cors: Cors,
}

impl AppState {
    /// The state for `config`. With the Redis token store, the connection is opened on first
    /// use, on the runtime of that use (the thread that serves with this state).
    pub fn new(config: Config) -> Result<AppState, String> {
        let metrics = Arc::new(Metrics::new());
        let tokens = Arc::new(TokenStore::new(
            TokenLimits {
                ttl: config.tokens.ttl,
                max_tokens: config.tokens.max_tokens,
                max_per_user: config.tokens.max_per_user,
            },
            &config.tokens.store,
        )?);
        Ok(AppState {
            odoo: OdooClient::new(&config.upstream)?.with_metrics(Arc::clone(&metrics)),
            passthrough: passthrough(&config, &metrics)?,
            cors: Cors::new(&config.cors),
            metrics,
            tokens: Arc::clone(&tokens),
            logins: Arc::new(match tokens.redis_link() {
                Some(link) => LoginLimiter::shared(
                    config.limits.login_attempts,
                    config.limits.login_window,
                    Arc::clone(link),
                ),
                None => LoginLimiter::new(config.limits.login_attempts, config.limits.login_window),
            }),
            gate: Arc::new(Gate::new(config.gate.clone())),
            fields: Arc::new(TtlCache::new(
                config.gate.cache_ttl,
                config.gate.cache_max_entries,
            )),
            connections: Arc::new(tokio::sync::Semaphore::new(config.limits.max_connections)),
            openapi: Arc::new(openapi::Documents::new(
                config.gate.cache_ttl,
                config.gate.cache_max_entries,
            )),
            config,
        })
    }

    /// The state for another thread's runtime: the same tokens, caches, limiter and metrics,
    /// with upstream connection pools and a Redis connection of its own (a connection belongs
    /// to the runtime that opened it).
    pub fn for_another_thread(&self) -> Result<AppState, String> {
        let tokens = Arc::new(self.tokens.for_another_thread());
        let logins = match tokens.redis_link() {
            Some(link) => Arc::new(LoginLimiter::shared(
                self.config.limits.login_attempts,
                self.config.limits.login_window,
                Arc::clone(link),
            )),
            None => Arc::clone(&self.logins),
        };
        Ok(AppState {
            odoo: self.odoo.with_own_pool(&self.config.upstream)?,
            passthrough: passthrough(&self.config, &self.metrics)?,
            metrics: Arc::clone(&self.metrics),
            cors: self.cors.clone(),
            tokens,
            logins,
            gate: Arc::clone(&self.gate),
            fields: Arc::clone(&self.fields),
            connections: Arc::clone(&self.connections),
            openapi: Arc::clone(&self.openapi),
            config: self.config.clone(),
        })
    }
}

/// Pass-through with a connection pool of its own, or `None` when it is off.
fn passthrough(config: &Config, metrics: &Arc<Metrics>) -> Result<Option<Passthrough>, String> {
    config
        .passthrough
        .enabled
        .then(|| {
            Passthrough::new(&config.upstream, config.passthrough.clone())
                .map(|p| p.with_metrics(Arc::clone(metrics)))
        })
        .transpose()
}

/// Serves one request whose path starts with `/api/`, from the TCP peer `peer`.
pub async fn handle<B>(state: &AppState, request: Request<B>, peer: SocketAddr) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if state.config.openapi.enabled && matches!(path.as_str(), "/api/docs" | "/api/docs/") {
        return match method {
            Method::GET | Method::HEAD => openapi::page(&state.config.openapi.ui_assets_url),
            _ => error_response(&Error::MethodNotAllowed(method.to_string())),
        };
    }
    let is_login = path.trim_end_matches('/') == "/api/auth/get_tokens";
    let result = route(state, request, peer).await;
    if is_login {
        state.metrics.login(match &result {
            Ok(_) => LoginOutcome::Ok,
            Err(Error::EmptyLogin | Error::LoginFailed | Error::InvalidDatabase) => {
                LoginOutcome::Denied
            }
            Err(Error::TooManyAttempts(_)) => LoginOutcome::RateLimited,
            Err(_) => LoginOutcome::Error,
        });
    }
    match result {
        Ok(reply) => {
            let body = match reply {
                Reply::Value(value) => {
                    serde_json::to_vec(&value).expect("a JSON value always serializes")
                }
                Reply::Json(text) => text,
            };
            let mut response = json_response(StatusCode::OK, body);
            if is_login {
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            }
            response
        }
        Err(error) => {
            let status = error.status();
            if status.is_server_error() {
                tracing::warn!(%method, %path, %status, error = %error.description(), "request failed");
            } else {
                tracing::debug!(%method, %path, %status, error = %error.description(), "request refused");
            }
            error_response(&error)
        }
    }
}

/// A successful answer: a value to serialize, or JSON text written already (the rows of a
/// `search_read`, transcoded straight from the XML-RPC answer).
pub enum Reply {
    Value(Value),
    Json(Vec<u8>),
}

async fn route<B>(state: &AppState, request: Request<B>, peer: SocketAddr) -> Result<Reply, Error>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let rest = path.strip_prefix("/api/").unwrap_or("");
    // Flectra's routes take a trailing slash on every path (`/api/res.partner/15/`).
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let max_body = state.config.limits.max_body_bytes;
    // A body that stops arriving is bounded like an idle connection.
    let body_timeout = state.config.limits.idle_timeout;
    let (query, headers) = (parts.uri.query(), &parts.headers);
    let read = || async move {
        let reading = request::read_params(query, headers, body, max_body);
        match tokio::time::timeout(body_timeout, reading).await {
            Ok(params) => params,
            Err(_) => Err(Error::BodyTimeout(body_timeout.as_secs().max(1))),
        }
    };

    match rest {
        "auth/get_tokens" | "auth/delete_tokens" if parts.method != Method::POST => {
            // Flectra serves these under `/api/<model>/<id>`, which wants a token first.
            if request::access_token(&parts.headers).is_none() {
                return Err(Error::TokenMissing);
            }
            Err(Error::MethodNotAllowed(parts.method.to_string()))
        }
        "auth/get_tokens" => {
            if !state.config.limits.allow_query_credentials {
                auth::refuse_query_credentials(query)?;
            }
            let client = client_address(
                peer,
                &parts.headers,
                &state.config.passthrough.trusted_proxies,
            );
            // Boxed: a login's future (about 9 KiB, its parallel ERP calls) would otherwise
            // set the size, and the copies, of every REST call's future.
            Box::pin(auth::get_tokens(state, &read().await?, client))
                .await
                .map(Reply::Value)
        }
        "auth/delete_tokens" => auth::delete_tokens(state, &parts.headers)
            .await
            .map(Reply::Value),
        "openapi.json" | "openapi.json/" if state.config.openapi.enabled => {
            if parts.method != Method::GET {
                return Err(Error::MethodNotAllowed(parts.method.to_string()));
            }
            let (_, session) = session_of(state, &parts.headers).await?;
            openapi::document(state, &session, &parts.headers, peer)
                .await
                .map(Reply::Json)
        }
        _ => {
            let (model, id) = match rest.split_once('/') {
                Some((model, id)) if !id.contains('/') => (model, Some(id)),
                Some(_) => return Err(Error::RouteNotFound(path.to_owned())),
                None => (rest, None),
            };
            if !matches!(
                parts.method,
                Method::GET | Method::POST | Method::PUT | Method::DELETE
            ) {
                return Err(Error::MethodNotAllowed(parts.method.to_string()));
            }
            let (token, session) = session_of(state, &parts.headers).await?;
            if !is_model_name(model) {
                return Err(Error::ModelNotFound(model.to_owned()));
            }
            let params = read().await?;
            let served = async {
                state.gate.check(&state.odoo, &session, model).await?;
                records::handle(
                    state,
                    &session,
                    &parts.method,
                    model,
                    id.filter(|id| !id.is_empty()),
                    params,
                )
                .await
            };
            match served.await {
                Ok(reply) => Ok(reply),
                Err(error) => Err(revoked_key(state, &session, token, error).await),
            }
        }
    }
}

/// The client's address: the TCP peer, or when the peer is a trusted proxy, the last address
/// in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|hop| hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()));
    let mut client = peer;
    for hop in forwarded.rev() {
        match hop {
            Ok(ip) if trusted.contains(&ip) => client = ip,
            Ok(ip) => return ip,
            // An unreadable hop: stop at the last address known to be real.
            Err(_) => return client,
        }
    }
    client
}

/// The caller's token and session, from one of the token headers; the access log learns who
/// it is.
async fn session_of<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
) -> Result<(&'h str, Arc<crate::tokens::Session>), Error> {
    let token = request::access_token(headers).ok_or(Error::TokenMissing)?;
    let session = state
        .tokens
        .lookup(token)
        .await?
        .ok_or(Error::TokenInvalid)?;
    crate::access::set_user(&session.db, session.uid);
    Ok((token, session))
}

/// Over JSON-2 a 401 on a call means the API key was revoked or expired: the token goes too.
async fn revoked_key(
    state: &AppState,
    session: &crate::tokens::Session,
    token: &str,
    error: Error,
) -> Error {
    match error {
        Error::Upstream {
            error: crate::odoo::UpstreamError::Fault(crate::odoo::OdooFault::AccessDenied),
            ..
        } if session.protocol == crate::odoo::Protocol::Json2 => {
            // The store may be unreachable: the client is told the token is invalid all the
            // same, and the token expires by itself.
            let _ = state.tokens.revoke(token).await;
            Error::TokenInvalid
        }
        other => other,
    }
}

/// Odoo model names: lowercase words joined by dots (`res.partner`, `x_custom.model`).
fn is_model_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(peer: &str, forwarded: &[&str], trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| t.parse().expect("an IP")).collect();
        let peer: SocketAddr = peer.parse().expect("a socket address");
        client_address(peer, &headers, &trusted).to_string()
    }

    #[test]
    fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxy = ["10.0.0.1"];
        assert_eq!(client("192.0.2.9:1", &["198.51.100.1"], &[]), "192.0.2.9");
        assert_eq!(
            client("10.0.0.1:1", &["198.51.100.1"], &proxy),
            "198.51.100.1"
        );
        // A client cannot pick its address by prepending one: the last untrusted hop counts.
        assert_eq!(
            client("10.0.0.1:1", &["1.2.3.4, 198.51.100.1"], &proxy),
            "198.51.100.1"
        );
        assert_eq!(
            client(
                "10.0.0.1:1",
                &["1.2.3.4", "198.51.100.1, 10.0.0.2"],
                &["10.0.0.1", "10.0.0.2"]
            ),
            "198.51.100.1"
        );
        assert_eq!(client("10.0.0.1:1", &["junk"], &proxy), "10.0.0.1");
        assert_eq!(client("10.0.0.1:1", &[], &proxy), "10.0.0.1");
        assert_eq!(
            client("[::ffff:10.0.0.1]:1", &["198.51.100.1"], &proxy),
            "198.51.100.1"
        );
    }
}
