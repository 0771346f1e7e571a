//! Every REST endpoint and every error of the API, over real HTTP against the demo ERP.

use odoo_rest_proxy::demo::{self, OdooVersion};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{credential, start, start_with};

crate::on_every_upstream! {
    async fn get_tokens_answers_as_flectra() {
        let stack = start().await;
        let version = stack.version;
        let answer = stack.login_as(demo::DEMO_LOGIN, demo::DEMO_PASSWORD).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        let body = &answer.json;
        assert_eq!(body["uid"], version.admin_uid());
        assert_eq!(body["company_id"], 1);
        assert_eq!(body["expires_in"], "600");
        assert_eq!(body["user_context"]["uid"], version.admin_uid());
        assert!(body["user_context"]["lang"].is_string(), "{body}");
        assert!(body["user_context"].get("tz").is_some(), "{body}");
        let token = body["access_token"].as_str().unwrap();
        assert!(
            token.len() >= 27
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{token}"
        );
        let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "uid",
                "user_context",
                "company_id",
                "access_token",
                "expires_in"
            ]
        );
        assert_eq!(
            answer.headers["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(answer.headers["cache-control"], "no-store");
    }

    async fn get_tokens_accepts_an_api_key_and_a_json_body() {
        let stack = start().await;
        let answer = stack
            .login_as(demo::DEMO_LOGIN, demo::DEMO_ADMIN_API_KEY)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        let body = json!({"username": demo::DEMO_LOGIN, "password": credential(demo::DEMO_LOGIN), "db": demo::DEMO_DB});
        let answer = stack
            .send(
                stack
                    .http
                    .post(stack.url("/api/auth/get_tokens"))
                    .json(&body),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.json);
    }

    async fn get_tokens_errors() {
        let stack = start().await;
        let empty = stack
            .send(
                stack
                    .http
                    .post(stack.url("/api/auth/get_tokens"))
                    .form(&[("username", "admin")]),
            )
            .await;
        assert_eq!(
            (empty.status, empty.error().0),
            (400, "empty_db_or_username_or_password")
        );
        assert_eq!(
            empty.error().1,
            "Empty value of 'db' or 'username' or 'password'!"
        );

        let wrong = stack.login_as(demo::DEMO_LOGIN, "wrong-password").await;
        assert_eq!(
            (wrong.status, wrong.error().0),
            (401, "flectra_user_authentication_failed")
        );

        let form = [
            ("username", "admin"),
            ("password", "admin"),
            ("db", "no_such_db"),
        ];
        let bad_db = stack
            .send(
                stack
                    .http
                    .post(stack.url("/api/auth/get_tokens"))
                    .form(&form),
            )
            .await;
        assert_eq!((bad_db.status, bad_db.error().0), (400, "invalid_database"));

        // Flectra's A12: a GET is routed as /api/<model>/<id>, which wants a token first.
        let get = stack
            .send(stack.http.get(stack.url("/api/auth/get_tokens")))
            .await;
        assert_eq!((get.status, get.error().0), (400, "access_token_not_found"));
    }

    async fn an_unreachable_erp_is_a_502() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let stack = start_with(|config| config.upstream.url = format!("http://127.0.0.1:{port}")).await;
        let answer = stack.login_as("admin", "admin").await;
        assert_eq!(
            (answer.status, answer.error().0),
            (502, "upstream_unreachable"),
            "{}",
            answer.json
        );
    }

    async fn delete_tokens_revokes() {
        let stack = start().await;
        let token = stack.token().await;
        let deleted = stack
            .send(stack.call(Method::POST, "/api/auth/delete_tokens", &token))
            .await;
        assert_eq!(deleted.status, 200);
        assert_eq!(
            deleted.json,
            json!({"desc": "Token Successfully Deleted", "delete": true})
        );
        let again = stack
            .send(stack.call(Method::POST, "/api/auth/delete_tokens", &token))
            .await;
        assert_eq!((again.status, again.error().0), (400, "no_access_token"));
        let used = stack
            .send(stack.call(Method::GET, "/api/res.partner/1", &token))
            .await;
        assert_eq!((used.status, used.error().0), (401, "invalid_token"));
        assert_eq!(used.error().1, "Token is expired or invalid!");
    }

    async fn the_token_travels_in_any_of_three_headers() {
        let stack = start().await;
        let token = stack.token().await;
        let none = stack
            .send(stack.http.get(stack.url("/api/res.partner/1")))
            .await;
        assert_eq!(
            (none.status, none.error().0),
            (400, "access_token_not_found")
        );
        let wrong = stack
            .send(stack.call(Method::GET, "/api/res.partner/1", "not-a-token"))
            .await;
        assert_eq!((wrong.status, wrong.error().0), (401, "invalid_token"));
        for request in [
            stack
                .http
                .get(stack.url("/api/res.partner/1"))
                .header("Access-Token", &token),
            stack
                .http
                .get(stack.url("/api/res.partner/1"))
                .bearer_auth(&token),
        ] {
            let answer = stack.send(request).await;
            assert_eq!(answer.status, 200, "{}", answer.json);
        }
    }

    async fn get_one_answers_a_one_element_list() {
        let stack = start().await;
        let token = stack.token().await;
        let answer = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner/1", &token)
                    .form(&[("field", "['name', 'email']")]),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        let rows = answer.json.as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["id"], 1);
        assert_eq!(rows[0]["name"], "YourCompany");
        let keys: Vec<_> = rows[0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["id", "name", "email"]);

        let missing = stack
            .send(stack.call(Method::GET, "/api/res.partner/999999", &token))
            .await;
        assert_eq!(
            (missing.status, missing.error().1),
            (404, "Record 999999 Not found in res.partner!")
        );
        let bad = stack
            .send(stack.call(Method::GET, "/api/res.partner/abc", &token))
            .await;
        assert_eq!(
            (bad.status, bad.error().0, bad.error().1),
            (400, "invalid_object_id", "Invalid object 'id'!")
        );
    }

    async fn list_with_limit_offset_order_field_and_filters() {
        let stack = start().await;
        let token = stack.token().await;
        let form = [
            ("limit", "3"),
            ("field", "['name', 'email']"),
            ("order", "name desc"),
        ];
        let answer = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner", &token)
                    .form(&form),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        assert_eq!(answer.json["count"], 3);
        let names: Vec<_> = answer.json["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(names, sorted, "name desc");

        let form = [
            (
                "filters",
                "[('is_company', '=', True), ('name', 'ilike', 'a')]",
            ),
            ("field", "['name', 'is_company']"),
        ];
        let answer = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner", &token)
                    .form(&form),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        for row in answer.json["results"].as_array().unwrap() {
            assert_eq!(row["is_company"], true);
            assert!(row["name"].as_str().unwrap().to_lowercase().contains('a'));
        }
        let all = answer.json["count"].as_u64().unwrap();
        let page = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner", &token)
                    .query(&[("offset", "1"), ("limit", "2")])
                    .form(&form),
            )
            .await;
        assert_eq!(page.json["count"], all.saturating_sub(1).min(2));

        let none = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner", &token)
                    .form(&[("filters", "[('name', '=', 'no such partner')]")]),
            )
            .await;
        assert_eq!(
            (none.status, none.error().1),
            (404, "No Record found in res.partner!")
        );
    }

    async fn create_update_delete_round_trip() {
        let stack = start().await;
        let token = stack.token().await;
        let data = [
            ("name", "FlectraHQ"),
            ("email", "example@flectrahq.com"),
            ("website", "www.flectrahq.com"),
        ];
        let created = stack
            .send(
                stack
                    .call(Method::POST, "/api/res.partner", &token)
                    .form(&data),
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.json);
        let id = created.json["id"].as_i64().unwrap();

        let path = format!("/api/res.partner/{id}");
        let updated = stack
            .send(
                stack
                    .call(Method::PUT, &path, &token)
                    .form(&[("email", "new@flectrahq.com")]),
            )
            .await;
        assert_eq!(
            updated.json,
            json!({"desc": "Record Updated successfully!", "update": true})
        );
        let id_text = id.to_string();
        let updated = stack
            .send(
                stack
                    .call(Method::PUT, "/api/res.partner", &token)
                    .form(&[("name", "Flectra HQ"), ("id", &id_text)]),
            )
            .await;
        assert_eq!(updated.status, 200, "{}", updated.json);
        let read = stack
            .send(
                stack
                    .call(Method::GET, &path, &token)
                    .form(&[("field", "['name', 'email']")]),
            )
            .await;
        assert_eq!(read.json[0]["name"], "Flectra HQ");
        assert_eq!(read.json[0]["email"], "new@flectrahq.com");

        let deleted = stack
            .send(
                stack
                    .call(Method::DELETE, "/api/res.partner", &token)
                    .form(&[("id", &id_text)]),
            )
            .await;
        assert_eq!(
            deleted.json,
            json!({"desc": "Record Successfully Deleted!", "delete": true})
        );
        let gone = stack.send(stack.call(Method::DELETE, &path, &token)).await;
        assert_eq!(
            (gone.status, gone.error().1.to_owned()),
            (404, format!("Record {id} Not found in res.partner!"))
        );
        let gone = stack
            .send(
                stack
                    .call(Method::PUT, &path, &token)
                    .form(&[("name", "ghost")]),
            )
            .await;
        assert_eq!(gone.status, 404);
        let no_id = stack
            .send(stack.call(Method::DELETE, "/api/res.partner", &token))
            .await;
        assert_eq!((no_id.status, no_id.error().0), (400, "invalid_object_id"));
    }

    async fn json_bodies_keep_their_types() {
        let stack = start().await;
        let token = stack.token().await;
        let body = json!({"name": "Typed", "is_company": true, "color": 3, "category_id": [1, 2]});
        let created = stack
            .send(
                stack
                    .call(Method::POST, "/api/res.partner", &token)
                    .json(&body),
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.json);
        let path = format!("/api/res.partner/{}", created.json["id"]);
        let read = stack
            .send(
                stack
                    .call(Method::GET, &path, &token)
                    .form(&[("field", "['is_company', 'color', 'category_id']")]),
            )
            .await;
        assert_eq!(read.json[0]["is_company"], true);
        assert_eq!(read.json[0]["color"], 3);
        assert_eq!(read.json[0]["category_id"], json!([1, 2]));
    }

    async fn form_values_are_coerced_to_their_field_types() {
        let stack = start().await;
        let version = stack.version;
        let token = stack.token().await;
        let form = [
            ("name", "Coerced"),
            ("is_company", "true"),
            ("color", "4"),
            ("country_id", "20"),
        ];
        let created = stack
            .send(
                stack
                    .call(Method::POST, "/api/res.partner", &token)
                    .form(&form),
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.json);
        let path = format!("/api/res.partner/{}", created.json["id"]);
        let read = stack
            .send(
                stack
                    .call(Method::GET, &path, &token)
                    .form(&[("field", "['is_company', 'color', 'country_id']")]),
            )
            .await;
        assert_eq!(read.json[0]["is_company"], true);
        assert_eq!(read.json[0]["color"], 4);
        assert_eq!(read.json[0]["country_id"], json!([20, "Belgium"]));

        // A field fields_get does not list is the ERP's business: passed on as sent. Odoo 18's
        // `Invalid field` becomes a 400 naming it; Flectra 1.4 drops it and creates the record.
        stack.erp.reset_calls();
        let unknown = stack
            .send(
                stack
                    .call(Method::POST, "/api/res.partner", &token)
                    .form(&[("name", "X"), ("no_such_field", "1")]),
            )
            .await;
        if version == OdooVersion::Flectra14 {
            assert_eq!(unknown.status, 200, "{}", unknown.json);
            assert!(unknown.json["id"].is_i64(), "{}", unknown.json);
            let updated = stack
                .send(
                    stack
                        .call(Method::PUT, &path, &token)
                        .form(&[("no_such_field", "2")]),
                )
                .await;
            assert_eq!(updated.status, 200, "{}", updated.json);
            assert_eq!(updated.json["update"], true);
            stack.erp.reset_calls();
            let _ = stack
                .send(
                    stack
                        .call(Method::POST, "/api/res.partner", &token)
                        .form(&[("name", "X"), ("no_such_field", "1")]),
                )
                .await;
        } else {
            assert_eq!(unknown.status, 400, "{}", unknown.json);
            assert_eq!(
                unknown.error(),
                (
                    "not_created_object_in_flectra",
                    "Not created object in flectra! ERROR: ValueError: Invalid field 'no_such_field' \
                     on model 'res.partner'"
                ),
            );
        }
        let creates: Vec<Value> = stack
            .erp
            .calls()
            .into_iter()
            .filter(|call| call.model_method.as_deref() == Some("create"))
            // JSON-2 names the argument: {"vals_list": {...}}.
            .map(|call| match call.service.as_str() {
                "json2" => json!([call.kwargs["vals_list"]]),
                _ => call.args,
            })
            .collect();
        assert_eq!(creates, vec![json!([{"name": "X", "no_such_field": "1"}])]);
    }

    async fn the_model_gate() {
        let stack = start().await;
        let token = stack.token().await;
        let unknown = stack
            .send(stack.call(Method::GET, "/api/x.no.such.model", &token))
            .await;
        assert_eq!(
            (unknown.status, unknown.error().0, unknown.error().1),
            (
                404,
                "object_not_found_in_flectra",
                "Modal x.no.such.model Not Found!"
            )
        );
        let disabled = stack
            .send(stack.call(Method::GET, "/api/res.users", &token))
            .await;
        assert_eq!(
            (disabled.status, disabled.error().1),
            (404, "Enable Rest API For res.users!")
        );

        let allowed = start_with(|config| config.gate.allow = vec!["res.users".into()]).await;
        let token = allowed.token().await;
        let users = allowed
            .send(
                allowed
                    .call(Method::GET, "/api/res.users", &token)
                    .form(&[("field", "['login']")]),
            )
            .await;
        assert_eq!(users.status, 200, "{}", users.json);

        let denied = start_with(|config| config.gate.deny = vec!["res.partner".into()]).await;
        let token = denied.token().await;
        let partner = denied
            .send(denied.call(Method::GET, "/api/res.partner/1", &token))
            .await;
        assert_eq!(
            (partner.status, partner.error().1),
            (404, "Enable Rest API For res.partner!")
        );
    }

    async fn the_gate_fails_closed_when_the_user_cannot_read_ir_model() {
        let stack = start().await;
        let token = stack.login_as("demo_api", "demo_api").await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let answer = stack
            .send(stack.call(Method::GET, "/api/res.partner/1", &token))
            .await;
        if stack.version == OdooVersion::Flectra14 {
            // Flectra 1.x lets every internal user read ir.model (fixture flectra14/30).
            assert_eq!(answer.status, 200, "{}", answer.json);
            return;
        }
        assert_eq!(
            (answer.status, answer.error().0),
            (403, "rest_api_flag_unreadable"),
            "{}",
            answer.json
        );
        assert!(
            answer.error().1.contains("service_login"),
            "{}",
            answer.json
        );
    }

    async fn upstream_refusals_get_the_status_that_says_what_happened() {
        let stack = start_with(|config| {
            config.gate.service = Some(odoo_rest_proxy::config::ServiceAccount {
                login: demo::DEMO_LOGIN.into(),
                password: odoo_rest_proxy::secret::Secret::new(credential(demo::DEMO_LOGIN)),
            })
        })
        .await;
        let version = stack.version;
        let token = stack.login_as("demo_api", "demo_api").await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let read = stack
            .send(stack.call(Method::GET, "/api/res.partner/1", &token))
            .await;
        assert_eq!(read.status, 200, "{}", read.json);
        let create = stack
            .send(
                stack
                    .call(Method::POST, "/api/res.partner", &token)
                    .form(&[("name", "X")]),
            )
            .await;
        assert_eq!(
            (create.status, create.error().0),
            (403, "not_created_object_in_flectra"),
            "{}",
            create.json
        );
        // Flectra 1.4's access error is a tuple repr: the client gets the bare message.
        let refused = match version {
            OdooVersion::Flectra14 => {
                "Not created object in flectra! ERROR: Sorry, you are not allowed to create this \
                 kind of document. Only users with the following access level are currently \
                 allowed to do that:\n- Extra Rights/Contact Creation\n\n(Document model: \
                 res.partner)"
            }
            _ => "Not created object in flectra! ERROR: You are not allowed to create",
        };
        assert!(create.error().1.starts_with(refused), "{}", create.json);

        let admin = stack.token().await;
        let bad_domain = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner", &admin)
                    .form(&[("filters", "[('nonexistent_field', '=', 1)]")]),
            )
            .await;
        assert_eq!(bad_domain.status, 400, "{}", bad_domain.json);
        assert!(
            bad_domain.error().1.contains("nonexistent_field"),
            "{}",
            bad_domain.json
        );
        assert!(
            !bad_domain.error().1.contains("Traceback") && !bad_domain.error().1.contains("/opt/"),
            "{}",
            bad_domain.json
        );
        let bad_order = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner", &admin)
                    .form(&[("order", "name; drop table")]),
            )
            .await;
        assert_eq!(bad_order.status, 400, "{}", bad_order.json);
        let bad_literal = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner", &admin)
                    .form(&[("filters", "[('name', '=', 'x']")]),
            )
            .await;
        assert_eq!(
            (bad_literal.status, bad_literal.error().0),
            (400, "invalid_parameter")
        );
        assert!(
            bad_literal.error().1.contains("byte"),
            "{}",
            bad_literal.json
        );
        let evil = stack
            .send(
                stack
                    .call(Method::GET, "/api/res.partner", &admin)
                    .form(&[("filters", "__import__('os').system('true')")]),
            )
            .await;
        assert_eq!(evil.status, 400);
        let cycle = stack
            .send(
                stack
                    .call(Method::PUT, "/api/res.partner/1", &admin)
                    .form(&[("parent_id", "1")]),
            )
            .await;
        // A validation error: fault 2 from Odoo 18, fault 1 `flectra.exceptions.ValidationError:
        // ('...', None)` from Flectra 1.4; a 400 with the bare message from both.
        assert_eq!(
            (cycle.status, cycle.error().0, cycle.error().1),
            (
                400,
                "not_updated_object_in_flectra",
                "Object Not Updated! ERROR: You cannot create recursive Partner hierarchies."
            ),
            "{}",
            cycle.json
        );
        let nameless = stack
            .send(
                stack
                    .call(Method::POST, "/api/res.partner", &admin)
                    .json(&json!({"name": false})),
            )
            .await;
        assert_eq!(
            (nameless.status, nameless.error().0),
            (400, "not_created_object_in_flectra"),
            "{}",
            nameless.json
        );
        assert!(
            nameless.error().1.contains("Contacts require a name")
                && !nameless.error().1.contains("('"),
            "{}",
            nameless.json
        );
    }

    async fn one_upstream_call_per_rest_call_in_steady_state() {
        let stack = start().await;
        let version = stack.version;
        let token = stack.token().await;
        // Warm the gate and the fields_get cache.
        let created = stack
            .send(
                stack
                    .call(Method::POST, "/api/res.partner", &token)
                    .form(&[("name", "Warm")]),
            )
            .await;
        let id = created.json["id"].as_i64().unwrap();
        // The first DELETE over XML-RPC asks the ERP's version once (is its unlink silent?).
        stack.erp.reset_calls();
        let missing = stack
            .send(stack.call(Method::DELETE, "/api/res.partner/999999999", &token))
            .await;
        assert_eq!(missing.status, 404, "{}", missing.json);
        assert_eq!(
            missing.error().1,
            "Record 999999999 Not found in res.partner!"
        );
        let seen: Vec<_> = stack
            .erp
            .calls()
            .into_iter()
            .map(|c| c.model_method.unwrap_or(c.method))
            .collect();
        // Flectra 1.4's unlink of a missing id succeeds: the id is looked up first, and no
        // unlink is sent. Over JSON-2 (Odoo 19 and later) no version is asked.
        let expected: &[&str] = match version {
            OdooVersion::Flectra14 => &["version", "search_count"],
            OdooVersion::Odoo19 => &["unlink"],
            _ => &["version", "unlink"],
        };
        assert_eq!(seen, expected);
        let path = format!("/api/res.partner/{id}");
        let calls = [
            (Method::GET, path.clone(), "search_read"),
            (Method::GET, "/api/res.partner".to_owned(), "search_read"),
            (Method::POST, "/api/res.partner".to_owned(), "create"),
            (Method::PUT, path.clone(), "write"),
            (Method::DELETE, path.clone(), "unlink"),
        ];
        for (method, path, expected) in calls {
            // The one exception: a DELETE on a server whose unlink is silent looks the id up.
            let expected: &[&str] = match (version, expected) {
                (OdooVersion::Flectra14, "unlink") => &["search_count", "unlink"],
                _ => &[expected],
            };
            stack.erp.reset_calls();
            let answer = stack
                .send(
                    stack
                        .call(method.clone(), &path, &token)
                        .form(&[("name", "Steady")]),
                )
                .await;
            assert_eq!(answer.status, 200, "{method} {path}: {}", answer.json);
            let seen: Vec<_> = stack
                .erp
                .calls()
                .into_iter()
                .map(|c| (c.service, c.model_method.unwrap_or_default()))
                .collect();
            let expected: Vec<_> = expected
                .iter()
                .map(|m| (stack.rpc_service().to_owned(), m.to_string()))
                .collect();
            assert_eq!(seen, expected, "{method} {path}");
        }
    }

    async fn get_without_field_names_the_fields_the_caller_can_read() {
        let stack = start_with(|config| config.gate.allow = vec!["res.partner".into()]).await;
        let admin = stack.token().await;
        let user = stack
            .login_as(demo::DEMO_USER_LOGIN, demo::DEMO_USER_PASSWORD)
            .await;
        let user = user.json["access_token"].as_str().unwrap().to_owned();
        let seen = |stack: &crate::support::Stack| -> Vec<(String, serde_json::Value)> {
            stack
                .erp
                .calls()
                .into_iter()
                .map(|c| (c.model_method.unwrap_or_default(), c.kwargs["fields"].clone()))
                .collect()
        };
        for (token, path) in [(&admin, "/api/res.partner/1"), (&user, "/api/res.partner")] {
            stack.erp.reset_calls();
            let answer = stack.send(stack.call(Method::GET, path, token)).await;
            assert_eq!(answer.status, 200, "{}", answer.json);
            let calls = seen(&stack);
            // Each user's own fields_get (cached per user), then a read naming them.
            assert_eq!(calls.len(), 2, "{calls:?}");
            assert_eq!(calls[0].0, "fields_get");
            assert_eq!(calls[1].0, "search_read");
            let fields = calls[1].1.as_array().expect("a field list, not all fields");
            assert!(fields.len() > 10, "{fields:?}");
            for name in ["name", "email", "country_id"] {
                assert!(fields.contains(&json!(name)), "{name} in {fields:?}");
            }
            stack.erp.reset_calls();
            let again = stack.send(stack.call(Method::GET, path, token)).await;
            assert_eq!(again.status, 200, "{}", again.json);
            let calls = seen(&stack);
            assert_eq!(calls.len(), 1, "steady state: one call, {calls:?}");
            assert_eq!(calls[0].1, json!(fields));
        }
    }

    async fn a_model_the_erp_does_not_know_is_flectras_404_past_the_gate() {
        let stack = start_with(|config| config.gate.allow = vec!["x.no.such.model".into()]).await;
        let token = stack.token().await;
        for path in ["/api/x.no.such.model", "/api/x.no.such.model/1"] {
            let answer = stack.send(stack.call(Method::GET, path, &token)).await;
            assert_eq!(
                (answer.status, answer.error().0, answer.error().1),
                (
                    404,
                    "object_not_found_in_flectra",
                    "Modal x.no.such.model Not Found!"
                ),
                "{path}"
            );
        }
    }

    async fn unknown_routes_and_methods() {
        let stack = start().await;
        let token = stack.token().await;
        let patch = stack
            .send(stack.call(Method::PATCH, "/api/res.partner/1", &token))
            .await;
        assert_eq!(patch.status, 405);
        let deep = stack
            .send(stack.call(Method::GET, "/api/res.partner/1/2", &token))
            .await;
        assert_eq!(deep.status, 404);
    }
}

