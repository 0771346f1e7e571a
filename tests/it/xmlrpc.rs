//! The XML-RPC codec against the 54 real Odoo 18 transcripts (tests/fixtures/odoo18) and the
//! same 54 from a real Odoo 17 (tests/fixtures/odoo17), against CPython's `xmlrpc.client`
//! output, and under proptest.

use std::path::Path;

use odoo_rest_proxy::xmlrpc::{
    decode_call, decode_response, encode_call, encode_fault, encode_fault_code, encode_response,
    Fault, FaultCode, MAX_DEPTH,
};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::support::{arbitrary_value, mutate};

/// The recorded Odoo versions: the fixture directories.
const ODOO18: &str = "odoo18";
const ODOO17: &str = "odoo17";

fn fixture(name: &str) -> Vec<u8> {
    fixture_in("odoo18", name)
}

/// A fixture file of `tests/fixtures/<directory>/`.
pub(crate) fn fixture_in(directory: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(directory)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// What decoding an input must give.
pub(crate) enum Expect {
    /// `decode_response` gives exactly this value.
    Value(Value),
    /// `decode_response` gives a value where each JSON pointer holds the given value; a pointer
    /// ending in `/#` holds an array or struct of that many elements.
    Paths(Vec<(&'static str, Value)>),
    /// `decode_response` gives a fault with exactly this code and string.
    Fault(FaultCode, &'static str),
    /// `decode_response` gives a fault with this code whose string is a Python traceback
    /// ending with this line.
    Traceback(i64, &'static str),
    /// `decode_response` fails.
    ResponseError,
    /// `decode_call` gives this method name and params.
    Call(&'static str, Vec<Value>),
    /// `decode_call` fails.
    CallError,
}

/// The params of `object.execute_kw` as the transcripts send them.
fn execute_kw(uid: i64, password: &str, model: &str, method: &str, args: Value) -> Vec<Value> {
    execute_kw_on("rest", uid, password, model, method, args)
}

/// The params of `object.execute_kw` on database `db`.
pub(crate) fn execute_kw_on(
    db: &str,
    uid: i64,
    password: &str,
    model: &str,
    method: &str,
    args: Value,
) -> Vec<Value> {
    vec![
        json!(db),
        json!(uid),
        json!(password),
        json!(model),
        json!(method),
        args,
    ]
}

pub(crate) fn with_kwargs(mut params: Vec<Value>, kwargs: Value) -> Vec<Value> {
    params.push(kwargs);
    params
}

fn check(input: &[u8], expected: &Expect) -> Result<(), String> {
    let response = || decode_response(input).map_err(|error| format!("decode error: {error}"));
    match expected {
        Expect::Value(value) => match response()? {
            Ok(got) if &got == value => Ok(()),
            other => Err(format!("expected {value}, got {other:?}")),
        },
        Expect::Paths(paths) => {
            let got = response()?.map_err(|fault| format!("unexpected {fault:?}"))?;
            for (pointer, value) in paths {
                let found = match pointer.strip_suffix("/#") {
                    Some(container) => got.pointer(container).and_then(|found| match found {
                        Value::Array(items) => Some(json!(items.len())),
                        Value::Object(members) => Some(json!(members.len())),
                        _ => None,
                    }),
                    None => got.pointer(pointer).cloned(),
                };
                if found.as_ref() != Some(value) {
                    return Err(format!("at {pointer}: expected {value}, got {found:?}"));
                }
            }
            Ok(())
        }
        Expect::Fault(code, string) => match response()? {
            Err(Fault {
                code: got_code,
                string: got_string,
            }) if &got_code == code && got_string == *string => Ok(()),
            other => Err(format!("expected fault {code:?} {string:?}, got {other:?}")),
        },
        Expect::Traceback(code, last_line) => match response()? {
            Err(Fault {
                code: FaultCode::Int(got_code),
                string,
            }) if got_code == *code
                && string.starts_with("Traceback (most recent call last):\n")
                && string.trim_end().lines().last() == Some(*last_line) =>
            {
                Ok(())
            }
            other => Err(format!(
                "expected traceback {code} {last_line:?}, got {other:?}"
            )),
        },
        Expect::ResponseError => match decode_response(input) {
            Err(error) if error.offset <= input.len() => Ok(()),
            other => Err(format!("expected a decode error, got {other:?}")),
        },
        Expect::Call(method, params) => match decode_call(input) {
            Ok((got_method, got_params)) if got_method == *method && &got_params == params => {
                Ok(())
            }
            other => Err(format!("expected {method} {params:?}, got {other:?}")),
        },
        Expect::CallError => match decode_call(input) {
            Err(error) if error.offset <= input.len() => Ok(()),
            other => Err(format!("expected a decode error, got {other:?}")),
        },
    }
}

fn check_fixtures(table: Vec<(&str, Expect)>) {
    check_fixtures_in("odoo18", table);
}

/// Checks each fixture of `tests/fixtures/<directory>/` in `table`; reports every failure.
pub(crate) fn check_fixtures_in(directory: &str, table: Vec<(&str, Expect)>) {
    let mut failures = Vec::new();
    for (name, expected) in &table {
        if let Err(message) = check(&fixture_in(directory, name), expected) {
            failures.push(format!("{name}: {message}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check_inline(table: Vec<(&str, Expect)>) {
    let mut failures = Vec::new();
    for (input, expected) in &table {
        if let Err(message) = check(input.as_bytes(), expected) {
            failures.push(format!("{input:?}: {message}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const RECORD_GONE: &str =
    "Record does not exist or has been deleted.\n(Record: res.partner(999999999,), User: 2)";

fn access_error(verb: &str, model: &str, group: &str) -> String {
    format!(
        "You are not allowed to {verb} {model} records.\n\nThis operation is allowed for the \
         following groups:\n\t- {group}\n\nContact your administrator to request access if \
         necessary."
    )
}

#[test]
fn every_response_fixture_decodes_to_its_recorded_values() {
    check_fixtures(odoo18_responses());
}

/// Odoo 17 answers the same 54 calls with the same values, apart from what its README and
/// `compare-17-vs-18.txt` list: the version, the ids, dates and counts of its own database
/// (Azure Interior is 14, not 15), 14 more partner fields, `check_access` (new in 18) and its
/// database list. Faults, texts and types are the same.
#[test]
fn every_odoo17_response_fixture_decodes_to_its_recorded_values() {
    let mut table = odoo18_responses();
    let differences: Vec<(&str, Expect)> = vec![
        (
            "01-common-version.response.xml",
            Expect::Value(json!({
                "server_version": "17.0-20240709",
                "server_version_info": [17, 0, 0, "final", 0, ""],
                "server_serie": "17.0",
                "protocol_version": 1
            })),
        ),
        (
            "07-search-read-name-desc.response.xml",
            Expect::Value(json!([
                {"id": 1, "name": "YourCompany", "email": "info@yourcompany.com"},
                {"id": 9, "name": "Wood Corner", "email": "wood.corner26@example.com"},
                {"id": 16, "name": "Willie Burke", "email": "willie.burke80@example.com"}
            ])),
        ),
        (
            "08-search-read-ilike-offset.response.xml",
            Expect::Value(json!([
                {"id": 13, "name": "The Jackson Group"},
                {"id": 14, "name": "Azure Interior"},
                {"id": 18, "name": "Douglas Fletcher"},
                {"id": 19, "name": "Floyd Steward"}
            ])),
        ),
        (
            "09-search-read-one-id.response.xml",
            Expect::Value(json!([{
                "id": 14, "name": "Azure Interior",
                "email": "azure.Interior24@example.com", "is_company": true
            }])),
        ),
        (
            "10-read.response.xml",
            Expect::Value(json!([
                {"id": 14, "name": "Azure Interior",
                 "email": "azure.Interior24@example.com", "parent_id": false},
                {"id": 26, "name": "Brandon Freeman",
                 "email": "brandon.freeman55@example.com", "parent_id": [14, "Azure Interior"]}
            ])),
        ),
        ("12-search-count.response.xml", Expect::Value(json!(8))),
        (
            "13-fields-get.response.xml",
            Expect::Paths(vec![
                ("/#", json!(108)),
                (
                    "/name",
                    json!({"readonly": false, "required": false, "string": "Name",
                                 "type": "char"}),
                ),
                ("/country_id/relation", json!("res.country")),
                ("/partner_gid/type", json!("integer")),
                ("/signup_token/type", json!("char")),
            ]),
        ),
        (
            "16-search-read-date-float.response.xml",
            Expect::Value(json!([{"id": 126, "name": "2010-01-01", "rate": 1.2834,
                "company_rate": 1.2834, "currency_id": [126, "EUR"],
                "company_id": [1, "YourCompany"]}])),
        ),
        (
            "14-search-read-rich-types.response.xml",
            Expect::Paths(vec![
                ("/#", json!(3)),
                ("/0/#", json!(18)),
                ("/0/id", json!(14)),
                ("/0/name", json!("Azure Interior")),
                ("/0/country_id", json!([233, "United States"])),
                ("/0/category_id", json!([5])),
                ("/0/child_ids", json!([26, 33, 27])),
                ("/0/create_date", json!("2026-12-01 21:49:09")),
                ("/0/write_date", json!("2026-12-01 21:49:29")),
                ("/0/partner_latitude", json!(0.0)),
                ("/0/is_company", json!(true)),
                ("/0/function", json!(false)),
                ("/1/id", json!(22)),
                ("/1/parent_id", json!([11, "Gemini Furniture"])),
                ("/1/company_id", json!([1, "YourCompany"])),
                ("/1/function", json!("Senior Consultant")),
                ("/2/id", json!(26)),
                ("/2/parent_id", json!([14, "Azure Interior"])),
                ("/2/function", json!("Creative Director")),
            ]),
        ),
        (
            "15-search-read-context-tz.response.xml",
            Expect::Value(json!([{"id": 14, "create_date": "2026-12-01 21:49:09",
                                  "write_date": "2026-12-01 21:49:29"}])),
        ),
        ("17-create.response.xml", Expect::Value(json!(42))),
        (
            "37-ir-model-x-rest-api.response.xml",
            Expect::Value(json!([{"id": 85, "model": "res.partner", "name": "Contact",
                                  "x_rest_api": true}])),
        ),
        (
            "19-read-after-write.response.xml",
            Expect::Value(json!([{"id": 42, "name": "Wire Test Partner",
                "email": "wire.changed@example.com", "phone": "+1 555 0100",
                "website": "https://example.com"}])),
        ),
        (
            "39-read-non-ascii.response.xml",
            Expect::Value(json!([{"id": 44, "name": "Zoë Ünïcødé 東京 🚀",
                "display_name": "Zoë Ünïcødé 東京 🚀",
                "comment": "<p>ça &amp; <b>gras</b></p>"}])),
        ),
        (
            "43-request-with-nil.response.xml",
            Expect::Value(json!([{"id": 14, "name": "Azure Interior"}])),
        ),
        (
            "44-request-i4-i8-bare-strings.response.xml",
            Expect::Value(json!([{"id": 14, "name": "Azure Interior"}])),
        ),
        ("38-create-non-ascii.response.xml", Expect::Value(json!(44))),
        (
            "45-method-returns-none.response.xml",
            Expect::Traceback(
                1,
                "AttributeError: The method 'check_access' does not exist on the model \
                 'res.partner'",
            ),
        ),
        (
            "48-db-list.response.xml",
            Expect::Value(json!(["rest", "rest17", "rest19"])),
        ),
    ];
    for (name, expected) in differences {
        let entry = table
            .iter_mut()
            .find(|(known, _)| *known == name)
            .expect("every difference is of a known transcript");
        entry.1 = expected;
    }
    assert_eq!(table.len(), 54);
    check_fixtures_in(ODOO17, table);
}

/// What each recorded Odoo 18 answer decodes to.
fn odoo18_responses() -> Vec<(&'static str, Expect)> {
    let leaked = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
    vec![
        (
            "01-common-version.response.xml",
            Expect::Value(json!({
                "server_version": "18.0",
                "server_version_info": [18, 0, 0, "final", 0, ""],
                "server_serie": "18.0",
                "protocol_version": 1
            })),
        ),
        ("02-common-authenticate-ok.response.xml", Expect::Value(json!(2))),
        ("03-common-authenticate-bad-password.response.xml", Expect::Value(json!(false))),
        (
            "04-common-authenticate-unknown-db.response.xml",
            Expect::Traceback(
                1,
                "psycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 \
                 failed: FATAL:  database \"no_such_db\" does not exist",
            ),
        ),
        ("05-common-login.response.xml", Expect::Value(json!(2))),
        ("06-common-authenticate-demo-api.response.xml", Expect::Value(json!(8))),
        (
            "07-search-read-name-desc.response.xml",
            Expect::Value(json!([
                {"id": 1, "name": "YourCompany", "email": "info@yourcompany.com"},
                {"id": 9, "name": "Wood Corner", "email": "wood.corner26@example.com"},
                {"id": 17, "name": "Willie Burke", "email": "willie.burke80@example.com"}
            ])),
        ),
        (
            "08-search-read-ilike-offset.response.xml",
            Expect::Value(json!([
                {"id": 14, "name": "The Jackson Group"},
                {"id": 15, "name": "Azure Interior"},
                {"id": 19, "name": "Douglas Fletcher"},
                {"id": 20, "name": "Floyd Steward"}
            ])),
        ),
        (
            "09-search-read-one-id.response.xml",
            Expect::Value(json!([{
                "id": 15, "name": "Azure Interior",
                "email": "azure.Interior24@example.com", "is_company": true
            }])),
        ),
        (
            "10-read.response.xml",
            Expect::Value(json!([
                {"id": 15, "name": "Azure Interior",
                 "email": "azure.Interior24@example.com", "parent_id": false},
                {"id": 27, "name": "Brandon Freeman",
                 "email": "brandon.freeman55@example.com", "parent_id": [15, "Azure Interior"]}
            ])),
        ),
        ("11-search.response.xml", Expect::Value(json!([1, 9, 10, 11, 12]))),
        ("12-search-count.response.xml", Expect::Value(json!(9))),
        (
            "13-fields-get.response.xml",
            Expect::Paths(vec![
                ("/#", json!(94)),
                ("/name", json!({"readonly": false, "required": false, "string": "Name",
                                 "type": "char"})),
                ("/country_id/relation", json!("res.country")),
                ("/country_id/type", json!("many2one")),
                ("/child_ids/type", json!("one2many")),
                ("/type/selection", json!([["contact", "Contact"],
                    ["invoice", "Invoice Address"], ["delivery", "Delivery Address"],
                    ["other", "Other Address"]])),
                ("/image_128/readonly", json!(true)),
                ("/partner_latitude/type", json!("float")),
            ]),
        ),
        (
            "14-search-read-rich-types.response.xml",
            Expect::Paths(vec![
                ("/#", json!(3)),
                ("/0/#", json!(18)),
                ("/0/id", json!(15)),
                ("/0/name", json!("Azure Interior")),
                ("/0/parent_id", json!(false)),
                ("/0/country_id", json!([233, "United States"])),
                ("/0/company_id", json!(false)),
                ("/0/category_id", json!([5])),
                ("/0/child_ids", json!([27, 34, 28])),
                ("/0/create_date", json!("2026-11-30 02:46:50")),
                ("/0/write_date", json!("2026-11-30 02:50:19")),
                ("/0/partner_latitude", json!(0.0)),
                ("/0/color", json!(0)),
                ("/0/is_company", json!(true)),
                ("/0/active", json!(true)),
                ("/0/function", json!(false)),
                ("/0/mobile", json!(false)),
                ("/0/comment", json!(false)),
                ("/0/type", json!("contact")),
                ("/1/id", json!(23)),
                ("/1/parent_id", json!([11, "Gemini Furniture"])),
                ("/1/company_id", json!([1, "YourCompany"])),
                ("/1/category_id", json!([])),
                ("/1/child_ids", json!([])),
                ("/1/function", json!("Senior Consultant")),
                ("/2/id", json!(27)),
                ("/2/parent_id", json!([15, "Azure Interior"])),
                ("/2/function", json!("Creative Director")),
            ]),
        ),
        (
            "15-search-read-context-tz.response.xml",
            Expect::Value(json!([{"id": 15, "create_date": "2026-11-30 02:46:50",
                                  "write_date": "2026-11-30 02:50:19"}])),
        ),
        (
            "16-search-read-date-float.response.xml",
            Expect::Value(json!([{"id": 125, "name": "2010-01-01", "rate": 1.2834,
                "company_rate": 1.2834, "currency_id": [125, "EUR"],
                "company_id": [1, "YourCompany"]}])),
        ),
        ("17-create.response.xml", Expect::Value(json!(51))),
        ("18-write.response.xml", Expect::Value(json!(true))),
        (
            "19-read-after-write.response.xml",
            Expect::Value(json!([{"id": 51, "name": "Wire Test Partner",
                "email": "wire.changed@example.com", "phone": "+1 555 0100",
                "website": "https://example.com"}])),
        ),
        ("20-unlink.response.xml", Expect::Value(json!(true))),
        (
            "21-write-missing-id.response.xml",
            Expect::Fault(FaultCode::Int(2), RECORD_GONE),
        ),
        (
            "22-unlink-missing-id.response.xml",
            Expect::Fault(FaultCode::Int(2), RECORD_GONE),
        ),
        ("23-read-missing-id.response.xml", Expect::Value(json!([]))),
        ("24-read-deleted-id.response.xml", Expect::Value(json!([]))),
        (
            "25-create-unknown-field.response.xml",
            Expect::Traceback(1, "ValueError: Invalid field 'no_such_field' on model 'res.partner'"),
        ),
        (
            "26-unknown-model.response.xml",
            Expect::Fault(FaultCode::Int(2), "Object x.no.such.model doesn't exist"),
        ),
        ("27-wrong-password.response.xml", Expect::Fault(FaultCode::Int(3), "Access Denied")),
        (
            "28-access-error-unlink-users.response.xml",
            Expect::Fault(
                FaultCode::Int(4),
                leaked(access_error("delete", "'User' (res.users)", "Administration/Access Rights")),
            ),
        ),
        (
            "29-access-error-write-ir-model.response.xml",
            Expect::Fault(
                FaultCode::Int(4),
                leaked(access_error("modify", "'Models' (ir.model)", "Administration/Access Rights")),
            ),
        ),
        (
            "30-access-error-read-ir-model.response.xml",
            Expect::Fault(
                FaultCode::Int(4),
                leaked(access_error("access", "'Models' (ir.model)", "Administration/Access Rights")),
            ),
        ),
        (
            "31-access-error-create-partner.response.xml",
            Expect::Fault(
                FaultCode::Int(4),
                leaked(access_error(
                    "create",
                    "'Contact' (res.partner)",
                    "Extra Rights/Contact Creation",
                )),
            ),
        ),
        (
            "32-validation-duplicate-login.response.xml",
            Expect::Fault(
                FaultCode::Int(2),
                "The operation cannot be completed: You can not have two users with the same login!",
            ),
        ),
        (
            "33-validation-cyclic-parent.response.xml",
            Expect::Fault(FaultCode::Int(2), "You cannot create recursive Partner hierarchies."),
        ),
        (
            "34-bad-domain-field.response.xml",
            Expect::Traceback(
                1,
                "ValueError: Invalid field res.partner.nonexistent_field in leaf \
                 ('nonexistent_field', '=', 1)",
            ),
        ),
        (
            "35-bad-domain-operator.response.xml",
            Expect::Traceback(1, "ValueError: Invalid leaf ('name', 'no_such_op', 1)"),
        ),
        (
            "36-bad-order.response.xml",
            Expect::Fault(
                FaultCode::Int(2),
                "Invalid \"order\" specified (name; drop table). A valid \"order\" specification \
                 is a comma-separated list of valid field names (optionally followed by asc/desc \
                 for the direction)",
            ),
        ),
        (
            "37-ir-model-x-rest-api.response.xml",
            Expect::Value(json!([{"id": 87, "model": "res.partner", "name": "Contact",
                                  "x_rest_api": true}])),
        ),
        ("38-create-non-ascii.response.xml", Expect::Value(json!(53))),
        (
            "39-read-non-ascii.response.xml",
            Expect::Value(json!([{"id": 53, "name": "Zoë Ünïcødé 東京 🚀",
                "display_name": "Zoë Ünïcødé 東京 🚀",
                "comment": "<p>ça &amp; <b>gras</b></p>"}])),
        ),
        ("40-http-get-object.response.xml", Expect::ResponseError),
        (
            "41-malformed-xml.response.xml",
            Expect::Traceback(
                1,
                "xml.parsers.expat.ExpatError: no element found: line 3, column 0",
            ),
        ),
        (
            "42-not-xml-body.response.xml",
            Expect::Traceback(1, "xml.parsers.expat.ExpatError: syntax error: line 1, column 0"),
        ),
        (
            "43-request-with-nil.response.xml",
            Expect::Value(json!([{"id": 15, "name": "Azure Interior"}])),
        ),
        (
            "44-request-i4-i8-bare-strings.response.xml",
            Expect::Value(json!([{"id": 15, "name": "Azure Interior"}])),
        ),
        (
            "45-method-returns-none.response.xml",
            Expect::Traceback(1, "TypeError: cannot marshal None unless allow_none is enabled"),
        ),
        (
            "46-private-method.response.xml",
            Expect::Fault(
                FaultCode::Int(4),
                "Private methods (such as _read_group) cannot be called remotely.",
            ),
        ),
        (
            "47-unknown-method.response.xml",
            Expect::Traceback(
                1,
                "AttributeError: The method 'no_such_method' does not exist on the model \
                 'res.partner'",
            ),
        ),
        ("48-db-list.response.xml", Expect::Value(json!(["rest"]))),
        (
            "49-common-unknown-method.response.xml",
            Expect::Traceback(1, "Exception: Method not found: no_such_method"),
        ),
        ("50-unknown-path.response.xml", Expect::ResponseError),
        ("51-unknown-service.response.xml", Expect::Traceback(1, "KeyError: 'nope'")),
        (
            "52-legacy-endpoint-fault.response.xml",
            Expect::Fault(
                FaultCode::Text(format!("warning -- MissingError\n\n{RECORD_GONE}")),
                "",
            ),
        ),
        (
            "53-legacy-endpoint-access-denied.response.xml",
            Expect::Fault(FaultCode::Text("AccessDenied".to_owned()), "Access Denied"),
        ),
        ("54-unlink-non-ascii.response.xml", Expect::Value(json!(true))),
    ]
}

#[test]
fn fixture_14_keeps_the_base64_images_whole() {
    let name = "14-search-read-rich-types.response.xml";
    let Ok(Ok(rows)) = decode_response(&fixture(name)) else {
        panic!("{name} does not decode to a value");
    };
    let images: Vec<(usize, &str, &str)> = (0..3)
        .filter_map(|row| rows.pointer(&format!("/{row}/image_128"))?.as_str())
        .map(|image| {
            (
                image.len(),
                image.get(..20).unwrap_or(""),
                image.get(image.len() - 10..).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        images,
        vec![
            (1952, "iVBORw0KGgoAAAANSUhE", "lFTkSuQmCC"),
            (7488, "/9j/4AAQSkZJRgABAQEA", "15kPPif//Z"),
            (6084, "/9j/4AAQSkZJRgABAQEA", "zPetr2n//Z"),
        ]
    );
    // Members keep their wire order: `id` first, then the requested fields.
    let keys: Vec<&str> = rows[0]
        .as_object()
        .map_or(vec![], |row| row.keys().map(String::as_str).collect());
    assert_eq!(keys.first(), Some(&"id"));
    assert_eq!(keys.last(), Some(&"image_128"));
}

#[test]
fn every_request_fixture_decodes_with_decode_call() {
    let admin = |model, method, args| execute_kw(2, "admin", model, method, args);
    let partner = |method, args| admin("res.partner", method, args);
    let demo = |model, method, args| execute_kw(8, "demo_api", model, method, args);
    check_fixtures(vec![
        (
            "01-common-version.request.xml",
            Expect::Call("version", vec![]),
        ),
        (
            "02-common-authenticate-ok.request.xml",
            Expect::Call(
                "authenticate",
                vec![json!("rest"), json!("admin"), json!("admin"), json!({})],
            ),
        ),
        (
            "03-common-authenticate-bad-password.request.xml",
            Expect::Call(
                "authenticate",
                vec![
                    json!("rest"),
                    json!("admin"),
                    json!("wrong-password"),
                    json!({}),
                ],
            ),
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
            Expect::Call("login", vec![json!("rest"), json!("admin"), json!("admin")]),
        ),
        (
            "06-common-authenticate-demo-api.request.xml",
            Expect::Call(
                "authenticate",
                vec![
                    json!("rest"),
                    json!("demo_api"),
                    json!("demo_api"),
                    json!({}),
                ],
            ),
        ),
        (
            "07-search-read-name-desc.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[]])),
                    json!({"fields": ["name", "email"], "limit": 3, "order": "name desc"}),
                ),
            ),
        ),
        (
            "08-search-read-ilike-offset.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[["name", "ilike", "a"]]])),
                    json!({"fields": ["name"], "offset": 5, "limit": 4, "order": "id"}),
                ),
            ),
        ),
        (
            "09-search-read-one-id.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[["id", "=", 15]]])),
                    json!({"fields": ["name", "email", "is_company"]}),
                ),
            ),
        ),
        (
            "10-read.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("read", json!([[15, 27]])),
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
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[["id", "in", [15, 27, 23]]]])),
                    json!({"fields": ["name", "parent_id", "country_id", "company_id", "category_id",
                    "child_ids", "create_date", "write_date", "partner_latitude", "color",
                    "is_company", "active", "function", "mobile", "comment", "type", "image_128"],
                    "order": "id"}),
                ),
            ),
        ),
        (
            "15-search-read-context-tz.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[["id", "=", 15]]])),
                    json!({"fields": ["create_date", "write_date"],
                       "context": {"tz": "Asia/Tokyo", "lang": "en_US"}}),
                ),
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
                    json!({"fields": ["name", "rate", "company_rate", "currency_id", "company_id"],
                       "limit": 2, "order": "name desc"}),
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
                "email": "wire.test@example.com", "website": "https://example.com"}]),
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
                {"email": "wire.changed@example.com", "phone": "+1 555 0100"}]),
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
        (
            "27-wrong-password.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    execute_kw(
                        2,
                        "wrong-password",
                        "res.partner",
                        "search_read",
                        json!([[]]),
                    ),
                    json!({"limit": 1}),
                ),
            ),
        ),
        (
            "28-access-error-unlink-users.request.xml",
            Expect::Call("execute_kw", demo("res.users", "unlink", json!([[2]]))),
        ),
        (
            "29-access-error-write-ir-model.request.xml",
            Expect::Call(
                "execute_kw",
                demo("ir.model", "write", json!([[1], {"x_rest_api": true}])),
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
                    json!({"fields": ["model", "x_rest_api"]}),
                ),
            ),
        ),
        (
            "31-access-error-create-partner.request.xml",
            Expect::Call(
                "execute_kw",
                demo("res.partner", "create", json!([{"name": "not allowed"}])),
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
                partner("write", json!([[15], {"parent_id": 27}])),
            ),
        ),
        (
            "34-bad-domain-field.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[["nonexistent_field", "=", 1]]])),
                    json!({"fields": ["name"]}),
                ),
            ),
        ),
        (
            "35-bad-domain-operator.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[["name", "no_such_op", 1]]])),
                    json!({"fields": ["name"]}),
                ),
            ),
        ),
        (
            "36-bad-order.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[]])),
                    json!({"fields": ["name"], "order": "name; drop table"}),
                ),
            ),
        ),
        (
            "37-ir-model-x-rest-api.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    admin(
                        "ir.model",
                        "search_read",
                        json!([[["model", "=", "res.partner"]]]),
                    ),
                    json!({"fields": ["model", "name", "x_rest_api"]}),
                ),
            ),
        ),
        (
            "38-create-non-ascii.request.xml",
            Expect::Call(
                "execute_kw",
                partner(
                    "create",
                    json!([{"name": "Zoë Ünïcødé 東京 🚀",
                "comment": "<p>ça & <b>gras</b></p>"}]),
                ),
            ),
        ),
        (
            "39-read-non-ascii.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("read", json!([[53]])),
                    json!({"fields": ["name", "display_name", "comment"]}),
                ),
            ),
        ),
        ("40-http-get-object.request.xml", Expect::CallError),
        ("41-malformed-xml.request.xml", Expect::CallError),
        ("42-not-xml-body.request.xml", Expect::CallError),
        (
            "43-request-with-nil.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    partner("search_read", json!([[["id", "=", 15]]])),
                    json!({"fields": ["name"], "limit": null}),
                ),
            ),
        ),
        (
            "44-request-i4-i8-bare-strings.request.xml",
            Expect::Call(
                "execute_kw",
                with_kwargs(partner("read", json!([[15]])), json!({"fields": ["name"]})),
            ),
        ),
        (
            "45-method-returns-none.request.xml",
            Expect::Call("execute_kw", partner("check_access", json!([[15], "read"]))),
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
            Expect::Call(
                "execute_kw",
                with_kwargs(
                    execute_kw(
                        2,
                        "wrong-password",
                        "res.partner",
                        "search_read",
                        json!([[]]),
                    ),
                    json!({"limit": 1}),
                ),
            ),
        ),
        (
            "54-unlink-non-ascii.request.xml",
            Expect::Call("execute_kw", partner("unlink", json!([[53]]))),
        ),
    ]);
}

