//! The in-memory token store (one process): issue, look up, revoke and expire access tokens.
//! No I/O.
//!
//! The store never keeps a token itself: it keys its map by the token's SHA-256, so a lookup
//! compares hashes of what the client sent, and its timing says nothing about the tokens held.
//! The store is bounded twice: at most `max_tokens` live tokens (then [`StoreFull`]) and at
//! most `max_per_user` per (database, login) (then the user's oldest token is evicted).
//!
//! Locking: no method holds a guard of one map while it touches the other map, and nothing
//! here awaits while holding a guard.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use dashmap::DashMap;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{
    new_token, token_key, user_key, Session, StoreFull, Token, TokenKey, TokenLimits, UserKey,
};

struct Entry {
    session: Arc<Session>,
    expires_at: Instant,
}

/// The live tokens of one user, oldest first, and the session they most recently shared.
struct UserTokens {
    session: Arc<Session>,
    /// Grown one at a time: most users hold one or two tokens.
    keys: Vec<TokenKey>,
}

/// Access tokens and the sessions they stand for, in this process's memory.
pub struct MemoryStore {
    limits: TokenLimits,
    tokens: DashMap<TokenKey, Entry>,
    users: DashMap<UserKey, UserTokens>,
    /// Live tokens plus issues in flight; never above `limits.max_tokens`.
    reserved: AtomicUsize,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("limits", &self.limits)
            .field("live", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new(limits: TokenLimits) -> MemoryStore {
        MemoryStore {
            limits,
            tokens: DashMap::new(),
            users: DashMap::new(),
            reserved: AtomicUsize::new(0),
        }
    }

    pub fn limits(&self) -> TokenLimits {
        self.limits
    }

    /// Issues a new token for `session`. When the store is full it first drops expired tokens,
    /// then refuses. When the user already has `max_per_user` tokens, the oldest is evicted.
    pub fn issue(&self, session: Session) -> Result<Token, StoreFull> {
        if !self.try_reserve() {
            self.sweep();
            if !self.try_reserve() {
                return Err(StoreFull);
            }
        }
        let user = user_key(&session.db, &session.login);
        let session = self.share(&user, session);
        let expires_at = Instant::now() + self.limits.ttl;

        let (token, key) = loop {
            let token = new_token();
            let key = token_key(&token);
            // 256 random bits never collide in practice; the check costs one lookup.
            if !self.tokens.contains_key(&key) {
                break (token, key);
            }
        };

        // The user's list learns of the token before the map does, so an expiry or a revoke
        // (which edit the list after the map) can never leave a stale key in the list.
        let cap = self.limits.max_per_user.max(1);
        let evicted: Vec<TokenKey> = {
            let mut user_tokens = self.users.entry(user).or_insert_with(|| UserTokens {
                session: Arc::clone(&session),
                keys: Vec::new(),
            });
            user_tokens.session = Arc::clone(&session);
            user_tokens.keys.reserve_exact(1);
            user_tokens.keys.push(key);
            let excess = user_tokens.keys.len().saturating_sub(cap);
            user_tokens.keys.drain(..excess).collect()
        };
        self.tokens.insert(
            key,
            Entry {
                session,
                expires_at,
            },
        );
        for key in evicted {
            self.remove_token(&key);
        }
        // Concurrent issues for the same user may have evicted this token before the map held
        // it (their removal found nothing); it is evicted all the same.
        let still_listed = self
            .users
            .get(&user)
            .is_some_and(|user_tokens| user_tokens.keys.contains(&key));
        if !still_listed {
            self.remove_token(&key);
        }
        Ok(Token::new(token))
    }

    /// The session of a live token; `None` when unknown or expired (an expired one is removed).
    pub fn lookup(&self, token: &str) -> Option<Arc<Session>> {
        let key = token_key(token);
        let now = Instant::now();
        let live = {
            let entry = self.tokens.get(&key)?;
            (entry.expires_at > now).then(|| Arc::clone(&entry.session))
        };
        if live.is_none() {
            if let Some((key, entry)) = self
                .tokens
                .remove_if(&key, |_, entry| entry.expires_at <= now)
            {
                self.release(key, &entry.session);
            }
        }
        live
    }

    /// Revokes a token; `true` if it was live (or expired but not yet swept).
    pub fn revoke(&self, token: &str) -> bool {
        self.remove_token(&token_key(token))
    }

    /// Removes every expired token; returns how many.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut expired = Vec::new();
        self.tokens.retain(|key, entry| {
            if entry.expires_at <= now {
                expired.push((*key, Arc::clone(&entry.session)));
                false
            } else {
                true
            }
        });
        let count = expired.len();
        for (key, session) in expired {
            self.release(key, &session);
        }
        count
    }

