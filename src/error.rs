//! The proxy's one error type. Every error knows who is at fault (the client, the upstream
//! ERP, or the proxy itself); [`Error::status`] is the only place that picks an HTTP status,
//! and [`Error::body`] the only place that builds the JSON error body, which has Flectra's
//! shape `{"error": code, "error_descrip": text}`.

use http::StatusCode;

use crate::odoo::{sanitize, OdooFault, Overload, UpstreamError};

/// What the REST call was doing when the upstream refused it: Flectra names its error codes
/// after it (`not_created_object_in_flectra`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Login,
    Read,
    Create,
    Update,
    Delete,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The client's fault.
    #[error("Empty value of 'db' or 'username' or 'password'!")]
    EmptyLogin,
    #[error("flectra User authentication failed!")]
    LoginFailed,
    /// `[upstream] protocol = "json2"` and the password is not an API key of the user.
    #[error("flectra User authentication failed! The ERP is reached over JSON-2, which takes the user's API key as the password.")]
    ApiKeyRequired,
    #[error("Invalid database!")]
    InvalidDatabase,
    #[error("Missing access token in request header!")]
    TokenMissing,
    #[error("Token is expired or invalid!")]
    TokenInvalid,
    #[error("No access token was provided in request!")]
    NoTokenToDelete,
    #[error("Invalid object 'id'!")]
    InvalidObjectId,
    #[error("Modal {0} Not Found!")]
    ModelNotFound(String),
    #[error("Enable Rest API For {0}!")]
    ModelDisabled(String),
    #[error("Record {id} Not found in {model}!")]
    RecordNotFound { id: i64, model: String },
    #[error("No Record found in {0}!")]
    NoRecords(String),
    /// A parameter the proxy could not use: names the parameter and says why.
    #[error("{0}")]
    BadParameter(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the URL is longer than {0} bytes")]
    UrlTooLong(usize),
    #[error("the request body did not arrive within {0} s")]
    BodyTimeout(u64),
    #[error("{0} is not allowed here")]
    MethodNotAllowed(String),
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("too many failed logins; try again in {0} s")]
    TooManyAttempts(u64),
    /// The model gate cannot read the flag: it refuses rather than guess (fail closed).
    #[error("{0}")]
    GateUnreadable(String),
    /// A CORS preflight from an origin that `[cors] allow_origins` does not list.
    #[error("this origin may not call the API from a browser ([cors] allow_origins)")]
    CorsOriginRefused,

    // The upstream's fault (or the upstream refusing the client's request).
    #[error("{error}")]
    Upstream {
        operation: Operation,
        error: UpstreamError,
    },

    /// The ERP is overloaded (or the proxy's queue in front of it is full): the call did not
    /// run; the client may send it again after `Retry-After`.
    #[error("{0}; try again shortly")]
    Overloaded(Overload),

    // The proxy's own fault.
    #[error("the token store is full; try again later")]
    TokenStoreFull,
    /// The shared token store (Redis) did not answer in time or answered an error.
    #[error("the token store is unavailable; try again later")]
    TokenStoreUnavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn upstream(operation: Operation, error: UpstreamError) -> Error {
        if let UpstreamError::Overloaded(overload) = error {
            return Error::Overloaded(overload);
        }
        Error::Upstream { operation, error }
    }

    /// The HTTP status for this error; the only place that picks one.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::EmptyLogin
            | Error::InvalidDatabase
            | Error::TokenMissing
            | Error::NoTokenToDelete
            | Error::InvalidObjectId
            | Error::BadParameter(_) => StatusCode::BAD_REQUEST,
            Error::LoginFailed | Error::ApiKeyRequired | Error::TokenInvalid => {
                StatusCode::UNAUTHORIZED
            }
            Error::ModelNotFound(_)
            | Error::ModelDisabled(_)
            | Error::RecordNotFound { .. }
            | Error::NoRecords(_)
            | Error::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Error::GateUnreadable(_) | Error::CorsOriginRefused => StatusCode::FORBIDDEN,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UrlTooLong(_) => StatusCode::URI_TOO_LONG,
            Error::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Upstream { error, .. } => match error {
                UpstreamError::Unreachable(_)
                | UpstreamError::ConnectionLost(_)
                | UpstreamError::HttpError { .. }
                | UpstreamError::Unreadable(_) => StatusCode::BAD_GATEWAY,
                UpstreamError::Timeout => StatusCode::GATEWAY_TIMEOUT,
                UpstreamError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
                UpstreamError::Fault(fault) => match fault {
                    OdooFault::AccessDenied => StatusCode::UNAUTHORIZED,
                    OdooFault::AccessError(_) => StatusCode::FORBIDDEN,
                    OdooFault::MissingRecord(_) | OdooFault::UnknownModel(_) => {
                        StatusCode::NOT_FOUND
                    }
                    OdooFault::UnknownDatabase(_) | OdooFault::UserError(_) => {
                        StatusCode::BAD_REQUEST
                    }
                    OdooFault::ServerError { class, .. } if is_request_error(class) => {
                        StatusCode::BAD_REQUEST
                    }
                    OdooFault::ServerError { .. } | OdooFault::ReturnedNone => {
                        StatusCode::BAD_GATEWAY
                    }
                },
            },
            Error::Overloaded(_) | Error::TokenStoreFull | Error::TokenStoreUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Flectra's error code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::EmptyLogin => "empty_db_or_username_or_password",
            Error::LoginFailed | Error::ApiKeyRequired => "flectra_user_authentication_failed",
            Error::InvalidDatabase => "invalid_database",
            Error::TokenMissing => "access_token_not_found",
            Error::TokenInvalid => "invalid_token",
            Error::NoTokenToDelete => "no_access_token",
            Error::InvalidObjectId => "invalid_object_id",
            Error::ModelNotFound(_)
            | Error::ModelDisabled(_)
            | Error::RecordNotFound { .. }
            | Error::NoRecords(_) => "object_not_found_in_flectra",
            Error::BadParameter(_) => "invalid_parameter",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::UrlTooLong(_) => "url_too_long",
            Error::BodyTimeout(_) => "request_timeout",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::RouteNotFound(_) => "not_found",
            Error::TooManyAttempts(_) => "too_many_attempts",
            Error::GateUnreadable(_) => "rest_api_flag_unreadable",
            Error::CorsOriginRefused => "cors_origin_not_allowed",
            Error::Upstream { operation, error } => match (operation, error) {
                (_, UpstreamError::Unreachable(_) | UpstreamError::ConnectionLost(_)) => {
                    "upstream_unreachable"
                }
                (_, UpstreamError::Timeout) => "upstream_timeout",
                (_, UpstreamError::Overloaded(_)) => "erp_overloaded",
                (_, UpstreamError::HttpError { .. } | UpstreamError::Unreadable(_)) => {
                    "upstream_bad_response"
                }
                (Operation::Create, UpstreamError::Fault(_)) => "not_created_object_in_flectra",
                (Operation::Update, UpstreamError::Fault(_)) => "not_updated_object_in_flectra",
                (Operation::Delete, UpstreamError::Fault(_)) => "not_deleted_object_in_flectra",
                (Operation::Login | Operation::Read, UpstreamError::Fault(fault)) => match fault {
                    OdooFault::AccessDenied => "access_denied",
                    OdooFault::AccessError(_) => "access_error",
                    OdooFault::MissingRecord(_) | OdooFault::UnknownModel(_) => {
                        "object_not_found_in_flectra"
                    }
                    OdooFault::UnknownDatabase(_) => "invalid_database",
                    OdooFault::UserError(_) => "invalid_request",
                    OdooFault::ServerError { class, .. } if is_request_error(class) => {
                        "invalid_request"
                    }
                    OdooFault::ServerError { .. } => "upstream_error",
                    OdooFault::ReturnedNone => "upstream_bad_response",
                },
            },
            Error::Overloaded(_) => "erp_overloaded",
            Error::TokenStoreFull => "token_store_full",
            Error::TokenStoreUnavailable => "token_store_unavailable",
            Error::Internal(_) => "internal_error",
        }
    }

    /// The text for the client: Flectra's wording where Flectra has one, the ERP's own message
    /// (never a traceback, host, port, path or SQL: see [`sanitize`]) for a refusal.
    pub fn description(&self) -> String {
        match self {
            Error::Upstream { .. } | Error::GateUnreadable(_) => sanitize(&self.raw_description()),
            other => other.raw_description(),
        }
    }

    fn raw_description(&self) -> String {
        match self {
            Error::Upstream {
                operation,
                error: UpstreamError::Fault(fault),
            } => match operation {
                Operation::Create => format!("Not created object in flectra! ERROR: {fault}"),
                Operation::Update => format!("Object Not Updated! ERROR: {fault}"),
                Operation::Delete => format!("Not deleted object in flectra! ERROR: {fault}"),
                Operation::Login | Operation::Read => fault.to_string(),
            },
            other => other.to_string(),
        }
    }

    /// The JSON error body: `{"error": code, "error_descrip": text}`.
    pub fn body(&self) -> Vec<u8> {
        let body = serde_json::json!({
            "error": self.code(),
            "error_descrip": self.description(),
        });
        serde_json::to_vec(&body).expect("a map of two strings always serializes")
    }

    /// Seconds a client should wait, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooManyAttempts(seconds) => Some(*seconds),
            Error::Overloaded(_)
            | Error::Upstream {
                error: UpstreamError::Overloaded(_),
                ..
            } => Some(OVERLOAD_RETRY_AFTER_SECS),
            Error::TokenStoreUnavailable => Some(1),
            _ => None,
        }
    }
}

