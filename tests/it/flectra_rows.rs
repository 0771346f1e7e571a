//! One check per row of Flectra's observed answers (../shared/spec/flectra-rest-api-observed.md)
//! that the other modules do not cover: same status, same error code and text where the addon
//! answered JSON. Where the addon crashed (HTML 500) the proxy keeps its JSON 4xx (tested in
//! api.rs).

use odoo_rest_proxy::demo;
use reqwest::Method;
use serde_json::Value;

use crate::support::{start, start_with, Answer, Stack};

/// Which token a row sends in Flectra's `access_token` header.
#[derive(Clone, Copy)]
enum Token {
    None,
    Admin,
    Empty,
    Wrong,
}

/// What a row must answer.
enum Expect {
    /// Flectra's error: status, code, text.
    Error(u16, &'static str, &'static str),
    /// 200, and the body passes this check.
    Ok(fn(&Value) -> bool),
}

struct Row {
    id: &'static str,
    method: Method,
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    form: &'static [(&'static str, &'static str)],
    token: Token,
    expect: Expect,
}

fn row(id: &'static str, method: Method, path: &'static str, token: Token, expect: Expect) -> Row {
    Row {
        id,
        method,
        path,
        query: &[],
        form: &[],
        token,
        expect,
    }
}

fn login_ok(body: &Value) -> bool {
    body["access_token"].is_string() && body["expires_in"] == "600"
}

const RECORD_UPDATED: fn(&Value) -> bool =
    |b| b["desc"] == "Record Updated successfully!" && b["update"] == true;

async fn send(stack: &Stack, admin: &str, row: &Row) -> Answer {
    let mut request = stack.http.request(row.method.clone(), stack.url(row.path));
    request = match row.token {
        Token::None => request,
        Token::Admin => request.header("access_token", admin),
        Token::Empty => request.header("access_token", ""),
        Token::Wrong => request.header("access_token", "not-a-token-at-all-000000000000"),
    };
    if !row.query.is_empty() {
        request = request.query(row.query);
    }
    if !row.form.is_empty() {
        request = request.form(row.form);
    }
    stack.send(request).await
}

