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
    let stored = db.value_ref(table, id, row, field);
    let value: &Value = &stored;
    if depth + 1 < leaf.path.len() {
        // A dotted path: the record matches if any record it points to does.
        let Some(comodel) = definition.kind.relation().and_then(schema::model_index) else {
            return false;
        };
        let targets: Vec<i64> = match value {
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
            related_ids(value, definition.kind, id)
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
        Operator::ParentOf => related_ids(value, definition.kind, id)
            .into_iter()
            .any(|candidate| leaf.hierarchy.contains(&candidate)),
        _ => match definition.kind {
            Kind::One2many(comodel, _) | Kind::Many2many(comodel) => x2many_matches(
                db,
                comodel,
                value,
                leaf.operator,
                &leaf.value,
                leaf.pattern.as_ref(),
            ),
            Kind::Many2one(comodel) if by_name(&leaf.value) || is_pattern(leaf.operator) => {
                let name = value
                    .as_i64()
                    .map(|target| display_name(db, comodel, target))
                    .unwrap_or(Value::Bool(false));
                scalar_matches(
                    Kind::Char,
                    &name,
                    leaf.operator,
                    &leaf.value,
                    leaf.pattern.as_ref(),
                )
            }
            kind => scalar_matches(
                kind,
                value,
                leaf.operator,
                &leaf.value,
                leaf.pattern.as_ref(),
            ),
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
    pattern: Option<&Pattern>,
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
            !names().any(|name| like(&name, op, operand, pattern))
        }
        _ => {
            names().any(|name| scalar_matches(Kind::Char, &name, op, operand, pattern))
                || ids.iter().any(|id| {
                    scalar_matches(Kind::Integer, &Value::from(*id), op, operand, pattern)
                })
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
fn scalar_matches(
    kind: Kind,
    value: &Value,
    op: Operator,
    operand: &Value,
    pattern: Option<&Pattern>,
) -> bool {
    if kind == Kind::Boolean {
        let value = Value::from(truthy(value));
        let operand = match operand {
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| Value::from(truthy(v))).collect())
            }
            other => Value::from(truthy(other)),
        };
        return scalar_matches(Kind::Integer, &value, op, &operand, pattern);
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
            !is_null && like(value, op, operand, pattern)
        }
        Operator::NotLike | Operator::NotILike => is_null || !like(value, op, operand, pattern),
        Operator::ChildOf | Operator::ParentOf => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Any,
    One,
    Literal(char),
}

/// A compiled SQL `LIKE` pattern: `%` any run, `_` any one character, `\` escapes the next.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    tokens: Vec<Token>,
    /// `ilike` / `=ilike`: literals are lowercase and text is folded while matching.
    insensitive: bool,
}

fn fold(character: char) -> char {
    if character.is_ascii() {
        character.to_ascii_lowercase()
    } else {
        character.to_lowercase().next().unwrap_or(character)
    }
}

impl Pattern {
    /// The pattern of a `like`-family leaf (`like` and `ilike` match anywhere in the text).
    pub(crate) fn new(op: Operator, operand: &Value) -> Option<Pattern> {
        let text = match operand {
            Value::String(text) => text.clone(),
            Value::Null | Value::Bool(false) => String::new(),
            other => other.to_string(),
        };
        let (anywhere, insensitive) = match op {
            Operator::Like | Operator::NotLike => (true, false),
            Operator::ILike | Operator::NotILike => (true, true),
            Operator::EqualLike => (false, false),
            Operator::EqualILike => (false, true),
            _ => return None,
        };
        let mut pattern = Pattern::raw(&text, insensitive);
        if anywhere {
            pattern.tokens.insert(0, Token::Any);
            pattern.tokens.push(Token::Any);
        }
        Some(pattern)
    }

    fn raw(pattern: &str, insensitive: bool) -> Pattern {
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
        if insensitive {
            for token in &mut tokens {
                if let Token::Literal(c) = token {
                    *c = fold(*c);
                }
            }
        }
        Pattern {
            tokens,
            insensitive,
        }
    }

    /// Whether a stored value (text, or a number as text) matches; empty values never do.
    fn matches_value(&self, value: &Value) -> bool {
        match value {
            Value::String(text) => self.matches(text),
            Value::Null | Value::Bool(false) => false,
            other => self.matches(&other.to_string()),
        }
    }

    /// Greedy matching with one backtrack point per `%`, over byte offsets of `text`.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let tokens = &self.tokens;
        let (mut t, mut p) = (0, 0);
        let mut backtrack: Option<(usize, usize)> = None;
        while let Some(character) = text[t..].chars().next() {
            let width = character.len_utf8();
            let character = if self.insensitive {
                fold(character)
            } else {
                character
            };
            match tokens.get(p) {
                Some(Token::Any) => {
                    backtrack = Some((p, t));
                    p += 1;
                }
                Some(Token::One) => {
                    t += width;
                    p += 1;
                }
                Some(Token::Literal(c)) if *c == character => {
                    t += width;
                    p += 1;
                }
                _ => match backtrack {
                    Some((star, matched)) => {
                        let skipped = text[matched..].chars().next().map_or(1, char::len_utf8);
                        p = star + 1;
                        t = matched + skipped;
                        backtrack = Some((star, t));
                    }
                    None => return false,
                },
            }
        }
        tokens[p.min(tokens.len())..]
            .iter()
            .all(|token| *token == Token::Any)
    }
}

/// SQL `LIKE` of `text` against `pattern`, case-sensitive.
#[cfg(test)]
pub(crate) fn like_match(text: &str, pattern: &str) -> bool {
    Pattern::raw(pattern, false).matches(text)
}

/// Uses the leaf's compiled pattern, or compiles one (for values compared by name).
fn like(value: &Value, op: Operator, operand: &Value, pattern: Option<&Pattern>) -> bool {
    match pattern {
        Some(pattern) => pattern.matches_value(value),
        None => Pattern::new(op, operand).is_some_and(|pattern| pattern.matches_value(value)),
    }
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
