//! Python's `repr` of decoded XML-RPC values (`'text'`, `True`, `None`, `(1,)`, `1e+20`), as
//! Odoo quotes them in its messages. No I/O.

use serde_json::Value;

/// Whether the outer array prints as a Python list or tuple.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum ReprStyle {
    List,
    Tuple,
}

/// Python's `repr` of the value that `xmlrpc.client` would have decoded.
pub(crate) fn py_repr(value: &Value, outer: ReprStyle) -> String {
    let mut out = String::new();
    write_repr(&mut out, value, outer);
    out
}

fn write_repr(out: &mut String, value: &Value, style: ReprStyle) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(int), _) => out.push_str(&int.to_string()),
            (None, Some(float)) => out.push_str(&py_float(float)),
            (None, None) => out.push_str(&number.to_string()),
        },
        Value::String(text) => out.push_str(&py_str(text)),
        Value::Array(items) => {
            let (open, close) = match style {
                ReprStyle::List => ('[', ']'),
                ReprStyle::Tuple => ('(', ')'),
            };
            out.push(open);
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item, ReprStyle::List);
            }
            if style == ReprStyle::Tuple && items.len() == 1 {
                out.push(',');
            }
            out.push(close);
        }
        Value::Object(members) => {
            out.push('{');
            for (index, (key, item)) in members.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push_str(&py_str(key));
                out.push_str(": ");
                write_repr(out, item, ReprStyle::List);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, always with a `.` or exponent.
pub(crate) fn py_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let text = format!("{value:?}");
    if text.contains('e') {
        // Rust prints `1e20`, Python `1e+20`.
        return match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        };
    }
    text
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`.
pub(crate) fn py_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_repr(value: Value, expected: &str) {
        assert_eq!(py_repr(&value, ReprStyle::Tuple), expected);
    }

    #[test]
    fn python_repr_of_leaves() {
        check_repr(
            json!(["nonexistent_field", "=", 1]),
            "('nonexistent_field', '=', 1)",
        );
        check_repr(
            json!(["name", "no_such_op", 1]),
            "('name', 'no_such_op', 1)",
        );
        check_repr(json!(["id", "in", [1, 2]]), "('id', 'in', [1, 2])");
        check_repr(json!(["a", "=", false]), "('a', '=', False)");
        check_repr(json!(["a", "=", null]), "('a', '=', None)");
        check_repr(json!(["a", "=", 1.5]), "('a', '=', 1.5)");
        check_repr(json!(["a", "=", 2.0]), "('a', '=', 2.0)");
        check_repr(json!(["it's"]), "(\"it's\",)");
        check_repr(json!(["a'\"b\n"]), "('a\\'\"b\\n',)");
        check_repr(json!([{"k": "v"}]), "({'k': 'v'},)");
        check_repr(json!("Zoë"), "'Zoë'");
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(1.2834), "1.2834");
        assert_eq!(py_float(1e20), "1e+20");
        assert_eq!(py_float(1e-7), "1e-7");
    }
}
