//! The classification of the faults an ERP answers with, from the texts real Odoo and Flectra
//! servers send: who is at fault and what a client may be told. No I/O.

use super::limiter::Overload;
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

/// A fault that says the ERP is out of database connections, so that the call did not run:
/// code 1 `PoolError: The Connection Pool Is Full` (Odoo's cursor pool, `db_maxconn`) or
/// `OperationalError: ... sorry, too many clients already` (PostgreSQL's `max_connections`).
/// Both are raised while a cursor is opened, before the method runs.
pub fn overload_fault(fault: &Fault) -> Option<Overload> {
    let text = match &fault.code {
        FaultCode::Int(1) => fault.string.as_str(),
        FaultCode::Int(_) => return None,
        FaultCode::Text(code) if code.starts_with("Traceback") => code.as_str(),
        FaultCode::Text(_) => fault.string.as_str(),
    };
    let last = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())?;
    let (class, message) = last.split_once(": ")?;
    if class.contains(' ') {
        return None;
    }
    if class.ends_with("PoolError") && message.contains("Connection Pool Is Full") {
        return Some(Overload::PoolFull);
    }
    let postgres_full = message.contains("too many clients already")
        || message.contains("remaining connection slots are reserved");
    if class.ends_with("OperationalError") && postgres_full {
        return Some(Overload::TooManyClients);
    }
    None
}

/// An HTTP status from `/xmlrpc/2/*` that is an overload signal: 503, and 500 with a page
/// that is not XML-RPC (Odoo turns every exception of a method into a fault, so an HTML 500
/// failed in request set-up, before dispatch: typically the cursor pool ran dry).
pub fn overload_status(status: u16, is_xml: bool) -> Option<Overload> {
    match status {
        503 => Some(Overload::Unavailable),
        500 if !is_xml => Some(Overload::SetupFailed),
        _ => None,
    }
}

/// An upstream text made fit for a client: a traceback is cut to its last line; traceback
/// frames and SQL (psycopg2's `LINE n:` context and its caret, statements) are dropped; hosts,
/// ports, addresses, URLs and file paths become `<host>`, `<port>`, `<address>`, `<url>` and
/// `<path>`. Messages written for users pass unchanged.
pub fn sanitize(text: &str) -> String {
    let text = match text.find("Traceback (most recent call last):") {
        Some(at) => {
            let (before, traceback) = text.split_at(at);
            let last = traceback
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("");
            format!("{before}{}", last.trim())
        }
        None => text.to_owned(),
    };
    let text = generalise_connection(&text);
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        if is_internal_line(line) {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&generalise_words(line));
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// psycopg2's `connection to server at "db" (10.0.0.5), port 5432 failed:` and
/// `connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed:`.
fn generalise_connection(text: &str) -> String {
    const START: &str = "connection to server ";
    const END: &str = " failed:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(START) {
        let Some(end) = rest[start..].find(END) else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str("connection to the database server failed:");
        rest = &rest[start + end + END.len()..];
    }
    out.push_str(rest);
    out
}

/// A line that only exists to show internals: a traceback frame or SQL.
fn is_internal_line(line: &str) -> bool {
    let trimmed = line.trim();
    if trimmed.starts_with("File \"") {
        return true;
    }
    // psycopg2's error context: `LINE 1: INSERT INTO ...` and the caret line under it.
    if let Some(rest) = trimmed.strip_prefix("LINE ") {
        if rest
            .split(':')
            .next()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            return true;
        }
    }
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b == b'^' || b == b' ') {
        return true;
    }
    ["CONTEXT:", "QUERY:", "STATEMENT:", "SQL:"]
        .iter()
        .any(|prefix| trimmed.starts_with(prefix))
        || is_sql_statement(trimmed)
}

fn is_sql_statement(line: &str) -> bool {
    let upper = line.get(..line.len().min(24)).unwrap_or(line);
    [
        "SELECT ",
        "INSERT INTO ",
        "UPDATE ",
        "DELETE FROM ",
        "WITH ",
        "CREATE ",
        "ALTER ",
        "DROP ",
    ]
    .iter()
    .any(|keyword| upper.starts_with(keyword))
        && [" FROM ", " INTO ", " SET ", " TABLE ", " AS ", " VALUES"]
            .iter()
            .any(|word| line.contains(word))
}

/// Word by word: paths, URLs, addresses, `host "x"` and `port 5432`.
fn generalise_words(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut previous = "";
    let mut before_previous = "";
    for (index, word) in line.split(' ').enumerate() {
        if index > 0 {
            out.push(' ');
        }
        let core_start = word
            .find(|c: char| !matches!(c, '"' | '\'' | '(' | '[' | '<' | '='))
            .unwrap_or(word.len());
        let (prefix, rest) = word.split_at(core_start);
        let core_end = rest
            .trim_end_matches(|c: char| {
                matches!(c, '"' | '\'' | ')' | ']' | '>' | ',' | ';' | ':' | '.')
            })
            .len();
        let (core, suffix) = rest.split_at(core_end);
        let after_host = previous == "host"
            || previous == "hostname"
            || (previous == "name" && before_previous == "host");
        let replacement = if core.is_empty() {
            None
        } else if after_host && prefix.contains(['"', '\'']) {
            Some("<host>")
        } else if previous == "port" && core.bytes().all(|b| b.is_ascii_digit()) {
            Some("<port>")
        } else if is_url(core) {
            Some("<url>")
        } else if is_path(core) {
            Some("<path>")
        } else if is_address(core) {
            Some("<address>")
        } else {
            None
        };
        match replacement {
            Some(replacement) => {
                out.push_str(prefix);
                out.push_str(replacement);
                out.push_str(suffix);
            }
            None => out.push_str(word),
        }
        before_previous = previous;
        previous = word;
    }
    out
}

