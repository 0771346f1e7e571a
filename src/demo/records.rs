//! `create`, `write` and `unlink` on the demo database, with the checks Odoo makes and its
//! fault texts: unknown fields, missing records, required values, unique logins, recursive
//! parents, and records that others still require. Each call validates everything before it
//! changes anything. No I/O.

use serde_json::{Map, Value};

use super::data::{Database, Row, TableId, PARTNER, USERS};
use super::faults::{Fault, Site};
use super::schema::{self, Compute, Field, Kind};
use super::seed;
use super::values::{coerce, ids_of, x2many_ids};

/// Who writes and when (`YYYY-MM-DD HH:MM:SS`, UTC).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp<'a> {
    pub(crate) uid: i64,
    pub(crate) now: &'a str,
}

/// Fields that only the server sets.
const LOG_FIELDS: [&str; 4] = ["create_uid", "create_date", "write_uid", "write_date"];

/// A value to apply: on the row itself, or through a related / inverse field.
enum Change {
    Stored(usize, Value),
    Related {
        via: usize,
        field: &'static str,
        value: Value,
    },
    Children {
        field: &'static Field,
        ids: Vec<i64>,
    },
}

/// Creates one record from `values`; returns its id.
pub(crate) fn create(
    db: &mut Database,
    table: TableId,
    values: &Value,
    stamp: Stamp,
) -> Result<i64, Fault> {
    let Value::Object(values) = values else {
        return Err(Fault::type_error(
            Site::Model("create"),
            "create() expects a dict of values",
        ));
    };
    let model = db.model(table);
    let id = db.table(table).next_id;
    let mut row = seed::row(table, &[]);
    let changes = prepare(db, table, None, values)?;
    let mut related = Vec::new();
    let mut children = Vec::new();
    for change in changes {
        match change {
            Change::Stored(index, value) => row[index] = value,
            Change::Related { via, field, value } => related.push((via, field, value)),
            Change::Children { field, ids } => children.push((field, ids)),
        }
    }
    for (name, value) in [
        ("create_uid", Value::from(stamp.uid)),
        ("write_uid", Value::from(stamp.uid)),
        ("create_date", Value::from(stamp.now)),
        ("write_date", Value::from(stamp.now)),
    ] {
        if let Some(index) = model.field_index(name) {
            row[index] = value;
        }
    }
    let mut new_partner = None;
    if table == USERS {
        let login = db.stored(USERS, &row, "login");
        check_login_unique(db, &login, None)?;
        let partner = model.field_index("partner_id").unwrap_or(0);
        if row[partner].as_i64().is_none() {
            let mut partner_values = Map::new();
            for (_, field, value) in &related {
                partner_values.insert((*field).to_string(), value.clone());
            }
            partner_values.insert(
                "company_id".to_string(),
                db.stored(USERS, &row, "company_id"),
            );
            new_partner = Some(partner_values);
            related.clear();
        }
        if new_partner
            .as_ref()
            .is_some_and(|values| !values.get("name").is_some_and(Value::is_string))
        {
            return Err(missing_required(model.name, model.field("name")));
        }
    }
    check_row(db, table, &row, new_partner.is_some())?;
    if let Some(partner_values) = new_partner {
        let partner = create(db, PARTNER, &Value::Object(partner_values), stamp)?;
        let index = model.field_index("partner_id").unwrap_or(0);
        row[index] = Value::from(partner);
    }
    db.insert(table, id, row);
    apply_related(db, table, &[id], related, stamp)?;
    for (field, ids) in children {
        set_children(db, field, id, &ids)?;
    }
    Ok(id)
}

/// Writes `values` on every record of `ids`.
pub(crate) fn write(
    db: &mut Database,
    table: TableId,
    ids: &[i64],
    values: &Value,
    stamp: Stamp,
) -> Result<(), Fault> {
    let Value::Object(values) = values else {
        return Err(Fault::type_error(
            Site::Model("write"),
            "write() expects a dict of values",
        ));
    };
    check_exist(db, table, ids, stamp.uid)?;
    let model = db.model(table);
    let mut planned = Vec::with_capacity(ids.len());
    for &id in ids {
        let changes = prepare(db, table, Some(id), values)?;
        let mut row = db.table(table).row(id).cloned().unwrap_or_default();
        for change in &changes {
            if let Change::Stored(index, value) = change {
                row[*index] = value.clone();
            }
        }
        check_row(db, table, &row, false)?;
        if values.contains_key("parent_id") {
            check_recursion(db, table, id, &row)?;
        }
        if table == USERS && values.contains_key("login") {
            if ids.len() > 1 {
                return Err(duplicate_login());
            }
            check_login_unique(db, &db.stored(USERS, &row, "login"), Some(id))?;
        }
        planned.push((id, changes));
    }
    let write_uid = model.field_index("write_uid");
    let write_date = model.field_index("write_date");
    for (id, changes) in planned {
        let mut related = Vec::new();
        for change in changes {
            match change {
                Change::Stored(index, value) => db.set(table, id, index, value),
                Change::Related { via, field, value } => related.push((via, field, value)),
                Change::Children { field, ids } => set_children(db, field, id, &ids)?,
            }
        }
        apply_related(db, table, &[id], related, stamp)?;
        if let (Some(uid_index), Some(date_index)) = (write_uid, write_date) {
            db.set(table, id, uid_index, Value::from(stamp.uid));
            db.set(table, id, date_index, Value::from(stamp.now));
        }
    }
    Ok(())
}

