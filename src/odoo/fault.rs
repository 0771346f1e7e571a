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
            FaultCode::Int(4) => OdooFault::AccessError(unwrap_tuple_repr(fault.string)),
            FaultCode::Int(2) => classify_user_error(unwrap_tuple_repr(fault.string)),
            FaultCode::Int(_) => classify_server_error(fault.string),
            FaultCode::Text(code) => classify_legacy(code, fault.string),
        }
    }
}

const MISSING_RECORD: &str = "Record does not exist or has been deleted.";

/// Flectra 1.x (Odoo 11): the text of a write on a record that does not exist.
const FLECTRA_MISSING_RECORD: &str =
    "One of the records you are trying to modify has already been deleted";

fn classify_user_error(message: String) -> OdooFault {
    if message.starts_with(MISSING_RECORD) || message.starts_with(FLECTRA_MISSING_RECORD) {
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
    if let Some(fault) = classify_by_exception_class(class, message) {
        return fault;
    }
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

/// A code-1 fault whose last line names one of the ERP's own exceptions (Flectra 1.x sends
/// `ValidationError` as fault 1, e.g. `flectra.exceptions.ValidationError: ('Contacts require
/// a name.', None)`): classified by that class, not as a server error.
fn classify_by_exception_class(class: &str, message: &str) -> Option<OdooFault> {
    if !(class.starts_with("flectra.") || class.starts_with("odoo.")) {
        return None;
    }
    let message = unwrap_tuple_repr(message.to_owned());
    Some(match class.rsplit('.').next().unwrap_or(class) {
        "ValidationError" | "UserError" | "Warning" | "RedirectWarning" | "except_orm" => {
            classify_user_error(message)
        }
        "AccessError" => OdooFault::AccessError(message),
        "MissingError" => OdooFault::MissingRecord(message),
        "AccessDenied" => OdooFault::AccessDenied,
        _ => return None,
    })
}

/// Flectra 1.x (Odoo 11) stringifies its `except_orm` exceptions as a Python tuple repr,
/// `('message', None)`, with `\n` and quotes escaped: the bare message. Any other text is
/// returned as it is.
fn unwrap_tuple_repr(text: String) -> String {
    match parse_tuple_repr(&text) {
        Some(message) => message,
        None => text,
    }
}

/// `('message', None)` or `("message", None)` -> `message`, Python's string escapes undone.
fn parse_tuple_repr(text: &str) -> Option<String> {
    let rest = text.strip_prefix('(')?;
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut message = String::with_capacity(rest.len());
    let mut chars = rest[1..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'n' => message.push('\n'),
                    't' => message.push('\t'),
                    'r' => message.push('\r'),
                    '\\' | '\'' | '"' => message.push(escaped),
                    'x' | 'u' | 'U' => {
                        let digits = match escaped {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..digits {
                            code = code * 16 + chars.next()?.1.to_digit(16)?;
                        }
                        message.push(char::from_u32(code)?);
                    }
                    _ => return None,
                }
            }
            c if c == quote => {
                return (&rest[1 + at + 1..] == ", None)").then_some(message);
            }
            c => message.push(c),
        }
    }
    None
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
        Some((kind, message)) => (kind.trim(), unwrap_tuple_repr(message.to_owned())),
        None => (body.trim(), unwrap_tuple_repr(string.clone())),
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

impl super::UpstreamError {
    /// Whether the ERP provably did not run the call: an HTML (not XML-RPC) 500 from
    /// `/xmlrpc/2/*`. Odoo's and Flectra's dispatchers turn every exception a method raises
    /// into a fault, so an HTML 500 comes from before dispatch (Flectra 1.4 answers a body it
    /// cannot parse this way). Everything else may have run.
    pub fn not_run(&self) -> bool {
        matches!(
            self,
            super::UpstreamError::HttpError { status: 500, kind } if *kind != "XML"
        )
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

    #[test]
    fn flectra_tuple_reprs_are_unwrapped_to_the_bare_message() {
        let table = [
            (
                "('Contacts require a name.', None)",
                "Contacts require a name.",
            ),
            ("('a\\nb\\tc \\\\ d', None)", "a\nb\tc \\ d"),
            ("(\"It's gone\", None)", "It's gone"),
            ("('It\\'s \\xe9t\\u00e9', None)", "It's été"),
            // Not a tuple repr of one message: left as it is.
            ("('a', 'b')", "('a', 'b')"),
            ("('unterminated, None)", "('unterminated, None)"),
            ("('a', None) and more", "('a', None) and more"),
            ("(x, None)", "(x, None)"),
            ("plain text", "plain text"),
            ("('bad \\q escape', None)", "('bad \\q escape', None)"),
        ];
        for (text, bare) in table {
            assert_eq!(unwrap_tuple_repr(text.to_owned()), bare, "{text}");
        }
        assert_eq!(
            fault(4, "('Sorry, you are not allowed to create this kind of document.\\n- Extra Rights/Contact Creation', None)"),
            OdooFault::AccessError("Sorry, you are not allowed to create this kind of document.\n- Extra Rights/Contact Creation".into())
        );
    }

    #[test]
    fn code_1_faults_are_classified_by_their_exception_class_first() {
        let tb = |last: &str| {
            format!("Traceback (most recent call last):\n  File \"/opt/flectra/flectra/models.py\", line 1, in f\n{last}\n")
        };
        let table = [
            (
                "flectra.exceptions.ValidationError: ('Contacts require a name.', None)",
                OdooFault::UserError("Contacts require a name.".into()),
            ),
            (
                "odoo.exceptions.ValidationError: You cannot create recursive Partner hierarchies.",
                OdooFault::UserError("You cannot create recursive Partner hierarchies.".into()),
            ),
            (
                "flectra.exceptions.UserError: ('Nope', None)",
                OdooFault::UserError("Nope".into()),
            ),
            (
                "flectra.exceptions.AccessError: ('Sorry, no.', None)",
                OdooFault::AccessError("Sorry, no.".into()),
            ),
            (
                "odoo.exceptions.MissingError: Record does not exist or has been deleted.",
                OdooFault::MissingRecord("Record does not exist or has been deleted.".into()),
            ),
            (
                "flectra.exceptions.MissingError: ('One of the records you are trying to modify has already been deleted (Document type: Contact).', None)",
                OdooFault::MissingRecord("One of the records you are trying to modify has already been deleted (Document type: Contact).".into()),
            ),
            ("flectra.exceptions.AccessDenied: Access denied", OdooFault::AccessDenied),
        ];
        for (last, expected) in table {
            assert_eq!(fault(1, &tb(last)), expected, "{last}");
        }
        // Not under flectra. or odoo.: a server error like any other.
        for last in [
            "ValidationError: ('x', None)",
            "mymodule.exceptions.ValidationError: x",
            "flectra.exceptions.CacheMiss: x",
        ] {
            assert!(
                matches!(fault(1, &tb(last)), OdooFault::ServerError { .. }),
                "{last}"
            );
        }
    }

    #[test]
    fn an_html_500_is_not_run() {
        use super::super::UpstreamError;
        let html = |status| UpstreamError::HttpError {
            status,
            kind: "HTML or other",
        };
        assert!(html(500).not_run());
        assert!(!html(502).not_run());
        assert!(!html(404).not_run());
        assert!(!UpstreamError::HttpError {
            status: 500,
            kind: "XML"
        }
        .not_run());
        assert!(!UpstreamError::Timeout.not_run());
    }

    #[test]
    fn flectra_texts_of_a_missing_record_and_a_wrong_password() {
        assert_eq!(
            fault(2, "('One of the records you are trying to modify has already been deleted (Document type: Contact).', None)"),
            OdooFault::MissingRecord("One of the records you are trying to modify has already been deleted (Document type: Contact).".into())
        );
        assert_eq!(fault(3, "Access denied"), OdooFault::AccessDenied);
        let legacy = OdooFault::classify(Fault {
            code: FaultCode::Text("warning -- MissingError\n\n('One of the records you are trying to modify has already been deleted (Document type: Contact).', None)".into()),
            string: String::new(),
        });
        assert!(
            matches!(legacy, OdooFault::MissingRecord(m) if m.starts_with(FLECTRA_MISSING_RECORD) && !m.starts_with('('))
        );
    }
}
