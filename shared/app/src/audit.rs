//! The audit trail: who did what to which customer's data, when, why, with what outcome.
//!
//! Records are append-only and tamper-evident: they form one hash chain per customer (or per day
//! for actions that concern no single customer). Each record carries the SHA-256 of its predecessor
//! and its own hash over its canonical content; a chain head item holds the latest sequence number
//! and hash, and a record is appended in one transaction with the head (conditional on the head
//! being unchanged), so two writers can never fork a chain. Records hold ids, codes and field
//! names only: never personal data.
use crate::authz::{Action, Principal};
use crate::domain::CustomerId;
use crate::error::CmpError;
use crate::store::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
#[cfg(any(test, feature = "testkit"))]
use std::sync::Mutex;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Which chain a record belongs to.
pub fn chain_of(customer: Option<&CustomerId>, at: DateTime<Utc>) -> String {
    match customer {
        Some(c) => format!("CUST#{c}"),
        None => format!("DAY#{}", at.format("%Y-%m-%d")),
    }
}

/// What happened, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `sub` of the caller, or the event source for changes made by events.
    pub actor: String,
    pub role: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Names of the personal fields read or changed.
    pub fields: Vec<String>,
    pub purpose: String,
    pub request_id: String,
    /// `allowed`, `denied:<code>`, `not_found`, `changed`, `error`.
    pub outcome: String,
}

impl AuditEntry {
    pub fn for_request(
        principal: &Principal,
        action: Action,
        customer: Option<&CustomerId>,
        purpose: &str,
        request_id: &str,
    ) -> Self {
        AuditEntry {
            at: Utc::now(),
            actor: principal.subject.clone(),
            role: principal.role.as_str().into(),
            action: action.as_str().into(),
            customer_id: customer.map(|c| c.to_string()),
            fields: vec![],
            purpose: purpose.into(),
            request_id: request_id.into(),
            outcome: "allowed".into(),
        }
    }
}

/// A chained record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub chain: String,
    pub seq: u64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    pub fn compute_hash(chain: &str, seq: u64, entry: &AuditEntry, prev_hash: &str) -> String {
        let canonical = serde_json::to_vec(&(chain, seq, entry, prev_hash)).unwrap_or_default();
        crate::domain::ids::hex(&Sha256::digest(&canonical))
    }

    pub fn new(chain: String, seq: u64, entry: AuditEntry, prev_hash: String) -> Self {
        let hash = Self::compute_hash(&chain, seq, &entry, &prev_hash);
        AuditRecord { chain, seq, entry, prev_hash, hash }
    }
}

/// The latest record of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

impl ChainHead {
    pub fn next(&self, chain: String, entry: AuditEntry) -> AuditRecord {
        let prev = if self.seq == 0 { GENESIS.to_owned() } else { self.hash.clone() };
        AuditRecord::new(chain, self.seq + 1, entry, prev)
    }
}

/// Result of verifying a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub valid: bool,
    pub records: u64,
    /// The first sequence number that does not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<u64>,
}

/// Verifies a chain, in sequence order, against its head. Records older than the audit retention
/// expire, so a chain may start after 1: its first record's `prev_hash` is then taken as given.
pub fn verify(records: &[AuditRecord], head: &ChainHead) -> Verification {
    let n = records.len() as u64;
    let Some(first) = records.first() else {
        return Verification { valid: head.seq == 0, records: 0, broken_at: (head.seq != 0).then_some(1) };
    };
    if first.seq == 1 && first.prev_hash != GENESIS {
        return Verification { valid: false, records: n, broken_at: Some(1) };
    }
    let mut prev = first.prev_hash.clone();
    for (i, r) in records.iter().enumerate() {
        let expected_seq = first.seq + i as u64;
        if r.seq != expected_seq
            || r.prev_hash != prev
            || AuditRecord::compute_hash(&r.chain, r.seq, &r.entry, &r.prev_hash) != r.hash
        {
            return Verification { valid: false, records: n, broken_at: Some(expected_seq) };
        }
        prev = r.hash.clone();
    }
    let last = first.seq + n - 1;
    if head.seq != last || head.hash != prev {
        return Verification { valid: false, records: n, broken_at: Some(last.min(head.seq) + 1) };
    }
    Verification { valid: true, records: n, broken_at: None }
}

/// The audit store port.
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn head(&self, chain: &str) -> Result<ChainHead, CmpError>;
    /// Appends `record` if the chain's head is still at `record.seq - 1`; `StoreError::Conflict`
    /// otherwise.
    async fn append(&self, record: &AuditRecord) -> Result<(), CmpError>;
    /// The whole chain in sequence order, and its head.
    async fn chain(&self, chain: &str) -> Result<(Vec<AuditRecord>, ChainHead), CmpError>;
}

