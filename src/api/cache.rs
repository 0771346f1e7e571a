//! [`TtlCache`]: a bounded concurrent cache whose entries expire, keyed by (database, name).
//! Used for the model gate and for `fields_get`, so that a REST call in steady state costs
//! exactly one upstream call. At most `capacity` entries are kept (quick_cache's CLOCK-Pro
//! evicts the coldest past it), so made-up model names cannot grow it; an expired entry is
//! dropped when it is looked up. A lookup borrows its key: it allocates nothing.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use quick_cache::sync::Cache;
use quick_cache::Equivalent;
use tokio::time::Instant;

/// (database, name), owned by the cache.
type Key = (Box<str>, Box<str>);

/// (database, name) borrowed for a lookup; hashes as [`Key`] does (field by field).
#[derive(Hash)]
struct Borrowed<'a>(&'a str, &'a str);

impl Equivalent<Key> for Borrowed<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        *key.0 == *self.0 && *key.1 == *self.1
    }
}

pub struct TtlCache<V> {
    ttl: Duration,
    entries: Cache<Key, (Instant, Arc<V>)>,
}

impl<V> TtlCache<V> {
    /// Entries live `ttl`; at most `capacity` of them are kept.
    pub fn new(ttl: Duration, capacity: usize) -> TtlCache<V> {
        TtlCache {
            ttl,
            entries: Cache::new(capacity.max(1)),
        }
    }

    /// The cached value, unless it is older than the TTL (then it is dropped).
    pub fn get(&self, db: &str, name: &str) -> Option<Arc<V>> {
        let key = Borrowed(db, name);
        let (stored, value) = self.entries.get(&key)?;
        if stored.elapsed() < self.ttl {
            return Some(value);
        }
        // Only the entry that was seen: one inserted meanwhile stays.
        self.entries.remove_if(&key, |(other, _)| *other == stored);
        None
    }

    pub fn insert(&self, db: &str, name: &str, value: V) -> Arc<V> {
        let value = Arc::new(value);
        if !self.ttl.is_zero() {
            self.entries.insert(
                (db.into(), name.into()),
                (Instant::now(), Arc::clone(&value)),
            );
        }
        value
    }

    pub fn remove(&self, db: &str, name: &str) {
        self.entries.remove(&Borrowed(db, name));
    }

    /// How many entries are held (expired ones included until looked up or evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn borrowed_lookups_find_owned_keys() {
        let cache = TtlCache::new(Duration::from_secs(60), 100);
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
    async fn entries_expire_and_are_dropped() {
        let cache = TtlCache::new(Duration::from_secs(60), 100);
        cache.insert("db", "m", "v");
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(cache.get("db", "m").is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.get("db", "m").is_none());
        assert!(cache.is_empty(), "the expired entry is dropped");
        let uncached = TtlCache::new(Duration::ZERO, 100);
        uncached.insert("db", "m", "v");
        assert!(uncached.get("db", "m").is_none());
    }

    #[tokio::test]
    async fn made_up_names_cannot_grow_it_past_its_capacity() {
        let cache = TtlCache::new(Duration::from_secs(60), 1000);
        for i in 0..20_000 {
            cache.insert("db", &format!("x_made_up_{i}"), i);
        }
        // quick_cache rounds the capacity per shard: allow a little over.
        assert!(cache.len() <= 1100, "{} entries", cache.len());
        assert!(cache.len() >= 500, "{} entries", cache.len());
    }
}
