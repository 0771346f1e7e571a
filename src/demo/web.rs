//! The demo ERP's few non-RPC routes, so that pass-through can be tested and benchmarked
//! against it: a login page that sets a session cookie and redirects (as Odoo's `/web/login`
//! does), a page behind that cookie, a large download, an upload echo, a request echo and a
//! WebSocket echo at `/websocket`. Bodies are streamed, never buffered whole; it keeps no state.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use futures_util::stream;
use http::{header, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::plumbing::{full, Body, BoxError};

/// The session cookie value that `/web/login` hands out for the demo admin.
pub const DEMO_SESSION: &str = "demo-session-2f1c";
/// The chunk size of `/web/content/download`.
const CHUNK: usize = 64 * 1024;
/// `/web/content/download` without `?size=`: 8 MiB.
const DEFAULT_DOWNLOAD: u64 = 8 << 20;
/// The largest `/web/content/download`: 4 GiB.
const MAX_DOWNLOAD: u64 = 4 << 30;
/// The largest WebSocket message the echo accepts; a larger one ends the connection.
const MAX_MESSAGE: u64 = 1 << 20;
/// The largest form `/web/login` reads, and the largest body `/web/echo` counts.
const MAX_FORM: usize = 64 * 1024;

const HOP_HEADER: HeaderName = HeaderName::from_static("x-upstream-hop");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// The non-RPC routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    LoginPage,
    Login,
    Home,
    Download,
    UploadEcho,
    Echo,
    WebSocket,
}

fn route(method: &Method, path: &str) -> Option<Route> {
    let route = match (method, path) {
        (&Method::GET, "/web/login") => Route::LoginPage,
        (&Method::POST, "/web/login") => Route::Login,
        (&Method::GET, "/odoo") => Route::Home,
        (&Method::GET | &Method::HEAD, "/web/content/download") => Route::Download,
        (&Method::POST | &Method::PUT, "/web/upload_echo") => Route::UploadEcho,
        (_, "/web/echo") => Route::Echo,
        (&Method::GET, "/websocket") => Route::WebSocket,
        _ => return None,
    };
    Some(route)
}

/// Serves a non-RPC route, or hands the request to `rpc` (the XML-RPC side) when the method
/// and path are not one of them. Without `keep_alive`, answers say `Connection: close`, as
/// Odoo's do.
pub(crate) async fn serve_or<F, Fut>(
    request: Request<Incoming>,
    keep_alive: bool,
    rpc: F,
) -> Result<Response<Body>, Infallible>
where
    F: FnOnce(Request<Incoming>) -> Fut,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>>,
{
    let Some(route) = route(request.method(), request.uri().path()) else {
        let response = rpc(request).await?;
        return Ok(response.map(|body| body.map_err(|never| match never {}).boxed()));
    };
    let mut response = match route {
        Route::LoginPage => page(StatusCode::OK, LOGIN_FORM),
        Route::Login => login(request).await,
        Route::Home => home(&request),
        Route::Download => download(&request),
        Route::UploadEcho => upload_echo(request),
        Route::Echo => echo(request).await,
        Route::WebSocket => websocket(request),
    };
    if !keep_alive && response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let headers = response.headers_mut();
        let connection = match headers.get(header::CONNECTION) {
            Some(listed) => format!("close, {}", listed.to_str().unwrap_or_default()),
            None => "close".to_owned(),
        };
        let connection =
            HeaderValue::from_str(&connection).unwrap_or(HeaderValue::from_static("close"));
        headers.insert(header::CONNECTION, connection);
    }
    Ok(response)
}

const LOGIN_FORM: &str = "<form method=\"post\" action=\"/web/login\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"demo-csrf\"/>\
<input name=\"login\"/><input name=\"password\" type=\"password\"/>\
<button type=\"submit\">Log in</button></form>";

