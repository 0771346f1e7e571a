//! Client values into stored values, per field type: numbers from text, selections checked,
//! dates normalised, HTML sanitised, many2one targets checked, x2many commands applied.
//! Errors are Odoo's fault texts. No I/O.

use serde_json::Value;

use super::data::{Database, TableId};
use super::faults::{py_repr, Fault, ReprStyle, Site};
use super::schema::{self, Field, Kind};

pub(crate) fn ids_of(value: &Value) -> Vec<i64> {
    match value {
        Value::Array(items) => items.iter().filter_map(Value::as_i64).collect(),
        _ => Vec::new(),
    }
}

fn wrong_value(model: &str, field: &Field, value: &Value) -> Fault {
    Fault::value_error(
        Site::Values,
        &format!(
            "Wrong value for {model}.{}: {}",
            field.name,
            py_repr(value, ReprStyle::List)
        ),
    )
}

/// Converts a client value into the stored form of `field`.
pub(crate) fn coerce(
    db: &Database,
    table: TableId,
    field: &Field,
    value: &Value,
    current: Option<&Value>,
) -> Result<Value, Fault> {
    let model = db.model(table).name;
    let empty = matches!(value, Value::Null | Value::Bool(false));
    Ok(match field.kind {
        Kind::Boolean => Value::Bool(match value {
            Value::Bool(flag) => *flag,
            Value::Number(number) => number.as_f64() != Some(0.0),
            Value::String(text) => !text.is_empty(),
            Value::Null => false,
            _ => return Err(wrong_value(model, field, value)),
        }),
        Kind::Integer => match value {
            _ if empty => Value::from(0),
            Value::Bool(true) => Value::from(1),
            Value::Number(number) => match (number.as_i64(), number.as_f64()) {
                (Some(int), _) => Value::from(int),
                (None, Some(float)) if float.is_finite() => Value::from(float.trunc() as i64),
                _ => return Err(wrong_value(model, field, value)),
            },
            Value::String(text) => match text.trim().parse::<i64>() {
                Ok(int) => Value::from(int),
                Err(_) => return Err(wrong_value(model, field, value)),
            },
            _ => return Err(wrong_value(model, field, value)),
        },
        Kind::Float => match value {
            _ if empty => Value::from(0.0),
            Value::Number(number) => Value::from(number.as_f64().unwrap_or_default()),
            Value::String(text) => match text.trim().parse::<f64>() {
                Ok(float) if float.is_finite() => Value::from(float),
                _ => return Err(wrong_value(model, field, value)),
            },
            _ => return Err(wrong_value(model, field, value)),
        },
        _ if empty && !field.kind.is_x2many() => Value::Bool(false),
        Kind::Char | Kind::Text | Kind::Binary => match value {
            Value::String(text) => Value::from(text.as_str()),
            Value::Number(number) => Value::from(number.to_string()),
            _ => return Err(wrong_value(model, field, value)),
        },
        Kind::Html => match value {
            Value::String(text) => Value::from(sanitize_html(text)),
            _ => return Err(wrong_value(model, field, value)),
        },
        Kind::Selection(options) => match value.as_str() {
            Some(text) if options.iter().any(|(option, _)| *option == text) => Value::from(text),
            _ => return Err(wrong_value(model, field, value)),
        },
        Kind::Date | Kind::Datetime => match value
            .as_str()
            .and_then(|text| normalize_date(field.kind, text))
        {
            Some(text) => Value::from(text),
            None => return Err(wrong_value(model, field, value)),
        },
        Kind::Many2one(comodel) => {
            let target = match value {
                Value::Number(number) => number.as_i64(),
                // [id, display_name], as read returns it.
                Value::Array(pair) => pair.first().and_then(Value::as_i64),
                _ => None,
            };
            match target {
                Some(0) => Value::Bool(false),
                Some(target) => {
                    check_target(db, comodel, target)?;
                    Value::from(target)
                }
                None => return Err(wrong_value(model, field, value)),
            }
        }
        Kind::Many2many(_) => {
            let current = current.map(ids_of).unwrap_or_default();
            let ids = x2many_ids(db, field, value, &current)?;
            Value::Array(ids.into_iter().map(Value::from).collect())
        }
        Kind::One2many(..) => Value::Null,
    })
}

pub(crate) fn check_target(db: &Database, comodel: &str, target: i64) -> Result<(), Fault> {
    match schema::model_index(comodel) {
        Some(table) if db.exists(table, target) => Ok(()),
        _ => Err(Fault::missing(comodel, &[target], 1)),
    }
}

