//! `/api/<model>[/<id>]`: each REST call becomes exactly one `execute_kw` in steady state
//! (the gate and `fields_get` come from caches): GET -> `search_read`, POST -> `create`,
//! PUT -> `write`, DELETE -> `unlink`.

use std::sync::Arc;

use http::Method;
use serde_json::{json, Map, Value};

use super::coerce::{self, Op};
use super::request::{Param, Params};
use super::{AppState, Reply};
use crate::config::Limits;
use crate::error::{Error, Operation};
use crate::odoo::{Answer, OdooFault, Protocol, ServerVersion, UpstreamError};
use crate::pyliteral;
use crate::tokens::Session;
use crate::xmlrpc::Json;

/// Serves one record call for an authenticated session; the gate has already let it through.
pub async fn handle(
    state: &AppState,
    session: &Session,
    method: &Method,
    model: &str,
    id: Option<&str>,
    mut params: Params,
) -> Result<Reply, Error> {
    let call = Call {
        state,
        session,
        model,
    };
    match *method {
        Method::GET => match id {
            // Flectra searches for a negative id and finds nothing: its 404, not a 400.
            Some(id) if negative(id).is_some() => Err(Error::RecordNotFound {
                id: negative(id).unwrap_or_default(),
                model: model.to_owned(),
            }),
            Some(id) => {
                call.read_one(parse_id(&Param::Text(id.to_owned()))?, &params)
                    .await
            }
            None => call.read_many(&params).await,
        },
        Method::POST => {
            params.take("id");
            call.create(params).await
        }
        Method::PUT => {
            let id = record_id(id, &mut params)?;
            call.update(id, params).await.map(Reply::Value)
        }
        Method::DELETE => {
            let id = record_id(id, &mut params)?;
            call.delete(id).await.map(Reply::Value)
        }
        _ => Err(Error::MethodNotAllowed(method.to_string())),
    }
}

struct Call<'a> {
    state: &'a AppState,
    session: &'a Session,
    model: &'a str,
}

