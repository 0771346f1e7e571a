//! `/api/auth/get_tokens` and `/api/auth/delete_tokens`: log in once over XML-RPC and hand out
//! an access token; revoke it.

use std::net::IpAddr;

use http::HeaderMap;
use serde_json::{json, Map, Value};

use super::limiter::Attempt;
use super::request::{self, Params};
use super::AppState;
use crate::error::{Error, Operation};
use crate::odoo::{OdooFault, UpstreamError};
use crate::secret::Secret;
use crate::tokens::Session;

/// `POST /api/auth/get_tokens` with `username`, `password` (or an API key) and `db`, from
/// `client`. Failed logins are rate limited per client and per login: past the limit, the ERP
/// is not called at all.
pub async fn get_tokens(state: &AppState, params: &Params, client: IpAddr) -> Result<Value, Error> {
    let field = |name| {
        params
            .text(name)
            .filter(|v| !v.is_empty())
            .map(|v| v.into_owned())
    };
    let (Some(db), Some(login), Some(password)) =
        (field("db"), field("username"), field("password"))
    else {
        return Err(Error::EmptyLogin);
    };
    let password = Secret::new(password);
    let attempt = state
        .logins
        .begin(client, &login)
        .map_err(Error::TooManyAttempts)?;
    // A refused login or an unknown database keeps the attempt counted; a login that the ERP
    // could not check is not the client's failure.
    let uid = match state.odoo.authenticate(&db, &login, &password).await {
        Ok(Some(uid)) => uid,
        Ok(None) => return Err(Error::LoginFailed),
        Err(UpstreamError::Fault(OdooFault::UnknownDatabase(_))) => {
            return Err(Error::InvalidDatabase)
        }
        Err(e @ UpstreamError::Fault(_)) => return Err(Error::upstream(Operation::Login, e)),
        Err(e) => {
            refund(attempt);
            return Err(Error::upstream(Operation::Login, e));
        }
    };
    refund(attempt);
    crate::access::set_user(&db, uid);
    let call = |model: &'static str, method: &'static str, args: Value, kwargs: Option<Value>| {
        state
            .odoo
            .execute_kw::<Value>(&db, uid, &password, model, method, args, kwargs)
    };
    let (context, user) = tokio::join!(
        call("res.users", "context_get", json!([]), None),
        call(
            "res.users",
            "read",
            json!([[uid]]),
            Some(json!({"fields": ["company_id"]}))
        ),
    );
    let context = context.map_err(|e| Error::upstream(Operation::Login, e))?;
    let user = user.map_err(|e| Error::upstream(Operation::Login, e))?;
    let company_id = user
        .get(0)
        .and_then(|row| row.get("company_id"))
        .and_then(|company| company.get(0).or(Some(company)))
        .filter(|id| id.is_i64())
        .cloned()
        .unwrap_or(Value::Null);
    let user_context = json!({
        "lang": context.get("lang").cloned().unwrap_or(Value::Bool(false)),
        "tz": context.get("tz").cloned().unwrap_or(Value::Bool(false)),
        "uid": uid,
    });
    let session = Session {
        db,
        uid,
        login,
        password,
        user_context: user_context.clone(),
        company_id: company_id.clone(),
    };
    let token = state
        .tokens
        .issue(session)
        .map_err(|_| Error::TokenStoreFull)?;
    let mut body = Map::new();
    body.insert("uid".into(), uid.into());
    body.insert("user_context".into(), user_context);
    body.insert("company_id".into(), company_id);
    body.insert("access_token".into(), token.as_str().into());
    body.insert(
        "expires_in".into(),
        state.config.tokens.ttl.as_secs().to_string().into(),
    );
    Ok(Value::Object(body))
}

fn refund(attempt: Option<Attempt<'_>>) {
    if let Some(attempt) = attempt {
        attempt.refund();
    }
}

/// `POST /api/auth/delete_tokens` with the token in a header.
pub fn delete_tokens(state: &AppState, headers: &HeaderMap) -> Result<Value, Error> {
    let revoked = request::access_token(headers).is_some_and(|token| state.tokens.revoke(token));
    if !revoked {
        return Err(Error::NoTokenToDelete);
    }
    Ok(json!({"desc": "Token Successfully Deleted", "delete": true}))
}
