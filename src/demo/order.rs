//! The `order` argument of searches: parsing (`name desc, id` with optional `nulls first|last`,
//! rejected with Odoo's fault 2 text when malformed) and sorting record ids by it. Strings sort
//! case-insensitively, many2one by the target's display name, empty values last in both
//! directions unless `nulls first` says otherwise (so nameless addresses do not head a
//! `name desc` list); ties end on ascending id.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::data::{Database, TableId};
use super::faults::Fault;
use super::schema::{self, Kind};

/// One `field [asc|desc] [nulls first|last]` term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct OrderKey {
    pub(crate) field: usize,
    pub(crate) descending: bool,
    pub(crate) nulls_first: bool,
}

/// Parses an order string for `table`; an empty string means the model's default order.
pub(crate) fn parse(db: &Database, table: TableId, spec: &str) -> Result<Vec<OrderKey>, Fault> {
    if spec.trim().is_empty() {
        return parse(db, table, db.model(table).order);
    }
    let model = db.model(table);
    let mut keys = Vec::new();
    for term in spec.split(',') {
        let words: Vec<&str> = term.split_whitespace().collect();
        let (name, rest) = match words.split_first() {
            Some((name, rest)) if is_identifier(name) => (name.trim_matches('"'), rest),
            _ => return Err(Fault::bad_order(spec)),
        };
        let lower: Vec<String> = rest.iter().map(|word| word.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        let (descending, nulls) = match lower.as_slice() {
            [] => (false, None),
            ["asc"] => (false, None),
            ["desc"] => (true, None),
            ["nulls", which] => (false, Some(*which)),
            ["asc", "nulls", which] => (false, Some(*which)),
            ["desc", "nulls", which] => (true, Some(*which)),
            _ => return Err(Fault::bad_order(spec)),
        };
        let nulls_first = match nulls {
            None => false,
            Some("first") => true,
            Some("last") => false,
            Some(_) => return Err(Fault::bad_order(spec)),
        };
        let field = model
            .field_index(name)
            .filter(|&index| {
                let kind = model.fields[index].kind;
                !kind.is_x2many() && kind != Kind::Binary
            })
            .ok_or_else(|| Fault::bad_order_field(model.name, name))?;
        keys.push(OrderKey {
            field,
            descending,
            nulls_first,
        });
    }
    Ok(keys)
}

/// `[a-z0-9_]+`, optionally in double quotes, as Odoo's order regex allows (any case).
fn is_identifier(word: &str) -> bool {
    let bare = match word
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) => inner,
        None => word,
    };
    !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A value reduced to what sorting compares.
#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    Null,
    Number(f64),
    Text(String),
}

fn sort_value(db: &Database, table: TableId, id: i64, field: usize) -> SortValue {
    let Some(row) = db.table(table).row(id) else {
        return SortValue::Null;
    };
    let kind = db.model(table).fields[field].kind;
    let value = db.value_ref(table, id, row, field);
    match (kind, value.as_ref()) {
        (Kind::Boolean, value) => SortValue::Number(if value.as_bool() == Some(true) {
            1.0
        } else {
            0.0
        }),
        (Kind::Many2one(comodel), Value::Number(target)) => {
            let target = target.as_i64().unwrap_or_default();
            // Odoo orders a many2one by its target's order; the display name stands in for it.
            match schema::model_index(comodel)
                .and_then(|comodel| db.table(comodel).row(target).map(|row| (comodel, row)))
            {
                Some((comodel, row)) => match db.display_name(comodel, target, row) {
                    Value::String(name) => SortValue::Text(collation_key(&name)),
                    _ => SortValue::Null,
                },
                None => SortValue::Null,
            }
        }
        (_, Value::Number(number)) => SortValue::Number(number.as_f64().unwrap_or_default()),
        (_, Value::String(text)) => SortValue::Text(collation_key(text)),
        _ => SortValue::Null,
    }
}

