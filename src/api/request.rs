//! Reading a REST request: the parameters (query string, form body on every method, or JSON
//! body), and the access token (`access_token`, `Access-Token`, or `Authorization: Bearer`).

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use crate::error::Error;

/// One request parameter: form and query values are text, JSON values keep their types.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Json(Value),
}

/// The parameters of a request, in arrival order (query first, then body). A name given
/// twice takes its last value, as Odoo does when the body repeats a query parameter. Its
/// `Debug` shows `***` for the value of any parameter that can hold a secret.
#[derive(Default, Clone, PartialEq)]
pub struct Params(Vec<(String, Param)>);

/// Parameters whose value is a secret (`password` holds an API key as well).
const SECRET_PARAMS: [&str; 3] = ["password", "api_key", "access_token"];

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for (name, param) in &self.0 {
            if SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str()) {
                list.entry(&(name, "***"));
            } else {
                list.entry(&(name, param));
            }
        }
        list.finish()
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0.iter().rev().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    /// Removes and returns the parameter (its last value).
    pub fn take(&mut self, name: &str) -> Option<Param> {
        let last = self.0.iter().rposition(|(n, _)| n == name)?;
        let (_, param) = self.0.remove(last);
        self.0.retain(|(n, _)| n != name);
        Some(param)
    }

    /// The parameters with duplicates folded (last value wins), in first-arrival order.
    pub fn into_unique(self) -> Vec<(String, Param)> {
        let mut out: Vec<(String, Param)> = Vec::with_capacity(self.0.len());
        for (name, param) in self.0 {
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = param,
                None => out.push((name, param)),
            }
        }
        out
    }

    /// A text parameter, or a JSON string; `None` when absent.
    pub fn text(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        match self.get(name)? {
            Param::Text(text) => Some(text.as_str().into()),
            Param::Json(Value::String(text)) => Some(text.as_str().into()),
            Param::Json(Value::Null) => None,
            Param::Json(other) => Some(other.to_string().into()),
        }
    }

    fn push(&mut self, name: String, param: Param) {
        self.0.push((name, param));
    }
}

/// Collects the query string and the body (at most `max_body` bytes) into [`Params`].
pub async fn read_params<B>(
    query: Option<&str>,
    headers: &HeaderMap,
    body: B,
    max_body: usize,
) -> Result<Params, Error>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    if let Some(length) = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if length > max_body as u64 {
            return Err(Error::PayloadTooLarge(max_body));
        }
    }
    let body = match Limited::new(body, max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Error::PayloadTooLarge(max_body))
        }
        Err(e) => {
            return Err(Error::BadParameter(format!(
                "the request body could not be read: {e}"
            )))
        }
    };
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    parse_params(query, content_type, &body)
}

/// Parses a query string and a whole body of the given `Content-Type` into [`Params`]; no I/O
/// (the fuzz target calls it directly).
pub fn parse_params(
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Params, Error> {
    let mut params = Params::default();
    if let Some(query) = query {
        push_form(&mut params, query.as_bytes());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(params);
    }
    let content_type = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let looks_like_json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if content_type == "application/json"
        || content_type.ends_with("+json")
        || (content_type.is_empty() && looks_like_json)
    {
        push_json(&mut params, body)?;
    } else if content_type.is_empty() || content_type == "application/x-www-form-urlencoded" {
        push_form(&mut params, body);
    } else if content_type == "multipart/form-data" {
        return Err(Error::BadParameter(
            "multipart/form-data is not supported: send application/x-www-form-urlencoded or JSON"
                .into(),
        ));
    } else {
        return Err(Error::BadParameter(format!(
            "unsupported Content-Type {content_type:?}: send application/x-www-form-urlencoded or application/json"
        )));
    }
    Ok(params)
}

fn push_form(params: &mut Params, bytes: &[u8]) {
    for (name, value) in form_urlencoded::parse(bytes) {
        params.push(name.into_owned(), Param::Text(value.into_owned()));
    }
}

fn push_json(params: &mut Params, bytes: &[u8]) -> Result<(), Error> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::BadParameter(format!("the JSON body is not valid: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Error::BadParameter(
            "the JSON body must be an object".into(),
        ));
    };
    for (name, value) in map {
        params.push(name, Param::Json(value));
    }
    Ok(())
}

/// The access token: header `access_token` (Flectra), `Access-Token` (nginx drops header
/// names with underscores by default), or `Authorization: Bearer <token>`.
pub fn access_token(headers: &HeaderMap) -> Option<&str> {
    let direct = headers
        .get("access_token")
        .or_else(|| headers.get("access-token"))
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let bearer = || {
        let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    };
    direct.or_else(bearer).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    async fn read(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<Params, Error> {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
        }
        read_params(
            query,
            &headers,
            Full::new(Bytes::from(body.to_owned())),
            1024,
        )
        .await
    }

    #[tokio::test]
    async fn form_on_any_method_query_and_json() {
        let params = read(
            Some("limit=3&order=name+desc"),
            Some("application/x-www-form-urlencoded"),
            "field=%5B%27name%27%5D&limit=5",
        )
        .await
        .unwrap();
        assert_eq!(params.text("field").as_deref(), Some("['name']"));
        assert_eq!(
            params.text("limit").as_deref(),
            Some("5"),
            "the body wins over the query"
        );
        assert_eq!(params.text("order").as_deref(), Some("name desc"));

        let params = read(
            None,
            Some("application/json; charset=utf-8"),
            r#"{"name": "X", "limit": 3, "ids": [1, 2]}"#,
        )
        .await
        .unwrap();
        assert_eq!(params.get("limit"), Some(&Param::Json(3.into())));
        assert_eq!(
            params.get("ids"),
            Some(&Param::Json(serde_json::json!([1, 2])))
        );

        let params = read(None, None, "a=1").await.unwrap();
        assert_eq!(params.text("a").as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn bad_bodies_are_clear_errors() {
        assert!(matches!(
            read(None, Some("application/json"), "[1]").await,
            Err(Error::BadParameter(_))
        ));
        assert!(matches!(
            read(None, Some("application/json"), "{").await,
            Err(Error::BadParameter(_))
        ));
        assert!(matches!(
            read(None, Some("text/plain"), "x").await,
            Err(Error::BadParameter(_))
        ));
        let big = "a=".to_owned() + &"x".repeat(2000);
        assert!(matches!(
            read(None, None, &big).await,
            Err(Error::PayloadTooLarge(1024))
        ));
    }

    #[test]
    fn debug_masks_the_password_and_shows_the_rest() {
        let params = parse_params(
            Some("password=hunter2&db=demo"),
            None,
            b"Password=s3cret&x=1",
        )
        .unwrap();
        let shown = format!("{params:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(shown.contains("demo") && shown.contains("***"), "{shown}");
    }

    #[test]
    fn token_from_any_of_the_three_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(access_token(&headers), None);
        headers.insert(http::header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(access_token(&headers), Some("abc"));
        headers.insert("access-token", "def".parse().unwrap());
        assert_eq!(access_token(&headers), Some("def"));
    }
}
