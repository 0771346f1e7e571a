//! The model methods that `execute_kw` reaches: search_read, read, search, search_count,
//! create, write, unlink, fields_get, check_access and res.users.context_get, with Python's
//! argument binding (positional or keyword, `None` meaning "default"). Reads run under the
//! database read lock and return owned values; writes take the write lock. No I/O.

use std::sync::RwLock;

use serde_json::{Map, Value};

use super::data::{Database, TableId, USERS};
use super::domain;
use super::faults::{Fault, Site};
use super::order;
use super::records::{self, Stamp};
use super::schema::{Compute, Field, Kind};

/// The methods every model answers (plus `context_get` on res.users).
const METHODS: &[&str] = &[
    "search_read",
    "read",
    "search",
    "search_count",
    "create",
    "write",
    "unlink",
    "fields_get",
    "check_access",
];

/// What the access rules are checked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Operation {
    Read,
    Write,
    Create,
    Unlink,
}

/// The method's static name, if `table` has it.
pub(crate) fn resolve(table: TableId, method: &str) -> Option<&'static str> {
    match METHODS.iter().find(|known| **known == method) {
        Some(known) => Some(known),
        None if table == USERS && method == "context_get" => Some("context_get"),
        None => None,
    }
}

/// The operation a method needs, if it touches records.
pub(crate) fn operation(method: &str, args: &[Value]) -> Option<Operation> {
    match method {
        "search_read" | "read" | "search" | "search_count" => Some(Operation::Read),
        "create" => Some(Operation::Create),
        "write" => Some(Operation::Write),
        "unlink" => Some(Operation::Unlink),
        "check_access" => match args.get(1).and_then(Value::as_str) {
            Some("write") => Some(Operation::Write),
            Some("create") => Some(Operation::Create),
            Some("unlink") => Some(Operation::Unlink),
            _ => Some(Operation::Read),
        },
        _ => None,
    }
}

