//! The faults the demo ERP answers with, with the codes and texts of a real Odoo 18
//! (tests/fixtures/odoo18/): code 1 carries a Python traceback, 2 a user-facing message,
//! 3 `Access Denied`, 4 an access error. Also `py_repr`, Python's `repr` of a value, which
//! Odoo's messages quote. No I/O.

use serde_json::Value;

use super::pyrepr::py_str;
pub(crate) use super::pyrepr::{py_repr, ReprStyle};

/// An XML-RPC fault as the demo ERP raises it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fault {
    pub(crate) code: i64,
    pub(crate) string: String,
}

type Frame = (&'static str, u32, &'static str);

const RPC_PY: &str = "/opt/odoo/odoo/addons/base/controllers/rpc.py";
const MODEL_PY: &str = "/opt/odoo/odoo/service/model.py";
const MODELS_PY: &str = "/opt/odoo/odoo/models.py";
const EXPRESSION_PY: &str = "/opt/odoo/odoo/osv/expression.py";
const XMLRPC_CLIENT_PY: &str = "/usr/lib/python3.11/xmlrpc/client.py";

/// The frames every `/xmlrpc/2/...` call goes through before its service.
const RPC_FRAMES: &[Frame] = &[
    (RPC_PY, 161, "xmlrpc_2"),
    (RPC_PY, 139, "_xmlrpc"),
    ("/opt/odoo/odoo/http.py", 398, "dispatch_rpc"),
];

/// The frames of `object.execute_kw` down to the model method.
const EXECUTE_KW_FRAMES: &[Frame] = &[
    (MODEL_PY, 39, "dispatch"),
    (MODEL_PY, 61, "execute_kw"),
    (MODEL_PY, 68, "execute"),
    (MODEL_PY, 52, "execute_cr"),
    (MODEL_PY, 137, "retrying"),
];

/// Where a code-1 fault was raised, which picks the frames of its traceback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Site {
    /// Inside a model method called by `execute_kw`.
    Model(&'static str),
    /// While parsing a search domain.
    Domain,
    /// While converting values for `create` / `write`.
    Values,
    /// In `api.call_kw`, looking the method up.
    CallKw,
    /// In the `common` service dispatcher.
    Common,
    /// While marshalling the result.
    Marshal,
    /// While parsing the request body.
    Parse,
    /// In `dispatch_rpc`, looking the service up.
    Service,
}

impl Site {
    fn frames(self) -> Vec<Frame> {
        let mut frames: Vec<Frame> = Vec::with_capacity(16);
        match self {
            Site::Parse => {
                frames.push(RPC_FRAMES[0]);
                frames.push((RPC_PY, 138, "_xmlrpc"));
                frames.push((XMLRPC_CLIENT_PY, 1030, "loads"));
                frames.push((XMLRPC_CLIENT_PY, 460, "close"));
            }
            Site::Marshal => {
                frames.push(RPC_FRAMES[0]);
                frames.push((RPC_PY, 140, "_xmlrpc"));
                frames.push((RPC_PY, 114, "dumps"));
                frames.push((XMLRPC_CLIENT_PY, 514, "dumps"));
                frames.push((XMLRPC_CLIENT_PY, 536, "__dump"));
                frames.push((XMLRPC_CLIENT_PY, 540, "dump_nil"));
            }
            Site::Service => {
                frames.push(RPC_FRAMES[0]);
                frames.push(RPC_FRAMES[1]);
                frames.push(("/opt/odoo/odoo/http.py", 397, "dispatch_rpc"));
            }
            Site::Common => {
                frames.extend_from_slice(RPC_FRAMES);
                frames.push(("/opt/odoo/odoo/service/common.py", 60, "dispatch"));
            }
            Site::CallKw => {
                frames.extend_from_slice(RPC_FRAMES);
                frames.extend_from_slice(EXECUTE_KW_FRAMES);
                frames.push(("/opt/odoo/odoo/api.py", 500, "call_kw"));
            }
            Site::Model(method) => {
                frames.extend_from_slice(RPC_FRAMES);
                frames.extend_from_slice(EXECUTE_KW_FRAMES);
                frames.push(("/opt/odoo/odoo/api.py", 517, "call_kw"));
                frames.push((MODELS_PY, 6061, method));
            }
            Site::Domain => {
                frames.extend_from_slice(RPC_FRAMES);
                frames.extend_from_slice(EXECUTE_KW_FRAMES);
                frames.push(("/opt/odoo/odoo/api.py", 517, "call_kw"));
                frames.push((MODELS_PY, 1741, "search_fetch"));
                frames.push((MODELS_PY, 5736, "_search"));
                frames.push((MODELS_PY, 5487, "_where_calc"));
                frames.push((EXPRESSION_PY, 787, "__init__"));
                frames.push((EXPRESSION_PY, 952, "parse"));
            }
            Site::Values => {
                frames.extend_from_slice(RPC_FRAMES);
                frames.extend_from_slice(EXECUTE_KW_FRAMES);
                frames.push(("/opt/odoo/odoo/api.py", 517, "call_kw"));
                frames.push((MODELS_PY, 4905, "create"));
                frames.push((MODELS_PY, 5062, "_prepare_create_values"));
                frames.push((MODELS_PY, 6341, "_update_cache"));
            }
        }
        frames
    }
}

