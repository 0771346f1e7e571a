//! Starts a demo ERP and a proxy in front of it, each on 127.0.0.1:0, over either wire:
//! [`on_both_wires!`] runs a test once per [`Wire`].

use std::net::SocketAddr;

use odoo_rest_proxy::config::Config;
use odoo_rest_proxy::demo::{self, DemoConfig, DemoErp, OdooVersion};
use odoo_rest_proxy::odoo::ProtocolChoice;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// How the proxy talks to the demo ERP in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// An Odoo 18 demo, `protocol = "auto"`: XML-RPC.
    XmlRpc,
    /// An Odoo 19 demo, `protocol = "json2"`: JSON-2, logins with API keys.
    Json2,
    /// A Flectra 1.4 demo: its older XML-RPC dialect.
    Flectra14,
}

tokio::task_local! {
    /// The wire of the test running in this task (XML-RPC when unset).
    pub static WIRE: Wire;
}

/// The wire of the current test.
pub fn wire() -> Wire {
    WIRE.try_with(|wire| *wire).unwrap_or(Wire::XmlRpc)
}

/// Each `async fn name() { ... }` becomes a module `name` with three tests, `xmlrpc` (Odoo
/// 18), `json2` (Odoo 19) and `flectra14`, running the same body with [`WIRE`] set.
#[macro_export]
macro_rules! on_every_upstream {
    ($($(#[$meta:meta])* async fn $name:ident() $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn xmlrpc() {
                $crate::support::WIRE.scope($crate::support::Wire::XmlRpc, async $body).await
            }
            #[tokio::test]
            async fn json2() {
                $crate::support::WIRE.scope($crate::support::Wire::Json2, async $body).await
            }
            #[tokio::test]
            async fn flectra14() {
                $crate::support::WIRE.scope($crate::support::Wire::Flectra14, async $body).await
            }
        }
    )*};
}

/// The secret a demo user logs in with on the current wire: its password over XML-RPC, its
/// API key over JSON-2.
pub fn credential(login: &str) -> &'static str {
    match (wire(), login) {
        (Wire::XmlRpc | Wire::Flectra14, demo::DEMO_LOGIN) => demo::DEMO_PASSWORD,
        (Wire::XmlRpc | Wire::Flectra14, demo::DEMO_USER_LOGIN) => demo::DEMO_USER_PASSWORD,
        (Wire::Json2, demo::DEMO_LOGIN) => demo::DEMO_ADMIN_API_KEY,
        (Wire::Json2, demo::DEMO_USER_LOGIN) => demo::DEMO_USER_API_KEY,
        _ => "no-such-credential",
    }
}

pub struct Stack {
    pub erp: DemoErp,
    /// The dialect the demo ERP speaks.
    pub version: OdooVersion,
    pub wire: Wire,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

/// A demo ERP and a proxy with the default config.
pub async fn start() -> Stack {
    start_with(|_| {}).await
}

/// A demo ERP and a proxy whose config `adjust` may change (the upstream URL is set after).
/// The demo speaks the current test's wire: Odoo 18 over XML-RPC, Odoo 19 over JSON-2, or
/// Flectra 1.4's XML-RPC.
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Stack {
    let version = match wire() {
        Wire::XmlRpc => OdooVersion::Odoo18,
        Wire::Json2 => OdooVersion::Odoo19,
        Wire::Flectra14 => OdooVersion::Flectra14,
    };
    start_with_on(version, adjust).await
}

/// A demo ERP speaking `version`'s dialect and a proxy whose config `adjust` may change;
/// over JSON-2 when the current test's wire is JSON-2.
pub async fn start_with_on(version: OdooVersion, adjust: impl FnOnce(&mut Config)) -> Stack {
    let erp_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the demo ERP");
    let wire = wire();
    let erp = demo::spawn(
        erp_listener,
        DemoConfig {
            keep_alive: false,
            odoo_version: version,
            ..Default::default()
        },
    )
    .await
    .expect("the demo ERP starts");
    let mut config = Config::default();
    config.upstream.url = format!("http://{}", erp.addr());
    if wire == Wire::Json2 {
        config.upstream.protocol = ProtocolChoice::Json2;
    }
    adjust(&mut config);
    let mut stack = start_proxy(erp, config).await;
    stack.version = version;
    stack
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
        version: OdooVersion::Odoo18,
        wire: wire(),
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
    /// The demo's name for the service a record call reaches on this stack's wire.
    pub fn rpc_service(&self) -> &'static str {
        match self.wire {
            Wire::XmlRpc | Wire::Flectra14 => "object",
            Wire::Json2 => "json2",
        }
    }

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

    /// Logs in; a demo user's password becomes its API key over JSON-2.
    pub async fn login_as(&self, login: &str, password: &str) -> Answer {
        let password = match (login, password) {
            (demo::DEMO_LOGIN, demo::DEMO_PASSWORD)
            | (demo::DEMO_USER_LOGIN, demo::DEMO_USER_PASSWORD) => credential(login),
            _ => password,
        };
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

/// The real binary in a process of its own; killed when dropped.
pub struct Running {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `odoo-rest-proxy ARGS... --listen 127.0.0.1:0` (run where no proxy.toml is), and the
/// address it prints; within 5 s.
pub async fn spawn_binary(args: &[&str]) -> Running {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_odoo-rest-proxy"))
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped");
    let addr = tokio::task::spawn_blocking(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.ok()?;
            if let Some(addr) = line.strip_prefix("odoo-rest-proxy listening on http://") {
                return addr.trim().parse().ok();
            }
        }
        None
    });
    let addr = tokio::time::timeout(std::time::Duration::from_secs(5), addr)
        .await
        .expect("the address is printed in time")
        .expect("the reader ends")
        .expect("an address line");
    Running { child, addr }
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A `/proc/<pid>/status` figure in bytes (`VmRSS`, `VmHWM`); `None` off Linux.
    pub fn memory(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status
            .lines()
            .find(|line| line.split(':').next() == Some(field))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Resets the process's peak resident memory (`VmHWM`) to its current one; false when
    /// the kernel does not allow it.
    pub fn reset_peak_memory(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").is_ok()
    }
}
