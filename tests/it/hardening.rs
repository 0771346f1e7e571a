//! Bad input and abuse: the limits (body, head, URL, filters, limit, slow heads, idle and
//! stalled connections, the connection cap), login rate limiting, refusing tokens, secrets
//! kept out of logs, error bodies and `Debug`, and graceful shutdown of the real binary.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use odoo_rest_proxy::demo;
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{self, Stack};

/// Every raw-socket wait in this file is bounded by this.
const BOUND: Duration = Duration::from_secs(5);

/// Sends `request` on a new connection and reads until the server closes it (or `BOUND`).
async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before it read everything: a failed write is fine.
    let _ = stream.write_all(request).await;
    read_to_close(&mut stream).await
}

async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server neither answered nor closed in time"
    );
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_of(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let stack = support::start_with(|c| c.limits.max_body_bytes = 1024).await;
    let big = "x".repeat(2000);
    let answer = stack
        .send(
            stack
                .http
                .post(stack.url("/api/auth/get_tokens"))
                .form(&[("username", big.as_str())]),
        )
        .await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.error().0, "payload_too_large");
    // Without a Content-Length (chunked), the body is cut off at the limit all the same.
    let chunks = futures_util::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'a'; 512]))),
    );
    let answer = stack
        .send(
            stack
                .http
                .post(stack.url("/api/auth/get_tokens"))
                .body(reqwest::Body::wrap_stream(chunks)),
        )
        .await;
    assert_eq!(answer.status, 413);
    assert!(stack.erp.calls().is_empty(), "{:?}", stack.erp.calls());
}