impl Call<'_> {
    /// The one `execute_kw` of this REST call, its answer read as a `Value` or as JSON text.
    async fn execute<T: Answer>(
        &self,
        operation: Operation,
        method: &str,
        args: Value,
        kwargs: Option<Value>,
    ) -> Result<T, Error> {
        let session = self.session;
        self.state
            .odoo
            .call_kw(
                session.protocol,
                &session.db,
                session.uid,
                &session.password,
                self.model,
                method,
                args,
                kwargs,
            )
            .await
            .map_err(|e| self.error(operation, e))
    }

    fn error(&self, operation: Operation, error: UpstreamError) -> Error {
        if let UpstreamError::Fault(OdooFault::UnknownModel(_)) = error {
            self.state.gate.forget(&self.session.db, self.model);
            return Error::ModelNotFound(self.model.to_owned());
        }
        Error::upstream(operation, error)
    }

    /// The one-element list of rows, as `search_read` answered it.
    async fn read_one(&self, id: i64, params: &Params) -> Result<Reply, Error> {
        let mut kwargs = Map::new();
        let fields = match self.field_list(params)? {
            Some(fields) => fields,
            None => self.readable_fields().await?,
        };
        kwargs.insert("fields".into(), fields);
        let rows = self
            .execute::<Json>(
                Operation::Read,
                "search_read",
                json!([[["id", "=", id]]]),
                Some(Value::Object(kwargs)),
            )
            .await?;
        match rows.array_len {
            Some(len) if len > 0 => Ok(Reply::Json(rows.text)),
            _ => Err(Error::RecordNotFound {
                id,
                model: self.model.to_owned(),
            }),
        }
    }

    /// `{"count": n, "results": rows}`, the rows as `search_read` answered them.
    async fn read_many(&self, params: &Params) -> Result<Reply, Error> {
        let (domain, mut kwargs) = search_read_arguments(params, &self.state.config.limits)?;
        if !kwargs.contains_key("fields") {
            kwargs.insert("fields".into(), self.readable_fields().await?);
        }
        let rows = self
            .execute::<Json>(
                Operation::Read,
                "search_read",
                json!([domain]),
                Some(Value::Object(kwargs)),
            )
            .await?;
        match rows.array_len {
            Some(count) if count > 0 => Ok(Reply::Json(wrap_json(
                &[
                    b"{\"count\":",
                    count.to_string().as_bytes(),
                    b",\"results\":",
                ],
                rows.text,
            ))),
            _ => Err(Error::NoRecords(self.model.to_owned())),
        }
    }

    /// `{"id": id}`, the id as `create` answered it.
    async fn create(&self, params: Params) -> Result<Reply, Error> {
        let values = self.values(params, Op::Create).await?;
        let id = self
            .execute::<Json>(Operation::Create, "create", json!([values]), None)
            .await?;
        Ok(Reply::Json(wrap_json(&[b"{\"id\":"], id.text)))
    }

    async fn update(&self, id: i64, params: Params) -> Result<Value, Error> {
        let values = self.values(params, Op::Write).await?;
        self.execute(Operation::Update, "write", json!([[id], values]), None)
            .await
            .or_else(ran_anyway)
            .map_err(|e| self.missing_record(e, id))?;
        Ok(json!({"desc": "Record Updated successfully!", "update": true}))
    }

    async fn delete(&self, id: i64) -> Result<Value, Error> {
        if self.unlink_is_silent().await? && !self.exists(id).await? {
            return Err(Error::RecordNotFound {
                id,
                model: self.model.to_owned(),
            });
        }
        self.execute(Operation::Delete, "unlink", json!([[id]]), None)
            .await
            .or_else(ran_anyway)
            .map_err(|e| self.missing_record(e, id))?;
        Ok(json!({"desc": "Record Successfully Deleted!", "delete": true}))
    }

    /// Whether the upstream's `unlink` succeeds on a missing id (Flectra 1.x, Odoo 11 and
    /// older), from the version it reports (asked once, then cached). An ERP that reports no
    /// readable version is looked up first too: the answer is right on every server.
    async fn unlink_is_silent(&self) -> Result<bool, Error> {
        if self.session.protocol == Protocol::Json2 {
            // JSON-2 exists from Odoo 19 on, whose unlink of a missing id is a MissingError
            // (and whose XML-RPC may be gone): nothing to ask.
            return Ok(false);
        }
        let version = self
            .state
            .odoo
            .server_version()
            .await
            .map_err(|e| Error::upstream(Operation::Delete, e))?;
        Ok(version.is_none_or(ServerVersion::unlink_is_silent))
    }

    /// Whether record `id` exists, archived ones included: the look-up before an unlink on
    /// servers whose unlink is silent, the one place a REST call costs two upstream calls.
    async fn exists(&self, id: i64) -> Result<bool, Error> {
        let count: Value = self
            .execute(
                Operation::Delete,
                "search_count",
                json!([[["id", "=", id]]]),
                Some(json!({"context": {"active_test": false}})),
            )
            .await?;
        Ok(count.as_i64().is_some_and(|count| count > 0))
    }

    /// Odoo answers a write or unlink of a missing id with fault 2: Flectra's 404.
    fn missing_record(&self, error: Error, id: i64) -> Error {
        match error {
            Error::Upstream {
                error: UpstreamError::Fault(OdooFault::MissingRecord(_)),
                ..
            } => Error::RecordNotFound {
                id,
                model: self.model.to_owned(),
            },
            other => other,
        }
    }

    /// The `field` parameter as a list of field names; `None` (all fields) when absent or empty.
    fn field_list(&self, params: &Params) -> Result<Option<Value>, Error> {
        field_list(params, &self.state.config.limits)
    }

    /// The record values of a create or write, each coerced to its field's type.
    async fn values(&self, params: Params, op: Op) -> Result<Value, Error> {
        let fields = self.fields().await?;
        let mut values = Map::new();
        for (name, param) in params.into_unique() {
            let value = match &param {
                Param::Text(text) => coerce::coerce_form(&fields, &name, text, op),
                Param::Json(value) => coerce::coerce_json(&fields, &name, value, op),
            }
            .map_err(|e| Error::BadParameter(e.to_string()))?;
            values.insert(name, value);
        }
        Ok(Value::Object(values))
    }

    /// No `field` means every field the caller may read, named: Odoo 19 refuses a read of
    /// all fields (an empty list) when one of them is restricted to a group the user lacks.
    /// The caller's own `fields_get` leaves those out.
    async fn readable_fields(&self) -> Result<Value, Error> {
        let fields = self.fields().await?;
        Ok(Value::Array(
            fields
                .keys()
                .map(|name| Value::from(name.as_str()))
                .collect(),
        ))
    }

    /// The model's fields as the caller sees them (`fields_get`), cached per database, model
    /// and user.
    async fn fields(&self) -> Result<Arc<Map<String, Value>>, Error> {
        let db = &self.session.db;
        let key = format!("{}/{}", self.model, self.session.uid);
        let cached = self.state.fields.get(db, &key);
        self.state
            .metrics
            .cache_lookup(crate::metrics::Cache::Fields, cached.is_some());
        if let Some(fields) = cached {
            return Ok(fields);
        }
        let fields = self
            .execute(
                Operation::Read,
                "fields_get",
                json!([]),
                Some(json!({"attributes": ["type", "relation"]})),
            )
            .await?;
        let Value::Object(fields) = fields else {
            return Err(Error::upstream(
                Operation::Read,
                UpstreamError::Unreadable("fields_get did not answer a struct".into()),
            ));
        };
        Ok(self.state.fields.insert(db, &key, fields))
    }
}

