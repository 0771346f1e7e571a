//! Pass-through: every request outside `/api` goes to the upstream ERP unchanged (method, path,
//! query, headers, body) and its answer comes back unchanged, both bodies streamed. Hop-by-hop
//! headers are dropped as RFC 9110 section 7.6.1 says, `X-Forwarded-*` are added, a `Location`
//! naming the upstream itself is made relative (nginx's `proxy_redirect default`), and
//! WebSocket upgrades (Odoo's `/websocket` bus) are spliced both ways. It never reads a body.
//! [`crate::pool`] owns the connections to the ERP.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use crate::config::PassthroughConfig;
use crate::error::{Error, Operation};
use crate::metrics::{Direction, Metrics};
use crate::odoo::UpstreamConfig;
use crate::odoo::UpstreamError;
use crate::plumbing::{Body, BoxError};
use crate::pool::{Pool, Streamed};

/// Forwards requests to the upstream over pooled keep-alive connections.
pub struct Passthrough {
    pool: Arc<Pool>,
    /// The upstream's `host:port`, the `Host` of a request that came without one.
    authority: HeaderValue,
    /// A path prefix of the upstream URL (usually empty).
    base_path: String,
    /// How the upstream names itself in a `Location`, lowercased: `http://<upstream
    /// authority><base path>`, and the same with the configured `Host`.
    own_urls: Vec<String>,
    config: PassthroughConfig,
    timeout: std::time::Duration,
    metrics: Arc<Metrics>,
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
        if crate::secret::has_userinfo(&upstream.url) {
            return Err(format!(
                "the upstream URL {}",
                crate::config::USERINFO_REFUSED
            ));
        }
        // Messages show the URL redacted all the same.
        let shown = crate::secret::redact_url(&upstream.url);
        let uri: Uri = upstream
            .url
            .parse()
            .map_err(|e| format!("invalid upstream URL {shown:?}: {e}"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or("the upstream URL has no scheme")?;
        let authority = uri
            .authority()
            .cloned()
            .ok_or("the upstream URL has no host")?;
        let pool = Pool::new(
            &uri,
            upstream.connect_timeout,
            upstream.max_concurrency.max(1),
        )
        .map_err(|e| format!("{e} ({shown:?})"))?;
        let base_path = uri.path().trim_end_matches('/').to_owned();
        let own_urls = std::iter::once(authority.as_str())
            .chain(config.host.as_deref())
            .map(|host| format!("{scheme}://{host}{base_path}").to_ascii_lowercase())
            .collect();
        Ok(Passthrough {
            pool: Arc::new(pool),
            authority: HeaderValue::from_str(authority.as_str())
                .map_err(|e| format!("invalid upstream URL {shown:?}: {e}"))?,
            base_path,
            own_urls,
            config,
            timeout: upstream.timeout,
            metrics: Arc::new(Metrics::new()),
        })
    }

    /// The same pass-through, counting its bytes and WebSockets in `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Passthrough {
        Passthrough { metrics, ..self }
    }

