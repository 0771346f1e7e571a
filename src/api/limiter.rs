//! The login rate limiter: failed `get_tokens` attempts counted per client address and per
//! login in fixed windows. Once either count reaches the limit, further attempts are refused
//! before the ERP is called. No I/O; nothing here awaits.
//!
//! An attempt is counted when it starts (so a burst of parallel attempts cannot slip past the
//! limit while the ERP checks the first ones) and refunded when it turns out not to be a failed
//! login: a success, or an ERP that could not answer.

use std::net::IpAddr;
use std::time::Duration;

use dashmap::DashMap;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

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

/// Failed-login counters.
pub struct LoginLimiter {
    attempts: u32,
    window: Duration,
    clients: DashMap<ClientKey, Window>,
    logins: DashMap<LoginKey, Window>,
}

/// An attempt in progress, counted against its client and its login. Dropped as is, it stays
/// counted (a failed login); [`Attempt::refund`] takes it back.
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    client: (ClientKey, Instant),
    login: (LoginKey, Instant),
}

impl LoginLimiter {
    /// At most `attempts` failed logins per client and per login in each `window`; 0 turns the
    /// limiter off.
    pub fn new(attempts: u32, window: Duration) -> LoginLimiter {
        LoginLimiter {
            attempts,
            window: window.max(Duration::from_secs(1)),
            clients: DashMap::new(),
            logins: DashMap::new(),
        }
    }

    /// Counts an attempt by `client` for `login`, or refuses it with the seconds to wait.
    pub fn begin(&self, client: IpAddr, login: &str) -> Result<Option<Attempt<'_>>, u64> {
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
        Ok(Some(Attempt {
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

impl Attempt<'_> {
    /// The attempt was not a failed login: it no longer counts.
    pub fn refund(self) {
        let limiter = self.limiter;
        limiter.uncount(&limiter.clients, &self.client.0, self.client.1);
        limiter.uncount(&limiter.logins, &self.login.0, self.login.1);
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
        let limiter = LoginLimiter::new(3, Duration::from_secs(60));
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
        let limiter = LoginLimiter::new(2, Duration::from_secs(60));
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
        let limiter = LoginLimiter::new(2, Duration::from_secs(1));
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
        let limiter = LoginLimiter::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            assert!(limiter.begin(ip("10.0.0.1"), "a").unwrap().is_none());
        }
    }
}