/// A write or unlink whose override returned `None` ran all the same (Odoo fails only while
/// sending the answer, after the commit); the REST answer does not use the value.
fn ran_anyway(error: Error) -> Result<Value, Error> {
    match error {
        Error::Upstream {
            error: UpstreamError::Fault(OdooFault::ReturnedNone),
            ..
        } => Ok(Value::Bool(true)),
        other => Err(other),
    }
}

/// The domain and keyword arguments of the `search_read` behind `GET /api/<model>`, from the
/// `filters`, `field`, `offset`, `limit` and `order` parameters, within `limits`. No I/O (the
/// fuzz target calls it directly).
pub fn search_read_arguments(
    params: &Params,
    limits: &Limits,
) -> Result<(Value, Map<String, Value>), Error> {
    let domain = match params.get("filters") {
        Some(filters) => parse_literal(
            "filters",
            filters,
            limits.max_filter_bytes,
            limits.max_filter_depth,
        )?,
        None => Value::Array(Vec::new()),
    };
    if !domain.is_array() {
        return Err(Error::BadParameter(
            "filters must be a list of conditions, e.g. [('name', 'ilike', 'a')]".into(),
        ));
    }
    let mut kwargs = Map::new();
    if let Some(fields) = field_list(params, limits)? {
        kwargs.insert("fields".into(), fields);
    }
    if let Some(offset) = whole_number(params, "offset")? {
        kwargs.insert("offset".into(), offset.into());
    }
    // `limit=0` means no limit to Odoo: under a cap it is the cap, like an absent limit.
    let requested = whole_number(params, "limit")?.filter(|&l| l > 0);
    let limit = match (requested, limits.max_limit) {
        (Some(limit), Some(max)) => Some(limit.min(max)),
        (None, Some(max)) => Some(max),
        (limit, None) => limit,
    };
    if let Some(limit) = limit {
        kwargs.insert("limit".into(), limit.into());
    }
    if let Some(order) = params.text("order").filter(|o| !o.trim().is_empty()) {
        kwargs.insert("order".into(), order.into_owned().into());
    }
    Ok((domain, kwargs))
}

