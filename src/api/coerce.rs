//! Request values to typed ORM values, driven by the model's `fields_get`. No I/O.
//!
//! Form fields arrive as text and are parsed by field type; JSON values keep their types
//! (a number stays a number) and only text is parsed. x2many values become ORM commands the
//! way Flectra's `rest_api` (`eval_json_to_data`) builds them:
//!
//! | field     | item                 | create        | write                          |
//! |-----------|----------------------|---------------|--------------------------------|
//! | many2many | `{"id": 7, ..}`, `7` | `(4, 7)`      | `(5,)` first, then `(4, 7)`    |
//! | one2many  | `{..}` without id    | `(0, 0, {..})`| `(0, 0, {..})`                 |
//! | one2many  | `{"id": 7, ..}`      | `(0, 0, {..})`| `(1, 7, {..})`; `(2, 7)` if only the id |
//! | one2many  | `7`                  | `(4, 7)`      | `(4, 7)`                       |
//!
//! A list whose items are all lists is taken as ORM commands already and passed on unchanged.
//!
//! A field `fields_get` does not list is the ERP's business: it is passed on as sent (form text
//! as text, JSON as JSON), and the ERP's answer decides (Flectra 1.x drops it, Odoo 18 refuses
//! it with `Invalid field`).

use serde_json::{Map, Value};

/// Which ORM call the values are for: the x2many commands differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Write,
}

/// A value the client sent that cannot become an ORM value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoerceError {
    #[error("invalid value for field `{field}`: expected {expected}")]
    BadValue {
        field: String,
        expected: &'static str,
    },
}

const INTEGER: &str = "an integer";
const NUMBER: &str = "a number";
const BOOLEAN: &str = "a boolean (true/false, 1/0, on/off)";
const RECORD_ID: &str = "a record id (a positive integer) or false";
const RECORD_IDS: &str =
    "a list of record ids, of objects with an \"id\", or of ORM commands (Python or JSON)";
const ONE2MANY: &str =
    "a list of record ids, of objects (records to create or update), or of ORM commands";
const TEXT: &str = "text";
const SELECTION: &str = "one of the field's selection values";
const JSON_VALUE: &str = "a JSON value";

/// Coerces one form field (text) to the type of field `name`.
pub fn coerce_form(
    fields: &Map<String, Value>,
    name: &str,
    raw: &str,
    op: Op,
) -> Result<Value, CoerceError> {
    let Some(field) = fields.get(name) else {
        return Ok(Value::String(raw.to_owned()));
    };
    let bad = |expected| bad_value(name, expected);
    let trimmed = raw.trim();
    match field_type(field) {
        "integer" | "many2one_reference" => {
            if trimmed.is_empty() {
                return Ok(Value::Bool(false));
            }
            parse_integer(trimmed)
                .map(Value::from)
                .ok_or_else(|| bad(INTEGER))
        }
        "float" | "monetary" => {
            if trimmed.is_empty() {
                return Ok(Value::Bool(false));
            }
            parse_float(trimmed).ok_or_else(|| bad(NUMBER))
        }
        "boolean" => parse_boolean(trimmed)
            .map(Value::Bool)
            .ok_or_else(|| bad(BOOLEAN)),
        "many2one" => parse_many2one(trimmed).ok_or_else(|| bad(RECORD_ID)),
        "many2many" | "one2many" => {
            let items = if trimmed.is_empty() || trimmed == "False" {
                Value::Array(Vec::new())
            } else {
                crate::pyliteral::parse(trimmed)
                    .or_else(|_| serde_json::from_str(trimmed))
                    .map_err(|_| bad(x2many_expected(field)))?
            };
            x2many_commands(name, field, &items, op)
        }
        "selection" => {
            if raw.is_empty() {
                return Ok(Value::Bool(false));
            }
            selection_key(field, &Value::String(raw.to_owned())).ok_or_else(|| bad(SELECTION))
        }
        "json" | "properties" | "properties_definition" => {
            if trimmed.is_empty() {
                return Ok(Value::Bool(false));
            }
            serde_json::from_str(trimmed).map_err(|_| bad(JSON_VALUE))
        }
        // char, text, html, date, datetime, binary, reference, and types we do not know:
        // the text itself, empty meaning false. Odoo checks dates and datetimes itself.
        _ => Ok(if raw.is_empty() {
            Value::Bool(false)
        } else {
            Value::String(raw.to_owned())
        }),
    }
}