#[tokio::test]
async fn a_head_too_large_or_with_too_many_headers_is_a_431() {
    let stack = support::start_with(|c| {
        c.limits.max_header_bytes = 4096;
        c.limits.max_headers = 10;
    })
    .await;
    let big = format!(
        "GET /api/res.partner HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(5000)
    );
    assert_eq!(status_of(&raw(stack.addr, big.as_bytes()).await), 431);
    let many: String = (0..20).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET /api/res.partner HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(status_of(&raw(stack.addr, many.as_bytes()).await), 431);
    let broken = b"GET /api/res.partner HTTP/1.1\r\nHost x\r\n\r\n";
    assert_eq!(status_of(&raw(stack.addr, broken).await), 400);
    // Still serving.
    let ok = raw(
        stack.addr,
        b"GET /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&ok), 400, "{ok}");
}

#[tokio::test]
async fn a_url_over_the_limit_is_a_414() {
    let stack = support::start_with(|c| c.limits.max_url_bytes = 256).await;
    let path = format!("/api/res.partner?filters={}", "a".repeat(300));
    let answer = stack.send(stack.call(Method::GET, &path, "no-token")).await;
    assert_eq!(answer.status, 414);
    assert_eq!(answer.error().0, "url_too_long");
    let web = format!("/web/login?redirect={}", "a".repeat(300));
    let answer = stack.send(stack.http.get(stack.url(&web))).await;
    assert_eq!(answer.status, 414, "pass-through URLs too");
}

#[tokio::test]
async fn filters_are_bounded_in_size_and_depth() {
    let stack = support::start_with(|c| {
        c.limits.max_filter_bytes = 200;
        c.limits.max_filter_depth = 4;
    })
    .await;
    let token = stack.token().await;
    stack.erp.reset_calls();
    let long = format!("[('name', 'ilike', '{}')]", "a".repeat(300));
    let deep = format!("[{}1{}]", "[".repeat(6), "]".repeat(6));
    let deep_json = serde_json::json!({"filters": [[[[[["id", "=", 1]]]]]]});
    for (query, body) in [
        (Some(long.as_str()), None),
        (Some(deep.as_str()), None),
        (None, Some(deep_json)),
    ] {
        let mut request = stack.call(Method::GET, "/api/res.partner", &token);
        if let Some(filters) = query {
            request = request.query(&[("filters", filters)]);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = stack.send(request).await;
        assert_eq!(answer.status, 400, "{}", answer.json);
        let (code, text) = answer.error();
        assert_eq!(code, "invalid_parameter");
        assert!(
            text.contains("longer than 200 bytes") || text.contains("deeper than 4"),
            "{text}"
        );
    }
    let partner_calls = stack
        .erp
        .calls()
        .into_iter()
        .filter(|call| call.model.as_deref() == Some("res.partner"))
        .count();
    assert_eq!(partner_calls, 0, "refused before the ERP");
}

#[tokio::test]
async fn limit_is_capped_when_configured() {
    let stack = support::start_with(|c| c.limits.max_limit = Some(2)).await;
    let token = stack.token().await;
    stack.erp.reset_calls();
    // `limit=0` (no limit, to Odoo) is capped too: the fuzz target found it was not.
    for query in ["limit=100", "", "limit=0", "limit=1"] {
        let path = format!("/api/res.partner?{query}");
        let answer = stack.send(stack.call(Method::GET, &path, &token)).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        let expected = if query == "limit=1" { 1 } else { 2 };
        assert_eq!(answer.json["count"], expected, "{query}");
    }
    let limits: Vec<Value> = stack
        .erp
        .calls()
        .iter()
        .filter(|call| call.model.as_deref() == Some("res.partner"))
        .filter(|call| call.model_method.as_deref() == Some("search_read"))
        .map(|call| call.kwargs["limit"].clone())
        .collect();
    assert_eq!(limits, [2, 2, 2, 1]);
}

#[tokio::test]
async fn a_slow_head_is_cut_off() {
    let stack = support::start_with(|c| {
        c.limits.header_read_timeout = Duration::from_millis(300);
        c.limits.idle_timeout = Duration::from_secs(30);
    })
    .await;
    // Slowloris: a head that never ends, one header line every 50 ms.
    let started = Instant::now();
    let mut stream = TcpStream::connect(stack.addr).await.expect("connect");
    stream
        .write_all(b"GET /api/res.partner HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let closed = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 64];
        let mut ticker = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                _ = ticker.tick() => {
                    if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a dribbled head was never cut off");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290),
        "closed too early: {took:?}"
    );

    // A client that connects and says nothing is cut off too.
    let started = Instant::now();
    let mut silent = TcpStream::connect(stack.addr).await.expect("connect");
    assert_eq!(read_to_close(&mut silent).await, "");
    assert!(started.elapsed() >= Duration::from_millis(290));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let stack = support::start_with(|c| {
        c.limits.header_read_timeout = Duration::from_secs(30);
        c.limits.idle_timeout = Duration::from_millis(300);
    })
    .await;
    let mut stream = TcpStream::connect(stack.addr).await.expect("connect");
    // Two requests on one connection: keep-alive works.
    for _ in 0..2 {
        let answer = exchange(
            &mut stream,
            b"GET /api/nope/1/2 HTTP/1.1\r\nHost: x\r\n\r\n",
            "an answer in time",
        )
        .await;
        assert_eq!(status_of(&answer), 404);
    }
    let idle_from = Instant::now();
    assert_eq!(read_to_close(&mut stream).await, "");
    assert!(idle_from.elapsed() >= Duration::from_millis(290));
}

#[tokio::test]
async fn a_stalled_body_is_a_408() {
    let stack = support::start_with(|c| c.limits.idle_timeout = Duration::from_millis(300)).await;
    let mut stream = TcpStream::connect(stack.addr).await.expect("connect");
    let answer = exchange(
        &mut stream,
        b"POST /api/auth/get_tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nusername=a",
        "an answer in time",
    )
    .await;
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

/// How many connections wait in the kernel's accept queue of the listener on `addr`: the
/// `rx_queue` of its LISTEN line in `/proc/net/tcp` (Linux).
fn accept_queue(addr: SocketAddr) -> u64 {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp (Linux)");
    let local = format!(":{:04X}", addr.port());
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.len() > 4 && fields[1].ends_with(&local) && fields[3] == "0A")
        .and_then(|fields| fields[4].split_once(':').map(|(_, rx)| rx.to_owned()))
        .and_then(|rx| u64::from_str_radix(&rx, 16).ok())
        .expect("the proxy's LISTEN line")
}

#[tokio::test]
async fn the_connection_cap_holds_and_frees() {
    let stack = support::start_with(|c| c.limits.max_connections = 2).await;
    let first = TcpStream::connect(stack.addr).await.expect("connect");
    let mut second = TcpStream::connect(stack.addr).await.expect("connect");
    // Both are accepted (the second answers, and it was queued after the first), so both hold
    // a place, and none waits.
    let request = b"GET /api/x/1/2 HTTP/1.1\r\nHost: x\r\n\r\n";
    let answer = exchange(&mut second, request, "the second connection is served").await;
    assert_eq!(status_of(&answer), 404);
    assert_eq!(accept_queue(stack.addr), 0);

    // The third connects (the kernel queues it) and asks.
    let mut third = TcpStream::connect(stack.addr).await.expect("connect");
    third
        .write_all(b"GET /api/x/1/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let deadline = Instant::now() + BOUND;
    while accept_queue(stack.addr) == 0 {
        // Accepted (a broken cap), or the kernel has not queued it yet.
        assert!(
            Instant::now() < deadline,
            "the third connection was accepted beyond the cap"
        );
        tokio::task::yield_now().await;
    }
    // The server runs again (it serves the second, and the listener was ready before that
    // request was even sent), and still leaves the third in the kernel's queue, unanswered.
    let answer = exchange(&mut second, request, "the second connection is served").await;
    assert_eq!(status_of(&answer), 404);
    assert_eq!(accept_queue(stack.addr), 1, "accepted beyond the cap");
    let mut buf = [0u8; 64];
    assert!(
        matches!(third.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "served beyond the cap"
    );
    drop(first);
    let answer = read_to_close(&mut third).await;
    assert_eq!(status_of(&answer), 404, "served once a place is free");
    assert_eq!(accept_queue(stack.addr), 0);
}

// ---- Login abuse ----

async fn login_from(stack: &Stack, client: &str, login: &str, password: &str) -> support::Answer {
    let form = [
        ("username", login),
        ("password", password),
        ("db", demo::DEMO_DB),
    ];
    stack
        .send(
            stack
                .http
                .post(stack.url("/api/auth/get_tokens"))
                .header("x-forwarded-for", client)
                .form(&form),
        )
        .await
}

fn authenticate_calls(stack: &Stack) -> usize {
    stack
        .erp
        .calls()
        .iter()
        .filter(|call| call.method == "authenticate")
        .count()
}

fn behind_a_trusted_proxy(config: &mut odoo_rest_proxy::config::Config) {
    config.limits.login_attempts = 3;
    config.passthrough.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
}

#[tokio::test]
async fn failed_logins_are_limited_per_client_without_calling_the_erp() {
    let stack = support::start_with(behind_a_trusted_proxy).await;
    for login in ["admin", "demo_api", "nobody"] {
        let answer = login_from(&stack, "198.51.100.7", login, "wrong").await;
        assert_eq!(answer.status, 401, "{}", answer.json);
    }
    stack.erp.reset_calls();
    // Another login, even with the right password: refused, and the ERP is not asked.
    let answer = login_from(
        &stack,
        "198.51.100.7",
        demo::DEMO_LOGIN,
        demo::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(answer.status, 429, "{}", answer.json);
    assert_eq!(answer.error().0, "too_many_attempts");
    let retry: u64 = answer.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(stack.erp.calls().is_empty(), "{:?}", stack.erp.calls());
    // Another client is not affected.
    let answer = login_from(
        &stack,
        "198.51.100.8",
        demo::DEMO_LOGIN,
        demo::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
}

#[tokio::test]
async fn failed_logins_are_limited_per_login_across_clients() {
    let stack = support::start_with(behind_a_trusted_proxy).await;
    for client in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let answer = login_from(&stack, client, "Admin", "wrong").await;
        assert_eq!(answer.status, 401, "{}", answer.json);
    }
    stack.erp.reset_calls();
    let answer = login_from(&stack, "203.0.113.4", "admin", demo::DEMO_PASSWORD).await;
    assert_eq!(answer.status, 429, "{}", answer.json);
    assert!(answer.headers.contains_key("retry-after"));
    assert_eq!(authenticate_calls(&stack), 0);
    // Another login from the same new client still gets through.
    let answer = login_from(&stack, "203.0.113.4", demo::DEMO_USER_LOGIN, "wrong").await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn successful_logins_do_not_count_and_parallel_failures_cannot_overshoot() {
    let stack = support::start_with(|c| c.limits.login_attempts = 3).await;
    for _ in 0..6 {
        stack.token().await;
    }
    stack.erp.reset_calls();
    // Twelve wrong passwords at once: exactly three reach the ERP.
    let attempts = (0..12).map(|_| stack.login_as(demo::DEMO_LOGIN, "wrong"));
    let answers = futures_util::future::join_all(attempts).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429, 429, 429, 429, 429, 429, 429, 429]
    );
    assert_eq!(authenticate_calls(&stack), 3);
}

#[tokio::test]
async fn a_password_in_the_query_string_is_refused_unless_allowed() {
    let query = format!(
        "/api/auth/get_tokens?username={}&password={}&db={}",
        demo::DEMO_LOGIN,
        demo::DEMO_PASSWORD,
        demo::DEMO_DB
    );
    let stack = support::start().await;
    for request in [
        stack.http.post(stack.url(&query)),
        // In the query even when the body has one too.
        stack
            .http
            .post(stack.url(&query))
            .form(&[("password", demo::DEMO_PASSWORD)]),
    ] {
        let answer = stack.send(request).await;
        assert_eq!(answer.status, 400, "{}", answer.json);
        let (code, text) = answer.error();
        assert_eq!(code, "invalid_parameter");
        assert!(text.contains("in the request body"), "{text}");
    }
    assert!(stack.erp.calls().is_empty(), "{:?}", stack.erp.calls());
    // The body is the place; a username in the query is no secret.
    let answer = stack
        .send(
            stack
                .http
                .post(stack.url(&format!(
                    "/api/auth/get_tokens?username={}",
                    demo::DEMO_LOGIN
                )))
                .form(&[("password", demo::DEMO_PASSWORD), ("db", demo::DEMO_DB)]),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);

    let allowed = support::start_with(|c| c.limits.allow_query_credentials = true).await;
    let answer = allowed.send(allowed.http.post(allowed.url(&query))).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
}

#[tokio::test]
async fn unknown_wrong_malformed_and_revoked_tokens_are_refused_alike() {
    let stack = support::start().await;
    let token = stack.token().await;
    let revoked = stack.token().await;
    let answer = stack
        .send(
            stack
                .http
                .post(stack.url("/api/auth/delete_tokens"))
                .header("access_token", &revoked),
        )
        .await;
    assert_eq!(answer.status, 200);
    let mut wrong = token.clone().into_bytes();
    wrong[63] = if wrong[63] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).expect("hex");
    let unknown = "0".repeat(64);
    stack.erp.reset_calls();
    let mut seen = Vec::new();
    for candidate in [wrong.as_str(), &unknown, "x", &"f".repeat(5000), &revoked] {
        let answer = stack
            .send(stack.call(Method::GET, "/api/res.partner", candidate))
            .await;
        seen.push((answer.status, answer.json));
    }
    assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
    assert_eq!(seen[0].0, 401);
    assert!(stack.erp.calls().is_empty());
}

// ---- Secrets ----

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        let buffer = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

/// Runs the integration flows (login, list, read, create, update, delete, refusals, faults,
/// logout) with TRACE logging captured, then searches the logs, every error body and `Debug`
/// output for the credentials and tokens used.
#[tokio::test]
async fn secrets_reach_no_log_error_body_or_debug_output() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .fmt_fields(odoo_rest_proxy::logline::TextLine)
        .event_format(odoo_rest_proxy::logline::TextLine)
        .finish();
    // A current-thread runtime: the proxy and the demo ERP run on this thread, under this
    // subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    // Records of the `log` crate (reqwest's), forwarded as the binary forwards them (its
    // subscriber's `init` installs the same bridge); another test may have installed it first.
    let _ = tracing_log::LogTracer::init();
    tracing::info!("capture works");

    let api_key = demo::DEMO_ADMIN_API_KEY;
    let wrong_password = "Wr0ng-pa55word-7f3c";
    let stack = support::start_with(|c| {
        c.gate.service = Some(odoo_rest_proxy::config::ServiceAccount {
            login: demo::DEMO_LOGIN.into(),
            password: odoo_rest_proxy::secret::Secret::new(api_key.to_owned()),
        });
    })
    .await;
    let mut bodies = Vec::new();
    let login = stack.login_as(demo::DEMO_LOGIN, api_key).await;
    assert_eq!(login.status, 200, "{}", login.json);
    let token = login.json["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let other = stack.login_as(demo::DEMO_LOGIN, api_key).await;
    let revoked = other.json["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let flows = [
        stack.call(Method::GET, "/api/res.partner?limit=2", &token),
        stack.call(Method::GET, "/api/res.partner/3", &token),
        stack.call(
            Method::GET,
            "/api/res.partner?filters=[('x','=',1)]",
            &token,
        ),
        stack.call(Method::GET, "/api/res.partner?filters=[(", &token),
        stack
            .call(Method::POST, "/api/res.partner", &token)
            .form(&[("name", "Leak test")]),
        stack
            .call(Method::POST, "/api/res.partner", &token)
            .form(&[("no_such", "1")]),
        stack
            .call(Method::PUT, "/api/res.partner/999999", &token)
            .form(&[("name", "x")]),
        stack.call(Method::DELETE, "/api/res.partner/999999", &token),
        stack.call(Method::GET, "/api/ir.model", &token),
        stack.call(Method::GET, "/api/res.partner", &revoked[..63]),
        stack
            .http
            .post(stack.url("/api/auth/delete_tokens"))
            .header("access_token", &revoked),
        stack
            .http
            .post(stack.url("/api/auth/delete_tokens"))
            .header("access_token", &revoked),
        stack.http.get(stack.url("/web/login")),
    ];
    for request in flows {
        let response = request.send().await.expect("an answer");
        bodies.push(response.text().await.expect("a body"));
    }
    for password in [wrong_password, api_key] {
        let answer = stack.login_as(demo::DEMO_USER_LOGIN, password).await;
        bodies.push(answer.json.to_string());
    }
    let answer = stack
        .send(stack.http.post(stack.url("/api/auth/get_tokens")).form(&[
            ("username", "admin"),
            ("password", api_key),
            ("db", "no_such_db"),
        ]))
        .await;
    bodies.push(answer.json.to_string());

    // An ERP that cannot be reached: the login is a 502, and the `warn!` on failed requests
    // runs with what the request carried.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("an address")
    };
    let unreachable = {
        let erp = demo::spawn(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
            demo::DemoConfig::default(),
        )
        .await
        .expect("the demo ERP starts");
        let mut config = odoo_rest_proxy::config::Config::default();
        config.upstream.url = format!("http://{closed}");
        support::start_proxy(erp, config).await
    };
    let answer = unreachable.login_as(demo::DEMO_LOGIN, api_key).await;
    assert_eq!(answer.status, 502, "{}", answer.json);
    bodies.push(answer.json.to_string());
    let answer = unreachable
        .send(
            unreachable
                .http
                .get(unreachable.url("/web/login?password=x")),
        )
        .await;
    assert_eq!(answer.status, 502, "{}", answer.json);
    bodies.push(answer.json.to_string());

    // Debug output of what holds secrets.
    let config = odoo_rest_proxy::config::Config {
        gate: odoo_rest_proxy::config::GateConfig {
            service: Some(odoo_rest_proxy::config::ServiceAccount {
                login: "svc".into(),
                password: odoo_rest_proxy::secret::Secret::new(api_key.to_owned()),
            }),
            ..odoo_rest_proxy::config::Config::default().gate
        },
        ..odoo_rest_proxy::config::Config::default()
    };
    let state = odoo_rest_proxy::api::AppState::new(config.clone()).expect("a state");
    let issued = state
        .tokens
        .issue(odoo_rest_proxy::tokens::Session {
            db: "demo".into(),
            uid: 2,
            login: "admin".into(),
            password: odoo_rest_proxy::secret::Secret::new(api_key.to_owned()),
            user_context: Value::Null,
            company_id: Value::Null,
            protocol: Default::default(),
        })
        .await
        .expect("room");
    let session = state
        .tokens
        .lookup(issued.as_str())
        .await
        .expect("the memory store answers")
        .expect("live");
    let params = odoo_rest_proxy::api::request::parse_params(
        Some(&format!("password={api_key}")),
        Some("application/x-www-form-urlencoded"),
        format!("username=admin&password={api_key}").as_bytes(),
    )
    .expect("params");
    let mut debug = format!(
        "{config:?} {session:?} {issued:?} {:?} {:?} {params:?}",
        state.tokens, state.odoo
    );

    // An upstream URL with `user:password@`: refused everywhere without quoting it, and its
    // Debug redacted.
    let with_userinfo = format!("http://rpc:{api_key}@127.0.0.1:8069/");
    let mut config = odoo_rest_proxy::config::Config::default();
    config.upstream.url = with_userinfo.clone();
    debug.push_str(&format!("{config:?}"));
    let refused = odoo_rest_proxy::api::AppState::new(config.clone())
        .err()
        .expect("refused");
    assert!(refused.contains("must not carry"), "{refused}");
    debug.push_str(&refused);
    let refused = odoo_rest_proxy::odoo::OdooClient::new(&config.upstream).expect_err("refused");
    debug.push_str(&refused);
    let refused = odoo_rest_proxy::passthrough::Passthrough::new(
        &config.upstream,
        config.passthrough.clone(),
    )
    .err()
    .expect("refused");
    debug.push_str(&refused);
    let toml = format!("[upstream]\nurl = {with_userinfo:?}\n");
    let refused = odoo_rest_proxy::config::Config::from_toml(
        &toml,
        std::path::Path::new("proxy.toml"),
        |_| None,
    )
    .expect_err("refused")
    .to_string();
    debug.push_str(&refused);

    let logs = logs.text();
    assert!(logs.contains("capture works"), "the capture is installed");
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "{logs}");
    assert!(
        logs.contains("starting new connection"),
        "reqwest's `log` records are captured: {logs}"
    );
    assert!(
        logs.contains("WARN") && logs.contains("request failed"),
        "the warn! on a failed request ran: {logs}"
    );
    for secret in [api_key, wrong_password, &token, &revoked, issued.as_str()] {
        assert!(!logs.contains(secret), "a secret in the logs: {secret}");
        for body in &bodies {
            assert!(!body.contains(secret), "a secret in {body}");
        }
        assert!(!debug.contains(secret), "a secret in {debug}");
    }
    // Nor the first half of a token (a truncated token in a message).
    for body in bodies.iter().chain([&logs, &debug]) {
        assert!(!body.contains(&token[..32]), "half a token in {body}");
    }
}

// ---- Graceful shutdown of the real binary ----

use support::Running;

/// `odoo-rest-proxy demo --listen 127.0.0.1:0`, and the address it prints.
async fn spawn_binary() -> Running {
    support::spawn_binary(&["demo"]).await
}

fn signal(running: &Running, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), running.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

async fn exit_code(running: &mut Running) -> Option<i32> {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(status) = running.child.try_wait().expect("try_wait") {
            return status.code();
        }
        assert!(Instant::now() < deadline, "no exit in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let mut running = spawn_binary().await;
    // A login whose body is still arriving: a request in flight.
    let body = format!(
        "username={}&password={}&db={}",
        demo::DEMO_LOGIN,
        demo::DEMO_PASSWORD,
        demo::DEMO_DB
    );
    let (first, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(running.addr).await.expect("connect");
    // `Expect: 100-continue`: the `100 Continue` says the handler is running and reading.
    let head = format!(
        "POST /api/auth/get_tokens HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
        .await
        .expect("100 Continue in time")
        .expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 100"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    stream.write_all(first.as_bytes()).await.expect("write");
    signal(&running, "TERM");
    // The listener closes: new connections are refused while the request is still open.
    let deadline = Instant::now() + BOUND;
    while TcpStream::connect(running.addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        running.child.try_wait().expect("try_wait").is_none(),
        "exited with a request in flight"
    );
    stream
        .write_all(rest.as_bytes())
        .await
        .expect("write the rest");
    let answer = read_to_close(&mut stream).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.contains("access_token"));
    assert_eq!(exit_code(&mut running).await, Some(0));
}

#[tokio::test]
async fn sigint_exits_0() {
    let mut running = spawn_binary().await;
    let answer = raw(
        running.addr,
        b"GET /api/x/1/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&answer), 404);
    signal(&running, "INT");
    assert_eq!(exit_code(&mut running).await, Some(0));
}

/// Writes `request` and reads the first chunk of the answer, within [`BOUND`].
async fn exchange(stream: &mut TcpStream, request: &[u8], why: &str) -> String {
    stream.write_all(request).await.expect("write");
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
        .await
        .expect(why)
        .expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}
