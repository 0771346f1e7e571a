//! Pass-through over real HTTP: the demo ERP's web routes (login page, login redirect with
//! cookies, the page behind the cookie, a 32 MiB download, upload echoes, a request echo, the
//! WebSocket echo) and XML-RPC reached through the proxy, compared byte for byte with what the
//! ERP answers directly; `X-Forwarded-*`, hop-by-hop headers, `Host` and `Location` rewriting,
//! connection reuse, the off switch and an unreachable ERP.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use odoo_rest_proxy::config::Config;
use odoo_rest_proxy::demo::{self, DemoConfig, DemoErp, DEMO_LOGIN, DEMO_PASSWORD};
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use crate::support::{self, Stack};

const LIMIT: Duration = Duration::from_secs(20);

async fn erp(keep_alive: bool) -> DemoErp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the demo ERP");
    demo::spawn(
        listener,
        DemoConfig {
            keep_alive,
            ..DemoConfig::default()
        },
    )
    .await
    .expect("the demo ERP starts")
}

/// A demo ERP (keep-alive or not) and a proxy in front of it, reached at `upstream` (the ERP
/// itself or a relay in front of it); `adjust` may change the config.
async fn stack(erp: DemoErp, upstream: SocketAddr, adjust: impl FnOnce(&mut Config)) -> Stack {
    let mut config = Config::default();
    config.upstream.url = format!("http://{upstream}");
    adjust(&mut config);
    support::start_proxy(erp, config).await
}

async fn start() -> Stack {
    let erp = erp(false).await;
    let addr = erp.addr();
    stack(erp, addr, |_| {}).await
}

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(LIMIT)
        .build()
        .expect("a reqwest client")
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn get(request: reqwest::RequestBuilder) -> Got {
    let response = request.send().await.expect("an answer");
    Got {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("a whole body"),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .map(|value| value.to_str().expect("an ASCII header"))
        .collect()
}

/// The headers a response has, without `Date` (which may tick between two answers) and
/// `Connection` (hop-by-hop: the ERP's `close` stays between the ERP and the proxy).
fn end_to_end(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = headers
        .iter()
        // The proxy adds its own X-Request-Id (tests/it/ops.rs checks it).
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "connection" | "x-request-id"))
        .map(|(name, value)| {
            let value = value.to_str().expect("an ASCII header");
            (name.to_string(), value.to_owned())
        })
        .collect();
    lines.sort();
    lines
}

/// The `/web/echo` description: the request line, then `name: value` lines.
fn echoed(body: &[u8]) -> (String, Vec<(String, String)>) {
    let text = std::str::from_utf8(body).expect("the echo is text");
    let mut lines = text.lines();
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    (request_line, headers)
}

fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

/// A TCP relay in front of the ERP that counts the connections it accepted.
struct Relay {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

async fn relay(target: SocketAddr) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the relay");
    let addr = listener.local_addr().expect("a bound address");
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut upstream) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    Relay { addr, connections }
}