/// Per server thread (`proxy-N`, named by `run_per_core`): how often it has been switched out
/// (each wake-up from an idle `epoll_wait` is one). Linux only: an empty list elsewhere.
fn server_thread_switches() -> Vec<(String, u64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut threads: Vec<(String, u64)> = tasks
        .filter_map(|task| {
            let dir = task.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            let name = name.trim().to_owned();
            if !name.starts_with("proxy-") {
                return None;
            }
            let status = std::fs::read_to_string(dir.join("status")).ok()?;
            let switches = status
                .lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum();
            Some((name, switches))
        })
        .collect();
    threads.sort();
    threads
}

#[test]
fn run_per_core_serves_on_every_thread_and_stops() {
    const BOUND: std::time::Duration = std::time::Duration::from_secs(10);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let erp = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        demo::spawn(
            listener,
            demo::DemoConfig {
                keep_alive: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
    });
    let mut config = odoo_rest_proxy::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    config.upstream.url = erp.url();
    config.admin.listen = Some("127.0.0.1:0".parse().unwrap());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = odoo_rest_proxy::run_per_core(config, 2, stopped, |addr, admin| {
            addr_tx.send((addr, admin)).unwrap()
        });
        let _ = done_tx.send(result);
    });
    let (addr, admin) = addr_rx.recv_timeout(BOUND).unwrap();
    let admin = admin.expect("the admin listener is on");
    let before = server_thread_switches();
    let names: Vec<&str> = before.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["proxy-0", "proxy-1"]);
    // 24 fresh connections: the kernel spreads them over both listeners by their ports; the
    // chance that one thread gets fewer than 3 is about 2 in 100 000.
    const CONNECTIONS: usize = 24;
    runtime.block_on(async {
        let health = reqwest::get(format!("http://{admin}/healthz"))
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        for _ in 0..CONNECTIONS {
            let http = reqwest::Client::builder().timeout(BOUND).build().unwrap();
            let form = [("username", "admin"), ("password", "admin"), ("db", "demo")];
            let answer = http
                .post(format!("http://{addr}/api/auth/get_tokens"))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            let token: serde_json::Value = answer.json().await.unwrap();
            let token = token["access_token"].as_str().unwrap().to_owned();
            // A token issued on one thread works on any other: the store is shared.
            let read = reqwest::Client::builder()
                .timeout(BOUND)
                .build()
                .unwrap()
                .get(format!("http://{addr}/api/res.partner/1"))
                .header("access_token", token)
                .send()
                .await
                .unwrap();
            assert_eq!(read.status(), 200);
        }
    });
    // Both threads served: each woke many times (a served login or read is several wake-ups;
    // an idle thread wakes at most for the token sweeper, every 30 s).
    let after = server_thread_switches();
    for ((name, was), (_, is)) in before.iter().zip(&after) {
        assert!(
            is - was >= 10,
            "{name} woke {} times: it served nothing",
            is - was
        );
    }
    stop.send(true).unwrap();
    done_rx.recv_timeout(BOUND).unwrap().unwrap();
}
