//! `OdooClient`: the only code that talks to the upstream ERP. It sends XML-RPC calls, or Odoo
//! 19's JSON-2 calls ([`Protocol`]), over http or https (the keep-alive connections of
//! [`crate::pool`], rustls for TLS), every call
//! through the shared [`Limiter`] (login included), retries a call only when it provably did
//! not run, and turns every way an answer can go wrong into an [`UpstreamError`], the same
//! whatever the wire. It knows nothing of REST or tokens.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Uri};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use serde_json::Value;
use tokio::time::Instant;

use crate::json2::{self, Json2Error};
use crate::metrics::{Metrics, Outcome as CallOutcome, UpstreamMethod};
use crate::plumbing::{full, Body};
use crate::pool::{innermost, Pool, Streamed};
use crate::secret::Secret;
use crate::xmlrpc::{self, Fault, FaultCode, Param};

mod fault;
mod limiter;
mod protocol;
mod version;

pub use fault::{sanitize, OdooFault};
pub use limiter::{Limiter, LimiterConfig, Outcome, Overload, Permit};
pub use protocol::{Protocol, ProtocolChoice};
pub use version::ServerVersion;

/// How to reach the upstream ERP. Its `Debug` shows the URL without any `user:password@`.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// Base URL, e.g. `http://127.0.0.1:8069` (no trailing path).
    pub url: String,
    pub connect_timeout: Duration,
    /// Whole-call deadline: connect, send, wait, read.
    pub timeout: Duration,
    /// The ceiling of the adaptive limit on calls in flight; the rest wait their turn.
    pub max_concurrency: usize,
    /// The floor of the adaptive limit, where it starts (`== max_concurrency`: a fixed limit).
    pub min_concurrency: usize,
    /// At most this many calls wait for a slot; past it, 503 `erp_overloaded`.
    pub max_queue: usize,
    /// A call waits at most this long for a slot; past it, 503 `erp_overloaded`.
    pub queue_timeout: Duration,
    /// An answer larger than this is refused as unreadable.
    pub max_response_bytes: usize,
    /// `[upstream] protocol`: XML-RPC, JSON-2, or JSON-2 where the ERP is 19 or later.
    pub protocol: ProtocolChoice,
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("url", &crate::secret::redact_url(&self.url.to_string()))
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_concurrency", &self.max_concurrency)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// Every way an upstream call can fail. Display is fit for a client: no secret, no traceback.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the ERP cannot be reached ({0})")]
    Unreachable(String),
    /// The connection broke after the call may have been sent: it may have run.
    #[error("the ERP cannot be reached ({0})")]
    ConnectionLost(String),
    #[error("the ERP did not answer in time")]
    Timeout,
    #[error("the ERP answered HTTP {status} with an {kind} page instead of an RPC answer")]
    HttpError { status: u16, kind: &'static str },
    #[error("the ERP's answer is unreadable: {0}")]
    Unreadable(String),
    #[error("{0}")]
    Fault(#[from] OdooFault),
    /// The ERP (or the proxy's queue in front of it) refused to run the call now.
    #[error("{0}")]
    Overloaded(Overload),
}

impl UpstreamError {
    /// An answer that proves the call did not run, so that sending it again is safe: no
    /// connection could be made (refused, reset or timed out while connecting: nothing was
    /// sent), the ERP's cursor pool or PostgreSQL was full, or the ERP failed
    /// while setting the request up (an HTML 500 from `/xmlrpc/2/*`).
    pub fn did_not_run(&self) -> bool {
        match self {
            UpstreamError::Overloaded(overload) => matches!(
                overload,
                Overload::PoolFull | Overload::TooManyClients | Overload::SetupFailed
            ),
            UpstreamError::Unreachable(_) => true,
            _ => false,
        }
    }
}

/// An XML-RPC client for one upstream ERP. Cheap to clone; one connection pool for all the
/// clones of one thread ([`OdooClient::with_own_pool`] for another thread's).
#[derive(Clone)]
pub struct OdooClient {
    pool: Arc<Pool>,
    /// The upstream URL as configured (no userinfo: refused), for `Debug` and new pools.
    url: Uri,
    /// `host[:port]` of the upstream, the `Host` of every call.
    host: HeaderValue,
    /// The paths called, in origin form under the upstream's base path, built once.
    common_path: Uri,
    object_path: Uri,
    db_path: Uri,
    web_version_path: Uri,
    limiter: Arc<Limiter>,
    timeout: Duration,
    max_response_bytes: usize,
    /// `common.version()`, asked once and shared by every clone.
    server_version: Arc<tokio::sync::OnceCell<Option<ServerVersion>>>,
    choice: ProtocolChoice,
    detected: Arc<protocol::Detected>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for OdooClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OdooClient")
            .field("url", &crate::secret::redact_url(&self.url.to_string()))
            .finish_non_exhaustive()
    }
}