fn is_url(word: &str) -> bool {
    word.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty() && !rest.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic())
    })
}

/// `/opt/odoo/odoo/models.py`, `~/x/y`, `./a/b`, `C:\\odoo\\x.py`.
fn is_path(word: &str) -> bool {
    let unix = word
        .strip_prefix('/')
        .or_else(|| word.strip_prefix("~/"))
        .or_else(|| word.strip_prefix("./"));
    if let Some(rest) = unix {
        return rest.contains('/') && !rest.starts_with('/');
    }
    let bytes = word.as_bytes();
    bytes.len() > 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\'
}

/// `10.0.0.5`, `10.0.0.5:5432`, `db.internal:5432`, `localhost:5432`, `[::1]:5432`.
fn is_address(word: &str) -> bool {
    let (host, port) = match word.rsplit_once(':') {
        Some((host, port))
            if (2..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (host, true)
        }
        _ => (word, false),
    };
    let ipv4 = {
        let parts: Vec<&str> = host.split('.').collect();
        parts.len() == 4
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let hostname = !host.is_empty()
        && host.bytes().any(|b| b.is_ascii_alphabetic())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    let ipv6 = host.starts_with('[') && host.ends_with(']');
    ipv4 || (port && (hostname || ipv6))
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

    #[test]
    fn overload_faults_are_told_from_other_faults() {
        let pool = Fault {
            code: FaultCode::Int(1),
            string: "Traceback (most recent call last):\n  File \"/opt/odoo/odoo/sql_db.py\", line 667, in borrow\npsycopg2.pool.PoolError: The Connection Pool Is Full\n".into(),
        };
        assert_eq!(overload_fault(&pool), Some(Overload::PoolFull));
        let full = Fault {
            code: FaultCode::Int(1),
            string: "Traceback (most recent call last):\npsycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients already\n".into(),
        };
        assert_eq!(overload_fault(&full), Some(Overload::TooManyClients));
        let unknown_db = Fault {
            code: FaultCode::Int(1),
            string: "Traceback (most recent call last):\npsycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"x\" does not exist\n".into(),
        };
        assert_eq!(overload_fault(&unknown_db), None);
        // A user message that quotes the words is not a signal.
        let user = Fault {
            code: FaultCode::Int(2),
            string: "PoolError: The Connection Pool Is Full".into(),
        };
        assert_eq!(overload_fault(&user), None);
        assert_eq!(overload_status(503, false), Some(Overload::Unavailable));
        assert_eq!(overload_status(500, false), Some(Overload::SetupFailed));
        assert_eq!(overload_status(500, true), None);
        assert_eq!(overload_status(502, false), None);
    }

    #[test]
    fn sanitize_strips_hosts_ports_paths_tracebacks_and_sql() {
        let cases = [
            (
                "connection to server at \"db.internal\" (10.1.2.3), port 5432 failed: FATAL:  sorry, too many clients already",
                "connection to the database server failed: FATAL:  sorry, too many clients already",
            ),
            (
                "connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed: No such file",
                "connection to the database server failed: No such file",
            ),
            (
                "Traceback (most recent call last):\n  File \"/opt/odoo/odoo/models.py\", line 1, in f\nValueError: bad",
                "ValueError: bad",
            ),
            (
                "invalid input syntax for type integer: \"abc\"\nLINE 1: ...96695', 2, 'abc')\n                                                    ^",
                "invalid input syntax for type integer: \"abc\"",
            ),
            ("cannot open /var/lib/odoo/filestore/x", "cannot open <path>"),
            ("could not translate host name \"pg\" to address", "could not translate host name \"<host>\" to address"),
            ("tcp connect error to 10.0.0.5:8069", "tcp connect error to <address>"),
            ("see http://erp.internal:8069/web", "see <url>"),
            ("listening on localhost:5432, port 5432.", "listening on <address>, port <port>."),
            ("SELECT id FROM res_partner WHERE x\nbad value", "bad value"),
            // Messages for users pass unchanged.
            (
                "You are not allowed to create 'Contact' (res.partner) records.\n\nThis operation is allowed for the following groups:\n\t- Extra Rights/Contact Creation",
                "You are not allowed to create 'Contact' (res.partner) records.\n\nThis operation is allowed for the following groups:\n\t- Extra Rights/Contact Creation",
            ),
            ("Invalid field 'x' on model 'res.partner' at 12:30 on 01/02/2026", "Invalid field 'x' on model 'res.partner' at 12:30 on 01/02/2026"),
            ("new row for relation \"res_partner\" violates check constraint \"res_partner_check_name\"", "new row for relation \"res_partner\" violates check constraint \"res_partner_check_name\""),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize(input), expected, "{input:?}");
        }
    }
}
