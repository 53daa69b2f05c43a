//! The profile store port: what the use cases need from persistence, in domain terms. The DynamoDB
//! adapter implements it with a single table (see `docs/data-model.md`); the in-memory fake
//! implements the same semantics (conditional writes, all-or-nothing commits) for unit tests.
#[cfg(any(test, feature = "testkit"))]
pub mod memory;

/// The sort key of a customer's golden profile item (its partition is `CUST#<id>`).
pub const PROFILE_SK: &str = "PROFILE";

use crate::domain::event::{Channel, TimelineKind};
use crate::domain::profile::Lineage;
use crate::domain::CustomerId;
use crate::error::CmpError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A condition failed: someone else changed the profile or claimed an identifier first.
    #[error("concurrent change; re-read and retry")]
    Conflict,
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileStatus {
    Active,
    Merged,
    /// Erased at the customer's request: a tombstone without personal data.
    Erased,
}

/// A profile as persisted: personal fields only as ciphertext, everything else free of personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRecord {
    pub id: CustomerId,
    pub version: u64,
    pub status: ProfileStatus,
    pub merged_into: Option<CustomerId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Loyalty tier, kept in clear for segmentation and routing.
    pub tier: Option<String>,
    /// Bookings recorded for the customer (one per booking passenger unit), in clear.
    pub bookings: u32,
    /// Segments ([`crate::segments`]), in clear.
    pub segments: Vec<String>,
    /// Field name → AES-GCM ciphertext.
    pub sealed: BTreeMap<String, Vec<u8>>,
    pub lineage: BTreeMap<String, Lineage>,
    /// Source → first time it told us about this customer.
    pub sources: BTreeMap<String, DateTime<Utc>>,
    /// When the customer was erased (tombstones only).
    pub erased_at: Option<DateTime<Utc>>,
    /// Profiles merged into this one (flattened: the members of members too); their items live
    /// here now, each tagged with its origin.
    pub members: Vec<CustomerId>,
    /// What identity resolution compares new records with ([`crate::resolve::engine::ClusterSummary`]),
    /// sealed with the customer's key (field `match`).
    pub match_summary: Option<Vec<u8>>,
}

/// A timeline entry as persisted.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRecord {
    /// Sort key: `TL#<occurred_at>#<event marker>`; orders entries chronologically.
    pub sk: String,
    pub kind: TimelineKind,
    pub occurred_at: DateTime<Utc>,
    pub source: String,
    pub channel: Channel,
    pub event_id: String,
    /// Sealed detail.
    pub payload: Vec<u8>,
    /// When the entry is deleted by the table's TTL (epoch seconds), from its retention class.
    pub expires_at: Option<i64>,
    /// What the unit said of the person ([`crate::identity::Sighting`]), sealed; profiles are
    /// rebuilt from these when a merge is undone.
    pub sighting: Option<Vec<u8>>,
    /// Lookup keys of the unit's identifiers, strongest first (blind indexes, no personal data).
    pub lookups: Vec<String>,
    /// The customer the entry was first recorded for, when it was moved here by a merge.
    pub origin: Option<CustomerId>,
    /// The customer the unit's identifiers led to, when a merge redirected it here.
    pub resolved_via: Option<CustomerId>,
    /// When the platform recorded the entry.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl TimelineRecord {
    pub fn sort_key(occurred_at: DateTime<Utc>, marker: &str) -> String {
        format!("TL#{}#{}", occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), marker)
    }
    /// Whether `sk` has the shape of a timeline sort key (used to vet pagination cursors).
    pub fn is_sort_key(sk: &str) -> bool {
        let Some(rest) = sk.strip_prefix("TL#") else {
            return false;
        };
        let Some((time, marker)) = rest.split_once('#') else {
            return false;
        };
        DateTime::parse_from_rfc3339(time).is_ok()
            && !marker.is_empty()
            && marker.len() <= 80
            && marker.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#' || b == b'-' || b == b'_')
    }
}

