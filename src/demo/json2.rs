//! The demo ERP's JSON-2 (`--odoo-version 19`): `POST /json/2/<model>/<method>` with an API key
//! as the Bearer token, the database in `X-Odoo-Database` (or the only one), one JSON object of
//! keyword arguments plus `ids` and `context`; bare JSON answers and Odoo 19's error bodies
//! (`name`, `message`, `arguments`, `context`, `debug`), with the statuses, reason phrases and
//! headers of tests/fixtures/odoo19-json2/. Also `GET /web/version` and `/json/version`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::dispatch::{Erp, API_KEYS};
use super::faults::Fault;
use super::server::respond;
use super::{methods, schema, DEMO_DB};

const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
const JSON: &str = "application/json; charset=utf-8";

/// Methods whose first argument is the records (`ids`); the others are `@api.model`.
const RECORD_METHODS: &[&str] = &["read", "write", "unlink"];
/// `@api.model` methods whose `domain` has no default in Odoo 19 (quirk Q11).
const DOMAIN_REQUIRED: &[&str] = &["search", "search_count"];
/// Private in Odoo 19 (`@api.private`, quirk Q18).
const PRIVATE: &[&str] = &["check_access"];

const NO_DATABASE_PAGE: &str = "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n\
<p>No database is selected and the requested URL was not found in the server-wide controllers.</p>\n\
<p>Please verify the hostname, <a href=/web/login>login</a> and try again.</p>\n\n\
<!-- Alternatively, use the X-Odoo-Database header. -->\n";

const UNSUPPORTED_MEDIA_PAGE: &str = "<!doctype html>\n<html lang=en>\n\
<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>\n\
<p>Request inferred type is compatible with [&#39;http&#39;] but \
&#39;/json/2/&lt;__model__&gt;/&lt;__method__&gt;&#39; is type=&#39;json2&#39;.<br><br>\
Please verify the Content-Type request header and try again.</p>\n";

const NOT_AUTHENTICATED: &str =
    "User not authenticated, use an API Key with a Bearer Authorization header.";

/// Whether this request is one the Odoo 19 routes answer.
pub(crate) fn is_json2_route(path: &str) -> bool {
    path == "/web/version"
        || path == "/json/version"
        || path == "/json/2"
        || path.starts_with("/json/2/")
}

/// Answers a request that [`is_json2_route`].
pub(crate) async fn serve(
    erp: Arc<Erp>,
    request: Request<Incoming>,
    keep_alive: bool,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    if path == "/web/version" || path == "/json/version" {
        let body = br#"{"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"}"#;
        return success(Bytes::from_static(body), keep_alive);
    }
    let target = path
        .strip_prefix("/json/2/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(model, method)| !model.is_empty() && !method.is_empty() && !method.contains('/'))
        .map(|(model, method)| (model.to_owned(), method.to_owned()));
    // Odoo adds OPTIONS to every route and runs the method (quirk Q12); other verbs reach the
    // catch-all route (Q13).
    let (Some((model, method)), true) = (
        target,
        matches!(*request.method(), Method::POST | Method::OPTIONS),
    ) else {
        let message = "Did you mean POST /json/2/<model>/<method>?";
        return error(Failure::werkzeug(404, "NotFound", message), keep_alive);
    };
    let headers = request.headers();
    // Without the header Odoo lists the databases to find the only one, which fails under
    // load with this same page (quirk Q15): the demo behaves as under load, always.
    if headers
        .get("x-odoo-database")
        .is_none_or(|db| db.as_bytes() != DEMO_DB.as_bytes())
    {
        return page(
            StatusCode::NOT_FOUND,
            b"NOT FOUND",
            NO_DATABASE_PAGE,
            false,
            keep_alive,
        );
    }
    let Some(uid) = bearer(headers).filter(|_| !erp.api_keys_revoked()) else {
        let message = match headers.get(hyper::header::AUTHORIZATION) {
            Some(value) if is_bearer(value.as_bytes()) => "Invalid apikey",
            _ => NOT_AUTHENTICATED,
        };
        return error(Failure::werkzeug(401, "Unauthorized", message), keep_alive);
    };
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return error(
                Failure::werkzeug(413, "RequestEntityTooLarge", "the body is too large"),
                keep_alive,
            )
        }
    };
    if !body.is_empty() && !is_json {
        return page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            b"UNSUPPORTED MEDIA TYPE",
            UNSUPPORTED_MEDIA_PAGE,
            true,
            keep_alive,
        );
    }
    let arguments = if body.is_empty() {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            // A JSON array or null is taken as no arguments (quirk Q11).
            Ok(Value::Object(arguments)) => arguments,
            Ok(_) => Map::new(),
            Err(e) => {
                let message = format!(
                    "could not parse the body as json: Expecting value: line {} column {} (char {})",
                    e.line(),
                    e.column(),
                    e.column().saturating_sub(1)
                );
                return error(Failure::werkzeug(400, "BadRequest", &message), keep_alive);
            }
        }
    };
    let answer = call(&erp, uid, &model, &method, arguments);
    match answer {
        Ok(value) => success(python_json(&value).into(), keep_alive),
        Err(failure) => error(failure, keep_alive),
    }
}

