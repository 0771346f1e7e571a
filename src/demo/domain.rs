//! Search domains: parsing Odoo's prefix notation (`&`, `|`, `!`, implicit `&` between
//! leaves) into a flat program, and matching records against it. Leaves support
//! `= != < > <= >= in not in like not like ilike not ilike =like =ilike =? child_of parent_of`,
//! dotted paths through relational fields (`country_id.code`), many2one compared by id or by
//! display name, and `= False` on empty fields. Unknown fields and operators raise Odoo's
//! fault 1 tracebacks. Evaluation uses no recursion on the domain, so no input can blow the
//! stack. No I/O.

use std::collections::HashSet;

use serde_json::Value;

use super::data::{Database, Row, TableId};
use super::faults::Fault;
use super::matching::{leaf_matches, Pattern};
use super::schema;

/// At most this many dotted parts in a leaf's field path.
const MAX_PATH: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Operator {
    Equal,
    NotEqual,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    In,
    NotIn,
    Like,
    NotLike,
    ILike,
    NotILike,
    EqualLike,
    EqualILike,
    EqualIfSet,
    ChildOf,
    ParentOf,
}

fn operator(name: &str) -> Option<Operator> {
    Some(match name.to_ascii_lowercase().as_str() {
        "=" | "==" => Operator::Equal,
        "!=" | "<>" => Operator::NotEqual,
        "<" => Operator::Less,
        ">" => Operator::Greater,
        "<=" => Operator::LessOrEqual,
        ">=" => Operator::GreaterOrEqual,
        "in" => Operator::In,
        "not in" => Operator::NotIn,
        "like" => Operator::Like,
        "not like" => Operator::NotLike,
        "ilike" => Operator::ILike,
        "not ilike" => Operator::NotILike,
        "=like" => Operator::EqualLike,
        "=ilike" => Operator::EqualILike,
        "=?" => Operator::EqualIfSet,
        "child_of" => Operator::ChildOf,
        "parent_of" => Operator::ParentOf,
        _ => return None,
    })
}

/// One condition on a (possibly dotted) field.
#[derive(Debug)]
pub(crate) struct Leaf {
    /// (table, field) for each part of the path.
    pub(crate) path: Vec<(TableId, usize)>,
    pub(crate) operator: Operator,
    pub(crate) value: Value,
    /// For `child_of` / `parent_of`: the ids a record (or its value) must be among.
    pub(crate) hierarchy: HashSet<i64>,
    /// For the `like` family: the compiled pattern.
    pub(crate) pattern: Option<Pattern>,
}

/// One step of the postfix program.
#[derive(Debug)]
enum Step {
    Leaf(Leaf),
    Constant(bool),
    Not,
    And,
    Or,
}

/// A parsed domain, ready to match records of one model.
#[derive(Debug)]
pub(crate) struct Domain {
    table: TableId,
    /// Postfix: leaves push a bool, operators pop theirs; the result is the AND of the stack.
    steps: Vec<Step>,
    /// Whether a leaf names the `active` field (which turns off the implicit `active = True`).
    mentions_active: bool,
}

/// Parses `domain` (an array, or `false`/nil for "everything") for `table`.
pub(crate) fn parse(db: &Database, table: TableId, domain: &Value) -> Result<Domain, Fault> {
    let items: &[Value] = match domain {
        Value::Array(items) => items,
        Value::Null | Value::Bool(false) => &[],
        other => return Err(Fault::invalid_domain(other)),
    };
    // Odoo checks every leaf's field first, then the structure and the operators.
    let mut paths = Vec::with_capacity(items.len());
    for item in items {
        paths.push(match item {
            Value::Array(leaf) if leaf.len() == 3 => resolve_path(db, table, item, &leaf[0])?,
            _ => None,
        });
    }
    let mut steps = Vec::with_capacity(items.len());
    let mut mentions_active = false;
    let mut depth: usize = 0;
    for (item, path) in items.iter().zip(paths).rev() {
        match item {
            Value::String(op) if op == "!" => {
                if depth < 1 {
                    return Err(Fault::invalid_domain(domain));
                }
                steps.push(Step::Not);
            }
            Value::String(op) if op == "&" || op == "|" => {
                if depth < 2 {
                    return Err(Fault::invalid_domain(domain));
                }
                depth -= 1;
                steps.push(if op == "&" { Step::And } else { Step::Or });
            }
            Value::Array(leaf) if leaf.len() == 3 => {
                depth += 1;
                let Some(op) = leaf[1].as_str().and_then(operator) else {
                    return Err(Fault::invalid_leaf(item));
                };
                match (path, &leaf[0]) {
                    (Some(path), _) => {
                        if db.model(table).fields[path[0].1].name == "active" {
                            mentions_active = true;
                        }
                        let hierarchy = hierarchy(db, &path, op, &leaf[2]);
                        steps.push(Step::Leaf(Leaf {
                            path,
                            operator: op,
                            value: leaf[2].clone(),
                            hierarchy,
                            pattern: Pattern::new(op, &leaf[2]),
                        }));
                    }
                    // The constant leaves (1, '=', 1) and (0, '=', 1).
                    (None, Value::Number(number)) => {
                        steps.push(Step::Constant(number.as_i64() == Some(1)));
                    }
                    (None, _) => return Err(Fault::invalid_leaf(item)),
                }
            }
            _ => return Err(Fault::invalid_leaf(item)),
        }
    }
    Ok(Domain {
        table,
        steps,
        mentions_active,
    })
}

