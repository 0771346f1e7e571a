//! The login rate limiter: failed `get_tokens` attempts counted per client address and per
//! login in fixed windows. Once either count reaches the limit, further attempts are refused
//! before the ERP is called. The counters live in this process ([`MemoryLimiter`], no I/O) or,
//! with the Redis token store, in Redis ([`RedisLimiter`]) so that every instance counts
//! against one limit.
//!
//! An attempt is counted when it starts (so a burst of parallel attempts cannot slip past the
//! limit while the ERP checks the first ones) and refunded when it turns out not to be a failed
//! login: a success, or an ERP that could not answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use redis::Script;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::tokens::{hex, RedisLink, Unavailable};

/// Why an attempt may not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failed logins: wait this many seconds.
    TooMany(u64),
    /// The shared counters cannot be read (fail closed).
    Unavailable,
}

/// Failed-login counters, in this process or shared through Redis.
pub enum LoginLimiter {
    Memory(MemoryLimiter),
    Redis(RedisLimiter),
}

/// An attempt in progress. Dropped as is, it stays counted (a failed login);
/// [`Attempt::refund`] takes it back.
pub enum Attempt<'a> {
    Memory(MemoryAttempt<'a>),
    Redis(RedisAttempt<'a>),
}

impl LoginLimiter {
    /// In-process counters: at most `attempts` failed logins per client and per login in each
    /// `window`; 0 turns the limiter off.
    pub fn new(attempts: u32, window: Duration) -> LoginLimiter {
        LoginLimiter::Memory(MemoryLimiter::new(attempts, window))
    }

    /// The same limits, counted in Redis across every instance.
    pub fn shared(attempts: u32, window: Duration, link: Arc<RedisLink>) -> LoginLimiter {
        LoginLimiter::Redis(RedisLimiter::new(attempts, window, link))
    }

    /// Counts an attempt by `client` for `login`, or refuses it.
    pub async fn begin(&self, client: IpAddr, login: &str) -> Result<Option<Attempt<'_>>, Refusal> {
        match self {
            LoginLimiter::Memory(limiter) => Ok(limiter
                .begin(client, login)
                .map_err(Refusal::TooMany)?
                .map(Attempt::Memory)),
            LoginLimiter::Redis(limiter) => {
                Ok(limiter.begin(client, login).await?.map(Attempt::Redis))
            }
        }
    }
}

impl Attempt<'_> {
    /// The attempt was not a failed login: it no longer counts.
    pub async fn refund(self) {
        match self {
            Attempt::Memory(attempt) => attempt.refund(),
            Attempt::Redis(attempt) => attempt.refund().await,
        }
    }
}

/// Keys kept per map before expired windows are swept; past it, new keys are not tracked
/// (the other map still limits them).
const MAX_KEYS: usize = 100_000;

/// The key of a client: its IPv4 address, or the /64 prefix of its IPv6 address (one host
/// usually holds a whole /64).
type ClientKey = [u8; 16];

/// SHA-256 of the lowercased login: bounded in size whatever the client sends.
type LoginKey = [u8; 32];

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// Failed-login counters in this process. No I/O; nothing here awaits.
pub struct MemoryLimiter {
    attempts: u32,
    window: Duration,
    clients: DashMap<ClientKey, Window>,
    logins: DashMap<LoginKey, Window>,
}

/// An attempt in progress, counted against its client and its login. Dropped as is, it stays
/// counted (a failed login); [`MemoryAttempt::refund`] takes it back.
pub struct MemoryAttempt<'a> {
    limiter: &'a MemoryLimiter,
    client: (ClientKey, Instant),
    login: (LoginKey, Instant),
}

impl MemoryLimiter {
    /// At most `attempts` failed logins per client and per login in each `window`; 0 turns the
    /// limiter off.
    pub fn new(attempts: u32, window: Duration) -> MemoryLimiter {
        MemoryLimiter {
            attempts,
            window: window.max(Duration::from_secs(1)),
            clients: DashMap::new(),
            logins: DashMap::new(),
        }
    }