/// The download pattern: byte i is `i % 251`.
fn pattern(range: std::ops::Range<u64>) -> Vec<u8> {
    range.map(|i| (i % 251) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// Pages, XML-RPC, cookies and redirects

#[tokio::test]
async fn a_page_comes_back_as_the_erp_sent_it() {
    let stack = start().await;
    let http = client();
    let direct = get(http.get(format!("{}/web/login", stack.erp.url()))).await;
    let proxied = get(http.get(stack.url("/web/login"))).await;
    assert_eq!(proxied.status, StatusCode::OK);
    assert_eq!(proxied.body, direct.body);
    assert!(proxied.body.starts_with(b"<!DOCTYPE html>"));
    assert_eq!(end_to_end(&proxied.headers), end_to_end(&direct.headers));
    assert_eq!(
        header(&proxied.headers, "content-type"),
        ["text/html; charset=utf-8"]
    );
    assert_eq!(header(&direct.headers, "connection"), ["close"]);
    assert_eq!(header(&proxied.headers, "connection"), [""; 0]);
}

#[tokio::test]
async fn xml_rpc_passes_straight_through() {
    let stack = start().await;
    let http = client();
    let body = std::fs::read("tests/fixtures/odoo18/01-common-version.request.xml")
        .expect("the recorded version call");
    let call = |url: String| {
        http.post(url)
            .header(CONTENT_TYPE, "text/xml")
            .body(body.clone())
    };
    let direct = get(call(format!("{}/xmlrpc/2/common", stack.erp.url()))).await;
    let proxied = get(call(stack.url("/xmlrpc/2/common"))).await;
    assert_eq!(proxied.status, StatusCode::OK);
    assert_eq!(proxied.body, direct.body);
    assert!(proxied.body.windows(14).any(|w| w == b"server_version"));
    assert_eq!(end_to_end(&proxied.headers), end_to_end(&direct.headers));
    assert_eq!(
        header(&proxied.headers, "x-content-type-options"),
        ["nosniff"]
    );
    let version = stack.erp.calls();
    assert_eq!(version.len(), 2, "{version:?}");
    assert_eq!(version[1].method, "version");
}

#[tokio::test]
async fn method_target_and_headers_arrive_unchanged() {
    let stack = start().await;
    let answer = get(client()
        .patch(stack.url("/web/echo?b=%20x&a=1&a=2"))
        .header("x-custom", "a  b\tc")
        .header("cookie", "session_id=abc; other=1")
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .body("hello"))
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let (request_line, headers) = echoed(&answer.body);
    assert_eq!(request_line, "PATCH /web/echo?b=%20x&a=1&a=2");
    assert_eq!(values(&headers, "x-custom"), ["a  b\tc"]);
    assert_eq!(values(&headers, "cookie"), ["session_id=abc; other=1"]);
    assert_eq!(
        values(&headers, "authorization"),
        ["Basic YWRtaW46YWRtaW4="]
    );
    assert_eq!(values(&headers, "content-length"), ["5"]);
    assert_eq!(values(&headers, "host"), [stack.addr.to_string()]);
    assert_eq!(values(&headers, "body"), ["5"]);
}

#[tokio::test]
async fn login_sets_cookies_and_redirects_to_the_cookie_protected_page() {
    let stack = start().await;
    let http = client();
    let home = get(http.get(stack.url("/odoo"))).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(
        header(&home.headers, "location"),
        ["/web/login?redirect=%2Fodoo"]
    );
    let wrong = get(http
        .post(stack.url("/web/login"))
        .form(&[("login", DEMO_LOGIN), ("password", "nope")]))
    .await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(header(&wrong.headers, "set-cookie").is_empty());

    let login = get(http.post(stack.url("/web/login")).form(&[
        ("csrf_token", "demo-csrf"),
        ("login", DEMO_LOGIN),
        ("password", DEMO_PASSWORD),
    ]))
    .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(login.body, "");
    // Host is kept, so the ERP already names the proxy in its absolute Location.
    assert_eq!(
        header(&login.headers, "location"),
        [format!("http://{}/odoo", stack.addr)]
    );
    assert_eq!(
        header(&login.headers, SET_COOKIE.as_str()),
        [
            "session_id=demo-session-2f1c; Path=/; HttpOnly; SameSite=Lax",
            "frontend_lang=en_US; Path=/",
        ]
    );
    let location = login.headers[LOCATION].to_str().expect("ASCII");
    let page = get(http
        .get(location)
        .header(COOKIE, "frontend_lang=en_US; session_id=demo-session-2f1c"))
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body,
        "<!DOCTYPE html><html><body><h1>Discuss</h1><p>Logged in as Mitchell Admin</p></body></html>"
    );
}

#[tokio::test]
async fn host_rewrite_and_locations_naming_the_erp_come_back_relative() {
    let erp = erp(false).await;
    let upstream = erp.addr();
    let proxy = stack(erp, upstream, |config| {
        config.passthrough.host = Some(upstream.to_string());
    })
    .await;
    let http = client();
    let echo = get(http.get(proxy.url("/web/echo"))).await;
    let (_, headers) = echoed(&echo.body);
    assert_eq!(values(&headers, "host"), [upstream.to_string()]);
    assert_eq!(
        values(&headers, "x-forwarded-host"),
        [proxy.addr.to_string()]
    );
    // The ERP builds its Location from the Host it saw: its own address. The browser must
    // stay on the proxy, so it comes back relative.
    let direct = get(http
        .post(format!("{}/web/login", proxy.erp.url()))
        .form(&[("login", DEMO_LOGIN), ("password", DEMO_PASSWORD)]))
    .await;
    assert_eq!(
        header(&direct.headers, "location"),
        [format!("http://{upstream}/odoo")]
    );
    let login = get(http
        .post(proxy.url("/web/login"))
        .form(&[("login", DEMO_LOGIN), ("password", DEMO_PASSWORD)]))
    .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(header(&login.headers, "location"), ["/odoo"]);
    assert_eq!(header(&login.headers, "set-cookie").len(), 2);

    // A made-up public name is rewritten the same way.
    let erp = self::erp(false).await;
    let upstream = erp.addr();
    let named = stack(erp, upstream, |config| {
        config.passthrough.host = Some("erp.example.com".into());
    })
    .await;
    let login = get(http
        .post(named.url("/web/login"))
        .form(&[("login", DEMO_LOGIN), ("password", DEMO_PASSWORD)]))
    .await;
    assert_eq!(header(&login.headers, "location"), ["/odoo"]);
}

// ---------------------------------------------------------------------------------------------
// Headers

#[tokio::test]
async fn forwarded_headers_are_set_for_clients_and_extended_for_trusted_proxies() {
    let spoofing = |http: &reqwest::Client, url: String| {
        http.get(url)
            .header("x-forwarded-for", "203.0.113.9")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "shop.example.com")
            .header("forwarded", "for=203.0.113.9;proto=https")
    };
    let http = client();
    let untrusted = start().await;
    let echo = get(spoofing(&http, untrusted.url("/web/echo"))).await;
    let (_, headers) = echoed(&echo.body);
    assert_eq!(values(&headers, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(values(&headers, "x-forwarded-proto"), ["http"]);
    assert_eq!(
        values(&headers, "x-forwarded-host"),
        [untrusted.addr.to_string()]
    );
    assert_eq!(values(&headers, "forwarded"), [""; 0]);

    let erp = erp(false).await;
    let upstream = erp.addr();
    let trusted = stack(erp, upstream, |config| {
        config.passthrough.trusted_proxies = vec!["127.0.0.1".parse().expect("an IP")];
    })
    .await;
    let echo = get(spoofing(&http, trusted.url("/web/echo"))).await;
    let (_, headers) = echoed(&echo.body);
    assert_eq!(
        values(&headers, "x-forwarded-for"),
        ["203.0.113.9, 127.0.0.1"]
    );
    assert_eq!(values(&headers, "x-forwarded-proto"), ["https"]);
    assert_eq!(values(&headers, "x-forwarded-host"), ["shop.example.com"]);
    assert_eq!(
        values(&headers, "forwarded"),
        ["for=203.0.113.9;proto=https"]
    );
    // A trusted proxy that sends none gets them set as for anyone.
    let echo = get(http.get(trusted.url("/web/echo"))).await;
    let (_, headers) = echoed(&echo.body);
    assert_eq!(values(&headers, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(values(&headers, "x-forwarded-proto"), ["http"]);
}

#[tokio::test]
async fn hop_by_hop_headers_stop_at_the_proxy_both_ways() {
    let stack = start().await;
    let answer = get(client()
        .get(stack.url("/web/echo"))
        .header("connection", "keep-alive, X-Client-Hop")
        .header("x-client-hop", "1")
        .header("keep-alive", "timeout=30")
        .header("proxy-connection", "keep-alive")
        .header("te", "trailers")
        .header("x-client-end", "2"))
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let (request_line, headers) = echoed(&answer.body);
    assert_eq!(request_line, "GET /web/echo");
    for hop in [
        "connection",
        "x-client-hop",
        "keep-alive",
        "proxy-connection",
        "te",
        "transfer-encoding",
        "upgrade",
    ] {
        assert_eq!(values(&headers, hop), [""; 0], "{hop} reached the ERP");
    }
    assert_eq!(values(&headers, "x-client-end"), ["2"]);
    // The ERP answered `Connection: close, X-Upstream-Hop`, `X-Upstream-Hop: 1` and
    // `Keep-Alive: timeout=5` next to `X-End-To-End: 1`.
    for hop in ["connection", "x-upstream-hop", "keep-alive"] {
        assert!(
            !answer.headers.contains_key(hop),
            "{hop} reached the client"
        );
    }
    assert_eq!(header(&answer.headers, "x-end-to-end"), ["1"]);
    assert_eq!(
        header(&answer.headers, "content-length"),
        [answer.body.len().to_string()]
    );
}

// ---------------------------------------------------------------------------------------------
// Bodies

/// Reads a streamed answer chunk by chunk and checks it against the download pattern; returns
/// how many bytes came.
async fn read_pattern(mut response: reqwest::Response) -> u64 {
    let mut received = 0u64;
    while let Some(chunk) = timeout(LIMIT, response.chunk())
        .await
        .expect("a chunk in time")
        .expect("a readable body")
    {
        let end = received + chunk.len() as u64;
        assert!(
            chunk[..] == pattern(received..end)[..],
            "bytes {received}..{end} differ"
        );
        received = end;
    }
    received
}

/// The real binary as the pass-through proxy in front of `erp`, in a process of its own, so
/// that its memory is its own (the ERP and the client live in this test process, with the
/// tests running in parallel). Warmed up with one small download.
async fn proxy_process(erp: &DemoErp) -> support::Running {
    let proxy = support::spawn_binary(&["--upstream", &format!("http://{}", erp.addr())]).await;
    let warm_up = get(client().get(proxy.url("/web/content/download?size=100000"))).await;
    assert_eq!(warm_up.body.len(), 100_000);
    proxy
}

/// Runs `transfer` through `proxy`: how far the proxy's peak resident memory (`VmHWM`) rose
/// above what it held before the request was sent.
async fn peak_growth(
    proxy: &support::Running,
    transfer: impl std::future::Future<Output = ()>,
) -> u64 {
    let before = proxy.memory("VmRSS").expect("/proc/<pid>/status (Linux)");
    assert!(
        proxy.reset_peak_memory(),
        "cannot reset the peak memory in /proc/<pid>/clear_refs"
    );
    transfer.await;
    let peak = proxy.memory("VmHWM").expect("/proc/<pid>/status (Linux)");
    peak.saturating_sub(before)
}

/// A streamed request body of `size` pattern bytes starting at 0, in pieces of 100 000.
fn pattern_body(size: u64) -> reqwest::Body {
    const PIECE: u64 = 100_000;
    let pieces = (0..size.div_ceil(PIECE)).map(move |index| {
        let start = index * PIECE;
        Ok::<_, std::io::Error>(pattern(start..(start + PIECE).min(size)))
    });
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
}

#[tokio::test]
async fn a_32_mib_download_streams_byte_for_byte_in_flat_memory() {
    const SIZE: u64 = 32 << 20;
    let erp = erp(false).await;
    let proxy = proxy_process(&erp).await;
    let growth = peak_growth(&proxy, async {
        let response = client()
            .get(proxy.url(&format!("/web/content/download?size={SIZE}")))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(response.headers(), "content-length"),
            [SIZE.to_string()]
        );
        assert_eq!(
            header(response.headers(), "content-type"),
            ["application/octet-stream"]
        );
        assert_eq!(
            header(response.headers(), "content-disposition"),
            ["attachment; filename=\"download.bin\""]
        );
        assert_eq!(read_pattern(response).await, SIZE);
    })
    .await;
    // A proxy that held the body whole (before answering or while) would peak 32 MiB higher.
    // Streaming, it is a few hundred KiB of buffers.
    assert!(
        // Streaming costs a few buffers (12 to 17 MiB peak seen here, allocator included); a
        // proxy that holds the whole body grows by more than SIZE (75 to 80 MiB seen).
        growth < SIZE * 3 / 4,
        "the proxy's peak memory grew by {growth} bytes"
    );
}

#[tokio::test]
async fn head_gets_the_headers_of_a_download_and_no_body() {
    let stack = start().await;
    let answer = get(client().head(stack.url("/web/content/download?size=1000"))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(header(&answer.headers, "content-length"), ["1000"]);
    assert_eq!(answer.body, "");
}

#[tokio::test]
async fn an_upload_with_content_length_is_echoed_byte_for_byte() {
    const SIZE: u64 = 32 << 20;
    let erp = erp(false).await;
    let proxy = proxy_process(&erp).await;
    let growth = peak_growth(&proxy, async {
        let response = client()
            .put(proxy.url("/web/upload_echo?name=a.bin"))
            .header(CONTENT_TYPE, "application/x-demo")
            .header(CONTENT_LENGTH, SIZE)
            .body(pattern_body(SIZE))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(response.headers(), "x-echo-framing"), ["length"]);
        assert_eq!(
            header(response.headers(), "content-length"),
            [SIZE.to_string()]
        );
        assert_eq!(
            header(response.headers(), "content-type"),
            ["application/x-demo"]
        );
        assert_eq!(read_pattern(response).await, SIZE);
    })
    .await;
    // Held whole on the way up or down, the body would raise the proxy's peak by 32 MiB.
    assert!(
        // Streaming costs a few buffers (12 to 17 MiB peak seen here, allocator included); a
        // proxy that holds the whole body grows by more than SIZE (75 to 80 MiB seen).
        growth < SIZE * 3 / 4,
        "the proxy's peak memory grew by {growth} bytes"
    );
}

#[tokio::test]
async fn a_chunked_upload_is_echoed_chunked_byte_for_byte() {
    const SIZE: u64 = 16 << 20;
    let stack = start().await;
    let response = client()
        .post(stack.url("/web/upload_echo"))
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(pattern_body(SIZE))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(response.headers(), "x-echo-framing"), ["chunked"]);
    assert_eq!(header(response.headers(), "content-length"), [""; 0]);
    assert_eq!(header(response.headers(), "transfer-encoding"), ["chunked"]);
    assert_eq!(read_pattern(response).await, SIZE);
}

#[tokio::test]
async fn a_body_over_the_pass_through_limit_is_a_413_with_or_without_content_length() {
    // Under the demo's own 64 KiB `/web/echo` limit, so that the ERP reads the whole body.
    const LIMIT_BYTES: usize = 32 << 10;
    let erp = erp(false).await;
    let addr = erp.addr();
    let stack = stack(erp, addr, |c| c.passthrough.max_body_bytes = LIMIT_BYTES).await;
    let chunks = |size: usize| {
        let chunks =
            (0..size / 1024).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 1024])));
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
    };
    let over = LIMIT_BYTES + 1024;
    for (what, request) in [
        (
            "content-length",
            client().post(stack.url("/web/echo")).body(vec![b'a'; over]),
        ),
        (
            "chunked",
            client().post(stack.url("/web/echo")).body(chunks(over)),
        ),
    ] {
        let answer = get(request).await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{what}");
        let json: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
        assert_eq!(json["error"], "payload_too_large", "{what}: {json}");
    }
    // At the limit, both ways: passed on whole.
    for request in [
        client()
            .post(stack.url("/web/echo"))
            .body(vec![b'a'; LIMIT_BYTES]),
        client()
            .post(stack.url("/web/echo"))
            .body(chunks(LIMIT_BYTES)),
    ] {
        let answer = get(request).await;
        assert_eq!(answer.status, StatusCode::OK);
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        assert!(text.contains(&format!("body: {LIMIT_BYTES}\n")), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket

/// A client frame: FIN, `opcode`, masked with `mask` as RFC 6455 section 5.3 requires.
fn masked_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Reads one unmasked server frame: (first byte, payload).
async fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await.expect("a frame head");
    assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
    let length = match head[1] & 0x7f {
        126 => u64::from(stream.read_u16().await.expect("a 16-bit length")),
        127 => stream.read_u64().await.expect("a 64-bit length"),
        short => u64::from(short),
    };
    let mut payload = vec![0u8; usize::try_from(length).expect("a small frame")];
    stream.read_exact(&mut payload).await.expect("a payload");
    (head[0], payload)
}

#[tokio::test]
async fn websocket_messages_are_echoed_through_the_proxy() {
    let stack = start().await;
    let mut stream = TcpStream::connect(stack.addr).await.expect("connect");
    let handshake = format!(
        "GET /websocket?version=18.0-1 HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://{}\r\n\r\n",
        stack.addr, stack.addr
    );
    stream
        .write_all(handshake.as_bytes())
        .await
        .expect("send the handshake");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = timeout(LIMIT, stream.read_u8())
            .await
            .expect("the handshake answer in time")
            .expect("a byte of the handshake answer");
        head.push(byte);
    }
    let head = String::from_utf8(head)
        .expect("an ASCII head")
        .to_ascii_lowercase();
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some("http/1.1 101 switching protocols"));
    let mut headers: Vec<&str> = lines.filter(|line| !line.is_empty()).collect();
    assert!(headers
        .iter()
        .any(|line| line.starts_with("x-request-id: ")));
    headers.retain(|line| !line.starts_with("date:") && !line.starts_with("x-request-id:"));
    headers.sort_unstable();
    assert_eq!(
        headers,
        [
            "connection: upgrade",
            "sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=",
            "upgrade: websocket",
        ]
    );

    let exchange = async {
        stream
            .write_all(&masked_frame(0x1, b"hello bus", [1, 2, 3, 4]))
            .await
            .expect("send a text frame");
        assert_eq!(read_frame(&mut stream).await, (0x81, b"hello bus".to_vec()));
        let large = pattern(0..70_000);
        stream
            .write_all(&masked_frame(0x2, &large, [0xde, 0xad, 0xbe, 0xef]))
            .await
            .expect("send a binary frame");
        assert_eq!(read_frame(&mut stream).await, (0x82, large));
        stream
            .write_all(&masked_frame(0x9, b"ping", [9, 9, 9, 9]))
            .await
            .expect("send a ping");
        assert_eq!(read_frame(&mut stream).await, (0x8a, b"ping".to_vec()));
        let close = [0x03, 0xe8];
        stream
            .write_all(&masked_frame(0x8, &close, [5, 6, 7, 8]))
            .await
            .expect("send a close");
        assert_eq!(read_frame(&mut stream).await, (0x88, close.to_vec()));
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.expect("a clean end");
        assert_eq!(rest, b"");
    };
    timeout(LIMIT, exchange).await.expect("the echo in time");
}