/// The request fixtures made by CPython's `xmlrpc.client` (all but the hand-made 40-44).
fn python_made_requests(version: &str) -> Vec<String> {
    fixture_names_in(version, ".request.xml")
        .into_iter()
        .filter(|name| !matches!(name.get(..2), Some("40" | "41" | "42" | "43" | "44")))
        .collect()
}

fn fixture_names(suffix: &str) -> Vec<String> {
    fixture_names_in("odoo18", suffix)
}

/// The sorted names of the files of `tests/fixtures/<directory>/` ending in `suffix`.
pub(crate) fn fixture_names_in(directory: &str, suffix: &str) -> Vec<String> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(directory);
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .expect("the fixture directory is readable")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(suffix))
        .collect();
    names.sort();
    names
}

#[test]
fn encode_call_matches_python_byte_for_byte_on_requests_01_to_39_and_45_to_54() {
    for version in [ODOO18, ODOO17] {
        let names = python_made_requests(version);
        assert_eq!(names.len(), 49, "{version}");
        for name in names {
            let bytes = fixture_in(version, &name);
            let (method, params) =
                decode_call(&bytes).unwrap_or_else(|error| panic!("{version} {name}: {error}"));
            let mut out = Vec::new();
            encode_call(&mut out, &method, &params);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&bytes),
                "{version} {name}"
            );
        }
    }
}

