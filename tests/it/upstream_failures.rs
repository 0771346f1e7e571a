//! A failing upstream: every way the ERP can misbehave (refused, black-holed, deaf, slow,
//! trickling, HTML pages, 5xx, truncated or garbage XML, closed mid-body, not HTTP, too large)
//! gives a JSON 502 or 504 that says what happened, the proxy stays up, and it recovers by
//! itself when the ERP comes back. Plus Odoo's quirks (None answers, deleted ids, legacy
//! string fault codes, ids above 2^31) through the whole REST path.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use odoo_rest_proxy::config::{Config, FlagField};
use odoo_rest_proxy::demo::{self, DemoConfig};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{self, Stack};

/// The proxy's upstream timeout in these tests.
const UPSTREAM_TIMEOUT: Duration = Duration::from_millis(300);

/// What a scripted upstream does with each connection.
#[derive(Clone)]
enum Behavior {
    /// Reads the request, then never answers.
    BlackHole,
    /// Accepts, never reads, never answers.
    Deaf,
    /// Reads the request, writes these bytes, closes.
    Answer(Vec<u8>),
    /// Reads the request, writes a head promising 1000 bytes, then one byte every 50 ms.
    Trickle,
    /// An XML-RPC server: the method and params in, the XML body of the answer out.
    Rpc(Arc<Responder>),
    /// A TCP relay to `to`, switched at run time.
    Relay {
        to: SocketAddr,
        mode: Arc<Mutex<Mode>>,
    },
}

/// The XML body of the answer to an XML-RPC method and its params.
type Responder = dyn Fn(&str, &[Value]) -> Vec<u8> + Send + Sync;

#[derive(Clone, Copy, Debug)]
enum Mode {
    Healthy,
    /// Accepts and closes at once.
    Broken,
    /// Waits this long before relaying.
    Slow(Duration),
}

/// A scripted upstream on 127.0.0.1:0; stops (with every connection) when dropped.
struct Upstream {
    addr: SocketAddr,
    /// The XML bodies of the requests an `Rpc` upstream served.
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    accept_loop: JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl Upstream {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn spawn_upstream(behavior: Behavior) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&requests);
    let accept_loop = tokio::spawn(async move {
        // Aborting the loop drops the set, which aborts every connection task.
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.spawn(serve(stream, behavior.clone(), Arc::clone(&recorded)));
        }
    });
    Upstream {
        addr,
        requests,
        accept_loop,
    }
}

async fn serve(mut stream: TcpStream, behavior: Behavior, requests: Arc<Mutex<Vec<Vec<u8>>>>) {
    match behavior {
        Behavior::Deaf => std::future::pending().await,
        Behavior::Relay { to, mode } => {
            let mode = *mode.lock().expect("the mode lock");
            match mode {
                Mode::Broken => return,
                // The upstream being slow is the behaviour under test, not synchronisation.
                Mode::Slow(delay) => tokio::time::sleep(delay).await,
                Mode::Healthy => {}
            }
            if let Ok(mut erp) = TcpStream::connect(to).await {
                let _ = tokio::io::copy_bidirectional(&mut stream, &mut erp).await;
            }
        }
        behavior => {
            let Some(body) = read_request(&mut stream).await else {
                return;
            };
            match behavior {
                Behavior::BlackHole => std::future::pending().await,
                Behavior::Answer(bytes) => {
                    let _ = stream.write_all(&bytes).await;
                }
                Behavior::Trickle => {
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<?xml version=\"1.0\"?>";
                    let _ = stream.write_all(head.as_bytes()).await;
                    let mut ticker = tokio::time::interval(Duration::from_millis(50));
                    loop {
                        ticker.tick().await;
                        if stream.write_all(b" ").await.is_err() {
                            return;
                        }
                    }
                }
                Behavior::Rpc(answer) => {
                    let xml = match odoo_rest_proxy::xmlrpc::decode_call(&body) {
                        Ok((method, params)) => answer(&method, &params),
                        Err(_) => b"not XML-RPC".to_vec(),
                    };
                    requests.lock().expect("the requests lock").push(body);
                    let _ = stream.write_all(&http_answer(200, "text/xml", &xml)).await;
                }
                _ => {}
            }
        }
    }
}

