//! The OpenAPI 3.1.0 document of one database: the two auth endpoints, and for every model the
//! gate serves its five REST routes with Flectra's parameters, form and JSON bodies, the exact
//! success shapes and the `{"error", "error_descrip"}` body on every status the proxy can answer.
//! Built from the models' `fields_get`; `servers` is added per request. No I/O.

use serde_json::{json, Map, Value};

use super::fields;

/// One model and its fields, as `fields_get` described them.
pub struct ModelFields {
    pub name: String,
    pub fields: Map<String, Value>,
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// The error answers, by status: what each one means here.
const ERRORS: &[(&str, &str)] = &[
    ("400", "A bad request: missing token (`access_token_not_found`), invalid id (`invalid_object_id`), a parameter the proxy or the ERP cannot use (`invalid_parameter`, `invalid_request`), or a record the ERP refused to write."),
    ("401", "The token is expired or invalid (`invalid_token`), or the ERP refused the credentials."),
    ("403", "The ERP's access rules refuse this user, or the gate cannot read the REST flag (`rest_api_flag_unreadable`)."),
    ("404", "Unknown model, model not enabled for the REST API, no such record, or no record matched (`object_not_found_in_flectra`)."),
    ("408", "The request body did not arrive in time (`request_timeout`)."),
    ("413", "The request body is too large (`payload_too_large`)."),
    ("414", "The URL is too long (`url_too_long`)."),
    ("429", "Too many failed logins (`too_many_attempts`); see `Retry-After`."),
    ("502", "The ERP is unreachable or answered something unreadable, or failed itself."),
    ("503", "The proxy or the ERP is overloaded, or the token store is full; try again later."),
    ("504", "The ERP did not answer in time (`upstream_timeout`)."),
];

/// Statuses of a record call, of a login, of a logout, and of the document itself.
const RECORD_ERRORS: &[&str] = &[
    "400", "401", "403", "404", "408", "413", "414", "502", "503", "504",
];
const LOGIN_ERRORS: &[&str] = &[
    "400", "401", "408", "413", "414", "429", "502", "503", "504",
];
const LOGOUT_ERRORS: &[&str] = &["400", "408", "413", "414"];
const DOCUMENT_ERRORS: &[&str] = &[
    "400", "401", "403", "408", "413", "414", "502", "503", "504",
];

/// The document, without `servers`.
pub fn build(version: &str, models: &[ModelFields]) -> Value {
    let mut paths = Map::new();
    paths.insert("/api/auth/get_tokens".into(), get_tokens());
    paths.insert("/api/auth/delete_tokens".into(), delete_tokens());
    paths.insert("/api/openapi.json".into(), openapi_path());
    let mut schemas = common_schemas();
    for model in models {
        let name = &model.name;
        paths.insert(format!("/api/{name}"), collection_path(name));
        paths.insert(format!("/api/{name}/{{id}}"), record_path(name));
        model_schemas(&mut schemas, model);
    }
    let mut responses = Map::new();
    for (status, description) in ERRORS {
        responses.insert(
            format!("Error{status}"),
            json!({
                "description": description,
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
            }),
        );
    }
    let tags: Vec<Value> = models
        .iter()
        .map(|model| json!({"name": model.name}))
        .chain([json!({"name": "auth", "description": "Access tokens"})])
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "odoo-rest-proxy",
            "version": version,
            "description": "Flectra's REST API (the `rest_api` addon) for the models this database enables, served by odoo-rest-proxy over XML-RPC. Log in with `POST /api/auth/get_tokens`, then send the token in the `access_token` header (or `Access-Token`, or `Authorization: Bearer`). Every parameter can be sent in the query string, a form body or a JSON body, on every method. Field schemas come from the ERP's own `fields_get`.",
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": {
                "access_token": {"type": "apiKey", "in": "header", "name": "access_token", "description": "Flectra's header."},
                "Access-Token": {"type": "apiKey", "in": "header", "name": "Access-Token", "description": "The same token, for proxies that drop header names with underscores (nginx by default)."},
                "bearer": {"type": "http", "scheme": "bearer", "description": "The same token as `Authorization: Bearer <token>`."},
            },
        },
        "security": [{"access_token": []}, {"Access-Token": []}, {"bearer": []}],
    })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The success answer plus the error answers with these statuses.
fn responses(success: &str, schema: Value, errors: &[&str]) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": success, "content": {JSON: {"schema": schema}}}),
    );
    for status in errors {
        responses.insert(
            (*status).into(),
            json!({ "$ref": format!("#/components/responses/Error{status}") }),
        );
    }
    Value::Object(responses)
}