/// Our answer re-encoded as `version` writes it: Odoo 18's prolog and trailer as they are,
/// Odoo 17's with single quotes in the prolog and no blank line before the last tag.
fn as_written_by(version: &str, ours: Vec<u8>) -> String {
    let text = String::from_utf8(ours).expect("the encoder writes UTF-8");
    match version {
        ODOO17 => text
            .replacen("<?xml version=\"1.0\"?>", "<?xml version='1.0'?>", 1)
            .replace("\n\n</methodResponse>", "\n</methodResponse>"),
        _ => text,
    }
}

#[test]
fn encode_response_and_fault_match_odoo_byte_for_byte_on_every_xml_response() {
    for version in [ODOO18, ODOO17] {
        let names: Vec<String> = fixture_names_in(version, ".response.xml")
            .into_iter()
            .filter(|name| !name.starts_with("40-") && !name.starts_with("50-"))
            .collect();
        assert_eq!(names.len(), 52, "{version}");
        for name in names {
            let bytes = fixture_in(version, &name);
            let mut out = Vec::new();
            match decode_response(&bytes) {
                Ok(Ok(value)) => encode_response(&mut out, &value),
                Ok(Err(Fault {
                    code: FaultCode::Int(code),
                    string,
                })) => encode_fault(&mut out, code, &string),
                Ok(Err(Fault { code, string })) => encode_fault_code(&mut out, &code, &string),
                Err(error) => panic!("{version} {name}: {error}"),
            }
            assert_eq!(
                as_written_by(version, out),
                String::from_utf8_lossy(&bytes),
                "{version} {name}"
            );
        }
    }
}

