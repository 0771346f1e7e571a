//! The Odoo 19 JSON-2 codec (`POST /json/2/<model>/<method>`), no I/O: the request body of a
//! call named the way `execute_kw` names it (positional arguments), and the reading of an
//! answer by HTTP status, content type and the error's `name`. Successful answers are bare
//! JSON; they are checked and measured, never built into a `Value` unless asked.
//! The ground truth is tests/fixtures/odoo19-json2/ (recorded from a real Odoo 19.0).

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The keyword names of a method's positional arguments after `ids`, as Odoo 19 declares them
/// (`/doc-bearer/<model>.json`, quirk Q24); `true` when the first positional argument is the
/// record ids (sent as the top-level `ids` key).
fn signature(method: &str) -> Option<(bool, &'static [&'static str])> {
    Some(match method {
        "search_read" => (false, &["domain", "fields", "offset", "limit", "order"]),
        "search" => (false, &["domain", "offset", "limit", "order"]),
        "search_count" => (false, &["domain", "limit"]),
        "read" => (true, &["fields", "load"]),
        "create" => (false, &["vals_list"]),
        "write" => (true, &["vals"]),
        "unlink" => (true, &[]),
        "fields_get" => (false, &["allfields", "attributes"]),
        "context_get" => (false, &[]),
        "name_search" => (false, &["name", "domain", "operator", "limit"]),
        _ => return None,
    })
}

/// Why a call cannot be put into a JSON-2 body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    #[error("the arguments of an upstream call must be a list")]
    ArgsNotAList,
    #[error("the keyword arguments of an upstream call must be a mapping")]
    KwargsNotAMapping,
    #[error("JSON-2 cannot name the positional arguments of {0}")]
    UnknownSignature(String),
    #[error("{method} takes at most {max} positional arguments")]
    TooManyArguments { method: String, max: usize },
    #[error("argument {0:?} given twice")]
    Duplicate(String),
}

/// The JSON-2 body of `method` called with `execute_kw`'s `args` and `kwargs`: each positional
/// argument under its keyword name (the ids under `ids`), then the keyword arguments.
pub fn request_body(
    method: &str,
    args: &Value,
    kwargs: Option<&Value>,
) -> Result<Vec<u8>, EncodeError> {
    let positional = match args {
        Value::Array(items) => items.as_slice(),
        Value::Null => &[],
        _ => return Err(EncodeError::ArgsNotAList),
    };
    let mut body = Map::new();
    if !positional.is_empty() {
        let (ids_first, names) =
            signature(method).ok_or_else(|| EncodeError::UnknownSignature(method.to_owned()))?;
        let mut rest = positional;
        if ids_first {
            body.insert("ids".into(), rest[0].clone());
            rest = &rest[1..];
        }
        if rest.len() > names.len() {
            return Err(EncodeError::TooManyArguments {
                method: method.to_owned(),
                max: names.len() + usize::from(ids_first),
            });
        }
        for (name, value) in names.iter().zip(rest) {
            body.insert((*name).into(), value.clone());
        }
    }
    match kwargs {
        None | Some(Value::Null) => {}
        Some(Value::Object(kwargs)) => {
            for (name, value) in kwargs {
                if body.insert(name.clone(), value.clone()).is_some() {
                    return Err(EncodeError::Duplicate(name.clone()));
                }
            }
        }
        Some(_) => return Err(EncodeError::KwargsNotAMapping),
    }
    Ok(serde_json::to_vec(&Value::Object(body)).expect("a JSON map always serializes"))
}

/// A successful answer, as the bytes Odoo sent (valid JSON, checked).
#[derive(Debug, Clone, PartialEq)]
pub struct Success {
    pub text: Vec<u8>,
    /// The number of items when the answer is an array.
    pub array_len: Option<usize>,
}

/// A JSON-2 error, classified by status and `name` (README §2). `message` is Odoo's message;
/// `debug` (the traceback, quirk Q6) is kept for DEBUG logs only and never in `Display`.
#[derive(Clone, PartialEq, thiserror::Error)]
pub enum Json2Error {
    /// 401 `werkzeug.exceptions.Unauthorized`: no key, not a key (a password), revoked or
    /// expired (42–46, 93, 27).
    #[error("{message}")]
    Unauthorized { message: String },
    /// 403 `odoo.exceptions.AccessError` or `AccessDenied` (18, 19, 38–40, 83, 91).
    #[error("{message}")]
    AccessError { message: String },
    /// 404 `odoo.exceptions.MissingError` (14, 15).
    #[error("{message}")]
    Missing { message: String },
    /// 404 `werkzeug.exceptions.NotFound` "the model 'x' does not exist" (16).
    #[error("the model {model:?} does not exist")]
    UnknownModel { model: String },
    /// Any other 404 NotFound: unknown method, wrong HTTP method (17, 24, 25, 28).
    #[error("{message}")]
    NotFound { message: String },
    /// 422 `odoo.exceptions.UserError` / `ValidationError` (35–37).
    #[error("{message}")]
    UserError { message: String },
    /// 422 `werkzeug.exceptions.UnprocessableEntity`: argument binding (21, 23, 69–71, 77).
    #[error("{message}")]
    BadArguments { message: String },
    /// 400 `werkzeug.exceptions.BadRequest` (65) and any other 4xx JSON error.
    #[error("{message}")]
    BadRequest { message: String },
    /// 500 `builtins.*` (bad field, domain or order: 20, 22, 29–34, 84) or another 5xx.
    #[error("{class}: {message}")]
    ServerError {
        class: String,
        message: String,
        debug: String,
    },
    /// The HTML 404 "No database is selected" (50, 51; Q15).
    #[error("the ERP knows no such database")]
    NoDatabase,
    /// Anything else that is not a JSON-2 answer: HTML 415 (66, 67), HTML 403 (95), ...
    #[error("the ERP answered HTTP {status} with a page that is not a JSON-2 answer")]
    Http { status: u16 },
    /// A JSON body that does not parse, or an error body without `name`/`message`.
    #[error("the ERP's answer is unreadable: {0}")]
    Unreadable(String),
}