// ---------------------------------------------------------------------------------------------
// Connections, the switch, failures

#[tokio::test]
async fn upstream_connections_are_reused_when_the_erp_keeps_alive() {
    for (keep_alive, expected) in [(true, 1), (false, 18)] {
        let erp = erp(keep_alive).await;
        let relay = relay(erp.addr()).await;
        let stack = stack(erp, relay.addr, |_| {}).await;
        let http = client();
        for _ in 0..3 {
            let page = get(http.get(stack.url("/web/login"))).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.body.ends_with(b"</html>"));
            // Bodies the server never reads (HEAD, length 0) leave the connection reusable.
            let head = get(http.head(stack.url("/web/content/download?size=9"))).await;
            assert_eq!(header(&head.headers, "content-length"), ["9"]);
            let redirect = get(http.get(stack.url("/odoo"))).await;
            assert_eq!(redirect.status, StatusCode::SEE_OTHER);
            let download = get(http.get(stack.url("/web/content/download?size=300000"))).await;
            assert!(download.body[..] == pattern(0..300_000)[..]);
            let echo = get(http
                .post(stack.url("/web/upload_echo"))
                .body("x".repeat(1000)))
            .await;
            assert_eq!(echo.body, "x".repeat(1000));
            let chunked = pattern_body(250_000);
            let echo = get(http.put(stack.url("/web/upload_echo")).body(chunked)).await;
            assert!(echo.body[..] == pattern(0..250_000)[..]);
        }
        assert_eq!(
            relay.connections.load(Ordering::SeqCst),
            expected,
            "keep_alive: {keep_alive}"
        );
    }
}

