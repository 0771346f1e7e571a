//! The model gate: a model is served only when its `ir.model` row has the REST flag set
//! (`rest_api` from Flectra's addon, or a manual `x_rest_api` boolean), or when it is listed in
//! `allow`; never when it is listed in `deny`. Decisions are cached per (database, model). When
//! the flag cannot be read the gate refuses (fails closed) and says how to fix it.

use std::sync::Arc;

use serde_json::{json, Value};

use super::cache::TtlCache;
use crate::config::{FlagField, GateConfig};
use crate::error::{Error, Operation};
use crate::metrics::Cache;
use crate::odoo::{OdooClient, OdooFault, Protocol, UpstreamError};
use crate::secret::Secret;
use crate::tokens::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Enabled,
    Disabled,
    UnknownModel,
}

pub struct Gate {
    config: GateConfig,
    decisions: TtlCache<Decision>,
    /// Per database: which flag field ir.model has (`None`: neither).
    flag_fields: TtlCache<Option<String>>,
    /// Per database: the service account's uid.
    service_uids: TtlCache<i64>,
    /// Per database: the models served (flag, plus `allow`, minus `deny`), sorted.
    enabled: TtlCache<Vec<String>>,
}

/// Whose credentials read ir.model.
struct Reader<'a> {
    uid: i64,
    password: &'a Secret,
    protocol: Protocol,
}

impl Gate {
    pub fn new(config: GateConfig) -> Gate {
        let (ttl, capacity) = (config.cache_ttl, config.cache_max_entries);
        Gate {
            config,
            decisions: TtlCache::new(ttl, capacity),
            flag_fields: TtlCache::new(ttl, capacity),
            service_uids: TtlCache::new(ttl, capacity),
            enabled: TtlCache::new(ttl, capacity),
        }
    }

    /// Ok when `model` may be served to this session; the error says why not.
    pub async fn check(
        &self,
        odoo: &OdooClient,
        session: &Session,
        model: &str,
    ) -> Result<(), Error> {
        if self.config.deny.iter().any(|m| m == model) {
            return Err(Error::ModelDisabled(model.to_owned()));
        }
        if self.config.allow.iter().any(|m| m == model) {
            return Ok(());
        }
        let cached = self.decisions.get(&session.db, model);
        odoo.metrics().cache_lookup(Cache::Gate, cached.is_some());
        let decision = match cached {
            Some(decision) => *decision,
            None => {
                let decision = self.read_decision(odoo, session, model).await?;
                *self.decisions.insert(&session.db, model, decision)
            }
        };
        match decision {
            Decision::Enabled => Ok(()),
            Decision::Disabled => Err(Error::ModelDisabled(model.to_owned())),
            Decision::UnknownModel => Err(Error::ModelNotFound(model.to_owned())),
        }
    }

    /// Every model served for this session's database: those whose flag is set, plus `allow`,
    /// minus `deny`; sorted, cached per database like the decisions.
    pub async fn enabled_models(
        &self,
        odoo: &OdooClient,
        session: &Session,
    ) -> Result<Arc<Vec<String>>, Error> {
        if let Some(models) = self.enabled.get(&session.db, "") {
            return Ok(models);
        }
        let reader = self.reader(odoo, session).await?;
        let flag = self.flag_field(odoo, session, &reader).await?;
        let mut models: Vec<String> = self.config.allow.clone();
        if let Some(flag) = flag {
            let rows: Value = odoo
                .execute_kw(
                    &session.db,
                    reader.uid,
                    reader.password,
                    "ir.model",
                    "search_read",
                    json!([[[flag, "=", true]]]),
                    Some(json!({"fields": ["model"]})),
                )
                .await
                .map_err(|e| self.read_error(e))?;
            let names = rows.as_array().into_iter().flatten();
            models.extend(names.filter_map(|row| row.get("model")?.as_str().map(str::to_owned)));
        }
        models.retain(|model| !self.config.deny.contains(model));
        models.sort();
        models.dedup();
        Ok(self.enabled.insert(&session.db, "", models))
    }