/// Applies x2many commands (`[6, 0, ids]`, `[4, id]`, `[3, id]`, `[5]`) or a plain id list.
pub(crate) fn x2many_ids(
    db: &Database,
    field: &Field,
    value: &Value,
    current: &[i64],
) -> Result<Vec<i64>, Fault> {
    let comodel = field.kind.relation().unwrap_or_default();
    let wrong = || {
        Fault::value_error(
            Site::Values,
            &format!("Wrong value for {}: {value}", field.name),
        )
    };
    let Value::Array(items) = value else {
        return if matches!(value, Value::Bool(false) | Value::Null) {
            Ok(Vec::new())
        } else {
            Err(wrong())
        };
    };
    let mut ids = current.to_vec();
    if items.iter().all(|item| item.is_i64()) {
        ids = items.iter().filter_map(Value::as_i64).collect();
    } else {
        for command in items {
            let Value::Array(parts) = command else {
                return Err(wrong());
            };
            match (
                parts.first().and_then(Value::as_i64),
                parts.get(1).and_then(Value::as_i64),
                parts.get(2),
            ) {
                (Some(6), _, Some(Value::Array(list))) => {
                    ids = list.iter().filter_map(Value::as_i64).collect()
                }
                (Some(4), Some(id), _) if !ids.contains(&id) => ids.push(id),
                (Some(4), Some(_), _) => {}
                (Some(3) | Some(2), Some(id), _) => ids.retain(|existing| *existing != id),
                (Some(5), _, _) => ids.clear(),
                _ => return Err(wrong()),
            }
        }
    }
    ids.dedup();
    for id in &ids {
        check_target(db, comodel, *id)?;
    }
    Ok(ids)
}

/// `YYYY-MM-DD` for dates; `YYYY-MM-DD HH:MM:SS` for datetimes (a date gets midnight).
pub(crate) fn normalize_date(kind: Kind, text: &str) -> Option<String> {
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let valid_date = matches!((parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(y), Some(m), Some(d), None) if digits(y, 4) && digits(m, 2) && digits(d, 2));
    if !valid_date {
        return None;
    }
    match (kind, time) {
        (Kind::Date, None) => Some(date.to_string()),
        (Kind::Datetime, None) => Some(format!("{date} 00:00:00")),
        (Kind::Datetime, Some(time)) => {
            let time = time.get(..8)?;
            let mut parts = time.split(':');
            let valid = matches!((parts.next(), parts.next(), parts.next()),
                (Some(h), Some(m), Some(s)) if digits(h, 2) && digits(m, 2) && digits(s, 2));
            valid.then(|| format!("{date} {time}"))
        }
        _ => None,
    }
}

/// What Odoo's sanitizer visibly does to simple HTML: escapes bare `&` and drops scripts.
pub(crate) fn sanitize_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 8);
    let mut rest = html;
    while let Some(start) = rest.to_ascii_lowercase().find("<script") {
        out.push_str(&rest[..start]);
        let lower = rest[start..].to_ascii_lowercase();
        rest = match lower.find("</script>") {
            Some(end) => &rest[start + end + "</script>".len()..],
            None => "",
        };
    }
    out.push_str(rest);
    let mut escaped = String::with_capacity(out.len() + 8);
    for (index, character) in out.char_indices() {
        if character == '&' && !starts_entity(&out[index + 1..]) {
            escaped.push_str("&amp;");
        } else {
            escaped.push(character);
        }
    }
    escaped
}

fn starts_entity(text: &str) -> bool {
    let Some(end) = text.find(';') else {
        return false;
    };
    let name = &text[..end];
    !name.is_empty()
        && name.len() <= 32
        && (name.chars().all(|c| c.is_ascii_alphanumeric())
            || name.strip_prefix('#').is_some_and(|n| {
                (!n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                    || n.strip_prefix(['x', 'X'])
                        .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizer_keeps_entities() {
        assert_eq!(
            sanitize_html("<p>a &amp; b & c &#39; &#x27; &nbsp;</p>"),
            "<p>a &amp; b &amp; c &#39; &#x27; &nbsp;</p>"
        );
        assert_eq!(
            sanitize_html("x<SCRIPT>bad()</script>y &#; &"),
            "xy &amp;#; &amp;"
        );
        assert_eq!(
            normalize_date(Kind::Datetime, "2026-01-02"),
            Some("2026-01-02 00:00:00".into())
        );
        assert_eq!(
            normalize_date(Kind::Datetime, "2026-01-02T03:04:05"),
            Some("2026-01-02 03:04:05".into())
        );
        assert_eq!(normalize_date(Kind::Date, "2026-1-2"), None);
    }
}