/// `Retry-After` on a 503 `erp_overloaded`: overload passes in moments, not minutes.
const OVERLOAD_RETRY_AFTER_SECS: u64 = 1;

impl From<crate::tokens::StoreError> for Error {
    fn from(error: crate::tokens::StoreError) -> Error {
        match error {
            crate::tokens::StoreError::Full(_) => Error::TokenStoreFull,
            crate::tokens::StoreError::Unavailable(_) => Error::TokenStoreUnavailable,
        }
    }
}

impl From<crate::tokens::Unavailable> for Error {
    fn from(_: crate::tokens::Unavailable) -> Error {
        Error::TokenStoreUnavailable
    }
}

/// Exceptions that Odoo raises for a bad request (an unknown field, a bad domain leaf, a
/// value of the wrong type) rather than for a failure of the server.
fn is_request_error(class: &str) -> bool {
    matches!(class, "ValueError" | "TypeError" | "KeyError")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flectra_texts_and_statuses() {
        let e = Error::RecordNotFound {
            id: 7,
            model: "res.partner".into(),
        };
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            r#"{"error":"object_not_found_in_flectra","error_descrip":"Record 7 Not found in res.partner!"}"#
        );
        assert_eq!(Error::TokenMissing.status(), StatusCode::BAD_REQUEST);
        assert_eq!(Error::TokenInvalid.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn upstream_faults_get_the_status_that_says_what_happened() {
        let fault = |f: OdooFault| Error::upstream(Operation::Create, UpstreamError::Fault(f));
        let access = fault(OdooFault::AccessError("You are not allowed".into()));
        assert_eq!(access.status(), StatusCode::FORBIDDEN);
        assert_eq!(access.code(), "not_created_object_in_flectra");
        assert_eq!(
            access.description(),
            "Not created object in flectra! ERROR: You are not allowed"
        );
        let server = fault(OdooFault::ServerError {
            class: "ValueError".into(),
            message: "Invalid field 'x' on model 'res.partner'".into(),
            traceback: "Traceback (most recent call last):\n  File \"/opt/odoo/secret/path.py\""
                .into(),
        });
        assert_eq!(server.status(), StatusCode::BAD_REQUEST);
        assert!(!server.description().contains("Traceback"));
        assert!(!server.description().contains("/opt/odoo"));
        assert_eq!(
            Error::upstream(Operation::Read, UpstreamError::Timeout).status(),
            StatusCode::GATEWAY_TIMEOUT
        );
    }

    #[test]
    fn overload_is_a_503_with_retry_after_never_a_502() {
        for overload in [
            Overload::PoolFull,
            Overload::SetupFailed,
            Overload::QueueTimeout,
        ] {
            let error = Error::upstream(Operation::Create, UpstreamError::Overloaded(overload));
            assert!(matches!(error, Error::Overloaded(_)));
            assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(error.code(), "erp_overloaded");
            assert_eq!(error.retry_after(), Some(1));
            assert!(error.description().contains("overloaded"), "{error}");
        }
    }
}