#[test]
fn odoo17_writes_its_own_prolog_and_trailer() {
    for name in fixture_names_in(ODOO17, ".response.xml") {
        let text = String::from_utf8(fixture_in(ODOO17, &name)).expect("UTF-8");
        if name.starts_with("40-") || name.starts_with("50-") {
            assert!(text.starts_with("<!doctype html>"), "{name}");
            continue;
        }
        assert!(text.starts_with("<?xml version='1.0'?>\n"), "{name}");
        assert!(text.ends_with("\n</methodResponse>\n"), "{name}");
        assert!(!text.contains("\n\n</methodResponse>"), "{name}");
        let eighteen = String::from_utf8(fixture(&name)).expect("UTF-8");
        assert!(eighteen.starts_with("<?xml version=\"1.0\"?>\n"), "{name}");
        assert!(eighteen.ends_with("\n\n</methodResponse>\n"), "{name}");
    }
}

fn response(value_xml: &str) -> String {
    format!("<methodResponse><params><param><value>{value_xml}</value></param></params></methodResponse>")
}

#[test]
fn decoding_accepts_what_python_accepts() {
    let cases: Vec<(String, Expect)> = vec![
        (response("<int>7</int>"), Expect::Value(json!(7))),
        (response("<i1>-7</i1>"), Expect::Value(json!(-7))),
        (response("<i2>300</i2>"), Expect::Value(json!(300))),
        (response("<i4> +42 </i4>"), Expect::Value(json!(42))),
        (response("<i8>1_000_000</i8>"), Expect::Value(json!(1_000_000))),
        (response("<biginteger>-9223372036854775808</biginteger>"), Expect::Value(json!(i64::MIN))),
        (response("<i8>9223372036854775807</i8>"), Expect::Value(json!(i64::MAX))),
        (response("<i8>18446744073709551615</i8>"), Expect::Value(json!(u64::MAX))),
        (response("<i8>18446744073709551616</i8>"), Expect::ResponseError),
        (response("<i8>-9223372036854775809</i8>"), Expect::ResponseError),
        (response("<int>1__0</int>"), Expect::ResponseError),
        (response("<int></int>"), Expect::ResponseError),
        (response("<int>0x10</int>"), Expect::ResponseError),
        (response("<boolean>1</boolean>"), Expect::Value(json!(true))),
        (response("<boolean>0</boolean>"), Expect::Value(json!(false))),
        (response("<boolean>true</boolean>"), Expect::ResponseError),
        (response("<double>1.2834</double>"), Expect::Value(json!(1.2834))),
        (response("<double> -1e-05 </double>"), Expect::Value(json!(-1e-05))),
        (response("<float>2.5</float>"), Expect::Value(json!(2.5))),
        (response("<bigdecimal>10.25</bigdecimal>"), Expect::Value(json!(10.25))),
        (response("<double>inf</double>"), Expect::ResponseError),
        (response("<double>nan</double>"), Expect::ResponseError),
        (response("<string>plain</string>"), Expect::Value(json!("plain"))),
        (response("<string/>"), Expect::Value(json!(""))),
        (response("untyped text"), Expect::Value(json!("untyped text"))),
        (response(""), Expect::Value(json!(""))),
        (response("  spaced  "), Expect::Value(json!("  spaced  "))),
        (response("\n<int>3</int>\n"), Expect::Value(json!(3))),
        (response("<nil/>"), Expect::Value(json!(null))),
        (response("<nil></nil>"), Expect::Value(json!(null))),
        (response("<ex:nil xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\"/>"),
         Expect::Value(json!(null))),
        (response("<dateTime.iso8601>20261130T02:46:50</dateTime.iso8601>"),
         Expect::Value(json!("20261130T02:46:50"))),
        (response("<base64>aGVsbG8=</base64>"), Expect::Value(json!("aGVsbG8="))),
        (response("<string>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</string>"),
         Expect::Value(json!("a & b <c> \"d\" 'e'"))),
        (response("<string>&#233;&#xE9;&#x1F680;&#0065;</string>"), Expect::Value(json!("éé🚀A"))),
        (response("<string><![CDATA[<b>&amp;</b>]]> tail</string>"),
         Expect::Value(json!("<b>&amp;</b> tail"))),
        (response("<string>a<!-- note -->b<?pi x?>c</string>"), Expect::Value(json!("abc"))),
        (response("<string>one\r\ntwo\rthree</string>"), Expect::Value(json!("one\ntwo\nthree"))),
        (response("<string>a&#13;b</string>"), Expect::Value(json!("a\rb"))),
        (response("<string>&nbsp;</string>"), Expect::ResponseError),
        (response("<string>&#0;</string>"), Expect::ResponseError),
        (response("<string>&#xD800;</string>"), Expect::ResponseError),
        (response("<string>a & b</string>"), Expect::ResponseError),
        (response("<array><data></data></array>"), Expect::Value(json!([]))),
        (response("<array><data/></array>"), Expect::Value(json!([]))),
        (response("<array/>"), Expect::Value(json!([]))),
        (response("<array><value><int>1</int></value><value>x</value></array>"),
         Expect::Value(json!([1, "x"]))),
        (response("<struct></struct>"), Expect::Value(json!({}))),
        (response("<struct><member><name>a</name><value><int>1</int></value></member>\
                   <member><name>b</name><value/></member>\
                   <member><name>a</name><value><int>2</int></value></member></struct>"),
         Expect::Value(json!({"a": 2, "b": ""}))),
        (response("<struct><member><value><int>1</int></value></member></struct>"),
         Expect::ResponseError),
        (response("a&amp;b<!-- c -->d"), Expect::Value(json!("a&bd"))),
        (response("<string>a<![CDATA[b\r\nc]]>&#13;</string>"), Expect::Value(json!("ab\nc\r"))),
        (response("<array><data><value>1</value></data><data></data></array>"),
         Expect::ResponseError),
        (response("<struct><member><name>a</name></member></struct>"), Expect::ResponseError),
        (response("<unknown>1</unknown>"), Expect::ResponseError),
        (response("text<int>1</int>"), Expect::ResponseError),
        (response("<int>1</int2>"), Expect::ResponseError),
        (response("<int>1</int2 >"), Expect::ResponseError),
        // Plain markup is read straight from the bytes and the rest by quick-xml, switching
        // back and forth: every switch keeps the value, and end tags are checked either side.
        (response("<array><data><value>a &amp; b</value><value><![CDATA[x<y]]></value>\
                   <!-- c --><value ><int>1</int ></value><value><i4 a=\"&gt;\">2</i4></value>\
                   <value>\u{feff}&#65;\u{feff}</value><value>plain</value></data></array>"),
         Expect::Value(json!(["a & b", "x<y", 1, 2, "\u{feff}A\u{feff}", "plain"]))),
        (response("<array><data><value>&amp;</value><value><int>1</i4></value></data></array>"),
         Expect::ResponseError),
        (response("<array><data><value><string>&amp;</string ></valu></data></array>"),
         Expect::ResponseError),
        (response("<struct><member><name>a</name><value>1</value></member></structs>"),
         Expect::ResponseError),
        (
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- hi -->\n<!DOCTYPE methodResponse>\n\
             <methodResponse >\n  <params>\n    <param>\n      <value>\n        <string\n>x</string >\n\
             </value>\n    </param>\n  </params>\n</methodResponse>\n<!-- bye -->\n"
                .to_owned(),
            Expect::Value(json!("x")),
        ),
        (
            "<?xml version='1.0' encoding='us-ascii'?><methodResponse><params><param>\
             <value><int>5</int></value></param></params></methodResponse>"
                .to_owned(),
            Expect::Value(json!(5)),
        ),
        (
            "<?xml version='1.0' encoding='utf-16'?><methodResponse/>".to_owned(),
            Expect::ResponseError,
        ),
        (
            "<methodResponse><fault><value><struct><member><name>faultString</name>\
             <value>reversed</value></member><member><name>faultCode</name><value><i4>7</i4>\
             </value></member></struct></value></fault></methodResponse>"
                .to_owned(),
            Expect::Fault(FaultCode::Int(7), "reversed"),
        ),
        (
            "<methodResponse><fault><value><struct><member><name>faultCode</name>\
             <value><int>7</int></value></member></struct></value></fault></methodResponse>"
                .to_owned(),
            Expect::ResponseError,
        ),
        (
            "<methodResponse><params></params></methodResponse>".to_owned(),
            Expect::ResponseError,
        ),
        (
            "<methodResponse><params><param><value>1</value></param><param><value>2</value>\
             </param></params></methodResponse>"
                .to_owned(),
            Expect::ResponseError,
        ),
        (
            format!(" <?xml version='1.0'?>{}", response("<int>1</int>")),
            Expect::ResponseError,
        ),
        (
            format!("<!DOCTYPE methodResponse [<!ENTITY x 'y'>]>{}", response("&x;")),
            Expect::ResponseError,
        ),
        (format!("{}junk", response("<int>1</int>")), Expect::ResponseError),
        (response("<int>1</int>").replace("</methodResponse>", ""), Expect::ResponseError),
        ("".to_owned(), Expect::ResponseError),
        ("<methodCall/>".to_owned(), Expect::ResponseError),
        (
            "<methodCall><methodName>ping</methodName></methodCall>".to_owned(),
            Expect::Call("ping", vec![]),
        ),
        (
            "<methodCall><methodName>a&amp;b</methodName><params/></methodCall>".to_owned(),
            Expect::Call("a&b", vec![]),
        ),
        (
            "<methodCall><methodName>x</methodName><params><param><value><i4>1</i4></value>\
             </param><param><value>two</value></param></params></methodCall>"
                .to_owned(),
            Expect::Call("x", vec![json!(1), json!("two")]),
        ),
        (response("<int>1</int>"), Expect::CallError),
    ];
    let table: Vec<(&str, Expect)> = cases
        .into_iter()
        .map(|(input, expected)| (&*Box::leak(input.into_boxed_str()), expected))
        .collect();
    check_inline(table);
}

