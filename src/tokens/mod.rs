//! Access tokens and the sessions they stand for, kept in one of two stores: this process's
//! memory ([`MemoryStore`], the default) or a Redis / Valkey that every instance shares
//! ([`RedisStore`]). [`TokenStore`] is the one type the rest of the proxy sees; each of its
//! operations is one `match` over the two.
//!
//! Tokens are 256 random bits from a CSPRNG, handed out as 64 hex characters. Neither store
//! keeps a token itself: both key their sessions by the token's SHA-256.

mod memory;
mod redis;
mod seal;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use crate::secret::Secret;

pub use self::redis::{RedisConfig, RedisLink, RedisStore, Unavailable};
pub use memory::MemoryStore;
pub use seal::SealKey;

/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;

/// What one token stands for: who logged in, where, and the credential for `execute_kw`.
#[derive(Clone, PartialEq)]
pub struct Session {
    pub db: String,
    pub uid: i64,
    pub login: String,
    /// The credential sent with every `execute_kw`: a password or an API key.
    pub password: Secret,
    pub user_context: Value,
    pub company_id: Value,
    /// The wire this session's calls travel on (JSON-2 only with an API key).
    pub protocol: crate::odoo::Protocol,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("db", &self.db)
            .field("uid", &self.uid)
            .field("login", &self.login)
            .field("password", &"***")
            .field("user_context", &self.user_context)
            .field("company_id", &self.company_id)
            .field("protocol", &self.protocol)
            .finish()
    }
}

/// The token text handed to the client. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    fn new(text: String) -> Token {
        Token(text)
    }

    /// The token itself, for the one response that hands it out.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Bounds of a token store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLimits {
    /// How long a token lives after it is issued.
    pub ttl: Duration,
    /// Most live tokens in the store.
    pub max_tokens: usize,
    /// Most live tokens per (database, login); issuing one more evicts the oldest.
    pub max_per_user: usize,
}

/// The store holds `max_tokens` live tokens already, none of them expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many live access tokens; try again later")]
pub struct StoreFull;

/// Why a token store operation could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Full(#[from] StoreFull),
    /// The shared store did not answer in time, or answered an error (fail closed).
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// Where the tokens live: `[tokens] store`.
#[derive(Debug, Clone, Default)]
pub enum StoreConfig {
    /// This process's memory: tokens die with the process, each instance has its own.
    #[default]
    Memory,
    /// A Redis or Valkey shared by every instance.
    Redis(RedisConfig),
}

impl StoreConfig {
    /// For the start-up log line: `memory`, or the Redis URL without its password.
    pub fn describe(&self) -> String {
        match self {
            StoreConfig::Memory => "memory".to_owned(),
            StoreConfig::Redis(redis) => self::redis::url_for_log(&redis.url),
        }
    }
}

/// Access tokens and the sessions they stand for.
pub enum TokenStore {
    Memory(Arc<MemoryStore>),
    Redis(RedisStore),
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenStore::Memory(store) => store.fmt(f),
            TokenStore::Redis(store) => store.fmt(f),
        }
    }
}

impl TokenStore {
    /// The store `config` names. A Redis store connects lazily (a Redis that is down at start
    /// is not fatal: the API answers 503 until it is up), on the runtime of its first use.
    pub fn new(limits: TokenLimits, config: &StoreConfig) -> Result<TokenStore, String> {
        Ok(match config {
            StoreConfig::Memory => TokenStore::Memory(Arc::new(MemoryStore::new(limits))),
            StoreConfig::Redis(redis) => TokenStore::Redis(RedisStore::new(limits, redis)?),
        })
    }

    /// The same tokens for another thread's runtime: the memory store itself, or the same
    /// Redis store through a connection of that thread's own (opened there on first use).
    pub fn for_another_thread(&self) -> TokenStore {
        match self {
            TokenStore::Memory(store) => TokenStore::Memory(Arc::clone(store)),
            TokenStore::Redis(store) => TokenStore::Redis(store.for_another_thread()),
        }
    }

    pub fn limits(&self) -> TokenLimits {
        match self {
            TokenStore::Memory(store) => store.limits(),
            TokenStore::Redis(store) => store.limits(),
        }
    }

    /// Issues a new token for `session`. When the user already has `max_per_user` tokens, the
    /// oldest is evicted; when the store holds `max_tokens`, it refuses.
    pub async fn issue(&self, session: Session) -> Result<Token, StoreError> {
        match self {
            TokenStore::Memory(store) => Ok(store.issue(session)?),
            TokenStore::Redis(store) => store.issue(&session).await,
        }
    }

    /// The session of a live token; `None` when unknown, expired, revoked or unreadable.
    pub async fn lookup(&self, token: &str) -> Result<Option<Arc<Session>>, StoreError> {
        match self {
            TokenStore::Memory(store) => Ok(store.lookup(token)),
            TokenStore::Redis(store) => Ok(store.lookup(token).await?),
        }
    }

    /// Revokes a token at once; `true` if it was live.
    pub async fn revoke(&self, token: &str) -> Result<bool, StoreError> {
        match self {
            TokenStore::Memory(store) => Ok(store.revoke(token)),
            TokenStore::Redis(store) => Ok(store.revoke(token).await?),
        }
    }

    /// Whether the store answers now (within `redis_timeout_ms`): the readiness probe.
    /// Live tokens in this process's memory store; `None` for the shared store (Redis
    /// holds them, not this process).
    pub fn local_len(&self) -> Option<usize> {
        match self {
            TokenStore::Memory(store) => Some(store.len()),
            TokenStore::Redis(_) => None,
        }
    }

    pub async fn is_reachable(&self) -> bool {
        match self {
            TokenStore::Memory(_) => true,
            TokenStore::Redis(store) => store.link().is_reachable().await,
        }
    }

    /// This thread's Redis connection, for the other shared state (the login limiter).
    pub fn redis_link(&self) -> Option<&Arc<RedisLink>> {
        match self {
            TokenStore::Memory(_) => None,
            TokenStore::Redis(store) => Some(store.link()),
        }
    }

    /// Sweeps expired tokens every `every` in the background, until the store is dropped.
    /// Redis expires its keys itself: no sweeper.
    pub fn spawn_sweeper(&self, every: Duration) -> Option<JoinHandle<()>> {
        match self {
            TokenStore::Memory(store) => Some(store.spawn_sweeper(every)),
            TokenStore::Redis(_) => None,
        }
    }
}

/// SHA-256 of a token: the key its session is stored under.
type TokenKey = [u8; 32];

/// SHA-256 of (database, login): the per-user key.
type UserKey = [u8; 32];

fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(hex_digit(byte >> 4));
        text.push(hex_digit(byte & 0x0f));
    }
    text
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

fn token_key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

fn user_key(db: &str, login: &str) -> UserKey {
    let mut hasher = Sha256::new();
    // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    hasher.update((db.len() as u64).to_le_bytes());
    hasher.update(db.as_bytes());
    hasher.update((login.len() as u64).to_le_bytes());
    hasher.update(login.as_bytes());
    hasher.finalize().into()
}