fn page(status: StatusCode, html: &str) -> Response<Body> {
    let html = format!("<!DOCTYPE html><html><body>{html}</body></html>");
    let length = html.len();
    let mut response = Response::new(full(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

fn redirect(location: HeaderValue) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    response
}

/// `POST /web/login` with the demo admin's login and password: two cookies and a 303 to
/// `/odoo`. The `Location` is absolute, built from the `Host` the request came with, as
/// Werkzeug before 2.1 (Odoo up to 15) writes it; a wrong password gets the form again.
async fn login(request: Request<Incoming>) -> Response<Body> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let Ok(body) = Limited::new(request.into_body(), MAX_FORM).collect().await else {
        return page(StatusCode::BAD_REQUEST, "<p>Bad Request</p>");
    };
    let body = body.to_bytes();
    let mut login = None;
    let mut password = None;
    for (name, value) in form_urlencoded::parse(&body) {
        match &*name {
            "login" => login = Some(value),
            "password" => password = Some(value),
            _ => {}
        }
    }
    if login.as_deref() != Some(super::DEMO_LOGIN)
        || password.as_deref() != Some(super::DEMO_PASSWORD)
    {
        let alert = format!("<p class=\"alert\">Wrong login/password</p>{LOGIN_FORM}");
        return page(StatusCode::OK, &alert);
    }
    let location = HeaderValue::from_str(&format!("http://{host}/odoo"))
        .unwrap_or(HeaderValue::from_static("/odoo"));
    let mut response = redirect(location);
    let headers = response.headers_mut();
    let session = format!("session_id={DEMO_SESSION}; Path=/; HttpOnly; SameSite=Lax");
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_str(&session).expect("the session cookie is a constant"),
    );
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_static("frontend_lang=en_US; Path=/"),
    );
    response
}

/// `GET /odoo`: the web client's home page with the session cookie, else a relative 303 to
/// the login page.
fn home(request: &Request<Incoming>) -> Response<Body> {
    let logged_in = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|cookies| cookies.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == "session_id" && value == DEMO_SESSION);
    if logged_in {
        page(
            StatusCode::OK,
            "<h1>Discuss</h1><p>Logged in as Mitchell Admin</p>",
        )
    } else {
        redirect(HeaderValue::from_static("/web/login?redirect=%2Fodoo"))
    }
}

/// `GET /web/content/download?size=N`: N bytes (default 8 MiB, at most 4 GiB) streamed in
/// 64 KiB chunks; byte i is `i % 251`, so a test can check every byte.
fn download(request: &Request<Incoming>) -> Response<Body> {
    let size = request
        .uri()
        .query()
        .and_then(|query| form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "size"))
        .and_then(|(_, size)| size.parse::<u64>().ok())
        .unwrap_or(DEFAULT_DOWNLOAD)
        .min(MAX_DOWNLOAD);
    // One period-aligned pattern, sliced for every chunk: no per-chunk work but a refcount.
    let pattern: Bytes = (0..CHUNK + 251).map(|i| (i % 251) as u8).collect();
    let chunk = CHUNK as u64;
    let chunks = (0..size.div_ceil(chunk)).map(move |index| {
        let start = index * chunk;
        let length = (size - start).min(chunk) as usize;
        let offset = (start % 251) as usize;
        Ok::<_, BoxError>(Frame::data(pattern.slice(offset..offset + length)))
    });
    let mut response = Response::new(StreamBody::new(stream::iter(chunks)).boxed());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"download.bin\""),
    );
    response
}

/// `POST|PUT /web/upload_echo`: the request body streamed straight back with its content type
/// and length; `X-Echo-Framing` says whether it came chunked or with a `Content-Length`.
fn upload_echo(request: Request<Incoming>) -> Response<Body> {
    let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
    let length = request.headers().get(header::CONTENT_LENGTH).cloned();
    let framing = match &length {
        Some(_) => "length",
        None if request.headers().contains_key(header::TRANSFER_ENCODING) => "chunked",
        None => "none",
    };
    let body = request
        .into_body()
        .map_err(|error| -> BoxError { Box::new(error) })
        .boxed();
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if let Some(content_type) = content_type {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, length);
    }
    headers.insert("x-echo-framing", HeaderValue::from_static(framing));
    response
}

