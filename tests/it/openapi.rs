//! `GET /api/openapi.json` and `GET /api/docs` against the demo ERP: the document lists what
//! the gate serves, costs no upstream call once built, and its schemas match real answers.

use odoo_rest_proxy::demo;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{self, Stack};

async fn document(stack: &Stack, token: &str) -> Value {
    let answer = stack
        .send(stack.call(Method::GET, "/api/openapi.json", token))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(
        answer.headers["content-type"],
        "application/json; charset=utf-8"
    );
    answer.json
}

fn paths(document: &Value) -> Vec<&str> {
    let paths = document["paths"].as_object().expect("paths is an object");
    paths.keys().map(String::as_str).collect()
}

#[tokio::test]
async fn the_document_lists_the_enabled_models_and_is_cached() {
    let stack = support::start().await;
    let token = stack.token().await;
    let first = document(&stack, &token).await;
    assert_eq!(first["openapi"], "3.1.0");
    assert_eq!(
        first["servers"][0]["url"],
        format!("http://{}", stack.addr),
        "the URL the client used"
    );
    // The demo flags only res.partner.
    assert_eq!(
        paths(&first),
        [
            "/api/auth/get_tokens",
            "/api/auth/delete_tokens",
            "/api/openapi.json",
            "/api/res.partner",
            "/api/res.partner/{id}"
        ]
    );
    let schemes = first["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(schemes.len(), 3);
    let get = &first["paths"]["/api/res.partner"]["get"];
    let names: Vec<&str> = get["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["filters", "field", "limit", "offset", "order"]);
    for status in ["400", "401", "404", "502"] {
        assert!(get["responses"][status]["$ref"].is_string(), "{status}");
    }

    // In steady state the document costs no upstream call at all.
    stack.erp.reset_calls();
    let second = document(&stack, &token).await;
    assert_eq!(second, first);
    assert_eq!(stack.erp.calls(), []);
}

#[tokio::test]
async fn allow_and_deny_shape_the_model_set() {
    let stack = support::start_with(|config| {
        config.gate.allow = vec!["res.country".into(), "no.such.model".into()];
        config.gate.deny = vec!["res.partner".into()];
    })
    .await;
    let token = stack.token().await;
    let document = document(&stack, &token).await;
    // A model the ERP does not have is left out rather than failing the document.
    assert_eq!(
        paths(&document)[3..],
        ["/api/res.country", "/api/res.country/{id}"]
    );
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    assert!(schemas.contains_key("res.country-read"));
    assert!(!schemas.keys().any(|name| name.starts_with("res.partner")));
}

#[tokio::test]
async fn the_document_needs_a_token_the_page_does_not() {
    let stack = support::start_with(|config| {
        config.openapi.ui_assets_url = "/static/swagger-ui".into();
    })
    .await;
    let missing = stack
        .send(stack.http.get(stack.url("/api/openapi.json")))
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error().0, "access_token_not_found");
    let invalid = stack
        .send(stack.call(Method::GET, "/api/openapi.json", "nope"))
        .await;
    assert_eq!(invalid.status, 401);

    let page = stack
        .http
        .get(stack.url("/api/docs"))
        .send()
        .await
        .expect("the page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.expect("HTML");
    assert!(html.contains(r#"src="/static/swagger-ui/swagger-ui-bundle.js""#));
    assert!(html.contains("/api/auth/get_tokens") && html.contains("access_token"));
    let post = stack.send(stack.http.post(stack.url("/api/docs"))).await;
    assert_eq!(post.status, 405);
}

#[tokio::test]
async fn switched_off_there_is_no_document_and_no_page() {
    let stack = support::start_with(|config| config.openapi.enabled = false).await;
    let token = stack.token().await;
    let document = stack
        .send(stack.call(Method::GET, "/api/openapi.json", &token))
        .await;
    assert_eq!(document.status, 404, "{}", document.json);
    let page = stack
        .send(stack.call(Method::GET, "/api/docs", &token))
        .await;
    assert_eq!(page.status, 404, "{}", page.json);
}

/// Every field of res.partner, for every demo record and for records created with nothing but
/// a name or an email (all their other values empty), validates against its schema in the
/// document. Regression (schemathesis --seed 1, case 4ljfcX): a many2one whose target has no
/// name reads as `[id, false]`, which the first schema refused.
#[tokio::test]
async fn every_res_partner_field_matches_a_real_answer() {
    let stack = support::start().await;
    let token = stack.token().await;
    for values in [
        json!({"name": "Only A Name"}),
        json!({"type": "invoice", "email": "nameless@example.com"}),
    ] {
        let created = stack
            .send(
                stack
                    .call(Method::POST, "/api/res.partner", &token)
                    .json(&values),
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.json);
    }
    let document = document(&stack, &token).await;
    let record_schema = &document["components"]["schemas"]["res.partner-read"];
    let properties = record_schema["properties"]
        .as_object()
        .expect("the record's properties");
    let fields = stack
        .send(stack.call(Method::GET, "/api/res.partner", &token))
        .await;
    assert_eq!(fields.status, 200);
    let records = fields.json["results"].as_array().expect("results");
    assert!(records.len() > 30, "every demo partner");
    let whole = jsonschema::draft202012::new(record_schema).expect("a valid JSON Schema");
    let mut unnamed_many2one = 0;
    for (name, schema) in properties {
        let validator = jsonschema::draft202012::new(schema).expect("a valid field schema");
        for record in records {
            let value = record
                .get(name)
                .unwrap_or_else(|| panic!("record {} has no {name}", record["id"]));
            if let Some(error) = validator.iter_errors(value).next() {
                panic!(
                    "res.partner.{name} of record {}: {value} does not match {schema}: {error}",
                    record["id"]
                );
            }
            unnamed_many2one += usize::from(value.get(1) == Some(&Value::Bool(false)));
        }
    }
    for record in records {
        assert!(whole.is_valid(record), "record {}", record["id"]);
        let keys = record.as_object().expect("a record").len();
        assert_eq!(keys, properties.len(), "one property per field answered");
    }
    assert!(unnamed_many2one > 0, "the [id, false] case is exercised");
    // The document's success shape for a list holds the whole answer.
    let list = &document["paths"]["/api/res.partner"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    assert_eq!(list["required"], json!(["count", "results"]));
    assert_eq!(fields.json["count"], records.len());
}

#[tokio::test]
async fn the_gate_fails_closed_then_servers_follow_a_trusted_proxy() {
    let stack = support::start_with(|config| {
        config.passthrough.trusted_proxies = vec!["127.0.0.1".parse().expect("an IP")];
    })
    .await;
    // The restricted demo user cannot read ir.model: no document rather than a guess. (Once
    // the gate knows the database's models, as for records, it answers everyone from its cache.)
    let login = stack
        .login_as(demo::DEMO_USER_LOGIN, demo::DEMO_USER_PASSWORD)
        .await;
    let user_token = login.json["access_token"].as_str().expect("a token");
    let refused = stack
        .send(stack.call(Method::GET, "/api/openapi.json", user_token))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.json);
    assert_eq!(refused.error().0, "rest_api_flag_unreadable");

    let token = stack.token().await;
    let forwarded = stack
        .send(
            stack
                .call(Method::GET, "/api/openapi.json", &token)
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-host", "erp.example.com")
                .header("x-forwarded-prefix", "/rest"),
        )
        .await;
    assert_eq!(forwarded.status, 200);
    assert_eq!(
        forwarded.json["servers"],
        json!([{"url": "https://erp.example.com/rest"}])
    );
}

/// Clients that ask while the document is being built wait for that build: the ERP sees one
/// `fields_get` per model, not one per client.
#[tokio::test]
async fn concurrent_first_requests_build_the_document_once() {
    let stack = support::start().await;
    let token = stack.token().await;
    stack.erp.reset_calls();
    let requests = (0..4).map(|_| stack.send(stack.call(Method::GET, "/api/openapi.json", &token)));
    let answers = futures_util::future::join_all(requests).await;
    assert!(answers.iter().all(|answer| answer.status == 200));
    let builds = stack
        .erp
        .calls()
        .iter()
        .filter(|call| {
            call.model.as_deref() == Some("res.partner")
                && call.model_method.as_deref() == Some("fields_get")
        })
        .count();
    assert_eq!(builds, 1);
}