#[test]
fn latin1_declared_documents_are_transcoded() {
    let mut input = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodResponse><params><param><value><string>".to_vec();
    input.extend_from_slice(b"caf\xE9");
    input.extend_from_slice(b"</string></value></param></params></methodResponse>");
    assert_eq!(check(&input, &Expect::Value(json!("café"))), Ok(()));
    // The same bytes without the declaration are not UTF-8.
    let undeclared = &input[input.iter().position(|&b| b == b'>').map_or(0, |i| i + 1)..];
    let error = decode_response(undeclared).expect_err("invalid UTF-8");
    assert_eq!(error.message, "invalid UTF-8");
    assert_eq!(error.offset, memchr_position(undeclared, 0xE9));
}

fn memchr_position(haystack: &[u8], needle: u8) -> usize {
    haystack
        .iter()
        .position(|&b| b == needle)
        .unwrap_or(usize::MAX)
}

#[test]
fn errors_carry_the_byte_offset_of_the_problem() {
    let input = response("<int>12x</int>");
    let error = decode_response(input.as_bytes()).expect_err("bad int");
    assert_eq!(error.offset, input.find("12x").unwrap_or(0));
    assert!(error
        .to_string()
        .ends_with(&format!("at byte {}", error.offset)));

    let input = response("<int>1</int2>");
    let error = decode_response(input.as_bytes()).expect_err("mismatched end tag");
    assert_eq!(error.offset, input.find("</int2>").unwrap_or(0));

    let input = response("<frob>1</frob>");
    let error = decode_response(input.as_bytes()).expect_err("unknown type");
    assert_eq!(error.offset, input.find("<frob>").unwrap_or(0));

    // Messages never quote the text: it may be a password.
    for value in [
        "<int>hunter2</int>",
        "<double>hunter2</double>",
        "<boolean>hunter2</boolean>",
        "<string>&hunter2;</string>",
    ] {
        let error = decode_response(response(value).as_bytes()).expect_err(value);
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    let input = fixture("41-malformed-xml.request.xml");
    let error = decode_call(&input).expect_err("truncated");
    assert_eq!(error.offset, input.len());

    let input = fixture("42-not-xml-body.request.xml");
    assert_eq!(decode_call(&input).expect_err("not XML").offset, 0);
}

#[test]
fn nesting_is_bounded() {
    let nested = |depth: usize| {
        response(&format!(
            "{}{}",
            "<array><data><value>".repeat(depth),
            "</value></data></array>".repeat(depth)
        ))
    };
    let ok = nested(MAX_DEPTH);
    assert!(matches!(decode_response(ok.as_bytes()), Ok(Ok(_))));
    let too_deep = nested(MAX_DEPTH + 1);
    let error = decode_response(too_deep.as_bytes()).expect_err("too deep");
    assert!(error.message.contains("nesting"), "{error}");
    // Far deeper input fails the same way instead of overflowing the stack.
    let very_deep = "<value><struct><member><name>k</name>".repeat(100_000);
    assert!(decode_response(response(&very_deep).as_bytes()).is_err());
}

#[test]
fn encoding_follows_python_xmlrpc_client() {
    let mut out = Vec::new();
    encode_call(
        &mut out,
        "m",
        &[json!([null, true, "a&<>\"'", {"k": [1, 2.5]}])],
    );
    let expected = "<?xml version='1.0'?>\n<methodCall>\n<methodName>m</methodName>\n<params>\n\
        <param>\n<value><array><data>\n<value><nil/></value><value><boolean>1</boolean></value>\n\
        <value><string>a&amp;&lt;&gt;\"'</string></value>\n<value><struct>\n<member>\n<name>k</name>\n\
        <value><array><data>\n<value><int>1</int></value>\n<value><double>2.5</double></value>\n\
        </data></array></value>\n</member>\n</struct></value>\n</data></array></value>\n</param>\n\
        </params>\n</methodCall>\n";
    assert_eq!(String::from_utf8_lossy(&out), expected);

    // Python's `repr` of each float, checked with CPython 3.11.
    let floats = [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.2834, "1.2834"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (123.456, "123.456"),
        (-0.5, "-0.5"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e22, "1e+22"),
        (2.5e-7, "2.5e-07"),
        (100.0, "100.0"),
        (1234567890123456789.0, "1.2345678901234568e+18"),
    ];
    for (float, repr) in floats {
        let mut out = Vec::new();
        encode_call(&mut out, "f", &[json!(float)]);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains(&format!("<double>{repr}</double>")),
            "{float}: {text}"
        );
    }

    let ints = [
        (json!(2147483647), "<int>2147483647</int>"),
        (json!(-2147483648), "<int>-2147483648</int>"),
        (json!(2147483648u64), "<i8>2147483648</i8>"),
        (json!(-2147483649i64), "<i8>-2147483649</i8>"),
        (json!(u64::MAX), "<i8>18446744073709551615</i8>"),
    ];
    for (int, wire) in ints {
        let mut out = Vec::new();
        encode_response(&mut out, &int);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains(wire), "{int}: {text}");
    }

    let mut out = Vec::new();
    encode_response(&mut out, &json!("line\r\nnext"));
    assert!(String::from_utf8_lossy(&out).contains("<string>line&#13;\nnext</string>"));
}

