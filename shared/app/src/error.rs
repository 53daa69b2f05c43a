//! Library errors. The edges map them: to HTTP status codes with stable codes in [`crate::http`], to
//! Lambda diagnostics (and partial batch failures) in the stream handlers.
use crate::crypto::{KeyError, SealError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CmpError {
    #[error("configuration error: {0}")]
    Config(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored data failed to decrypt: {0}")]
    Seal(#[from] SealError),
    #[error("stream write failed: {0}")]
    Stream(String),
    #[error("stored data is inconsistent: {0}")]
    Integrity(String),
    #[error("export storage failed: {0}")]
    Export(String),
    /// The customer was erased: nothing about them can be read or changed.
    #[error("the customer was erased")]
    Erased,
}

impl CmpError {
    /// Stable machine-readable code for logs and diagnostics.
    pub fn code(&self) -> &'static str {
        match self {
            CmpError::Config(_) => "config_error",
            CmpError::Key(KeyError::Unavailable(_)) => "kms_unavailable",
            CmpError::Key(KeyError::Refused(_)) => "kms_refused",
            CmpError::Key(KeyError::Missing) => "data_key_missing",
            CmpError::Store(StoreError::Unavailable(_)) => "store_unavailable",
            CmpError::Store(StoreError::Conflict) => "store_conflict",
            CmpError::Store(StoreError::Corrupt(_)) => "store_corrupt",
            CmpError::Seal(_) => "decryption_failed",
            CmpError::Stream(_) => "stream_unavailable",
            CmpError::Integrity(_) => "integrity_error",
            CmpError::Export(_) => "export_unavailable",
            CmpError::Erased => "profile_erased",
        }
    }

    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CmpError::Key(KeyError::Unavailable(_))
                | CmpError::Store(StoreError::Unavailable(_))
                | CmpError::Store(StoreError::Conflict)
                | CmpError::Stream(_)
                | CmpError::Export(_)
        )
    }
}

pub type Result<T, E = CmpError> = std::result::Result<T, E>;
