//! The shared token store: sessions in a Redis (or Valkey) that every proxy instance uses, so
//! that a token issued by one instance works on all of them and survives their restarts.
//!
//! What Redis holds, under `key_prefix`:
//! - `s:<SHA-256 of the token, hex>`: the session, sealed (XChaCha20-Poly1305, see `seal`)
//!   with the token's hash as associated data, expiring with the token (`PX`);
//! - `u:<SHA-256 of (database, login), hex>`: a sorted set of the user's token hashes by
//!   expiry, for `max_per_user`;
//! - `all`: a sorted set of every token hash by expiry, for `max_tokens`.
//!
//! Issuing and revoking are Lua scripts, so that instances issuing at once cannot pass the
//! caps; a lookup is one `GET`. Nothing is cached here: a revoked or expired token is refused by
//! every instance on its next request. Every call is bounded by `redis_timeout_ms`; a Redis that
//! is slow, down or answering errors is [`Unavailable`] (fail closed, never the memory store).
//! Each server thread has its own multiplexed connection ([`RedisLink`], see
//! [`RedisLink::for_another_thread`]), opened on first use on that thread's runtime so that its
//! driver task runs there (a lookup never wakes another thread); it reconnects by itself.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, IntoConnectionInfo, RedisResult, Script, ScriptInvocation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::seal::{SealKey, Sealer};
use super::{hex, new_token, token_key, user_key, Session, StoreError, StoreFull, Token};
use super::{TokenKey, TokenLimits};
use crate::odoo::Protocol;
use crate::secret::Secret;

/// The first byte of every stored session: the layout below.
const FORMAT: u8 = 1;
/// Bytes of the user's hex key that follow the format byte (read by the revoke script).
const USER_HEX: usize = 64;

