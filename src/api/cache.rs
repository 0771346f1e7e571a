//! [`TtlCache`]: a small concurrent map whose entries expire, keyed by (database, name). Used
//! for the model gate and for `fields_get`, so that a REST call in steady state costs exactly
//! one upstream call.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::time::Instant;

/// (database, name)
type Key = (Box<str>, Box<str>);

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
        let key = (Box::from(db), Box::from(name));
        let entry = self.entries.get(&key)?;
        let (stored, value) = entry.value();
        (stored.elapsed() < self.ttl).then(|| Arc::clone(value))
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
        self.entries.remove(&(Box::from(db), Box::from(name)));
    }
}
