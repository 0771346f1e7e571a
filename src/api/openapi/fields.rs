//! JSON Schemas for one ERP field, from its `fields_get` description: the shape `search_read`
//! answers (empty values as Odoo sends them: `false` for text, dates, many2one, binary and
//! selection; `0` for numbers; `[]` for x2many), the JSON values a create or write accepts, and
//! the text a form body may carry. No I/O.

use serde_json::{json, Map, Value};

/// Odoo's date and datetime formats (`2026-11-30`, `2026-11-30 04:04:43`, UTC).
const DATE: &str = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$";
const DATETIME: &str =
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$";
/// PostgreSQL's `integer`, the column type of Odoo's integer fields and record ids.
pub const INT32_MAX: i64 = 2_147_483_647;
const INT32_MIN: i64 = -2_147_483_648;

fn kind(field: &Value) -> &str {
    field.get("type").and_then(Value::as_str).unwrap_or("")
}

/// `true` when the ERP marks the field read-only (a create or write must leave it out).
pub fn is_readonly(field: &Value) -> bool {
    field.get("readonly").and_then(Value::as_bool) == Some(true)
}

/// `true` when the ERP says a create must give the field.
pub fn is_required(field: &Value) -> bool {
    field.get("required").and_then(Value::as_bool) == Some(true)
}

/// The keys of a selection field, as `fields_get` spells them (text or numbers); `None` for a
/// selection without a fixed list.
fn selection_keys(field: &Value) -> Option<Vec<Value>> {
    let options = field.get("selection")?.as_array()?;
    Some(
        options
            .iter()
            .filter_map(|option| option.as_array()?.first().cloned())
            .collect(),
    )
}

/// Label, help and relation of the field, for `title` and `description`.
fn annotate(mut schema: Map<String, Value>, field: &Value) -> Value {
    if let Some(label) = field.get("string").and_then(Value::as_str) {
        schema.insert("title".into(), label.into());
    }
    let mut description = format!("Odoo type `{}`", kind(field));
    if let Some(relation) = field.get("relation").and_then(Value::as_str) {
        description.push_str(&format!(" of `{relation}`"));
    }
    if let Some(help) = field.get("help").and_then(Value::as_str) {
        description.push_str(". ");
        description.push_str(help);
    }
    schema.insert("description".into(), description.into());
    Value::Object(schema)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn or_false(schema: Value) -> Value {
    json!({"anyOf": [schema, {"const": false}]})
}

/// The value `search_read` answers for this field.
pub fn read(field: &Value) -> Value {
    let schema = match kind(field) {
        "char" | "text" | "html" | "reference" => or_false(json!({"type": "string"})),
        "selection" => match selection_keys(field) {
            Some(keys) => or_false(json!({ "enum": keys })),
            None => or_false(json!({"type": "string"})),
        },
        "integer" => json!({"type": "integer"}),
        "many2one_reference" => or_false(json!({"type": "integer"})),
        "float" | "monetary" => json!({"type": "number"}),
        "boolean" => json!({"type": "boolean"}),
        "date" => or_false(json!({"type": "string", "pattern": DATE})),
        "datetime" => or_false(json!({"type": "string", "pattern": DATETIME})),
        // `[id, display name]`; a record without a name shows `false` as its name.
        "many2one" => or_false(json!({
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"anyOf": [{"type": "string"}, {"const": false}]}],
            "minItems": 2,
            "maxItems": 2,
        })),
        "one2many" | "many2many" => json!({"type": "array", "items": {"type": "integer"}}),
        "binary" => or_false(json!({"type": "string", "contentEncoding": "base64"})),
        // json, properties and types this proxy does not know: any JSON value.
        _ => json!({}),
    };
    let mut schema = object(schema);
    if is_readonly(field) {
        schema.insert("readOnly".into(), true.into());
    }
    annotate(schema, field)
}

/// A record id in a write: a positive PostgreSQL integer.
fn record_id() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": INT32_MAX})
}