/// Lowercase with the accents of Latin letters removed, so `Émilie` sorts with the `E`s as a
/// PostgreSQL `en_US` collation would have it.
fn collation_key(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut key = String::with_capacity(text.len());
    for character in text.chars().flat_map(char::to_lowercase) {
        let folded = match character {
            'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'è'..='ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
            'ì'..='ï' | 'ī' | 'į' | 'ı' => 'i',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò'..='ö' | 'ø' | 'ō' | 'ő' => 'o',
            'ù'..='ü' | 'ū' | 'ů' | 'ű' => 'u',
            'ý' | 'ÿ' => 'y',
            'ś' | 'š' => 's',
            'ź' | 'ż' | 'ž' => 'z',
            'ł' => 'l',
            'ß' => {
                key.push_str("ss");
                continue;
            }
            other => other,
        };
        key.push(folded);
    }
    key
}

fn compare(left: &SortValue, right: &SortValue, key: &OrderKey) -> Ordering {
    match (left, right) {
        (SortValue::Null, SortValue::Null) => Ordering::Equal,
        (SortValue::Null, _) if key.nulls_first => Ordering::Less,
        (SortValue::Null, _) => Ordering::Greater,
        (_, SortValue::Null) if key.nulls_first => Ordering::Greater,
        (_, SortValue::Null) => Ordering::Less,
        _ => {
            // A total order whatever the values, as `sort_by` requires.
            let ordering = match (left, right) {
                (SortValue::Number(left), SortValue::Number(right)) => left.total_cmp(right),
                (SortValue::Text(left), SortValue::Text(right)) => left.cmp(right),
                (SortValue::Number(_), _) => Ordering::Less,
                _ => Ordering::Greater,
            };
            if key.descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
    }
}

/// At most this many (table, order) rankings are cached; then the cache starts over.
const MAX_CACHED_ORDERS: usize = 64;

/// The rank of every record of a table under one order, valid for one database generation.
struct Ranking {
    generation: u64,
    rank: Arc<HashMap<i64, usize>>,
}

/// Rankings computed under the read lock and shared by later searches until a change.
#[derive(Default)]
pub(crate) struct OrderCache(Mutex<HashMap<(TableId, Vec<OrderKey>), Ranking>>);

/// Sorts `ids` (records of `table`) by `keys`, then by ascending id.
pub(crate) fn sort(db: &Database, table: TableId, ids: Vec<i64>, keys: &[OrderKey]) -> Vec<i64> {
    let id_field = db.model(table).field_index("id");
    let only_id = keys.len() == 1 && Some(keys[0].field) == id_field;
    let mut ids = ids;
    if keys.is_empty() || only_id {
        ids.sort_unstable();
        if only_id && keys[0].descending {
            ids.reverse();
        }
        return ids;
    }
    let rank = ranking(db, table, keys);
    ids.sort_by_cached_key(|id| rank.get(id).copied().unwrap_or(usize::MAX));
    ids
}

/// The rank of every record of `table` under `keys`, from the cache when still valid.
fn ranking(db: &Database, table: TableId, keys: &[OrderKey]) -> Arc<HashMap<i64, usize>> {
    let cache_key = (table, keys.to_vec());
    if let Ok(cache) = db.order_cache.0.lock() {
        if let Some(ranking) = cache
            .get(&cache_key)
            .filter(|r| r.generation == db.generation)
        {
            return Arc::clone(&ranking.rank);
        }
    }
    let all: Vec<i64> = db.table(table).rows.keys().copied().collect();
    let sorted = sort_uncached(db, table, all, keys);
    let rank: Arc<HashMap<i64, usize>> = Arc::new(
        sorted
            .into_iter()
            .enumerate()
            .map(|(position, id)| (id, position))
            .collect(),
    );
    if let Ok(mut cache) = db.order_cache.0.lock() {
        if cache.len() >= MAX_CACHED_ORDERS {
            cache.clear();
        }
        let ranking = Ranking {
            generation: db.generation,
            rank: Arc::clone(&rank),
        };
        cache.insert(cache_key, ranking);
    }
    rank
}

fn sort_uncached(db: &Database, table: TableId, ids: Vec<i64>, keys: &[OrderKey]) -> Vec<i64> {
    let mut keyed: Vec<(Vec<SortValue>, i64)> = ids
        .into_iter()
        .map(|id| {
            let values = keys
                .iter()
                .map(|key| sort_value(db, table, id, key.field))
                .collect();
            (values, id)
        })
        .collect();
    keyed.sort_by(|(left, left_id), (right, right_id)| {
        for ((left, right), key) in left.iter().zip(right).zip(keys) {
            let ordering = compare(left, right, key);
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        left_id.cmp(right_id)
    });
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Sorts by the model's default order.
pub(crate) fn sort_default(db: &Database, table: TableId, ids: Vec<i64>) -> Vec<i64> {
    match parse(db, table, db.model(table).order) {
        Ok(keys) => sort(db, table, ids, &keys),
        Err(_) => sort(db, table, ids, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::data::PARTNER;
    use crate::demo::seed;

    fn sorted(spec: &str, ids: &[i64]) -> Result<Vec<i64>, Fault> {
        let db = seed::database();
        let keys = parse(&db, PARTNER, spec)?;
        Ok(sort(&db, PARTNER, ids.to_vec(), &keys))
    }

    #[test]
    fn orders_by_several_keys_and_directions() {
        assert_eq!(sorted("name desc", &[17, 9, 1, 15]), Ok(vec![1, 9, 17, 15]));
        assert_eq!(sorted("name", &[17, 9, 1, 15]), Ok(vec![15, 17, 9, 1]));
        assert_eq!(sorted("id desc", &[3, 1, 2]), Ok(vec![3, 2, 1]));
        assert_eq!(
            sorted("is_company desc, name", &[27, 15, 9, 28]),
            Ok(vec![15, 9, 27, 28])
        );
        assert_eq!(
            sorted("  parent_id DESC , id ", &[27, 23, 15]),
            Ok(vec![23, 27, 15])
        );
        assert_eq!(
            sorted("parent_id asc nulls first, id", &[27, 23, 15]),
            Ok(vec![15, 27, 23])
        );
    }

    #[test]
    fn accents_sort_with_their_letter() {
        assert_eq!(collation_key("Émilie Müller ß"), "emilie muller ss");
        assert_eq!(sorted("name", &[43, 1, 40]), Ok(vec![43, 40, 1]));
    }

    #[test]
    fn default_partner_order_is_complete_name() {
        let db = seed::database();
        assert_eq!(
            sort_default(&db, PARTNER, vec![28, 15, 27, 34]),
            vec![15, 27, 34, 28]
        );
        assert_eq!(sorted("", &[28, 15, 27, 34]), Ok(vec![15, 27, 34, 28]));
    }

    #[test]
    fn rejects_malformed_orders_like_odoo() {
        for spec in [
            "name; drop table",
            "name,",
            "name up",
            ",name",
            "na-me",
            "name desc nulls",
        ] {
            let fault = sorted(spec, &[1]).err();
            assert_eq!(fault.as_ref().map(|fault| fault.code), Some(2), "{spec}");
            let text = fault.map(|fault| fault.string).unwrap_or_default();
            assert!(text.starts_with(&format!("Invalid \"order\" specified ({spec}).")));
        }
        let unknown = sorted("bogus desc", &[1]).err();
        assert_eq!(unknown.as_ref().map(|fault| fault.code), Some(1));
        assert!(unknown
            .map(|fault| fault.string)
            .unwrap_or_default()
            .ends_with("ValueError: Invalid field 'bogus' on model 'res.partner'\n"));
    }
}
