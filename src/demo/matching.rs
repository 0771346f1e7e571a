//! Matching one record against one domain leaf: dotted paths, many2one by id or by name,
//! x2many "any" semantics, SQL NULL semantics for empty values, and SQL `LIKE` patterns.
//! No I/O.

use std::cmp::Ordering;

use serde_json::Value;

use super::data::{Database, Row, TableId};
use super::domain::{parent_of, Leaf, Operator};
use super::schema::{self, Kind};

/// Whether the record matches the leaf from path part `depth` on.
pub(crate) fn leaf_matches(
    db: &Database,
    leaf: &Leaf,
    depth: usize,
    table: TableId,
    id: i64,
    row: &Row,
) -> bool {
    let Some(&(_, field)) = leaf.path.get(depth) else {
        return false;
    };
    let definition = db.model(table).fields[field];
    let value = db.value(table, id, row, field);
    if depth + 1 < leaf.path.len() {
        // A dotted path: the record matches if any record it points to does.
        let Some(comodel) = definition.kind.relation().and_then(schema::model_index) else {
            return false;
        };
        let targets: Vec<i64> = match &value {
            Value::Array(ids) => ids.iter().filter_map(Value::as_i64).collect(),
            other => other.as_i64().into_iter().collect(),
        };
        return targets.into_iter().any(|target| {
            db.table(comodel).row(target).is_some_and(|target_row| {
                leaf_matches(db, leaf, depth + 1, comodel, target, target_row)
            })
        });
    }
    match leaf.operator {
        Operator::ChildOf => {
            let comodel = definition
                .kind
                .relation()
                .and_then(schema::model_index)
                .unwrap_or(table);
            related_ids(&value, definition.kind, id)
                .into_iter()
                .any(|candidate| {
                    let mut current = candidate;
                    for _ in 0..32 {
                        if leaf.hierarchy.contains(&current) {
                            return true;
                        }
                        match parent_of(db, comodel, current) {
                            Some(parent) => current = parent,
                            None => return false,
                        }
                    }
                    false
                })
        }
        Operator::ParentOf => related_ids(&value, definition.kind, id)
            .into_iter()
            .any(|candidate| leaf.hierarchy.contains(&candidate)),
        _ => match definition.kind {
            Kind::One2many(comodel, _) | Kind::Many2many(comodel) => {
                x2many_matches(db, comodel, &value, leaf.operator, &leaf.value)
            }
            Kind::Many2one(comodel) if by_name(&leaf.value) || is_pattern(leaf.operator) => {
                let name = value
                    .as_i64()
                    .map(|target| display_name(db, comodel, target))
                    .unwrap_or(Value::Bool(false));
                scalar_matches(Kind::Char, &name, leaf.operator, &leaf.value)
            }
            kind => scalar_matches(kind, &value, leaf.operator, &leaf.value),
        },
    }
}

/// The ids a hierarchy operator looks at: the record itself for `id`, else the field's ids.
fn related_ids(value: &Value, kind: Kind, id: i64) -> Vec<i64> {
    match (kind.relation(), value) {
        (None, _) => vec![id],
        (Some(_), Value::Array(ids)) => ids.iter().filter_map(Value::as_i64).collect(),
        (Some(_), other) => other.as_i64().into_iter().collect(),
    }
}

fn display_name(db: &Database, model: &str, id: i64) -> Value {
    match db.name_pair(model, id) {
        Value::Array(mut pair) if pair.len() == 2 => pair.pop().unwrap_or(Value::Bool(false)),
        _ => Value::Bool(false),
    }
}

/// A many2one compared with text is compared by the target's display name.
fn by_name(operand: &Value) -> bool {
    match operand {
        Value::String(_) => true,
        Value::Array(items) => items.iter().any(Value::is_string),
        _ => false,
    }
}

fn is_pattern(op: Operator) -> bool {
    matches!(
        op,
        Operator::Like
            | Operator::NotLike
            | Operator::ILike
            | Operator::NotILike
            | Operator::EqualLike
            | Operator::EqualILike
    )
}

fn x2many_matches(
    db: &Database,
    comodel: &str,
    value: &Value,
    op: Operator,
    operand: &Value,
) -> bool {
    let ids: Vec<i64> = match value {
        Value::Array(ids) => ids.iter().filter_map(Value::as_i64).collect(),
        _ => Vec::new(),
    };
    let empty = ids.is_empty();
    let names = || ids.iter().map(|id| display_name(db, comodel, *id));
    let any_id = |wanted: &[Value]| {
        ids.iter().any(|id| {
            wanted.iter().any(|w| w.as_i64() == Some(*id))
                || wanted
                    .iter()
                    .any(|w| w.is_string() && display_name(db, comodel, *id) == *w)
        })
    };
    let list = operand_list(operand);
    let wants_empty = list.iter().any(is_false);
    match op {
        Operator::Equal | Operator::In if is_false(operand) => empty,
        Operator::NotEqual | Operator::NotIn if is_false(operand) => !empty,
        Operator::Equal | Operator::In => any_id(&list) || (wants_empty && empty),
        Operator::NotEqual | Operator::NotIn => !(any_id(&list) || (wants_empty && empty)),
        Operator::EqualIfSet if is_unset(operand) => true,
        Operator::EqualIfSet => any_id(&list),
        Operator::NotLike | Operator::NotILike => {
            let positive = if op == Operator::NotLike {
                Operator::Like
            } else {
                Operator::ILike
            };
            !names().any(|name| scalar_matches(Kind::Char, &name, positive, operand))
        }
        _ => {
            names().any(|name| scalar_matches(Kind::Char, &name, op, operand))
                || ids
                    .iter()
                    .any(|id| scalar_matches(Kind::Integer, &Value::from(*id), op, operand))
        }
    }
}