/// Everything one unit of an event changes, written all-or-nothing.
#[derive(Debug, Clone)]
pub struct Commit {
    /// Idempotency marker of the unit; the commit fails if it exists.
    pub marker: String,
    pub marker_expires_at: i64,
    /// The profile after the change.
    pub profile: ProfileRecord,
    /// `None`: the profile is new (must not exist). `Some(v)`: it must still be at version `v`.
    pub expected_version: Option<u64>,
    /// Whether the profile item itself changed (otherwise it is only checked, not rewritten).
    pub profile_changed: bool,
    /// For a new customer: the KMS-wrapped data key, stored in the keys table in the same commit.
    pub new_wrapped_key: Option<Vec<u8>>,
    /// Lookup keys to claim for this customer; each must be unclaimed.
    pub claim_lookups: Vec<String>,
    pub timeline: Option<TimelineRecord>,
    /// The audit record of the change, appended to the customer's chain in the same transaction.
    pub audit: Option<crate::audit::AuditRecord>,
    /// For a booking passenger: one flight-index item per flight of the itinerary, and the
    /// passenger's current booking (compensation cases find passengers through them).
    pub flight_index: Vec<crate::cases::FlightPassenger>,
    pub booking_current: Option<crate::cases::BookingCurrent>,
    /// Blocking items this customer joins (identity resolution candidates).
    pub block_adds: Vec<String>,
    /// Lookup items (of another customer) this unit was found not to belong to, each with the
    /// contest count read: the count must still be that (two contests at once must not both
    /// believe they stay below the guard, or neither would record reaching it).
    pub contest: Vec<(String, u32)>,
    /// Identifiers this unit's contest brings to the guard: recorded for the shared-identifier
    /// report.
    pub guarded: Vec<GuardedIdentifier>,
}

/// An identifier that stopped counting as evidence because records carrying it kept turning out
/// to be other people (a family e-mail, a switchboard number, a travel agency's address). Kept by
/// its lookup key (a blind index): the report names the kind and the customer it first belonged
/// to, never the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardedIdentifier {
    /// The lookup key (`IDX#<kind>#<HMAC>`).
    pub lookup: String,
    pub kind: String,
    /// The customer the identifier is claimed by.
    #[serde(rename = "customer_id")]
    pub owner: CustomerId,
    /// How many records contradicted the owner when the guard was reached.
    pub contested: u32,
    pub reached_at: DateTime<Utc>,
}

/// What a batch read tells before a unit is processed.
#[derive(Debug, Clone, Default)]
pub struct Prefetch {
    pub processed_markers: HashSet<String>,
    /// Lookup key → owning customer.
    pub owners: HashMap<String, CustomerId>,
    /// Lookup key → the customer it belonged to before a merge moved it to its owner.
    pub origins: HashMap<String, CustomerId>,
    /// Blocking item key → the profiles holding that blocking key (identity resolution).
    pub blocks: HashMap<String, Vec<CustomerId>>,
    /// Lookup key → how many times records carrying it were found to be someone else than its
    /// owner (the shared-identifier guard).
    pub contested: HashMap<String, u32>,
}