/// Reads one request; returns its body.
async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(buffer[head_end..head_end + length].to_vec())
}

fn http_answer(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 {status} Whatever\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

/// A proxy in front of `url` with short upstream timeouts.
async fn proxy_for(url: String, adjust: impl FnOnce(&mut Config)) -> Stack {
    support::start_with(|config| {
        config.upstream.url = url;
        config.upstream.timeout = UPSTREAM_TIMEOUT;
        config.upstream.connect_timeout = UPSTREAM_TIMEOUT;
        adjust(config);
    })
    .await
}

async fn login(stack: &Stack) -> support::Answer {
    stack.login_as(demo::DEMO_LOGIN, demo::DEMO_PASSWORD).await
}

/// The proxy still answers (a JSON 404 that needs no upstream).
async fn still_up(stack: &Stack) {
    let answer = stack.send(stack.http.get(stack.url("/api/x/1/2"))).await;
    assert_eq!(answer.status, 404, "{}", answer.json);
}

const HTML: &str = "<html><body><h1>Internal Server Error</h1></body></html>";

#[tokio::test]
async fn each_failing_upstream_is_a_json_502_or_504_that_says_what_happened() {
    let truncated = b"<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n<value><int>2";
    let cases: Vec<(&str, Behavior, u16, &str, &str)> = vec![
        ("black hole", Behavior::BlackHole, 504, "upstream_timeout", "did not answer in time"),
        ("deaf", Behavior::Deaf, 504, "upstream_timeout", "did not answer in time"),
        ("trickle", Behavior::Trickle, 504, "upstream_timeout", "did not answer in time"),
        (
            "HTML page with 200",
            Behavior::Answer(http_answer(200, "text/html", HTML.as_bytes())),
            502,
            "upstream_bad_response",
            "HTTP 200 with an HTML",
        ),
        (
            "HTML 500",
            Behavior::Answer(http_answer(500, "text/html; charset=utf-8", HTML.as_bytes())),
            503,
            "erp_overloaded",
            "failed to set the request up",
        ),
        (
            "empty 503",
            Behavior::Answer(http_answer(503, "text/plain", b"")),
            503,
            "erp_overloaded",
            "503 Service Unavailable",
        ),
        (
            "XML 502 from a gateway",
            Behavior::Answer(http_answer(502, "text/xml", b"<error/>")),
            502,
            "upstream_bad_response",
            "HTTP 502",
        ),
        (
            "truncated XML",
            Behavior::Answer(http_answer(200, "text/xml", truncated)),
            502,
            "upstream_bad_response",
            "unreadable",
        ),
        (
            "garbage XML",
            Behavior::Answer(http_answer(200, "text/xml", b"\x00\xff<<garbage>>&;")),
            502,
            "upstream_bad_response",
            "unreadable",
        ),
        (
            "closed mid-body",
            Behavior::Answer(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 400\r\n\r\n<?xml version=\"1.0\"?><methodResponse>"
                    .to_vec(),
            ),
            502,
            "upstream_bad_response",
            "broke off",
        ),
        ("closed with no answer", Behavior::Answer(Vec::new()), 502, "upstream_unreachable", "cannot be reached"),
        (
            "not HTTP",
            Behavior::Answer(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()),
            502,
            "upstream_unreachable",
            "cannot be reached",
        ),
        (
            "answer over the size cap",
            Behavior::Answer(http_answer(200, "text/xml", &vec![b' '; 5000])),
            502,
            "upstream_bad_response",
            "larger than 1024 bytes",
        ),
    ];
    for (name, behavior, status, code, text) in cases {
        let upstream = spawn_upstream(behavior).await;
        let stack = proxy_for(upstream.url(), |c| c.upstream.max_response_bytes = 1024).await;
        let started = Instant::now();
        let answer = login(&stack).await;
        let took = started.elapsed();
        assert_eq!(answer.status, status, "{name}: {}", answer.json);
        let (got_code, got_text) = answer.error();
        assert_eq!(got_code, code, "{name}: {}", answer.json);
        assert!(
            got_text.contains(text),
            "{name}: {got_text:?} lacks {text:?}"
        );
        assert!(took < Duration::from_secs(3), "{name} took {took:?}");
        still_up(&stack).await;
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_502() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    drop(listener);
    let stack = proxy_for(format!("http://{addr}"), |_| {}).await;
    let answer = login(&stack).await;
    assert_eq!(answer.status, 502, "{}", answer.json);
    assert_eq!(answer.error().0, "upstream_unreachable");
    still_up(&stack).await;
}

#[tokio::test]
async fn the_proxy_recovers_by_itself_when_the_erp_comes_back() {
    let erp_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let erp = demo::spawn(erp_listener, DemoConfig::default())
        .await
        .expect("the demo ERP starts");
    let mode = Arc::new(Mutex::new(Mode::Healthy));
    let relay = spawn_upstream(Behavior::Relay {
        to: erp.addr(),
        mode: Arc::clone(&mode),
    })
    .await;
    let mut config = Config::default();
    config.upstream.url = relay.url();
    config.upstream.timeout = Duration::from_secs(1);
    // Shorter than the slow answer below: a connection waiting on the ERP is busy, not idle.
    config.limits.idle_timeout = Duration::from_millis(200);
    let stack = support::start_proxy(erp, config).await;
    let set = |new: Mode| *mode.lock().expect("the mode lock") = new;
    let token = stack.token().await;
    let list = || stack.call(Method::GET, "/api/res.partner?limit=1", &token);

    assert_eq!(stack.send(list()).await.status, 200);

    set(Mode::Broken);
    let answer = stack.send(list()).await;
    assert_eq!(answer.status, 502, "{}", answer.json);
    assert_eq!(login(&stack).await.status, 502);

    set(Mode::Healthy);
    let answer = stack.send(list()).await;
    assert_eq!(answer.status, 200, "recovered: {}", answer.json);

    set(Mode::Slow(Duration::from_millis(400)));
    let answer = stack.send(list()).await;
    assert_eq!(answer.status, 200, "slow but in time: {}", answer.json);

    set(Mode::Slow(Duration::from_millis(1500)));
    let answer = stack.send(list()).await;
    assert_eq!(answer.status, 504, "{}", answer.json);
    assert_eq!(answer.error().0, "upstream_timeout");

    set(Mode::Healthy);
    assert_eq!(stack.send(list()).await.status, 200, "recovered again");
}

// ---- Odoo quirks ----

const RETURNS_NONE: &[u8] =
    include_bytes!("../fixtures/odoo18/45-method-returns-none.response.xml");
const LEGACY_MISSING: &[u8] =
    include_bytes!("../fixtures/odoo18/52-legacy-endpoint-fault.response.xml");
const LEGACY_DENIED: &[u8] =
    include_bytes!("../fixtures/odoo18/53-legacy-endpoint-access-denied.response.xml");

fn xml(value: Value) -> Vec<u8> {
    let mut out = Vec::new();
    odoo_rest_proxy::xmlrpc::encode_response(&mut out, &value);
    out
}

/// An ERP with Odoo's quirks: `write`, `unlink` and `create` of "none" answer None (fault 1),
/// the legacy endpoint's string fault codes, and ids above 2^31 sent as `<i8>`.
fn quirky_erp(method: &str, params: &[Value]) -> Vec<u8> {
    if method == "authenticate" {
        return xml(json!(2));
    }
    if method == "version" {
        return xml(json!({"server_version_info": [18, 0, 0, "final", 0, ""]}));
    }
    let model_method = params.get(4).and_then(Value::as_str).unwrap_or("");
    let args = params.get(5).cloned().unwrap_or(Value::Null);
    match model_method {
        "context_get" => xml(json!({"lang": "en_US", "tz": false})),
        "read" => xml(json!([{"id": 2, "company_id": [1, "YourCompany"]}])),
        "fields_get" => xml(json!({"name": {"type": "char"}})),
        "write" | "unlink" => RETURNS_NONE.to_vec(),
        "create" if args[0]["name"] == "none" => RETURNS_NONE.to_vec(),
        "create" => b"<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n<value><i8>6000000000</i8></value>\n</param>\n</params>\n</methodResponse>\n".to_vec(),
        "search_read" => match args[0][0][2].clone() {
            Value::String(name) if name == "legacy-missing" => LEGACY_MISSING.to_vec(),
            Value::String(name) if name == "legacy-denied" => LEGACY_DENIED.to_vec(),
            Value::Number(id) if id.as_i64() == Some(7) => xml(json!([])),
            _ => b"<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n<value><struct>\n<member>\n<name>id</name>\n<value><i8>5000000000</i8></value>\n</member>\n<member>\n<name>parent_id</name>\n<value><array><data>\n<value><i8>4294967296</i8></value>\n<value><string>Big parent</string></value>\n</data></array></value>\n</member>\n</struct></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n".to_vec(),
        },
        _ => xml(json!(false)),
    }
}

async fn quirky_stack() -> (Upstream, Stack, String) {
    let upstream = spawn_upstream(Behavior::Rpc(Arc::new(quirky_erp))).await;
    let stack = proxy_for(upstream.url(), |c| {
        c.gate.flag_field = FlagField::None;
        c.gate.allow = vec!["res.partner".into()];
    })
    .await;
    let token = stack.token().await;
    (upstream, stack, token)
}

#[tokio::test]
async fn a_none_answer_is_success_for_write_and_unlink_and_a_502_elsewhere() {
    let (_upstream, stack, token) = quirky_stack().await;
    let answer = stack
        .send(
            stack
                .call(Method::PUT, "/api/res.partner/5", &token)
                .form(&[("name", "x")]),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["update"], true);
    let answer = stack
        .send(stack.call(Method::DELETE, "/api/res.partner/5", &token))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["delete"], true);
    let answer = stack
        .send(
            stack
                .call(Method::POST, "/api/res.partner", &token)
                .form(&[("name", "none")]),
        )
        .await;
    assert_eq!(answer.status, 502, "{}", answer.json);
    let (_, text) = answer.error();
    assert!(text.contains("None"), "{text}");
    assert!(
        !text.contains("Traceback") && !text.contains("/opt/odoo"),
        "{text}"
    );
}

#[tokio::test]
async fn legacy_string_fault_codes_are_classified() {
    let (_upstream, stack, token) = quirky_stack().await;
    let path = "/api/res.partner?filters=[('name','=','legacy-missing')]";
    let answer = stack.send(stack.call(Method::GET, path, &token)).await;
    assert_eq!(answer.status, 404, "{}", answer.json);
    assert_eq!(answer.error().0, "object_not_found_in_flectra");
    let path = "/api/res.partner?filters=[('name','=','legacy-denied')]";
    let answer = stack.send(stack.call(Method::GET, path, &token)).await;
    assert_eq!(answer.status, 401, "{}", answer.json);
    assert_eq!(answer.error().0, "access_denied");
}

#[tokio::test]
async fn ids_above_2_to_the_31_travel_both_ways() {
    let (upstream, stack, token) = quirky_stack().await;
    upstream.requests.lock().expect("the requests lock").clear();
    let answer = stack
        .send(stack.call(Method::GET, "/api/res.partner/5000000000", &token))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json[0]["id"], json!(5_000_000_000_i64));
    assert_eq!(
        answer.json[0]["parent_id"],
        json!([4_294_967_296_i64, "Big parent"])
    );
    let sent = upstream.requests.lock().expect("the requests lock").clone();
    // The first read of a model also asks its fields (the caller's readable ones).
    let params = sent
        .iter()
        .map(|body| {
            odoo_rest_proxy::xmlrpc::decode_call(body)
                .expect("a call")
                .1
        })
        .find(|params| params[4] == "search_read")
        .expect("a search_read");
    assert_eq!(params[5], json!([[["id", "=", 5_000_000_000_i64]]]));

    let answer = stack
        .send(
            stack
                .call(Method::POST, "/api/res.partner", &token)
                .form(&[("name", "big")]),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["id"], json!(6_000_000_000_i64));
}

