//! The demo ERP's Flectra 1.4 dialect, from the recorded texts in tests/fixtures/flectra14/
//! (its README lists every difference from Odoo 18). The Odoo 18 core answers; this module
//! adapts what goes in and what comes out: the version, uids 1 (admin) and 7 (demo_api),
//! `Access denied`, access errors and `except_orm` messages as tuple reprs, validation errors
//! as fault 1 `flectra.exceptions.ValidationError`, a silent unlink of missing records,
//! unknown fields dropped by create and write, `ir.model` readable by every user, the 57
//! partner fields of `fields_get`, the admin user's unlink refused before the access check,
//! Odoo 11's texts for a bad domain field and an unknown service (with a string fault code on
//! a legacy path). The HTTP side (HTTP/1.0, no `Connection`, the prolog, an
//! HTML 500 for a malformed body) is in `server`. No I/O.

use std::sync::RwLock;

use serde_json::{Map, Value};

use super::data::{Database, TableId, PARTNER, USERS};
use super::faults::Fault;
use super::methods::{self, read_lock};
use super::records::Stamp;

/// uid of the administrator in Flectra 1.x (Odoo 11: the superuser is the admin).
pub(crate) const ADMIN_UID: i64 = 1;
/// uid of the restricted user in the recorded Flectra database.
pub(crate) const USER_UID: i64 = 7;

/// The struct `common.version()` answers.
pub(crate) fn version() -> Value {
    serde_json::json!({
        "server_version": "1.4",
        "server_version_info": [1, 4, 0, "final", 0, ""],
        "server_serie": "1.4",
        "protocol_version": 1
    })
}

/// Moves the seeded users to Flectra's ids: admin 2 -> 1 (the Odoo 18 `__system__` user
/// takes 2), demo_api 8 -> 7. Records keep the uids that created them.
pub(crate) fn renumber_users(db: &mut Database) {
    let system = db.remove(USERS, 1);
    let admin = db.remove(USERS, super::DEMO_ADMIN_UID);
    let user = db.remove(USERS, super::DEMO_USER_UID);
    for (id, row) in [(ADMIN_UID, admin), (2, system), (USER_UID, user)] {
        if let Some(row) = row {
            db.insert(USERS, id, row);
        }
    }
}

/// The partner fields Flectra 1.4 has and the demo does not store, as its `fields_get`
/// describes them (tests/fixtures/flectra14/13): described, dropped by create and write,
/// read as `false`.
const FLECTRA_ONLY_PARTNER_FIELDS: &[(&str, &str, &str, bool, Option<&str>)] = &[
    // (name, type, string, readonly, relation)
    ("__last_update", "datetime", "Last Modified on", true, None),
    (
        "bank_ids",
        "one2many",
        "Banks",
        false,
        Some("res.partner.bank"),
    ),
    (
        "commercial_partner_country_id",
        "many2one",
        "Country",
        false,
        Some("res.country"),
    ),
    ("contact_address", "char", "Complete Address", true, None),
    ("credit_limit", "float", "Credit Limit", false, None),
    ("customer", "boolean", "Is a Customer", false, None),
    ("date", "date", "Date", false, None),
    ("image", "binary", "Image", false, None),
    ("image_medium", "binary", "Medium-sized image", false, None),
    ("image_small", "binary", "Small-sized image", false, None),
    (
        "industry_id",
        "many2one",
        "Industry",
        false,
        Some("res.partner.industry"),
    ),
    ("partner_share", "boolean", "Share Partner", true, None),
    ("self", "many2one", "Self", true, Some("res.partner")),
    (
        "state_id",
        "many2one",
        "State",
        false,
        Some("res.country.state"),
    ),
    ("supplier", "boolean", "Is a Vendor", false, None),
    (
        "title",
        "many2one",
        "Title",
        false,
        Some("res.partner.title"),
    ),
    ("tz_offset", "char", "Timezone offset", true, None),
];

/// Partner fields of the demo (Odoo 18) that Flectra 1.4 does not have.
const ODOO_ONLY_PARTNER_FIELDS: &[&str] = &[
    "complete_name",
    "country_code",
    "image_128",
    "partner_latitude",
    "partner_longitude",
];

fn flectra_only(table: TableId, name: &str) -> bool {
    table == PARTNER
        && FLECTRA_ONLY_PARTNER_FIELDS
            .iter()
            .any(|field| field.0 == name)
}

/// What Flectra 1.x refuses before the ORM checks the access rights: `res.users.unlink` of
/// the admin raises first (fixture flectra14/59: demo_api, who may not delete users, is told
/// the admin cannot be removed).
pub(crate) fn refusal_before_access_check(
    table: TableId,
    method: &str,
    positional: &[Value],
) -> Option<Fault> {
    let admin = Value::from(ADMIN_UID);
    let of_admin = match positional.first()? {
        Value::Array(ids) => ids.contains(&admin),
        id => *id == admin,
    };
    (table == USERS && method == "unlink" && of_admin).then(Fault::admin_user_unlink)
}

