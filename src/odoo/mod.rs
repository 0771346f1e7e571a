//! `OdooClient`: the only code that talks to the upstream ERP. It sends XML-RPC calls over
//! http or https (reqwest with rustls), caps concurrent calls, and turns every way an answer can
//! go wrong into an [`UpstreamError`]. It knows nothing of REST or tokens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;

use crate::metrics::{Metrics, Outcome, UpstreamMethod};
use crate::secret::Secret;
use crate::xmlrpc::{self, Fault, Param};

mod fault;

pub use fault::OdooFault;

/// How to reach the upstream ERP.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Base URL, e.g. `http://127.0.0.1:8069` (no trailing path).
    pub url: String,
    pub connect_timeout: Duration,
    /// Whole-call deadline: connect, send, wait, read.
    pub timeout: Duration,
    /// At most this many calls in flight; the rest wait their turn.
    pub max_concurrency: usize,
    /// An answer larger than this is refused as unreadable.
    pub max_response_bytes: usize,
}

/// Every way an upstream call can fail. Display is fit for a client: no secret, no traceback.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the ERP cannot be reached ({0})")]
    Unreachable(String),
    #[error("the ERP did not answer in time")]
    Timeout,
    #[error("the ERP answered HTTP {status} with an {kind} page instead of XML-RPC")]
    HttpError { status: u16, kind: &'static str },
    #[error("the ERP's answer is unreadable: {0}")]
    Unreadable(String),
    #[error("{0}")]
    Fault(#[from] OdooFault),
}

/// An XML-RPC client for one upstream ERP. Cheap to clone; one connection pool for all.
#[derive(Clone)]
pub struct OdooClient {
    http: reqwest::Client,
    common_url: reqwest::Url,
    object_url: reqwest::Url,
    db_url: reqwest::Url,
    slots: Arc<Semaphore>,
    max_response_bytes: usize,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for OdooClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OdooClient")
            .field("common_url", &self.common_url.as_str())
            .finish_non_exhaustive()
    }
}

impl OdooClient {
    pub fn new(config: &UpstreamConfig) -> Result<OdooClient, String> {
        let base = config.url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base).map_err(|e| format!("invalid upstream URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("the upstream URL must start with http:// or https://".into());
        }
        Ok(OdooClient {
            http: http_client(config)?,
            common_url: endpoint(base, "common")?,
            object_url: endpoint(base, "object")?,
            db_url: endpoint(base, "db")?,
            slots: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            max_response_bytes: config.max_response_bytes,
            metrics: Arc::new(Metrics::new()),
        })
    }