/// Coerces one JSON value to the type of field `name`. Values of the right JSON type are kept
/// as they are; text is parsed as a form field would be; `null` becomes `false`.
pub fn coerce_json(
    fields: &Map<String, Value>,
    name: &str,
    value: &Value,
    op: Op,
) -> Result<Value, CoerceError> {
    let Some(field) = fields.get(name) else {
        return Ok(value.clone());
    };
    let bad = |expected| bad_value(name, expected);
    let kind = field_type(field);
    if matches!(kind, "json" | "properties" | "properties_definition") {
        return Ok(value.clone());
    }
    if let Value::String(text) = value {
        if !is_text_type(kind) {
            return coerce_form(fields, name, text, op);
        }
    }
    if matches!(kind, "many2many" | "one2many") {
        return x2many_commands(name, field, value, op);
    }
    if value.is_null() {
        return Ok(Value::Bool(false));
    }
    match kind {
        "integer" | "many2one_reference" => match value {
            Value::Number(number) => number
                .as_i64()
                .or_else(|| number.as_f64().and_then(integral))
                .map(Value::from)
                .ok_or_else(|| bad(INTEGER)),
            Value::Bool(false) => Ok(Value::Bool(false)),
            _ => Err(bad(INTEGER)),
        },
        "float" | "monetary" => match value {
            Value::Number(_) | Value::Bool(false) => Ok(value.clone()),
            _ => Err(bad(NUMBER)),
        },
        "boolean" => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::Number(number) => match number.as_i64() {
                Some(0) => Ok(Value::Bool(false)),
                Some(1) => Ok(Value::Bool(true)),
                _ => Err(bad(BOOLEAN)),
            },
            _ => Err(bad(BOOLEAN)),
        },
        "many2one" => match value {
            Value::Bool(false) => Ok(Value::Bool(false)),
            Value::Number(number) => record_id(number.as_i64()).ok_or_else(|| bad(RECORD_ID)),
            // `[id, display name]`, as `read` returns it.
            Value::Array(pair) => match pair.first() {
                Some(Value::Number(number)) => {
                    record_id(number.as_i64()).ok_or_else(|| bad(RECORD_ID))
                }
                _ => Err(bad(RECORD_ID)),
            },
            _ => Err(bad(RECORD_ID)),
        },
        "selection" => match value {
            Value::Bool(false) => Ok(Value::Bool(false)),
            _ => selection_key(field, value).ok_or_else(|| bad(SELECTION)),
        },
        // Text types: text stays text (even empty), a number becomes its text.
        _ => match value {
            Value::String(_) | Value::Bool(false) => Ok(value.clone()),
            Value::Number(number) => Ok(Value::String(number.to_string())),
            _ => Err(bad(TEXT)),
        },
    }
}

/// Coerces every form field of a record, in order; a repeated name keeps the last value.
pub fn coerce_form_record<'a>(
    fields: &Map<String, Value>,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    op: Op,
) -> Result<Map<String, Value>, CoerceError> {
    let mut values = Map::new();
    for (name, raw) in pairs {
        values.insert(name.to_owned(), coerce_form(fields, name, raw, op)?);
    }
    Ok(values)
}

/// Coerces every member of a JSON object.
pub fn coerce_json_record(
    fields: &Map<String, Value>,
    record: &Map<String, Value>,
    op: Op,
) -> Result<Map<String, Value>, CoerceError> {
    record
        .iter()
        .map(|(name, value)| Ok((name.clone(), coerce_json(fields, name, value, op)?)))
        .collect()
}

fn field_type(field: &Value) -> &str {
    field.get("type").and_then(Value::as_str).unwrap_or("")
}