impl OdooClient {
    pub fn new(config: &UpstreamConfig) -> Result<OdooClient, String> {
        let base = config.url.trim_end_matches('/');
        if crate::secret::has_userinfo(base) {
            return Err(format!(
                "the upstream URL {}",
                crate::config::USERINFO_REFUSED
            ));
        }
        let parsed: Uri = base
            .parse()
            .map_err(|e| format!("invalid upstream URL: {e}"))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) {
            return Err("the upstream URL must start with http:// or https://".into());
        }
        let authority = parsed
            .authority()
            .ok_or("the upstream URL has no host")?
            .as_str();
        let base_path = parsed.path().trim_end_matches('/');
        let path = |tail: &str| -> Result<Uri, String> {
            format!("{base_path}{tail}")
                .parse()
                .map_err(|e| format!("invalid upstream URL: {e}"))
        };
        Ok(OdooClient {
            pool: Arc::new(pool(&parsed, config)?),
            url: parsed.clone(),
            host: HeaderValue::from_str(authority)
                .map_err(|e| format!("invalid upstream URL: {e}"))?,
            common_path: path("/xmlrpc/2/common")?,
            object_path: path("/xmlrpc/2/object")?,
            db_path: path("/xmlrpc/2/db")?,
            web_version_path: path("/web/version")?,
            limiter: Arc::new(Limiter::new(LimiterConfig {
                min_concurrency: config.min_concurrency,
                max_concurrency: config.max_concurrency,
                max_queue: config.max_queue,
                queue_timeout: config.queue_timeout,
            })),
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
            server_version: Arc::default(),
            choice: config.protocol,
            detected: Arc::default(),
            metrics: Arc::new(Metrics::new()),
        })
    }

    /// The same client, recording its calls in `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> OdooClient {
        metrics.set_upstream_concurrency_limit(self.limiter.limit());
        OdooClient { metrics, ..self }
    }

    /// Where this client records its calls.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The same client with a connection pool of its own, for another thread's runtime; the
    /// limiter (and its queue) stays shared.
    pub fn with_own_pool(&self, config: &UpstreamConfig) -> Result<OdooClient, String> {
        Ok(OdooClient {
            pool: Arc::new(pool(&self.url, config)?),
            ..self.clone()
        })
    }

    /// The limiter every call goes through, for its read-outs (in flight, queued, limit).
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// The same client with a limiter of its own, one call at a time (the readiness probe's,
    /// which must never take a client's place); metrics stay shared.
    pub fn with_own_slots(&self) -> OdooClient {
        OdooClient {
            limiter: Arc::new(Limiter::new(LimiterConfig {
                min_concurrency: 1,
                max_concurrency: 1,
                max_queue: 1,
                queue_timeout: self.timeout,
            })),
            ..self.clone()
        }
    }

    /// `common.version()`.
    pub async fn version(&self) -> Result<Value, UpstreamError> {
        self.xmlrpc_call(&self.common_path, "version", &[], Value::read)
            .await
    }

    /// The upstream's version, from `common.version()` on first use and cached from then on.
    /// `None` (cached too) when the ERP answers without a readable version; a call that did
    /// not get an answer (unreachable, timeout, HTTP error) is not cached.
    pub async fn server_version(&self) -> Result<Option<ServerVersion>, UpstreamError> {
        self.server_version
            .get_or_try_init(|| async {
                match self.version().await {
                    Ok(answer) => Ok(ServerVersion::from_answer(&answer)),
                    Err(UpstreamError::Fault(_) | UpstreamError::Unreadable(_)) => Ok(None),
                    Err(other) => Err(other),
                }
            })
            .await
            .copied()
    }

    /// `[upstream] protocol` as configured.
    pub fn protocol_choice(&self) -> ProtocolChoice {
        self.choice
    }

    /// Whether logins should try JSON-2: always in `json2` mode, never in `xmlrpc` mode, and
    /// in `auto` mode when `GET /web/version` says 19 or later (asked once, and again after
    /// the ERP was unreachable; no answer means XML-RPC).
    pub async fn offers_json2(&self) -> bool {
        match self.choice {
            ProtocolChoice::XmlRpc => false,
            ProtocolChoice::Json2 => true,
            ProtocolChoice::Auto => match self.detected.json2() {
                Some(known) => known,
                None => match self.web_version().await {
                    Ok(major) => {
                        let json2 = major.is_some_and(|major| major >= 19);
                        self.detected.set(json2);
                        json2
                    }
                    // No answer: XML-RPC for now, asked again at the next login.
                    Err(()) => false,
                },
            },
        }
    }

    /// The wire logins get: JSON-2 where [`OdooClient::offers_json2`] says so (API keys; a
    /// password still gets XML-RPC in `auto` mode), else XML-RPC.
    pub async fn protocol_in_use(&self) -> Protocol {
        if self.offers_json2().await {
            Protocol::Json2
        } else {
            Protocol::XmlRpc
        }
    }

    /// The major version `GET /web/version` gives: `Ok(None)` when the ERP answers without one
    /// (an ERP older than the route, such as Flectra 1.x: the answer is kept, not asked at
    /// every login), `Err` when it does not answer at all.
    async fn web_version(&self) -> Result<Option<i64>, ()> {
        let request = self.request(http::Method::GET, &self.web_version_path, Bytes::new());
        let (status, _, bytes) = self.exchange(request, self.timeout).await.map_err(|_| ())?;
        if !(200..300).contains(&status) {
            return Ok(None);
        }
        Ok(json2::major_version(&bytes))
    }

    /// `db.list()`: the databases, where the server allows listing them (else a fault).
    pub async fn list_databases(&self) -> Result<Vec<String>, UpstreamError> {
        let answer = self
            .xmlrpc_call(&self.db_path, "list", &[], Value::read)
            .await?;
        match answer {
            Value::Array(names) => Ok(names
                .into_iter()
                .filter_map(|name| name.as_str().map(str::to_owned))
                .collect()),
            other => Err(UpstreamError::Unreadable(format!(
                "db.list answered {} instead of an array",
                kind_of(&other)
            ))),
        }
    }

    /// `common.authenticate(db, login, password, {})`: the uid, or `None` for a wrong login.
    pub async fn authenticate(
        &self,
        db: &str,
        login: &str,
        password: &Secret,
    ) -> Result<Option<i64>, UpstreamError> {
        let no_context = Value::Object(Default::default());
        let params = [
            Param::Str(db),
            Param::Str(login),
            Param::Secret(password),
            Param::Value(&no_context),
        ];
        let uid = self
            .xmlrpc_call(&self.common_path, "authenticate", &params, Value::read)
            .await?;
        match uid {
            Value::Number(uid) => match uid.as_i64() {
                Some(uid) if uid > 0 => Ok(Some(uid)),
                _ => Err(UpstreamError::Unreadable(format!("uid {uid} is not valid"))),
            },
            Value::Bool(false) => Ok(None),
            other => Err(UpstreamError::Unreadable(format!(
                "authenticate answered {} instead of a uid",
                kind_of(&other)
            ))),
        }
    }

    /// `object.execute_kw(db, uid, password, model, method, args[, kwargs])`, its answer read as
    /// `T`: a [`Value`], or [`xmlrpc::Json`] text for an answer passed on as it is.
    #[allow(clippy::too_many_arguments)]
    pub async fn execute_kw<T: Answer>(
        &self,
        db: &str,
        uid: i64,
        password: &Secret,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Option<Value>,
    ) -> Result<T, UpstreamError> {
        let all = [
            Param::Str(db),
            Param::Int(uid),
            Param::Secret(password),
            Param::Str(model),
            Param::Str(method),
            Param::Value(&args),
            Param::Value(kwargs.as_ref().unwrap_or(&Value::Null)),
        ];
        let params = if kwargs.is_some() {
            &all[..]
        } else {
            &all[..6]
        };
        self.xmlrpc_call(&self.object_path, "execute_kw", params, T::read)
            .await
    }

    /// `execute_kw` on the wire of `protocol`: over JSON-2, `POST /json/2/<model>/<method>`
    /// with `secret` (an API key) as the Bearer token, the positional `args` named, and the
    /// database always in `X-Odoo-Database` (quirk Q15). `uid` is only sent over XML-RPC.
    /// The answer and every error are the same as over XML-RPC (a one-dict `create` answers
    /// its id, a 401 is [`OdooFault::AccessDenied`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn call_kw<T: Answer>(
        &self,
        protocol: Protocol,
        db: &str,
        uid: i64,
        secret: &Secret,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Option<Value>,
    ) -> Result<T, UpstreamError> {
        if protocol == Protocol::XmlRpc {
            return self
                .execute_kw(db, uid, secret, model, method, args, kwargs)
                .await;
        }
        let one_dict_create = method == "create" && args.get(0).is_some_and(Value::is_object);
        let body = json2::request_body(method, &args, kwargs.as_ref())
            .map_err(|e| UpstreamError::Unreadable(format!("cannot send over JSON-2: {e}")))?;
        let path = json2_path(self.url.path().trim_end_matches('/'), model, method)?;
        // A database name or key that no header can carry names no database, no user.
        let database = HeaderValue::from_str(db)
            .map_err(|_| UpstreamError::Fault(OdooFault::UnknownDatabase(db.to_owned())))?;
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", secret.expose()))
            .map_err(|_| UpstreamError::Fault(OdooFault::AccessDenied))?;
        bearer.set_sensitive(true);
        let body = Bytes::from(body);
        let build = || {
            let mut request = self.request(http::Method::POST, &path, body.clone());
            let headers = request.headers_mut();
            headers.insert(header::CONTENT_TYPE, APPLICATION_JSON);
            headers.insert(X_ODOO_DATABASE, database.clone());
            headers.insert(header::AUTHORIZATION, bearer.clone());
            request
        };
        let read = |status: u16, content_type: Option<&str>, bytes: Vec<u8>| {
            // A 503, or a 500 that is not JSON-2's own error body, came before the method ran.
            let is_json = content_type.is_some_and(|v| v.contains("json"));
            if status == 503 || !is_json {
                if let Some(overload) = fault::overload_status(status, false) {
                    return Err(UpstreamError::Overloaded(overload));
                }
            }
            let answer = json2::read_response(status, content_type, bytes)
                .and_then(|answer| {
                    if one_dict_create {
                        json2::single_create_id(answer)
                    } else {
                        Ok(answer)
                    }
                })
                .map_err(|e| json2_error(e, db))?;
            T::from_json2(answer).map_err(UpstreamError::Unreadable)
        };
        self.call(UpstreamMethod::of(method), build, read).await
    }

    /// Over JSON-2, who an API key is: `res.users/context_get` (uid, lang, tz); `None` when
    /// the ERP refuses the key (401: not a key, revoked or expired).
    pub async fn json2_context(
        &self,
        db: &str,
        key: &Secret,
    ) -> Result<Option<Value>, UpstreamError> {
        match self
            .call_kw::<Value>(
                Protocol::Json2,
                db,
                0,
                key,
                "res.users",
                "context_get",
                Value::Array(Vec::new()),
                None,
            )
            .await
        {
            Ok(context) => Ok(Some(context)),
            Err(UpstreamError::Fault(OdooFault::AccessDenied)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn xmlrpc_call<T>(
        &self,
        path: &Uri,
        method: &str,
        params: &[Param<'_>],
        decode: impl Fn(&[u8]) -> Result<Result<T, Fault>, xmlrpc::DecodeError>,
    ) -> Result<T, UpstreamError> {
        let mut body = Vec::with_capacity(1024);
        xmlrpc::encode_call_params(&mut body, method, params);
        let body = Bytes::from(body);
        let build = || {
            let mut request = self.request(http::Method::POST, path, body.clone());
            request.headers_mut().insert(header::CONTENT_TYPE, TEXT_XML);
            request
        };
        let read = |status: u16, content_type: Option<&str>, bytes: Vec<u8>| {
            let is_xml = content_type.is_some_and(|v| v.contains("xml"));
            if !(200..300).contains(&status) || !is_xml {
                if let Some(overload) = fault::overload_status(status, is_xml) {
                    return Err(UpstreamError::Overloaded(overload));
                }
                let kind = if is_xml { "XML" } else { "HTML or other" };
                return Err(UpstreamError::HttpError { status, kind });
            }
            match decode(&bytes) {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(fault)) => Err(match fault::overload_fault(&fault) {
                    Some(overload) => UpstreamError::Overloaded(overload),
                    None => UpstreamError::Fault(OdooFault::classify(fault)),
                }),
                Err(e) => Err(UpstreamError::Unreadable(e.to_string())),
            }
        };
        // execute_kw's ERP method is its fifth parameter.
        let erp_method = match (method, params.get(4)) {
            ("execute_kw", Some(Param::Str(name))) => UpstreamMethod::of(name),
            _ => UpstreamMethod::of(method),
        };
        self.call(erp_method, build, read).await
    }

    /// One call on either wire, recorded (ERP method, outcome, duration) in the metrics and in
    /// the request's upstream time: the one place where upstream calls are counted.
    async fn call<T>(
        &self,
        erp_method: UpstreamMethod,
        build: impl Fn() -> Request<Body>,
        read: impl Fn(u16, Option<&str>, Vec<u8>) -> Result<T, UpstreamError>,
    ) -> Result<T, UpstreamError> {
        let started = Instant::now();
        let result = self.call_with_retries(build, read).await;
        let elapsed = started.elapsed();
        self.metrics
            .upstream_call(erp_method, outcome(&result), elapsed);
        crate::access::add_upstream_time(elapsed);
        result
    }

    /// The one call path of both wires: a slot from the limiter, the request made by `build`
    /// (given the time left), its answer read by `read` from the status, the content type and
    /// the whole (capped) body. Sent again, with jittered backoff inside the call's deadline,
    /// only while the answer proves the call did not run.
    async fn call_with_retries<T>(
        &self,
        build: impl Fn() -> Request<Body>,
        read: impl Fn(u16, Option<&str>, Vec<u8>) -> Result<T, UpstreamError>,
    ) -> Result<T, UpstreamError> {
        let deadline = Instant::now() + self.timeout;
        let mut attempt = 0;
        loop {
            let queued = self.metrics.upstream_queued();
            let permit = self
                .limiter
                .acquire(attempt > 0)
                .await
                .map_err(UpstreamError::Overloaded)?;
            drop(queued);
            let in_flight = self.metrics.upstream_in_flight();
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(UpstreamError::Timeout);
            }
            let result = match self.exchange(build(), remaining).await {
                Ok((status, content_type, bytes)) => read(status, content_type.as_deref(), bytes),
                Err(error) => Err(error),
            };
            permit.finish(match &result {
                Ok(_) | Err(UpstreamError::Fault(_)) => Outcome::Answered,
                Err(UpstreamError::Overloaded(_) | UpstreamError::Timeout) => Outcome::Overloaded,
                Err(_) => Outcome::Ignored,
            });
            drop(in_flight);
            let error = match result {
                Err(error) if error.did_not_run() => error,
                other => return other,
            };
            attempt += 1;
            let backoff = retry_backoff(attempt);
            if attempt >= MAX_ATTEMPTS || Instant::now() + backoff >= deadline {
                return Err(error);
            }
            tracing::debug!(attempt, error = %error, "retrying a call that did not run");
            tokio::time::sleep(backoff).await;
        }
    }

    /// A request for `path` with the upstream's `Host` and `body`.
    fn request(&self, method: http::Method, path: &Uri, body: Bytes) -> Request<Body> {
        let mut request = Request::new(full(body));
        *request.method_mut() = method;
        *request.uri_mut() = path.clone();
        request
            .headers_mut()
            .insert(header::HOST, self.host.clone());
        request
    }

    /// Sends one request within `timeout`: the status, the content type and the whole
    /// (capped) body. An unreachable ERP makes `auto` ask its version again.
    async fn exchange(
        &self,
        request: Request<Body>,
        timeout: Duration,
    ) -> Result<(u16, Option<String>, Vec<u8>), UpstreamError> {
        let exchange = async {
            let response = self.pool.send(request).await?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = read_body(response.into_body(), self.max_response_bytes).await?;
            Ok((status, content_type, bytes))
        };
        let result = tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(UpstreamError::Timeout));
        if matches!(result, Err(UpstreamError::Unreachable(_))) {
            self.detected.forget();
        }
        result
    }
}