    /// Whose credentials read ir.model for this session, and read the schemas of the models
    /// the gate serves: the service account when there is one, else the caller.
    pub async fn reader_credentials<'a>(
        &'a self,
        odoo: &OdooClient,
        session: &'a Session,
    ) -> Result<(i64, &'a Secret), Error> {
        let reader = self.reader(odoo, session).await?;
        Ok((reader.uid, reader.password))
    }

    /// Forgets what the gate knows of a model, e.g. after the upstream said it does not exist.
    pub fn forget(&self, db: &str, model: &str) {
        self.decisions.remove(db, model);
    }

    async fn read_decision(
        &self,
        odoo: &OdooClient,
        session: &Session,
        model: &str,
    ) -> Result<Decision, Error> {
        let reader = self.reader(odoo, session).await?;
        let flag = self.flag_field(odoo, session, &reader).await?;
        let mut fields = vec![Value::from("model")];
        fields.extend(flag.iter().map(|f| Value::from(f.as_str())));
        let rows: Value = odoo
            .call_kw(
                reader.protocol,
                &session.db,
                reader.uid,
                reader.password,
                "ir.model",
                "search_read",
                json!([[["model", "=", model]]]),
                Some(json!({"fields": fields, "limit": 1})),
            )
            .await
            .map_err(|e| self.read_error(e))?;
        let Some(row) = rows.as_array().and_then(|rows| rows.first()) else {
            return Ok(Decision::UnknownModel);
        };
        let enabled = flag
            .as_deref()
            .and_then(|f| row.get(f))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(if enabled {
            Decision::Enabled
        } else {
            Decision::Disabled
        })
    }

    /// The configured flag field, or for "auto" the one ir.model has.
    async fn flag_field(
        &self,
        odoo: &OdooClient,
        session: &Session,
        reader: &Reader<'_>,
    ) -> Result<Option<String>, Error> {
        match &self.config.flag_field {
            FlagField::Field(name) => return Ok(Some(name.clone())),
            FlagField::None => return Ok(None),
            FlagField::Auto => {}
        }
        if let Some(found) = self.flag_fields.get(&session.db, "") {
            return Ok(found.as_ref().clone());
        }
        let fields: Value = odoo
            .call_kw(
                reader.protocol,
                &session.db,
                reader.uid,
                reader.password,
                "ir.model",
                "fields_get",
                json!([["rest_api", "x_rest_api"]]),
                Some(json!({"attributes": ["type"]})),
            )
            .await
            .map_err(|e| self.read_error(e))?;
        let found = ["rest_api", "x_rest_api"]
            .into_iter()
            .find(|name| {
                fields
                    .get(name)
                    .and_then(|f| f.get("type"))
                    .and_then(Value::as_str)
                    == Some("boolean")
            })
            .map(str::to_owned);
        Ok(self
            .flag_fields
            .insert(&session.db, "", found)
            .as_ref()
            .clone())
    }

    async fn reader<'a>(
        &'a self,
        odoo: &OdooClient,
        session: &'a Session,
    ) -> Result<Reader<'a>, Error> {
        let Some(service) = &self.config.service else {
            return Ok(Reader {
                uid: session.uid,
                password: &session.password,
                protocol: session.protocol,
            });
        };
        // Over JSON-2 the service account's secret is an API key, and the key says who it is.
        let protocol = session.protocol;
        let cache_key = protocol.as_str();
        let uid = match self.service_uids.get(&session.db, cache_key) {
            Some(uid) => *uid,
            None => {
                let cannot_log_in = || {
                    Error::GateUnreadable(
                        "the gate's service account ([gate] service_login) cannot log in: check its login and the password (an API key when the ERP speaks JSON-2) in [gate] service_password_env".into(),
                    )
                };
                let uid = match protocol {
                    Protocol::XmlRpc => odoo
                        .authenticate(&session.db, &service.login, &service.password)
                        .await
                        .map_err(|e| Error::upstream(Operation::Read, e))?
                        .ok_or_else(cannot_log_in)?,
                    Protocol::Json2 => odoo
                        .json2_context(&session.db, &service.password)
                        .await
                        .map_err(|e| Error::upstream(Operation::Read, e))?
                        .and_then(|context| context.get("uid").and_then(Value::as_i64))
                        .ok_or_else(cannot_log_in)?,
                };
                *self.service_uids.insert(&session.db, cache_key, uid)
            }
        };
        Ok(Reader {
            uid,
            password: &service.password,
            protocol,
        })
    }

    fn read_error(&self, error: UpstreamError) -> Error {
        match error {
            UpstreamError::Fault(OdooFault::AccessError(_) | OdooFault::AccessDenied) => {
                let who = if self.config.service.is_some() {
                    "the gate's service account"
                } else {
                    "this user"
                };
                Error::GateUnreadable(format!(
                    "{who} cannot read ir.model, so the proxy cannot tell whether the model is enabled for the REST API: set [gate] service_login and service_password_env in proxy.toml to an account that can read ir.model, or list the model in [gate] allow"
                ))
            }
            other => Error::upstream(Operation::Read, other),
        }
    }
}