/// The uid of the request's API key (`^bearer\s+(.+)$`, any case), if it is one.
fn bearer(headers: &hyper::HeaderMap) -> Option<i64> {
    let value = headers.get(hyper::header::AUTHORIZATION)?.as_bytes();
    if !is_bearer(value) {
        return None;
    }
    let key = std::str::from_utf8(&value[6..]).ok()?.trim();
    API_KEYS
        .iter()
        .find(|(_, known)| *known == key)
        .map(|(uid, _)| *uid)
}

fn is_bearer(value: &[u8]) -> bool {
    value.len() > 7
        && value[..6].eq_ignore_ascii_case(b"bearer")
        && value[6].is_ascii_whitespace()
        && value[7..].iter().any(|b| !b.is_ascii_whitespace())
}

/// A JSON-2 error: the exception's class path, its status and message.
struct Failure {
    status: u16,
    name: String,
    message: String,
    /// Werkzeug exceptions carry `[description, code]`, Odoo's `[message]`.
    werkzeug: bool,
    /// The traceback `debug` shows.
    debug: String,
}

impl Failure {
    fn werkzeug(status: u16, class: &str, message: &str) -> Failure {
        Failure {
            status,
            name: format!("werkzeug.exceptions.{class}"),
            message: message.to_owned(),
            werkzeug: true,
            debug: traceback(&format!("werkzeug.exceptions.{class}: {status} {message}")),
        }
    }

    fn odoo(status: u16, class: &str, message: &str) -> Failure {
        Failure {
            status,
            name: format!("odoo.exceptions.{class}"),
            message: message.to_owned(),
            werkzeug: false,
            debug: traceback(&format!("odoo.exceptions.{class}: {message}")),
        }
    }

    fn builtin(class: &str, message: &str) -> Failure {
        Failure {
            status: 500,
            name: format!("builtins.{class}"),
            message: message.to_owned(),
            werkzeug: false,
            debug: traceback(&format!("{class}: {message}")),
        }
    }
}

fn traceback(last: &str) -> String {
    format!(
        "Traceback (most recent call last):\n  File \"/opt/odoo/odoo/http.py\", line 2273, in _serve_db\n    return service_model.retrying(serve_func, env=self.env)\n  File \"/opt/odoo/addons/rpc/controllers/json2.py\", line 77, in web_json_2_rpc\n    result = func(**kwargs)\n{last}\n"
    )
}