/// Python-style binding of positional and keyword arguments for one method.
struct Arguments<'a> {
    method: &'static str,
    positional: &'a [Value],
    keywords: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl<'a> Arguments<'a> {
    /// Argument `position` (0-based, after `self`) or keyword `name`; `None` if absent or nil.
    fn get(&mut self, position: usize, name: &'static str) -> Result<Option<&'a Value>, Fault> {
        self.used.push(name);
        let by_position = self.positional.get(position);
        let by_keyword = self.keywords.get(name);
        if by_position.is_some() && by_keyword.is_some() {
            return Err(Fault::type_error(
                Site::Model(self.method),
                &format!(
                    "{}() got multiple values for argument '{name}'",
                    self.method
                ),
            ));
        }
        Ok(by_position.or(by_keyword).filter(|value| !value.is_null()))
    }

    /// Fails on extra positional or unknown keyword arguments (`context` is always allowed).
    fn finish(self) -> Result<(), Fault> {
        if self.positional.len() > self.used.len() {
            return Err(Fault::type_error(
                Site::Model(self.method),
                &format!(
                    "{}() takes from 1 to {} positional arguments but {} were given",
                    self.method,
                    self.used.len() + 1,
                    self.positional.len() + 1
                ),
            ));
        }
        match self
            .keywords
            .keys()
            .find(|key| *key != "context" && !self.used.contains(&key.as_str()))
        {
            Some(key) => Err(Fault::type_error(
                Site::Model(self.method),
                &format!(
                    "{}() got an unexpected keyword argument '{key}'",
                    self.method
                ),
            )),
            None => Ok(()),
        }
    }
}

/// Calls `method` (already known to exist) on `table`.
pub(crate) fn call(
    database: &RwLock<Database>,
    table: TableId,
    method: &'static str,
    positional: &[Value],
    keywords: &Map<String, Value>,
    stamp: Stamp,
) -> Result<Value, Fault> {
    let mut args = Arguments {
        method,
        positional,
        keywords,
        used: Vec::new(),
    };
    let active_test = keywords
        .get("context")
        .and_then(|context| context.get("active_test"))
        .is_none_or(|flag| flag.as_bool() != Some(false));
    match method {
        "search_read" => {
            let domain = args.get(0, "domain")?.cloned().unwrap_or(Value::Null);
            let fields = args.get(1, "fields")?.cloned();
            let offset = integer(args.get(2, "offset")?, method)?;
            let limit = integer(args.get(3, "limit")?, method)?;
            let order = text(args.get(4, "order")?, method)?;
            args.finish()?;
            let db = read_lock(database);
            let fields = field_list(&db, table, fields.as_ref())?;
            let ids = search(&db, table, &domain, offset, limit, &order, active_test)?;
            let rows = ids
                .iter()
                .map(|id| db.read_record(table, *id, &fields))
                .collect();
            Ok(Value::Array(rows))
        }
        "read" => {
            let ids = id_list(args.get(0, "ids")?, method)?;
            let fields = args.get(1, "fields")?.cloned();
            args.get(2, "load")?;
            args.finish()?;
            let db = read_lock(database);
            let fields = field_list(&db, table, fields.as_ref())?;
            let mut seen = Vec::with_capacity(ids.len());
            let rows = ids
                .into_iter()
                .filter(|id| {
                    db.exists(table, *id) && !seen.contains(id) && {
                        seen.push(*id);
                        true
                    }
                })
                .map(|id| db.read_record(table, id, &fields))
                .collect();
            Ok(Value::Array(rows))
        }
        "search" => {
            let domain = args.get(0, "domain")?.cloned().unwrap_or(Value::Null);
            let offset = integer(args.get(1, "offset")?, method)?;
            let limit = integer(args.get(2, "limit")?, method)?;
            let order = text(args.get(3, "order")?, method)?;
            args.finish()?;
            let db = read_lock(database);
            let ids = search(&db, table, &domain, offset, limit, &order, active_test)?;
            Ok(Value::Array(ids.into_iter().map(Value::from).collect()))
        }
        "search_count" => {
            let domain = args.get(0, "domain")?.cloned().unwrap_or(Value::Null);
            let limit = integer(args.get(1, "limit")?, method)?;
            args.finish()?;
            let db = read_lock(database);
            let parsed = domain::parse(&db, table, &domain)?;
            let count = parsed.search(&db, active_test).len();
            Ok(Value::from(limit.map_or(count, |limit| count.min(limit))))
        }
        "create" => {
            let values = args.get(0, "vals_list")?.cloned().unwrap_or(Value::Null);
            args.finish()?;
            let mut db = write_lock(database);
            match values {
                Value::Array(list) => {
                    let mut ids = Vec::with_capacity(list.len());
                    for values in &list {
                        ids.push(Value::from(records::create(&mut db, table, values, stamp)?));
                    }
                    Ok(Value::Array(ids))
                }
                values => Ok(Value::from(records::create(
                    &mut db, table, &values, stamp,
                )?)),
            }
        }
        "write" => {
            let ids = id_list(args.get(0, "ids")?, method)?;
            let values = args.get(1, "vals")?.cloned().unwrap_or(Value::Null);
            args.finish()?;
            let mut db = write_lock(database);
            records::write(&mut db, table, &ids, &values, stamp)?;
            Ok(Value::Bool(true))
        }
        "unlink" => {
            let ids = id_list(args.get(0, "ids")?, method)?;
            args.finish()?;
            let mut db = write_lock(database);
            records::unlink(&mut db, table, &ids, stamp.uid)?;
            Ok(Value::Bool(true))
        }
        "fields_get" => {
            let only = args.get(0, "allfields")?.cloned();
            let attributes = args.get(1, "attributes")?.cloned();
            args.finish()?;
            let db = read_lock(database);
            Ok(fields_get(&db, table, only.as_ref(), attributes.as_ref()))
        }
        "check_access" => {
            args.get(0, "ids")?;
            args.get(1, "operation")?;
            args.finish()?;
            // The access check passed (see `dispatch`); Odoo then returns None.
            Err(Fault::cannot_marshal_none())
        }
        "context_get" => {
            args.finish()?;
            let db = read_lock(database);
            let row = db.table(USERS).row(stamp.uid);
            let value = |name| {
                row.map(|row| db.stored(USERS, row, name))
                    .unwrap_or(Value::Bool(false))
            };
            let mut context = Map::new();
            context.insert("lang".to_string(), value("lang"));
            context.insert("tz".to_string(), value("tz"));
            context.insert("uid".to_string(), Value::from(stamp.uid));
            Ok(Value::Object(context))
        }
        _ => Err(Fault::unknown_method(
            super::schema::MODELS[table].name,
            method,
        )),
    }
}

/// A poisoned lock only means another call panicked; the data itself is still consistent
/// because every mutation validates before it changes anything.
pub(crate) fn read_lock(database: &RwLock<Database>) -> std::sync::RwLockReadGuard<'_, Database> {
    database
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn write_lock(database: &RwLock<Database>) -> std::sync::RwLockWriteGuard<'_, Database> {
    database
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn search(
    db: &Database,
    table: TableId,
    domain: &Value,
    offset: Option<usize>,
    limit: Option<usize>,
    order: &str,
    active_test: bool,
) -> Result<Vec<i64>, Fault> {
    let keys = order::parse(db, table, order)?;
    let parsed = domain::parse(db, table, domain)?;
    let ids = order::sort(db, table, parsed.search(db, active_test), &keys);
    let offset = offset.unwrap_or(0);
    let limit = limit.filter(|limit| *limit > 0).unwrap_or(usize::MAX);
    Ok(ids.into_iter().skip(offset).take(limit).collect())
}

fn integer(value: Option<&Value>, method: &'static str) -> Result<Option<usize>, Fault> {
    match value {
        None | Some(Value::Bool(false)) => Ok(None),
        Some(Value::Number(number)) if number.as_i64().is_some() => {
            Ok(Some(number.as_i64().unwrap_or_default().max(0) as usize))
        }
        Some(other) => Err(Fault::type_error(
            Site::Model(method),
            &format!(
                "'<' not supported between instances of '{}' and 'int'",
                python_type(other)
            ),
        )),
    }
}

fn text(value: Option<&Value>, method: &'static str) -> Result<String, Fault> {
    match value {
        None | Some(Value::Bool(false)) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(Fault::type_error(
            Site::Model(method),
            &format!(
                "expected string or bytes-like object, got '{}'",
                python_type(other)
            ),
        )),
    }
}

fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn id_list(value: Option<&Value>, method: &'static str) -> Result<Vec<i64>, Fault> {
    let invalid = |value: &Value| {
        Fault::type_error(
            Site::Model(method),
            &format!(
                "unhashable or invalid record id: {}",
                super::faults::py_repr(value, super::faults::ReprStyle::List)
            ),
        )
    };
    match value {
        None | Some(Value::Bool(false)) => Ok(Vec::new()),
        Some(Value::Number(number)) => number
            .as_i64()
            .map(|id| vec![id])
            .ok_or_else(|| invalid(&Value::Number(number.clone()))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_i64().ok_or_else(|| invalid(item)))
            .collect(),
        Some(other) => Err(invalid(other)),
    }
}

/// The field indexes to read: the named ones in order, or all fields but `id`.
fn field_list(db: &Database, table: TableId, fields: Option<&Value>) -> Result<Vec<usize>, Fault> {
    let model = db.model(table);
    let names = match fields {
        None | Some(Value::Bool(false)) => Vec::new(),
        Some(Value::Array(names)) => names.clone(),
        Some(Value::String(name)) => vec![Value::from(name.as_str())],
        Some(other) => vec![other.clone()],
    };
    if names.is_empty() {
        return Ok((0..model.fields.len())
            .filter(|index| model.fields[*index].name != "id")
            .collect());
    }
    let mut indexes = Vec::with_capacity(names.len());
    for name in &names {
        let text = name.as_str().unwrap_or_default();
        match model.field_index(text) {
            Some(index) if model.fields[index].name == "id" => {}
            Some(index) if !indexes.contains(&index) => indexes.push(index),
            Some(_) => {}
            None => {
                let shown = name
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| name.to_string());
                return Err(Fault::invalid_field(model.name, &shown));
            }
        }
    }
    Ok(indexes)
}