impl std::fmt::Debug for Json2Error {
    /// As `Display` (no traceback).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Json2Error({self})")
    }
}

const NO_DATABASE: &[u8] = b"No database is selected";

/// Reads an answer from its status, `Content-Type` and body.
pub fn read_response(
    status: u16,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Success, Json2Error> {
    let is_json = content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        if status == 404 && contains(&body, NO_DATABASE) {
            return Err(Json2Error::NoDatabase);
        }
        return Err(Json2Error::Http { status });
    }
    if (200..300).contains(&status) {
        let array_len = measure(&body).map_err(Json2Error::Unreadable)?;
        return Ok(Success {
            text: body,
            array_len,
        });
    }
    Err(read_error(status, &body))
}

fn read_error(status: u16, body: &[u8]) -> Json2Error {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        name: String,
        message: String,
        #[serde(default)]
        debug: String,
    }
    let Ok(ErrorBody {
        name,
        message,
        debug,
    }) = serde_json::from_slice::<ErrorBody>(body)
    else {
        return Json2Error::Unreadable(format!(
            "HTTP {status} with a JSON body that is not a JSON-2 error"
        ));
    };
    let class = name.rsplit('.').next().unwrap_or(&name);
    match (status, name.as_str()) {
        (401, _) => Json2Error::Unauthorized { message },
        (403, "odoo.exceptions.AccessError" | "odoo.exceptions.AccessDenied") => {
            Json2Error::AccessError { message }
        }
        (404, "odoo.exceptions.MissingError") => Json2Error::Missing { message },
        (404, _) => match unknown_model(&message) {
            Some(model) => Json2Error::UnknownModel {
                model: model.to_owned(),
            },
            None => Json2Error::NotFound { message },
        },
        (422, n) if n.starts_with("odoo.exceptions.") => Json2Error::UserError { message },
        (422, _) => Json2Error::BadArguments { message },
        (400..=499, _) => Json2Error::BadRequest { message },
        _ => Json2Error::ServerError {
            class: class.to_owned(),
            message,
            debug,
        },
    }
}

/// `the model 'res.nothing' does not exist` -> `res.nothing`.
fn unknown_model(message: &str) -> Option<&str> {
    message
        .strip_prefix("the model '")?
        .strip_suffix("' does not exist")
        .filter(|model| !model.contains(['\'', ' ']))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Checks that `body` is one JSON value and counts its items if it is an array, without
/// building it.
pub fn measure(body: &[u8]) -> Result<Option<usize>, String> {
    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<usize>, A::Error> {
            let mut n = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(Some(n))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Option<usize>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Option<usize>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Option<usize>, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Option<usize>, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Option<usize>, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Option<usize>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<usize>, E> {
            Ok(None)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let len = (&mut de)
        .deserialize_any(Count)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(len)
}

/// `create` answers a list of ids even for one dict (quirk Q8); XML-RPC answers the id. For a
/// call with one dict, the first id, so that callers see the same answer on both wires.
pub fn single_create_id(answer: Success) -> Result<Success, Json2Error> {
    let ids: Vec<Value> = serde_json::from_slice(&answer.text)
        .map_err(|e| Json2Error::Unreadable(format!("create did not answer a list: {e}")))?;
    match ids.as_slice() {
        [id] if id.is_i64() => Ok(Success {
            text: serde_json::to_vec(id).expect("a number serializes"),
            array_len: None,
        }),
        _ => Err(Json2Error::Unreadable(format!(
            "create of one record answered {} ids",
            ids.len()
        ))),
    }
}

/// The `[major, minor]` of a `/web/version` answer (`version_info`), e.g. `19` for 19.0.
pub fn major_version(body: &[u8]) -> Option<i64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value
        .get("version_info")
        .and_then(|info| info.get(0))
        .and_then(Value::as_i64)
        .or_else(|| {
            value
                .get("version")
                .and_then(Value::as_str)
                .and_then(|v| v.split('.').next())
                .and_then(|major| {
                    major
                        .trim_start_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .ok()
                })
        })
}

#[cfg(test)]
#[path = "json2_tests.rs"]
mod tests;