/// Reads the whole answer, refusing one larger than `cap`.
async fn read_body(mut body: Streamed, cap: usize) -> Result<Vec<u8>, UpstreamError> {
    let hint = body.size_hint().exact().unwrap_or(0);
    if hint > cap as u64 {
        return Err(too_large(cap));
    }
    let mut bytes = Vec::with_capacity((hint as usize).max(1024));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            UpstreamError::Unreadable(format!("the body broke off: {}", innermost(&e)))
        })?;
        if let Ok(chunk) = frame.into_data() {
            if bytes.len() + chunk.len() > cap {
                return Err(too_large(cap));
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    Ok(bytes)
}

/// The connections of one thread to the upstream at `url`.
fn pool(url: &Uri, config: &UpstreamConfig) -> Result<Pool, String> {
    Pool::new(url, config.connect_timeout, config.max_concurrency.max(1))
}

/// `{base}/json/2/{model}/{method}`, each name percent-encoded where it is not a plain
/// name (model and method names are; this only keeps odd input from breaking the path).
fn json2_path(base: &str, model: &str, method: &str) -> Result<Uri, UpstreamError> {
    let mut path = format!("{base}/json/2");
    for name in [model, method] {
        path.push('/');
        for byte in name.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'~' => {
                    path.push(char::from(byte));
                }
                _ => path.push_str(&format!("%{byte:02X}")),
            }
        }
    }
    path.parse()
        .map_err(|e| UpstreamError::Unreadable(format!("cannot build the JSON-2 path: {e}")))
}