    /// Counts an attempt by `client` for `login`, or refuses it with the seconds to wait.
    pub fn begin(&self, client: IpAddr, login: &str) -> Result<Option<MemoryAttempt<'_>>, u64> {
        if self.attempts == 0 {
            return Ok(None);
        }
        let now = Instant::now();
        let client_key = client_key(client);
        let login_key = login_key(login);
        // Each map checks and counts under one entry lock, so parallel attempts cannot both
        // take the last place; a refusal counts nothing.
        let client_started = self.try_count(&self.clients, client_key, now)?;
        let login_started = match self.try_count(&self.logins, login_key, now) {
            Ok(started) => started,
            Err(wait) => {
                self.uncount(&self.clients, &client_key, client_started);
                return Err(wait);
            }
        };
        Ok(Some(MemoryAttempt {
            limiter: self,
            client: (client_key, client_started),
            login: (login_key, login_started),
        }))
    }

    /// Adds one to `key`'s window (a fresh one when the last has ended) and returns its start,
    /// or refuses with the whole seconds (at least 1) until the window ends.
    fn try_count<K: Eq + std::hash::Hash>(
        &self,
        map: &DashMap<K, Window>,
        key: K,
        now: Instant,
    ) -> Result<Instant, u64> {
        if map.len() >= MAX_KEYS && !map.contains_key(&key) {
            map.retain(|_, window| window.started + self.window > now);
            if map.len() >= MAX_KEYS {
                return Ok(now);
            }
        }
        let mut window = map.entry(key).or_insert(Window {
            started: now,
            count: 0,
        });
        let ends = window.started + self.window;
        if ends <= now {
            *window = Window {
                started: now,
                count: 0,
            };
        } else if window.count >= self.attempts {
            let left = ends - now;
            return Err(left.as_secs() + u64::from(left.subsec_nanos() > 0));
        }
        window.count = window.count.saturating_add(1);
        Ok(window.started)
    }

    fn uncount<K: Eq + std::hash::Hash>(
        &self,
        map: &DashMap<K, Window>,
        key: &K,
        started: Instant,
    ) {
        let emptied = match map.get_mut(key) {
            Some(mut window) if window.started == started => {
                window.count = window.count.saturating_sub(1);
                window.count == 0
            }
            _ => false,
        };
        if emptied {
            map.remove_if(key, |_, window| window.count == 0);
        }
    }
}

impl MemoryAttempt<'_> {
    /// The attempt was not a failed login: it no longer counts.
    pub fn refund(self) {
        let limiter = self.limiter;
        limiter.uncount(&limiter.clients, &self.client.0, self.client.1);
        limiter.uncount(&limiter.logins, &self.login.0, self.login.1);
    }
}

/// Counts an attempt against both keys unless either is at the limit. A key is a hash of its
/// count `n` and its window's id `w` (Redis time at creation), expiring with the window.
/// KEYS: client, login. ARGV: attempts, window ms. Returns `{"ok", w1, w2}` or
/// `{"wait", ms}`.
const BEGIN: &str = r"
local limit = tonumber(ARGV[1])
for i = 1, 2 do
  if tonumber(redis.call('HGET', KEYS[i], 'n') or '0') >= limit then
    return {'wait', tostring(redis.call('PTTL', KEYS[i]))}
  end
end
local windows = {}
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local now = redis.call('TIME')
    redis.call('HSET', KEYS[i], 'n', 0, 'w', now[1] .. '.' .. now[2])
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
  redis.call('HINCRBY', KEYS[i], 'n', 1)
  windows[i] = redis.call('HGET', KEYS[i], 'w')
end
return {'ok', windows[1], windows[2]}
";

/// Takes an attempt back from each key whose window is still the one it was counted in.
/// KEYS: client, login. ARGV: their window ids.
const REFUND: &str = r"
for i = 1, 2 do
  if redis.call('HGET', KEYS[i], 'w') == ARGV[i] then
    if redis.call('HINCRBY', KEYS[i], 'n', -1) <= 0 then
      redis.call('DEL', KEYS[i])
    end
  end
end
return 1
";

/// Failed-login counters in Redis, shared by every instance; they expire with their window.
pub struct RedisLimiter {
    attempts: u32,
    window: Duration,
    link: Arc<RedisLink>,
    begin: Script,
    refund: Script,
}

/// An attempt counted in Redis: its keys and the windows it was counted in.
pub struct RedisAttempt<'a> {
    limiter: &'a RedisLimiter,
    keys: [String; 2],
    windows: [String; 2],
}