    /// Where this pass-through counts its bytes (the server counts those sent to the client).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Forwards one request; an upstream failure becomes a JSON 502 or 504.
    /// A body over `[passthrough] max_body_bytes` is a JSON 413: at once when its
    /// `Content-Length` says so, else when the bytes past the limit arrive (if the ERP has
    /// answered by then, its answer is cut off instead).
    pub async fn forward(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let limit = self.config.max_body_bytes;
        let too_large = || crate::plumbing::error_response(&Error::PayloadTooLarge(limit));
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return too_large();
        }
        let cut_off = Arc::new(AtomicBool::new(false));
        let started = std::time::Instant::now();
        let result = self.try_forward(request, peer, &cut_off).await;
        // The ERP's time to the response head, for the access log.
        crate::access::add_upstream_time(started.elapsed());
        match result {
            Ok(response) => response,
            Err(_) if cut_off.load(Ordering::Relaxed) => too_large(),
            Err(error) => crate::plumbing::error_response(&Error::upstream(Operation::Read, error)),
        }
    }

    async fn try_forward(
        &self,
        mut request: Request<Incoming>,
        peer: SocketAddr,
        cut_off: &Arc<AtomicBool>,
    ) -> Result<Response<Body>, UpstreamError> {
        let upgrade = upgrade_protocol(request.headers());
        let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut request));
        let (mut parts, body) = request.into_parts();

        // Origin form (`/path?query`), under the upstream's base path.
        if !self.base_path.is_empty() || parts.uri.scheme().is_some() {
            let path_and_query = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            parts.uri = format!("{}{path_and_query}", self.base_path)
                .parse()
                .map_err(|e| {
                    UpstreamError::Unreachable(format!("cannot build the upstream URI: {e}"))
                })?;
        }
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
        if !parts.headers.contains_key(header::HOST) {
            parts.headers.insert(header::HOST, self.authority.clone());
        }

        let cut_off = Arc::clone(cut_off);
        let to_upstream = self.metrics.passthrough_bytes(Direction::ToUpstream);
        let body = Limited::new(body, self.config.max_body_bytes)
            .map_err(move |e| {
                if e.is::<LengthLimitError>() {
                    cut_off.store(true, Ordering::Relaxed);
                }
                e
            })
            .map_frame(move |frame| {
                if let Some(data) = frame.data_ref() {
                    to_upstream.inc_by(data.len() as u64);
                }
                frame
            })
            .boxed();
        let outgoing = Request::from_parts(parts, body);
        let Some(client_upgrade) = client_upgrade else {
            let mut response = tokio::time::timeout(self.timeout, self.pool.send(outgoing))
                .await
                .map_err(|_| UpstreamError::Timeout)??;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                return Err(switched_unasked());
            }
            strip_hop_by_hop(response.headers_mut());
            self.rewrite_location(response.headers_mut());
            return Ok(response.map(Streamed::boxed));
        };

        let mut response = tokio::time::timeout(self.timeout, self.pool.send_upgrade(outgoing))
            .await
            .map_err(|_| UpstreamError::Timeout)??;
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            strip_hop_by_hop(response.headers_mut());
            self.rewrite_location(response.headers_mut());
            return Ok(response.map(|body| body.map_err(|e| -> BoxError { Box::new(e) }).boxed()));
        }
        // The client needs `Connection: upgrade` and `Upgrade` to switch too; any other
        // hop-by-hop header (say the ERP's `close`) concerns the ERP's connection only.
        let protocol = response.headers().get(header::UPGRADE).cloned();
        strip_hop_by_hop(response.headers_mut());
        if let Some(protocol) = protocol {
            let headers = response.headers_mut();
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, protocol);
        }
        let upstream_upgrade = hyper::upgrade::on(&mut response);
        let open = self.metrics.websocket_open();
        tokio::spawn(async move {
            splice(client_upgrade, upstream_upgrade).await;
            drop(open);
        });
        let (parts, _) = response.into_parts();
        Ok(Response::from_parts(
            parts,
            crate::plumbing::full(bytes::Bytes::new()),
        ))
    }

    /// A `Location` that points at the upstream's own address (or at the configured `Host`)
    /// becomes relative, so that the browser stays on the proxy; any other is left alone.
    fn rewrite_location(&self, headers: &mut HeaderMap) {
        let Some(location) = headers.get(header::LOCATION) else {
            return;
        };
        let Some(rest) = self
            .own_urls
            .iter()
            .find_map(|own| strip_own_url(location.as_bytes(), own.as_bytes()))
        else {
            return;
        };
        let relative = match rest.first() {
            Some(b'/') => HeaderValue::from_bytes(rest),
            _ => HeaderValue::from_bytes(&[b"/", rest].concat()),
        };
        if let Ok(relative) = relative {
            headers.insert(header::LOCATION, relative);
        }
    }

    /// `X-Forwarded-For`, `-Proto` and `-Host`: extended when the peer is a trusted proxy,
    /// replaced otherwise (a client cannot spoof its address).
    fn add_forwarded(&self, headers: &mut HeaderMap, peer: SocketAddr) {
        // A dual-stack listener sees IPv4 clients as `::ffff:a.b.c.d`.
        let peer_ip = peer.ip().to_canonical();
        let trusted = self.config.trusted_proxies.contains(&peer_ip);
        let peer_ip = peer_ip.to_string();
        let mut forwarded_for = Vec::new();
        if trusted {
            // Several `X-Forwarded-For` lines are one comma-separated list (RFC 9110 5.3).
            for previous in headers.get_all(&X_FORWARDED_FOR) {
                let previous = previous.as_bytes().trim_ascii();
                if !previous.is_empty() {
                    forwarded_for.extend_from_slice(previous);
                    forwarded_for.extend_from_slice(b", ");
                }
            }
        }
        forwarded_for.extend_from_slice(peer_ip.as_bytes());
        let forwarded_for = HeaderValue::from_bytes(&forwarded_for)
            .or_else(|_| HeaderValue::from_str(&peer_ip))
            .expect("an IP address is a valid header value");
        headers.insert(X_FORWARDED_FOR, forwarded_for);
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

/// What follows `own` at the start of `location` (compared without case), if `location` is
/// `own` itself or `own` followed by a path, query or fragment.
fn strip_own_url<'a>(location: &'a [u8], own: &[u8]) -> Option<&'a [u8]> {
    let head = location.get(..own.len())?;
    let rest = &location[own.len()..];
    let at_boundary = matches!(rest.first(), None | Some(b'/' | b'?' | b'#'));
    (head.eq_ignore_ascii_case(own) && at_boundary).then_some(rest)
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