/// Runs one call as Odoo 19's `Json2Dispatcher` and `web_json_2_rpc` do.
fn call(
    erp: &Erp,
    uid: i64,
    model: &str,
    method: &str,
    mut arguments: Map<String, Value>,
) -> Result<Value, Failure> {
    let qualified = format!("{model}.{method}");
    if method.starts_with('_') || PRIVATE.contains(&method) {
        return Err(Failure::odoo(
            403,
            "AccessError",
            &format!("Private methods (such as '{qualified}') cannot be called remotely."),
        ));
    }
    let Some(table) = schema::model_index(model) else {
        let message = format!("the model '{model}' does not exist");
        return Err(Failure::werkzeug(404, "NotFound", &message));
    };
    let Some(known) = methods::resolve(table, method) else {
        let message = format!("The method '{qualified}' does not exist");
        return Err(Failure::werkzeug(404, "NotFound", &message));
    };
    let ids = arguments.remove("ids");
    let record_method = RECORD_METHODS.contains(&known);
    if ids.is_some() && !record_method {
        let message = format!("cannot call {qualified} with ids");
        return Err(Failure::werkzeug(422, "UnprocessableEntity", &message));
    }
    if DOMAIN_REQUIRED.contains(&known) && !arguments.contains_key("domain") {
        return Err(Failure::werkzeug(
            422,
            "UnprocessableEntity",
            "missing a required argument: 'domain'",
        ));
    }
    // Odoo 19's `Domain()` refuses anything but a list before the search starts (32).
    if let Some(domain @ (Value::String(_) | Value::Number(_) | Value::Bool(true))) =
        arguments.get("domain")
    {
        let repr = match domain {
            Value::String(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
            Value::Bool(_) => "True".to_owned(),
            other => other.to_string(),
        };
        let message = format!("Domain() invalid argument type for domain: {repr}");
        return Err(Failure::builtin("TypeError", &message));
    }
    let args = match ids {
        // `"ids": 9` works like `[9]` (quirk Q9).
        Some(Value::Number(id)) => vec![json!([id])],
        Some(ids) => vec![ids],
        None if record_method => vec![json!([])],
        None => Vec::new(),
    };
    match erp.execute_json2(uid, model, known, &args, &arguments) {
        // Recordsets become lists of ids: `create` always answers a list (quirk Q8).
        Ok(Value::Number(id)) if known == "create" => Ok(json!([id])),
        Ok(value) => Ok(value),
        Err(fault) => Err(failure(fault, known)),
    }
}

/// The JSON-2 error for a fault the demo's methods raised (their XML-RPC form).
fn failure(fault: Fault, method: &str) -> Failure {
    match fault.code {
        3 => Failure::werkzeug(401, "Unauthorized", "Invalid apikey"),
        4 => Failure::odoo(403, "AccessError", &fault.string),
        2 if fault.string.starts_with("Record does not exist") => {
            Failure::odoo(404, "MissingError", &fault.string)
        }
        2 if fault.string.contains("recursive") || fault.string.contains("same login") => {
            Failure::odoo(422, "ValidationError", &fault.string)
        }
        2 => Failure::odoo(422, "UserError", &fault.string),
        _ => {
            let last = fault
                .string
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_owned();
            let (class, message) = last
                .split_once(": ")
                .map(|(c, m)| (c.rsplit('.').next().unwrap_or(c).to_owned(), m.to_owned()))
                .unwrap_or(("Exception".to_owned(), last.clone()));
            if class == "TypeError" {
                if let Some(at) = message.find("got an unexpected keyword argument") {
                    // `search_read(..., **read_kwargs)` passes unknown names on (Q10).
                    if method == "search_read" {
                        let message = format!("BaseModel._read_format() {}", &message[at..]);
                        return Failure::builtin("TypeError", &message);
                    }
                    return Failure::werkzeug(422, "UnprocessableEntity", &message[at..]);
                }
            }
            Failure::builtin(&class, &message)
        }
    }
}

/// JSON as Python's `json.dumps(..., ensure_ascii=False)` writes it: `", "` and `": "`.
fn python_json(value: &Value) -> Vec<u8> {
    struct Python;
    impl serde_json::ser::Formatter for Python {
        fn begin_array_value<W: ?Sized + std::io::Write>(
            &mut self,
            writer: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            if first {
                Ok(())
            } else {
                writer.write_all(b", ")
            }
        }
        fn begin_object_key<W: ?Sized + std::io::Write>(
            &mut self,
            writer: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            if first {
                Ok(())
            } else {
                writer.write_all(b", ")
            }
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(
            &mut self,
            writer: &mut W,
        ) -> std::io::Result<()> {
            writer.write_all(b": ")
        }
    }
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, Python);
    serde::Serialize::serialize(value, &mut serializer).expect("a JSON value serializes");
    out
}

fn success(body: Bytes, keep_alive: bool) -> Response<Full<Bytes>> {
    let mut response = respond(StatusCode::OK, b"OK", JSON, body, keep_alive);
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn error(failure: Failure, keep_alive: bool) -> Response<Full<Bytes>> {
    let arguments = if failure.werkzeug {
        json!([failure.message, failure.status])
    } else {
        json!([failure.message])
    };
    // AccessDenied's traceback is suppressed (README §2).
    let debug = if failure.name == "odoo.exceptions.AccessDenied" {
        format!("{}: {}\n", failure.name, failure.message)
    } else {
        failure.debug
    };
    let mut body = Map::new();
    body.insert("name".into(), failure.name.into());
    body.insert("message".into(), failure.message.into());
    body.insert("arguments".into(), arguments);
    body.insert("context".into(), json!({}));
    body.insert("debug".into(), debug.into());
    let (status, reason): (StatusCode, &'static [u8]) = match failure.status {
        400 => (StatusCode::BAD_REQUEST, b"BAD REQUEST"),
        401 => (StatusCode::UNAUTHORIZED, b"UNAUTHORIZED"),
        403 => (StatusCode::FORBIDDEN, b"FORBIDDEN"),
        404 => (StatusCode::NOT_FOUND, b"NOT FOUND"),
        413 => (StatusCode::PAYLOAD_TOO_LARGE, b"REQUEST ENTITY TOO LARGE"),
        422 => (StatusCode::UNPROCESSABLE_ENTITY, b"UNPROCESSABLE ENTITY"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, b"INTERNAL SERVER ERROR"),
    };
    let mut response = respond(
        status,
        reason,
        JSON,
        python_json(&Value::Object(body)).into(),
        keep_alive,
    );
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert("www-authenticate", HeaderValue::from_static("Bearer "));
    }
    response
}

fn page(
    status: StatusCode,
    reason: &'static [u8],
    html: &'static str,
    accept_json: bool,
    keep_alive: bool,
) -> Response<Full<Bytes>> {
    let mut response = respond(
        status,
        reason,
        "text/html; charset=utf-8",
        Bytes::from_static(html.as_bytes()),
        keep_alive,
    );
    if accept_json {
        response
            .headers_mut()
            .insert("accept", HeaderValue::from_static("application/json"));
    }
    response
}
