//! Fuzz target for `pyliteral::parse`: no input panics, every error points inside the input,
//! and every parsed value, printed back as a Python literal, parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo_rest_proxy::pyliteral::{parse, MAX_DEPTH};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match parse(input) {
        Ok(value) => {
            let mut printed = String::new();
            print_python(&value, &mut printed);
            // A bare top-level tuple prints with brackets, which may nest one level deeper.
            if depth(&value) <= MAX_DEPTH {
                assert_eq!(parse(&printed).as_ref(), Ok(&value), "reprinted as {printed:?}");
            }
        }
        Err(error) => assert!(error.offset <= input.len(), "{error} past the end"),
    }
});

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn print_python(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(number) => match number.as_i64() {
            Some(int) => out.push_str(&int.to_string()),
            None => out.push_str(&format!("{:?}", number.as_f64().unwrap_or_default())),
        },
        Value::String(text) => {
            out.push('\'');
            for c in text.chars() {
                match c {
                    '\\' | '\'' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_control() => out.push_str(&format!("\\U{:08x}", u32::from(c))),
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                print_python(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (key, item) in map {
                print_python(&Value::String(key.clone()), out);
                out.push(':');
                print_python(item, out);
                out.push(',');
            }
            out.push('}');
        }
    }
}