/// Deletes the records of `ids`.
pub(crate) fn unlink(
    db: &mut Database,
    table: TableId,
    ids: &[i64],
    uid: i64,
) -> Result<(), Fault> {
    check_exist(db, table, ids, uid)?;
    let model = db.model(table);
    if table == USERS && ids.iter().any(|id| *id <= 2) {
        return Err(Fault::admin_user_unlink());
    }
    // Records that still require one of these (a required many2one) block the deletion.
    for (other, other_table) in db.tables.iter().enumerate() {
        for field in other_table.model.fields {
            if !(field.required && field.is_stored() && field.kind == Kind::Many2one(model.name)) {
                continue;
            }
            let index = other_table.index(field.name).unwrap_or(0);
            let blocked = other_table.rows.iter().any(|(other_id, row)| {
                !(other == table && ids.contains(other_id))
                    && row[index]
                        .as_i64()
                        .is_some_and(|target| ids.contains(&target))
            });
            if blocked {
                return Err(Fault::user(format!(
                    "The operation cannot be completed: another model requires the record being \
                     deleted. If possible, archive it instead.\n\nModel: {} ({}), Constraint: {}_{}_fkey",
                    other_table.model.description,
                    other_table.model.name,
                    other_table.model.name.replace('.', "_"),
                    field.name
                )));
            }
        }
    }
    for id in ids {
        db.remove(table, *id);
    }
    // Optional references to the deleted records become empty.
    for other in 0..db.tables.len() {
        let other_model = db.model(other);
        for (index, field) in other_model.fields.iter().enumerate() {
            let many = match field.kind {
                Kind::Many2one(target) if target == model.name && field.is_stored() => false,
                Kind::Many2many(target) if target == model.name => true,
                _ => continue,
            };
            let touched: Vec<(i64, Value)> = db
                .table(other)
                .rows
                .iter()
                .filter_map(|(other_id, row)| match (&row[index], many) {
                    (Value::Array(list), true)
                        if list
                            .iter()
                            .any(|v| v.as_i64().is_some_and(|t| ids.contains(&t))) =>
                    {
                        let kept = list
                            .iter()
                            .filter(|v| !v.as_i64().is_some_and(|t| ids.contains(&t)));
                        Some((*other_id, Value::Array(kept.cloned().collect())))
                    }
                    (value, false) if value.as_i64().is_some_and(|t| ids.contains(&t)) => {
                        Some((*other_id, Value::Bool(false)))
                    }
                    _ => None,
                })
                .collect();
            for (other_id, value) in touched {
                db.set(other, other_id, index, value);
            }
        }
    }
    Ok(())
}

fn check_exist(db: &Database, table: TableId, ids: &[i64], uid: i64) -> Result<(), Fault> {
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !db.exists(table, *id))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Fault::missing(db.model(table).name, &missing, uid))
    }
}

/// Converts `values` into changes for record `id` (`None` when creating).
fn prepare(
    db: &Database,
    table: TableId,
    id: Option<i64>,
    values: &Map<String, Value>,
) -> Result<Vec<Change>, Fault> {
    let model = db.model(table);
    let mut changes = Vec::with_capacity(values.len());
    for (name, value) in values {
        let Some(index) = model.field_index(name) else {
            return Err(Fault::invalid_field(model.name, name));
        };
        let field = &model.fields[index];
        if LOG_FIELDS.contains(&field.name) {
            continue;
        }
        match field.compute {
            None => {
                let current = id
                    .and_then(|id| db.table(table).row(id))
                    .and_then(|row| row.get(index));
                changes.push(Change::Stored(
                    index,
                    coerce(db, table, field, value, current)?,
                ));
            }
            Some(Compute::Related { via, field: target }) if !field.readonly => {
                let via = model.field_index(via).unwrap_or(0);
                let value = coerce(db, table, field, value, None)?;
                changes.push(Change::Related {
                    via,
                    field: target,
                    value,
                });
            }
            Some(Compute::CompanyType) => {
                let company = value.as_str() == Some("company");
                let index = model.field_index("is_company").unwrap_or(0);
                changes.push(Change::Stored(index, Value::Bool(company)));
            }
            Some(Compute::Inverse) => {
                let current = match id.and_then(|id| db.table(table).row(id).map(|row| (id, row))) {
                    Some((id, row)) => ids_of(&db.value(table, id, row, index)),
                    None => Vec::new(),
                };
                let ids = x2many_ids(db, field, value, &current)?;
                changes.push(Change::Children { field, ids });
            }
            // Other computed fields cannot be written; Odoo ignores them too.
            Some(_) => {}
        }
    }
    Ok(changes)
}

