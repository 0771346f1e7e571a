//! [`TtlCache`]: a small concurrent map whose entries expire, keyed by (database, name). Used
//! for the model gate and for `fields_get`, so that a REST call in steady state costs exactly
//! one upstream call. A lookup borrows its key: it allocates nothing.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::time::Instant;

/// (database, name), owned by the map.
struct Key {
    db: Box<str>,
    name: Box<str>,
}

/// (database, name) as the map sees it: owned ([`Key`]) or borrowed (`(&str, &str)`), hashed
/// and compared the same way, so that a lookup need not build a [`Key`].
trait Pair {
    fn db(&self) -> &str;
    fn name(&self) -> &str;
}

impl Pair for Key {
    fn db(&self) -> &str {
        &self.db
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Pair for (&str, &str) {
    fn db(&self) -> &str {
        self.0
    }
    fn name(&self) -> &str {
        self.1
    }
}

impl<'a> Borrow<dyn Pair + 'a> for Key {
    fn borrow(&self) -> &(dyn Pair + 'a) {
        self
    }
}

impl Hash for dyn Pair + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.db().hash(state);
        self.name().hash(state);
    }
}

impl PartialEq for dyn Pair + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.db() == other.db() && self.name() == other.name()
    }
}

impl Eq for dyn Pair + '_ {}

// `Borrow` requires the owned key to hash and compare exactly as its borrowed form does.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn Pair).hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self as &dyn Pair) == (other as &dyn Pair)
    }
}

impl Eq for Key {}

pub struct TtlCache<V> {
    ttl: Duration,
    entries: DashMap<Key, (Instant, Arc<V>)>,
}

impl<V> TtlCache<V> {
    pub fn new(ttl: Duration) -> TtlCache<V> {
        TtlCache {
            ttl,
            entries: DashMap::new(),
        }
    }

    /// The cached value, unless it is older than the TTL.
    pub fn get(&self, db: &str, name: &str) -> Option<Arc<V>> {
        let entry = self.entries.get(&(db, name) as &dyn Pair)?;
        let (stored, value) = entry.value();
        (stored.elapsed() < self.ttl).then(|| Arc::clone(value))
    }

    pub fn insert(&self, db: &str, name: &str, value: V) -> Arc<V> {
        let value = Arc::new(value);
        if !self.ttl.is_zero() {
            let key = Key {
                db: db.into(),
                name: name.into(),
            };
            self.entries
                .insert(key, (Instant::now(), Arc::clone(&value)));
        }
        value
    }

    pub fn remove(&self, db: &str, name: &str) {
        self.entries.remove(&(db, name) as &dyn Pair);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn borrowed_lookups_find_owned_keys() {
        let cache = TtlCache::new(Duration::from_secs(60));
        cache.insert("db", "res.partner", 1);
        cache.insert("db", "res.users", 2);
        // The same bytes split differently are another key.
        cache.insert("dbres", ".partner", 3);
        assert_eq!(cache.get("db", "res.partner").as_deref(), Some(&1));
        assert_eq!(cache.get("db", "res.users").as_deref(), Some(&2));
        assert_eq!(cache.get("dbres", ".partner").as_deref(), Some(&3));
        assert_eq!(cache.get("db", "res.company"), None);
        cache.remove("db", "res.partner");
        assert_eq!(cache.get("db", "res.partner"), None);
        assert_eq!(cache.get("dbres", ".partner").as_deref(), Some(&3));
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire() {
        let cache = TtlCache::new(Duration::from_secs(60));
        cache.insert("db", "m", "v");
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(cache.get("db", "m").is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.get("db", "m").is_none());
        let uncached = TtlCache::new(Duration::ZERO);
        uncached.insert("db", "m", "v");
        assert!(uncached.get("db", "m").is_none());
    }
}