fn push_traceback(out: &mut String, frames: &[Frame], exception: &str) {
    out.push_str("Traceback (most recent call last):\n");
    for (path, line, function) in frames {
        out.push_str(&format!("  File \"{path}\", line {line}, in {function}\n"));
    }
    out.push_str(exception);
    out.push('\n');
}

impl Fault {
    fn new(code: i64, string: impl Into<String>) -> Fault {
        Fault {
            code,
            string: string.into(),
        }
    }

    /// Code 1: a Python traceback raised at `site`, ending with `exception` (`Class: message`).
    pub(crate) fn traceback(site: Site, exception: &str) -> Fault {
        let mut string = String::with_capacity(1024);
        push_traceback(&mut string, &site.frames(), exception);
        Fault::new(1, string)
    }

    /// Code 2: a `UserError` family message, shown as is.
    pub(crate) fn user(message: impl Into<String>) -> Fault {
        Fault::new(2, message)
    }

    /// Code 2: `MissingError` for the ids of `model` that do not exist.
    pub(crate) fn missing(model: &str, ids: &[i64], uid: i64) -> Fault {
        Fault::user(format!(
            "Record does not exist or has been deleted.\n(Record: {model}{}, User: {uid})",
            py_tuple_of_ids(ids)
        ))
    }

    pub(crate) fn unknown_model(model: &str) -> Fault {
        Fault::user(format!("Object {model} doesn't exist"))
    }

    /// Code 3: wrong uid / password on `execute_kw`.
    pub(crate) fn access_denied() -> Fault {
        Fault::new(3, "Access Denied")
    }

    /// Code 4: an ACL denial. `operation` is one of create, modify, delete, access.
    pub(crate) fn acl(operation: &str, description: &str, model: &str, group: &str) -> Fault {
        Fault::new(
            4,
            format!(
                "You are not allowed to {operation} '{description}' ({model}) records.\n\n\
                 This operation is allowed for the following groups:\n\t- {group}\n\n\
                 Contact your administrator to request access if necessary."
            ),
        )
    }

    /// Code 4: a read of every field reached a relational one whose model the user may not
    /// read (Odoo 19 puts `Failed to read field <model>.<field>` over that model's denial).
    pub(crate) fn field_read_denied(model: &str, field: &str, denial: Fault) -> Fault {
        Fault::new(
            4,
            format!("Failed to read field {model}.{field}\n{}", denial.string),
        )
    }

    /// Code 4: the context's `allowed_company_ids` names a company the user is not in.
    pub(crate) fn invalid_companies() -> Fault {
        Fault::new(4, "Access to unauthorized or invalid companies.")
    }

