//! CORS for browser clients of `/api`: preflights (`OPTIONS` with
//! `Access-Control-Request-Method`) are answered here and never reach the ERP, and actual
//! responses get `Access-Control-Allow-Origin` for an allowed origin and `Vary: Origin` always.
//! Pass-through responses are the ERP's own and are left alone.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::config::CorsConfig;
use crate::error::Error;
use crate::plumbing::{error_response, full, Body};

const ALLOWED_METHODS: HeaderValue = HeaderValue::from_static("GET, POST, PUT, DELETE");

/// The CORS policy, its header values built once.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Vec<String>,
    any_origin: bool,
    allow_headers: HeaderValue,
    max_age: HeaderValue,
}

impl Cors {
    pub fn new(config: &CorsConfig) -> Cors {
        Cors {
            any_origin: config.allow_origins.iter().any(|o| o == "*"),
            origins: config.allow_origins.clone(),
            allow_headers: HeaderValue::from_str(&config.allow_headers.join(", "))
                .expect("header names (checked by config) join into a valid header value"),
            max_age: HeaderValue::from(config.max_age.as_secs()),
        }
    }

    /// Whether CORS is on (some origin is allowed).
    pub fn enabled(&self) -> bool {
        !self.origins.is_empty()
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.any_origin
            || self
                .origins
                .iter()
                .any(|o| o.as_bytes() == origin.as_bytes())
    }

    /// The answer to a preflight, when `method` and `headers` make one.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response<Body>> {
        if method != Method::OPTIONS || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let origin = headers.get(header::ORIGIN);
        let mut response = match origin.filter(|origin| self.allows(origin)) {
            Some(origin) => {
                let mut response = Response::new(full(bytes::Bytes::new()));
                *response.status_mut() = StatusCode::NO_CONTENT;
                let h = response.headers_mut();
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS);
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    self.allow_headers.clone(),
                );
                h.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
                response
            }
            None => error_response(&Error::CorsOriginRefused),
        };
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
        Some(response)
    }

    /// Adds `Access-Control-Allow-Origin` (allowed origins) and `Vary: Origin` to an actual
    /// response.
    pub fn decorate(&self, origin: Option<&HeaderValue>, response: &mut Response<Body>) {
        let headers = response.headers_mut();
        if let Some(origin) = origin.filter(|origin| self.allows(origin)) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cors(origins: &[&str]) -> Cors {
        Cors::new(&CorsConfig {
            allow_origins: origins.iter().map(|o| o.to_string()).collect(),
            allow_headers: vec!["access_token".into(), "Content-Type".into()],
            max_age: Duration::from_secs(60),
        })
    }

    fn preflight_from(cors: &Cors, origin: &str) -> Response<Body> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("GET"),
        );
        cors.preflight(&Method::OPTIONS, &headers)
            .expect("a preflight")
    }

    #[test]
    fn answers_preflights_for_allowed_origins_only() {
        let cors = cors(&["https://app.example.com"]);
        let ok = preflight_from(&cors, "https://app.example.com");
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(
            ok.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "access_token, Content-Type"
        );
        assert_eq!(ok.headers()[header::ACCESS_CONTROL_MAX_AGE], "60");
        let refused = preflight_from(&cors, "https://evil.example.com");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
        assert_eq!(refused.headers()[header::VARY], "Origin");
        // Not a preflight: a plain OPTIONS.
        assert!(cors
            .preflight(&Method::OPTIONS, &HeaderMap::new())
            .is_none());
        let any = crate::cors::tests::cors(&["*"]);
        assert_eq!(
            preflight_from(&any, "https://x.example").status(),
            StatusCode::NO_CONTENT
        );
    }
}
