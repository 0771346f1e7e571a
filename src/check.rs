//! `odoo-rest-proxy check`: says, one line per item, whether a config can work before it is
//! deployed: the config itself, the upstream (reachable, version, protocol), the database, the
//! gate's service account, the flag field and the models it enables, pass-through. Every
//! failure is one line that says what to fix. Passwords are never printed.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::config::{Config, FlagField};
use crate::odoo::{OdooClient, OdooFault, UpstreamError};

/// How many enabled models are named before the rest are only counted.
const MODELS_SHOWN: usize = 20;

/// One line of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Ok,
    Fail,
    /// Not checked (and not a failure), or could not tell.
    Skip,
    Info,
}

impl Mark {
    fn as_str(self) -> &'static str {
        match self {
            Mark::Ok => "ok  ",
            Mark::Fail => "FAIL",
            Mark::Skip => "skip",
            Mark::Info => "info",
        }
    }
}

/// The report, line by line.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<(Mark, String)>,
}

impl Report {
    fn add(&mut self, mark: Mark, item: &str, text: impl std::fmt::Display) {
        self.lines.push((mark, format!("{item}: {text}")));
    }

    /// True when no line failed.
    pub fn passed(&self) -> bool {
        self.lines.iter().all(|(mark, _)| *mark != Mark::Fail)
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        for (mark, line) in &self.lines {
            let _ = writeln!(text, "{} {line}", mark.as_str());
        }
        text
    }
}

/// The report for a config that loaded (`source` names where it came from); `db` is `--db`.
pub async fn run(config: &Config, source: &str, db: Option<&str>) -> Report {
    let mut report = Report::default();
    report.add(Mark::Ok, "config", format!("{source} is valid"));
    let upstream = crate::secret::redact_url(&config.upstream.url);
    let odoo = match OdooClient::new(&config.upstream) {
        Ok(odoo) => odoo,
        Err(error) => {
            report.add(
                Mark::Fail,
                "upstream",
                format!("{error}: fix [upstream] url"),
            );
            return report;
        }
    };
    match odoo.version().await {
        Ok(version) => report.add(
            Mark::Ok,
            "upstream",
            format!(
                "{upstream} answers, version {}, protocol {}",
                crate::admin::server_version(&version),
                odoo.protocol_in_use().await.as_str()
            ),
        ),
        Err(error) => {
            report.add(
                Mark::Fail,
                "upstream",
                format!("{upstream}: {error}: check [upstream] url (or --upstream) and that the ERP runs and is reachable from here"),
            );
            return report;
        }
    }

    let db = check_database(&odoo, db, &mut report).await;
    let uid = check_service_account(config, &odoo, db.as_deref(), &mut report).await;
    check_gate(config, &odoo, db.as_deref(), uid, &mut report).await;
    if config.passthrough.enabled {
        report.add(
            Mark::Info,
            "pass-through",
            format!("on: everything outside /api goes to {upstream}"),
        );
    } else {
        report.add(
            Mark::Info,
            "pass-through",
            "off: anything outside /api is a JSON 404",
        );
    }
    report
}

/// The database to check the rest against, if any.
async fn check_database(
    odoo: &OdooClient,
    wanted: Option<&str>,
    report: &mut Report,
) -> Option<String> {
    let listed = odoo.list_databases().await;
    match (wanted, listed) {
        (Some(db), Ok(names)) if names.iter().any(|n| n == db) => {
            report.add(Mark::Ok, "database", format!("{db:?} exists"));
            Some(db.to_owned())
        }
        (Some(db), Ok(names)) => {
            report.add(
                Mark::Fail,
                "database",
                format!(
                    "{db:?} does not exist on the upstream ({} listed): check --db",
                    names.len()
                ),
            );
            None
        }
        (Some(db), Err(error)) => {
            report.add(
                Mark::Skip,
                "database",
                format!("could not tell whether {db:?} exists (db.list: {error})"),
            );
            Some(db.to_owned())
        }
        (None, Ok(names)) if names.len() == 1 => {
            report.add(
                Mark::Ok,
                "database",
                format!("{:?} (the only one listed)", names[0]),
            );
            names.into_iter().next()
        }
        (None, Ok(names)) => {
            report.add(
                Mark::Skip,
                "database",
                format!(
                    "the upstream lists {} databases: pass --db DB to check one",
                    names.len()
                ),
            );
            None
        }
        (None, Err(error)) => {
            report.add(
                Mark::Skip,
                "database",
                format!("could not list the databases (db.list: {error}): pass --db DB"),
            );
            None
        }
    }
}