/// A body that may come as a form or as JSON.
fn body(form: Value, json_schema: Value, required: bool) -> Value {
    json!({
        "required": required,
        "content": {FORM: {"schema": form}, JSON: {"schema": json_schema}},
    })
}

fn get_tokens() -> Value {
    let credentials = json!({
        "type": "object",
        "required": ["username", "password", "db"],
        "properties": {
            "username": {"type": "string", "description": "The user's login", "examples": ["admin"]},
            "password": {"type": "string", "format": "password", "description": "The password, or an API key"},
            "db": {"type": "string", "description": "The database name"},
        },
    });
    json!({"post": {
        "tags": ["auth"],
        "operationId": "get_tokens",
        "summary": "Log in: get an access token",
        "security": [],
        "requestBody": {"required": true, "content": {FORM: {"schema": credentials}}},
        "responses": responses("The token and the user's context", reference("Login"), LOGIN_ERRORS),
    }})
}

fn delete_tokens() -> Value {
    json!({"post": {
        "tags": ["auth"],
        "operationId": "delete_tokens",
        "summary": "Log out: revoke the token sent in the header",
        "responses": responses("The token is revoked", reference("TokenDeleted"), LOGOUT_ERRORS),
    }})
}

fn openapi_path() -> Value {
    json!({"get": {
        "tags": ["auth"],
        "operationId": "openapi",
        "summary": "This document, for the caller's database",
        "responses": responses("An OpenAPI 3.1 document", json!({"type": "object", "required": ["openapi", "paths"]}), DOCUMENT_ERRORS),
    }})
}

fn field_parameter() -> Value {
    json!({
        "name": "field", "in": "query",
        "description": "The fields to answer, as a Python (or JSON) list of names; all fields when absent. Flectra's syntax: `['name', 'email']`.",
        "schema": {"type": "string"},
        "example": "['name', 'email']",
    })
}

fn id_parameter() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "The record id",
        "schema": {"type": "integer", "minimum": 1, "maximum": fields::INT32_MAX},
        "example": 1,
    })
}

fn collection_path(model: &str) -> Value {
    let list = json!({
        "type": "object",
        "required": ["count", "results"],
        "properties": {
            "count": {"type": "integer", "minimum": 1, "description": "How many records are in `results`"},
            "results": {"type": "array", "minItems": 1, "items": reference(&format!("{model}-read"))},
        },
    });
    let only_id_json = json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer", "minimum": 1, "maximum": fields::INT32_MAX}}});
    let only_id_form = json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "pattern": r"^[1-9]\d{0,8}$"}}});
    json!({
        "get": {
            "tags": [model],
            "operationId": format!("{model}.search_read"),
            "summary": format!("Search {model}"),
            "description": "One `search_read`. The parameters may also come in a form or JSON body, as Flectra's clients send them. No match is a 404.",
            "parameters": [
                {"name": "filters", "in": "query", "description": "A domain: a Python (or JSON) list of conditions, in Flectra's syntax: `[('name', 'ilike', 'a'), ('is_company', '=', True)]`.", "schema": {"type": "string"}, "example": "[('id', '>', 0)]"},
                field_parameter(),
                {"name": "limit", "in": "query", "description": "At most this many records (0: no limit), e.g. `10`.", "schema": {"type": "integer", "minimum": 0, "maximum": fields::INT32_MAX}, "example": 10},
                {"name": "offset", "in": "query", "description": "Skip this many records first, e.g. `3`.", "schema": {"type": "integer", "minimum": 0, "maximum": fields::INT32_MAX}, "example": 0},
                {"name": "order", "in": "query", "description": "Sort order, e.g. `name desc` or `id asc, name desc`.", "schema": {"type": "string"}, "example": "id desc"},
            ],
            "responses": responses("The records found", list, RECORD_ERRORS),
        },
        "post": {
            "tags": [model],
            "operationId": format!("{model}.create"),
            "summary": format!("Create a {model} record"),
            "requestBody": body(reference(&format!("{model}-create-form")), reference(&format!("{model}-create")), false),
            "responses": created(model),
        },
        "put": {
            "tags": [model],
            "operationId": format!("{model}.write"),
            "summary": format!("Update the {model} record whose `id` is in the body"),
            "requestBody": body(reference(&format!("{model}-update-id-form")), reference(&format!("{model}-update-id")), true),
            "responses": responses("Updated", reference("Updated"), RECORD_ERRORS),
        },
        "delete": {
            "tags": [model],
            "operationId": format!("{model}.unlink"),
            "summary": format!("Delete the {model} record whose `id` is in the body"),
            "requestBody": body(only_id_form, only_id_json, true),
            "responses": responses("Deleted", reference("Deleted"), RECORD_ERRORS),
        },
    })
}

