//! The in-memory database of the demo ERP: one table per model, rows keyed by id, plus the
//! computed fields and the conversion of stored values into what Odoo sends over XML-RPC.
//! Mutations that check business rules live in `records`; the dataset in `seed`. No I/O.
//!
//! Stored form of a value, by field type: text-like fields hold a string or `false`; integers
//! and floats a number; booleans a bool; many2one an id or `false`; many2many an array of ids.
//! Computed fields (and one2many) hold `null` in the row and are derived when read.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::order;
use super::schema::{self, partner, Compute, Kind, Model, MODELS};

/// Index of a model in [`schema::MODELS`] and in [`Database::tables`].
pub(crate) type TableId = usize;
pub(crate) const PARTNER: TableId = 0;
pub(crate) const USERS: TableId = 1;
pub(crate) const COMPANY: TableId = 2;
pub(crate) const COUNTRY: TableId = 3;
pub(crate) const CATEGORY: TableId = 4;
pub(crate) const IR_MODEL: TableId = 5;
pub(crate) const CURRENCY: TableId = 6;
pub(crate) const CURRENCY_RATE: TableId = 7;

/// One value per field of the model, in field order.
pub(crate) type Row = Vec<Value>;

static FALSE: Value = Value::Bool(false);

/// The stored value at `index` (`false` if the row is shorter, which a seeded row never is).
pub(crate) fn at(row: &Row, index: usize) -> &Value {
    row.get(index).unwrap_or(&FALSE)
}

fn is_true(value: &Value) -> bool {
    value.as_bool() == Some(true)
}

/// The records of one model.
pub(crate) struct Table {
    pub(crate) model: &'static Model,
    pub(crate) rows: BTreeMap<i64, Row>,
    pub(crate) next_id: i64,
    /// For each many2one that a one2many reads back: (field index, target id -> source ids).
    back_refs: Vec<(usize, HashMap<i64, BTreeSet<i64>>)>,
}

impl Table {
    fn new(model: &'static Model) -> Table {
        let mut back_refs = Vec::new();
        for (index, field) in model.fields.iter().enumerate() {
            if let Kind::Many2one(_) = field.kind {
                let read_back = MODELS.iter().any(|other| {
                    other
                        .fields
                        .iter()
                        .any(|candidate| candidate.kind == Kind::One2many(model.name, field.name))
                });
                if read_back {
                    back_refs.push((index, HashMap::new()));
                }
            }
        }
        Table {
            model,
            rows: BTreeMap::new(),
            next_id: 1,
            back_refs,
        }
    }

    pub(crate) fn row(&self, id: i64) -> Option<&Row> {
        self.rows.get(&id)
    }

