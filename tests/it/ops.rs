//! Operations: the admin listener (healthz, readyz, metrics), request ids, CORS, and `check`
//! against the demo ERP. The access-log line and its secrets: tests/e2e/ops.sh.

use std::time::Duration;

use odoo_rest_proxy::check::{self, Mark};
use odoo_rest_proxy::config::Config;
use odoo_rest_proxy::demo::{self, DemoConfig};
use odoo_rest_proxy::secret::Secret;
use reqwest::Method;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::support::{self, Stack};

/// A proxy in front of `upstream` with the admin endpoints on their own 127.0.0.1:0 listener.
struct Admin {
    proxy: String,
    admin: String,
    http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

async fn start_admin(upstream: String, adjust: impl FnOnce(&mut Config)) -> Admin {
    let mut config = Config::default();
    config.upstream.url = upstream;
    config.admin.probe_interval = Duration::from_millis(50);
    adjust(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxy = format!("http://{}", listener.local_addr().expect("an address"));
    let admin = format!(
        "http://{}",
        admin_listener.local_addr().expect("an address")
    );
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        odoo_rest_proxy::run_with_admin(config, listener, Some(admin_listener), shutdown)
            .await
            .expect("the proxy runs");
    });
    Admin {
        proxy,
        admin,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a client"),
        _stop: stop,
    }
}

impl Admin {
    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.admin))
            .send()
            .await
            .expect("the admin listener answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    /// `/readyz` once its answer has `status` (the probe runs every 50 ms; bounded wait).
    async fn readyz_until(&self, status: u16) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (got, body) = self.get("/readyz").await;
            if got == status && !body.contains("not been probed yet") {
                return serde_json::from_str(&body).expect("JSON");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "readyz stayed {got}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of one sample line of `/metrics`, 0 when the series does not exist yet.
    async fn sample(&self, series: &str) -> f64 {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |value| value.parse().expect("a number"))
    }
}

async fn demo_erp() -> demo::DemoErp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    demo::spawn(listener, DemoConfig::default())
        .await
        .expect("the demo ERP starts")
}

/// A port that refuses connections: bound, then closed.
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn healthz_readyz_and_nothing_else_on_the_admin_listener() {
    let erp = demo_erp().await;
    let stack = start_admin(erp.url(), |_| {}).await;
    let (status, body) = stack.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let ready = stack.readyz_until(200).await;
    assert_eq!(
        ready,
        serde_json::json!({"status": "ready", "upstream": {"version": "18.0", "protocol": "xmlrpc"}})
    );
    // The probe has answered, on its own one-slot limiter: the gauge still shows the clients'
    // limit ([upstream] min_concurrency, 4, where the adaptive limit starts).
    assert_eq!(
        stack
            .sample("odoo_rest_proxy_upstream_concurrency_limit")
            .await,
        4.0
    );
    // The REST API is not on the admin listener, nor the admin endpoints on the main one.
    assert_eq!(stack.get("/api/auth/get_tokens").await.0, 404);
    let main = stack
        .http
        .get(format!("{}/metrics", stack.proxy))
        .send()
        .await
        .expect("an answer");
    assert_ne!(
        main.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/openmetrics-text; version=1.0.0; charset=utf-8"[..])
    );
    let post = stack
        .http
        .post(format!("{}/healthz", stack.admin))
        .send()
        .await
        .expect("an answer");
    assert_eq!(post.status(), 405);
}

#[tokio::test]
async fn readyz_says_why_when_the_upstream_is_down() {
    let stack = start_admin(closed_port().await, |_| {}).await;
    let answer = stack.readyz_until(503).await;
    assert_eq!(answer["status"], "not_ready");
    let reason = answer["reason"].as_str().expect("a reason");
    assert!(reason.contains("cannot be reached"), "{reason}");
    assert_eq!(stack.get("/healthz").await.0, 200);
}