    /// Live tokens (including expired ones not yet swept).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Sweeps every `every` in the background, until the store is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration) -> JoinHandle<()> {
        let store: Weak<MemoryStore> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(store) = store.upgrade() else {
                    return;
                };
                let swept = store.sweep();
                if swept > 0 {
                    tracing::debug!(swept, live = store.len(), "expired access tokens removed");
                }
            }
        })
    }

    fn try_reserve(&self) -> bool {
        let max = self.limits.max_tokens;
        self.reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                (live < max).then_some(live + 1)
            })
            .is_ok()
    }

    /// The user's current shared session if it equals `session`, else a new one.
    fn share(&self, user: &UserKey, session: Session) -> Arc<Session> {
        if let Some(user_tokens) = self.users.get(user) {
            if *user_tokens.session == session {
                return Arc::clone(&user_tokens.session);
            }
        }
        Arc::new(session)
    }

    /// Removes one token from the map and from its user's list; `true` if it was there.
    fn remove_token(&self, key: &TokenKey) -> bool {
        match self.tokens.remove(key) {
            Some((key, entry)) => {
                self.release(key, &entry.session);
                true
            }
            None => false,
        }
    }

    /// Bookkeeping after `key` left the token map: the count and the user's list.
    fn release(&self, key: TokenKey, session: &Session) {
        self.reserved.fetch_sub(1, Ordering::AcqRel);
        let user = user_key(&session.db, &session.login);
        self.users.remove_if_mut(&user, |_, user_tokens| {
            user_tokens.keys.retain(|held| *held != key);
            user_tokens.keys.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use serde_json::json;
    use std::collections::HashSet;

    fn limits(ttl_secs: u64, max_tokens: usize, max_per_user: usize) -> TokenLimits {
        TokenLimits {
            ttl: Duration::from_secs(ttl_secs),
            max_tokens,
            max_per_user,
        }
    }

    fn session(login: &str) -> Session {
        Session {
            db: "rest".to_owned(),
            uid: 2,
            login: login.to_owned(),
            password: Secret::new("hunter2"),
            user_context: json!({"lang": "en_US", "tz": "Europe/Brussels", "uid": 2}),
            company_id: json!(1),
            protocol: Default::default(),
        }
    }

    #[tokio::test]
    async fn issue_lookup_revoke() {
        let store = MemoryStore::new(limits(60, 100, 10));
        let token = store.issue(session("admin")).expect("room for one token");
        assert_eq!(token.as_str().len(), 64);
        assert!(token.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        let found = store.lookup(token.as_str()).expect("just issued");
        assert_eq!(found.login, "admin");
        assert_eq!(found.password.expose(), "hunter2");
        assert_eq!(store.len(), 1);

        assert!(store.revoke(token.as_str()));
        assert!(store.lookup(token.as_str()).is_none());
        assert!(!store.revoke(token.as_str()));
        assert_eq!(store.len(), 0);
        assert!(store.users.is_empty());
    }

    #[tokio::test]
    async fn tokens_differ() {
        let store = MemoryStore::new(limits(60, 1000, 1000));
        let tokens: HashSet<String> = (0..200)
            .map(|_| {
                store
                    .issue(session("admin"))
                    .expect("room")
                    .as_str()
                    .to_owned()
            })
            .collect();
        assert_eq!(tokens.len(), 200);
    }

    #[tokio::test]
    async fn unknown_tokens_are_not_found() {
        let store = MemoryStore::new(limits(60, 100, 10));
        store.issue(session("admin")).expect("room");
        for token in ["", "x", &"0".repeat(64), &"é".repeat(1000)] {
            assert!(store.lookup(token).is_none());
            assert!(!store.revoke(token));
        }
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn the_map_never_holds_the_token() {
        let store = MemoryStore::new(limits(60, 100, 10));
        let token = store.issue(session("admin")).expect("room");
        let key = token_key(token.as_str());
        assert!(store.tokens.contains_key(&key));
        assert_ne!(&key[..], token.as_str().as_bytes());
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_expire() {
        let store = MemoryStore::new(limits(60, 100, 10));
        let token = store.issue(session("admin")).expect("room");
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(store.lookup(token.as_str()).is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(store.lookup(token.as_str()).is_none());
        assert_eq!(store.len(), 0, "an expired token is removed when looked up");
        assert!(store.users.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn sweep_removes_only_expired_tokens() {
        let store = MemoryStore::new(limits(60, 100, 10));
        let old: Vec<Token> = (0..3)
            .map(|_| store.issue(session("a")).expect("room"))
            .collect();
        tokio::time::advance(Duration::from_secs(30)).await;
        let young = store.issue(session("b")).expect("room");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(store.sweep(), 3);
        assert_eq!(store.sweep(), 0);
        assert_eq!(store.len(), 1);
        assert!(store.lookup(young.as_str()).is_some());
        for token in &old {
            assert!(store.lookup(token.as_str()).is_none());
        }
        assert_eq!(store.users.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweeper_sweeps_and_stops_with_the_store() {
        let store = Arc::new(MemoryStore::new(limits(60, 100, 10)));
        store.issue(session("admin")).expect("room");
        let sweeper = store.spawn_sweeper(Duration::from_secs(10));
        tokio::time::sleep(Duration::from_secs(75)).await;
        assert_eq!(store.len(), 0);
        drop(store);
        tokio::time::sleep(Duration::from_secs(20)).await;
        tokio::time::timeout(Duration::from_secs(1), sweeper)
            .await
            .expect("the sweeper ends once the store is gone")
            .expect("the sweeper does not panic");
    }

    #[tokio::test]
    async fn per_user_cap_evicts_the_oldest() {
        let store = MemoryStore::new(limits(60, 100, 3));
        let tokens: Vec<Token> = (0..5)
            .map(|_| store.issue(session("admin")).expect("room"))
            .collect();
        let other = store.issue(session("demo")).expect("room");
        assert!(store.lookup(tokens[0].as_str()).is_none());
        assert!(store.lookup(tokens[1].as_str()).is_none());
        for token in &tokens[2..] {
            assert!(store.lookup(token.as_str()).is_some());
        }
        assert!(store.lookup(other.as_str()).is_some());
        assert_eq!(store.len(), 4);

        // A revoked token frees its place: the next issue evicts nothing live but the oldest.
        assert!(store.revoke(tokens[3].as_str()));
        let newer = store.issue(session("admin")).expect("room");
        for token in [&tokens[2], &tokens[4], &newer] {
            assert!(store.lookup(token.as_str()).is_some());
        }
    }

    #[tokio::test]
    async fn the_same_login_on_another_database_is_another_user() {
        let store = MemoryStore::new(limits(60, 100, 1));
        let first = store.issue(session("admin")).expect("room");
        let mut elsewhere = session("admin");
        elsewhere.db = "other".to_owned();
        let second = store.issue(elsewhere).expect("room");
        assert!(store.lookup(first.as_str()).is_some());
        assert!(store.lookup(second.as_str()).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_store_sweeps_then_refuses() {
        let store = MemoryStore::new(limits(60, 2, 10));
        store.issue(session("a")).expect("room");
        store.issue(session("b")).expect("room");
        assert_eq!(store.issue(session("c")), Err(StoreFull));
        assert_eq!(store.len(), 2);

        tokio::time::advance(Duration::from_secs(60)).await;
        let token = store.issue(session("c")).expect("expired tokens make room");
        assert_eq!(store.len(), 1);
        assert!(store.lookup(token.as_str()).is_some());
        assert_eq!(store.users.len(), 1);
    }

    #[tokio::test]
    async fn equal_sessions_share_one_allocation() {
        let store = MemoryStore::new(limits(60, 100, 10));
        let first = store.issue(session("admin")).expect("room");
        let second = store.issue(session("admin")).expect("room");
        let a = store.lookup(first.as_str()).expect("live");
        let b = store.lookup(second.as_str()).expect("live");
        assert!(Arc::ptr_eq(&a, &b));

        let mut changed = session("admin");
        changed.password = Secret::new("new password");
        let third = store.issue(changed).expect("room");
        let c = store.lookup(third.as_str()).expect("live");
        assert_eq!(c.password.expose(), "new password");
        assert_eq!(a.password.expose(), "hunter2");
    }

    #[test]
    fn debug_hides_secrets() {
        let session = session("admin");
        let shown = format!("{session:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("admin"), "{shown}");

        let token = Token::new("0123456789abcdef".to_owned());
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(
            StoreFull.to_string(),
            "too many live access tokens; try again later"
        );
    }

    /// Many threads issue, look up, revoke and expire at once. Checks that a token is found
    /// exactly while it should be: never lost before its expiry (unless a tight per-user cap
    /// evicts it), never back after its revoke, eviction or expiry, and that every count adds
    /// up afterwards; all within a time bound.
    async fn stress(max_per_user: usize) {
        const WORKERS: usize = 4;
        const ROUNDS: usize = 400;
        let ttl = Duration::from_millis(20);
        let evictions_possible = max_per_user < WORKERS * ROUNDS;
        let store = Arc::new(MemoryStore::new(TokenLimits {
            ttl,
            max_tokens: WORKERS * ROUNDS,
            max_per_user,
        }));
        let sweeper = store.spawn_sweeper(Duration::from_millis(1));

        let mut workers = Vec::new();
        for worker in 0..WORKERS {
            let store = Arc::clone(&store);
            workers.push(tokio::task::spawn_blocking(move || {
                let mut kept = Vec::new();
                for round in 0..ROUNDS {
                    // Two workers share each login, so user lists see concurrent changes.
                    let login = format!("user{}", worker % 2);
                    let before = Instant::now();
                    let token = store.issue(session(&login)).expect("room for every token");
                    let after = Instant::now();
                    let looked_at = Instant::now();
                    match store.lookup(token.as_str()) {
                        Some(found) => {
                            assert_eq!(found.login, login);
                            assert!(looked_at < after + ttl, "found after its expiry");
                        }
                        None => assert!(
                            evictions_possible || Instant::now() >= before + ttl,
                            "lost before expiry"
                        ),
                    }
                    if round % 2 == 0 {
                        store.revoke(token.as_str());
                        assert!(store.lookup(token.as_str()).is_none(), "back after revoke");
                    } else {
                        kept.push((token, login, before));
                    }
                }
                kept
            }));
        }

        let kept = tokio::time::timeout(Duration::from_secs(60), async {
            let mut kept = Vec::new();
            for worker in workers {
                kept.extend(worker.await.expect("a worker panicked"));
            }
            kept
        })
        .await
        .expect("no deadlock: the workers finish in time");

        // At rest, no user holds more than the cap.
        for login in ["user0", "user1"] {
            let live = kept
                .iter()
                .filter(|(token, owner, _)| {
                    owner == login && store.lookup(token.as_str()).is_some()
                })
                .count();
            assert!(live <= max_per_user, "{login} holds {live} tokens");
        }

        // Once every kept token is past its expiry, none of them comes back.
        let deadline = kept
            .iter()
            .map(|(_, _, before)| *before)
            .max()
            .expect("some tokens were kept")
            + ttl;
        tokio::time::sleep_until(deadline + Duration::from_millis(1)).await;
        for (token, _, _) in &kept {
            assert!(store.lookup(token.as_str()).is_none(), "back after expiry");
        }
        assert_eq!(store.sweep(), 0);
        assert_eq!(store.len(), 0);
        assert!(
            store.users.is_empty(),
            "user lists are emptied with their tokens"
        );
        assert_eq!(
            store.reserved.load(Ordering::Acquire),
            0,
            "the count adds up"
        );
        sweeper.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_use_loses_and_resurrects_nothing() {
        stress(usize::MAX).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_use_with_a_tight_per_user_cap() {
        stress(3).await;
    }
}
