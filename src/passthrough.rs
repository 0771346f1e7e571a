//! Pass-through: every request outside `/api` goes to the upstream ERP unchanged (method, path,
//! query, headers, body) and its answer comes back unchanged, both bodies streamed. Hop-by-hop
//! headers are dropped as RFC 9110 section 7.6.1 says, `X-Forwarded-*` are added, and
//! WebSocket upgrades (Odoo's `/websocket` bus) are spliced both ways. It never reads a body.

use std::net::SocketAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::config::PassthroughConfig;
use crate::error::{Error, Operation};
use crate::odoo::UpstreamConfig;
use crate::odoo::UpstreamError;
use crate::server::{Body, BoxError};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// Forwards requests to the upstream over pooled keep-alive connections.
pub struct Passthrough {
    client: Client<Connector, Body>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// A path prefix of the upstream URL (usually empty).
    base_path: String,
    config: PassthroughConfig,
    timeout: std::time::Duration,
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

impl Passthrough {
    pub fn new(
        upstream: &UpstreamConfig,
        config: PassthroughConfig,
    ) -> Result<Passthrough, String> {
        let uri: Uri = upstream
            .url
            .parse()
            .map_err(|e| format!("invalid upstream URL {:?}: {e}", upstream.url))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or("the upstream URL has no scheme")?;
        let authority = uri
            .authority()
            .cloned()
            .ok_or("the upstream URL has no host")?;
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(upstream.connect_timeout));
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .pool_max_idle_per_host(upstream.max_concurrency.max(1))
            .build(connector);
        Ok(Passthrough {
            client,
            scheme,
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            config,
            timeout: upstream.timeout,
        })
    }

    /// Forwards one request; an upstream failure becomes a JSON 502 or 504.
    pub async fn forward(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        match self.try_forward(request, peer).await {
            Ok(response) => response,
            Err(error) => crate::api::error_response(&Error::upstream(Operation::Read, error)),
        }
    }

    async fn try_forward(
        &self,
        mut request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Result<Response<Body>, UpstreamError> {
        let upgrade = upgrade_protocol(request.headers());
        let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut request));
        let (mut parts, body) = request.into_parts();

        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        parts.uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{path_and_query}", self.base_path))
            .build()
            .map_err(|e| {
                UpstreamError::Unreachable(format!("cannot build the upstream URI: {e}"))
            })?;
        parts.version = http::Version::HTTP_11;
        strip_hop_by_hop(&mut parts.headers);
        if let Some(protocol) = &upgrade {
            parts
                .headers
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            parts.headers.insert(header::UPGRADE, protocol.clone());
        }
        self.add_forwarded(&mut parts.headers, peer);
        if let Some(host) = &self.config.host {
            if let Ok(host) = HeaderValue::from_str(host) {
                parts.headers.insert(header::HOST, host);
            }
        }

        let body = body.map_err(|e| -> BoxError { Box::new(e) }).boxed();
        let outgoing = Request::from_parts(parts, body);
        let mut response =
            match tokio::time::timeout(self.timeout, self.client.request(outgoing)).await {
                Ok(Ok(response)) => response,
                Ok(Err(error)) => return Err(client_error(&error)),
                Err(_) => return Err(UpstreamError::Timeout),
            };

        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_upgrade) = client_upgrade {
                let upstream_upgrade = hyper::upgrade::on(&mut response);
                tokio::spawn(splice(client_upgrade, upstream_upgrade));
                let (parts, _) = response.into_parts();
                return Ok(Response::from_parts(
                    parts,
                    crate::server::full(bytes::Bytes::new()),
                ));
            }
        }
        strip_hop_by_hop(response.headers_mut());
        Ok(response.map(|body| body.map_err(|e| -> BoxError { Box::new(e) }).boxed()))
    }

    /// `X-Forwarded-For`, `-Proto` and `-Host`: extended when the peer is a trusted proxy,
    /// replaced otherwise (a client cannot spoof its address).
    fn add_forwarded(&self, headers: &mut HeaderMap, peer: SocketAddr) {
        let trusted = self.config.trusted_proxies.contains(&peer.ip());
        let peer_ip = peer.ip().to_string();
        let forwarded_for = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(previous) if trusted && !previous.trim().is_empty() => {
                format!("{previous}, {peer_ip}")
            }
            _ => peer_ip,
        };
        if let Ok(value) = HeaderValue::from_str(&forwarded_for) {
            headers.insert(X_FORWARDED_FOR, value);
        }
        if !(trusted && headers.contains_key(&X_FORWARDED_PROTO)) {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        }
        if !(trusted && headers.contains_key(&X_FORWARDED_HOST)) {
            match headers.get(header::HOST).cloned() {
                Some(host) => headers.insert(X_FORWARDED_HOST, host),
                None => headers.remove(&X_FORWARDED_HOST),
            };
        }
        if !trusted {
            headers.remove(header::FORWARDED);
        }
    }
}

/// The protocol of an upgrade request (`Connection: upgrade` + `Upgrade: websocket`).
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let wants_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    wants_upgrade
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// Drops the hop-by-hop headers: those RFC 9110 names, and those the `Connection` header lists.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        KEEP_ALIVE,
        PROXY_CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// Copies bytes both ways between the client's and the upstream's upgraded connections.
async fn splice(client: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(pair) => pair,
        Err(error) => {
            tracing::debug!(%error, "upgrade failed");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut upstream = TokioIo::new(upstream);
    if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        tracing::debug!(%error, "upgraded connection ended with an error");
    }
}

fn client_error(error: &hyper_util::client::legacy::Error) -> UpstreamError {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if error.is_connect() {
        UpstreamError::Unreachable(cause.to_string())
    } else {
        UpstreamError::Unreadable(format!("the ERP broke off: {cause}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_and_end_to_end_ones_stay() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            "keep-alive, x-secret-hop".parse().unwrap(),
        );
        headers.insert("x-secret-hop", "1".parse().unwrap());
        headers.insert(KEEP_ALIVE, "timeout=5".parse().unwrap());
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        headers.insert(header::COOKIE, "session_id=abc".parse().unwrap());
        headers.insert(header::CONTENT_TYPE, "text/html".parse().unwrap());
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-type", "cookie"]);
    }

    #[test]
    fn upgrade_needs_both_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, "websocket".parse().unwrap());
        assert_eq!(upgrade_protocol(&headers), None);
        headers.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        assert_eq!(upgrade_protocol(&headers).unwrap(), "websocket");
    }
}