/// The attributes `fields_get` knows, in the (alphabetical) order Odoo sends them.
const ATTRIBUTES: &[&str] = &[
    "manual",
    "name",
    "readonly",
    "relation",
    "relation_field",
    "required",
    "searchable",
    "selection",
    "sortable",
    "store",
    "string",
    "type",
];

fn attribute(field: &Field, name: &str) -> Option<Value> {
    Some(match name {
        "manual" => Value::Bool(field.name.starts_with("x_")),
        "name" => Value::from(field.name),
        "readonly" => Value::Bool(field.readonly),
        "relation" => Value::from(field.kind.relation()?),
        "relation_field" => match field.kind {
            Kind::One2many(_, inverse) => Value::from(inverse),
            _ => return None,
        },
        "required" => Value::Bool(field.required),
        "searchable" => Value::Bool(true),
        "selection" => match field.kind {
            Kind::Selection(options) => Value::Array(
                options
                    .iter()
                    .map(|(value, label)| {
                        Value::Array(vec![Value::from(*value), Value::from(*label)])
                    })
                    .collect(),
            ),
            _ => return None,
        },
        "sortable" => Value::Bool(!field.kind.is_x2many() && field.kind != Kind::Binary),
        "store" => Value::Bool(field.is_stored() || field.compute == Some(Compute::CompleteName)),
        "string" => Value::from(field.string),
        "type" => Value::from(field.kind.type_name()),
        _ => return None,
    })
}

fn fields_get(
    db: &Database,
    table: TableId,
    only: Option<&Value>,
    attributes: Option<&Value>,
) -> Value {
    let wanted_fields: Option<Vec<&str>> = match only {
        Some(Value::Array(names)) if !names.is_empty() => {
            Some(names.iter().filter_map(Value::as_str).collect())
        }
        _ => None,
    };
    let wanted_attributes: Option<Vec<&str>> = match attributes {
        Some(Value::Array(names)) if !names.is_empty() => {
            Some(names.iter().filter_map(Value::as_str).collect())
        }
        _ => None,
    };
    let mut result = Map::new();
    for field in db.model(table).fields {
        if wanted_fields
            .as_ref()
            .is_some_and(|names| !names.contains(&field.name))
        {
            continue;
        }
        let mut description = Map::new();
        for name in ATTRIBUTES {
            if wanted_attributes
                .as_ref()
                .is_some_and(|names| !names.contains(name))
            {
                continue;
            }
            if let Some(value) = attribute(field, name) {
                description.insert((*name).to_string(), value);
            }
        }
        result.insert(field.name.to_string(), Value::Object(description));
    }
    Value::Object(result)
}

#[cfg(test)]
#[path = "methods_tests.rs"]
mod tests;
