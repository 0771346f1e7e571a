//! `OdooClient`: the only code that talks to the upstream ERP. It sends XML-RPC calls over
//! http or https (reqwest with rustls), every call through the shared [`Limiter`] (login
//! included), retries a call only when it provably did not run, and turns every way an answer
//! can go wrong into an [`UpstreamError`]. It knows nothing of REST or tokens.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::time::Instant;

use crate::secret::Secret;
use crate::xmlrpc::{self, Fault, Param};

mod fault;
mod limiter;

pub use fault::{sanitize, OdooFault};
pub use limiter::{Limiter, LimiterConfig, Outcome, Overload, Permit};

/// How to reach the upstream ERP.
#[derive(Debug, Clone)]
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
    #[error("the ERP answered HTTP {status} with an {kind} page instead of XML-RPC")]
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

/// An XML-RPC client for one upstream ERP. Cheap to clone; one connection pool for all.
#[derive(Clone)]
pub struct OdooClient {
    http: reqwest::Client,
    common_url: reqwest::Url,
    object_url: reqwest::Url,
    limiter: Arc<Limiter>,
    timeout: Duration,
    max_response_bytes: usize,
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
            limiter: Arc::new(Limiter::new(LimiterConfig {
                min_concurrency: config.min_concurrency,
                max_concurrency: config.max_concurrency,
                max_queue: config.max_queue,
                queue_timeout: config.queue_timeout,
            })),
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
        })
    }

    /// The same client with a connection pool of its own, for another thread's runtime; the
    /// limiter (and its queue) stays shared.
    pub fn with_own_pool(&self, config: &UpstreamConfig) -> Result<OdooClient, String> {
        Ok(OdooClient {
            http: http_client(config)?,
            ..self.clone()
        })
    }

    /// The limiter every call goes through, for its read-outs (in flight, queued, limit).
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// `common.version()`.
    pub async fn version(&self) -> Result<Value, UpstreamError> {
        self.call(&self.common_url, "version", &[], Value::read)
            .await
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

    /// One call, through the limiter; sent again (with jittered backoff, inside the call's
    /// deadline) only while the ERP's answer proves it did not run.
    async fn call<T>(
        &self,
        url: &reqwest::Url,
        method: &str,
        params: &[Param<'_>],
        decode: impl Fn(&[u8]) -> Result<Result<T, Fault>, xmlrpc::DecodeError>,
    ) -> Result<T, UpstreamError> {
        let mut body = Vec::with_capacity(1024);
        xmlrpc::encode_call_params(&mut body, method, params);
        let body = Bytes::from(body);
        let deadline = Instant::now() + self.timeout;
        let mut attempt = 0;
        loop {
            let permit = self
                .limiter_arc()
                .acquire(attempt > 0)
                .await
                .map_err(UpstreamError::Overloaded)?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(UpstreamError::Timeout);
            }
            let result = self.send(url, body.clone(), remaining, &decode).await;
            permit.finish(match &result {
                Ok(_) | Err(UpstreamError::Fault(_)) => Outcome::Answered,
                Err(UpstreamError::Overloaded(_) | UpstreamError::Timeout) => Outcome::Overloaded,
                Err(_) => Outcome::Ignored,
            });
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

    fn limiter_arc(&self) -> &Arc<Limiter> {
        &self.limiter
    }

    /// Sends the call once and reads its answer.
    async fn send<T>(
        &self,
        url: &reqwest::Url,
        body: Bytes,
        timeout: Duration,
        decode: &impl Fn(&[u8]) -> Result<Result<T, Fault>, xmlrpc::DecodeError>,
    ) -> Result<T, UpstreamError> {
        let response = self
            .http
            .post(url.clone())
            .header(http::header::CONTENT_TYPE, TEXT_XML)
            .timeout(timeout)
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
            if let Some(overload) = fault::overload_status(status.as_u16(), is_xml) {
                return Err(UpstreamError::Overloaded(overload));
            }
            let kind = if is_xml { "XML" } else { "HTML or other" };
            return Err(UpstreamError::HttpError {
                status: status.as_u16(),
                kind,
            });
        }
        let bytes = self.read_body(response).await?;
        match decode(&bytes) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(fault)) => Err(match fault::overload_fault(&fault) {
                Some(overload) => UpstreamError::Overloaded(overload),
                None => UpstreamError::Fault(OdooFault::classify(fault)),
            }),
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

/// A call that did not run is sent at most this many times in all.
const MAX_ATTEMPTS: u32 = 6;

/// Full jitter over an exponential step: 0..5 ms, 0..10 ms, ... capped at 0..160 ms.
fn retry_backoff(attempt: u32) -> Duration {
    let ceiling_ms = 5u64 << attempt.min(5);
    Duration::from_micros(rand::random_range(1_000..=ceiling_ms * 1_000))
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
        UpstreamError::ConnectionLost(root_cause(&error))
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