/// Resolves the field path of a leaf; `None` for the constant leaves (`1` / `0`).
fn resolve_path(
    db: &Database,
    table: TableId,
    leaf: &Value,
    field: &Value,
) -> Result<Option<Vec<(TableId, usize)>>, Fault> {
    let name = match field {
        Value::String(name) => name,
        Value::Number(number) if matches!(number.as_i64(), Some(0 | 1)) => return Ok(None),
        _ => return Err(Fault::invalid_leaf(leaf)),
    };
    let mut path = Vec::new();
    let mut current = Some(table);
    let parts: Vec<&str> = name.split('.').collect();
    for (position, part) in parts.iter().enumerate() {
        let model = db.model(current.unwrap_or(table));
        let index = match current {
            Some(_) if position < MAX_PATH => model.field_index(part),
            _ => None,
        };
        let Some(index) = index else {
            let rest = parts[position..].join(".");
            return Err(Fault::invalid_domain_field(model.name, &rest, leaf));
        };
        path.push((current.unwrap_or(table), index));
        current = model.fields[index]
            .kind
            .relation()
            .and_then(schema::model_index);
    }
    Ok(Some(path))
}

/// The id set a `child_of` / `parent_of` leaf tests against (empty for other operators).
fn hierarchy(
    db: &Database,
    path: &[(TableId, usize)],
    op: Operator,
    value: &Value,
) -> HashSet<i64> {
    if !matches!(op, Operator::ChildOf | Operator::ParentOf) {
        return HashSet::new();
    }
    let Some(&(table, field)) = path.last() else {
        return HashSet::new();
    };
    let definition = db.model(table).fields[field];
    let target = match definition.kind.relation() {
        Some(model) => schema::model_index(model).unwrap_or(table),
        None => table,
    };
    let roots: Vec<i64> = match value {
        Value::Array(items) => items.iter().filter_map(Value::as_i64).collect(),
        other => other.as_i64().into_iter().collect(),
    };
    let mut set: HashSet<i64> = roots.iter().copied().collect();
    if op == Operator::ParentOf {
        // Every ancestor of the given ids.
        for root in roots {
            let mut current = root;
            for _ in 0..32 {
                match parent_of(db, target, current) {
                    Some(parent) if set.insert(parent) => current = parent,
                    _ => break,
                }
            }
        }
    }
    set
}

pub(crate) fn parent_of(db: &Database, table: TableId, id: i64) -> Option<i64> {
    let row = db.table(table).row(id)?;
    db.stored(table, row, "parent_id").as_i64()
}

impl Domain {
    /// The ids of `self.table` that match, ascending. `active_test` adds Odoo's implicit
    /// `active = True` unless the domain names `active` itself.
    pub(crate) fn search(&self, db: &Database, active_test: bool) -> Vec<i64> {
        let table = db.table(self.table);
        let active = table
            .index("active")
            .filter(|_| active_test && !self.mentions_active);
        let mut stack = Vec::with_capacity(8);
        table
            .rows
            .iter()
            .filter(|(_, row)| {
                active.is_none_or(|active| row.get(active) != Some(&Value::Bool(false)))
            })
            .filter(|(id, row)| self.matches(db, **id, row, &mut stack))
            .map(|(id, _)| *id)
            .collect()
    }

    fn matches(&self, db: &Database, id: i64, row: &Row, stack: &mut Vec<bool>) -> bool {
        stack.clear();
        for step in &self.steps {
            let value = match step {
                Step::Leaf(leaf) => leaf_matches(db, leaf, 0, self.table, id, row),
                Step::Constant(value) => *value,
                Step::Not => !stack.pop().unwrap_or(true),
                Step::And => {
                    let (left, right) = (stack.pop(), stack.pop());
                    left.unwrap_or(true) && right.unwrap_or(true)
                }
                Step::Or => {
                    let (left, right) = (stack.pop(), stack.pop());
                    left.unwrap_or(false) || right.unwrap_or(false)
                }
            };
            stack.push(value);
        }
        stack.iter().all(|value| *value)
    }
}

#[cfg(test)]
#[path = "domain_tests.rs"]
mod tests;
