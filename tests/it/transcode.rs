//! `xmlrpc::transcode_response` (XML-RPC straight to JSON text) against `decode_response`
//! followed by `serde_json::to_vec`: the same bytes, the same faults, the same errors, on the 54
//! Odoo 18 transcripts and under proptest.

use std::path::Path;

use odoo_rest_proxy::xmlrpc::{decode_response, encode_fault, encode_response, transcode_response};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::support::{arbitrary_value, mutate};

/// Both ways agree on `input`; returns the decoded value when there was one.
fn check(input: &[u8]) -> Option<Value> {
    let decoded = decode_response(input);
    let transcoded = transcode_response(input);
    match (decoded, transcoded) {
        (Ok(Ok(value)), Ok(Ok(json))) => {
            let expected = serde_json::to_vec(&value).expect("a Value serializes");
            assert_eq!(
                String::from_utf8_lossy(&json.text),
                String::from_utf8_lossy(&expected)
            );
            assert_eq!(json.text, expected);
            assert_eq!(json.array_len, value.as_array().map(Vec::len));
            Some(value)
        }
        (Ok(Err(fault)), Ok(Err(same))) => {
            assert_eq!(fault, same);
            None
        }
        (Err(error), Err(same)) => {
            assert_eq!(error, same);
            None
        }
        (decoded, transcoded) => panic!("decode gave {decoded:?}, transcode gave {transcoded:?}"),
    }
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odoo18");
    let mut files: Vec<_> = std::fs::read_dir(&directory)
        .expect("the fixtures directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_string_lossy().ends_with(".xml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a readable fixture");
            (path.display().to_string(), bytes)
        })
        .collect()
}

#[test]
fn transcoding_the_odoo_transcripts_writes_what_serde_json_writes() {
    let mut values = 0;
    for (name, bytes) in fixtures() {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        match outcome {
            Ok(value) => values += usize::from(value.is_some()),
            Err(_) => panic!("{name}"),
        }
    }
    // 28 of the 54 responses carry a value; the others are faults (and the requests compare
    // their errors).
    assert_eq!(values, 28);
}

#[test]
fn strings_are_escaped_exactly() {
    let text: String = (0u8..0x80).map(char::from).collect::<String>() + "é€😀\u{2028}";
    let value =
        json!([{ "key \"\\\n\u{1}": text, "n": [1, -2, 18446744073709551615u64, 1.5e300, 0.1] }]);
    let mut out = Vec::new();
    encode_response(&mut out, &value);
    assert_eq!(check(&out), Some(value));
}

#[test]
fn scalars_at_the_top_have_no_array_length() {
    for value in [
        json!(42),
        json!("x"),
        json!({"a": [1]}),
        json!(false),
        json!([]),
    ] {
        let mut out = Vec::new();
        encode_response(&mut out, &value);
        let json = transcode_response(&out).expect("valid").expect("no fault");
        assert_eq!(json.array_len, value.as_array().map(Vec::len), "{value}");
    }
    let mut out = Vec::new();
    encode_fault(&mut out, 2, "Record does not exist");
    assert!(transcode_response(&out).expect("valid").is_err());
}

proptest! {
    #[test]
    fn transcode_writes_what_serde_json_writes(value in arbitrary_value("[\\x00-\\x1f\"\\\\ a\u{7f}é]{0,8}", "[\\x00-\\x1f\"\\\\a-z]{0,4}".boxed()), code in any::<i64>(), string in any::<String>()) {
        let mut out = Vec::new();
        encode_response(&mut out, &value);
        prop_assert_eq!(check(&out), Some(value));
        let mut out = Vec::new();
        encode_fault(&mut out, code, &string);
        prop_assert_eq!(check(&out), None);
    }

    #[test]
    fn transcode_and_decode_agree_on_mutated_transcripts(
        which in 0usize..110,
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let all = fixtures();
        let bytes = mutate(all[which % all.len()].1.clone(), &edits);
        check(&bytes);
    }

    #[test]
    fn transcode_and_decode_agree_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&bytes);
    }
}