    /// The index of a field that every model of the demo has.
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.model.field_index(name)
    }

    fn link(&mut self, id: i64, row: &Row) {
        for (field, refs) in &mut self.back_refs {
            if let Some(target) = row.get(*field).and_then(Value::as_i64) {
                refs.entry(target).or_default().insert(id);
            }
        }
    }

    fn unlink_refs(&mut self, id: i64, row: &Row) {
        for (field, refs) in &mut self.back_refs {
            if let Some(target) = row.get(*field).and_then(Value::as_i64) {
                if let Some(set) = refs.get_mut(&target) {
                    set.remove(&id);
                }
            }
        }
    }

    /// Ids whose many2one `field` points to `target` (only for fields read back by a one2many).
    fn referring(&self, field: usize, target: i64) -> Vec<i64> {
        self.back_refs
            .iter()
            .find(|(index, _)| *index == field)
            .and_then(|(_, refs)| refs.get(&target))
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// All tables, indexed by [`TableId`].
pub(crate) struct Database {
    pub(crate) tables: Vec<Table>,
    /// Bumped by every change, so cached orders know when they are stale.
    pub(crate) generation: u64,
    /// Each (table, order) sorted once per generation; see `order::sort`.
    pub(crate) order_cache: order::OrderCache,
}

impl Database {
    pub(crate) fn empty() -> Database {
        Database {
            tables: MODELS.iter().map(|model| Table::new(model)).collect(),
            generation: 0,
            order_cache: order::OrderCache::default(),
        }
    }

    pub(crate) fn table(&self, table: TableId) -> &Table {
        &self.tables[table]
    }

    pub(crate) fn model(&self, table: TableId) -> &'static Model {
        self.tables[table].model
    }

    pub(crate) fn exists(&self, table: TableId, id: i64) -> bool {
        self.tables[table].rows.contains_key(&id)
    }

    /// Adds or replaces a row; `row` must have one value per field.
    pub(crate) fn insert(&mut self, table: TableId, id: i64, row: Row) {
        self.generation += 1;
        let table = &mut self.tables[table];
        if let Some(old) = table.rows.remove(&id) {
            table.unlink_refs(id, &old);
        }
        table.link(id, &row);
        table.rows.insert(id, row);
        table.next_id = table.next_id.max(id + 1);
    }

    /// Sets one stored value of an existing row.
    pub(crate) fn set(&mut self, table: TableId, id: i64, field: usize, value: Value) {
        self.generation += 1;
        let table = &mut self.tables[table];
        let Some(mut row) = table.rows.remove(&id) else {
            return;
        };
        table.unlink_refs(id, &row);
        if let Some(slot) = row.get_mut(field) {
            *slot = value;
        }
        table.link(id, &row);
        table.rows.insert(id, row);
    }

    pub(crate) fn remove(&mut self, table: TableId, id: i64) -> Option<Row> {
        self.generation += 1;
        let table = &mut self.tables[table];
        let row = table.rows.remove(&id)?;
        table.unlink_refs(id, &row);
        Some(row)
    }

    /// The value of field `field` of record `id`, in stored form (computed fields included;
    /// one2many as an array of ids in the comodel's order).
    pub(crate) fn value(&self, table: TableId, id: i64, row: &Row, field: usize) -> Value {
        let model = self.model(table);
        let Some(definition) = model.fields.get(field) else {
            return Value::Bool(false);
        };
        match definition.compute {
            None => row.get(field).cloned().unwrap_or(Value::Bool(false)),
            Some(Compute::Id) => Value::from(id),
            Some(Compute::DisplayName) => self.display_name(table, id, row),
            Some(Compute::CompleteName) => self.partner_complete_name(id, row),
            Some(Compute::Related { via, field: target }) => self.related(table, row, via, target),
            Some(Compute::Inverse) => match definition.kind {
                Kind::One2many(comodel, inverse) => self.one2many(comodel, inverse, id),
                _ => Value::Array(Vec::new()),
            },
            Some(Compute::CompanyType) => {
                let is_company = table == PARTNER && is_true(at(row, partner::IS_COMPANY));
                Value::from(if is_company { "company" } else { "person" })
            }
            Some(Compute::CommercialPartner) => Value::from(self.commercial_partner(id)),
            Some(Compute::CommercialCompanyName) => self.commercial_company_name(id, row),
            Some(Compute::EmailFormatted) => {
                match (at(row, partner::EMAIL), at(row, partner::NAME)) {
                    (Value::String(email), Value::String(name)) => {
                        Value::from(format!("\"{name}\" <{email}>"))
                    }
                    (Value::String(email), _) => Value::from(format!("<{email}>")),
                    _ => Value::Bool(false),
                }
            }
        }
    }

    /// Like [`Database::value`], borrowing stored values instead of cloning them.
    pub(crate) fn value_ref<'a>(
        &self,
        table: TableId,
        id: i64,
        row: &'a Row,
        field: usize,
    ) -> Cow<'a, Value> {
        match self.model(table).fields.get(field) {
            Some(definition) if definition.compute.is_none() => Cow::Borrowed(at(row, field)),
            _ => Cow::Owned(self.value(table, id, row, field)),
        }
    }

    /// The value of field `field` as Odoo sends it: many2one as `[id, display_name]`.
    pub(crate) fn read_value(&self, table: TableId, id: i64, row: &Row, field: usize) -> Value {
        let value = self.value(table, id, row, field);
        match self.model(table).fields.get(field).map(|field| field.kind) {
            Some(Kind::Many2one(comodel)) => match value.as_i64() {
                Some(target) => self.name_pair(comodel, target),
                None => Value::Bool(false),
            },
            _ => value,
        }
    }

    /// `[id, display_name]` of a record, or `false` if it is gone.
    pub(crate) fn name_pair(&self, model: &str, id: i64) -> Value {
        let Some(table) = schema::model_index(model) else {
            return Value::Bool(false);
        };
        match self.tables[table].row(id) {
            Some(row) => Value::Array(vec![Value::from(id), self.display_name(table, id, row)]),
            None => Value::Bool(false),
        }
    }

    /// A stored field by name (`false` if the model has no such field).
    pub(crate) fn stored(&self, table: TableId, row: &Row, name: &str) -> Value {
        self.model(table)
            .field_index(name)
            .and_then(|index| row.get(index))
            .cloned()
            .unwrap_or(Value::Bool(false))
    }

    pub(crate) fn display_name(&self, table: TableId, id: i64, row: &Row) -> Value {
        match table {
            PARTNER => self.partner_complete_name(id, row),
            CATEGORY => {
                let mut names = Vec::new();
                let mut current = Some((id, row));
                while let Some((_, category)) = current {
                    if names.len() > 32 {
                        break;
                    }
                    if let Value::String(name) = self.stored(CATEGORY, category, "name") {
                        names.push(name);
                    }
                    current = self
                        .stored(CATEGORY, category, "parent_id")
                        .as_i64()
                        .and_then(|parent| self.tables[CATEGORY].row(parent).map(|r| (parent, r)));
                }
                names.reverse();
                Value::from(names.join(" / "))
            }
            _ => {
                let name_field = self.model(table).field_index("name").unwrap_or(0);
                self.value(table, id, row, name_field)
            }
        }
    }

    fn related(&self, table: TableId, row: &Row, via: &str, field: &str) -> Value {
        let model = self.model(table);
        let Some(Kind::Many2one(comodel)) = model.field(via).map(|field| field.kind) else {
            return Value::Bool(false);
        };
        let target = self.stored(table, row, via).as_i64();
        let comodel = schema::model_index(comodel);
        match (target, comodel) {
            (Some(target), Some(comodel)) => match self.tables[comodel].row(target) {
                Some(target_row) => {
                    let index = self.model(comodel).field_index(field).unwrap_or(0);
                    self.value(comodel, target, target_row, index)
                }
                None => Value::Bool(false),
            },
            _ => Value::Bool(false),
        }
    }

    fn one2many(&self, comodel: &str, inverse: &str, id: i64) -> Value {
        let Some(comodel) = schema::model_index(comodel) else {
            return Value::Array(Vec::new());
        };
        let table = &self.tables[comodel];
        let Some(field) = table.index(inverse) else {
            return Value::Array(Vec::new());
        };
        let mut ids = table.referring(field, id);
        if let Some(active) = table.index("active") {
            ids.retain(|child| {
                table.row(*child).and_then(|row| row.get(active)) != Some(&Value::Bool(false))
            });
        }
        let ids = order::sort_default(self, comodel, ids);
        Value::Array(ids.into_iter().map(Value::from).collect())
    }

    /// The topmost company of a partner, or the partner itself.
    pub(crate) fn commercial_partner(&self, id: i64) -> i64 {
        let partners = &self.tables[PARTNER];
        let mut current = id;
        for _ in 0..32 {
            let Some(row) = partners.row(current) else {
                break;
            };
            if is_true(at(row, partner::IS_COMPANY)) {
                break;
            }
            match at(row, partner::PARENT_ID).as_i64() {
                Some(parent) if partners.rows.contains_key(&parent) => current = parent,
                _ => break,
            }
        }
        current
    }

    /// The name of the partner's commercial company, borrowed from its row.
    fn commercial_company_name_ref<'a>(&'a self, id: i64, row: &'a Row) -> &'a Value {
        let commercial = self.commercial_partner(id);
        let top = if commercial == id {
            Some(row)
        } else {
            self.tables[PARTNER].row(commercial)
        };
        match top {
            Some(top) if is_true(at(top, partner::IS_COMPANY)) => at(top, partner::NAME),
            _ => at(row, partner::COMPANY_NAME),
        }
    }

    fn commercial_company_name(&self, id: i64, row: &Row) -> Value {
        self.commercial_company_name_ref(id, row).clone()
    }

    /// "Company, Person" for a contact of a company; the type label for a nameless address.
    fn partner_complete_name(&self, id: i64, row: &Row) -> Value {
        let name = at(row, partner::NAME).as_str().unwrap_or_default();
        let parent = at(row, partner::PARENT_ID)
            .as_i64()
            .and_then(|parent| self.tables[PARTNER].row(parent));
        if parent.is_none() && !at(row, partner::COMPANY_NAME).is_string() {
            // The common case: a name on its own.
            let trimmed = name.trim();
            return if trimmed.is_empty() {
                Value::Bool(false)
            } else {
                Value::from(trimmed)
            };
        }
        let mut name = name.to_string();
        if name.is_empty() {
            if let Value::String(kind) = at(row, partner::TYPE) {
                if kind != "contact" {
                    let label = schema::ADDRESS_TYPES
                        .iter()
                        .find(|(value, _)| value == kind)
                        .map(|(_, label)| *label)
                        .unwrap_or_default();
                    name = label.to_string();
                }
            }
        }
        if !is_true(at(row, partner::IS_COMPANY)) {
            let prefix = match self.commercial_company_name_ref(id, row) {
                Value::String(prefix) if !prefix.is_empty() => prefix.as_str(),
                _ => parent
                    .and_then(|parent| at(parent, partner::NAME).as_str())
                    .unwrap_or_default(),
            };
            name = format!("{prefix}, {name}");
        }
        let trimmed = name.trim();
        if trimmed.is_empty() {
            Value::Bool(false)
        } else {
            Value::from(trimmed)
        }
    }

    /// One record as `read` returns it: `id` first, then `fields` in order.
    pub(crate) fn read_record(&self, table: TableId, id: i64, fields: &[usize]) -> Value {
        let mut record = Map::with_capacity(fields.len() + 1);
        record.insert("id".to_string(), Value::from(id));
        if let Some(row) = self.tables[table].row(id) {
            let model = self.model(table);
            for &field in fields {
                if let Some(definition) = model.fields.get(field) {
                    record.insert(
                        definition.name.to_string(),
                        self.read_value(table, id, row, field),
                    );
                }
            }
        }
        Value::Object(record)
    }
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