/// A model method called the Flectra 1.4 way, by the Odoo 18 core in between.
pub(crate) fn call(
    database: &RwLock<Database>,
    table: TableId,
    method: &'static str,
    positional: &[Value],
    keywords: &Map<String, Value>,
    stamp: Stamp,
) -> Result<Value, Fault> {
    let mut positional = positional.to_vec();
    let mut keywords = keywords.clone();
    let mut read_as_false = Vec::new();
    match method {
        // Flectra 1.x drops unknown fields (a server-log warning only).
        "create" | "write" => {
            let at = usize::from(method == "write");
            let db = read_lock(database);
            let model = db.model(table);
            let values = match positional.get_mut(at) {
                Some(values) => Some(values),
                None => keywords.get_mut("vals"),
            };
            if let Some(Value::Object(values)) = values {
                values.retain(|name, _| model.field_index(name).is_some());
            }
        }
        // Flectra 1.x's unlink of a missing record succeeds: only existing ids are unlinked.
        "unlink" => {
            let db = read_lock(database);
            if let Some(Value::Array(ids)) = positional.first_mut() {
                ids.retain(|id| id.as_i64().is_none_or(|id| db.exists(table, id)));
            }
        }
        "read" | "search_read" => {
            let fields = match positional.get_mut(1) {
                Some(fields) => Some(fields),
                None => keywords.get_mut("fields"),
            };
            if let Some(Value::Array(names)) = fields {
                names.retain(|name| {
                    let only = name.as_str().is_some_and(|name| flectra_only(table, name));
                    if only {
                        read_as_false.push(name.as_str().unwrap_or_default().to_owned());
                    }
                    !only
                });
                if names.is_empty() && !read_as_false.is_empty() {
                    names.push(Value::from("id"));
                }
            }
        }
        _ => {}
    }
    let answer = methods::call(database, table, method, &positional, &keywords, stamp)
        .map_err(|fault| missing_record(database, table, method, fault))?;
    Ok(match (method, answer) {
        ("read" | "search_read", Value::Array(mut rows)) => {
            for row in &mut rows {
                if let Value::Object(row) = row {
                    for name in &read_as_false {
                        row.insert(name.clone(), Value::Bool(false));
                    }
                }
            }
            Value::Array(rows)
        }
        ("fields_get", Value::Object(fields)) if table == PARTNER => {
            Value::Object(partner_fields(fields, &keywords, &positional))
        }
        (_, answer) => answer,
    })
}

/// Odoo 18's partner `fields_get` turned into Flectra 1.4's 57 fields.
fn partner_fields(
    mut fields: Map<String, Value>,
    keywords: &Map<String, Value>,
    positional: &[Value],
) -> Map<String, Value> {
    fields.retain(|name, _| !ODOO_ONLY_PARTNER_FIELDS.contains(&name.as_str()));
    if let Some(Value::Object(kind)) = fields.get_mut("type") {
        if kind.contains_key("selection") {
            kind.insert(
                "selection".into(),
                serde_json::json!([
                    ["contact", "Contact"],
                    ["invoice", "Invoice address"],
                    ["delivery", "Shipping address"],
                    ["other", "Other address"],
                    ["private", "Private Address"]
                ]),
            );
        }
    }
    if let Some(Value::Object(comment)) = fields.get_mut("comment") {
        if comment.contains_key("type") {
            comment.insert("type".into(), Value::from("text"));
        }
    }
    let wanted: Option<Vec<&str>> = keywords
        .get("attributes")
        .or_else(|| positional.get(1))
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect());
    for (name, kind, string, readonly, relation) in FLECTRA_ONLY_PARTNER_FIELDS {
        let mut description = Map::new();
        let mut put = |key: &str, value: Value| {
            if wanted.as_ref().is_none_or(|wanted| wanted.contains(&key)) {
                description.insert(key.to_owned(), value);
            }
        };
        put("type", Value::from(*kind));
        put("readonly", Value::Bool(*readonly));
        if let Some(relation) = relation {
            put("relation", Value::from(*relation));
        }
        put("required", Value::Bool(false));
        put("string", Value::from(*string));
        fields.insert((*name).to_owned(), Value::Object(description));
    }
    fields
}

const ODOO_MISSING: &str = "Record does not exist or has been deleted.\n(Record: ";

