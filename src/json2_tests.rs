//! Every transcript in tests/fixtures/odoo19-json2/ is named here by its number: each answer
//! is read by the codec and its class asserted; the CRUD and login requests are rebuilt from
//! `execute_kw`-style arguments and compared with the recorded bodies.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::*;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odoo19-json2")
}

/// The `NN-*.<kind>.http` file of exchange `n`.
fn file(n: u32, kind: &str) -> Vec<u8> {
    let prefix = format!("{n:02}-");
    let suffix = format!(".{kind}.http");
    let name = std::fs::read_dir(dir())
        .expect("the fixture directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|name| name.starts_with(&prefix) && name.ends_with(&suffix))
        .unwrap_or_else(|| panic!("no {prefix}*{suffix}"));
    std::fs::read(dir().join(name)).expect("a readable fixture")
}

/// Status, Content-Type and body of a recorded answer.
fn response(n: u32) -> (u16, Option<String>, Vec<u8>) {
    let raw = file(n, "response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_owned());
    (status, content_type, raw[split + 4..].to_vec())
}

fn request_json(n: u32) -> Value {
    let raw = file(n, "request");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    serde_json::from_slice(&raw[split + 4..]).expect("a JSON request body")
}

/// One word (and detail) for what the codec made of an answer.
fn describe(n: u32) -> String {
    let (status, content_type, body) = response(n);
    match read_response(status, content_type.as_deref(), body) {
        Ok(Success { text, array_len }) => {
            let value: Value = serde_json::from_slice(&text).unwrap();
            match (array_len, &value) {
                (Some(len), Value::Array(items)) => {
                    assert_eq!(len, items.len(), "#{n}");
                    format!("array {len}")
                }
                (None, Value::Object(_)) => "object".into(),
                (None, Value::Number(n)) => format!("number {n}"),
                (None, Value::Bool(b)) => format!("{b}"),
                (None, Value::Null) => "null".into(),
                other => panic!("#{n}: {other:?}"),
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(
                !text.contains("Traceback") && !text.contains("/opt/"),
                "#{n}: {text}"
            );
            assert!(!format!("{e:?}").contains("Traceback"), "#{n}");
            match e {
                Json2Error::Unauthorized { .. } => "unauthorized".into(),
                Json2Error::AccessError { .. } => "access".into(),
                Json2Error::Missing { .. } => "missing".into(),
                Json2Error::UnknownModel { model } => format!("model {model}"),
                Json2Error::NotFound { .. } => "not_found".into(),
                Json2Error::UserError { .. } => "user_error".into(),
                Json2Error::BadArguments { .. } => "bad_arguments".into(),
                Json2Error::BadRequest { .. } => "bad_request".into(),
                Json2Error::ServerError { class, debug, .. } => {
                    assert!(debug.starts_with("Traceback"), "#{n}");
                    format!("server {class}")
                }
                Json2Error::NoDatabase => "no_database".into(),
                Json2Error::Http { status } => format!("http {status}"),
                Json2Error::Unreadable(why) => format!("unreadable {why}"),
            }
        }
    }
}

/// Every exchange and what the codec must make of its answer.
const ANSWERS: &[(u32, &str)] = &[
    (1, "object"),
    (2, "object"),
    (3, "array 3"),
    (4, "array 2"),
    (5, "array 5"),
    (6, "number 10"),
    (7, "object"),
    (8, "array 1"),
    (9, "array 2"),
    (10, "true"),
    (11, "true"),
    (12, "array 0"),
    (13, "array 1"),
    (14, "missing"),
    (15, "missing"),
    (16, "model res.nothing"),
    (17, "not_found"),
    (18, "access"),
    (19, "access"),
    (20, "server TypeError"),
    (21, "bad_arguments"),
    (22, "server TypeError"),
    (23, "bad_arguments"),
    (24, "not_found"),
    (25, "not_found"),
    (26, "object"),
    (27, "unauthorized"),
    (28, "not_found"),
    (29, "server ValueError"),
    (30, "server ValueError"),
    (31, "server ValueError"),
    (32, "server TypeError"),
    (33, "server ValueError"),
    (34, "server ValueError"),
    (35, "user_error"),
    (36, "user_error"),
    (37, "user_error"),
    (38, "access"),
    (39, "access"),
    (40, "access"),
    (41, "array 1"),
    (42, "unauthorized"),
    (43, "unauthorized"),
    (44, "unauthorized"),
    (45, "unauthorized"),
    (46, "unauthorized"),
    (47, "number 41"),
    (48, "number 41"),
    (49, "number 41"),
    (50, "no_database"),
    (51, "no_database"),
    (52, "null"),
    (53, "null"),
    (54, "true"),
    (55, "array 1"),
    (56, "object"),
    (57, "true"),
    (58, "array 1"),
    (59, "array 1"),
    (60, "array 1"),
    (61, "array 1"),
    (62, "number 1"),
    (63, "object"),
    (64, "array 4"),
    (65, "bad_request"),
    (66, "http 415"),
    (67, "http 415"),
    (68, "number 41"),
    (69, "bad_arguments"),
    (70, "bad_arguments"),
    (71, "bad_arguments"),
    (72, "array 1"),
    (73, "array 41"),
    (74, "number 41"),
    (75, "array 40"),
    (76, "object"),
    (77, "bad_arguments"),
    (78, "object"),
    (79, "array 1"),
    (80, "array 1"),
    (81, "array 1"),
    (82, "number 41"),
    (83, "access"),
    (84, "server ValueError"),
    (85, "array 1"),
    (86, "object"),
    // A JSON-RPC answer (not JSON-2): HTTP 200 with an error inside, read as an object.
    (87, "object"),
    (88, "object"),
    (89, "object"),
    (90, "object"),
    // AccessDenied (cookie of another user): 403 like AccessError, traceback suppressed.
    (91, "access"),
    (92, "object"),
    (93, "unauthorized"),
    (94, "object"),
    (95, "http 403"),
    // XML-RPC on Odoo 19: not a JSON-2 answer (its content is checked below).
    (96, "http 200"),
    (97, "true"),
];

#[test]
fn every_recorded_answer_is_read_as_its_class() {
    let mut failures = Vec::new();
    for &(n, expected) in ANSWERS {
        let got = describe(n);
        if got != expected {
            failures.push(format!("#{n}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_names_every_transcript_file() {
    let mut numbers: Vec<u32> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".http"))
        .map(|name| name[..2].parse().unwrap())
        .collect();
    numbers.sort();
    numbers.dedup();
    let named: Vec<u32> = ANSWERS.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, named);
    assert_eq!(named.len(), 97);
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir().join("index.json")).unwrap()).unwrap();
    for exchange in index["exchanges"].as_array().unwrap() {
        let n = exchange["n"].as_u64().unwrap() as u32;
        let (status, _, _) = response(n);
        assert_eq!(u64::from(status), exchange["status"], "#{n}");
    }
}

#[test]
fn error_messages_are_odoos_and_carry_no_traceback() {
    let message = |n| {
        let (status, content_type, body) = response(n);
        read_response(status, content_type.as_deref(), body)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(message(43), "Invalid apikey");
    assert!(message(14)
        .starts_with("Record does not exist or has been deleted.\n(Record: res.partner(999999,)"));
    assert_eq!(
        message(33),
        "ValueError: Invalid field 'nope' on model 'res.partner'"
    );
    assert_eq!(
        message(35),
        "You cannot create recursive Partner hierarchies."
    );
    assert_eq!(
        message(17),
        "The method 'res.partner.frobnicate' does not exist"
    );
    assert_eq!(message(91), "Session user does not match the used apikey.");
}

#[test]
fn the_version_answers_say_19() {
    for n in [1, 2] {
        let (_, _, body) = response(n);
        assert_eq!(major_version(&body), Some(19), "#{n}");
    }
    assert_eq!(major_version(br#"{"version": "saas~18.4"}"#), Some(18));
    assert_eq!(major_version(b"<html>"), None);
    let (_, _, body) = response(96);
    let version = crate::xmlrpc::decode_response(&body).unwrap().unwrap();
    assert_eq!(version["server_version"], "19.0");
}

#[test]
fn request_bodies_match_the_recorded_ones() {
    // (exchange, method, execute_kw args, kwargs)
    let cases: Vec<(u32, &str, Value, Option<Value>)> = vec![
        (
            3,
            "search_read",
            json!([[["is_company", "=", true]]]),
            Some(
                json!({"fields": ["name", "email", "country_id"], "limit": 3, "offset": 1, "order": "name desc"}),
            ),
        ),
        (
            3,
            "search_read",
            json!([
                [["is_company", "=", true]],
                ["name", "email", "country_id"],
                1,
                3,
                "name desc"
            ]),
            None,
        ),
        (
            4,
            "read",
            json!([[9, 15], ["name", "parent_id", "child_ids"]]),
            None,
        ),
        (
            5,
            "search",
            json!([[["is_company", "=", true]]]),
            Some(json!({"limit": 5, "order": "id"})),
        ),
        (
            6,
            "search_count",
            json!([[["is_company", "=", true]]]),
            None,
        ),
        (
            7,
            "fields_get",
            json!([[
                "name",
                "country_id",
                "child_ids",
                "type",
                "image_128",
                "write_date",
                "comment",
                "partner_latitude"
            ]]),
            Some(
                json!({"attributes": ["string", "type", "required", "readonly", "relation", "selection"]}),
            ),
        ),
        (8, "create", json!([{"name": "JSON2 Single"}]), None),
        (
            9,
            "create",
            json!([[{"name": "JSON2 A"}, {"name": "JSON2 B", "email": "b@example.com"}]]),
            None,
        ),
        (
            10,
            "write",
            json!([[69], {"phone": "+32 2 555 01 01", "comment": "<p>Hello <b>JSON-2</b></p>"}]),
            None,
        ),
        (11, "unlink", json!([[70]]), None),
        (
            12,
            "read",
            json!([[999999]]),
            Some(json!({"fields": ["name"]})),
        ),
        (
            64,
            "name_search",
            json!(["Acme"]),
            Some(json!({"limit": 5})),
        ),
        (76, "context_get", json!([]), None),
        (
            79,
            "read",
            json!([[2]]),
            Some(
                json!({"fields": ["name", "login", "partner_id", "company_id", "company_ids", "tz", "lang", "share"]}),
            ),
        ),
        (
            80,
            "search_read",
            json!([[["id", "=", 2]]]),
            Some(json!({"fields": ["login", "company_id", "company_ids"]})),
        ),
        (
            97,
            "unlink",
            json!([[69, 68, 72]]),
            Some(json!({"context": {"active_test": false}})),
        ),
    ];
    for (n, method, args, kwargs) in cases {
        let body = request_body(method, &args, kwargs.as_ref()).unwrap();
        let built: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(built, request_json(n), "#{n} {method}");
    }
}

#[test]
fn calls_json2_cannot_name_are_refused() {
    assert_eq!(
        request_body("frobnicate", &json!([1]), None),
        Err(EncodeError::UnknownSignature("frobnicate".into()))
    );
    assert!(matches!(
        request_body("unlink", &json!([[1], 2]), None),
        Err(EncodeError::TooManyArguments { .. })
    ));
    assert_eq!(
        request_body(
            "read",
            &json!([[1], ["name"]]),
            Some(&json!({"fields": []}))
        ),
        Err(EncodeError::Duplicate("fields".into()))
    );
    assert_eq!(request_body("frobnicate", &json!([]), None).unwrap(), b"{}");
}

#[test]
fn create_of_one_dict_answers_its_id() {
    let (status, content_type, body) = response(8);
    let answer = read_response(status, content_type.as_deref(), body).unwrap();
    assert_eq!(single_create_id(answer).unwrap().text, b"68");
    let two = Success {
        text: b"[1, 2]".to_vec(),
        array_len: Some(2),
    };
    assert!(single_create_id(two).is_err());
}

#[test]
fn bad_bodies_are_unreadable_not_panics() {
    for body in [&b""[..], b"[1,", b"{\"a\": 1} x", b"\xff"] {
        assert!(matches!(
            read_response(200, Some("application/json"), body.to_vec()),
            Err(Json2Error::Unreadable(_))
        ));
    }
    assert!(matches!(
        read_response(500, Some("application/json"), b"{\"x\": 1}".to_vec()),
        Err(Json2Error::Unreadable(_))
    ));
    assert_eq!(measure(b" [1, [2, 3], {\"a\": []}] ").unwrap(), Some(3));
}
