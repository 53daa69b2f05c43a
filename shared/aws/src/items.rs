//! Item layouts that both an adapter and a consumer of the table's stream read (the stream carries
//! items as stored). Plain serde: no SDK, so a stream consumer links none.
use cmp_app::audit::{AuditEntry, AuditRecord};
use serde::{Deserialize, Serialize};

/// An audit record as stored (also what the table's stream carries as `NewImage`).
#[derive(Serialize, Deserialize)]
pub struct RecordItem {
    pub pk: String,
    pub sk: String,
    pub seq: u64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
    pub expires_at: i64,
}

impl RecordItem {
    pub fn into_record(self) -> AuditRecord {
        AuditRecord { chain: self.pk, seq: self.seq, entry: self.entry, prev_hash: self.prev_hash, hash: self.hash }
    }
}

pub fn record_sk(seq: u64) -> String {
    format!("R#{seq:012}")
}