/// Odoo 18's missing-record fault, as Flectra 1.4 words it: a write on a missing record of
/// the model called; a many2one to a missing record is a foreign-key violation (fault 1).
fn missing_record(
    database: &RwLock<Database>,
    table: TableId,
    method: &str,
    fault: Fault,
) -> Fault {
    let Some(rest) = fault.string.strip_prefix(ODOO_MISSING) else {
        return fault;
    };
    let model = read_lock(database).model(table);
    let of_this_model = rest
        .strip_prefix(model.name)
        .is_some_and(|after| after.starts_with('('));
    if of_this_model && method != "create" {
        return Fault {
            code: 2,
            string: tuple_repr(&format!(
                "One of the records you are trying to modify has already been deleted \
                 (Document type: {}).",
                model.description
            )),
        };
    }
    let target = rest.split('(').next().unwrap_or_default();
    let description = super::schema::model_index(target)
        .map(|table| read_lock(database).model(table).description)
        .unwrap_or(target);
    validation_error(&format!(
        "The operation cannot be completed, probably due to the following:\n- deletion: you \
         may be trying to delete a record while other records still reference it\n- \
         creation/update: a mandatory field is not correctly set\n\n[object with reference: \
         {description} - {target}]"
    ))
}

/// Python's `str()` of an `except_orm`: `('message', None)`, quotes and newlines escaped.
fn tuple_repr(message: &str) -> String {
    let quote = if message.contains('\'') && !message.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(message.len() + 10);
    out.push('(');
    out.push(quote);
    for c in message.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out.push_str(", None)");
    out
}

/// The frames above a service's `dispatch`: all of the traceback when there is no such
/// service (tests/fixtures/flectra14/50, 51).
const RPC_FRAMES: &str = "Traceback (most recent call last):\n  \
File \"/opt/flectra/flectra/service/wsgi_server.py\", line 124, in wsgi_xmlrpc\n    \
result = flectra.http.dispatch_rpc(service, method, params)\n  \
File \"/opt/flectra/flectra/http.py\", line 118, in dispatch_rpc\n    \
result = dispatch(method, params)\n";

/// The frame under them in every Flectra 1.4 `execute_kw` traceback (tests/fixtures/flectra14/55).
const OBJECT_FRAME: &str = "  File \"/opt/flectra/flectra/service/model.py\", line 39, in \
dispatch\n    res = fn(db, uid, *params)\n";

/// What `dispatch_rpc` raises for a service it does not know: it never binds `dispatch`.
const NO_SUCH_SERVICE: &str =
    "UnboundLocalError: local variable 'dispatch' referenced before assignment";

fn traceback(exception: &str) -> Fault {
    Fault {
        code: 1,
        string: format!("{RPC_FRAMES}{OBJECT_FRAME}{exception}\n"),
    }
}

/// Fault 1 `flectra.exceptions.ValidationError: ('message', None)`.
fn validation_error(message: &str) -> Fault {
    traceback(&format!(
        "flectra.exceptions.ValidationError: {}",
        tuple_repr(message)
    ))
}

/// Any fault of the Odoo 18 core, in Flectra 1.4's words.
pub(crate) fn translate(fault: Fault) -> Fault {
    match fault.code {
        3 => Fault {
            code: 3,
            string: "Access denied".into(),
        },
        4 => Fault {
            code: 4,
            string: tuple_repr(&access_error(&fault.string).unwrap_or(fault.string)),
        },
        2 => user_error(fault),
        1 => server_error(fault),
        _ => fault,
    }
}

/// `You are not allowed to create 'Contact' (res.partner) records.\n\nThis operation is
/// allowed for the following groups:\n\t- Extra Rights/Contact Creation\n\n...` -> Flectra's.
fn access_error(odoo: &str) -> Option<String> {
    let rest = odoo.strip_prefix("You are not allowed to ")?;
    let (verb, rest) = rest.split_once(' ')?;
    let model = rest.split_once(") records.")?.0.rsplit_once('(')?.1;
    let group = odoo.split_once("\t- ")?.1.lines().next()?;
    let what = match verb {
        "create" => "create this kind of document",
        "modify" => "modify this document",
        "delete" => "delete this document",
        _ => "access this document",
    };
    Some(format!(
        "Sorry, you are not allowed to {what}. Only users with the following access level are \
         currently allowed to do that:\n- {group}\n\n(Document model: {model})"
    ))
}