/// The metrics label of how a call ended.
fn outcome<T>(result: &Result<T, UpstreamError>) -> CallOutcome {
    let Err(error) = result else {
        return CallOutcome::Ok;
    };
    match error {
        UpstreamError::Unreachable(_) | UpstreamError::ConnectionLost(_) => {
            CallOutcome::Unreachable
        }
        UpstreamError::Overloaded(_) => CallOutcome::Overloaded,
        UpstreamError::Timeout => CallOutcome::Timeout,
        UpstreamError::HttpError {
            status: 429 | 503, ..
        } => CallOutcome::Overloaded,
        UpstreamError::HttpError { .. } | UpstreamError::Unreadable(_) => CallOutcome::BadResponse,
        UpstreamError::Fault(fault) => match fault {
            OdooFault::AccessDenied => CallOutcome::AccessDenied,
            OdooFault::AccessError(_) => CallOutcome::AccessError,
            OdooFault::MissingRecord(_)
            | OdooFault::UnknownModel(_)
            | OdooFault::UnknownDatabase(_) => CallOutcome::Missing,
            OdooFault::UserError(_) => CallOutcome::UserError,
            // The method ran; only its answer (None) could not be carried.
            OdooFault::ReturnedNone => CallOutcome::Ok,
            OdooFault::ServerError { .. } => CallOutcome::ServerError,
        },
    }
}