#[tokio::test]
async fn each_remaining_row_answers_as_the_addon() {
    use Expect::{Error, Ok};
    use Token::{Admin, Empty, None, Wrong};
    let not_found = "object_not_found_in_flectra";
    let empty_login = "Empty value of 'db' or 'username' or 'password'!";
    let rows = vec![
        Row {
            form: &[
                ("username", "nobody"),
                ("password", "x"),
                ("db", demo::DEMO_DB),
            ],
            ..row(
                "A04_get_tokens_unknown_login",
                Method::POST,
                "/api/auth/get_tokens",
                None,
                Error(
                    401,
                    "flectra_user_authentication_failed",
                    "flectra User authentication failed!",
                ),
            )
        },
        Row {
            form: &[
                ("username", ""),
                ("password", "admin"),
                ("db", demo::DEMO_DB),
            ],
            ..row(
                "A06_get_tokens_empty_username",
                Method::POST,
                "/api/auth/get_tokens",
                None,
                Error(400, "empty_db_or_username_or_password", empty_login),
            )
        },
        Row {
            form: &[
                ("username", "admin"),
                ("password", ""),
                ("db", demo::DEMO_DB),
            ],
            ..row(
                "A07_get_tokens_empty_password",
                Method::POST,
                "/api/auth/get_tokens",
                None,
                Error(400, "empty_db_or_username_or_password", empty_login),
            )
        },
        row(
            "A09_get_tokens_no_body",
            Method::POST,
            "/api/auth/get_tokens",
            None,
            Error(400, "empty_db_or_username_or_password", empty_login),
        ),
        Row {
            query: &[
                ("username", "admin"),
                ("password", "admin"),
                ("db", demo::DEMO_DB),
            ],
            ..row(
                "A11_get_tokens_query_string",
                Method::POST,
                "/api/auth/get_tokens",
                None,
                Ok(login_ok),
            )
        },
        Row {
            form: &[
                ("username", "admin"),
                ("password", "admin"),
                ("db", demo::DEMO_DB),
            ],
            ..row(
                "A12_get_tokens_GET",
                Method::GET,
                "/api/auth/get_tokens",
                None,
                Error(
                    400,
                    "access_token_not_found",
                    "Missing access token in request header!",
                ),
            )
        },
        Row {
            form: &[
                ("username", "demo_api"),
                ("password", "demo_api"),
                ("db", demo::DEMO_DB),
            ],
            ..row(
                "A13_get_tokens_demo_api",
                Method::POST,
                "/api/auth/get_tokens",
                None,
                Ok(|b| login_ok(b) && b["uid"] == 8 && b["user_context"]["uid"] == 8),
            )
        },
        Row {
            query: &[
                ("filters", "[('name','ilike','a')]"),
                ("field", "['name','email']"),
                ("limit", "3"),
                ("offset", "1"),
                ("order", "name"),
            ],
            ..row(
                "R02_list_seed_querystring",
                Method::GET,
                "/api/res.partner",
                Admin,
                Ok(|b| {
                    b["count"] == 3
                        && b["results"][0]
                            .as_object()
                            .is_some_and(|r| r.keys().eq(["id", "name", "email"]))
                }),
            )
        },
        Row {
            form: &[("field", "['name']")],
            ..row(
                "R03_list_field_only",
                Method::GET,
                "/api/res.partner",
                Admin,
                Ok(|b| {
                    b["count"].as_u64() > Some(3)
                        && b["results"][0]
                            .as_object()
                            .is_some_and(|r| r.keys().eq(["id", "name"]))
                }),
            )
        },
        Row {
            form: &[
                ("filters", "[('id','<=',5)]"),
                ("field", "['name']"),
                ("limit", "0"),
            ],
            ..row(
                "R06_list_limit0",
                Method::GET,
                "/api/res.partner",
                Admin,
                Ok(|b| b["count"].as_u64() >= Some(2) && b["results"][0]["id"] == 1),
            )
        },
        Row {
            form: &[("field", "['name']")],
            ..row(
                "R10_read_one_trailing_slash",
                Method::GET,
                "/api/res.partner/1/",
                Admin,
                Ok(|b| {
                    b.as_array().is_some_and(|rows| rows.len() == 1)
                        && b[0]["id"] == 1
                        && b[0]["name"] == "YourCompany"
                }),
            )
        },
        Row {
            form: &[("name", "Oracle Slash")],
            ..row(
                "W06_create_trailing_slash",
                Method::POST,
                "/api/res.partner/",
                Admin,
                Ok(|b| b["id"].as_i64() > Some(0)),
            )
        },
        Row {
            form: &[("name", "x")],
            ..row(
                "W11_update_no_id",
                Method::PUT,
                "/api/res.partner",
                Admin,
                Error(400, "invalid_object_id", "Invalid object 'id'!"),
            )
        },
        Row {
            form: &[("name", "x")],
            ..row(
                "W13_update_nonint",
                Method::PUT,
                "/api/res.partner/abc",
                Admin,
                Error(400, "invalid_object_id", "Invalid object 'id'!"),
            )
        },
        row(
            "W14_update_empty_body",
            Method::PUT,
            "/api/res.partner/1",
            Admin,
            Ok(RECORD_UPDATED),
        ),
        row(
            "D04_delete_nonint",
            Method::DELETE,
            "/api/res.partner/abc",
            Admin,
            Error(400, "invalid_object_id", "Invalid object 'id'!"),
        ),
        Row {
            form: &[
                ("filters", "[('name','ilike','a')]"),
                ("field", "['name','email']"),
            ],
            ..row(
                "E01_missing_token",
                Method::GET,
                "/api/res.partner",
                None,
                Error(
                    400,
                    "access_token_not_found",
                    "Missing access token in request header!",
                ),
            )
        },
        row(
            "E02_bad_token",
            Method::GET,
            "/api/res.partner",
            Wrong,
            Error(401, "invalid_token", "Token is expired or invalid!"),
        ),
        row(
            "E03_empty_token",
            Method::GET,
            "/api/res.partner",
            Empty,
            Error(
                400,
                "access_token_not_found",
                "Missing access token in request header!",
            ),
        ),
        Row {
            form: &[
                ("filters", "[('name','ilike','a')]"),
                ("field", "['name','email']"),
                ("limit", "3"),
            ],
            ..row(
                "E05_unknown_model_params",
                Method::GET,
                "/api/no.such.model",
                Admin,
                Error(404, not_found, "Modal no.such.model Not Found!"),
            )
        },
        row(
            "E07_rest_api_false_one",
            Method::GET,
            "/api/res.users/2",
            Admin,
            Error(404, not_found, "Enable Rest API For res.users!"),
        ),
        row(
            "E11_zero_id",
            Method::GET,
            "/api/res.partner/0",
            Admin,
            Error(400, "invalid_object_id", "Invalid object 'id'!"),
        ),
        row(
            "E12_negative_id",
            Method::GET,
            "/api/res.partner/-5",
            Admin,
            Error(404, not_found, "Record -5 Not found in res.partner!"),
        ),
        Row {
            form: &[("field", "['name']"), ("offset", "100000")],
            ..row(
                "E14_offset_past_end",
                Method::GET,
                "/api/res.partner",
                Admin,
                Error(404, not_found, "No Record found in res.partner!"),
            )
        },
        row(
            "T01_delete_tokens_missing",
            Method::POST,
            "/api/auth/delete_tokens",
            None,
            Error(
                400,
                "no_access_token",
                "No access token was provided in request!",
            ),
        ),
        row(
            "T02_delete_tokens_bad",
            Method::POST,
            "/api/auth/delete_tokens",
            Wrong,
            Error(
                400,
                "no_access_token",
                "No access token was provided in request!",
            ),
        ),
    ];
    // The addon reads credentials from the query string too (A11); the proxy only does with
    // `[limits] allow_query_credentials` (the default refuses them: see
    // hardening::a_password_in_the_query_string_is_refused_unless_allowed).
    let stack = start_with(|config| config.limits.allow_query_credentials = true).await;
    let admin = stack.token().await;
    for row in &rows {
        let answer = send(&stack, &admin, row).await;
        assert_eq!(
            answer.headers["content-type"], "application/json; charset=utf-8",
            "{}",
            row.id
        );
        match row.expect {
            Error(status, code, text) => {
                assert_eq!(
                    (answer.status, answer.error().0, answer.error().1),
                    (status, code, text),
                    "{}: {}",
                    row.id,
                    answer.json
                );
            }
            Ok(check) => {
                assert_eq!(answer.status, 200, "{}: {}", row.id, answer.json);
                assert!(check(&answer.json), "{}: {}", row.id, answer.json);
            }
        }
    }
}

/// T03–T05: a deleted token cannot be deleted again (400) nor used (401).
#[tokio::test]
async fn a_deleted_token_is_gone() {
    let stack = start().await;
    let token = stack.token().await;
    let delete = || stack.call(Method::POST, "/api/auth/delete_tokens", &token);
    let answer = stack.send(delete()).await;
    assert_eq!(answer.status, 200, "T03: {}", answer.json);
    let again = stack.send(delete()).await;
    assert_eq!(
        (again.status, again.error().0),
        (400, "no_access_token"),
        "T04"
    );
    let used = stack
        .send(stack.call(Method::GET, "/api/res.partner", &token))
        .await;
    assert_eq!(
        (used.status, used.error().1),
        (401, "Token is expired or invalid!"),
        "T05"
    );
}
