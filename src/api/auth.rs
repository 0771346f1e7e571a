//! `/api/auth/get_tokens` and `/api/auth/delete_tokens`: log in once (over JSON-2 with an API
//! key where the ERP offers it, else over XML-RPC) and hand out an access token; revoke it.

use std::net::IpAddr;

use http::HeaderMap;
use serde_json::{json, Map, Value};

use super::limiter::{Attempt, Refusal};
use super::request::{self, Params};
use super::AppState;
use crate::error::{Error, Operation};
use crate::odoo::{OdooFault, Protocol, ProtocolChoice, UpstreamError};
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
        .await
        .map_err(|refusal| match refusal {
            Refusal::TooMany(seconds) => Error::TooManyAttempts(seconds),
            Refusal::Unavailable => Error::TokenStoreUnavailable,
        })?;
    // Over JSON-2 the password must be an API key; in auto mode a credential JSON-2 refuses
    // (a password, on 19 to 21) gets an XML-RPC session, as on older servers.
    if state.odoo.offers_json2().await {
        match login_json2(state, &db, &login, &password).await {
            Ok(Some(who)) => {
                refund(attempt).await;
                return issue(state, db, login, password, who, Protocol::Json2).await;
            }
            Ok(None) if state.odoo.protocol_choice() == ProtocolChoice::Json2 => {
                return Err(Error::ApiKeyRequired)
            }
            Ok(None) => {}
            Err(e @ (Error::LoginFailed | Error::InvalidDatabase)) => return Err(e),
            Err(
                e @ Error::Upstream {
                    error: UpstreamError::Fault(_),
                    ..
                },
            ) => return Err(e),
            Err(e) => {
                refund(attempt).await;
                return Err(e);
            }
        }
    }
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
            refund(attempt).await;
            return Err(Error::upstream(Operation::Login, e));
        }
    };
    refund(attempt).await;
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
    let company_id = company_of(&user);
    let who = Who {
        uid,
        user_context: user_context(&context, uid),
        company_id,
    };
    issue(state, db, login, password, who, Protocol::XmlRpc).await
}

/// Who a login is: what get_tokens answers besides the token.
struct Who {
    uid: i64,
    user_context: Value,
    company_id: Value,
}

fn user_context(context: &Value, uid: i64) -> Value {
    json!({
        "lang": context.get("lang").cloned().unwrap_or(Value::Bool(false)),
        "tz": context.get("tz").cloned().unwrap_or(Value::Bool(false)),
        "uid": uid,
    })
}

/// The company id of a `read` of res.users: `[[id, name]]` or `[id]` -> `id`.
fn company_of(rows: &Value) -> Value {
    rows.get(0)
        .and_then(|row| row.get("company_id"))
        .and_then(|company| company.get(0).or(Some(company)))
        .filter(|id| id.is_i64())
        .cloned()
        .unwrap_or(Value::Null)
}

/// Login over JSON-2 with `key` as the API key: `res.users/context_get` says whose key it is
/// (uid, lang, tz), then a read of that user's `login` and `company_id`. `None` when the ERP
/// refuses the key; `LoginFailed` when it is another user's key.
async fn login_json2(
    state: &AppState,
    db: &str,
    login: &str,
    key: &Secret,
) -> Result<Option<Who>, Error> {
    let failed = |e| match e {
        UpstreamError::Fault(OdooFault::UnknownDatabase(_)) => Error::InvalidDatabase,
        e => Error::upstream(Operation::Login, e),
    };
    let Some(context) = state.odoo.json2_context(db, key).await.map_err(failed)? else {
        return Ok(None);
    };
    let Some(uid) = context
        .get("uid")
        .and_then(Value::as_i64)
        .filter(|&uid| uid > 0)
    else {
        return Err(Error::upstream(
            Operation::Login,
            UpstreamError::Unreadable("context_get answered no uid".into()),
        ));
    };
    let user: Value = state
        .odoo
        .call_kw(
            Protocol::Json2,
            db,
            uid,
            key,
            "res.users",
            "read",
            json!([[uid]]),
            Some(json!({"fields": ["login", "company_id"]})),
        )
        .await
        .map_err(failed)?;
    let owner = user
        .get(0)
        .and_then(|row| row.get("login"))
        .and_then(Value::as_str);
    if owner != Some(login) {
        return Err(Error::LoginFailed);
    }
    Ok(Some(Who {
        uid,
        user_context: user_context(&context, uid),
        company_id: company_of(&user),
    }))
}

/// Issues a token for a checked login and builds get_tokens' answer.
async fn issue(
    state: &AppState,
    db: String,
    login: String,
    password: Secret,
    who: Who,
    protocol: Protocol,
) -> Result<Value, Error> {
    let Who {
        uid,
        user_context,
        company_id,
    } = who;
    let session = Session {
        db,
        uid,
        login,
        password,
        user_context: user_context.clone(),
        company_id: company_id.clone(),
        protocol,
    };
    let token = state.tokens.issue(session).await?;
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

/// A password in the query string lands in the access log of every proxy on the way (nginx
/// logs the request line): refused, before the body is read or a login attempt counted,
/// unless `[limits] allow_query_credentials` is set.
pub fn refuse_query_credentials(query: Option<&str>) -> Result<(), Error> {
    let has_password = query.is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "password")
    });
    if has_password {
        return Err(Error::BadParameter(
            "send the password in the request body (form or JSON), not in the query string, \
             where proxies and servers log it ([limits] allow_query_credentials allows it)"
                .into(),
        ));
    }
    Ok(())
}

async fn refund(attempt: Option<Attempt<'_>>) {
    if let Some(attempt) = attempt {
        attempt.refund().await;
    }
}

/// `POST /api/auth/delete_tokens` with the token in a header.
pub async fn delete_tokens(state: &AppState, headers: &HeaderMap) -> Result<Value, Error> {
    let revoked = match request::access_token(headers) {
        Some(token) => state.tokens.revoke(token).await?,
        None => false,
    };
    if !revoked {
        return Err(Error::NoTokenToDelete);
    }
    Ok(json!({"desc": "Token Successfully Deleted", "delete": true}))
}