fn is_text_type(kind: &str) -> bool {
    matches!(
        kind,
        "char" | "text" | "html" | "date" | "datetime" | "binary" | "reference" | "selection"
    ) || kind.is_empty()
}

fn bad_value(name: &str, expected: &'static str) -> CoerceError {
    CoerceError::BadValue {
        field: name.to_owned(),
        expected,
    }
}

fn x2many_expected(field: &Value) -> &'static str {
    if field_type(field) == "one2many" {
        ONE2MANY
    } else {
        RECORD_IDS
    }
}

/// An integer as Python's `int()` reads it: optional sign, digits, single underscores between.
fn parse_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty()
        || unsigned.starts_with('_')
        || unsigned.ends_with('_')
        || unsigned.contains("__")
        || !unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    digits.replace('_', "").parse().ok()
}

fn parse_float(text: &str) -> Option<Value> {
    // Rust also reads "inf" and "NaN", which JSON cannot carry: `from_f64` refuses them.
    let number: f64 = text.parse().ok()?;
    serde_json::Number::from_f64(number).map(Value::Number)
}

fn parse_boolean(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "off" => Some(false),
        "true" | "1" | "on" => Some(true),
        _ => None,
    }
}

/// `""`, `"False"`, `"0"` -> false; `"7"` -> 7; `"[7, 'Name']"` (as `read` shows it) -> 7.
fn parse_many2one(text: &str) -> Option<Value> {
    match text {
        "" | "False" | "false" | "0" => return Some(Value::Bool(false)),
        _ => {}
    }
    if let Some(id) = parse_integer(text) {
        return record_id(Some(id));
    }
    match crate::pyliteral::parse(text).ok()? {
        Value::Array(pair) => match pair.first() {
            Some(Value::Number(number)) => record_id(number.as_i64()),
            _ => None,
        },
        _ => None,
    }
}

fn record_id(id: Option<i64>) -> Option<Value> {
    match id? {
        0 => Some(Value::Bool(false)),
        id if id > 0 => Some(Value::from(id)),
        _ => None,
    }
}

fn integral(float: f64) -> Option<i64> {
    let in_range = float.fract() == 0.0 && float.abs() < 9.0e15;
    in_range.then_some(float as i64)
}

/// The selection key that `value` names, as `fields_get` spells it. Without a selection list
/// (a dynamic selection) any text is accepted.
fn selection_key(field: &Value, value: &Value) -> Option<Value> {
    let Some(options) = field.get("selection").and_then(Value::as_array) else {
        return match value {
            Value::String(_) => Some(value.clone()),
            _ => None,
        };
    };
    options
        .iter()
        .filter_map(|option| option.as_array().and_then(|pair| pair.first()))
        .find(|key| {
            *key == value
                || match (key, value) {
                    (Value::Number(number), Value::String(text)) => number.to_string() == *text,
                    _ => false,
                }
        })
        .cloned()
}

/// A positive id from a JSON item: a number, or text of digits.
fn item_id(value: &Value) -> Option<i64> {
    let id = match value {
        Value::Number(number) => number.as_i64()?,
        Value::String(text) => parse_integer(text.trim())?,
        _ => return None,
    };
    (id > 0).then_some(id)
}