/// A scripted upstream: answers one request per connection with `ok`, keep-alive, then
/// closes the connection; counts the connections.
async fn one_request_per_connection() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the scripted upstream");
    let addr = listener.local_addr().expect("a bound address");
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read_u8().await {
                        Ok(byte) => head.push(byte),
                        Err(_) => return,
                    }
                }
                let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                let _ = stream.write_all(answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, connections)
}

#[tokio::test]
async fn a_pooled_connection_the_erp_closed_is_not_used_again() {
    let (upstream, connections) = one_request_per_connection().await;
    let stack = stack(erp(false).await, upstream, |_| {}).await;
    let http = client();
    for round in 1..=5 {
        let answer = get(http.get(stack.url("/anything"))).await;
        assert_eq!(answer.status, StatusCode::OK, "round {round}");
        assert_eq!(answer.body, "ok");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn pass_through_off_answers_json_404_outside_api() {
    let erp = erp(false).await;
    let upstream = erp.addr();
    let stack = stack(erp, upstream, |config| config.passthrough.enabled = false).await;
    for path in ["/web/login", "/xmlrpc/2/common", "/websocket", "/"] {
        let answer = stack.send(stack.http.get(stack.url(path))).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.error().0, "not_found", "{path}");
        assert_eq!(
            header(&answer.headers, "content-type"),
            ["application/json; charset=utf-8"]
        );
    }
    assert_eq!(stack.erp.calls(), []);
    // /api is still served.
    assert!(!stack.token().await.is_empty());
}

#[tokio::test]
async fn an_unreachable_erp_is_a_json_502() {
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
    let gone = closed.local_addr().expect("an address");
    drop(closed);
    let erp = erp(false).await;
    let stack = stack(erp, gone, |_| {}).await;
    let answer = stack.send(stack.http.get(stack.url("/web/login"))).await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.error().0, "upstream_unreachable");
    assert!(
        !answer.error().1.contains(&gone.port().to_string()),
        "{}",
        answer.error().1
    );
}

#[tokio::test]
async fn an_erp_that_does_not_answer_in_time_is_a_json_504() {
    let silent = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a silent upstream");
    let upstream = silent.local_addr().expect("an address");
    // Accepts and reads, never answers.
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = silent.accept().await {
            tokio::spawn(async move {
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink).await;
            });
        }
    });
    let stack = stack(erp(false).await, upstream, |config| {
        config.upstream.timeout = Duration::from_millis(300);
    })
    .await;
    let answer = stack.send(stack.http.get(stack.url("/web/login"))).await;
    assert_eq!(answer.status, 504);
    assert_eq!(answer.error().0, "upstream_timeout");
}