/// Odoo 18's fault-2 texts: validation errors become fault 1 in Flectra 1.4.
fn user_error(fault: Fault) -> Fault {
    let text = fault.string.as_str();
    if text == "You cannot create recursive Partner hierarchies." || text == "Recursion Detected." {
        return validation_error(text);
    }
    if text.ends_with("You can not have two users with the same login!") {
        return validation_error("You can not have two users with the same login !");
    }
    if text == "The operation cannot be completed: Contacts require a name" {
        return validation_error("Contacts require a name.");
    }
    if let Some(rest) = text.strip_prefix("The operation cannot be completed: ") {
        // A missing required value or a record others require: an SQL constraint in 1.4.
        let reference = rest
            .split_once("Model: ")
            .map(|(_, model)| model.lines().next().unwrap_or_default().trim())
            .unwrap_or_default();
        return validation_error(&format!(
            "The operation cannot be completed, probably due to the following:\n- deletion: you \
             may be trying to delete a record while other records still reference it\n- \
             creation/update: a mandatory field is not correctly set\n\n[object with reference: \
             {reference}]"
        ));
    }
    if let Some(rest) = text.strip_prefix("Invalid \"order\" specified (") {
        if let Some((_, after)) = rest.split_once("). ") {
            return Fault {
                code: 2,
                string: format!("Invalid \"order\" specified. {after}"),
            };
        }
    }
    if text.starts_with("You can not remove the admin user") {
        return Fault {
            code: 2,
            string: text.replace("created by Odoo", "created by Flectra"),
        };
    }
    fault
}

/// Odoo 18's tracebacks: Flectra's frames, and Flectra's last line where it differs.
fn server_error(fault: Fault) -> Fault {
    let last = fault
        .string
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    let last = if let Some(rest) = last.strip_prefix("psycopg2.OperationalError: connection to") {
        match rest.split_once("failed: ") {
            Some((_, fatal)) => format!("psycopg2.OperationalError: {fatal}"),
            None => last,
        }
    } else if let Some(rest) = last.strip_prefix("AttributeError: The method '") {
        // `The method 'x' does not exist on the model 'm'`
        let method = rest.split('\'').next().unwrap_or_default();
        let model = rest.rsplit('\'').nth(1).unwrap_or_default();
        format!("AttributeError: type object '{model}' has no attribute '{method}'")
    } else if last.starts_with("ValueError: Invalid leaf") {
        "TypeError: unhashable type: 'list'".to_owned()
    } else if last.starts_with("KeyError: ") {
        return Fault {
            code: 1,
            string: format!("{RPC_FRAMES}{NO_SUCH_SERVICE}\n"),
        };
    } else if let Some(leaf) = extended_leaf(&last) {
        leaf
    } else {
        last.replace("odoo.", "flectra.")
    };
    traceback(&last)
}

/// Odoo 18's `ValueError: Invalid field res.partner.nope in leaf ('nope', '=', 1)` as Odoo 11's
/// expression parser words it: the field quoted, the leaf an `ExtendedLeaf` on the table
/// (tests/fixtures/flectra14/34).
fn extended_leaf(odoo: &str) -> Option<String> {
    let (path, leaf) = odoo
        .strip_prefix("ValueError: Invalid field ")?
        .split_once(" in leaf ")?;
    let (model, field) = path.rsplit_once('.')?;
    Some(format!(
        "ValueError: Invalid field '{field}' in leaf \"<osv.ExtendedLeaf: {leaf} on {} (ctx: )>\"",
        model.replace('.', "_")
    ))
}

/// The `faultCode` of a traceback on the legacy endpoints (`/xmlrpc/<service>`, without
/// `2/`): the text of the exception, the traceback staying the `faultString`
/// (tests/fixtures/flectra14/50). The demo serves only unknown services there.
pub(crate) fn legacy_fault_code(fault: &Fault) -> String {
    let last = fault.string.trim_end().lines().last().unwrap_or_default();
    last.split_once(": ")
        .map_or(last, |(_, message)| message)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odoo_texts_become_the_recorded_flectra_texts() {
        let acl = Fault {
            code: 4,
            string: "You are not allowed to create 'Contact' (res.partner) records.\n\nThis \
                     operation is allowed for the following groups:\n\t- Extra Rights/Contact \
                     Creation\n\nContact your administrator to request access if necessary."
                .into(),
        };
        let recorded = include_str!(
            "../../tests/fixtures/flectra14/31-access-error-create-partner.response.xml"
        );
        let flectra = translate(acl);
        assert_eq!(flectra.code, 4);
        assert!(recorded.contains(&format!("<string>{}</string>", flectra.string)));
        let denied = translate(Fault {
            code: 3,
            string: "Access Denied".into(),
        });
        assert_eq!(denied.string, "Access denied");
        let name = translate(Fault {
            code: 2,
            string: "The operation cannot be completed: Contacts require a name".into(),
        });
        assert_eq!(name.code, 1);
        assert!(name.string.ends_with(
            "\nflectra.exceptions.ValidationError: ('Contacts require a name.', None)\n"
        ));
        assert_eq!(tuple_repr("it's"), "(\"it's\", None)");
        assert_eq!(tuple_repr("a\nb"), "('a\\nb', None)");
    }
}