/// An event that cannot be processed, parked with its reason (and its payload sealed).
#[derive(Debug, Clone)]
pub struct ParkedEvent {
    pub parked_at: DateTime<Utc>,
    pub reference: String,
    pub reason_code: String,
    /// Reasons without personal data (codes, JSON paths, messages that never quote values).
    pub reasons: Vec<crate::domain::event::FieldError>,
    pub origin: String,
    pub payload: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct TimelinePage {
    pub items: Vec<TimelineRecord>,
    /// Sort key of the last item returned, when more may follow.
    pub next: Option<String>,
}

#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// One batched read: which markers exist and who owns each lookup key.
    async fn prefetch(&self, markers: &[String], lookups: &[String]) -> Result<Prefetch, CmpError>;
    /// Strongly consistent read of a profile.
    async fn get_profile(&self, id: &CustomerId) -> Result<Option<ProfileRecord>, CmpError>;
    /// Strongly consistent read of several profiles in one round trip (those that exist, in no
    /// particular order).
    async fn get_profiles(&self, ids: &[CustomerId]) -> Result<Vec<ProfileRecord>, CmpError>;
    /// The profile and the head of its audit chain, in one round trip.
    async fn get_profile_and_audit_head(
        &self,
        id: &CustomerId,
    ) -> Result<(Option<ProfileRecord>, crate::audit::ChainHead), CmpError>;
    /// Applies a commit atomically; `StoreError::Conflict` when any condition fails.
    async fn commit(&self, commit: &Commit) -> Result<(), CmpError>;
    /// Owner of one lookup key.
    async fn owner_of(&self, lookup: &str) -> Result<Option<CustomerId>, CmpError>;
    /// Timeline entries newest first, starting after `after` (a sort key), optionally of one kind.
    async fn timeline(
        &self,
        id: &CustomerId,
        kind: Option<TimelineKind>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<TimelinePage, CmpError>;
    /// Parks an unprocessable event.
    async fn park(&self, parked: &ParkedEvent) -> Result<(), CmpError>;
}

/// A legal hold that stops erasure (an open compensation case, a fraud investigation, litigation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHold {
    pub kind: String,
    /// A reference without personal data (case id, investigation number).
    pub reference: String,
    pub placed_at: DateTime<Utc>,
    pub placed_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RightsRequestKind {
    Access,
    Erasure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RightsRequestStatus {
    Open,
    Completed,
    /// Waiting for a legal hold to be released.
    Deferred,
}

/// A data-subject request (GDPR Art. 15, 17, 20), tracked until completed. No personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RightsRequest {
    pub id: String,
    pub kind: RightsRequestKind,
    pub status: RightsRequestStatus,
    pub requested_at: DateTime<Utc>,
    /// One month after the request (Art. 12(3)).
    pub due_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Role and subject id of who asked (the customer, or the privacy officer on their behalf).
    pub requested_by: String,
    /// Where the access export was written (access requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
    /// Counts and notes of the outcome (erasure receipt, export summary); never personal data.
    #[serde(default)]
    pub outcome: serde_json::Value,
}

/// The keys of what is stored about one customer, for erasure.
#[derive(Debug, Clone, Default)]
pub struct CustomerKeys {
    /// Sort keys of the items under `CUST#<id>` (profile, timeline, consents, holds, requests).
    pub sort_keys: Vec<String>,
    /// Blind-index lookup items the customer owns.
    pub lookups: Vec<String>,
}

/// What an erasure writes and deletes (the data key is destroyed before, through the key store).
#[derive(Debug, Clone)]
pub struct ErasurePlan {
    /// The tombstone replacing the profile (no personal data), written if the profile is still at
    /// `expected_version`.
    pub tombstone: ProfileRecord,
    pub expected_version: u64,
    /// Markers of every event that contributed, kept without expiry so a replay changes nothing.
    pub replay_guards: Vec<String>,
    /// Items under the customer to delete (everything but the profile and the request records).
    pub delete_sort_keys: Vec<String>,
    /// Lookup items to delete (each only while it still points at this customer).
    pub delete_lookups: Vec<String>,
    /// Blocking items (`BLK#…`) the customer is taken out of (identity resolution candidates).
    pub leave_blocks: Vec<String>,
    /// The audit record of the erasure, appended to the customer's chain.
    pub audit: crate::audit::AuditRecord,
}

/// The privacy port: the consent ledger, legal holds, data-subject requests and erasure.
#[async_trait]
pub trait PrivacyStore: Send + Sync {
    /// The customer's consent ledger, in no particular order.
    async fn consents(&self, id: &CustomerId) -> Result<Vec<crate::consent::ConsentRecord>, CmpError>;
    /// Appends a ledger entry with its audit record, all or nothing; `StoreError::Conflict` when the
    /// entry exists already or the audit chain moved.
    async fn append_consent(
        &self,
        id: &CustomerId,
        record: &crate::consent::ConsentRecord,
        audit: &crate::audit::AuditRecord,
    ) -> Result<(), CmpError>;
    async fn holds(&self, id: &CustomerId) -> Result<Vec<LegalHold>, CmpError>;
    async fn put_hold(&self, id: &CustomerId, hold: &LegalHold) -> Result<(), CmpError>;
    /// Releases a hold; `false` when there was none of that kind.
    async fn release_hold(&self, id: &CustomerId, kind: &str) -> Result<bool, CmpError>;
    async fn requests(&self, id: &CustomerId) -> Result<Vec<RightsRequest>, CmpError>;
    async fn put_request(&self, id: &CustomerId, request: &RightsRequest) -> Result<(), CmpError>;
    /// Everything stored under the customer, and the lookup items they own.
    async fn customer_keys(&self, id: &CustomerId) -> Result<CustomerKeys, CmpError>;
    /// Applies an erasure; `StoreError::Conflict` when the profile moved on meanwhile.
    async fn erase(&self, plan: &ErasurePlan) -> Result<(), CmpError>;
}

/// Sort key of a consent ledger entry: ordered by the time the customer acted.
pub fn consent_sort_key(r: &crate::consent::ConsentRecord) -> String {
    format!(
        "CONSENT#{}#{}#{}",
        r.acted_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        serde_json::to_value(r.purpose).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        r.event_id
    )
}

/// Sort key of a data-subject request record.
pub fn request_sort_key(r: &RightsRequest) -> String {
    format!("DSR#{}#{}", r.requested_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), r.id)
}

