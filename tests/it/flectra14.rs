//! The XML-RPC codec against the 61 real Flectra 1.4 transcripts (tests/fixtures/flectra14):
//! the decoded values, the fault codes and texts, and the wire differences from Odoo 18
//! (HTTP/1.0 without `Connection`, the single-quoted prolog, HTML 500 for a malformed body).
//! The helpers are the Odoo 18 ones of `xmlrpc`.

use odoo_rest_proxy::odoo::OdooFault;
use odoo_rest_proxy::xmlrpc::{
    decode_call, decode_response, encode_call, encode_fault, encode_fault_code, encode_response,
    Fault, FaultCode,
};
use serde_json::{json, Value};

use crate::xmlrpc::{
    check_fixtures_in, execute_kw_on, fixture_in, fixture_names_in, with_kwargs, Expect,
};

const DIR: &str = "flectra14";

fn fixture(name: &str) -> Vec<u8> {
    fixture_in(DIR, name)
}

const DELETED: &str = "('One of the records you are trying to modify has already been deleted \
                       (Document type: Contact).', None)";

/// Flectra 1.4's access error: `str()` of an `except_orm`, a tuple repr with `\n` escaped.
fn access_error(verb: &str, group: &str, model: &str) -> &'static str {
    let text = format!(
        "('Sorry, you are not allowed to {verb}. Only users with the following access level are \
         currently allowed to do that:\\n- {group}\\n\\n(Document model: {model})', None)"
    );
    Box::leak(text.into_boxed_str())
}