/// The `field` parameter as a list of field names; `None` (all fields) when absent or empty.
fn field_list(params: &Params, limits: &Limits) -> Result<Option<Value>, Error> {
    let Some(param) = params.get("field") else {
        return Ok(None);
    };
    let fields = parse_literal(
        "field",
        param,
        limits.max_filter_bytes,
        limits.max_filter_depth,
    )?;
    let names = match &fields {
        Value::Array(items) if items.iter().all(Value::is_string) => items.len(),
        Value::String(_) => return Ok(Some(Value::Array(vec![fields]))),
        Value::Null => 0,
        _ => {
            return Err(Error::BadParameter(
                "field must be a list of field names, e.g. ['name', 'email']".into(),
            ))
        }
    };
    Ok((names > 0).then_some(fields))
}

/// `value` (JSON text) after the pieces of `before`, then `}`: one object around a value.
fn wrap_json(before: &[&[u8]], value: Vec<u8>) -> Vec<u8> {
    let prefix: usize = before.iter().map(|piece| piece.len()).sum();
    let mut out = Vec::with_capacity(prefix + value.len() + 1);
    for piece in before {
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(&value);
    out.push(b'}');
    out
}

/// The record id of a PUT or DELETE: from the path, else from the `id` parameter.
fn record_id(path_id: Option<&str>, params: &mut Params) -> Result<i64, Error> {
    let from_params = params.take("id");
    match path_id {
        Some(id) => parse_id(&Param::Text(id.to_owned())),
        None => parse_id(&from_params.ok_or(Error::InvalidObjectId)?),
    }
}

/// A negative whole number (`-5`), which no record has.
fn negative(id: &str) -> Option<i64> {
    id.trim().parse::<i64>().ok().filter(|&id| id < 0)
}

/// A record id: a whole number above zero, as text or JSON.
pub fn parse_id(param: &Param) -> Result<i64, Error> {
    let id = match param {
        Param::Text(text) => text.trim().parse::<i64>().ok(),
        Param::Json(Value::Number(n)) => n.as_i64(),
        Param::Json(Value::String(text)) => text.trim().parse::<i64>().ok(),
        Param::Json(_) => None,
    };
    id.filter(|&id| id > 0).ok_or(Error::InvalidObjectId)
}

fn whole_number(params: &Params, name: &str) -> Result<Option<u64>, Error> {
    let value = match params.get(name) {
        None => return Ok(None),
        Some(Param::Json(Value::Number(n))) => n.as_u64(),
        Some(Param::Json(Value::Null)) => return Ok(None),
        Some(Param::Json(Value::String(text)) | Param::Text(text)) => {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<u64>().ok()
        }
        Some(Param::Json(_)) => None,
    };
    value
        .map(Some)
        .ok_or_else(|| Error::BadParameter(format!("{name} must be a whole number, 0 or more")))
}

/// A Python literal (Flectra's `ast.literal_eval`) or a JSON value, bounded in size and depth.
fn parse_literal(
    name: &str,
    param: &Param,
    max_bytes: usize,
    max_depth: usize,
) -> Result<Value, Error> {
    let value = match param {
        Param::Json(Value::String(text)) | Param::Text(text) => {
            if text.len() > max_bytes {
                return Err(Error::BadParameter(format!(
                    "{name} is longer than {max_bytes} bytes"
                )));
            }
            pyliteral::parse(text)
                .map_err(|e| Error::BadParameter(format!("{name} is not a valid literal: {e}")))?
        }
        Param::Json(value) => value.clone(),
    };
    if depth(&value) > max_depth {
        return Err(Error::BadParameter(format!(
            "{name} is nested deeper than {max_depth} levels"
        )));
    }
    Ok(value)
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_whole_numbers_above_zero() {
        assert_eq!(parse_id(&Param::Text(" 42 ".into())).unwrap(), 42);
        assert_eq!(parse_id(&Param::Json(7.into())).unwrap(), 7);
        for bad in ["0", "-3", "abc", "", "1.5", "99999999999999999999"] {
            assert!(
                matches!(
                    parse_id(&Param::Text(bad.into())),
                    Err(Error::InvalidObjectId)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn depth_counts_nesting() {
        assert_eq!(depth(&json!([["a", "=", 1]])), 2);
        assert_eq!(depth(&json!("x")), 0);
    }
}
