//! The XML-RPC services of the demo ERP (`common`, `db`, `object`) as one pure function from
//! (service, method, params) to a value or a fault, in the order Odoo checks things:
//! database, credentials, private method, model, method, access rights, arguments.
//! Also the shared state (database, call log, counters). No I/O.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::data::{
    Database, TableId, CATEGORY, COMPANY, COUNTRY, CURRENCY, CURRENCY_RATE, IR_MODEL, PARTNER,
    USERS,
};
use super::faults::{Fault, Site};
use super::methods::{self, read_lock, Operation};
use super::records::Stamp;
use super::schema;
use super::seed;
use super::{
    flectra, Call, OdooVersion, DEMO_ADMIN_API_KEY, DEMO_DB, DEMO_PASSWORD, DEMO_USER_API_KEY,
    DEMO_USER_PASSWORD,
};

/// The call log keeps at most this many calls (the oldest go first).
const MAX_CALLS: usize = 10_000;

/// (uid, password or API key) pairs that authenticate.
fn credentials(version: OdooVersion) -> [(i64, &'static str); 4] {
    [
        (version.admin_uid(), DEMO_PASSWORD),
        (version.admin_uid(), DEMO_ADMIN_API_KEY),
        (version.user_uid(), DEMO_USER_PASSWORD),
        (version.user_uid(), DEMO_USER_API_KEY),
    ]
}

/// (uid, API key): the only credentials JSON-2 takes (Odoo 19, whose uids are Odoo 18's).
pub(crate) const API_KEYS: [(i64, &str); 2] = [
    (super::DEMO_ADMIN_UID, DEMO_ADMIN_API_KEY),
    (super::DEMO_USER_UID, DEMO_USER_API_KEY),
];

/// Everything the server shares between connections.
pub(crate) struct Erp {
    pub(crate) database: RwLock<Database>,
    calls: Mutex<VecDeque<Call>>,
    execute_kw_count: AtomicU64,
    pub(crate) version: OdooVersion,
    keys_revoked: std::sync::atomic::AtomicBool,
}

impl Erp {
    pub(crate) fn new(version: OdooVersion) -> Erp {
        let mut database = seed::database();
        if version == OdooVersion::Flectra14 {
            flectra::renumber_users(&mut database);
        }
        Erp {
            database: RwLock::new(database),
            calls: Mutex::new(VecDeque::new()),
            execute_kw_count: AtomicU64::new(0),
            version,
            keys_revoked: Default::default(),
        }
    }

    /// The ERP this one imitates.
    pub(crate) fn version(&self) -> OdooVersion {
        self.version
    }

    /// Revokes every API key for JSON-2 (as deleting them in the user preferences would), or
    /// gives them back.
    pub(crate) fn set_api_keys_revoked(&self, revoked: bool) {
        self.keys_revoked.store(revoked, Ordering::Relaxed);
    }

    pub(crate) fn api_keys_revoked(&self) -> bool {
        self.keys_revoked.load(Ordering::Relaxed)
    }

    /// One JSON-2 call, for a uid its API key already identified: the same checks and methods
    /// as `execute_kw` (counted and logged like one, service `json2`), minus the password.
    pub(crate) fn execute_json2(
        &self,
        uid: i64,
        model_name: &str,
        method: &str,
        args: &[Value],
        kwargs: &Map<String, Value>,
    ) -> Result<Value, Fault> {
        self.execute_kw_count.fetch_add(1, Ordering::Relaxed);
        self.record(Call {
            service: "json2".to_string(),
            method: "execute_kw".to_string(),
            model: Some(model_name.to_string()),
            model_method: Some(method.to_string()),
            uid: Some(uid),
            args: Value::Array(args.iter().map(redact).collect()),
            kwargs: redact_members(kwargs),
        });
        let Some(table) = schema::model_index(model_name) else {
            return Err(Fault::unknown_model(model_name));
        };
        let Some(method) = methods::resolve(table, method) else {
            return Err(Fault::unknown_method(model_name, method));
        };
        self.run(uid, table, method, args, kwargs)
    }

    /// Odoo 13 and later refuse a context whose `allowed_company_ids` names a company the
    /// user is not in, before the method reads or changes anything (odoo19-json2/83).
    fn check_allowed_companies(&self, uid: i64, kwargs: &Map<String, Value>) -> Result<(), Fault> {
        let Some(Value::Array(wanted)) = kwargs
            .get("context")
            .and_then(|context| context.get("allowed_company_ids"))
        else {
            return Ok(());
        };
        let db = read_lock(&self.database);
        let companies = db
            .table(USERS)
            .row(uid)
            .map(|row| db.stored(USERS, row, "company_ids"));
        let allowed = |company: &Value| {
            companies
                .as_ref()
                .and_then(Value::as_array)
                .is_some_and(|companies| companies.contains(company))
        };
        if wanted.iter().all(allowed) {
            return Ok(());
        }
        Err(Fault::invalid_companies())
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .map(|calls| calls.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn reset_calls(&self) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.clear();
        }
        self.execute_kw_count.store(0, Ordering::Relaxed);
    }

    pub(crate) fn execute_kw_count(&self) -> u64 {
        self.execute_kw_count.load(Ordering::Relaxed)
    }

    fn record(&self, call: Call) {
        if let Ok(mut calls) = self.calls.lock() {
            if calls.len() >= MAX_CALLS {
                calls.pop_front();
            }
            calls.push_back(call);
        }
    }

    /// Answers one XML-RPC call to `/xmlrpc/2/<service>`, in the dialect of its version.
    pub(crate) fn dispatch(
        &self,
        service: &str,
        method: &str,
        params: &[Value],
    ) -> Result<Value, Fault> {
        let answer = self.dispatch_odoo(service, method, params);
        match self.version {
            OdooVersion::Flectra14 => answer.map_err(flectra::translate),
            _ => answer,
        }
    }

    fn dispatch_odoo(&self, service: &str, method: &str, params: &[Value]) -> Result<Value, Fault> {
        match service {
            "common" => {
                self.record(Call::new(service, method));
                self.common(method, params)
            }
            "db" => {
                self.record(Call::new(service, method));
                match method {
                    "list" => Ok(Value::Array(vec![Value::from(DEMO_DB)])),
                    "server_version" => Ok(Value::from("18.0")),
                    _ => Err(Fault::method_not_found(method)),
                }
            }
            "object" => match method {
                "execute_kw" => self.execute_kw(params),
                _ => {
                    self.record(Call::new(service, method));
                    Err(Fault::method_not_found(method))
                }
            },
            _ => Err(Fault::unknown_service(service)),
        }
    }

    fn common(&self, method: &str, params: &[Value]) -> Result<Value, Fault> {
        match method {
            "version" => Ok(version(self.version)),
            "about" => Ok(Value::from("See http://openerp.com")),
            "authenticate" | "login" => {
                let function = if method == "login" {
                    "exp_login"
                } else {
                    "exp_authenticate"
                };
                let expected = if method == "login" { 3 } else { 4 };
                if params.len() != expected {
                    return Err(Fault::type_error(
                        Site::Common,
                        &format!(
                            "{function}() takes {} positional arguments but {} were given",
                            expected,
                            params.len()
                        ),
                    ));
                }
                let db = params[0].as_str().unwrap_or_default();
                if db != DEMO_DB {
                    return Err(Fault::unknown_database(db, function));
                }
                let (Some(login), Some(password)) = (params[1].as_str(), params[2].as_str()) else {
                    return Ok(Value::Bool(false));
                };
                let database = read_lock(&self.database);
                let users = database.table(USERS);
                let login_index = users.index("login").unwrap_or(0);
                let active_index = users.index("active").unwrap_or(0);
                let uid = users
                    .rows
                    .iter()
                    .find(|(_, row)| {
                        row[login_index].as_str() == Some(login)
                            && row[active_index] == Value::Bool(true)
                    })
                    .map(|(uid, _)| *uid)
                    .filter(|uid| password_matches(self.version, *uid, password));
                Ok(uid.map_or(Value::Bool(false), Value::from))
            }
            _ => Err(Fault::method_not_found(method)),
        }
    }

    fn execute_kw(&self, params: &[Value]) -> Result<Value, Fault> {
        self.execute_kw_count.fetch_add(1, Ordering::Relaxed);
        let model_name = params.get(3).and_then(Value::as_str);
        let method = params.get(4).and_then(Value::as_str);
        let empty = Map::new();
        let args = match params.get(5) {
            Some(Value::Array(args)) => args.as_slice(),
            _ => &[],
        };
        let kwargs = match params.get(6) {
            Some(Value::Object(kwargs)) => kwargs,
            _ => &empty,
        };
        self.record(Call {
            service: "object".to_string(),
            method: "execute_kw".to_string(),
            model: model_name.map(str::to_string),
            model_method: method.map(str::to_string),
            uid: params.get(1).and_then(Value::as_i64),
            args: Value::Array(args.iter().map(redact).collect()),
            kwargs: redact_members(kwargs),
        });
        if !(5..=7).contains(&params.len()) {
            return Err(Fault::type_error(
                Site::CallKw,
                &format!(
                    "execute_kw() takes from 6 to 8 positional arguments but {} were given",
                    params.len() + 1
                ),
            ));
        }
        let db = params[0].as_str().unwrap_or_default();
        if db != DEMO_DB {
            return Err(Fault::unknown_database(db, "execute_kw"));
        }
        let uid = params[1].as_i64().unwrap_or(-1);
        if !params[2]
            .as_str()
            .is_some_and(|password| password_matches(self.version, uid, password))
        {
            return Err(Fault::access_denied());
        }
        let (Some(model_name), Some(method)) = (model_name, method) else {
            return Err(Fault::type_error(
                Site::CallKw,
                "model and method names must be strings",
            ));
        };
        if method.starts_with('_') {
            return Err(Fault::private_method(method));
        }
        let Some(table) = schema::model_index(model_name) else {
            return Err(Fault::unknown_model(model_name));
        };
        let Some(method) = methods::resolve(table, method) else {
            return Err(Fault::unknown_method(model_name, method));
        };
        if params.len() > 5 && !params[5].is_array() {
            return Err(Fault::type_error(
                Site::CallKw,
                "execute_kw() argument after * must be an iterable",
            ));
        }
        if params.len() > 6 && !(params[6].is_object() || params[6].is_null()) {
            return Err(Fault::type_error(
                Site::CallKw,
                "execute_kw() argument after ** must be a mapping",
            ));
        }
        self.run(uid, table, method, args, kwargs)
    }

    /// The refusals that come before a method runs (each version's own), then the method, for
    /// `execute_kw` and JSON-2 alike.
    fn run(
        &self,
        uid: i64,
        table: TableId,
        method: &'static str,
        args: &[Value],
        kwargs: &Map<String, Value>,
    ) -> Result<Value, Fault> {
        if self.version == OdooVersion::Flectra14 {
            if let Some(fault) = flectra::refusal_before_access_check(table, method, args) {
                return Err(fault);
            }
        }
        if let Some(operation) = methods::operation(method, args) {
            // Flectra 1.x lets every internal user read ir.model (fixture flectra14/30).
            let flectra_reads_ir_model = self.version == OdooVersion::Flectra14
                && table == IR_MODEL
                && operation == Operation::Read;
            if !flectra_reads_ir_model {
                check_access(uid, table, operation)?;
            }
            if self.version != OdooVersion::Flectra14 {
                self.check_allowed_companies(uid, kwargs)?;
            }
        }
        if self.version == OdooVersion::Odoo19 {
            check_every_field_read(uid, table, method, args, kwargs)?;
        }
        let now = now_utc();
        let stamp = Stamp { uid, now: &now };
        match self.version {
            OdooVersion::Flectra14 => {
                flectra::call(&self.database, table, method, args, kwargs, stamp)
            }
            _ => methods::call(&self.database, table, method, args, kwargs, stamp),
        }
    }
}

/// The struct `common.version()` answers.
fn version(odoo_version: OdooVersion) -> Value {
    let major = match odoo_version {
        OdooVersion::Flectra14 => return flectra::version(),
        OdooVersion::Odoo17 => 17,
        OdooVersion::Odoo18 => 18,
        OdooVersion::Odoo19 => 19,
    };
    let mut version = Map::new();
    version.insert(
        "server_version".to_string(),
        Value::from(format!("{major}.0")),
    );
    version.insert(
        "server_version_info".to_string(),
        serde_json::json!([major, 0, 0, "final", 0, ""]),
    );
    version.insert(
        "server_serie".to_string(),
        Value::from(format!("{major}.0")),
    );
    version.insert("protocol_version".to_string(), Value::from(1));
    Value::Object(version)
}

fn password_matches(version: OdooVersion, uid: i64, password: &str) -> bool {
    credentials(version).iter().any(|(known_uid, known)| {
        *known_uid == uid && constant_time_eq(known.as_bytes(), password.as_bytes())
    })
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn redact_members(members: &Map<String, Value>) -> Value {
    let redacted = members.iter().map(|(key, item)| {
        let secret = key.contains("password") || key == "api_key";
        (
            key.clone(),
            if secret {
                Value::from("***")
            } else {
                redact(item)
            },
        )
    });
    Value::Object(redacted.collect())
}

/// Replaces password-like struct members, so the call log never holds a secret.
fn redact(value: &Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, item)| {
                    let secret = key.contains("password") || key == "api_key";
                    (
                        key.clone(),
                        if secret {
                            Value::from("***")
                        } else {
                            redact(item)
                        },
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// The access rules: the admin may do anything; other users may read everything but
/// `ir.model`, and may not create contacts, create or delete users, or change companies,
/// countries, currencies and tags.
fn check_access(uid: i64, table: TableId, operation: Operation) -> Result<(), Fault> {
    if is_admin(uid) {
        return Ok(());
    }
    let group = match (table, operation) {
        (IR_MODEL, _) => "Administration/Access Rights",
        (_, Operation::Read) => return Ok(()),
        (PARTNER, Operation::Create) => "Extra Rights/Contact Creation",
        (PARTNER, _) => return Ok(()),
        (USERS, Operation::Write) => return Ok(()),
        (USERS, _) => "Administration/Access Rights",
        (COMPANY | COUNTRY | CURRENCY | CURRENCY_RATE, _) => "Administration/Settings",
        (CATEGORY, _) => "Extra Rights/Contact Creation",
        _ => return Ok(()),
    };
    let verb = match operation {
        Operation::Read => "access",
        Operation::Write => "modify",
        Operation::Create => "create",
        Operation::Unlink => "delete",
    };
    let model = schema::MODELS[table];
    Err(Fault::acl(verb, model.description, model.name, group))
}

fn is_admin(uid: i64) -> bool {
    uid == super::DEMO_ADMIN_UID || uid == 1
}

/// Odoo 19 (both wires): a `read` or `search_read` without `fields` (or with an empty list)
/// reads every field, and is refused when one of them points to records the user may not read.
/// On res.partner that is `rtc_session_ids`, Discuss's call sessions, which only
/// administrators may read (issue 13, seen on a real Odoo 19.0 as demo_api). The demo stores
/// no such field, so no `fields_get` lists it: a read that names its fields passes.
fn check_every_field_read(
    uid: i64,
    table: TableId,
    method: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<(), Fault> {
    if is_admin(uid) || table != PARTNER || !matches!(method, "read" | "search_read") {
        return Ok(());
    }
    let fields = args
        .get(1)
        .filter(|fields| !fields.is_null())
        .or_else(|| kwargs.get("fields"));
    let every_field = match fields {
        None | Some(Value::Null | Value::Bool(false)) => true,
        Some(Value::Array(names)) => names.is_empty(),
        Some(_) => false,
    };
    if !every_field {
        return Ok(());
    }
    let denial = Fault::acl(
        "access",
        "Mail RTC session",
        "discuss.channel.rtc.session",
        "Administration/Settings",
    );
    Err(Fault::field_read_denied(
        schema::MODELS[table].name,
        "rtc_session_ids",
        denial,
    ))
}

/// The current UTC time as Odoo prints datetimes.
fn now_utc() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    format_timestamp(seconds)
}

/// `YYYY-MM-DD HH:MM:SS` for seconds since the Unix epoch (proleptic Gregorian, UTC).
pub(crate) fn format_timestamp(seconds: u64) -> String {
    let of_day = seconds % 86_400;
    let (year, month, day) = crate::logline::civil_from_days(seconds / 86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