/// Appends an entry to its chain, retrying when another writer appended first.
pub async fn record(log: &dyn AuditLog, entry: AuditEntry) -> Result<AuditRecord, CmpError> {
    let chain = chain_of(entry.customer_id.as_ref().and_then(|c| c.parse().ok()).as_ref(), entry.at);
    for attempt in 0..crate::retry::Backoff::CONFLICT.attempts {
        if attempt > 0 {
            crate::retry::Backoff::CONFLICT.pause(attempt - 1).await;
        }
        let head = log.head(&chain).await?;
        let rec = head.next(chain.clone(), entry.clone());
        match log.append(&rec).await {
            Ok(()) => return Ok(rec),
            Err(CmpError::Store(StoreError::Conflict)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict.into())
}

/// In-memory audit log for unit tests.
#[cfg(any(test, feature = "testkit"))]
#[derive(Default)]
pub struct MemoryAuditLog {
    pub records: Mutex<Vec<AuditRecord>>,
}

#[cfg(any(test, feature = "testkit"))]
#[async_trait]
impl AuditLog for MemoryAuditLog {
    async fn head(&self, chain: &str) -> Result<ChainHead, CmpError> {
        let r = self.records.lock().unwrap();
        Ok(r.iter()
            .filter(|x| x.chain == chain)
            .max_by_key(|x| x.seq)
            .map(|x| ChainHead { seq: x.seq, hash: x.hash.clone() })
            .unwrap_or_default())
    }
    async fn append(&self, record: &AuditRecord) -> Result<(), CmpError> {
        let mut r = self.records.lock().unwrap();
        let last = r.iter().filter(|x| x.chain == record.chain).map(|x| x.seq).max().unwrap_or(0);
        if last + 1 != record.seq {
            return Err(StoreError::Conflict.into());
        }
        r.push(record.clone());
        Ok(())
    }
    async fn chain(&self, chain: &str) -> Result<(Vec<AuditRecord>, ChainHead), CmpError> {
        let mut v: Vec<AuditRecord> =
            self.records.lock().unwrap().iter().filter(|x| x.chain == chain).cloned().collect();
        v.sort_by_key(|x| x.seq);
        let head = v.last().map(|x| ChainHead { seq: x.seq, hash: x.hash.clone() }).unwrap_or_default();
        Ok((v, head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::Role;
    use std::sync::Arc;

    fn entry(customer: &CustomerId, action: &str) -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            actor: "agent-7".into(),
            role: Role::CallCentreAgent.as_str().into(),
            action: action.into(),
            customer_id: Some(customer.to_string()),
            fields: vec!["name".into()],
            purpose: "customer_service".into(),
            request_id: "r1".into(),
            outcome: "allowed".into(),
        }
    }

    #[tokio::test]
    async fn chains_verify_and_tampering_shows() {
        let log = MemoryAuditLog::default();
        let c = CustomerId::new();
        for i in 0..5 {
            record(&log, entry(&c, &format!("read_profile_{i}"))).await.unwrap();
        }
        let (records, head) = log.chain(&chain_of(Some(&c), Utc::now())).await.unwrap();
        assert_eq!(verify(&records, &head), Verification { valid: true, records: 5, broken_at: None });

        let mut forged = records.clone();
        forged[2].entry.outcome = "denied:forbidden".into();
        assert_eq!(verify(&forged, &head).broken_at, Some(3));
        let mut dropped = records.clone();
        dropped.remove(1);
        assert!(!verify(&dropped, &head).valid);
        // expiry of the oldest records by retention is not tampering
        assert!(verify(&records[2..], &head).valid);
        let mut dropped = records.clone();
        dropped.remove(0);
        dropped[0].prev_hash = GENESIS.into();
        assert!(!verify(&dropped, &head).valid);
        let truncated = records[..4].to_vec();
        assert!(!verify(&truncated, &head).valid, "a deleted tail is caught by the head");
    }

    #[tokio::test]
    async fn concurrent_writers_never_fork_a_chain() {
        let log = Arc::new(MemoryAuditLog::default());
        let c = CustomerId::new();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let log = log.clone();
            let c = c.clone();
            tasks.push(tokio::spawn(async move { record(log.as_ref(), entry(&c, &format!("a{i}"))).await.unwrap() }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (records, head) = log.chain(&chain_of(Some(&c), Utc::now())).await.unwrap();
        assert_eq!(records.len(), 8);
        assert!(verify(&records, &head).valid);
    }
}