/// Builds the ORM commands for an x2many field from ids, objects, or commands.
fn x2many_commands(name: &str, field: &Value, value: &Value, op: Op) -> Result<Value, CoerceError> {
    let bad = || bad_value(name, x2many_expected(field));
    let single;
    let items: &[Value] = match value {
        Value::Array(items) => items,
        Value::Null | Value::Bool(false) => &[],
        Value::Number(_) | Value::Object(_) => {
            single = [value.clone()];
            &single
        }
        _ => return Err(bad()),
    };
    if !items.is_empty() && items.iter().all(Value::is_array) {
        return if items.iter().all(is_command) {
            Ok(Value::Array(items.to_vec()))
        } else {
            Err(bad())
        };
    }
    let many2many = field_type(field) == "many2many";
    let mut commands = Vec::with_capacity(items.len() + 1);
    if many2many && op == Op::Write {
        commands.push(Value::Array(vec![Value::from(5)]));
    }
    for item in items {
        let command = match item {
            Value::Object(record) if many2many => {
                let id = record.get("id").and_then(item_id).ok_or_else(bad)?;
                vec![Value::from(4), Value::from(id)]
            }
            Value::Object(record) => match (op, record.get("id")) {
                (Op::Write, Some(id)) => {
                    let id = item_id(id).ok_or_else(bad)?;
                    let mut rest = record.clone();
                    rest.shift_remove("id");
                    if rest.is_empty() {
                        vec![Value::from(2), Value::from(id)]
                    } else {
                        vec![Value::from(1), Value::from(id), Value::Object(rest)]
                    }
                }
                _ => vec![
                    Value::from(0),
                    Value::from(0),
                    Value::Object(record.clone()),
                ],
            },
            other => {
                let id = item_id(other).ok_or_else(bad)?;
                vec![Value::from(4), Value::from(id)]
            }
        };
        commands.push(Value::Array(command));
    }
    Ok(Value::Array(commands))
}

