//! The HTTP plumbing that `server`, `api` and `passthrough` all use: the response body type,
//! complete bodies, and JSON responses (errors included). It sits below all three so that none
//! of them imports another for it; it knows nothing of routes, tokens or the upstream.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

use crate::error::Error;

/// The error type of streamed bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response the proxy sends.
pub type Body = BoxBody<Bytes, BoxError>;

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// A JSON response with `body` as it is.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

/// The JSON response for an error, with `Retry-After` where it applies.
pub fn error_response(error: &Error) -> Response<Body> {
    let mut response = json_response(error.status(), error.body());
    if let Some(seconds) = error.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