#[tokio::test]
async fn reading_a_missing_or_deleted_id_is_a_404() {
    let (_upstream, stack, token) = quirky_stack().await;
    let answer = stack
        .send(stack.call(Method::GET, "/api/res.partner/7", &token))
        .await;
    assert_eq!(answer.status, 404, "{}", answer.json);

    // The same through the demo ERP: create, delete, read.
    let stack = support::start().await;
    let token = stack.token().await;
    let created = stack
        .send(
            stack
                .call(Method::POST, "/api/res.partner", &token)
                .form(&[("name", "Ephemeral")]),
        )
        .await;
    let id = created.json["id"].as_i64().expect("an id");
    let path = format!("/api/res.partner/{id}");
    assert_eq!(
        stack
            .send(stack.call(Method::DELETE, &path, &token))
            .await
            .status,
        200
    );
    let answer = stack.send(stack.call(Method::GET, &path, &token)).await;
    assert_eq!(answer.status, 404, "{}", answer.json);
    assert_eq!(
        answer.error(),
        (
            "object_not_found_in_flectra",
            format!("Record {id} Not found in res.partner!").as_str()
        )
    );
}

// ---- Nothing internal reaches a client ----

fn fault(code: i64, string: &str) -> Vec<u8> {
    let mut out = Vec::new();
    odoo_rest_proxy::xmlrpc::encode_fault(&mut out, code, string);
    out
}