/// The service account's uid in `db`, when it is configured and logs in.
async fn check_service_account(
    config: &Config,
    odoo: &OdooClient,
    db: Option<&str>,
    report: &mut Report,
) -> Option<i64> {
    let item = "gate service account";
    let Some(service) = &config.gate.service else {
        report.add(
            Mark::Info,
            item,
            "none ([gate] service_login unset): ir.model is read with each caller's credentials, so only users who may read ir.model can use flagged models",
        );
        return None;
    };
    let Some(db) = db else {
        report.add(Mark::Skip, item, "not checked without a database");
        return None;
    };
    match odoo
        .authenticate(db, &service.login, &service.password)
        .await
    {
        Ok(Some(uid)) => {
            report.add(
                Mark::Ok,
                item,
                format!("{:?} logs in to {db:?} (uid {uid})", service.login),
            );
            Some(uid)
        }
        Ok(None) | Err(UpstreamError::Fault(OdooFault::AccessDenied)) => {
            report.add(
                Mark::Fail,
                item,
                format!(
                    "{:?} cannot log in to {db:?}: check [gate] service_login and the password in the variable that [gate] service_password_env names",
                    service.login
                ),
            );
            None
        }
        Err(error) => {
            report.add(
                Mark::Fail,
                item,
                format!("{:?} could not log in to {db:?}: {error}", service.login),
            );
            None
        }
    }
}

/// Which flag field the gate uses, and which models it enables.
async fn check_gate(
    config: &Config,
    odoo: &OdooClient,
    db: Option<&str>,
    uid: Option<i64>,
    report: &mut Report,
) {
    let gate = &config.gate;
    if !gate.allow.is_empty() {
        report.add(
            Mark::Info,
            "gate allow",
            format!("always served: {}", shown(&gate.allow)),
        );
    }
    if !gate.deny.is_empty() {
        report.add(
            Mark::Info,
            "gate deny",
            format!("never served: {}", shown(&gate.deny)),
        );
    }
    let item = "gate flag";
    if gate.flag_field == FlagField::None {
        report.add(
            Mark::Info,
            item,
            "none ([gate] flag_field = \"none\"): only the models in [gate] allow are served",
        );
        return;
    }
    let (Some(db), Some(uid), Some(service)) = (db, uid, &gate.service) else {
        report.add(
            Mark::Skip,
            item,
            "not checked: reading ir.model needs a database and a service account that logs in",
        );
        return;
    };
    let call = |method: &'static str, args: Value, kwargs: Value| {
        odoo.execute_kw::<Value>(
            db,
            uid,
            &service.password,
            "ir.model",
            method,
            args,
            Some(kwargs),
        )
    };
    let candidates = match &gate.flag_field {
        FlagField::Field(name) => vec![name.clone()],
        _ => vec!["rest_api".to_owned(), "x_rest_api".to_owned()],
    };
    let fields = match call(
        "fields_get",
        json!([candidates]),
        json!({"attributes": ["type"]}),
    )
    .await
    {
        Ok(fields) => fields,
        Err(error) => {
            report.add(
                Mark::Fail,
                item,
                format!("the service account cannot read ir.model ({error}): give it read access to ir.model (Settings > Technical > Models)"),
            );
            return;
        }
    };
    let Some(flag) = candidates.iter().find(|name| {
        fields
            .get(name.as_str())
            .and_then(|f| f.get("type"))
            .and_then(Value::as_str)
            == Some("boolean")
    }) else {
        let (mark, text) = match &gate.flag_field {
            FlagField::Field(name) => (Mark::Fail, format!("ir.model has no boolean field {name:?}: add it (Settings > Technical > Fields) or fix [gate] flag_field")),
            _ => (Mark::Info, "ir.model has neither rest_api nor x_rest_api: only the models in [gate] allow are served (add a boolean x_rest_api to ir.model to flag models)".to_owned()),
        };
        report.add(mark, item, text);
        return;
    };
    match call(
        "search_read",
        json!([[[flag, "=", true]]]),
        json!({"fields": ["model"], "order": "model"}),
    )
    .await
    {
        Ok(rows) => {
            let models: Vec<String> = rows
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|row| row.get("model").and_then(Value::as_str))
                .map(str::to_owned)
                .collect();
            let mark = if models.is_empty() && gate.allow.is_empty() {
                Mark::Skip
            } else {
                Mark::Ok
            };
            report.add(
                mark,
                item,
                format!(
                    "{flag} on ir.model; {} enabled: {}",
                    models.len(),
                    if models.is_empty() {
                        "none yet (tick the flag on a model)".to_owned()
                    } else {
                        shown(&models)
                    }
                ),
            );
        }
        Err(error) => report.add(
            Mark::Fail,
            item,
            format!("cannot read which models have {flag} set: {error}"),
        ),
    }
}

/// The first names, then how many more.
fn shown(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(MODELS_SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MODELS_SHOWN {
        let _ = write!(text, " and {} more", names.len() - MODELS_SHOWN);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_twenty_models_then_counts() {
        let names: Vec<String> = (0..23).map(|i| format!("m{i}")).collect();
        let text = shown(&names);
        assert!(text.starts_with("m0, m1,"));
        assert!(text.ends_with("m19 and 3 more"), "{text}");
        assert_eq!(shown(&names[..2]), "m0, m1");
    }
}