/// `[tokens]` with `store = "redis"`.
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://`, `rediss://` (TLS) or `unix://`; may hold a password (never logged).
    pub url: String,
    /// From `redis_password_env`; overrides a password in the URL.
    pub password: Option<Secret>,
    /// Put before every key, so that several deployments can share one Redis.
    pub key_prefix: String,
    /// From `encryption_key_env`: seals new sessions, opens them.
    pub key: SealKey,
    /// From `previous_encryption_key_env`: opens sessions sealed before a rotation.
    pub previous_key: Option<SealKey>,
    /// Bound on every call (and on connecting); past it the API answers 503.
    pub timeout: Duration,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &url_for_log(&self.url))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("key_prefix", &self.key_prefix)
            .field("key", &self.key)
            .field("previous_key", &self.previous_key)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisConfig {
    /// Whether `url` is a Redis URL this client can use; the error never quotes the URL (it
    /// may hold a password).
    pub fn check_url(url: &str) -> Result<(), String> {
        let scheme_ok = ["redis://", "rediss://", "unix://", "redis+unix://"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        if !scheme_ok || url.into_connection_info().is_err() {
            return Err(
                "is not a redis://host:port/db, rediss://host:port/db or unix:///path URL"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// The URL without any `user:password@` part, for logs and `Debug`.
pub fn url_for_log(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = match rest[..authority_end].rsplit_once('@') {
        Some((_, host)) => host,
        None => &rest[..authority_end],
    };
    format!("{scheme}://{host}{}", &rest[authority_end..])
}

/// The shared store did not answer within `redis_timeout_ms`, or answered an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the token store is unavailable")]
pub struct Unavailable;

/// One thread's connection to Redis (multiplexed: every request of that thread shares it),
/// with the timeout and key prefix every caller uses. The connection is opened on first use,
/// on the runtime of that use, which then drives it: a link belongs to one runtime (build
/// another with [`RedisLink::for_another_thread`]).
pub struct RedisLink {
    client: redis::Client,
    manager_config: ConnectionManagerConfig,
    connection: OnceLock<ConnectionManager>,
    timeout: Duration,
    prefix: String,
    /// Whether the last call succeeded (shared by every thread's link): a change is logged
    /// once, not every failed call.
    healthy: Arc<AtomicBool>,
    ping: Script,
}

impl fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLink")
            .field("timeout", &self.timeout)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLink {
    /// The connection for `config`, opened on first use (a Redis that is down at start-up is
    /// not fatal), on the tokio runtime of that use.
    pub fn new(config: &RedisConfig) -> Result<RedisLink, String> {
        let unusable = || "[tokens] redis_url: not a usable Redis URL".to_owned();
        let mut info = config
            .url
            .as_str()
            .into_connection_info()
            .map_err(|_| unusable())?;
        if let Some(password) = &config.password {
            let settings = info
                .redis_settings()
                .clone()
                .set_password(password.expose());
            info = info.set_redis_settings(settings);
        }
        let client = redis::Client::open(info).map_err(|_| unusable())?;
        // Reconnecting is tried once more after a short pause, then again on the next call:
        // a call never waits for more than `timeout` in any case.
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        Ok(RedisLink {
            client,
            manager_config,
            connection: OnceLock::new(),
            timeout: config.timeout,
            prefix: config.key_prefix.clone(),
            healthy: Arc::new(AtomicBool::new(true)),
            ping: Script::new("return redis.call('PING')"),
        })
    }

    /// A link to the same Redis, with the same settings, for another thread's runtime: it
    /// opens a connection of its own on first use there.
    pub fn for_another_thread(&self) -> RedisLink {
        RedisLink {
            client: self.client.clone(),
            manager_config: self.manager_config.clone(),
            connection: OnceLock::new(),
            timeout: self.timeout,
            prefix: self.prefix.clone(),
            healthy: Arc::clone(&self.healthy),
            ping: self.ping.clone(),
        }
    }

    /// The connection, made on the current runtime the first time (it connects, and
    /// reconnects, by itself in the background of that runtime).
    fn connection(&self) -> RedisResult<ConnectionManager> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        let made = ConnectionManager::new_lazy_with_config(
            self.client.clone(),
            self.manager_config.clone(),
        )?;
        Ok(self.connection.get_or_init(|| made).clone())
    }

    /// `prefix + name`.
    pub fn key(&self, name: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + name.len());
        key.push_str(&self.prefix);
        key.push_str(name);
        key
    }

    /// Runs one command.
    pub async fn query<T: FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, Unavailable> {
        self.bounded(|| {
            let connection = self.connection();
            async move { command.query_async(&mut connection?).await }
        })
        .await
    }

    /// Runs one script (by its hash; loaded first when Redis does not know it yet).
    pub async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, Unavailable> {
        self.bounded(|| {
            let connection = self.connection();
            async move { invocation.invoke_async(&mut connection?).await }
        })
        .await
    }

    /// Whether Redis answers a command within the timeout (a script, so that a Redis that
    /// refuses scripts is not ready either).
    pub async fn is_reachable(&self) -> bool {
        self.invoke::<String>(&self.ping.prepare_invoke())
            .await
            .is_ok()
    }

    /// `call` within the timeout. A call that failed on the connection (a Redis restarted
    /// since the last call, or a reconnection that had failed) is made once more on the fresh
    /// connection that failure started, within the same timeout.
    async fn bounded<T, F, C>(&self, mut call: F) -> Result<T, Unavailable>
    where
        F: FnMut() -> C,
        C: Future<Output = RedisResult<T>>,
    {
        let attempts = async {
            match call().await {
                Err(error) if error.is_io_error() || error.is_unrecoverable_error() => call().await,
                outcome => outcome,
            }
        };
        let outcome = match tokio::time::timeout(self.timeout, attempts).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        };
        match outcome {
            Ok(value) => {
                if !self.healthy.swap(true, Ordering::AcqRel) {
                    tracing::info!("the token store (Redis) answers again");
                }
                Ok(value)
            }
            Err(why) => {
                if self.healthy.swap(false, Ordering::AcqRel) {
                    tracing::warn!(error = %why, "the token store (Redis) is unavailable; the API answers 503 until it is back");
                } else {
                    tracing::debug!(error = %why, "the token store (Redis) is still unavailable");
                }
                Err(Unavailable)
            }
        }
    }
}

/// Issues a token: drops expired entries, refuses when `max_tokens` are live, evicts the
/// user's oldest tokens down to `max_per_user - 1`, then stores the new one. Atomic.
/// KEYS: session, user set, global set. ARGV: ttl ms, max tokens, max per user, sealed
/// session, token hash, session key prefix.
const ISSUE: &str = r"
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3]) + 1
if excess > 0 then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, excess - 1)) do
    redis.call('DEL', ARGV[6] .. member)
    redis.call('ZREM', KEYS[3], member)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[5])
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[3], now + ttl, ARGV[5])
redis.call('PEXPIRE', KEYS[3], ttl)
return 1
";