#[test]
fn every_flectra_response_fixture_decodes_to_its_recorded_values() {
    check_fixtures_in(
        DIR,
        vec![
            (
                "01-common-version.response.xml",
                Expect::Value(json!({
                    "server_version": "1.4",
                    "server_version_info": [1, 4, 0, "final", 0, ""],
                    "server_serie": "1.4",
                    "protocol_version": 1
                })),
            ),
            (
                "02-common-authenticate-ok.response.xml",
                Expect::Value(json!(1)),
            ),
            (
                "03-common-authenticate-bad-password.response.xml",
                Expect::Value(json!(false)),
            ),
            (
                "04-common-authenticate-unknown-db.response.xml",
                Expect::Traceback(
                    1,
                    "psycopg2.OperationalError: FATAL:  database \"no_such_db\" does not exist",
                ),
            ),
            ("05-common-login.response.xml", Expect::Value(json!(1))),
            (
                "06-common-authenticate-demo-api.response.xml",
                Expect::Value(json!(7)),
            ),
            (
                "07-search-read-name-desc.response.xml",
                Expect::Value(json!([
                    {"id": 1, "name": "YourCompany", "email": "info@yourcompany.example.com"},
                    {"id": 33, "name": "William Thomas",
                     "email": "william.jackson@jackson.example.com"},
                    {"id": 23, "name": "Thomas Passot",
                     "email": "thomas.passot@agrolait.example.com"}
                ])),
            ),
            (
                "08-search-read-ilike-offset.response.xml",
                Expect::Value(json!([
                    {"id": 10, "name": "China Export"},
                    {"id": 11, "name": "Delta PC"},
                    {"id": 12, "name": "The Jackson Group"},
                    {"id": 13, "name": "Camptocamp"}
                ])),
            ),
            (
                "09-search-read-one-id.response.xml",
                Expect::Value(json!([{"id": 9, "name": "Agrolait",
                    "email": "agrolait@yourcompany.example.com", "is_company": true}])),
            ),
            (
                "10-read.response.xml",
                Expect::Value(json!([
                    {"id": 9, "name": "Agrolait", "email": "agrolait@yourcompany.example.com",
                     "parent_id": false},
                    {"id": 23, "name": "Thomas Passot",
                     "email": "thomas.passot@agrolait.example.com", "parent_id": [9, "Agrolait"]}
                ])),
            ),
            (
                "11-search.response.xml",
                Expect::Value(json!([1, 8, 9, 10, 11])),
            ),
            ("12-search-count.response.xml", Expect::Value(json!(8))),
            (
                "13-fields-get.response.xml",
                Expect::Paths(vec![
                    ("/#", json!(57)),
                    (
                        "/name",
                        json!({"readonly": false, "required": false, "string": "Name",
                                     "type": "char"}),
                    ),
                    ("/comment/type", json!("text")),
                    ("/date/type", json!("date")),
                    ("/image_small/type", json!("binary")),
                    ("/credit_limit/type", json!("float")),
                    ("/country_id/relation", json!("res.country")),
                    ("/type/selection/#", json!(5)),
                    ("/type/selection/4", json!(["private", "Private Address"])),
                ]),
            ),
            (
                "14-search-read-rich-types.response.xml",
                Expect::Paths(vec![
                    ("/#", json!(3)),
                    ("/0/#", json!(19)),
                    ("/0/id", json!(8)),
                    ("/0/country_id", json!([227, "Taiwan"])),
                    ("/0/company_id", json!([1, "YourCompany"])),
                    ("/0/category_id", json!([13, 12])),
                    ("/0/child_ids", json!([20, 18, 16, 21, 22, 15])),
                    ("/0/create_date", json!("2026-12-01 22:44:59")),
                    ("/0/credit_limit", json!(0.0)),
                    ("/0/comment", json!(false)),
                    ("/0/date", json!(false)),
                    ("/2/parent_id", json!([9, "Agrolait"])),
                    ("/2/image_small", json!(false)),
                    ("/2/function", json!("Functional Consultant")),
                ]),
            ),
            (
                "15-search-read-context-tz.response.xml",
                Expect::Value(json!([{"id": 9, "create_date": "2026-12-01 22:44:59",
                                      "write_date": "2026-12-01 22:44:59"}])),
            ),
            (
                "16-search-read-date-float.response.xml",
                Expect::Value(json!([{"id": 129, "name": "2010-01-01", "rate": 1.0,
                    "currency_id": [1, "EUR"], "company_id": [1, "YourCompany"]}])),
            ),
            ("17-create.response.xml", Expect::Value(json!(51))),
            ("18-write.response.xml", Expect::Value(json!(true))),
            (
                "19-read-after-write.response.xml",
                Expect::Value(json!([{"id": 51, "name": "Wire Test Partner",
                    "email": "wire2@example.com", "phone": "+32 2 555 0100",
                    "website": "https://example.com"}])),
            ),
            ("20-unlink.response.xml", Expect::Value(json!(true))),
            (
                "21-write-missing-id.response.xml",
                Expect::Fault(FaultCode::Int(2), DELETED),
            ),
            // Flectra 1.x: the unlink of a missing record succeeds.
            (
                "22-unlink-missing-id.response.xml",
                Expect::Value(json!(true)),
            ),
            ("23-read-missing-id.response.xml", Expect::Value(json!([]))),
            ("24-read-deleted-id.response.xml", Expect::Value(json!([]))),
            // Flectra 1.x drops an unknown field and creates the record.
            (
                "25-create-unknown-field.response.xml",
                Expect::Value(json!(52)),
            ),
            (
                "26-unknown-model.response.xml",
                Expect::Fault(FaultCode::Int(2), "Object x.no.such.model doesn't exist"),
            ),
            (
                "27-wrong-password.response.xml",
                Expect::Fault(FaultCode::Int(3), "Access denied"),
            ),
            (
                "28-access-error-unlink-users.response.xml",
                Expect::Fault(
                    FaultCode::Int(4),
                    access_error(
                        "delete this document",
                        "Administration/Access Rights",
                        "res.users",
                    ),
                ),
            ),
            (
                "29-access-error-write-ir-model.response.xml",
                Expect::Fault(
                    FaultCode::Int(4),
                    access_error(
                        "modify this document",
                        "Administration/Access Rights",
                        "ir.model",
                    ),
                ),
            ),
            (
                "30-access-error-read-ir-model.response.xml",
                Expect::Value(json!([{"id": 77, "model": "res.partner", "name": "Contact",
                                      "rest_api": true}])),
            ),
            (
                "31-access-error-create-partner.response.xml",
                Expect::Fault(
                    FaultCode::Int(4),
                    access_error(
                        "create this kind of document",
                        "Extra Rights/Contact Creation",
                        "res.partner",
                    ),
                ),
            ),
            (
                "32-validation-duplicate-login.response.xml",
                Expect::Traceback(
                    1,
                    "flectra.exceptions.ValidationError: ('You can not have two users with the \
                     same login !', None)",
                ),
            ),
            (
                "33-validation-cyclic-parent.response.xml",
                Expect::Traceback(
                    1,
                    "flectra.exceptions.ValidationError: ('You cannot create recursive Partner \
                     hierarchies.', None)",
                ),
            ),
            (
                "34-bad-domain-field.response.xml",
                Expect::Traceback(
                    1,
                    "ValueError: Invalid field 'nonexistent_field' in leaf \"<osv.ExtendedLeaf: \
                     ('nonexistent_field', '=', 1) on res_partner (ctx: )>\"",
                ),
            ),
            (
                "35-bad-domain-operator.response.xml",
                Expect::Traceback(1, "TypeError: unhashable type: 'list'"),
            ),
            (
                "36-bad-order.response.xml",
                Expect::Fault(
                    FaultCode::Int(2),
                    "Invalid \"order\" specified. A valid \"order\" specification is a \
                     comma-separated list of valid field names (optionally followed by asc/desc \
                     for the direction)",
                ),
            ),
            (
                "37-ir-model-rest-api.response.xml",
                Expect::Value(json!([{"id": 77, "model": "res.partner", "name": "Contact",
                                      "rest_api": true}])),
            ),
            ("38-create-non-ascii.response.xml", Expect::Value(json!(54))),
            (
                "39-read-non-ascii.response.xml",
                Expect::Value(json!([{"id": 54, "name": "Zoë Ünïcødé 東京 🚀",
                    "display_name": "Zoë Ünïcødé 東京 🚀",
                    "comment": "<p>ça & <b>gras</b></p>"}])),
            ),
            ("40-http-get-object.response.xml", Expect::ResponseError),
            ("41-malformed-xml.response.xml", Expect::ResponseError),
            ("42-not-xml-body.response.xml", Expect::ResponseError),
            (
                "43-request-with-nil.response.xml",
                Expect::Value(json!([{"id": 9, "name": "Agrolait"}])),
            ),
            (
                "44-request-i4-i8-bare-strings.response.xml",
                Expect::Value(json!([{"id": 9, "name": "Agrolait"}])),
            ),
            (
                "45-method-returns-none.response.xml",
                Expect::Traceback(
                    1,
                    "TypeError: cannot marshal None unless allow_none is enabled",
                ),
            ),
            (
                "46-private-method.response.xml",
                Expect::Fault(
                    FaultCode::Int(4),
                    "('Private methods (such as _read_group) cannot be called remotely.', None)",
                ),
            ),
            (
                "47-unknown-method.response.xml",
                Expect::Traceback(
                    1,
                    "AttributeError: type object 'res.partner' has no attribute 'no_such_method'",
                ),
            ),
            (
                "48-db-list.response.xml",
                Expect::Value(json!(["flectra", "flectra14", "rest", "rest17", "rest19"])),
            ),
            (
                "49-common-unknown-method.response.xml",
                Expect::Traceback(1, "Exception: Method not found: no_such_method"),
            ),
            // 50 has a string faultCode and a traceback: checked in `unknown_path_fault`.
            (
                "51-unknown-service.response.xml",
                Expect::Traceback(
                    1,
                    "UnboundLocalError: local variable 'dispatch' referenced before assignment",
                ),
            ),
            (
                "52-legacy-endpoint-fault.response.xml",
                Expect::Fault(
                    FaultCode::Text(format!("warning -- MissingError\n\n{DELETED}")),
                    "",
                ),
            ),
            (
                "53-legacy-endpoint-access-denied.response.xml",
                Expect::Fault(FaultCode::Text("AccessDenied".to_owned()), "Access denied"),
            ),
            (
                "54-unlink-non-ascii.response.xml",
                Expect::Value(json!(true)),
            ),
            (
                "55-create-name-false.response.xml",
                Expect::Traceback(
                    1,
                    "flectra.exceptions.ValidationError: ('Contacts require a name.', None)",
                ),
            ),
            ("56-write-date.response.xml", Expect::Value(json!(true))),
            (
                "57-read-date.response.xml",
                Expect::Value(json!([{"id": 8, "date": "2024-02-29",
                    "create_date": "2026-12-01 22:44:59", "tz": false}])),
            ),
            (
                "58-many2one-unknown-id-create.response.xml",
                Expect::Traceback(
                    1,
                    "flectra.exceptions.ValidationError: ('The operation cannot be completed, \
                     probably due to the following:\\n- deletion: you may be trying to delete a \
                     record while other records still reference it\\n- creation/update: a \
                     mandatory field is not correctly set\\n\\n[object with reference: Country \
                     - res.country]', None)",
                ),
            ),
            (
                "59-unlink-admin-user.response.xml",
                Expect::Fault(
                    FaultCode::Int(2),
                    "You can not remove the admin user as it is used internally for resources \
                     created by Flectra (updates, module installation, ...)",
                ),
            ),
            (
                "60-unlink-unknown-field-partner.response.xml",
                Expect::Value(json!(true)),
            ),
            (
                "61-write-date-false.response.xml",
                Expect::Value(json!(true)),
            ),
        ],
    );
}