/// A call that did not run is sent at most this many times in all.
const MAX_ATTEMPTS: u32 = 6;

/// Full jitter over an exponential step: 0..5 ms, 0..10 ms, ... capped at 0..160 ms.
fn retry_backoff(attempt: u32) -> Duration {
    let ceiling_ms = 5u64 << attempt.min(5);
    Duration::from_micros(rand::random_range(1_000..=ceiling_ms * 1_000))
}

const TEXT_XML: HeaderValue = HeaderValue::from_static("text/xml");
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
const X_ODOO_DATABASE: HeaderName = HeaderName::from_static("x-odoo-database");

/// How an `execute_kw` answer is read.
pub trait Answer: Sized {
    fn read(bytes: &[u8]) -> Result<Result<Self, Fault>, xmlrpc::DecodeError>;
    /// From a JSON-2 answer (already JSON, already checked).
    fn from_json2(answer: json2::Success) -> Result<Self, String>;
}

/// Decoded into a `Value`.
impl Answer for Value {
    fn read(bytes: &[u8]) -> Result<Result<Value, Fault>, xmlrpc::DecodeError> {
        xmlrpc::decode_response(bytes)
    }
    fn from_json2(answer: json2::Success) -> Result<Value, String> {
        serde_json::from_slice(&answer.text).map_err(|e| e.to_string())
    }
}