/// Revokes a token: deletes its session and takes it out of its user's set and the global
/// set (the user's key is stored in clear before the sealed part). Atomic.
/// KEYS: session, global set. ARGV: user key prefix, token hash.
const REVOKE: &str = r"
local value = redis.call('GET', KEYS[1])
if not value then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[1] .. string.sub(value, 2, 65), ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
";

/// Access tokens in Redis.
pub struct RedisStore {
    limits: TokenLimits,
    link: Arc<RedisLink>,
    sealer: Arc<Sealer>,
    issue: Script,
    revoke: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("limits", &self.limits)
            .field("link", &self.link)
            .field("sealer", &self.sealer)
            .finish_non_exhaustive()
    }
}

/// A session as sealed: every field, the credential included (only ever stored sealed).
#[derive(Serialize)]
struct SealedSession<'a> {
    db: &'a str,
    uid: i64,
    login: &'a str,
    password: &'a str,
    user_context: &'a Value,
    company_id: &'a Value,
    protocol: &'a str,
}

#[derive(Deserialize)]
struct OpenedSession {
    db: String,
    uid: i64,
    login: String,
    password: String,
    user_context: Value,
    company_id: Value,
    /// `xmlrpc` or `json2`.
    protocol: String,
}

impl RedisStore {
    pub fn new(limits: TokenLimits, config: &RedisConfig) -> Result<RedisStore, String> {
        Ok(RedisStore {
            limits,
            link: Arc::new(RedisLink::new(config)?),
            sealer: Arc::new(Sealer::new(&config.key, config.previous_key.as_ref())),
            issue: Script::new(ISSUE),
            revoke: Script::new(REVOKE),
        })
    }

    /// The same store (limits, keys, Redis) for another thread's runtime, with a connection
    /// of its own.
    pub fn for_another_thread(&self) -> RedisStore {
        RedisStore {
            limits: self.limits,
            link: Arc::new(self.link.for_another_thread()),
            sealer: Arc::clone(&self.sealer),
            issue: self.issue.clone(),
            revoke: self.revoke.clone(),
        }
    }

    pub fn limits(&self) -> TokenLimits {
        self.limits
    }

    pub fn link(&self) -> &Arc<RedisLink> {
        &self.link
    }

    pub async fn issue(&self, session: &Session) -> Result<Token, StoreError> {
        let token = new_token();
        let key = token_key(&token);
        let user = hex(&user_key(&session.db, &session.login));
        let value = self.seal(&key, &user, session);
        let member = hex(&key);
        let issued: i64 = self
            .link
            .invoke(
                self.issue
                    .key(self.link.key(&format!("s:{member}")))
                    .key(self.link.key(&format!("u:{user}")))
                    .key(self.link.key("all"))
                    .arg(millis(self.limits.ttl))
                    .arg(self.limits.max_tokens)
                    .arg(self.limits.max_per_user.max(1))
                    .arg(value)
                    .arg(&member)
                    .arg(self.link.key("s:")),
            )
            .await?;
        match issued {
            1 => Ok(Token::new(token)),
            _ => Err(StoreFull.into()),
        }
    }

    /// One `GET`; a value that does not open is an unknown token (and one log line).
    pub async fn lookup(&self, token: &str) -> Result<Option<Arc<Session>>, Unavailable> {
        let key = token_key(token);
        let stored: Option<Vec<u8>> = self
            .link
            .query(redis::cmd("GET").arg(self.link.key(&format!("s:{}", hex(&key)))))
            .await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let session = self.open(&key, &stored);
        if session.is_none() {
            tracing::warn!(
                "a stored session does not open (sealed with another key, or altered); its token is refused"
            );
        }
        Ok(session.map(Arc::new))
    }