    /// The same client, recording its calls in `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> OdooClient {
        metrics.set_upstream_concurrency_limit(self.slots.available_permits());
        OdooClient { metrics, ..self }
    }

    /// Where this client records its calls.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The same client with a connection pool of its own, for another thread's runtime; the
    /// cap on concurrent calls stays shared.
    pub fn with_own_pool(&self, config: &UpstreamConfig) -> Result<OdooClient, String> {
        Ok(OdooClient {
            http: http_client(config)?,
            ..self.clone()
        })
    }

    /// The same client with concurrency slots of its own (the readiness probe's, which must
    /// never take a client's slot); metrics stay shared.
    pub fn with_own_slots(&self) -> OdooClient {
        OdooClient {
            slots: Arc::new(Semaphore::new(1)),
            ..self.clone()
        }
    }

    /// `common.version()`.
    pub async fn version(&self) -> Result<Value, UpstreamError> {
        self.call(&self.common_url, "version", &[], Value::read)
            .await
    }

    /// `db.list()`: the databases, where the server allows listing them (else a fault).
    pub async fn list_databases(&self) -> Result<Vec<String>, UpstreamError> {
        let answer = self.call(&self.db_url, "list", &[], Value::read).await?;
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
            Param::Str(password.expose()),
            Param::Value(&no_context),
        ];
        let uid = self
            .call(&self.common_url, "authenticate", &params, Value::read)
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
            Param::Str(password.expose()),
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
        self.call(&self.object_url, "execute_kw", params, T::read)
            .await
    }

    /// One call, recorded (ERP method, outcome, duration) in the metrics and in the
    /// request's upstream time: the one place where upstream calls are counted.
    async fn call<T>(
        &self,
        url: &reqwest::Url,
        method: &str,
        params: &[Param<'_>],
        decode: impl FnOnce(&[u8]) -> Result<Result<T, Fault>, xmlrpc::DecodeError>,
    ) -> Result<T, UpstreamError> {
        // execute_kw's ERP method is its fifth parameter.
        let erp_method = match (method, params.get(4)) {
            ("execute_kw", Some(Param::Str(name))) => UpstreamMethod::of(name),
            _ => UpstreamMethod::of(method),
        };
        let started = Instant::now();
        let result = self.call_untimed(url, method, params, decode).await;
        let elapsed = started.elapsed();
        self.metrics
            .upstream_call(erp_method, outcome(&result), elapsed);
        crate::access::add_upstream_time(elapsed);
        result
    }

    async fn call_untimed<T>(
        &self,
        url: &reqwest::Url,
        method: &str,
        params: &[Param<'_>],
        decode: impl FnOnce(&[u8]) -> Result<Result<T, Fault>, xmlrpc::DecodeError>,
    ) -> Result<T, UpstreamError> {
        let mut body = Vec::with_capacity(1024);
        xmlrpc::encode_call_params(&mut body, method, params);
        let queued = self.metrics.upstream_queued();
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| UpstreamError::Unreachable("the client is shut down".into()))?;
        drop(queued);
        let _in_flight = self.metrics.upstream_in_flight();
        let response = self
            .http
            .post(url.clone())
            .header(http::header::CONTENT_TYPE, TEXT_XML)
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let is_xml = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("xml"));
        if !status.is_success() || !is_xml {
            let kind = if is_xml { "XML" } else { "HTML or other" };
            return Err(UpstreamError::HttpError {
                status: status.as_u16(),
                kind,
            });
        }
        let bytes = self.read_body(response).await?;
        match decode(&bytes) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(fault)) => Err(UpstreamError::Fault(OdooFault::classify(fault))),
            Err(e) => Err(UpstreamError::Unreadable(e.to_string())),
        }
    }

    /// Reads the whole answer, refusing one larger than the configured cap.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
        let hint = response.content_length().unwrap_or(0) as usize;
        if hint > self.max_response_bytes {
            return Err(too_large(self.max_response_bytes));
        }
        let mut bytes = Vec::with_capacity(hint.max(1024));
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if bytes.len() + chunk.len() > self.max_response_bytes {
                return Err(too_large(self.max_response_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// The metrics label of how a call ended.
fn outcome<T>(result: &Result<T, UpstreamError>) -> Outcome {
    let Err(error) = result else {
        return Outcome::Ok;
    };
    match error {
        UpstreamError::Unreachable(_) => Outcome::Unreachable,
        UpstreamError::Timeout => Outcome::Timeout,
        UpstreamError::HttpError {
            status: 429 | 503, ..
        } => Outcome::Overloaded,
        UpstreamError::HttpError { .. } | UpstreamError::Unreadable(_) => Outcome::BadResponse,
        UpstreamError::Fault(fault) => match fault {
            OdooFault::AccessDenied => Outcome::AccessDenied,
            OdooFault::AccessError(_) => Outcome::AccessError,
            OdooFault::MissingRecord(_)
            | OdooFault::UnknownModel(_)
            | OdooFault::UnknownDatabase(_) => Outcome::Missing,
            OdooFault::UserError(_) => Outcome::UserError,
            // The method ran; only its answer (None) could not be carried.
            OdooFault::ReturnedNone => Outcome::Ok,
            OdooFault::ServerError { .. } => Outcome::ServerError,
        },
    }
}

fn http_client(config: &UpstreamConfig) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(config.max_concurrency.max(1))
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

const TEXT_XML: http::HeaderValue = http::HeaderValue::from_static("text/xml");

/// How an `execute_kw` answer is read.
pub trait Answer: Sized {
    fn read(bytes: &[u8]) -> Result<Result<Self, Fault>, xmlrpc::DecodeError>;
}

/// Decoded into a `Value`.
impl Answer for Value {
    fn read(bytes: &[u8]) -> Result<Result<Value, Fault>, xmlrpc::DecodeError> {
        xmlrpc::decode_response(bytes)
    }
}

/// Transcoded straight to JSON text, no `Value` built.
impl Answer for xmlrpc::Json {
    fn read(bytes: &[u8]) -> Result<Result<xmlrpc::Json, Fault>, xmlrpc::DecodeError> {
        xmlrpc::transcode_response(bytes)
    }
}

/// `{base}/xmlrpc/2/{service}`, parsed once rather than on every call.
fn endpoint(base: &str, service: &str) -> Result<reqwest::Url, String> {
    reqwest::Url::parse(&format!("{base}/xmlrpc/2/{service}"))
        .map_err(|e| format!("invalid upstream URL: {e}"))
}

fn too_large(limit: usize) -> UpstreamError {
    UpstreamError::Unreadable(format!("the answer is larger than {limit} bytes"))
}

fn transport_error(error: reqwest::Error) -> UpstreamError {
    if error.is_timeout() {
        UpstreamError::Timeout
    } else if error.is_connect() {
        UpstreamError::Unreachable(root_cause(&error))
    } else if error.is_body() || error.is_decode() {
        UpstreamError::Unreadable(format!("the body broke off: {}", root_cause(&error)))
    } else {
        UpstreamError::Unreachable(root_cause(&error))
    }
}

/// The innermost cause of a reqwest error: "connection refused" rather than a chain with URLs.
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
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