fn switched_unasked() -> UpstreamError {
    UpstreamError::Unreadable("the ERP switched protocols unasked".to_owned())
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

    fn passthrough(url: &str, host: Option<&str>, trusted: &[&str]) -> Passthrough {
        let upstream = UpstreamConfig {
            url: url.to_owned(),
            connect_timeout: std::time::Duration::from_secs(1),
            timeout: std::time::Duration::from_secs(1),
            max_concurrency: 4,
            max_response_bytes: 1 << 20,
            ..crate::config::Config::default().upstream
        };
        let config = PassthroughConfig {
            enabled: true,
            trusted_proxies: trusted.iter().map(|ip| ip.parse().unwrap()).collect(),
            host: host.map(str::to_owned),
            max_body_bytes: 1 << 20,
        };
        Passthrough::new(&upstream, config).unwrap()
    }

    #[test]
    fn locations_naming_the_upstream_become_relative() {
        let proxy = passthrough("http://127.0.0.1:8069", Some("erp.internal"), &[]);
        for (location, expected) in [
            ("http://127.0.0.1:8069/odoo", "/odoo"),
            (
                "HTTP://127.0.0.1:8069/web?redirect=%2F#x",
                "/web?redirect=%2F#x",
            ),
            ("http://127.0.0.1:8069", "/"),
            ("http://127.0.0.1:8069?a=1", "/?a=1"),
            ("http://erp.internal/odoo", "/odoo"),
            ("http://Erp.Internal/odoo", "/odoo"),
            // Not the upstream: a longer port, another host, another scheme, relative.
            ("http://127.0.0.1:80690/odoo", "http://127.0.0.1:80690/odoo"),
            ("http://erp.internal.evil/x", "http://erp.internal.evil/x"),
            ("https://127.0.0.1:8069/odoo", "https://127.0.0.1:8069/odoo"),
            ("/web/login", "/web/login"),
            ("http://example.com/", "http://example.com/"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::LOCATION, location.parse().unwrap());
            proxy.rewrite_location(&mut headers);
            assert_eq!(headers[header::LOCATION], expected, "{location}");
        }
    }

    #[test]
    fn a_base_path_is_part_of_the_upstream_url() {
        let proxy = passthrough("http://10.0.0.5:8069/erp/", None, &[]);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LOCATION,
            "http://10.0.0.5:8069/erp/odoo".parse().unwrap(),
        );
        proxy.rewrite_location(&mut headers);
        assert_eq!(headers[header::LOCATION], "/odoo");
        headers.insert(
            header::LOCATION,
            "http://10.0.0.5:8069/other".parse().unwrap(),
        );
        proxy.rewrite_location(&mut headers);
        assert_eq!(headers[header::LOCATION], "http://10.0.0.5:8069/other");
    }

    fn forwarded(proxy: &Passthrough, peer: &str, incoming: &[(&str, &str)]) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for (name, value) in incoming {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        proxy.add_forwarded(&mut headers, peer.parse().unwrap());
        let mut lines: Vec<String> = headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn forwarded_headers_are_replaced_for_clients_and_extended_for_trusted_proxies() {
        let proxy = passthrough("http://127.0.0.1:8069", None, &["10.0.0.1"]);
        let spoofed = [
            ("host", "shop.example"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "5.6.7.8"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "for=1.2.3.4"),
        ];
        assert_eq!(
            forwarded(&proxy, "192.0.2.7:5000", &spoofed),
            [
                "host: shop.example",
                "x-forwarded-for: 192.0.2.7",
                "x-forwarded-host: shop.example",
                "x-forwarded-proto: http",
            ]
        );
        assert_eq!(
            forwarded(&proxy, "[::ffff:10.0.0.1]:5000", &spoofed),
            [
                "forwarded: for=1.2.3.4",
                "host: shop.example",
                "x-forwarded-for: 1.2.3.4, 5.6.7.8, 10.0.0.1",
                "x-forwarded-host: evil.example",
                "x-forwarded-proto: https",
            ]
        );
        assert_eq!(
            forwarded(&proxy, "10.0.0.1:5000", &[]),
            ["x-forwarded-for: 10.0.0.1", "x-forwarded-proto: http"]
        );
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