impl RedisLimiter {
    pub fn new(attempts: u32, window: Duration, link: Arc<RedisLink>) -> RedisLimiter {
        RedisLimiter {
            attempts,
            window: window.max(Duration::from_secs(1)),
            link,
            begin: Script::new(BEGIN),
            refund: Script::new(REFUND),
        }
    }

    async fn begin(
        &self,
        client: IpAddr,
        login: &str,
    ) -> Result<Option<RedisAttempt<'_>>, Refusal> {
        if self.attempts == 0 {
            return Ok(None);
        }
        let keys = [
            self.link.key(&format!("l:c:{}", hex(&client_key(client)))),
            self.link.key(&format!("l:u:{}", hex(&login_key(login)))),
        ];
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let answer: Vec<String> = self
            .link
            .invoke(
                self.begin
                    .key(&keys[0])
                    .key(&keys[1])
                    .arg(self.attempts)
                    .arg(window_ms),
            )
            .await
            .map_err(|Unavailable| Refusal::Unavailable)?;
        match answer.as_slice() {
            [ok, client_window, login_window] if ok == "ok" => Ok(Some(RedisAttempt {
                limiter: self,
                keys,
                windows: [client_window.clone(), login_window.clone()],
            })),
            [wait, left] if wait == "wait" => {
                let left_ms = left.parse::<u64>().unwrap_or(1000);
                Err(Refusal::TooMany(left_ms.div_ceil(1000).max(1)))
            }
            _ => Err(Refusal::Unavailable),
        }
    }
}

impl RedisAttempt<'_> {
    async fn refund(self) {
        let limiter = self.limiter;
        // A refund that cannot be made leaves the attempt counted: the safe side.
        let _: Result<i64, Unavailable> = limiter
            .link
            .invoke(
                limiter
                    .refund
                    .key(&self.keys[0])
                    .key(&self.keys[1])
                    .arg(&self.windows[0])
                    .arg(&self.windows[1]),
            )
            .await;
    }
}

fn client_key(address: IpAddr) -> ClientKey {
    match address {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_ipv6_mapped().octets(),
            None => {
                let mut key = v6.octets();
                key[8..].fill(0);
                key
            }
        },
    }
}

fn login_key(login: &str) -> LoginKey {
    Sha256::digest(login.trim().to_lowercase().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("a test address")
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_limited_per_client_and_per_login() {
        let limiter = MemoryLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            let _failed = limiter.begin(ip("10.0.0.1"), "admin").unwrap();
        }
        assert_eq!(limiter.begin(ip("10.0.0.1"), "other").err(), Some(60));
        assert_eq!(limiter.begin(ip("10.0.0.2"), "ADMIN ").err(), Some(60));
        assert!(limiter.begin(ip("10.0.0.2"), "other").is_ok());
        tokio::time::advance(Duration::from_millis(59_500)).await;
        assert_eq!(limiter.begin(ip("10.0.0.1"), "x").err(), Some(1));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(limiter.begin(ip("10.0.0.1"), "admin").is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn refunded_attempts_do_not_count() {
        let limiter = MemoryLimiter::new(2, Duration::from_secs(60));
        for _ in 0..10 {
            limiter
                .begin(ip("10.0.0.1"), "admin")
                .unwrap()
                .unwrap()
                .refund();
        }
        assert!(limiter.clients.is_empty() && limiter.logins.is_empty());
        assert!(limiter.begin(ip("10.0.0.1"), "admin").is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_refund_from_an_ended_window_changes_nothing() {
        let limiter = MemoryLimiter::new(2, Duration::from_secs(1));
        let old = limiter.begin(ip("10.0.0.1"), "a").unwrap().unwrap();
        tokio::time::advance(Duration::from_secs(2)).await;
        let _failed = limiter.begin(ip("10.0.0.1"), "a").unwrap();
        let _failed = limiter.begin(ip("10.0.0.1"), "a").unwrap();
        old.refund();
        assert!(limiter.begin(ip("10.0.0.1"), "a").is_err());
    }

    #[test]
    fn ipv6_hosts_share_their_64_prefix() {
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa::1")),
            client_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            client_key(ip("2001:db8:1:2::1")),
            client_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            client_key(ip("::ffff:10.0.0.1")),
            client_key(ip("10.0.0.1"))
        );
    }

    #[test]
    fn zero_attempts_turns_it_off() {
        let limiter = MemoryLimiter::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            assert!(limiter.begin(ip("10.0.0.1"), "a").unwrap().is_none());
        }
    }
}