#[test]
fn unknown_path_fault_has_a_string_code_and_a_traceback() {
    let Ok(Err(Fault { code, string })) = decode_response(&fixture("50-unknown-path.response.xml"))
    else {
        panic!("50 is a fault");
    };
    let dispatch = "local variable 'dispatch' referenced before assignment";
    assert_eq!(code, FaultCode::Text(dispatch.to_owned()));
    assert!(string.starts_with("Traceback (most recent call last):\n"));
    assert_eq!(
        string.trim_end().lines().last(),
        Some(format!("UnboundLocalError: {dispatch}").as_str())
    );
}

#[test]
fn every_flectra_request_fixture_decodes_with_decode_call() {
    let admin = |model, method, args| execute_kw_on("flectra14", 1, "admin", model, method, args);
    let partner = |method, args| admin("res.partner", method, args);
    let demo = |model, method, args| execute_kw_on("flectra14", 7, "demo_api", model, method, args);
    let login = |name: &str, password: &str| {
        vec![json!("flectra14"), json!(name), json!(password), json!({})]
    };
    let search_read = |args: Value, kwargs: Value| {
        Expect::Call(
            "execute_kw",
            with_kwargs(partner("search_read", args), kwargs),
        )
    };
    let wrong_password = || {
        Expect::Call(
            "execute_kw",
            with_kwargs(
                execute_kw_on(
                    "flectra14",
                    1,
                    "wrong-password",
                    "res.partner",
                    "search_read",
                    json!([[]]),
                ),
                json!({"fields": ["name"], "limit": 1}),
            ),
        )
    };
    check_fixtures_in(
        DIR,
        vec![
            (
                "01-common-version.request.xml",
                Expect::Call("version", vec![]),
            ),
            (
                "02-common-authenticate-ok.request.xml",
                Expect::Call("authenticate", login("admin", "admin")),
            ),
            (
                "03-common-authenticate-bad-password.request.xml",
                Expect::Call("authenticate", login("admin", "wrong-password")),
            ),
            (
                "04-common-authenticate-unknown-db.request.xml",
                Expect::Call(
                    "authenticate",
                    vec![
                        json!("no_such_db"),
                        json!("admin"),
                        json!("admin"),
                        json!({}),
                    ],
                ),
            ),
            (
                "05-common-login.request.xml",
                Expect::Call(
                    "login",
                    vec![json!("flectra14"), json!("admin"), json!("admin")],
                ),
            ),
            (
                "06-common-authenticate-demo-api.request.xml",
                Expect::Call("authenticate", login("demo_api", "demo_api")),
            ),
            (
                "07-search-read-name-desc.request.xml",
                search_read(
                    json!([[]]),
                    json!({"fields": ["name", "email"], "limit": 3,
                                                 "order": "name desc"}),
                ),
            ),
            (
                "08-search-read-ilike-offset.request.xml",
                search_read(
                    json!([[["name", "ilike", "a"]]]),
                    json!({"fields": ["name"], "offset": 5, "limit": 4, "order": "id"}),
                ),
            ),
            (
                "09-search-read-one-id.request.xml",
                search_read(
                    json!([[["id", "=", 9]]]),
                    json!({"fields": ["name", "email", "is_company"]}),
                ),
            ),
            (
                "10-read.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        partner("read", json!([[9, 23]])),
                        json!({"fields": ["name", "email", "parent_id"]}),
                    ),
                ),
            ),
            (
                "11-search.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        partner("search", json!([[["is_company", "=", true]]])),
                        json!({"limit": 5, "order": "id"}),
                    ),
                ),
            ),
            (
                "12-search-count.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner("search_count", json!([[["is_company", "=", true]]])),
                ),
            ),
            (
                "13-fields-get.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        partner("fields_get", json!([])),
                        json!({"attributes": ["type", "string", "required", "readonly", "relation",
                                          "selection"]}),
                    ),
                ),
            ),
            (
                "14-search-read-rich-types.request.xml",
                search_read(
                    json!([[["id", "in", [9, 23, 8]]]]),
                    json!({"fields": [
                    "name", "parent_id", "country_id", "company_id", "category_id", "child_ids",
                    "create_date", "write_date", "credit_limit", "color", "is_company", "active",
                    "function", "mobile", "comment", "type", "image_small", "date"]}),
                ),
            ),
            (
                "15-search-read-context-tz.request.xml",
                search_read(
                    json!([[["id", "=", 9]]]),
                    json!({"fields": ["create_date",
                    "write_date"], "context": {"tz": "Asia/Tokyo", "lang": "en_US"}}),
                ),
            ),
            (
                "16-search-read-date-float.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        admin(
                            "res.currency.rate",
                            "search_read",
                            json!([[["currency_id.name", "=", "EUR"]]]),
                        ),
                        json!({"fields": ["name", "rate", "currency_id", "company_id"], "limit": 2}),
                    ),
                ),
            ),
            (
                "17-create.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner(
                        "create",
                        json!([{"name": "Wire Test Partner",
                    "email": "wire@example.com", "website": "https://example.com"}]),
                    ),
                ),
            ),
            (
                "18-write.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner(
                        "write",
                        json!([[51],
                    {"email": "wire2@example.com", "phone": "+32 2 555 0100"}]),
                    ),
                ),
            ),
            (
                "19-read-after-write.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        partner("read", json!([[51]])),
                        json!({"fields": ["name", "email", "phone", "website"]}),
                    ),
                ),
            ),
            (
                "20-unlink.request.xml",
                Expect::Call("execute_kw", partner("unlink", json!([[51]]))),
            ),
            (
                "21-write-missing-id.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner("write", json!([[999999999], {"name": "ghost"}])),
                ),
            ),
            (
                "22-unlink-missing-id.request.xml",
                Expect::Call("execute_kw", partner("unlink", json!([[999999999]]))),
            ),
            (
                "23-read-missing-id.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        partner("read", json!([[999999999]])),
                        json!({"fields": ["name"]}),
                    ),
                ),
            ),
            (
                "24-read-deleted-id.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(partner("read", json!([[51]])), json!({"fields": ["name"]})),
                ),
            ),
            (
                "25-create-unknown-field.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner("create", json!([{"name": "X", "no_such_field": 1}])),
                ),
            ),
            (
                "26-unknown-model.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        admin("x.no.such.model", "search_read", json!([[]])),
                        json!({"limit": 1}),
                    ),
                ),
            ),
            ("27-wrong-password.request.xml", wrong_password()),
            (
                "28-access-error-unlink-users.request.xml",
                Expect::Call("execute_kw", demo("res.users", "unlink", json!([[5]]))),
            ),
            (
                "29-access-error-write-ir-model.request.xml",
                Expect::Call(
                    "execute_kw",
                    demo("ir.model", "write", json!([[1], {"rest_api": true}])),
                ),
            ),
            (
                "30-access-error-read-ir-model.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        demo(
                            "ir.model",
                            "search_read",
                            json!([[["model", "=", "res.partner"]]]),
                        ),
                        json!({"fields": ["model", "name", "rest_api"]}),
                    ),
                ),
            ),
            (
                "31-access-error-create-partner.request.xml",
                Expect::Call(
                    "execute_kw",
                    demo("res.partner", "create", json!([{"name": "Should fail"}])),
                ),
            ),
            (
                "32-validation-duplicate-login.request.xml",
                Expect::Call(
                    "execute_kw",
                    admin(
                        "res.users",
                        "create",
                        json!([{"name": "Dup", "login": "demo_api"}]),
                    ),
                ),
            ),
            (
                "33-validation-cyclic-parent.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner("write", json!([[9], {"parent_id": 23}])),
                ),
            ),
            (
                "34-bad-domain-field.request.xml",
                search_read(
                    json!([[["nonexistent_field", "=", 1]]]),
                    json!({"fields": ["name"]}),
                ),
            ),
            (
                "35-bad-domain-operator.request.xml",
                search_read(
                    json!([[["name", "no_such_op", 1]]]),
                    json!({"fields": ["name"]}),
                ),
            ),
            (
                "36-bad-order.request.xml",
                search_read(
                    json!([[]]),
                    json!({"fields": ["name"],
                                                 "order": "name; drop table"}),
                ),
            ),
            (
                "37-ir-model-rest-api.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        admin(
                            "ir.model",
                            "search_read",
                            json!([[["model", "=", "res.partner"]]]),
                        ),
                        json!({"fields": ["model", "name", "rest_api"]}),
                    ),
                ),
            ),
            (
                "38-create-non-ascii.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner(
                        "create",
                        json!([{
                    "name": "Zoë Ünïcødé 東京 🚀", "comment": "<p>ça & <b>gras</b></p>"}]),
                    ),
                ),
            ),
            (
                "39-read-non-ascii.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        partner("read", json!([[54]])),
                        json!({"fields": ["name", "display_name", "comment"]}),
                    ),
                ),
            ),
            ("40-http-get-object.request.xml", Expect::CallError),
            ("41-malformed-xml.request.xml", Expect::CallError),
            ("42-not-xml-body.request.xml", Expect::CallError),
            (
                "43-request-with-nil.request.xml",
                search_read(
                    json!([[["id", "=", 9]]]),
                    json!({"fields": ["name"], "limit": null}),
                ),
            ),
            (
                "44-request-i4-i8-bare-strings.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(partner("read", json!([[9]])), json!({"fields": ["name"]})),
                ),
            ),
            (
                "45-method-returns-none.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner("check_access_rule", json!([[9], "read"])),
                ),
            ),
            (
                "46-private-method.request.xml",
                Expect::Call("execute_kw", partner("_read_group", json!([[]]))),
            ),
            (
                "47-unknown-method.request.xml",
                Expect::Call("execute_kw", partner("no_such_method", json!([[]]))),
            ),
            ("48-db-list.request.xml", Expect::Call("list", vec![])),
            (
                "49-common-unknown-method.request.xml",
                Expect::Call("no_such_method", vec![]),
            ),
            (
                "50-unknown-path.request.xml",
                Expect::Call("version", vec![]),
            ),
            (
                "51-unknown-service.request.xml",
                Expect::Call("version", vec![]),
            ),
            (
                "52-legacy-endpoint-fault.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner("write", json!([[999999999], {"name": "ghost"}])),
                ),
            ),
            (
                "53-legacy-endpoint-access-denied.request.xml",
                wrong_password(),
            ),
            (
                "54-unlink-non-ascii.request.xml",
                Expect::Call("execute_kw", partner("unlink", json!([[54]]))),
            ),
            (
                "55-create-name-false.request.xml",
                Expect::Call("execute_kw", partner("create", json!([{"name": false}]))),
            ),
            (
                "56-write-date.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner("write", json!([[8], {"date": "2024-02-29"}])),
                ),
            ),
            (
                "57-read-date.request.xml",
                Expect::Call(
                    "execute_kw",
                    with_kwargs(
                        partner("read", json!([[8]])),
                        json!({"fields": ["date", "create_date", "tz"]}),
                    ),
                ),
            ),
            (
                "58-many2one-unknown-id-create.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner(
                        "create",
                        json!([{"name": "Bad M2O", "country_id": 999999999}]),
                    ),
                ),
            ),
            (
                "59-unlink-admin-user.request.xml",
                Expect::Call("execute_kw", demo("res.users", "unlink", json!([[1]]))),
            ),
            (
                "60-unlink-unknown-field-partner.request.xml",
                Expect::Call("execute_kw", partner("unlink", json!([[52]]))),
            ),
            (
                "61-write-date-false.request.xml",
                Expect::Call(
                    "execute_kw",
                    partner("write", json!([[8], {"date": false}])),
                ),
            ),
        ],
    );
}

