//! In-memory stand-ins for KMS and the keys table, for unit tests. Like KMS, the fake wraps keys
//! with authenticated encryption bound to the encryption context.
use super::{Context, DataKey, KeyError, KeyService, WrappedKeyStore};
use async_trait::async_trait;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub struct FakeKms {
    master: DataKey,
    generated: AtomicU64,
    decrypted: AtomicU64,
}

impl Default for FakeKms {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeKms {
    pub fn new() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        FakeKms { master: DataKey::from_bytes(&k), generated: AtomicU64::new(0), decrypted: AtomicU64::new(0) }
    }
    pub fn generates(&self) -> u64 {
        self.generated.load(Ordering::Relaxed)
    }
    pub fn decrypts(&self) -> u64 {
        self.decrypted.load(Ordering::Relaxed)
    }
    pub fn reset_counts(&self) {
        self.generated.store(0, Ordering::Relaxed);
        self.decrypted.store(0, Ordering::Relaxed);
    }
}

fn ctx_string(c: &Context) -> String {
    let mut c = c.clone();
    c.sort();
    c.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

#[async_trait]
impl KeyService for FakeKms {
    async fn generate_data_key(&self, context: &Context) -> Result<([u8; 32], Vec<u8>), KeyError> {
        self.generated.fetch_add(1, Ordering::Relaxed);
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Ok((k, self.master.seal("kms", &ctx_string(context), &k)))
    }
    async fn decrypt_data_key(&self, wrapped: &[u8], context: &Context) -> Result<[u8; 32], KeyError> {
        self.decrypted.fetch_add(1, Ordering::Relaxed);
        let plain = self
            .master
            .open("kms", &ctx_string(context), wrapped)
            .map_err(|_| KeyError::Refused("InvalidCiphertextException".into()))?;
        plain.try_into().map_err(|_| KeyError::Refused("bad key length".into()))
    }
}

#[derive(Default)]
pub struct MemoryKeyStore {
    keys: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryKeyStore {
    pub fn delete(&self, key_id: &str) {
        self.keys.lock().unwrap().remove(key_id);
    }
    pub fn len(&self) -> usize {
        self.keys.lock().unwrap().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl WrappedKeyStore for MemoryKeyStore {
    async fn get_wrapped(&self, key_id: &str) -> Result<Option<Vec<u8>>, KeyError> {
        Ok(self.keys.lock().unwrap().get(key_id).cloned())
    }
    async fn put_wrapped_if_absent(&self, key_id: &str, wrapped: &[u8], _purpose: &str) -> Result<bool, KeyError> {
        let mut keys = self.keys.lock().unwrap();
        if keys.contains_key(key_id) {
            return Ok(false);
        }
        keys.insert(key_id.to_owned(), wrapped.to_vec());
        Ok(true)
    }
    async fn delete_wrapped(&self, key_id: &str) -> Result<bool, KeyError> {
        Ok(self.keys.lock().unwrap().remove(key_id).is_some())
    }
}
