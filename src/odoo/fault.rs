//! The classification of the faults an ERP answers with, from the texts real Odoo and Flectra
//! servers send: who is at fault and what a client may be told. No I/O.

use crate::xmlrpc::{Fault, FaultCode};

/// A fault the ERP answered with, classified from the texts Odoo 18 really sends.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OdooFault {
    /// Fault 3 (`Access Denied`): wrong password or API key.
    #[error("Access Denied")]
    AccessDenied,
    /// Fault 4: an access rule or a private method refused the call.
    #[error("{0}")]
    AccessError(String),
    /// Fault 2 `Record does not exist or has been deleted.`
    #[error("{0}")]
    MissingRecord(String),
    /// Fault 2 `Object x.y doesn't exist`.
    #[error("Object {0} doesn't exist")]
    UnknownModel(String),
    /// Fault 1 raised by psycopg2 for a database that does not exist.
    #[error("database {0:?} does not exist")]
    UnknownDatabase(String),
    /// Any other fault 2: a `UserError` or `ValidationError` with a message for users.
    #[error("{0}")]
    UserError(String),
    /// Fault 1 `TypeError: cannot marshal None unless allow_none is enabled`: the method ran
    /// (and its transaction was committed) but returned `None`, which Odoo's XML-RPC cannot
    /// send. Its answer is lost, not its effect.
    #[error("the ERP ran the method but its answer was None, which XML-RPC cannot carry")]
    ReturnedNone,
    /// Fault 1: an exception escaped on the server. Only its last line reaches a client; the
    /// traceback is kept for the logs.
    #[error("{class}: {message}")]
    ServerError {
        class: String,
        message: String,
        traceback: String,
    },
}

impl OdooFault {
    /// Classifies a raw XML-RPC fault.
    pub fn classify(fault: Fault) -> OdooFault {
        match fault.code {
            FaultCode::Int(3) => OdooFault::AccessDenied,
            FaultCode::Int(4) => OdooFault::AccessError(fault.string),
            FaultCode::Int(2) => classify_user_error(fault.string),
            FaultCode::Int(_) => classify_server_error(fault.string),
            FaultCode::Text(code) => classify_legacy(code, fault.string),
        }
    }
}

const MISSING_RECORD: &str = "Record does not exist or has been deleted.";

fn classify_user_error(message: String) -> OdooFault {
    if message.starts_with(MISSING_RECORD) {
        return OdooFault::MissingRecord(message);
    }
    if let Some(model) = message
        .strip_prefix("Object ")
        .and_then(|rest| rest.strip_suffix(" doesn't exist"))
    {
        if !model.contains(char::is_whitespace) {
            return OdooFault::UnknownModel(model.to_owned());
        }
    }
    OdooFault::UserError(message)
}

fn classify_server_error(traceback: String) -> OdooFault {
    let last_line = traceback
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim();
    let (class, message) = match last_line.split_once(": ") {
        Some((class, message)) if !class.contains(' ') => (class, message),
        _ => ("Exception", last_line),
    };
    if class == "TypeError" && message.starts_with("cannot marshal None") {
        return OdooFault::ReturnedNone;
    }
    if class.ends_with("OperationalError") {
        if let Some(db) = unknown_database(message) {
            return OdooFault::UnknownDatabase(db.to_owned());
        }
    }
    OdooFault::ServerError {
        class: class.rsplit('.').next().unwrap_or(class).to_owned(),
        message: message.to_owned(),
        traceback,
    }
}

/// `... FATAL:  database "no_such_db" does not exist` -> `no_such_db`.
fn unknown_database(message: &str) -> Option<&str> {
    let start = message.find("database \"")? + "database \"".len();
    let rest = &message[start..];
    let end = rest.find("\" does not exist")?;
    Some(&rest[..end])
}

/// The legacy `/xmlrpc/object` endpoint puts the exception in a string `faultCode`
/// (`warning -- MissingError\n\n<message>`, or `AccessDenied`).
fn classify_legacy(code: String, string: String) -> OdooFault {
    let body = code.strip_prefix("warning -- ").unwrap_or(&code);
    let (kind, message) = match body.split_once("\n\n") {
        Some((kind, message)) => (kind.trim(), message.to_owned()),
        None => (body.trim(), string.clone()),
    };
    match kind {
        "AccessDenied" => OdooFault::AccessDenied,
        "AccessError" => OdooFault::AccessError(message),
        "MissingError" => OdooFault::MissingRecord(message),
        "UserError" | "ValidationError" | "Warning" | "RedirectWarning" => {
            classify_user_error(message)
        }
        _ if code.starts_with("Traceback") => classify_server_error(code),
        _ if string.starts_with("Traceback") => classify_server_error(string),
        _ => classify_user_error(if message.is_empty() { code } else { message }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: i64, string: &str) -> OdooFault {
        OdooFault::classify(Fault {
            code: FaultCode::Int(code),
            string: string.into(),
        })
    }

    #[test]
    fn classifies_the_recorded_fault_texts() {
        assert_eq!(fault(3, "Access Denied"), OdooFault::AccessDenied);
        assert!(matches!(
            fault(2, "Record does not exist or has been deleted.\n(Record: res.partner(999999999,), User: 2)"),
            OdooFault::MissingRecord(_)
        ));
        assert_eq!(
            fault(2, "Object x.no.such.model doesn't exist"),
            OdooFault::UnknownModel("x.no.such.model".into())
        );
        assert!(matches!(
            fault(2, "You cannot create recursive Partner hierarchies."),
            OdooFault::UserError(_)
        ));
        let tb = "Traceback (most recent call last):\n  File \"/opt/odoo/x.py\", line 1, in f\nValueError: Invalid field 'no_such_field' on model 'res.partner'\n";
        match fault(1, tb) {
            OdooFault::ServerError { class, message, .. } => {
                assert_eq!(class, "ValueError");
                assert_eq!(
                    message,
                    "Invalid field 'no_such_field' on model 'res.partner'"
                );
            }
            other => panic!("{other:?}"),
        }
        let db = "Traceback (most recent call last):\npsycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"no_such_db\" does not exist\n";
        assert_eq!(
            fault(1, db),
            OdooFault::UnknownDatabase("no_such_db".into())
        );
    }

    #[test]
    fn classifies_legacy_string_codes() {
        let missing = OdooFault::classify(Fault {
            code: FaultCode::Text("warning -- MissingError\n\nRecord does not exist or has been deleted.\n(Record: res.partner(999999999,), User: 2)".into()),
            string: String::new(),
        });
        assert!(matches!(missing, OdooFault::MissingRecord(m) if m.starts_with(MISSING_RECORD)));
        let denied = OdooFault::classify(Fault {
            code: FaultCode::Text("AccessDenied".into()),
            string: "Access Denied".into(),
        });
        assert_eq!(denied, OdooFault::AccessDenied);
    }
}
