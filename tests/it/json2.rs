//! What only JSON-2 has: which wire a login gets, API keys, revoked keys, Odoo 19's demo.

use odoo_rest_proxy::demo;
use odoo_rest_proxy::odoo::ProtocolChoice;
use reqwest::Method;

use crate::support::{start_with, Stack, Wire, WIRE};

/// A proxy in front of the Odoo 19 demo, with `[upstream] protocol` set to `choice`.
async fn odoo19(choice: ProtocolChoice) -> Stack {
    WIRE.scope(
        Wire::Json2,
        start_with(move |config| config.upstream.protocol = choice),
    )
    .await
}

async fn login(stack: &Stack, login: &str, secret: &str) -> String {
    let form = [
        ("username", login),
        ("password", secret),
        ("db", demo::DEMO_DB),
    ];
    let answer = stack
        .send(
            stack
                .http
                .post(stack.url("/api/auth/get_tokens"))
                .form(&form),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.json["access_token"].as_str().unwrap().to_owned()
}

/// The demo services the calls of one `GET /api/res.partner/1` reached.
async fn services_of_a_read(stack: &Stack, token: &str) -> Vec<String> {
    stack.erp.reset_calls();
    let answer = stack
        .send(stack.call(Method::GET, "/api/res.partner/1", token))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let mut services: Vec<_> = stack.erp.calls().into_iter().map(|c| c.service).collect();
    services.dedup();
    services
}

#[tokio::test]
async fn auto_gives_a_key_json2_and_a_password_xmlrpc_on_odoo_19() {
    let stack = odoo19(ProtocolChoice::Auto).await;
    let key = login(&stack, demo::DEMO_LOGIN, demo::DEMO_ADMIN_API_KEY).await;
    assert_eq!(services_of_a_read(&stack, &key).await, ["json2"]);
    let password = login(&stack, demo::DEMO_LOGIN, demo::DEMO_PASSWORD).await;
    assert_eq!(services_of_a_read(&stack, &password).await, ["object"]);
}

#[tokio::test]
async fn auto_speaks_xmlrpc_before_odoo_19_even_with_a_key() {
    let stack = WIRE.scope(Wire::XmlRpc, start_with(|_| {})).await;
    let key = login(&stack, demo::DEMO_LOGIN, demo::DEMO_ADMIN_API_KEY).await;
    assert_eq!(services_of_a_read(&stack, &key).await, ["object"]);
}

#[tokio::test]
async fn json2_mode_says_a_password_is_not_an_api_key() {
    let stack = odoo19(ProtocolChoice::Json2).await;
    let form = [
        ("username", "admin"),
        ("password", "admin"),
        ("db", demo::DEMO_DB),
    ];
    let answer = stack
        .send(
            stack
                .http
                .post(stack.url("/api/auth/get_tokens"))
                .form(&form),
        )
        .await;
    assert_eq!(
        (answer.status, answer.error().0),
        (401, "flectra_user_authentication_failed"),
        "{}",
        answer.json
    );
    assert!(answer.error().1.contains("API key"), "{}", answer.json);
}

#[tokio::test]
async fn another_users_key_does_not_log_in() {
    let stack = odoo19(ProtocolChoice::Json2).await;
    let form = [
        ("username", demo::DEMO_LOGIN),
        ("password", demo::DEMO_USER_API_KEY),
        ("db", demo::DEMO_DB),
    ];
    let answer = stack
        .send(
            stack
                .http
                .post(stack.url("/api/auth/get_tokens"))
                .form(&form),
        )
        .await;
    assert_eq!(
        (answer.status, answer.error().0, answer.error().1),
        (
            401,
            "flectra_user_authentication_failed",
            "flectra User authentication failed!"
        ),
        "{}",
        answer.json
    );
}

#[tokio::test]
async fn a_revoked_key_drops_the_token() {
    let stack = odoo19(ProtocolChoice::Json2).await;
    let token = login(&stack, demo::DEMO_LOGIN, demo::DEMO_ADMIN_API_KEY).await;
    assert_eq!(services_of_a_read(&stack, &token).await, ["json2"]);
    stack.erp.set_api_keys_revoked(true);
    let answer = stack
        .send(stack.call(Method::GET, "/api/res.partner/1", &token))
        .await;
    assert_eq!(
        (answer.status, answer.error().0),
        (401, "invalid_token"),
        "{}",
        answer.json
    );
    // The token went with the key: it stays invalid when the key works again.
    stack.erp.set_api_keys_revoked(false);
    let answer = stack
        .send(stack.call(Method::GET, "/api/res.partner/1", &token))
        .await;
    assert_eq!((answer.status, answer.error().0), (401, "invalid_token"));
    let fresh = login(&stack, demo::DEMO_LOGIN, demo::DEMO_ADMIN_API_KEY).await;
    assert_eq!(services_of_a_read(&stack, &fresh).await, ["json2"]);
}

#[tokio::test]
async fn options_never_reaches_json2_through_the_pass_through() {
    let stack = WIRE
        .scope(
            Wire::Json2,
            start_with(|config| config.passthrough.enabled = true),
        )
        .await;
    stack.erp.reset_calls();
    let options = stack
        .http
        .request(Method::OPTIONS, stack.url("/json/2/res.users/context_get"))
        .bearer_auth(demo::DEMO_ADMIN_API_KEY)
        .header("x-odoo-database", demo::DEMO_DB)
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 405);
    assert!(stack.erp.calls().is_empty(), "{:?}", stack.erp.calls());
    // A POST passes through and runs.
    let post = stack
        .http
        .post(stack.url("/json/2/res.users/context_get"))
        .bearer_auth(demo::DEMO_ADMIN_API_KEY)
        .header("x-odoo-database", demo::DEMO_DB)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    assert_eq!(stack.erp.calls().len(), 1);
}