/// Transcoded straight to JSON text, no `Value` built; over JSON-2 the answer's own text.
impl Answer for xmlrpc::Json {
    fn read(bytes: &[u8]) -> Result<Result<xmlrpc::Json, Fault>, xmlrpc::DecodeError> {
        xmlrpc::transcode_response(bytes)
    }
    fn from_json2(answer: json2::Success) -> Result<xmlrpc::Json, String> {
        Ok(xmlrpc::Json {
            text: answer.text,
            array_len: answer.array_len,
        })
    }
}

/// A JSON-2 error as the XML-RPC fault that means the same, so that nothing above `odoo`
/// knows the wire. The traceback (`debug`) stays in `ServerError::traceback`, which no
/// client-facing text shows.
fn json2_error(error: Json2Error, db: &str) -> UpstreamError {
    let fault = match error {
        Json2Error::Unauthorized { .. } => OdooFault::AccessDenied,
        Json2Error::AccessError { message } => OdooFault::AccessError(message),
        Json2Error::Missing { message } => OdooFault::MissingRecord(message),
        Json2Error::UnknownModel { model } => OdooFault::UnknownModel(model),
        Json2Error::UserError { message } => OdooFault::UserError(message),
        Json2Error::NoDatabase => OdooFault::UnknownDatabase(db.to_owned()),
        Json2Error::BadArguments { message } => OdooFault::ServerError {
            class: "TypeError".into(),
            message,
            traceback: String::new(),
        },
        Json2Error::NotFound { message } | Json2Error::BadRequest { message } => {
            OdooFault::ServerError {
                class: "ProtocolError".into(),
                message,
                traceback: String::new(),
            }
        }
        Json2Error::ServerError {
            class,
            message,
            debug,
        } => {
            // The cursor pool or PostgreSQL was full: raised before the method ran.
            let raised = Fault {
                code: FaultCode::Int(1),
                string: format!("{class}: {message}"),
            };
            if let Some(overload) = fault::overload_fault(&raised) {
                return UpstreamError::Overloaded(overload);
            }
            OdooFault::ServerError {
                class,
                message,
                traceback: debug,
            }
        }
        Json2Error::Http { status } => {
            return UpstreamError::HttpError {
                status,
                kind: "HTML or other",
            }
        }
        Json2Error::Unreadable(why) => return UpstreamError::Unreadable(why),
    };
    UpstreamError::Fault(fault)
}