/// The request fixtures made by CPython's `xmlrpc.client` (all but the hand-made 40-44).
#[test]
fn encode_call_matches_python_byte_for_byte_on_the_flectra_requests() {
    let names: Vec<String> = fixture_names_in(DIR, ".request.xml")
        .into_iter()
        .filter(|name| !matches!(name.get(..2), Some("40" | "41" | "42" | "43" | "44")))
        .collect();
    assert_eq!(names.len(), 56);
    for name in names {
        let bytes = fixture(&name);
        let (method, params) =
            decode_call(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        let mut out = Vec::new();
        encode_call(&mut out, &method, &params);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&bytes),
            "{name}"
        );
    }
}

/// Odoo 18's layout turned into Flectra 1.4's: plain CPython's single-quoted prolog and no
/// blank line before `</methodResponse>`, the only two layout differences.
fn flectra_layout(odoo: &[u8]) -> String {
    String::from_utf8_lossy(odoo)
        .replacen("<?xml version=\"1.0\"?>", "<?xml version='1.0'?>", 1)
        .replace("\n\n</methodResponse>", "\n</methodResponse>")
}

#[test]
fn flectra_responses_differ_from_odoo_18_in_prolog_and_layout_only() {
    let names: Vec<String> = fixture_names_in(DIR, ".response.xml")
        .into_iter()
        .filter(|name| !matches!(name.get(..3), Some("40-" | "41-" | "42-")))
        .collect();
    assert_eq!(names.len(), 58);
    for name in names {
        let bytes = fixture(&name);
        let mut out = Vec::new();
        match decode_response(&bytes) {
            Ok(Ok(value)) => encode_response(&mut out, &value),
            Ok(Err(Fault {
                code: FaultCode::Int(code),
                string,
            })) => encode_fault(&mut out, code, &string),
            Ok(Err(Fault { code, string })) => encode_fault_code(&mut out, &code, &string),
            Err(error) => panic!("{name}: {error}"),
        }
        assert_ne!(out, bytes, "{name}: Odoo 18's layout is not Flectra's");
        assert_eq!(
            flectra_layout(&out),
            String::from_utf8_lossy(&bytes),
            "{name}"
        );
    }
}

