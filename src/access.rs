//! What the proxy remembers of one request for its access-log line: the request id
//! (`X-Request-Id`), the time spent waiting for the ERP, and the database and uid once known.
//! The per-request record is a tokio task-local set by `server` around each request, so that
//! `odoo` and `api` can add to it without it being threaded through every call. The line
//! itself never holds a token, password, API key, cookie or query value: it is built from the
//! fields below only, never from headers or the query string.

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;

use crate::plumbing::{Body, BoxError};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The client's `X-Request-Id` when it is 1 to 128 characters of `[A-Za-z0-9._:-]`, else a new
/// random one (32 hex digits).
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(given) = headers.get(&X_REQUEST_ID) {
        let bytes = given.as_bytes();
        let valid = (1..=128).contains(&bytes.len())
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if valid {
            return given.clone();
        }
    }
    let id = format!("{:032x}", rand::random::<u128>());
    HeaderValue::from_str(&id).expect("hex digits are a valid header value")
}

/// What the request's handlers report while it is served.
#[derive(Debug, Default)]
pub struct Recorded {
    upstream: Cell<Duration>,
    user: RefCell<Option<(String, i64)>>,
}

impl Recorded {
    /// The ERP time and the (database, uid), taken out at the end of the request.
    pub fn take(&self) -> (Duration, Option<(String, i64)>) {
        (self.upstream.get(), self.user.take())
    }
}

tokio::task_local! {
    static RECORDED: Recorded;
}

/// Runs `serve` with a fresh record for one request; returns its output and the record.
pub async fn recording<F: std::future::Future>(
    serve: F,
) -> (F::Output, Duration, Option<(String, i64)>) {
    RECORDED
        .scope(Recorded::default(), async move {
            let output = serve.await;
            let (upstream, user) = RECORDED.with(Recorded::take);
            (output, upstream, user)
        })
        .await
}

/// Adds the time of one upstream call to the current request's (no-op outside a request).
pub fn add_upstream_time(elapsed: Duration) {
    let _ = RECORDED.try_with(|recorded| recorded.upstream.set(recorded.upstream.get() + elapsed));
}

/// Records who the current request is served as (no-op outside a request).
pub fn set_user(db: &str, uid: i64) {
    let _ = RECORDED.try_with(|recorded| *recorded.user.borrow_mut() = Some((db.to_owned(), uid)));
}

/// Everything the access-log line says.
#[derive(Debug)]
pub struct Entry {
    pub started: Instant,
    pub request_id: HeaderValue,
    pub client: IpAddr,
    pub method: Method,
    /// The path only: the query string can hold credentials or personal data.
    pub path: String,
    pub status: u16,
    pub upstream: Duration,
    pub user: Option<(String, i64)>,
}

impl Entry {
    /// Writes the line at INFO on the `access` target, with `bytes` sent in the body.
    pub fn log(&self, bytes: u64) {
        let request_id = self.request_id.to_str().unwrap_or("-");
        let total_ms = millis(self.started.elapsed());
        let upstream_ms = millis(self.upstream);
        let (db, uid) = match &self.user {
            Some((db, uid)) => (db.as_str(), Some(*uid)),
            None => ("", None),
        };
        tracing::info!(
            target: "access",
            request_id,
            client = %self.client,
            method = %self.method,
            path = %self.path,
            status = self.status,
            bytes,
            total_ms,
            upstream_ms,
            db,
            uid,
            "request"
        );
    }
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

/// A response body that counts the bytes it sends and, when it ends or is dropped (the client
/// went away), writes the access-log line and adds the bytes to a counter.
pub struct Counted {
    inner: Body,
    sent: u64,
    entry: Option<Entry>,
    counter: Option<Counter>,
}

impl Counted {
    pub fn wrap(inner: Body, entry: Option<Entry>, counter: Option<Counter>) -> Body {
        use http_body_util::BodyExt;
        Counted {
            inner,
            sent: 0,
            entry,
            counter,
        }
        .boxed()
    }
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &poll {
            if let Some(data) = frame.data_ref() {
                let len = data.len() as u64;
                self.sent += len;
                if let Some(counter) = &self.counter {
                    counter.inc_by(len);
                }
            }
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some(entry) = &self.entry {
            entry.log(self.sent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(given: &str) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_str(given).unwrap());
        request_id(&headers).to_str().unwrap().to_owned()
    }

    #[test]
    fn keeps_a_good_request_id_and_replaces_a_bad_one() {
        assert_eq!(id_for("abc-123_x.y:z"), "abc-123_x.y:z");
        let longest = "a".repeat(128);
        assert_eq!(id_for(&longest), longest);
        for bad in ["", "a b", "a\"b", "<script>", &"a".repeat(129)] {
            let id = id_for(bad);
            assert_ne!(id, bad);
            assert_eq!(id.len(), 32, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
    }
}