fn too_large(limit: usize) -> UpstreamError {
    UpstreamError::Unreadable(format!("the answer is larger than {limit} bytes"))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a struct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Operation};

    /// A recorded Odoo 19 answer through the codec and [`json2_error`], as the REST client
    /// would see it on a read: (status, error code), and no traceback in the text.
    fn rest_error(n: u32) -> (u16, &'static str, String) {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odoo19-json2");
        let name = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find(|name| name.starts_with(&format!("{n:02}-")) && name.ends_with(".response.http"))
            .unwrap();
        let raw = std::fs::read(dir.join(name)).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .map(str::to_owned);
        let error =
            json2::read_response(status, content_type.as_deref(), raw[split + 4..].to_vec())
                .map(|_| ())
                .unwrap_err();
        let error = Error::upstream(Operation::Read, json2_error(error, "rest19"));
        (error.status().as_u16(), error.code(), error.description())
    }

    #[test]
    fn json2_errors_reach_rest_clients_as_the_xmlrpc_faults_that_mean_the_same() {
        let cases: &[(u32, u16, &str)] = &[
            // 401: the key is refused (on a call, api turns this into invalid_token).
            (43, 401, "access_denied"),
            (46, 401, "access_denied"),
            (18, 403, "access_error"),
            (38, 403, "access_error"),
            (91, 403, "access_error"),
            // records turns these two into Flectra's "Record N Not found" / "Modal X Not Found!".
            (14, 404, "object_not_found_in_flectra"),
            (16, 404, "object_not_found_in_flectra"),
            (35, 400, "invalid_request"),
            (37, 400, "invalid_request"),
            (21, 400, "invalid_request"),
            (69, 400, "invalid_request"),
            (29, 400, "invalid_request"),
            (30, 400, "invalid_request"),
            (32, 400, "invalid_request"),
            (33, 400, "invalid_request"),
            (50, 400, "invalid_database"),
            (17, 502, "upstream_error"),
            (65, 502, "upstream_error"),
            (66, 502, "upstream_bad_response"),
            (95, 502, "upstream_bad_response"),
        ];
        for &(n, status, code) in cases {
            let (got_status, got_code, text) = rest_error(n);
            assert_eq!((got_status, got_code), (status, code), "#{n}: {text}");
            assert!(
                !text.contains("Traceback") && !text.contains("/opt/odoo"),
                "#{n}: {text}"
            );
        }
        assert_eq!(
            rest_error(33).2,
            "ValueError: Invalid field 'nope' on model 'res.partner'"
        );
    }
}