/// An ERP whose faults quote its database server, its files and its SQL.
fn leaky_erp(method: &str, params: &[Value]) -> Vec<u8> {
    const FRAMES: &str = "Traceback (most recent call last):\n  File \"/opt/odoo/odoo/http.py\", line 398, in dispatch_rpc\n";
    if method == "authenticate" {
        return xml(json!(2));
    }
    let model_method = params.get(4).and_then(Value::as_str).unwrap_or("");
    let args = params.get(5).cloned().unwrap_or(Value::Null);
    let key = match model_method {
        "context_get" => return xml(json!({"lang": "en_US", "tz": false})),
        "read" => return xml(json!([{"id": 2, "company_id": [1, "YourCompany"]}])),
        "fields_get" => return xml(json!({"name": {"type": "char"}})),
        "create" => args[0]["name"].as_str().unwrap_or("").to_owned(),
        _ => args[0][0][2].as_str().unwrap_or("").to_owned(),
    };
    match key.as_str() {
        "pg-down" => fault(1, &format!("{FRAMES}psycopg2.OperationalError: connection to server at \"db.internal\" (10.9.8.7), port 6543 failed: FATAL:  password authentication failed for user \"odoo\"\n")),
        "file" => fault(1, &format!("{FRAMES}FileNotFoundError: [Errno 2] No such file or directory: '/var/lib/odoo/filestore/demo/ab/abcdef'\n")),
        "sql" => fault(2, "invalid input syntax for type integer: \"abc\"\nLINE 1: SELECT \"res_partner\".\"id\" FROM \"res_partner\" WHERE x = 'abc'\n                                                                   ^"),
        "url" => fault(2, "The ERP cannot reach http://10.9.8.7:8069/web/ for this report"),
        _ => xml(json!([])),
    }
}

