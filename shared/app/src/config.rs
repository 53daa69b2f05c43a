//! Configuration from environment variables (documented in README.md, "Environment variables").
use crate::crypto::CachePolicy;
use crate::error::CmpError;
use crate::retention::{self, DataClass};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// `CMP_ENV`: deployment environment name (dev, prod, local).
    pub env_name: String,
    /// `PROFILES_TABLE`: the single-table profile store.
    pub profiles_table: String,
    /// `KEYS_TABLE`: wrapped per-customer data keys.
    pub keys_table: String,
    /// `KMS_KEY_ID`: the customer-managed key that wraps data keys.
    pub kms_key_id: String,
    /// `INBOUND_STREAM`: the Kinesis stream ingest writes to (ingest only).
    pub inbound_stream: Option<String>,
    /// `DATA_KEY_CACHE_TTL_SECONDS`, `DATA_KEY_CACHE_MAX_USES`, `DATA_KEY_CACHE_CAPACITY`.
    pub key_cache: CachePolicy,
    /// `MAX_BATCH_EVENTS`: events per `POST /v1/events` (default 500).
    pub max_batch_events: usize,
    /// `MAX_EVENT_BYTES`: serialised size of one event (default 131072).
    pub max_event_bytes: usize,
    /// `MAX_REQUEST_BYTES`: size of one request body (default 6000000).
    pub max_request_bytes: usize,
    /// `DEAD_LETTER_TTL_DAYS`: how long parked events are kept (default 14).
    pub dead_letter_ttl_days: i64,
    /// `AUDIT_TABLE`: the append-only audit trail.
    pub audit_table: Option<String>,
    /// `AUDIT_BUCKET`: the Object Lock bucket the audit trail is exported to (audit export only).
    pub audit_bucket: Option<String>,
    /// `AUDIT_RETENTION_DAYS`: how long audit records are kept (default 2557, about 7 years).
    pub audit_retention_days: i64,
    /// `PRIVACY_BUCKET`: where access exports are written (API only).
    pub privacy_bucket: Option<String>,
    /// `OUTBOUND_STREAM`: the Kinesis stream change events and notification requests are
    /// published to (publish, compensate, api).
    pub outbound_stream: Option<String>,
    /// `EXPORTS_BUCKET`: where partner exports are written (api, export).
    pub exports_bucket: Option<String>,
    /// `ANALYTICS_BUCKET`: where the analyst snapshot is written (api, export).
    pub analytics_bucket: Option<String>,
    /// `CASES_TABLE`: the compensation cases (compensate, escalate, api).
    pub cases_table: Option<String>,
    /// `EXPORT_K`: k of the partner exports' k-anonymity check (default 10).
    pub export_k: usize,
    /// `IMPORTS_BUCKET`: where bulk files are dropped (import_plan, import_load).
    pub imports_bucket: Option<String>,
    /// `IMPORT_CHUNKS_QUEUE`: the URL of the queue of import chunks (import_plan).
    pub import_chunks_queue: Option<String>,
    /// `IMPORT_ROWS_PER_CHUNK`: rows per import chunk (default 20,000).
    pub import_rows_per_chunk: u64,
}