/// The recorded HTTP heads (index.json): HTTP/1.0, no `Connection` header, every connection
/// closed by the server, never gzip, HTML (not XML-RPC) for 40-42.
#[test]
fn flectra_answers_http_1_0_without_connection_header_and_closes() {
    let index: Value = serde_json::from_slice(&fixture("index.json")).expect("index.json is JSON");
    let transcripts = index["transcripts"]
        .as_array()
        .expect("a list of transcripts");
    assert_eq!(transcripts.len(), 61);
    for transcript in transcripts {
        let n = transcript["n"].as_i64().expect("a number");
        let status = transcript["status_line"].as_str().expect("a status line");
        let expected = match n {
            40 => "HTTP/1.0 404 NOT FOUND",
            41 | 42 => "HTTP/1.0 500 INTERNAL SERVER ERROR",
            _ => "HTTP/1.0 200 OK",
        };
        assert_eq!(status, expected, "#{n}");
        let headers: Vec<(String, String)> = transcript["response_headers"]
            .as_array()
            .expect("a list of headers")
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().unwrap_or_default().to_ascii_lowercase(),
                    pair[1].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(header("connection"), None, "#{n}");
        assert_eq!(header("x-content-type-options"), None, "#{n}");
        let content_type = if matches!(n, 40..=42) {
            "text/html"
        } else {
            "text/xml; charset=utf-8"
        };
        assert_eq!(header("content-type"), Some(content_type), "#{n}");
        assert_eq!(
            transcript["server_closed_connection_after"],
            json!(true),
            "#{n}"
        );
        assert_eq!(transcript["response_body_was_gzip"], json!(false), "#{n}");
    }
}