/// The answer of a create, with links to what can be done with the new record's id.
fn created(model: &str) -> Value {
    let mut answers = responses("The new record's id", reference("Created"), RECORD_ERRORS);
    let link = |operation: &str, what: &str| {
        json!({
            "operationId": format!("{model}.{operation}"),
            "parameters": {"id": "$response.body#/id"},
            "description": what,
        })
    };
    answers["200"]["links"] = json!({
        "read": link("read", "Read the new record"),
        "update": link("write_id", "Update the new record"),
        "delete": link("unlink_id", "Delete the new record"),
    });
    answers
}

fn record_path(model: &str) -> Value {
    let one = json!({"type": "array", "minItems": 1, "maxItems": 1, "items": reference(&format!("{model}-read"))});
    json!({
        "parameters": [id_parameter()],
        "get": {
            "tags": [model],
            "operationId": format!("{model}.read"),
            "summary": format!("Read one {model} record"),
            "description": "A one-element list, as Flectra answers it.",
            "parameters": [field_parameter()],
            "responses": responses("The record", one, RECORD_ERRORS),
        },
        "put": {
            "tags": [model],
            "operationId": format!("{model}.write_id"),
            "summary": format!("Update one {model} record"),
            "requestBody": body(reference(&format!("{model}-update-form")), reference(&format!("{model}-update")), false),
            "responses": responses("Updated", reference("Updated"), RECORD_ERRORS),
        },
        "delete": {
            "tags": [model],
            "operationId": format!("{model}.unlink_id"),
            "summary": format!("Delete one {model} record"),
            "responses": responses("Deleted", reference("Deleted"), RECORD_ERRORS),
        },
    })
}