/// The JSON values a create or write accepts for this field (`null` and `false` clear it).
pub fn write_json(field: &Value) -> Value {
    let empty = [json!({"const": false}), json!({"type": "null"})];
    let with_empty = |schemas: Vec<Value>| {
        let mut all = schemas;
        all.extend(empty.iter().cloned());
        json!({ "anyOf": all })
    };
    let schema = match kind(field) {
        "char" | "text" | "html" | "reference" => with_empty(vec![json!({"type": "string"})]),
        "selection" => match selection_keys(field) {
            Some(keys) => with_empty(vec![json!({ "enum": keys })]),
            None => with_empty(vec![json!({"type": "string"})]),
        },
        "integer" | "many2one_reference" => with_empty(vec![json!({
            "type": "integer", "minimum": INT32_MIN, "maximum": INT32_MAX
        })]),
        "float" | "monetary" => with_empty(vec![json!({"type": "number"})]),
        "boolean" => json!({"type": "boolean"}),
        "date" => with_empty(vec![
            json!({"type": "string", "format": "date", "pattern": DATE}),
        ]),
        "datetime" => with_empty(vec![json!({"type": "string", "pattern": DATETIME})]),
        "many2one" => with_empty(vec![
            record_id(),
            json!({
                "type": "array",
                "description": "[id, display name], as search_read answers it",
                "prefixItems": [record_id(), {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            }),
        ]),
        "one2many" | "many2many" => json!({
            "type": "array",
            "items": {"anyOf": [
                record_id(),
                {"type": "object", "properties": {"id": record_id()}},
                {
                    "type": "array",
                    "description": "an ORM command: [0, 0, {values}], [1, id, {values}], [2, id], [3, id], [4, id], [5], [6, 0, [ids]]",
                    "prefixItems": [{"type": "integer", "minimum": 0, "maximum": 6}],
                    "minItems": 1,
                    "maxItems": 3,
                },
            ]},
        }),
        "binary" => with_empty(vec![json!({"type": "string", "contentEncoding": "base64"})]),
        _ => json!({}),
    };
    annotate(object(schema), field)
}

/// The text a form body may carry for this field (an empty value clears it).
pub fn write_form(field: &Value) -> Value {
    let text = |pattern: &str| json!({"type": "string", "pattern": pattern});
    let schema = match kind(field) {
        "selection" => match selection_keys(field) {
            Some(keys) => {
                let mut texts: Vec<Value> = keys
                    .iter()
                    .map(|key| match key {
                        Value::String(_) => key.clone(),
                        other => Value::String(other.to_string()),
                    })
                    .collect();
                texts.push("".into());
                json!({"type": "string", "enum": texts})
            }
            None => json!({"type": "string"}),
        },
        "integer" | "many2one_reference" => text(r"^(-?\d{1,9})?$"),
        "float" | "monetary" => text(r"^(-?\d{1,9}(\.\d{1,6})?)?$"),
        "boolean" => {
            json!({"type": "string", "enum": ["true", "false", "1", "0", "on", "off", ""]})
        }
        "date" => text(r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8]))?$"),
        "datetime" => {
            text(r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d)?$")
        }
        "many2one" => text(r"^(\d{1,9}|False)?$"),
        "one2many" | "many2many" => json!({
            "type": "string",
            "description": "a Python or JSON list: ids `[1, 2]`, records `[{'id': 1}]`, or ORM commands `[(6, 0, [1, 2])]`",
            "examples": ["[1, 2]"],
        }),
        _ => json!({"type": "string"}),
    };
    annotate(object(schema), field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_shapes_carry_odoo_empty_values() {
        let char_field = json!({"type": "char", "string": "Name"});
        let schema = read(&char_field);
        assert_eq!(schema["anyOf"][1], json!({"const": false}));
        assert_eq!(schema["title"], "Name");
        let selection = json!({"type": "selection", "selection": [["a", "A"], ["b", "B"]]});
        assert_eq!(read(&selection)["anyOf"][0]["enum"], json!(["a", "b"]));
        let readonly = json!({"type": "datetime", "readonly": true});
        assert_eq!(read(&readonly)["readOnly"], true);
        assert_eq!(read(&json!({"type": "integer"}))["type"], "integer");
    }

    #[test]
    fn form_selection_keys_are_text() {
        let selection = json!({"type": "selection", "selection": [[0, "Low"], [1, "High"]]});
        assert_eq!(write_form(&selection)["enum"], json!(["0", "1", ""]));
    }
}
