//! Envelope encryption of personal data.
//!
//! * Each customer has one 256-bit data key from KMS `GenerateDataKey`, with the customer id as
//!   encryption context; only its KMS-wrapped form is stored (keys table). Deleting it shreds every
//!   copy of the customer's data, wherever it lives.
//! * Fields are sealed with AES-256-GCM; the associated data binds the customer id and the field
//!   name, so a ciphertext moved to another customer or field fails to open.
//! * Lookups use keyed HMAC-SHA-256 blind indexes of normalised identifiers; the HMAC key is itself
//!   wrapped by KMS and unwrapped once per cold start.
//! * Unwrapped data keys are cached per container, bounded in age, uses and entries.
pub mod blind;
pub mod cipher;
#[cfg(any(test, feature = "testkit"))]
pub mod fake;
pub mod keyring;

pub use blind::BlindIndexer;
pub use cipher::{DataKey, SealError};
pub use keyring::{CachePolicy, KeyRing};

use async_trait::async_trait;

/// Errors of the key service (KMS or its fake).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key service unavailable: {0}")]
    Unavailable(String),
    #[error("key service refused the request: {0}")]
    Refused(String),
    #[error("no data key exists for this customer")]
    Missing,
}

/// Encryption context passed to KMS; it is authenticated, so a wrapped key only opens with the
/// context it was made with.
pub type Context = Vec<(String, String)>;

pub fn customer_context(customer_id: &str) -> Context {
    vec![("customer_id".into(), customer_id.into())]
}

pub fn purpose_context(purpose: &str) -> Context {
    vec![("purpose".into(), purpose.into())]
}

/// The port to the key-management service.
#[async_trait]
pub trait KeyService: Send + Sync {
    /// A fresh 256-bit key: (plaintext, wrapped).
    async fn generate_data_key(&self, context: &Context) -> Result<([u8; 32], Vec<u8>), KeyError>;
    /// Unwraps a key made by `generate_data_key` with the same context.
    async fn decrypt_data_key(&self, wrapped: &[u8], context: &Context) -> Result<[u8; 32], KeyError>;
}

/// The port to the store of wrapped keys (the keys table).
#[async_trait]
pub trait WrappedKeyStore: Send + Sync {
    async fn get_wrapped(&self, key_id: &str) -> Result<Option<Vec<u8>>, KeyError>;
    /// Stores the wrapped key unless one exists; returns false if one did.
    async fn put_wrapped_if_absent(&self, key_id: &str, wrapped: &[u8], purpose: &str) -> Result<bool, KeyError>;
    /// Destroys a wrapped key (crypto-shredding); `false` when there was none.
    async fn delete_wrapped(&self, key_id: &str) -> Result<bool, KeyError>;
}