/// The event marker inside a timeline sort key (`TL#<time>#<marker>`).
pub fn marker_of_timeline_key(sk: &str) -> Option<&str> {
    let rest = sk.strip_prefix("TL#")?;
    rest.split_once('#').map(|(_, m)| m)
}

// ---------------------------------------------------------------- identity: merges and reviews

/// A lookup item as the identity services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRecord {
    pub key: String,
    pub customer_id: CustomerId,
    /// The customer it belonged to before a merge moved it.
    pub origin: Option<CustomerId>,
    /// The marker of the unit that claimed it.
    pub claimed_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A flight-index or current-booking item of a customer (`pk`/`sk`), as the identity services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRecord {
    pub pk: String,
    pub sk: String,
    pub origin: Option<CustomerId>,
    /// The marker of the unit that wrote it.
    pub marker: Option<String>,
}

/// A consent ledger entry with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEntry {
    pub record: crate::consent::ConsentRecord,
    pub origin: Option<CustomerId>,
}

/// Everything that belongs to one customer and moves with them when profiles merge or unmerge.
#[derive(Debug, Clone, Default)]
pub struct Partition {
    pub timeline: Vec<TimelineRecord>,
    pub consents: Vec<ConsentEntry>,
    pub holds: Vec<LegalHold>,
    pub lookups: Vec<LookupRecord>,
    pub index: Vec<IndexRecord>,
}

/// One item moving from one customer to another, in one transaction with the others of its batch.
#[derive(Debug, Clone)]
pub enum Move {
    /// Written under the target (already re-sealed with the target's key, `origin` set), deleted
    /// under the source.
    Timeline(TimelineRecord),
    Consent(ConsentEntry),
    Hold(LegalHold),
    /// Re-pointed to the target while it still points at the source.
    Lookup {
        key: String,
        origin: Option<CustomerId>,
    },
    Index {
        pk: String,
        sk: String,
        origin: Option<CustomerId>,
    },
}

/// Items per move batch (each is a put and a delete, or one update, in one transaction).
pub const MOVE_BATCH: usize = 45;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeStatus {
    /// The profiles are merged; the loser's items are being moved.
    Moving,
    Active,
    /// Being undone: items are moving back.
    Unmerging,
    Undone,
}

/// The record of one merge, kept under the survivor (`MERGE#<at>#<loser>`): who, why, and the
/// explanation of the decision. No personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    pub survivor: CustomerId,
    pub loser: CustomerId,
    /// Profiles the loser had absorbed before, which went with it.
    pub loser_members: Vec<CustomerId>,
    pub merged_at: DateTime<Utc>,
    /// `identity` (automatic), or the role and subject of the agent.
    pub merged_by: String,
    pub reason: String,
    /// Score (log2-odds) and per-field contributions when a model decided; the rule when an
    /// identifier did.
    pub explanation: serde_json::Value,
    pub status: MergeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone_by: Option<String>,
}