    pub async fn revoke(&self, token: &str) -> Result<bool, Unavailable> {
        let member = hex(&token_key(token));
        let revoked: i64 = self
            .link
            .invoke(
                self.revoke
                    .key(self.link.key(&format!("s:{member}")))
                    .key(self.link.key("all"))
                    .arg(self.link.key("u:"))
                    .arg(&member),
            )
            .await?;
        Ok(revoked == 1)
    }

    /// `FORMAT || user key (hex) || sealed session`.
    fn seal(&self, key: &TokenKey, user: &str, session: &Session) -> Vec<u8> {
        let plaintext = serde_json::to_vec(&SealedSession {
            db: &session.db,
            uid: session.uid,
            login: &session.login,
            password: session.password.expose(),
            user_context: &session.user_context,
            company_id: &session.company_id,
            protocol: session.protocol.as_str(),
        })
        .expect("a session always serializes");
        let sealed = self.sealer.seal(&associated(key, user), &plaintext);
        let mut value = Vec::with_capacity(1 + USER_HEX + sealed.len());
        value.push(FORMAT);
        value.extend_from_slice(user.as_bytes());
        value.extend_from_slice(&sealed);
        value
    }

    fn open(&self, key: &TokenKey, stored: &[u8]) -> Option<Session> {
        if stored.len() < 1 + USER_HEX || stored[0] != FORMAT {
            return None;
        }
        let user = std::str::from_utf8(&stored[1..1 + USER_HEX]).ok()?;
        let plaintext = self
            .sealer
            .open(&associated(key, user), &stored[1 + USER_HEX..])?;
        let opened: OpenedSession = serde_json::from_slice(&plaintext).ok()?;
        Some(Session {
            db: opened.db,
            uid: opened.uid,
            login: opened.login,
            password: Secret::new(opened.password),
            user_context: opened.user_context,
            company_id: opened.company_id,
            protocol: match opened.protocol.as_str() {
                "json2" => Protocol::Json2,
                _ => Protocol::XmlRpc,
            },
        })
    }
}

/// What a sealed session is bound to: its token's hash and its user.
fn associated(key: &TokenKey, user: &str) -> Vec<u8> {
    let mut associated = Vec::with_capacity(32 + key.len() + user.len());
    associated.extend_from_slice(b"odoo-rest-proxy session 1\0");
    associated.extend_from_slice(key);
    associated.extend_from_slice(user.as_bytes());
    associated
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_logged_without_their_password() {
        assert_eq!(
            url_for_log("redis://user:hunter2@redis.internal:6380/2"),
            "redis://redis.internal:6380/2"
        );
        assert_eq!(url_for_log("rediss://:hunter2@h/0?x=1"), "rediss://h/0?x=1");
        assert_eq!(url_for_log("redis://127.0.0.1"), "redis://127.0.0.1");
        assert_eq!(url_for_log("hunter2"), "(not a URL)");
    }

    #[test]
    fn url_checks_never_quote_the_url() {
        assert!(RedisConfig::check_url("redis://127.0.0.1:6379/0").is_ok());
        assert!(RedisConfig::check_url("rediss://:pw@redis.example:6380/1").is_ok());
        assert!(RedisConfig::check_url("unix:///run/redis.sock").is_ok());
        for bad in [
            "http://:hunter2@h/",
            "hunter2",
            "redis://:hunter2@h:notaport/0",
        ] {
            let error = RedisConfig::check_url(bad).unwrap_err();
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn debug_hides_the_password_and_the_keys() {
        let key = SealKey::from_base64(&"A".repeat(43)).expect("32 zero bytes");
        let config = RedisConfig {
            url: "redis://:hunter2@h:6379/0".into(),
            password: Some(Secret::new("s3cret")),
            key_prefix: "p:".into(),
            key: key.clone(),
            previous_key: Some(key),
            timeout: Duration::from_secs(1),
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(!shown.contains("AAAA"), "{shown}");
        assert!(shown.contains("redis://h:6379/0"), "{shown}");
    }
}