/// Any method on `/web/echo`: a text description of the request as received (request line,
/// then every header, then the body's length), answered with hop-by-hop headers of its own
/// (`Connection: X-Upstream-Hop`, `X-Upstream-Hop`, `Keep-Alive`) next to an end-to-end one.
async fn echo(request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|target| target.as_str())
        .unwrap_or("/");
    let mut text = format!("{} {target}\n", parts.method);
    for (name, value) in &parts.headers {
        text.push_str(name.as_str());
        text.push_str(": ");
        text.push_str(&String::from_utf8_lossy(value.as_bytes()));
        text.push('\n');
    }
    match Limited::new(body, MAX_FORM).collect().await {
        Ok(body) => text.push_str(&format!("body: {}\n", body.to_bytes().len())),
        Err(_) => text.push_str("body: too large\n"),
    }
    let length = text.len();
    let mut response = Response::new(full(text));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        header::CONNECTION,
        HeaderValue::from_static("X-Upstream-Hop"),
    );
    headers.insert(HOP_HEADER, HeaderValue::from_static("1"));
    headers.insert(KEEP_ALIVE, HeaderValue::from_static("timeout=5"));
    headers.insert("x-end-to-end", HeaderValue::from_static("1"));
    response
}

/// `GET /websocket`: a WebSocket (RFC 6455) that echoes every message and answers pings.
fn websocket(mut request: Request<Incoming>) -> Response<Body> {
    let is_upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|upgrade| upgrade.to_str().ok())
        .is_some_and(|upgrade| upgrade.eq_ignore_ascii_case("websocket"));
    let key = request.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let Some(key) = key.filter(|_| is_upgrade) else {
        return page(
            StatusCode::BAD_REQUEST,
            "<p>expected a WebSocket upgrade</p>",
        );
    };
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                if let Err(error) = echo_frames(TokioIo::new(upgraded)).await {
                    tracing::debug!(%error, "demo WebSocket ended");
                }
            }
            Err(error) => tracing::debug!(%error, "demo WebSocket upgrade failed"),
        }
    });
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept = websocket_accept(key.as_bytes());
    headers.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is always a valid header value"),
    );
    response
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 section 4.2.2).
pub fn websocket_accept(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64(&sha.finalize())
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let group = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    ALPHABET[((group >> (18 - 6 * i)) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reads client frames (masked or not) and sends each one back unmasked with the same opcode:
/// a ping gets a pong, a close is echoed and ends the connection. A frame larger than
/// [`MAX_MESSAGE`] ends it too.
async fn echo_frames<S>(mut io: S) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let mut head = [0u8; 2];
        io.read_exact(&mut head).await?;
        let opcode = head[0] & 0x0f;
        let masked = head[1] & 0x80 != 0;
        let length = match head[1] & 0x7f {
            126 => u64::from(io.read_u16().await?),
            127 => io.read_u64().await?,
            short => u64::from(short),
        };
        if length > MAX_MESSAGE {
            return Ok(());
        }
        let mut mask = [0u8; 4];
        if masked {
            io.read_exact(&mut mask).await?;
        }
        let mut payload = vec![0u8; length as usize];
        io.read_exact(&mut payload).await?;
        if masked {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= mask[i % 4];
            }
        }
        let answer = match opcode {
            0x9 => 0xA,
            other => other,
        };
        let mut frame = vec![(head[0] & 0x80) | answer];
        match payload.len() {
            n if n < 126 => frame.push(n as u8),
            n if n <= usize::from(u16::MAX) => {
                frame.push(126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&payload);
        io.write_all(&frame).await?;
        if opcode == 0x8 {
            return io.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_accept_matches_rfc_6455() {
        assert_eq!(
            websocket_accept(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn base64_pads_like_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn only_the_web_routes_are_taken() {
        assert_eq!(route(&Method::GET, "/web/login"), Some(Route::LoginPage));
        assert_eq!(route(&Method::POST, "/web/login"), Some(Route::Login));
        assert_eq!(
            route(&Method::HEAD, "/web/content/download"),
            Some(Route::Download)
        );
        assert_eq!(route(&Method::PATCH, "/web/echo"), Some(Route::Echo));
        assert_eq!(route(&Method::POST, "/xmlrpc/2/common"), None);
        assert_eq!(route(&Method::POST, "/websocket"), None);
        assert_eq!(route(&Method::GET, "/web/login/"), None);
    }
}
