//! What every stream consumer does before its own work: decode the record (JSON, PCI scrub, schema,
//! envelope), and park what cannot be processed with its reason (never dropped silently).
use crate::crypto::{purpose_context, DataKey, KeyService};
use crate::domain::event::{FieldError, RawEnvelope};
use crate::error::CmpError;
use crate::schema::EventValidator;
use crate::store::{ParkedEvent, ProfileStore};
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The dead-letter store: parked records, sealed under a dead-letter data key (wrapped by KMS and
/// stored with each record), their reasons in clear (reasons never quote values).
pub struct DeadLetters {
    store: Arc<dyn ProfileStore>,
    kms: Arc<dyn KeyService>,
    ttl_days: i64,
    key: OnceCell<(DataKey, Vec<u8>)>,
}

impl DeadLetters {
    pub fn new(store: Arc<dyn ProfileStore>, kms: Arc<dyn KeyService>, ttl_days: i64) -> Self {
        DeadLetters { store, kms, ttl_days, key: OnceCell::new() }
    }

    /// The dead-letter data key, once generated (tests open parked payloads with it).
    pub fn key(&self) -> Option<&DataKey> {
        self.key.get().map(|(k, _)| k)
    }

    /// Parks a record; answers its reason code.
    pub async fn park(
        &self,
        data: &[u8],
        origin: &str,
        reason_code: &str,
        reasons: Vec<FieldError>,
    ) -> Result<String, CmpError> {
        let (key, wrapped) = self
            .key
            .get_or_try_init(|| async {
                let (plain, wrapped) = self.kms.generate_data_key(&purpose_context("dead-letter")).await?;
                Ok::<_, CmpError>((DataKey::from_bytes(&plain), wrapped))
            })
            .await?;
        let reference = crate::domain::ids::hex(&Sha256::digest(data)[..16]);
        let now = Utc::now();
        let parked = ParkedEvent {
            parked_at: now,
            payload: key.seal("dead-letter", &reference, data),
            reference,
            reason_code: reason_code.to_owned(),
            reasons,
            origin: origin.to_owned(),
            wrapped_key: wrapped.clone(),
            expires_at: (now + chrono::Duration::days(self.ttl_days)).timestamp(),
        };
        self.store.park(&parked).await?;
        tracing::warn!(reason_code, reference = %parked.reference, origin, "event parked");
        Ok(reason_code.to_owned())
    }
}

/// A stream record, decoded.
pub enum Decoded {
    /// A valid envelope (its free text scrubbed of card numbers) and the bytes to park if its
    /// content turns out to be unusable.
    Envelope { raw: RawEnvelope, data: Vec<u8> },
    /// Not an event this platform accepts: park `data` (already scrubbed) with the reasons.
    Rejected { data: Vec<u8>, reason_code: &'static str, reasons: Vec<FieldError> },
}

/// Decodes one stream record. PCI-DSS: whatever put the record on the stream, no card number goes
/// further, not even sealed in the dead-letter store. Parsed events are scrubbed field by field (free
/// text only, so identifiers that happen to pass a Luhn check stay intact); a record that does not
/// parse is scrubbed as a whole.
pub fn decode(data: &[u8], validator: &EventValidator) -> Decoded {
    let mut value: serde_json::Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(_) => {
            let (scrubbed, _) = crate::pci::redact(&String::from_utf8_lossy(data));
            return Decoded::Rejected {
                data: scrubbed.into_bytes(),
                reason_code: "invalid_json",
                reasons: vec![FieldError::new("invalid_json", "", "record is not JSON")],
            };
        }
    };
    let data = if crate::pci::scrub_event(&mut value) > 0 {
        serde_json::to_vec(&value).unwrap_or_default()
    } else {
        data.to_vec()
    };
    let errors = validator.validate(&value);
    if !errors.is_empty() {
        return Decoded::Rejected { data, reason_code: "schema_violation", reasons: errors };
    }
    match serde_json::from_value(value) {
        Ok(raw) => Decoded::Envelope { raw, data },
        Err(e) => Decoded::Rejected {
            data,
            reason_code: "schema_violation",
            reasons: vec![FieldError::new("schema_violation", "", e.to_string())],
        },
    }
}
