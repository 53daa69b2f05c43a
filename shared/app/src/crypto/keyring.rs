//! The per-container cache of unwrapped customer data keys.
use super::{customer_context, DataKey, KeyError, KeyService, WrappedKeyStore};
use crate::domain::CustomerId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bounds of the data-key cache: an entry is dropped when older than `max_age`, after `max_uses`
/// uses, or (oldest first) when more than `capacity` keys are held.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    pub max_age: Duration,
    pub max_uses: u64,
    pub capacity: usize,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy { max_age: Duration::from_secs(300), max_uses: 10_000, capacity: 10_000 }
    }
}

struct Entry {
    key: DataKey,
    loaded: Instant,
    uses: u64,
}

/// Counters for benchmarks and logs.
#[derive(Debug, Default)]
pub struct KeyRingStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub generated: AtomicU64,
}

pub struct KeyRing {
    kms: Arc<dyn KeyService>,
    store: Arc<dyn WrappedKeyStore>,
    policy: CachePolicy,
    cache: Mutex<HashMap<CustomerId, Entry>>,
    pub stats: KeyRingStats,
}

impl KeyRing {
    pub fn new(kms: Arc<dyn KeyService>, store: Arc<dyn WrappedKeyStore>, policy: CachePolicy) -> Self {
        KeyRing { kms, store, policy, cache: Mutex::new(HashMap::new()), stats: KeyRingStats::default() }
    }

    fn cached(&self, id: &CustomerId) -> Option<DataKey> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = match cache.get_mut(id) {
            Some(e) if e.loaded.elapsed() <= self.policy.max_age && e.uses < self.policy.max_uses => {
                e.uses += 1;
                Some(e.key.clone())
            }
            Some(_) => None,
            None => return None,
        };
        if fresh.is_none() {
            cache.remove(id);
        }
        fresh
    }

    fn remember(&self, id: &CustomerId, key: &DataKey) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= self.policy.capacity && !cache.contains_key(id) {
            // drop expired entries first, then the oldest
            let max_age = self.policy.max_age;
            cache.retain(|_, e| e.loaded.elapsed() <= max_age);
            if cache.len() >= self.policy.capacity {
                if let Some(oldest) = cache.iter().min_by_key(|(_, e)| e.loaded).map(|(k, _)| k.clone()) {
                    cache.remove(&oldest);
                }
            }
        }
        cache.insert(id.clone(), Entry { key: key.clone(), loaded: Instant::now(), uses: 1 });
    }

    /// The data key of an existing customer: from the cache, or unwrapped through KMS.
    pub async fn key_for(&self, id: &CustomerId) -> Result<DataKey, KeyError> {
        if let Some(k) = self.cached(id) {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(k);
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let wrapped = self.store.get_wrapped(id.as_str()).await?.ok_or(KeyError::Missing)?;
        let plain = self.kms.decrypt_data_key(&wrapped, &customer_context(id.as_str())).await?;
        let key = DataKey::from_bytes(&plain);
        self.remember(id, &key);
        Ok(key)
    }

    /// A new data key for a new customer: the caller persists the wrapped form (in the same
    /// transaction as the profile) and then calls [`KeyRing::adopt`].
    pub async fn generate_for(&self, id: &CustomerId) -> Result<(DataKey, Vec<u8>), KeyError> {
        self.stats.generated.fetch_add(1, Ordering::Relaxed);
        let (plain, wrapped) = self.kms.generate_data_key(&customer_context(id.as_str())).await?;
        Ok((DataKey::from_bytes(&plain), wrapped))
    }

    /// Caches a key whose wrapped form has been stored.
    pub fn adopt(&self, id: &CustomerId, key: &DataKey) {
        self.remember(id, key);
    }

    /// Forgets a key (after erasure, or when its wrapped form could not be stored).
    pub fn forget(&self, id: &CustomerId) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Crypto-shredding: destroys the customer's wrapped data key and forgets the cached one. Every
    /// copy of what was sealed with it (table items, backups, stream records) is unreadable from
    /// then on. Other containers drop their cached copy within the cache's `max_age`.
    pub async fn shred(&self, id: &CustomerId) -> Result<bool, KeyError> {
        self.forget(id);
        self.store.delete_wrapped(id.as_str()).await
    }

    /// Drops every cached key (benchmarks measure a cold container with it).
    pub fn clear_cache(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn len(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::fake::{FakeKms, MemoryKeyStore};

    async fn ring(policy: CachePolicy) -> (KeyRing, Arc<FakeKms>, Vec<CustomerId>) {
        let kms = Arc::new(FakeKms::new());
        let store = Arc::new(MemoryKeyStore::default());
        let ring = KeyRing::new(kms.clone(), store.clone(), policy);
        let mut ids = Vec::new();
        for _ in 0..3 {
            let id = CustomerId::new();
            let (_, wrapped) = ring.generate_for(&id).await.unwrap();
            store.put_wrapped_if_absent(id.as_str(), &wrapped, "customer").await.unwrap();
            ids.push(id);
        }
        kms.reset_counts();
        (ring, kms, ids)
    }

    #[tokio::test]
    async fn warm_keys_cost_no_kms_call() {
        let (ring, kms, ids) = await_ring(CachePolicy::default()).await;
        ring.key_for(&ids[0]).await.unwrap();
        assert_eq!(kms.decrypts(), 1);
        for _ in 0..10 {
            ring.key_for(&ids[0]).await.unwrap();
        }
        assert_eq!(kms.decrypts(), 1);
    }

    async fn await_ring(p: CachePolicy) -> (KeyRing, Arc<FakeKms>, Vec<CustomerId>) {
        ring(p).await
    }

    #[tokio::test]
    async fn uses_age_and_capacity_are_bounded() {
        let (ring, kms, ids) =
            await_ring(CachePolicy { max_age: Duration::from_secs(300), max_uses: 3, capacity: 2 }).await;
        for _ in 0..4 {
            ring.key_for(&ids[0]).await.unwrap();
        }
        assert_eq!(kms.decrypts(), 2, "the fourth use reloads the key");
        ring.key_for(&ids[1]).await.unwrap();
        ring.key_for(&ids[2]).await.unwrap();
        assert_eq!(ring.len(), 2);

        let (ring, kms, ids) =
            await_ring(CachePolicy { max_age: Duration::from_millis(0), max_uses: 100, capacity: 10 }).await;
        ring.key_for(&ids[0]).await.unwrap();
        std::thread::sleep(Duration::from_millis(2));
        ring.key_for(&ids[0]).await.unwrap();
        assert_eq!(kms.decrypts(), 2, "an expired key is reloaded");
    }

    #[tokio::test]
    async fn a_key_opens_only_under_its_own_customer_context() {
        let (ring, _kms, ids) = await_ring(CachePolicy::default()).await;
        let k0 = ring.key_for(&ids[0]).await.unwrap();
        let sealed = k0.seal(ids[0].as_str(), "name", b"x");
        let k1 = ring.key_for(&ids[1]).await.unwrap();
        assert!(k1.open(ids[0].as_str(), "name", &sealed).is_err());
    }
}
