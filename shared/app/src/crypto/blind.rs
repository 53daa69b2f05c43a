//! Keyed blind indexes: HMAC-SHA-256 over a normalised identifier, so that the table can be searched
//! by e-mail, phone or loyalty number without holding them.
use super::{purpose_context, KeyError, KeyService, WrappedKeyStore};
use crate::domain::event::Identifier;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// Where the wrapped HMAC key lives in the keys table.
pub const BLIND_INDEX_KEY_ID: &str = "__system#blind-index#v1";
pub const BLIND_INDEX_PURPOSE: &str = "blind-index";

#[derive(Clone)]
pub struct BlindIndexer {
    mac: HmacSha256,
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexer(<secret>)")
    }
}

impl BlindIndexer {
    pub fn from_key(key: &[u8; 32]) -> Self {
        BlindIndexer { mac: HmacSha256::new_from_slice(key).expect("HMAC takes any key length") }
    }

    /// Loads the HMAC key: unwraps the stored one, or creates and stores it on first use (a race
    /// between two cold starts is settled by a conditional write; the loser reads the winner's key).
    pub async fn load(kms: &dyn KeyService, store: &dyn WrappedKeyStore) -> Result<Self, KeyError> {
        let ctx = purpose_context(BLIND_INDEX_PURPOSE);
        let wrapped = match store.get_wrapped(BLIND_INDEX_KEY_ID).await? {
            Some(w) => w,
            None => {
                let (_, wrapped) = kms.generate_data_key(&ctx).await?;
                if store.put_wrapped_if_absent(BLIND_INDEX_KEY_ID, &wrapped, BLIND_INDEX_PURPOSE).await? {
                    wrapped
                } else {
                    store.get_wrapped(BLIND_INDEX_KEY_ID).await?.ok_or(KeyError::Missing)?
                }
            }
        };
        let key = kms.decrypt_data_key(&wrapped, &ctx).await?;
        Ok(BlindIndexer::from_key(&key))
    }

    fn digest(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut m = self.mac.clone();
        m.update(domain.as_bytes());
        m.update(&[0]);
        m.update(value.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// The key of the lookup item of an identifier, e.g. `IDX#email#3q2+...`.
    pub fn lookup_key(&self, id: &Identifier) -> String {
        let d = self.digest(id.kind(), id.value());
        format!("IDX#{}#{}", id.kind(), URL_SAFE_NO_PAD.encode(d))
    }

    /// The key of a blocking item of identity resolution, e.g. `BLK#3q2+...` for the engine's
    /// blocking key `ny:S530:1975`: profiles sharing it are candidates for each other.
    pub fn block_key(&self, key: &str) -> String {
        format!("BLK#{}", URL_SAFE_NO_PAD.encode(self.digest("block", key)))
    }

    /// The opaque key of one passenger of one booking (record locator and passenger id): the
    /// flight index and the compensation cases refer to passengers by it. 32 hex digits.
    pub fn passenger_key(&self, record_locator: &str, passenger_id: &str) -> String {
        let d = self.digest("booking_passenger", &format!("{record_locator}|{passenger_id}"));
        crate::domain::ids::hex(&d[..16])
    }

    /// A Kinesis partition key for events about one source account: stable, opaque, 32 hex digits.
    pub fn partition_key(&self, source: &str, subject: &str) -> String {
        let d = self.digest("partition", &format!("{source}\0{subject}"));
        crate::domain::ids::hex(&d[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::fake::{FakeKms, MemoryKeyStore};

    #[tokio::test]
    async fn the_key_is_created_once_and_shared() {
        let kms = FakeKms::new();
        let store = MemoryKeyStore::default();
        let a = BlindIndexer::load(&kms, &store).await.unwrap();
        let b = BlindIndexer::load(&kms, &store).await.unwrap();
        let id = Identifier::Email("anna@example.com".into());
        assert_eq!(a.lookup_key(&id), b.lookup_key(&id));
        assert!(!a.lookup_key(&id).contains("anna"));
        assert_ne!(a.lookup_key(&id), a.lookup_key(&Identifier::Phone("anna@example.com".into())));
        // another deployment (another key) gives unrelated indexes
        let other = BlindIndexer::load(&FakeKms::new(), &MemoryKeyStore::default()).await.unwrap();
        assert_ne!(a.lookup_key(&id), other.lookup_key(&id));
        assert_eq!(a.partition_key("/channels/web", "u1").len(), 32);
        assert_eq!(a.partition_key("/channels/web", "u1"), b.partition_key("/channels/web", "u1"));
    }
}