/// Each Flectra fault, as the proxy classifies it.
#[test]
fn flectra_faults_are_classified_by_what_happened() {
    let classify = |name: &str| -> OdooFault {
        match decode_response(&fixture(name)) {
            Ok(Err(fault)) => OdooFault::classify(fault),
            other => panic!("{name} is not a fault: {other:?}"),
        }
    };
    let missing = "One of the records you are trying to modify has already been deleted \
                   (Document type: Contact).";
    assert_eq!(
        classify("21-write-missing-id.response.xml"),
        OdooFault::MissingRecord(missing.into())
    );
    assert_eq!(
        classify("52-legacy-endpoint-fault.response.xml"),
        OdooFault::MissingRecord(missing.into())
    );
    assert_eq!(
        classify("27-wrong-password.response.xml"),
        OdooFault::AccessDenied
    );
    assert_eq!(
        classify("53-legacy-endpoint-access-denied.response.xml"),
        OdooFault::AccessDenied
    );
    assert_eq!(
        classify("31-access-error-create-partner.response.xml"),
        OdooFault::AccessError(
            "Sorry, you are not allowed to create this kind of document. Only users with the \
             following access level are currently allowed to do that:\n- Extra Rights/Contact \
             Creation\n\n(Document model: res.partner)"
                .into()
        )
    );
    assert_eq!(
        classify("46-private-method.response.xml"),
        OdooFault::AccessError(
            "Private methods (such as _read_group) cannot be called remotely.".into()
        )
    );
    for (name, message) in [
        (
            "32-validation-duplicate-login.response.xml",
            "You can not have two users with the same login !",
        ),
        (
            "33-validation-cyclic-parent.response.xml",
            "You cannot create recursive Partner hierarchies.",
        ),
        (
            "55-create-name-false.response.xml",
            "Contacts require a name.",
        ),
        (
            "58-many2one-unknown-id-create.response.xml",
            "The operation cannot be completed, probably due to the following:\n- deletion: you \
             may be trying to delete a record while other records still reference it\n- \
             creation/update: a mandatory field is not correctly set\n\n[object with reference: \
             Country - res.country]",
        ),
    ] {
        assert_eq!(
            classify(name),
            OdooFault::UserError(message.into()),
            "{name}"
        );
    }
    assert_eq!(
        classify("59-unlink-admin-user.response.xml"),
        OdooFault::UserError(
            "You can not remove the admin user as it is used internally for resources created \
             by Flectra (updates, module installation, ...)"
                .into()
        )
    );
    assert_eq!(
        classify("26-unknown-model.response.xml"),
        OdooFault::UnknownModel("x.no.such.model".into())
    );
    assert_eq!(
        classify("04-common-authenticate-unknown-db.response.xml"),
        OdooFault::UnknownDatabase("no_such_db".into())
    );
    assert_eq!(
        classify("45-method-returns-none.response.xml"),
        OdooFault::ReturnedNone
    );
    for (name, class) in [
        ("34-bad-domain-field.response.xml", "ValueError"),
        ("35-bad-domain-operator.response.xml", "TypeError"),
        ("47-unknown-method.response.xml", "AttributeError"),
        ("49-common-unknown-method.response.xml", "Exception"),
        ("50-unknown-path.response.xml", "UnboundLocalError"),
        ("51-unknown-service.response.xml", "UnboundLocalError"),
    ] {
        match classify(name) {
            OdooFault::ServerError { class: got, .. } => assert_eq!(got, class, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(matches!(
        classify("36-bad-order.response.xml"),
        OdooFault::UserError(message) if message.starts_with("Invalid \"order\" specified.")
    ));
}

// ---- The demo ERP's Flectra 1.4 dialect against the recordings ----

/// Sends a recorded request (its database renamed to the demo's) over a fresh connection and
/// reads the whole answer, until the server closes the connection.
async fn replay(addr: std::net::SocketAddr, method: &str, path: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = String::from_utf8_lossy(body).replace(
        "<string>flectra14</string>",
        &format!("<string>{}</string>", odoo_rest_proxy::demo::DEMO_DB),
    );
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the demo ERP");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip\r\nContent-Type: \
         text/xml\r\nUser-Agent: Python-xmlrpc/3.11\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .await
        .expect("send the request");
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server closes the connection after its answer")
    .expect("read the answer");
    String::from_utf8(answer).expect("a UTF-8 answer")
}

async fn flectra_demo() -> odoo_rest_proxy::demo::DemoErp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    odoo_rest_proxy::demo::spawn(
        listener,
        odoo_rest_proxy::demo::DemoConfig {
            // Flectra 1.4 closes every connection, whatever is asked.
            keep_alive: true,
            odoo_version: odoo_rest_proxy::demo::OdooVersion::Flectra14,
            ..Default::default()
        },
    )
    .await
    .expect("the demo ERP starts")
}

/// (status line, lower-case header names in order, body) of a raw HTTP answer.
fn split_answer(answer: &str) -> (&str, Vec<String>, &str) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let names = lines
        .map(|line| {
            line.split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .collect();
    (status, names, body)
}

#[tokio::test]
async fn the_demo_answers_byte_for_byte_as_flectra_1_4() {
    let erp = flectra_demo().await;
    let identical = [
        ("01-common-version", "/xmlrpc/2/common"),
        ("02-common-authenticate-ok", "/xmlrpc/2/common"),
        ("03-common-authenticate-bad-password", "/xmlrpc/2/common"),
        ("05-common-login", "/xmlrpc/2/common"),
        ("06-common-authenticate-demo-api", "/xmlrpc/2/common"),
        ("21-write-missing-id", "/xmlrpc/2/object"),
        ("22-unlink-missing-id", "/xmlrpc/2/object"),
        ("23-read-missing-id", "/xmlrpc/2/object"),
        ("26-unknown-model", "/xmlrpc/2/object"),
        ("27-wrong-password", "/xmlrpc/2/object"),
        ("28-access-error-unlink-users", "/xmlrpc/2/object"),
        ("29-access-error-write-ir-model", "/xmlrpc/2/object"),
        ("31-access-error-create-partner", "/xmlrpc/2/object"),
        ("36-bad-order", "/xmlrpc/2/object"),
        ("46-private-method", "/xmlrpc/2/object"),
        ("50-unknown-path", "/xmlrpc/3/object"),
        ("51-unknown-service", "/xmlrpc/2/nope"),
        ("59-unlink-admin-user", "/xmlrpc/2/object"),
    ];
    let mut failures = Vec::new();
    for (name, path) in identical {
        let request = fixture(&format!("{name}.request.xml"));
        let answer = replay(erp.addr(), "POST", path, &request).await;
        let (status, headers, body) = split_answer(&answer);
        let recorded = fixture(&format!("{name}.response.xml"));
        if status != "HTTP/1.0 200 OK" {
            failures.push(format!("{name}: {status}"));
        }
        if headers
            .iter()
            .any(|h| h == "connection" || h == "x-content-type-options")
        {
            failures.push(format!("{name}: headers {headers:?}"));
        }
        if body.as_bytes() != recorded.as_slice() {
            failures.push(format!(
                "{name}:\n{body}\n--- recorded ---\n{}",
                String::from_utf8_lossy(&recorded)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_demo_answers_with_flectra_1_4_faults_values_and_pages() {
    let erp = flectra_demo().await;
    let decoded = |answer: &str| {
        let (status, _, body) = split_answer(answer);
        assert_eq!(status, "HTTP/1.0 200 OK", "{answer}");
        decode_response(body.as_bytes()).expect("an XML-RPC answer")
    };
    let last_line = |answer: &str| match decoded(answer) {
        Err(Fault {
            code: FaultCode::Int(1),
            string,
        }) => {
            assert!(string.starts_with("Traceback (most recent call last):\n"));
            assert!(!string.contains("/opt/odoo"), "{string}");
            string
                .trim_end()
                .lines()
                .last()
                .unwrap_or_default()
                .to_owned()
        }
        other => panic!("not a fault 1: {other:?}"),
    };
    let recorded_last_line = |name: &str| match decode_response(&fixture(name)) {
        Ok(Err(Fault { string, .. })) => string.trim_end().lines().last().unwrap().to_owned(),
        other => panic!("{name}: {other:?}"),
    };
    for name in [
        "04-common-authenticate-unknown-db",
        "32-validation-duplicate-login",
        "34-bad-domain-field",
        "35-bad-domain-operator",
        "45-method-returns-none",
        "47-unknown-method",
        "49-common-unknown-method",
        "55-create-name-false",
        "58-many2one-unknown-id-create",
    ] {
        let path = if name.contains("common") {
            "/xmlrpc/2/common"
        } else {
            "/xmlrpc/2/object"
        };
        let request = fixture(&format!("{name}.request.xml"));
        let request =
            String::from_utf8_lossy(&request).replace("check_access_rule", "check_access");
        let answer = replay(erp.addr(), "POST", path, request.as_bytes()).await;
        assert_eq!(
            last_line(&answer),
            recorded_last_line(&format!("{name}.response.xml")),
            "{name}"
        );
    }
    // 48: `db.list` answers every database of the lab's PostgreSQL cluster (five names that
    // are lab state); the demo has one, and answers it as the same array of strings.
    let request = fixture("48-db-list.request.xml");
    let answer = replay(erp.addr(), "POST", "/xmlrpc/2/db", &request).await;
    assert_eq!(
        decoded(&answer),
        Ok(json!([odoo_rest_proxy::demo::DEMO_DB]))
    );

    // Unknown fields are dropped (25); ir.model is readable by a plain user (30); the
    // partner fields_get has Flectra's 57 fields (13).
    let answer = replay(
        erp.addr(),
        "POST",
        "/xmlrpc/2/object",
        &fixture("25-create-unknown-field.request.xml"),
    )
    .await;
    assert!(matches!(decoded(&answer), Ok(Value::Number(_))), "{answer}");
    let answer = replay(
        erp.addr(),
        "POST",
        "/xmlrpc/2/object",
        &fixture("30-access-error-read-ir-model.request.xml"),
    )
    .await;
    let Ok(rows) = decoded(&answer) else {
        panic!("{answer}")
    };
    assert_eq!(rows.pointer("/0/model"), Some(&json!("res.partner")));
    assert_eq!(rows.pointer("/0/rest_api"), Some(&json!(true)));
    let answer = replay(
        erp.addr(),
        "POST",
        "/xmlrpc/2/object",
        &fixture("13-fields-get.request.xml"),
    )
    .await;
    let Ok(Value::Object(fields)) = decoded(&answer) else {
        panic!("{answer}")
    };
    let Ok(Ok(Value::Object(recorded))) = decode_response(&fixture("13-fields-get.response.xml"))
    else {
        panic!("13 is a struct");
    };
    let mut names: Vec<&String> = fields.keys().collect();
    let mut recorded_names: Vec<&String> = recorded.keys().collect();
    names.sort();
    recorded_names.sort();
    assert_eq!(names, recorded_names);
    for name in [
        "name",
        "comment",
        "type",
        "date",
        "image_small",
        "country_id",
    ] {
        assert_eq!(fields[name], recorded[name], "{name}");
    }

    // A GET is Werkzeug 0.11's 404 page (40); a body that is not XML-RPC its 500 (41, 42).
    for (name, method, status) in [
        ("40-http-get-object", "GET", "HTTP/1.0 404 NOT FOUND"),
        (
            "41-malformed-xml",
            "POST",
            "HTTP/1.0 500 INTERNAL SERVER ERROR",
        ),
        (
            "42-not-xml-body",
            "POST",
            "HTTP/1.0 500 INTERNAL SERVER ERROR",
        ),
    ] {
        let request = fixture(&format!("{name}.request.xml"));
        let answer = replay(erp.addr(), method, "/xmlrpc/2/object", &request).await;
        let (got, headers, body) = split_answer(&answer);
        assert_eq!(got, status, "{name}");
        assert!(!headers.iter().any(|h| h == "connection"), "{name}");
        assert!(
            answer.contains("\r\nContent-Type: text/html\r\n"),
            "{name}: {answer}"
        );
        assert_eq!(
            body.as_bytes(),
            fixture(&format!("{name}.response.xml")).as_slice(),
            "{name}"
        );
    }
    erp.shutdown().await;
}