impl MergeRecord {
    pub fn sort_key(&self) -> String {
        format!("MERGE#{}#{}", self.merged_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), self.loser)
    }
}

/// Two profiles that must not be merged automatically (an undone merge, or an agent's decision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepApart {
    pub a: CustomerId,
    pub b: CustomerId,
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

impl KeepApart {
    pub fn new(x: &CustomerId, y: &CustomerId, by: &str, reason: &str) -> Self {
        let (a, b) = if x.as_str() <= y.as_str() { (x.clone(), y.clone()) } else { (y.clone(), x.clone()) };
        KeepApart { a, b, at: Utc::now(), by: by.to_owned(), reason: reason.to_owned() }
    }
    pub fn key(x: &CustomerId, y: &CustomerId) -> String {
        let (a, b) = if x.as_str() <= y.as_str() { (x, y) } else { (y, x) };
        format!("PAIR#{a}#{b}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    Pending,
    Merged,
    KeptApart,
}

/// A candidate match awaiting (or having had) an agent's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchCandidate {
    /// `mtc_` and 24 hex digits, derived from the pair (one open review per pair).
    pub id: String,
    pub a: CustomerId,
    pub b: CustomerId,
    pub score: f64,
    pub explanation: serde_json::Value,
    pub status: MatchStatus,
    pub created_at: DateTime<Utc>,
    /// The event that raised it.
    pub event_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

impl MatchCandidate {
    pub fn id_for(x: &CustomerId, y: &CustomerId) -> String {
        let d = <Sha256 as sha2::Digest>::digest(KeepApart::key(x, y).as_bytes());
        format!("mtc_{}", &crate::domain::ids::hex(&d)[..24])
    }
}

/// What one identity change writes, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct IdentityCommit {
    /// Profiles written, each if still at its expected version.
    pub profiles: Vec<(ProfileRecord, u64)>,
    pub merge: Option<MergeRecord>,
    pub keep_apart: Option<KeepApart>,
    /// A review decided with this change.
    pub decided: Option<MatchCandidate>,
    pub audit: Vec<crate::audit::AuditRecord>,
}

/// The port the identity services (merge, unmerge, review) use.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Everything of the customer that moves with them.
    async fn partition(&self, id: &CustomerId) -> Result<Partition, CmpError>;
    /// Moves a batch (at most [`MOVE_BATCH`]) from one customer to another, all or nothing.
    async fn move_items(&self, from: &CustomerId, to: &CustomerId, moves: &[Move]) -> Result<(), CmpError>;
    /// The merge records kept under a survivor.
    async fn merges(&self, survivor: &CustomerId) -> Result<Vec<MergeRecord>, CmpError>;
    async fn commit_identity(&self, c: &IdentityCommit) -> Result<(), CmpError>;
    /// Whether two profiles are to be kept apart.
    async fn kept_apart(&self, x: &CustomerId, y: &CustomerId) -> Result<bool, CmpError>;
    /// Raises a review (once per pair while pending; a decided pair is not raised again).
    async fn put_match(&self, m: &MatchCandidate) -> Result<bool, CmpError>;
    async fn get_match(&self, id: &str) -> Result<Option<MatchCandidate>, CmpError>;
    /// Pending reviews, oldest first.
    async fn pending_matches(&self, limit: usize) -> Result<Vec<MatchCandidate>, CmpError>;
    /// Decided reviews (for the thresholds report).
    async fn decided_matches(&self, limit: usize) -> Result<Vec<MatchCandidate>, CmpError>;
    /// Identifiers the shared-identifier guard stopped counting, most recent first.
    async fn guarded_identifiers(&self, limit: usize) -> Result<Vec<GuardedIdentifier>, CmpError>;
    /// Deletes candidate matches, pending or decided, with their queue entries (erasure: a review
    /// naming an erased customer would link their id to another profile).
    async fn forget_matches(&self, matches: &[MatchCandidate]) -> Result<(), CmpError>;
}