proptest! {
    #[test]
    fn decode_of_encode_is_identity(
        value in arbitrary_value("[ -~]{0,12}", any::<String>().boxed()),
        params in prop::collection::vec(arbitrary_value("[ -~]{0,12}", any::<String>().boxed()), 0..4),
        method in "[a-z_.]{1,20}",
        code in any::<i64>(),
        string in any::<String>(),
    ) {
        let mut out = Vec::new();
        encode_response(&mut out, &value);
        prop_assert_eq!(decode_response(&out), Ok(Ok(value)));

        let mut out = Vec::new();
        encode_call(&mut out, &method, &params);
        prop_assert_eq!(decode_call(&out), Ok((method, params)));

        let mut out = Vec::new();
        encode_fault(&mut out, code, &string);
        prop_assert_eq!(
            decode_response(&out),
            Ok(Err(Fault { code: FaultCode::Int(code), string }))
        );
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_response(&bytes);
        let _ = decode_call(&bytes);
    }

    #[test]
    fn decoding_mutated_fixtures_never_panics(
        which in 0usize..108,
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut names = fixture_names(".request.xml");
        names.extend(fixture_names(".response.xml"));
        let name = &names[which % names.len()];
        let bytes = mutate(fixture(name), &edits);
        if let Err(error) = decode_response(&bytes) {
            prop_assert!(error.offset <= bytes.len());
        }
        if let Err(error) = decode_call(&bytes) {
            prop_assert!(error.offset <= bytes.len());
        }
    }
}

#[test]
fn latin1_error_offsets_point_into_the_input() {
    // Found by the fuzzer: offsets were those of the transcoded text, past the input's end.
    let mut input = b"<?xml version='1.0' encoding='iso-8859-1'?><methodResponse><params><param><value><string>".to_vec();
    input.extend_from_slice(&[0xFF; 40]);
    let error = decode_response(&input).expect_err("truncated");
    assert_eq!(error.offset, input.len());
    let error = decode_call(&input).expect_err("not a call");
    assert_eq!(
        error.offset,
        input.iter().position(|&b| b == b'>').map_or(0, |i| i + 1)
    );
}