/// Sets the inverse many2one of a one2many so that exactly `ids` point to `id`.
fn set_children(db: &mut Database, field: &Field, id: i64, ids: &[i64]) -> Result<(), Fault> {
    let Kind::One2many(comodel, inverse) = field.kind else {
        return Ok(());
    };
    let Some(comodel) = schema::model_index(comodel) else {
        return Ok(());
    };
    let Some(index) = db.model(comodel).field_index(inverse) else {
        return Ok(());
    };
    let required = db.model(comodel).fields[index].required;
    let current: Vec<i64> = db
        .table(comodel)
        .rows
        .iter()
        .filter(|(_, row)| row[index].as_i64() == Some(id))
        .map(|(child, _)| *child)
        .collect();
    if required && current.iter().any(|child| !ids.contains(child)) {
        return Err(missing_required(
            db.model(comodel).name,
            Some(&db.model(comodel).fields[index]),
        ));
    }
    for child in current {
        if !ids.contains(&child) {
            db.set(comodel, child, index, Value::Bool(false));
        }
    }
    for child in ids {
        db.set(comodel, *child, index, Value::from(id));
    }
    Ok(())
}

fn apply_related(
    db: &mut Database,
    table: TableId,
    ids: &[i64],
    related: Vec<(usize, &'static str, Value)>,
    stamp: Stamp,
) -> Result<(), Fault> {
    let Some(comodel) = related
        .first()
        .and_then(|(via, _, _)| db.model(table).fields[*via].kind.relation())
        .and_then(schema::model_index)
    else {
        return Ok(());
    };
    for id in ids {
        let Some(row) = db.table(table).row(*id) else {
            continue;
        };
        let Some(target) = related.first().and_then(|(via, _, _)| row[*via].as_i64()) else {
            continue;
        };
        let values: Map<String, Value> = related
            .iter()
            .map(|(_, field, value)| ((*field).to_string(), value.clone()))
            .collect();
        write(db, comodel, &[target], &Value::Object(values), stamp)?;
    }
    Ok(())
}

fn missing_required(model: &str, field: Option<&Field>) -> Fault {
    let (string, name) = field
        .map(|field| (field.string, field.name))
        .unwrap_or_default();
    Fault::user(format!(
        "The operation cannot be completed: Missing required value for the field '{string}' ({name}).\nModel: {model}"
    ))
}

fn duplicate_login() -> Fault {
    Fault::user(
        "The operation cannot be completed: You can not have two users with the same login!",
    )
}

/// Required values and the partner name rule, on a row about to be stored.
fn check_row(db: &Database, table: TableId, row: &Row, partner_pending: bool) -> Result<(), Fault> {
    let model = db.model(table);
    for (index, field) in model.fields.iter().enumerate() {
        let pending = partner_pending && field.name == "partner_id";
        if field.required
            && field.is_stored()
            && !pending
            && matches!(row[index], Value::Bool(false) | Value::Null)
        {
            return Err(missing_required(model.name, Some(field)));
        }
    }
    if table == PARTNER
        && db.stored(PARTNER, row, "type").as_str() == Some("contact")
        && db
            .stored(PARTNER, row, "name")
            .as_str()
            .is_none_or(str::is_empty)
    {
        return Err(Fault::user(
            "The operation cannot be completed: Contacts require a name",
        ));
    }
    Ok(())
}

fn check_login_unique(db: &Database, login: &Value, except: Option<i64>) -> Result<(), Fault> {
    let index = db.model(USERS).field_index("login").unwrap_or(0);
    let taken = db
        .table(USERS)
        .rows
        .iter()
        .any(|(id, row)| Some(*id) != except && row[index] == *login);
    if taken {
        Err(duplicate_login())
    } else {
        Ok(())
    }
}

/// A record may not become its own ancestor.
fn check_recursion(db: &Database, table: TableId, id: i64, row: &Row) -> Result<(), Fault> {
    let mut current = db.stored(table, row, "parent_id").as_i64();
    let mut steps = 0;
    while let Some(ancestor) = current {
        if ancestor == id || steps > 64 {
            return Err(Fault::user(if table == PARTNER {
                "You cannot create recursive Partner hierarchies."
            } else {
                "Recursion Detected."
            }));
        }
        steps += 1;
        current = db
            .table(table)
            .row(ancestor)
            .and_then(|parent| db.stored(table, parent, "parent_id").as_i64());
    }
    Ok(())
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