fn operand_list(operand: &Value) -> Vec<Value> {
    match operand {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn is_false(value: &Value) -> bool {
    matches!(value, Value::Bool(false) | Value::Null)
}

/// What `=?` treats as "no condition".
fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Bool(true) => true,
        Value::Number(number) => number.as_f64() != Some(0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(members) => !members.is_empty(),
    }
}

/// A leaf on a non-x2many field (`value` in stored form; `false` is SQL NULL except for
/// booleans).
fn scalar_matches(kind: Kind, value: &Value, op: Operator, operand: &Value) -> bool {
    if kind == Kind::Boolean {
        let value = Value::from(truthy(value));
        let operand = match operand {
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| Value::from(truthy(v))).collect())
            }
            other => Value::from(truthy(other)),
        };
        return scalar_matches(Kind::Integer, &value, op, &operand);
    }
    let is_null = is_false(value);
    match op {
        Operator::Equal if is_false(operand) => is_null,
        Operator::NotEqual if is_false(operand) => !is_null,
        Operator::Equal => !is_null && equal(value, operand),
        Operator::NotEqual => is_null || !equal(value, operand),
        Operator::EqualIfSet => is_unset(operand) || (!is_null && equal(value, operand)),
        Operator::Less | Operator::Greater | Operator::LessOrEqual | Operator::GreaterOrEqual => {
            let Some(ordering) = (!is_null).then(|| compare(value, operand)).flatten() else {
                return false;
            };
            match op {
                Operator::Less => ordering == Ordering::Less,
                Operator::Greater => ordering == Ordering::Greater,
                Operator::LessOrEqual => ordering != Ordering::Greater,
                _ => ordering != Ordering::Less,
            }
        }
        Operator::In | Operator::NotIn => {
            let list = operand_list(operand);
            let wants_null = list.iter().any(is_false);
            let found = if is_null {
                wants_null
            } else {
                list.iter().any(|item| equal(value, item))
            };
            if op == Operator::In {
                found
            } else if wants_null {
                !found
            } else {
                is_null || !found
            }
        }
        Operator::Like | Operator::ILike | Operator::EqualLike | Operator::EqualILike => {
            !is_null && like(value, op, operand)
        }
        Operator::NotLike => is_null || !like(value, Operator::Like, operand),
        Operator::NotILike => is_null || !like(value, Operator::ILike, operand),
        Operator::ChildOf | Operator::ParentOf => false,
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null | Value::Bool(false) => String::new(),
        other => other.to_string(),
    }
}

fn like(value: &Value, op: Operator, operand: &Value) -> bool {
    let text = text_of(value);
    let pattern = text_of(operand);
    let pattern = match op {
        Operator::Like | Operator::ILike => format!("%{pattern}%"),
        _ => pattern,
    };
    if matches!(op, Operator::ILike | Operator::EqualILike) {
        like_match(&text.to_lowercase(), &pattern.to_lowercase())
    } else {
        like_match(&text, &pattern)
    }
}

/// SQL `LIKE`: `%` any run, `_` any one character, `\` escapes the next one.
pub(crate) fn like_match(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Any,
        One,
        Literal(char),
    }
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            '\\' => Token::Literal(chars.next().unwrap_or('\\')),
            other => Token::Literal(other),
        });
    }
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut p) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Any) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Token::One) => {
                t += 1;
                p += 1;
            }
            Some(Token::Literal(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p.min(tokens.len())..]
        .iter()
        .all(|token| *token == Token::Any)
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::Bool(flag) => Some(if *flag { 1.0 } else { 0.0 }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn equal(value: &Value, operand: &Value) -> bool {
    match (value, operand) {
        (Value::String(left), Value::String(right)) => left == right,
        (Value::String(left), Value::Number(right)) => *left == right.to_string(),
        _ => match (number_of(value), number_of(operand)) {
            (Some(left), Some(right)) => left == right,
            _ => value == operand,
        },
    }
}

fn compare(value: &Value, operand: &Value) -> Option<Ordering> {
    match (value, operand) {
        (Value::String(left), Value::String(right)) => Some(left.as_str().cmp(right.as_str())),
        _ => number_of(value)?.partial_cmp(&number_of(operand)?),
    }
}