#[tokio::test]
async fn no_error_body_quotes_a_host_a_port_a_path_or_sql() {
    let upstream = spawn_upstream(Behavior::Rpc(Arc::new(leaky_erp))).await;
    let stack = proxy_for(upstream.url(), |c| {
        c.gate.flag_field = FlagField::None;
        c.gate.allow = vec!["res.partner".into()];
    })
    .await;
    let token = stack.token().await;
    for key in ["pg-down", "file", "sql", "url"] {
        let filters = format!("[('name','=','{key}')]");
        let read = stack
            .call(Method::GET, "/api/res.partner", &token)
            .query(&[("filters", filters.as_str())]);
        let create = stack
            .call(Method::POST, "/api/res.partner", &token)
            .form(&[("name", key)]);
        for request in [read, create] {
            let answer = stack.send(request).await;
            assert_ne!(answer.status, 200, "{key}: {}", answer.json);
            let body = answer.json.to_string();
            for internal in [
                "10.9.8.7",
                "6543",
                "8069",
                "db.internal",
                "/var/lib",
                "/opt/odoo",
                "Traceback",
                "LINE 1",
                "SELECT",
            ] {
                assert!(!body.contains(internal), "{key}: {internal:?} in {body}");
            }
            assert!(!answer.error().1.is_empty(), "{key}: says what happened");
        }
    }
}