fn common_schemas() -> Map<String, Value> {
    let false_or = |schema: Value| json!({"anyOf": [schema, {"const": false}]});
    let schemas = json!({
        "Error": {
            "type": "object",
            "required": ["error", "error_descrip"],
            "properties": {
                "error": {"type": "string", "description": "A stable code, e.g. `invalid_token`"},
                "error_descrip": {"type": "string", "description": "What happened, for a person"},
            },
        },
        "Login": {
            "type": "object",
            "required": ["uid", "user_context", "company_id", "access_token", "expires_in"],
            "properties": {
                "uid": {"type": "integer"},
                "user_context": {
                    "type": "object",
                    "required": ["lang", "tz", "uid"],
                    "properties": {
                        "lang": false_or(json!({"type": "string"})),
                        "tz": false_or(json!({"type": "string"})),
                        "uid": {"type": "integer"},
                    },
                },
                "company_id": {"type": ["integer", "null"]},
                "access_token": {"type": "string"},
                "expires_in": {"type": "string", "pattern": r"^\d+$", "description": "Seconds, as text (Flectra: \"600\")"},
            },
        },
        "TokenDeleted": {
            "type": "object",
            "required": ["desc", "delete"],
            "properties": {"desc": {"const": "Token Successfully Deleted"}, "delete": {"const": true}},
        },
        "Created": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "integer"}},
        },
        "Updated": {
            "type": "object",
            "required": ["desc", "update"],
            "properties": {"desc": {"const": "Record Updated successfully!"}, "update": {"const": true}},
        },
        "Deleted": {
            "type": "object",
            "required": ["desc", "delete"],
            "properties": {"desc": {"const": "Record Successfully Deleted!"}, "delete": {"const": true}},
        },
    });
    match schemas {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `<model>-read`, and the create and update bodies as JSON and as forms.
fn model_schemas(schemas: &mut Map<String, Value>, model: &ModelFields) {
    let name = &model.name;
    let mut read = Map::new();
    let (mut write_json, mut write_form) = (Map::new(), Map::new());
    let mut required = Vec::new();
    for (field_name, field) in &model.fields {
        read.insert(field_name.clone(), fields::read(field));
        if fields::is_readonly(field) || field_name == "id" {
            continue;
        }
        write_json.insert(field_name.clone(), fields::write_json(field));
        write_form.insert(field_name.clone(), fields::write_form(field));
        if fields::is_required(field) {
            required.push(Value::from(field_name.as_str()));
        }
    }
    schemas.insert(
        format!("{name}-read"),
        json!({
            "type": "object",
            "description": format!("A {name} record as search_read answers it: only the fields asked for (all when `field` is absent), always with `id`."),
            "required": ["id"],
            "properties": read,
        }),
    );
    let body = |properties: &Map<String, Value>, required: &[Value], what: &str| {
        json!({
            "type": "object",
            "description": format!("The values of {what} {name} record; fields the ERP marks read-only are left out."),
            "required": required,
            "properties": properties,
            "additionalProperties": false,
        })
    };
    schemas.insert(
        format!("{name}-create"),
        body(&write_json, &required, "a new"),
    );
    schemas.insert(
        format!("{name}-update"),
        body(&write_json, &[], "an updated"),
    );
    schemas.insert(
        format!("{name}-create-form"),
        body(&write_form, &required, "a new"),
    );
    schemas.insert(
        format!("{name}-update-form"),
        body(&write_form, &[], "an updated"),
    );
    // PUT /api/<model> names the record in the body.
    let id = [Value::from("id")];
    let mut with_id = write_json;
    with_id.insert("id".into(), json!({"type": "integer", "minimum": 1, "maximum": fields::INT32_MAX, "description": "The record to update"}));
    schemas.insert(
        format!("{name}-update-id"),
        body(&with_id, &id, "an updated"),
    );
    let mut with_id = write_form;
    with_id.insert("id".into(), json!({"type": "string", "pattern": r"^[1-9]\d{0,8}$", "description": "The record to update"}));
    schemas.insert(
        format!("{name}-update-id-form"),
        body(&with_id, &id, "an updated"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Operation};
    use crate::odoo::{OdooFault, UpstreamError};

    /// Every status the proxy answers for an error has its entry in the document (405 is for
    /// methods the document does not list, so it needs none).
    #[test]
    fn every_error_status_is_documented() {
        let upstream = |error| Error::upstream(Operation::Read, error);
        let errors = [
            Error::EmptyLogin,
            Error::LoginFailed,
            Error::TokenInvalid,
            Error::ModelDisabled("m".into()),
            Error::GateUnreadable("x".into()),
            Error::PayloadTooLarge(1),
            Error::UrlTooLong(1),
            Error::BodyTimeout(1),
            Error::TooManyAttempts(1),
            Error::TokenStoreFull,
            upstream(UpstreamError::Unreachable("x".into())),
            upstream(UpstreamError::Timeout),
            upstream(UpstreamError::Fault(OdooFault::AccessError("x".into()))),
            upstream(UpstreamError::Fault(OdooFault::ReturnedNone)),
        ];
        let documented: Vec<&str> = ERRORS.iter().map(|(status, _)| *status).collect();
        for error in errors {
            let status = error.status();
            assert!(
                documented.contains(&status.as_str()),
                "{status} ({error:?}) is not in the document"
            );
        }
        for list in [RECORD_ERRORS, LOGIN_ERRORS, LOGOUT_ERRORS, DOCUMENT_ERRORS] {
            assert!(list.iter().all(|status| documented.contains(status)));
        }
    }

    #[test]
    fn record_paths_reference_their_schemas() {
        let fields = json!({
            "name": {"type": "char", "required": true},
            "create_date": {"type": "datetime", "readonly": true},
        });
        let Value::Object(fields) = fields else {
            unreachable!("a JSON object literal")
        };
        let document = build(
            "0",
            &[ModelFields {
                name: "x_thing".into(),
                fields,
            }],
        );
        let schemas = &document["components"]["schemas"];
        assert_eq!(schemas["x_thing-create"]["required"], json!(["name"]));
        assert!(schemas["x_thing-create"]["properties"]["create_date"].is_null());
        assert!(schemas["x_thing-read"]["properties"]["create_date"].is_object());
        assert_eq!(
            schemas["x_thing-update-id"]["required"],
            json!(["id"]),
            "PUT /api/<model> names the record in the body"
        );
        let text = serde_json::to_string(&document).expect("serializes");
        for reference in text.split("\"#/components/").skip(1) {
            let target = reference.split('"').next().unwrap_or("");
            let (kind, name) = target.split_once('/').unwrap_or(("", ""));
            assert!(
                document["components"][kind][name].is_object(),
                "dangling $ref {target}"
            );
        }
    }
}