impl Config {
    pub fn from_env() -> Result<Self, CmpError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `get`, so that several functions with different
    /// environments can run in one process (the local stack).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, CmpError> {
        fn num<T: std::str::FromStr>(get: &dyn Fn(&str) -> Option<String>, k: &str, d: T) -> Result<T, CmpError> {
            match get(k).filter(|v| !v.is_empty()) {
                None => Ok(d),
                Some(v) => v.parse().map_err(|_| CmpError::Config(format!("{k} must be a number"))),
            }
        }
        let g: &dyn Fn(&str) -> Option<String> = &get;
        Ok(Config {
            env_name: get("CMP_ENV").unwrap_or_else(|| "dev".into()),
            profiles_table: get("PROFILES_TABLE").unwrap_or_default(),
            keys_table: get("KEYS_TABLE").unwrap_or_default(),
            kms_key_id: get("KMS_KEY_ID").unwrap_or_default(),
            inbound_stream: get("INBOUND_STREAM").filter(|v| !v.is_empty()),
            key_cache: CachePolicy {
                max_age: Duration::from_secs(num(g, "DATA_KEY_CACHE_TTL_SECONDS", 300u64)?),
                max_uses: num(g, "DATA_KEY_CACHE_MAX_USES", 10_000u64)?,
                capacity: num(g, "DATA_KEY_CACHE_CAPACITY", 10_000usize)?,
            },
            max_batch_events: num(g, "MAX_BATCH_EVENTS", 500usize)?,
            max_event_bytes: num(g, "MAX_EVENT_BYTES", 131_072usize)?,
            max_request_bytes: num(g, "MAX_REQUEST_BYTES", 6_000_000usize)?,
            dead_letter_ttl_days: num(g, "DEAD_LETTER_TTL_DAYS", retention::days(DataClass::DeadLetter).unwrap_or(14))?,
            audit_table: get("AUDIT_TABLE").filter(|v| !v.is_empty()),
            audit_bucket: get("AUDIT_BUCKET").filter(|v| !v.is_empty()),
            audit_retention_days: num(g, "AUDIT_RETENTION_DAYS", retention::days(DataClass::Audit).unwrap_or(2557))?,
            privacy_bucket: get("PRIVACY_BUCKET").filter(|v| !v.is_empty()),
            outbound_stream: get("OUTBOUND_STREAM").filter(|v| !v.is_empty()),
            exports_bucket: get("EXPORTS_BUCKET").filter(|v| !v.is_empty()),
            analytics_bucket: get("ANALYTICS_BUCKET").filter(|v| !v.is_empty()),
            cases_table: get("CASES_TABLE").filter(|v| !v.is_empty()),
            imports_bucket: get("IMPORTS_BUCKET").filter(|v| !v.is_empty()),
            import_chunks_queue: get("IMPORT_CHUNKS_QUEUE").filter(|v| !v.is_empty()),
            import_rows_per_chunk: match num(g, "IMPORT_ROWS_PER_CHUNK", crate::import::ROWS_PER_CHUNK)? {
                n @ 1..=1_000_000 => n,
                _ => return Err(CmpError::Config("IMPORT_ROWS_PER_CHUNK must be 1 to 1000000".into())),
            },
            export_k: match num(g, "EXPORT_K", crate::export::DEFAULT_K)? {
                k @ 1..=1000 => k,
                _ => return Err(CmpError::Config("EXPORT_K must be 1 to 1000".into())),
            },
        })
    }

    pub fn require_audit_table(&self) -> Result<&str, CmpError> {
        self.audit_table.as_deref().ok_or_else(|| CmpError::Config("AUDIT_TABLE is not set".into()))
    }

    pub fn require_inbound_stream(&self) -> Result<&str, CmpError> {
        self.inbound_stream.as_deref().ok_or_else(|| CmpError::Config("INBOUND_STREAM is not set".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reads_required_and_defaults() {
        let env: HashMap<&str, &str> =
            [("PROFILES_TABLE", "p"), ("KEYS_TABLE", "k"), ("KMS_KEY_ID", "arn:kms"), ("MAX_BATCH_EVENTS", "50")]
                .into();
        let c = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.max_batch_events, 50);
        assert_eq!(c.max_event_bytes, 131_072);
        assert!(c.require_inbound_stream().is_err());
        let nan: HashMap<&str, &str> =
            [("PROFILES_TABLE", "p"), ("KEYS_TABLE", "k"), ("KMS_KEY_ID", "x"), ("MAX_EVENT_BYTES", "lots")].into();
        assert!(Config::from_lookup(|k| nan.get(k).map(|v| v.to_string())).is_err());
    }
}