/// An "ERP" that accepts connections and never answers.
async fn silent_erp() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_readiness_probe_takes_no_client_slot() {
    // One slot, taken by a login that the silent ERP never answers: the probe (every 50 ms)
    // must go in flight beside it, not queue behind it.
    // XML-RPC straight away: in `auto` mode the login would first wait on `/web/version`.
    let stack = start_admin(silent_erp().await, |c| {
        c.upstream.min_concurrency = 1;
        c.upstream.max_concurrency = 1;
        c.upstream.protocol = odoo_rest_proxy::odoo::ProtocolChoice::XmlRpc;
    })
    .await;
    assert_eq!(
        stack
            .sample("odoo_rest_proxy_upstream_concurrency_limit")
            .await,
        1.0
    );
    let login = stack
        .http
        .post(format!("{}/api/auth/get_tokens", stack.proxy))
        .form(&[("username", "admin"), ("password", "admin"), ("db", "demo")])
        .send();
    let watch = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while stack.sample("odoo_rest_proxy_upstream_in_flight").await < 2.0 {
            assert_eq!(stack.sample("odoo_rest_proxy_upstream_queued").await, 0.0);
            assert!(
                tokio::time::Instant::now() < deadline,
                "the probe never went in flight"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(stack.sample("odoo_rest_proxy_upstream_queued").await, 0.0);
    };
    tokio::select! {
        _ = login => panic!("the silent ERP answered"),
        () = watch => {}
    }
}

#[tokio::test]
async fn metrics_count_requests_logins_and_upstream_calls() {
    let erp = demo_erp().await;
    let stack = start_admin(erp.url(), |_| {}).await;
    let login_ok = "odoo_rest_proxy_logins_total{outcome=\"ok\"}";
    let login_denied = "odoo_rest_proxy_logins_total{outcome=\"denied\"}";
    let requests =
        "odoo_rest_proxy_http_requests_total{route=\"records\",method=\"GET\",status=\"200\"}";
    let reads = "odoo_rest_proxy_upstream_calls_total{method=\"search_read\",outcome=\"ok\"}";
    assert_eq!(stack.sample(login_ok).await, 0.0);
    let login = |password: &'static str| {
        stack
            .http
            .post(format!("{}/api/auth/get_tokens", stack.proxy))
            .form(&[
                ("username", "admin"),
                ("password", password),
                ("db", "demo"),
            ])
            .send()
    };
    let token: serde_json::Value = login("admin").await.unwrap().json().await.unwrap();
    let token = token["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(login("wrong").await.unwrap().status(), 401);
    for _ in 0..3 {
        let answer = stack
            .http
            .get(format!("{}/api/res.partner?limit=1", stack.proxy))
            .header("access_token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(stack.sample(login_ok).await, 1.0);
    assert_eq!(stack.sample(login_denied).await, 1.0);
    assert_eq!(stack.sample(requests).await, 3.0);
    assert!(stack.sample(reads).await >= 3.0);
    assert_eq!(stack.sample("odoo_rest_proxy_tokens_live").await, 1.0);
    // The gate cache: the first request missed, the next two hit.
    assert_eq!(
        stack
            .sample("odoo_rest_proxy_cache_lookups_total{cache=\"gate\",result=\"hit\"}")
            .await,
        2.0
    );
    let (_, text) = stack.get("/metrics").await;
    // Labels are bounded: no model name, no login, no token.
    assert!(!text.contains("res.partner") && !text.contains("admin") && !text.contains(&token));
}

fn request_id(answer: &support::Answer) -> &str {
    answer.headers["x-request-id"]
        .to_str()
        .expect("an ASCII id")
}

#[tokio::test]
async fn every_response_has_a_request_id_and_pass_through_sends_it_upstream() {
    let stack = support::start().await;
    let given = stack
        .send(
            stack
                .http
                .post(stack.url("/api/auth/get_tokens"))
                .header("x-request-id", "client-id.1:a_b"),
        )
        .await;
    assert_eq!(given.status, 400);
    assert_eq!(request_id(&given), "client-id.1:a_b");
    let bad = stack
        .send(
            stack
                .http
                .get(stack.url("/api/res.partner"))
                .header("x-request-id", "has spaces and <angle>"),
        )
        .await;
    let fresh = request_id(&bad);
    assert_eq!(fresh.len(), 32, "{fresh}");
    assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()));
    // Pass-through: the ERP's echo shows the id it received, and the client gets the same.
    let echo = stack
        .http
        .get(stack.url("/web/echo"))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .expect("an answer");
    assert_eq!(echo.headers()["x-request-id"], "trace-42");
    let body = echo.text().await.expect("the echo");
    assert!(
        body.lines()
            .any(|line| line.eq_ignore_ascii_case("x-request-id: trace-42")),
        "{body}"
    );
    let echo = stack
        .http
        .get(stack.url("/web/echo"))
        .send()
        .await
        .expect("an answer");
    let made = echo.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let body = echo.text().await.expect("the echo");
    assert!(
        body.to_ascii_lowercase()
            .contains(&format!("x-request-id: {made}")),
        "{body}"
    );
}

async fn cors_stack() -> Stack {
    support::start_with(|config| {
        config.cors.allow_origins = vec!["https://app.example.com".into()];
        config.cors.max_age = Duration::from_secs(120);
    })
    .await
}

fn preflight(stack: &Stack, origin: &str) -> reqwest::RequestBuilder {
    stack
        .http
        .request(Method::OPTIONS, stack.url("/api/res.partner"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "access_token")
}

#[tokio::test]
async fn cors_preflights_are_answered_by_the_proxy() {
    let stack = cors_stack().await;
    let ok = preflight(&stack, "https://app.example.com")
        .send()
        .await
        .expect("an answer");
    assert_eq!(ok.status(), 204);
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-methods"], "GET, POST, PUT, DELETE");
    assert_eq!(
        h["access-control-allow-headers"],
        "access_token, Access-Token, Authorization, Content-Type"
    );
    assert_eq!(h["access-control-max-age"], "120");
    assert_eq!(h["vary"], "Origin");
    let refused = stack
        .send(preflight(&stack, "https://evil.example.com"))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.error().0, "cors_origin_not_allowed");
    assert!(refused.headers.get("access-control-allow-origin").is_none());
    // Neither preflight reached the ERP.
    assert!(stack.erp.calls().is_empty(), "{:?}", stack.erp.calls());
}

#[tokio::test]
async fn actual_responses_carry_the_allowed_origin_and_vary() {
    let stack = cors_stack().await;
    let token = stack.token().await;
    let allowed = stack
        .send(
            stack
                .call(Method::GET, "/api/res.partner/1", &token)
                .header("origin", "https://app.example.com"),
        )
        .await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(allowed.headers["vary"], "Origin");
    let other = stack
        .send(
            stack
                .call(Method::GET, "/api/res.partner/1", &token)
                .header("origin", "https://evil.example.com"),
        )
        .await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
    assert_eq!(other.headers["vary"], "Origin");
}

// The access-log line and the absence of secrets in it: tests/e2e/ops.sh (the real binary's
// stderr; a thread-local tracing subscriber races with the other tests' callsites).

fn marks(report: &check::Report) -> Vec<(Mark, &str)> {
    report
        .lines
        .iter()
        .map(|(mark, line)| (*mark, line.split(':').next().unwrap_or_default()))
        .collect()
}

fn with_service(config: &mut Config, password: &str) {
    config.gate.service = Some(odoo_rest_proxy::config::ServiceAccount {
        login: demo::DEMO_LOGIN.into(),
        password: Secret::new(password.to_owned()),
    });
}

#[tokio::test]
async fn check_passes_against_the_demo_erp() {
    let erp = demo_erp().await;
    let mut config = Config::default();
    config.upstream.url = erp.url();
    with_service(&mut config, demo::DEMO_PASSWORD);
    let report = check::run(&config, "proxy.toml", None).await;
    let text = report.render();
    assert!(report.passed(), "{text}");
    assert_eq!(
        marks(&report),
        [
            (Mark::Ok, "config"),
            (Mark::Ok, "upstream"),
            (Mark::Ok, "database"),
            (Mark::Ok, "gate service account"),
            (Mark::Ok, "gate flag"),
            (Mark::Info, "pass-through"),
        ],
        "{text}"
    );
    assert!(text.contains("version 18.0, protocol xmlrpc"), "{text}");
    assert!(text.contains("rest_api on ir.model;"), "{text}");
    assert!(text.contains("res.partner"), "{text}");
    // A database that is not there fails on its own line.
    let report = check::run(&config, "proxy.toml", Some("nope")).await;
    assert!(!report.passed());
    assert!(report
        .render()
        .contains("FAIL database: \"nope\" does not exist"));
}

#[tokio::test]
async fn check_fails_on_a_closed_port_and_a_wrong_service_password() {
    let mut config = Config::default();
    config.upstream.url = closed_port().await;
    let report = check::run(&config, "proxy.toml", None).await;
    assert!(!report.passed());
    let text = report.render();
    assert!(
        text.contains("FAIL upstream:") && text.contains("check [upstream] url"),
        "{text}"
    );
    assert_eq!(report.lines.len(), 2, "{text}");

    let erp = demo_erp().await;
    config.upstream.url = erp.url();
    with_service(&mut config, "wrong-secret-pw");
    let report = check::run(&config, "proxy.toml", Some("demo")).await;
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(
        text.contains("FAIL gate service account: \"admin\" cannot log in to \"demo\""),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-pw"), "{text}");
}
