//! The admin listener (`[admin] listen`, loopback by default): exactly `GET /healthz`,
//! `GET /readyz` and `GET /metrics`, for load balancers, orchestrators and Prometheus. It never
//! serves the REST API or pass-through. Readiness comes from a background probe of the ERP's
//! `version` that has concurrency slots of its own, so it never takes a client's.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::api::AppState;
use crate::error::Error;
use crate::metrics;
use crate::odoo::OdooClient;
use crate::plumbing::{error_response, full, json_response, Body};

/// What the last probe of the upstream found, and whether the proxy is shutting down.
#[derive(Debug)]
pub struct Readiness {
    last: Mutex<Probe>,
    shutting_down: AtomicBool,
    /// A probe answer older than this no longer counts (three probe intervals).
    fresh_for: Duration,
}

#[derive(Debug, Clone)]
enum Probe {
    NotYet,
    Up { at: Instant, version: String },
    Down { reason: String },
}

impl Readiness {
    pub fn new(probe_interval: Duration) -> Readiness {
        Readiness {
            last: Mutex::new(Probe::NotYet),
            shutting_down: AtomicBool::new(false),
            fresh_for: probe_interval * 3,
        }
    }

    /// From now on, not ready: the proxy stops accepting and drains.
    pub fn shutting_down(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    fn set(&self, probe: Probe) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = probe;
    }

    /// `Ok(upstream version)` when ready, else why not.
    fn check(&self) -> Result<String, String> {
        if self.shutting_down.load(Ordering::Acquire) {
            return Err("shutting down".into());
        }
        match &*self.last.lock().unwrap_or_else(|e| e.into_inner()) {
            Probe::NotYet => Err("the upstream has not been probed yet".into()),
            Probe::Up { at, .. } if at.elapsed() > self.fresh_for => Err(format!(
                "the upstream has not answered its version call for {} s",
                at.elapsed().as_secs()
            )),
            Probe::Up { version, .. } => Ok(version.clone()),
            Probe::Down { reason } => Err(reason.clone()),
        }
    }
}

/// Probes the upstream's `version` every `interval` until the task is aborted.
pub async fn probe_forever(odoo: OdooClient, readiness: Arc<Readiness>, interval: Duration) {
    // Slots of its own: the probe never waits behind, nor holds back, a client's call.
    let odoo = odoo.with_own_slots();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let probe = match tokio::time::timeout(interval.max(Duration::from_secs(1)), odoo.version())
            .await
        {
            Ok(Ok(answer)) => Probe::Up {
                at: Instant::now(),
                version: server_version(&answer),
            },
            Ok(Err(error)) => Probe::Down {
                reason: format!("the upstream's version call failed: {error}"),
            },
            Err(_) => Probe::Down {
                reason: "the upstream's version call did not answer in time".into(),
            },
        };
        readiness.set(probe);
    }
}

/// `server_version` of a `common.version()` answer ("18.0", "saas~17.4", "1.4").
pub fn server_version(answer: &Value) -> String {
    answer
        .get("server_version")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned()
}

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub async fn serve(
    state: Arc<AppState>,
    readiness: Arc<Readiness>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let state = Arc::clone(&state);
        let readiness = Arc::clone(&readiness);
        let service = service_fn(move |request| {
            let state = Arc::clone(&state);
            let readiness = Arc::clone(&readiness);
            async move { Ok::<_, Infallible>(answer(&state, &readiness, &request).await) }
        });
        connections.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "admin connection ended with an error");
            }
        });
        // Reap finished connections so the set stays small.
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

async fn answer<B>(
    state: &AppState,
    readiness: &Readiness,
    request: &Request<B>,
) -> Response<Body> {
    let path = request.uri().path();
    if !matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return error_response(&Error::RouteNotFound(path.to_owned()));
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return error_response(&Error::MethodNotAllowed(request.method().to_string()));
    }
    match path {
        "/healthz" => json(StatusCode::OK, json!({"status": "ok"})),
        "/readyz" => match ready(state, readiness).await {
            Ok(version) => json(
                StatusCode::OK,
                json!({"status": "ready", "upstream": {
                    "version": version,
                    "protocol": state.odoo.protocol_in_use().await.as_str(),
                }}),
            ),
            Err(reason) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "not_ready", "reason": reason}),
            ),
        },
        _ => {
            if let Some(live) = state.tokens.local_len() {
                state.metrics.set_tokens_live(live);
            }
            // The clients' limiter, read at the scrape: the probe's one-slot limiter never
            // shows here.
            state
                .metrics
                .set_upstream_concurrency_limit(state.odoo.limiter().limit());
            let mut response = Response::new(full(state.metrics.encode()));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            response
        }
    }
}

/// Ready: the upstream answered its version recently, the process is not shutting down, and
/// the token store answers (the in-memory one always does; Redis within its timeout).
async fn ready(state: &AppState, readiness: &Readiness) -> Result<String, String> {
    let version = readiness.check()?;
    if !state.tokens.is_reachable().await {
        return Err("the token store (Redis) does not answer".into());
    }
    Ok(version)
}

fn json(status: StatusCode, body: Value) -> Response<Body> {
    json_response(
        status,
        serde_json::to_vec(&body).expect("a JSON value always serializes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_needs_a_fresh_answer_and_no_shutdown() {
        let readiness = Readiness::new(Duration::from_secs(5));
        assert!(readiness.check().is_err());
        readiness.set(Probe::Up {
            at: Instant::now(),
            version: "18.0".into(),
        });
        assert_eq!(readiness.check(), Ok("18.0".into()));
        readiness.set(Probe::Up {
            at: Instant::now()
                .checked_sub(Duration::from_secs(16))
                .expect("a monotonic clock 16 s past its origin"),
            version: "18.0".into(),
        });
        assert!(readiness.check().unwrap_err().contains("has not answered"));
        readiness.set(Probe::Down {
            reason: "the upstream's version call failed: refused".into(),
        });
        assert!(readiness.check().unwrap_err().contains("refused"));
        readiness.set(Probe::Up {
            at: Instant::now(),
            version: "18.0".into(),
        });
        readiness.shutting_down();
        assert_eq!(readiness.check(), Err("shutting down".into()));
    }
}