/// An ORM command as Odoo's `Command` reads it: `[code, ...]` with code 0 to 6.
fn is_command(item: &Value) -> bool {
    let Some(parts) = item.as_array() else {
        return false;
    };
    let code = parts.first().and_then(Value::as_i64);
    matches!(
        (code, parts.len()),
        (Some(5), 1..=3) | (Some(0..=4 | 6), 2..=3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Field definitions as `fields_get` returns them for `res.partner` in
    /// tests/fixtures/odoo18/13-fields-get.response.xml (plus `note`, `amount` and `ref_id`
    /// for the types that model lacks).
    fn fields() -> Map<String, Value> {
        let value = json!({
            "name": {"type": "char", "string": "Name", "readonly": false, "required": false},
            "comment": {"type": "html", "string": "Notes"},
            "note": {"type": "text", "string": "Note"},
            "color": {"type": "integer", "string": "Color Index"},
            "partner_latitude": {"type": "float", "string": "Geo Latitude"},
            "amount": {"type": "monetary", "string": "Amount"},
            "active": {"type": "boolean", "string": "Active"},
            "parent_id": {"type": "many2one", "relation": "res.partner",
                          "string": "Related Company"},
            "category_id": {"type": "many2many", "relation": "res.partner.category",
                            "string": "Tags"},
            "child_ids": {"type": "one2many", "relation": "res.partner", "string": "Contact"},
            "activity_date_deadline": {"type": "date", "string": "Next Activity Deadline"},
            "create_date": {"type": "datetime", "string": "Created on", "readonly": true},
            "type": {"type": "selection", "string": "Address Type", "selection": [
                ["contact", "Contact"], ["invoice", "Invoice Address"],
                ["delivery", "Delivery Address"], ["other", "Other Address"]]},
            "priority": {"type": "selection", "selection": [[0, "Low"], [1, "High"]]},
            "image_1920": {"type": "binary", "string": "Image"},
            "ref_id": {"type": "many2one_reference", "string": "Related id"},
            "props": {"type": "properties", "string": "Properties"},
        });
        match value {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        }
    }

    enum Input<'a> {
        Form(&'a str),
        Json(Value),
    }

    /// `Ok(value)` to expect a value, `Err(expected)` to expect a BadValue naming the field and
    /// saying `expected`.
    fn check(field: &str, input: Input, op: Op, want: Result<Value, &'static str>) {
        let fields = fields();
        let (got, shown) = match &input {
            Input::Form(raw) => (
                coerce_form(&fields, field, raw, op),
                format!("form {raw:?}"),
            ),
            Input::Json(value) => (
                coerce_json(&fields, field, value, op),
                format!("json {value}"),
            ),
        };
        let want = want.map_err(|expected| CoerceError::BadValue {
            field: field.to_owned(),
            expected,
        });
        assert_eq!(got, want, "{field} <- {shown} ({op:?})");
    }

    use Input::{Form, Json};
    use Op::{Create, Write};

    #[test]
    fn form_scalars() {
        let table: Vec<(&str, &str, Result<Value, &'static str>)> = vec![
            ("color", "12", Ok(json!(12))),
            ("color", " -3 ", Ok(json!(-3))),
            ("color", "+1_000", Ok(json!(1000))),
            ("color", "", Ok(json!(false))),
            ("color", "1.5", Err(INTEGER)),
            ("color", "twelve", Err(INTEGER)),
            ("color", "1__0", Err(INTEGER)),
            ("color", "99999999999999999999", Err(INTEGER)),
            ("ref_id", "7", Ok(json!(7))),
            ("partner_latitude", "50.85", Ok(json!(50.85))),
            ("partner_latitude", "-4", Ok(json!(-4.0))),
            ("partner_latitude", "1e3", Ok(json!(1000.0))),
            ("partner_latitude", "", Ok(json!(false))),
            ("partner_latitude", "inf", Err(NUMBER)),
            ("partner_latitude", "NaN", Err(NUMBER)),
            ("partner_latitude", "1,5", Err(NUMBER)),
            ("amount", "19.99", Ok(json!(19.99))),
            ("active", "true", Ok(json!(true))),
            ("active", "True", Ok(json!(true))),
            ("active", "1", Ok(json!(true))),
            ("active", "on", Ok(json!(true))),
            ("active", "false", Ok(json!(false))),
            ("active", "False", Ok(json!(false))),
            ("active", "0", Ok(json!(false))),
            ("active", "off", Ok(json!(false))),
            ("active", "", Ok(json!(false))),
            ("active", "yes please", Err(BOOLEAN)),
            ("parent_id", "7", Ok(json!(7))),
            ("parent_id", "", Ok(json!(false))),
            ("parent_id", "False", Ok(json!(false))),
            ("parent_id", "0", Ok(json!(false))),
            ("parent_id", "[7, 'Azure Interior']", Ok(json!(7))),
            ("parent_id", "[7, \"Azure Interior\"]", Ok(json!(7))),
            ("parent_id", "-7", Err(RECORD_ID)),
            ("parent_id", "Azure", Err(RECORD_ID)),
            ("name", "Azure Interior", Ok(json!("Azure Interior"))),
            ("name", " padded ", Ok(json!(" padded "))),
            ("name", "False", Ok(json!("False"))),
            ("name", "", Ok(json!(false))),
            ("note", "two\nlines", Ok(json!("two\nlines"))),
            ("comment", "<p>hi</p>", Ok(json!("<p>hi</p>"))),
            (
                "activity_date_deadline",
                "2026-11-30",
                Ok(json!("2026-11-30")),
            ),
            ("activity_date_deadline", "", Ok(json!(false))),
            (
                "create_date",
                "2026-11-30 04:04:43",
                Ok(json!("2026-11-30 04:04:43")),
            ),
            ("image_1920", "iVBORw0KGgo=", Ok(json!("iVBORw0KGgo="))),
            ("type", "invoice", Ok(json!("invoice"))),
            ("type", "", Ok(json!(false))),
            ("type", "home", Err(SELECTION)),
            ("priority", "1", Ok(json!(1))),
            ("props", "{\"a\": 1}", Ok(json!({"a": 1}))),
            ("props", "{a", Err(JSON_VALUE)),
        ];
        for (field, raw, want) in table {
            check(field, Form(raw), Create, want);
        }
    }

    #[test]
    fn form_x2many() {
        let table: Vec<(&str, &str, Op, Result<Value, &'static str>)> = vec![
            ("category_id", "[1, 2]", Create, Ok(json!([[4, 1], [4, 2]]))),
            (
                "category_id",
                "[1, 2]",
                Write,
                Ok(json!([[5], [4, 1], [4, 2]])),
            ),
            ("category_id", "(3,)", Create, Ok(json!([[4, 3]]))),
            ("category_id", "3", Create, Ok(json!([[4, 3]]))),
            ("category_id", "1,2", Create, Ok(json!([[4, 1], [4, 2]]))),
            ("category_id", "['4']", Create, Ok(json!([[4, 4]]))),
            ("category_id", "", Write, Ok(json!([[5]]))),
            ("category_id", "False", Create, Ok(json!([]))),
            (
                "category_id",
                "[{'id': 5, 'name': 'x'}]",
                Write,
                Ok(json!([[5], [4, 5]])),
            ),
            (
                "category_id",
                "[{\"id\": 5, \"active\": true}]",
                Create,
                Ok(json!([[4, 5]])),
            ),
            (
                "category_id",
                "[(6, 0, [1, 2])]",
                Write,
                Ok(json!([[6, 0, [1, 2]]])),
            ),
            (
                "category_id",
                "[[6, 0, [1, 2]]]",
                Create,
                Ok(json!([[6, 0, [1, 2]]])),
            ),
            ("category_id", "[(9, 1)]", Create, Err(RECORD_IDS)),
            ("category_id", "[{'name': 'new'}]", Create, Err(RECORD_IDS)),
            ("category_id", "[-1]", Create, Err(RECORD_IDS)),
            ("category_id", "['x']", Create, Err(RECORD_IDS)),
            ("category_id", "[1, (4, 2)]", Create, Err(RECORD_IDS)),
            ("category_id", "tags", Create, Err(RECORD_IDS)),
            ("category_id", "__import__('os')", Create, Err(RECORD_IDS)),
            (
                "child_ids",
                "[{'name': 'Jo'}]",
                Create,
                Ok(json!([[0, 0, {"name": "Jo"}]])),
            ),
            (
                "child_ids",
                "[{'id': 8, 'name': 'Jo'}]",
                Create,
                Ok(json!([[0, 0, {"id": 8, "name": "Jo"}]])),
            ),
            (
                "child_ids",
                "[{'id': 8, 'name': 'Jo'}, {'id': 9}, {'name': 'New'}]",
                Write,
                Ok(json!([[1, 8, {"name": "Jo"}], [2, 9], [0, 0, {"name": "New"}]])),
            ),
            ("child_ids", "[8]", Write, Ok(json!([[4, 8]]))),
            ("child_ids", "[]", Write, Ok(json!([]))),
            ("child_ids", "[{'id': 'x'}]", Write, Err(ONE2MANY)),
            ("child_ids", "[None]", Create, Err(ONE2MANY)),
        ];
        for (field, raw, op, want) in table {
            check(field, Form(raw), op, want);
        }
    }

    #[test]
    fn json_values() {
        let table: Vec<(&str, Value, Op, Result<Value, &'static str>)> = vec![
            ("color", json!(12), Create, Ok(json!(12))),
            ("color", json!("12"), Create, Ok(json!(12))),
            ("color", json!(12.0), Create, Ok(json!(12))),
            ("color", json!(12.5), Create, Err(INTEGER)),
            ("color", json!(null), Create, Ok(json!(false))),
            ("color", json!(true), Create, Err(INTEGER)),
            ("partner_latitude", json!(50.85), Create, Ok(json!(50.85))),
            ("partner_latitude", json!(4), Create, Ok(json!(4))),
            ("partner_latitude", json!("4.5"), Create, Ok(json!(4.5))),
            ("partner_latitude", json!([4]), Create, Err(NUMBER)),
            ("active", json!(true), Create, Ok(json!(true))),
            ("active", json!(0), Create, Ok(json!(false))),
            ("active", json!("off"), Create, Ok(json!(false))),
            ("active", json!(2), Create, Err(BOOLEAN)),
            ("parent_id", json!(7), Create, Ok(json!(7))),
            (
                "parent_id",
                json!([7, "Azure Interior"]),
                Create,
                Ok(json!(7)),
            ),
            ("parent_id", json!(false), Create, Ok(json!(false))),
            ("parent_id", json!(null), Create, Ok(json!(false))),
            ("parent_id", json!("7"), Create, Ok(json!(7))),
            ("parent_id", json!(-1), Create, Err(RECORD_ID)),
            ("parent_id", json!({"id": 7}), Create, Err(RECORD_ID)),
            ("name", json!("Azure"), Create, Ok(json!("Azure"))),
            ("name", json!(""), Create, Ok(json!(""))),
            ("name", json!("False"), Create, Ok(json!("False"))),
            ("name", json!(1000), Create, Ok(json!("1000"))),
            ("name", json!(null), Create, Ok(json!(false))),
            ("name", json!(true), Create, Err(TEXT)),
            ("name", json!(["a"]), Create, Err(TEXT)),
            ("type", json!("other"), Create, Ok(json!("other"))),
            ("type", json!("home"), Create, Err(SELECTION)),
            ("priority", json!(1), Create, Ok(json!(1))),
            ("priority", json!(2), Create, Err(SELECTION)),
            ("props", json!({"a": [1]}), Create, Ok(json!({"a": [1]}))),
            ("props", json!("text"), Create, Ok(json!("text"))),
            (
                "category_id",
                json!([1, 2]),
                Write,
                Ok(json!([[5], [4, 1], [4, 2]])),
            ),
            (
                "category_id",
                json!([{"id": 3}]),
                Create,
                Ok(json!([[4, 3]])),
            ),
            (
                "category_id",
                json!("[1, 2]"),
                Create,
                Ok(json!([[4, 1], [4, 2]])),
            ),
            ("category_id", json!(null), Write, Ok(json!([[5]]))),
            ("category_id", json!(3), Create, Ok(json!([[4, 3]]))),
            (
                "category_id",
                json!([[6, 0, [3]]]),
                Write,
                Ok(json!([[6, 0, [3]]])),
            ),
            ("category_id", json!(true), Create, Err(RECORD_IDS)),
            (
                "child_ids",
                json!([{"name": "Jo", "active": true}]),
                Create,
                Ok(json!([[0, 0, {"name": "Jo", "active": true}]])),
            ),
            (
                "child_ids",
                json!([{"id": 8, "name": "Jo"}, {"id": 9}]),
                Write,
                Ok(json!([[1, 8, {"name": "Jo"}], [2, 9]])),
            ),
            (
                "child_ids",
                json!({"name": "Jo"}),
                Create,
                Ok(json!([[0, 0, {"name": "Jo"}]])),
            ),
        ];
        for (field, value, op, want) in table {
            check(field, Json(value), op, want);
        }
    }

    #[test]
    fn unknown_fields_are_passed_on_as_sent() {
        let fields = fields();
        assert_eq!(coerce_form(&fields, "nmae", "7", Create), Ok(json!("7")));
        assert_eq!(coerce_form(&fields, "nmae", "", Write), Ok(json!("")));
        for value in [json!(1), json!(null), json!([[4, 1]]), json!({"a": "b"})] {
            assert_eq!(
                coerce_json(&fields, "nmae", &value, Write),
                Ok(value.clone())
            );
        }
    }

    #[test]
    fn errors_read_well() {
        let error = coerce_form(&fields(), "color", "x", Create).expect_err("not an integer");
        assert_eq!(
            error.to_string(),
            "invalid value for field `color`: expected an integer"
        );
    }

    #[test]
    fn records_coerce_member_by_member() {
        let fields = fields();
        let form = coerce_form_record(
            &fields,
            [
                ("name", "Jo"),
                ("color", "3"),
                ("category_id", "[1]"),
                ("name", "Joe"),
            ],
            Write,
        )
        .expect("all known");
        assert_eq!(
            Value::Object(form),
            json!({"name": "Joe", "color": 3, "category_id": [[5], [4, 1]]})
        );

        let record = json!({"name": "Jo", "parent_id": null, "child_ids": [{"name": "Kid"}]});
        let Value::Object(record) = record else {
            unreachable!("a JSON object literal")
        };
        let coerced = coerce_json_record(&fields, &record, Create).expect("all known");
        assert_eq!(
            Value::Object(coerced),
            json!({"name": "Jo", "parent_id": false, "child_ids": [[0, 0, {"name": "Kid"}]]})
        );

        let passed_on = coerce_form_record(&fields, [("color", "1"), ("bogus", "1")], Create)
            .expect("bogus is the ERP's business");
        assert_eq!(Value::Object(passed_on), json!({"color": 1, "bogus": "1"}));
    }
}
