//! Starts a demo ERP and a proxy in front of it, each on 127.0.0.1:0.

use std::net::SocketAddr;

use odoo_rest_proxy::config::Config;
use odoo_rest_proxy::demo::{self, DemoConfig, DemoErp};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct Stack {
    pub erp: DemoErp,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

/// A demo ERP and a proxy with the default config.
pub async fn start() -> Stack {
    start_with(|_| {}).await
}

/// A demo ERP and a proxy whose config `adjust` may change (the upstream URL is set after).
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Stack {
    let erp_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the demo ERP");
    let erp = demo::spawn(
        erp_listener,
        DemoConfig {
            keep_alive: false,
            ..Default::default()
        },
    )
    .await
    .expect("the demo ERP starts");
    let mut config = Config::default();
    config.upstream.url = format!("http://{}", erp.addr());
    adjust(&mut config);
    start_proxy(erp, config).await
}

pub async fn start_proxy(erp: DemoErp, config: Config) -> Stack {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        odoo_rest_proxy::run(config, listener, shutdown)
            .await
            .expect("the proxy runs");
    });
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("a reqwest client");
    Stack {
        erp,
        addr,
        http,
        _stop: stop,
    }
}

/// A response, read whole: status, headers and JSON body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Answer {
    pub fn error(&self) -> (&str, &str) {
        (
            self.json["error"].as_str().unwrap_or_default(),
            self.json["error_descrip"].as_str().unwrap_or_default(),
        )
    }
}

impl Stack {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the proxy answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a whole body");
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        Answer {
            status,
            headers,
            json,
        }
    }

    pub async fn login_as(&self, login: &str, password: &str) -> Answer {
        let form = [
            ("username", login),
            ("password", password),
            ("db", demo::DEMO_DB),
        ];
        self.send(self.http.post(self.url("/api/auth/get_tokens")).form(&form))
            .await
    }

    /// Logs in as the demo admin and returns the token.
    pub async fn token(&self) -> String {
        let answer = self.login_as(demo::DEMO_LOGIN, demo::DEMO_PASSWORD).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        answer.json["access_token"]
            .as_str()
            .expect("a token")
            .to_owned()
    }

    /// A request with the token in Flectra's `access_token` header.
    pub fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("access_token", token)
    }
}

/// Arbitrary JSON values for the codec's properties: finite floats, any strings plus strings of
/// the `text` pattern, and struct member names from `key` (the XML codec cannot carry control
/// characters, the JSON transcoder must escape them).
pub fn arbitrary_value(
    text: &'static str,
    key: proptest::strategy::BoxedStrategy<String>,
) -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |float| float.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// One edit of a fixture: overwrite, insert or delete a byte, or truncate.
pub fn mutate(mut bytes: Vec<u8>, edits: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(kind, at, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        match kind % 4 {
            0 => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            2 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}