    /// Code 2: `res.users.unlink` of the admin (or of `__system__`).
    pub(crate) fn admin_user_unlink() -> Fault {
        Fault::user(
            "You can not remove the admin user as it is used internally for resources created \
             by Odoo (updates, module installation, ...)",
        )
    }

    pub(crate) fn private_method(method: &str) -> Fault {
        Fault::new(
            4,
            format!("Private methods (such as {method}) cannot be called remotely."),
        )
    }

    pub(crate) fn unknown_method(model: &str, method: &str) -> Fault {
        Fault::traceback(
            Site::CallKw,
            &format!(
                "AttributeError: The method '{}' does not exist on the model '{model}'",
                method
            ),
        )
    }

    /// What a method that returns `None` costs over XML-RPC.
    pub(crate) fn cannot_marshal_none() -> Fault {
        Fault::traceback(
            Site::Marshal,
            "TypeError: cannot marshal None unless allow_none is enabled",
        )
    }

    pub(crate) fn invalid_field(model: &str, field: &str) -> Fault {
        Fault::traceback(
            Site::Values,
            &format!(
                "ValueError: Invalid field {} on model {}",
                py_str(field),
                py_str(model)
            ),
        )
    }

    pub(crate) fn invalid_domain_field(model: &str, field: &str, leaf: &Value) -> Fault {
        Fault::traceback(
            Site::Domain,
            &format!(
                "ValueError: Invalid field {model}.{field} in leaf {}",
                py_leaf(leaf)
            ),
        )
    }

    pub(crate) fn invalid_leaf(leaf: &Value) -> Fault {
        Fault::traceback(
            Site::Domain,
            &format!("ValueError: Invalid leaf {}", py_leaf(leaf)),
        )
    }

    pub(crate) fn invalid_domain(domain: &Value) -> Fault {
        Fault::traceback(
            Site::Domain,
            &format!(
                "ValueError: Invalid domain: {}",
                py_repr(domain, ReprStyle::List)
            ),
        )
    }

    /// Code 2: an `order` string that is not a list of `field [asc|desc]`.
    pub(crate) fn bad_order(order: &str) -> Fault {
        Fault::user(format!(
            "Invalid \"order\" specified ({order}). A valid \"order\" specification is a \
             comma-separated list of valid field names (optionally followed by asc/desc for \
             the direction)"
        ))
    }

    /// Code 1: an order on a field that does not exist or cannot be sorted.
    pub(crate) fn bad_order_field(model: &str, field: &str) -> Fault {
        Fault::traceback(
            Site::Model("search_fetch"),
            &format!(
                "ValueError: Invalid field {} on model {}",
                py_str(field),
                py_str(model)
            ),
        )
    }

    /// Code 1: a call whose arguments do not fit the method.
    pub(crate) fn type_error(site: Site, message: &str) -> Fault {
        Fault::traceback(site, &format!("TypeError: {message}"))
    }

    /// Code 1: a value that does not fit its field.
    pub(crate) fn value_error(site: Site, message: &str) -> Fault {
        Fault::traceback(site, &format!("ValueError: {message}"))
    }

    /// Code 1: the database does not exist (two chained tracebacks, as psycopg2 reports it).
    pub(crate) fn unknown_database(db: &str, service_function: &'static str) -> Fault {
        let mut string = String::with_capacity(2048);
        push_traceback(
            &mut string,
            &[
                ("/opt/odoo/odoo/modules/registry.py", 104, "__new__"),
                ("/opt/odoo/odoo/tools/lru.py", 33, "__getitem__"),
            ],
            &format!("KeyError: {}", py_str(db)),
        );
        string
            .push_str("\nDuring handling of the above exception, another exception occurred:\n\n");
        let mut frames = RPC_FRAMES.to_vec();
        frames.extend_from_slice(&[
            (
                if service_function == "exp_authenticate" || service_function == "exp_login" {
                    "/opt/odoo/odoo/service/common.py"
                } else {
                    MODEL_PY
                },
                26,
                service_function,
            ),
            ("/opt/odoo/odoo/modules/registry.py", 106, "__new__"),
            ("/opt/odoo/odoo/modules/registry.py", 118, "new"),
            ("/opt/odoo/odoo/modules/registry.py", 1007, "cursor"),
            ("/opt/odoo/odoo/sql_db.py", 784, "cursor"),
            ("/opt/odoo/odoo/sql_db.py", 712, "borrow"),
            (
                "/usr/lib/python3/dist-packages/psycopg2/__init__.py",
                122,
                "connect",
            ),
        ]);
        push_traceback(
            &mut string,
            &frames,
            &format!(
                "psycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 \
                 failed: FATAL:  database \"{db}\" does not exist\n"
            ),
        );
        Fault::new(1, string)
    }

    /// Code 1: the body is not a well-formed XML-RPC call. `line` is 1-based, `column` 0-based.
    pub(crate) fn malformed(message: &str, line: usize, column: usize) -> Fault {
        Fault::traceback(
            Site::Parse,
            &format!("xml.parsers.expat.ExpatError: {message}: line {line}, column {column}"),
        )
    }

    pub(crate) fn unknown_service(service: &str) -> Fault {
        Fault::traceback(Site::Service, &format!("KeyError: {}", py_str(service)))
    }

    pub(crate) fn method_not_found(method: &str) -> Fault {
        Fault::traceback(
            Site::Common,
            &format!("Exception: Method not found: {method}"),
        )
    }
}

/// `(15,)` or `(15, 27)`, as Python prints a tuple of ids.
fn py_tuple_of_ids(ids: &[i64]) -> String {
    match ids {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = ids.iter().map(i64::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// A domain leaf as Odoo prints it: a tuple.
fn py_leaf(leaf: &Value) -> String {
    py_repr(leaf, ReprStyle::Tuple)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_record_text_matches_odoo() {
        let fault = Fault::missing("res.partner", &[999999999], 2);
        assert_eq!(fault.code, 2);
        assert_eq!(
            fault.string,
            "Record does not exist or has been deleted.\n(Record: res.partner(999999999,), User: 2)"
        );
        let two = Fault::missing("res.partner", &[998, 999], 8);
        assert!(two
            .string
            .ends_with("(Record: res.partner(998, 999), User: 8)"));
    }

    #[test]
    fn acl_text_has_six_lines() {
        let fault = Fault::acl(
            "delete",
            "User",
            "res.users",
            "Administration/Access Rights",
        );
        assert_eq!(fault.code, 4);
        assert_eq!(
            fault.string,
            "You are not allowed to delete 'User' (res.users) records.\n\nThis operation is \
             allowed for the following groups:\n\t- Administration/Access Rights\n\nContact \
             your administrator to request access if necessary."
        );
    }

    #[test]
    fn tracebacks_start_and_end_like_python() {
        let faults = [
            Fault::invalid_field("res.partner", "no_such_field"),
            Fault::invalid_leaf(&json!(["name", "no_such_op", 1])),
            Fault::unknown_database("no_such_db", "exp_authenticate"),
            Fault::unknown_service("nope"),
            Fault::method_not_found("no_such_method"),
            Fault::cannot_marshal_none(),
            Fault::malformed("no element found", 3, 0),
        ];
        for fault in faults {
            assert_eq!(fault.code, 1);
            assert!(fault
                .string
                .starts_with("Traceback (most recent call last):\n  File \"/"));
            assert!(fault.string.ends_with('\n'));
        }
        let create = Fault::invalid_field("res.partner", "no_such_field");
        assert!(create
            .string
            .ends_with("\nValueError: Invalid field 'no_such_field' on model 'res.partner'\n"));
        let db = Fault::unknown_database("no_such_db", "exp_authenticate");
        assert!(db.string.ends_with(
            "\npsycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 \
             failed: FATAL:  database \"no_such_db\" does not exist\n\n"
        ));
    }
}
