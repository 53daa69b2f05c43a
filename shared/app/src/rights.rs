//! Data-subject rights: access and portability (GDPR Art. 15 and 20) and erasure (Art. 17) by
//! crypto-shredding, with legal holds and request tracking (due in one month, Art. 12(3)).
use crate::api::ReadApi;
use crate::audit::{chain_of, AuditEntry, AuditLog};
use crate::consent::ConsentLedger;
use crate::crypto::KeyRing;
use crate::domain::CustomerId;
use crate::error::CmpError;
use crate::store::{
    marker_of_timeline_key, ErasurePlan, LegalHold, PrivacyStore, ProfileRecord, ProfileStatus, ProfileStore,
    RightsRequest, RightsRequestKind, RightsRequestStatus, StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// How long the link to an access export works.
pub const LINK_TTL: Duration = Duration::from_secs(900);
/// Where access exports are written in the privacy bucket.
pub const ACCESS_PREFIX: &str = "access-requests";
/// Format id of the access export document.
pub const EXPORT_FORMAT: &str = "gamma-airways-cmp-access-export/1";

/// The port to the bucket access exports are written to.
#[async_trait]
pub trait ExportStore: Send + Sync {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), CmpError>;
    /// A pre-signed GET link to `key`, valid for `ttl`.
    async fn link(&self, key: &str, ttl: Duration) -> Result<String, CmpError>;
    /// Deletes every object under `prefix`; answers how many.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize, CmpError>;
}

/// In-memory fake of [`ExportStore`].
#[cfg(any(test, feature = "testkit"))]
#[derive(Default)]
pub struct MemoryExports {
    pub objects: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
}

#[cfg(any(test, feature = "testkit"))]
#[async_trait]
impl ExportStore for MemoryExports {
    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), CmpError> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned(), body);
        Ok(())
    }
    async fn link(&self, key: &str, _ttl: Duration) -> Result<String, CmpError> {
        Ok(format!("memory://{key}"))
    }
    async fn delete_prefix(&self, prefix: &str) -> Result<usize, CmpError> {
        let mut o = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        let before = o.len();
        o.retain(|k, _| !k.starts_with(prefix));
        Ok(before - o.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RightsError {
    #[error("no profile with this id")]
    NotFound,
    #[error("the customer was erased")]
    Erased,
    #[error("legal holds stop the erasure")]
    Held { request: RightsRequest, holds: Vec<LegalHold> },
    #[error(transparent)]
    Backend(#[from] CmpError),
}

/// The answer to an access request.
#[derive(Debug, Clone, Serialize)]
pub struct AccessExport {
    pub request: RightsRequest,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// The receipt of an erasure. No personal data.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReceipt {
    pub request_id: String,
    pub customer_id: CustomerId,
    pub status: &'static str,
    pub erased_at: DateTime<Utc>,
    pub data_key_destroyed: bool,
    pub items_deleted: usize,
    pub lookups_deleted: usize,
    /// Blocking items (identity-resolution candidates) the customer was taken out of.
    pub blocks_left: usize,
    /// Candidate matches (review queue, decided reviews) naming the customer, deleted.
    pub matches_forgotten: usize,
    pub replay_guards: usize,
    pub exports_deleted: usize,
    /// Profiles merged into this one, erased with it (their own data keys destroyed too).
    pub members_erased: Vec<CustomerId>,
    /// What is kept, and why.
    pub retained: Vec<&'static str>,
}

#[derive(Clone)]
pub struct Rights {
    store: Arc<dyn ProfileStore>,
    privacy: Arc<dyn PrivacyStore>,
    keys: Arc<KeyRing>,
    read: Arc<ReadApi>,
    consents: Arc<ConsentLedger>,
    audit: Arc<dyn AuditLog>,
    exports: Arc<dyn ExportStore>,
    /// The compensation cases, when case management is deployed.
    cases: Option<Arc<dyn crate::cases::CaseStore>>,
    /// Merge records (identity lineage).
    merges: Option<Arc<dyn crate::store::IdentityStore>>,
}

/// How many pending and how many decided reviews erasure looks through for the customer's.
const MAX_MATCHES_SCANNED: usize = 10_000;

fn request(kind: RightsRequestKind, by: &str, now: DateTime<Utc>) -> RightsRequest {
    RightsRequest {
        id: format!("dsr_{}", uuid::Uuid::now_v7().simple()),
        kind,
        status: RightsRequestStatus::Open,
        requested_at: now,
        due_at: now.checked_add_months(Months::new(1)).unwrap_or(now),
        completed_at: None,
        requested_by: by.to_owned(),
        object_key: None,
        outcome: Value::Null,
    }
}

impl Rights {
    pub fn new(
        store: Arc<dyn ProfileStore>,
        privacy: Arc<dyn PrivacyStore>,
        keys: Arc<KeyRing>,
        read: Arc<ReadApi>,
        consents: Arc<ConsentLedger>,
        audit: Arc<dyn AuditLog>,
        exports: Arc<dyn ExportStore>,
    ) -> Self {
        Rights { store, privacy, keys, read, consents, audit, exports, cases: None, merges: None }
    }

    /// Access exports include the merges of the profile (which records were merged into it, when,
    /// why, undone or not).
    pub fn with_merges(mut self, merges: Arc<dyn crate::store::IdentityStore>) -> Self {
        self.merges = Some(merges);
        self
    }

    /// Access exports include the customer's compensation cases.
    pub fn with_cases(mut self, cases: Arc<dyn crate::cases::CaseStore>) -> Self {
        self.cases = Some(cases);
        self
    }

    /// The customer's compensation cases as the access export shows them: every field, the notes
    /// and the payout details opened.
    async fn cases_of(&self, id: &CustomerId) -> Result<Vec<Value>, CmpError> {
        let Some(store) = &self.cases else { return Ok(vec![]) };
        let filter = crate::cases::CaseFilter { customer: Some(id.clone()), ..Default::default() };
        let cases = store.list_cases(&filter, 1000).await?;
        if cases.is_empty() {
            return Ok(vec![]);
        }
        let key = self.keys.key_for(id).await?;
        cases
            .iter()
            .map(|c| {
                let mut v = crate::cases::view(c, true, crate::cases::open_notes(&key, c)?);
                v["payout"] = json!(crate::cases::open_payout(&key, c)?);
                Ok(v)
            })
            .collect()
    }

    /// The profile a request is about (merge redirects followed).
    async fn subject(&self, id: &CustomerId) -> Result<ProfileRecord, RightsError> {
        match self.read.record(id).await? {
            None => Err(RightsError::NotFound),
            Some(r) if r.status == ProfileStatus::Erased => Err(RightsError::Erased),
            Some(r) => Ok(r),
        }
    }

    /// The data-subject requests of a customer, newest first, with fresh links to access exports.
    pub async fn requests(&self, id: &CustomerId) -> Result<Vec<Value>, RightsError> {
        let mut all = self.privacy.requests(id).await?;
        if all.is_empty() && self.store.get_profile(id).await?.is_none() {
            return Err(RightsError::NotFound);
        }
        all.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        // the exports of an erased customer are gone: no links to them
        let erased = self.store.get_profile(id).await?.is_some_and(|p| p.status == ProfileStatus::Erased);
        let mut out = Vec::new();
        for r in all {
            let mut v = serde_json::to_value(&r).map_err(|e| CmpError::Integrity(e.to_string()))?;
            if let (Some(key), RightsRequestStatus::Completed, false) = (&r.object_key, r.status, erased) {
                if r.completed_at.is_some_and(|c| Utc::now() - c < chrono::Duration::days(30)) {
                    v["url"] = json!(self.exports.link(key, LINK_TTL).await?);
                }
            }
            out.push(v);
        }
        Ok(out)
    }

    /// Everything held about the person, as one JSON document.
    pub async fn export_document(&self, record: &ProfileRecord, request_id: &str) -> Result<Value, CmpError> {
        let id = &record.id;
        let profile = self.read.view(record).await?;
        let mut timeline = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.read.timeline(id, None, 100, cursor.as_deref()).await?.unwrap_or(Value::Null);
            timeline.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str().and_then(crate::api::decode_cursor) {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        timeline.reverse(); // chronological
        let bookings: Vec<Value> = timeline.iter().filter(|t| t["kind"] == "booking").cloned().collect();
        let identifiers = {
            let mut ids = Vec::new();
            for e in profile["emails"].as_array().into_iter().flatten() {
                ids.push(json!({"kind": "email", "value": e["address"], "verified": e["verified"]}));
            }
            for p in profile["phones"].as_array().into_iter().flatten() {
                ids.push(json!({"kind": "phone", "value": p["number"], "verified": p["verified"]}));
            }
            if let Some(l) = profile.get("loyalty") {
                ids.push(json!({"kind": "loyalty", "value": l["number"], "programme": l["program"]}));
            }
            for d in profile["documents"].as_array().into_iter().flatten() {
                ids.push(json!({"kind": "document", "value": d["number"], "type": d["type"], "issuing_country": d["issuing_country"]}));
            }
            for t in &bookings {
                let d = &t["detail"];
                ids.push(json!({"kind": "booking_passenger", "value": format!("{}/{}", d["record_locator"].as_str().unwrap_or_default(), d["passenger_id"].as_str().unwrap_or_default())}));
                if let Some(ticket) = d["ticket_number"].as_str() {
                    ids.push(json!({"kind": "ticket", "value": ticket}));
                }
            }
            ids
        };
        let (audit, _) = self.audit.chain(&chain_of(Some(id), Utc::now())).await?;
        let disclosures: Vec<Value> = audit
            .iter()
            .map(|r| {
                json!({"at": r.entry.at, "by": r.entry.actor, "role": r.entry.role, "action": r.entry.action,
                       "purpose": r.entry.purpose, "fields": r.entry.fields, "outcome": r.entry.outcome})
            })
            .collect();
        let lookups = self.privacy.customer_keys(id).await?.lookups;
        Ok(json!({
            "format": EXPORT_FORMAT,
            "request_id": request_id,
            "generated_at": Utc::now(),
            "customer_id": id,
            "controller": "Gamma Airways",
            "profile": profile,
            "identifiers": identifiers,
            "identifier_index_entries": lookups.len(),
            "timeline": timeline,
            "bookings": bookings,
            "consents": {
                "current": self.consents.state(id).await?,
                "history": self.consents.history(id).await?,
            },
            "cases": self.cases_of(id).await?,
            "merges": match &self.merges {
                Some(m) => serde_json::to_value(m.merges(id).await?).unwrap_or_default(),
                None => json!([]),
            },
            "legal_holds": self.privacy.holds(id).await?,
            "data_subject_requests": self.privacy.requests(id).await?,
            "disclosures": disclosures,
            // partners receive pseudonymised, generalised rows while partner_sharing is in force
            // (daily exports; the consent history above gives the periods)
            "partner_sharing": {
                "in_force": self.consents.may_use(id, crate::consent::Purpose::PartnerSharing).await?.allowed,
                "partners": crate::export::PARTNERS.iter().map(|p| json!({
                    "partner": p.id, "name": p.name, "schedule": p.schedule,
                    "tiers": p.tiers, "segments": p.segments, "fields": p.fields,
                })).collect::<Vec<_>>(),
            },
            "retention": crate::retention::RULES,
        }))
    }

    /// Art. 15/20: writes the export to the privacy bucket and answers a short-lived link. The request
    /// is tracked open before the work starts and completed after.
    pub async fn access(&self, id: &CustomerId, requested_by: &str) -> Result<AccessExport, RightsError> {
        let record = self.subject(id).await?;
        let mut req = request(RightsRequestKind::Access, requested_by, Utc::now());
        self.privacy.put_request(&record.id, &req).await?;
        let doc = self.export_document(&record, &req.id).await?;
        let body = serde_json::to_vec_pretty(&doc).map_err(|e| CmpError::Integrity(e.to_string()))?;
        let key = format!("{ACCESS_PREFIX}/{}/{}.json", record.id, req.id);
        self.exports.put(&key, body, "application/json").await?;
        let url = self.exports.link(&key, LINK_TTL).await?;
        let now = Utc::now();
        req.status = RightsRequestStatus::Completed;
        req.completed_at = Some(now);
        req.object_key = Some(key);
        req.outcome = json!({
            "timeline_entries": doc["timeline"].as_array().map_or(0, Vec::len),
            "consent_records": doc["consents"]["history"].as_array().map_or(0, Vec::len),
            "disclosures": doc["disclosures"].as_array().map_or(0, Vec::len),
        });
        self.privacy.put_request(&record.id, &req).await?;
        Ok(AccessExport {
            request: req,
            url,
            expires_at: now + chrono::Duration::from_std(LINK_TTL).unwrap_or_default(),
        })
    }

    /// Erases a profile that was merged into an erased one: its key destroyed, its item a
    /// tombstone (its timeline, consents and lookups moved to the survivor and went with it).
    async fn erase_member(&self, id: &CustomerId, audit: &AuditEntry) -> Result<bool, RightsError> {
        // the blocking items it joined, while its key can still open what it held (a member whose
        // key is gone already leaves none it can be found by)
        let blocks = match self.store.get_profile(id).await? {
            Some(r) if r.status != ProfileStatus::Erased => self.read.block_keys_of(&r).await.unwrap_or_default(),
            _ => vec![],
        };
        self.keys.shred(id).await.map_err(CmpError::from)?;
        for attempt in 0..crate::retry::Backoff::CONFLICT.attempts {
            if attempt > 0 {
                crate::retry::Backoff::CONFLICT.pause(attempt - 1).await;
            }
            let (current, head) = self.store.get_profile_and_audit_head(id).await?;
            let Some(current) = current else { return Ok(false) };
            if current.status == ProfileStatus::Erased {
                return Ok(false);
            }
            let keys = self.privacy.customer_keys(id).await?;
            let now = Utc::now();
            let entry = AuditEntry {
                at: now,
                action: "profile_erased".into(),
                customer_id: Some(id.to_string()),
                fields: vec!["*".into()],
                outcome: "erased:merged_member".into(),
                ..audit.clone()
            };
            let plan = ErasurePlan {
                tombstone: tombstone_of(&current, now),
                expected_version: current.version,
                replay_guards: keys
                    .sort_keys
                    .iter()
                    .filter_map(|sk| marker_of_timeline_key(sk))
                    .map(str::to_owned)
                    .collect(),
                delete_sort_keys: keys
                    .sort_keys
                    .iter()
                    .filter(|sk| *sk != crate::store::PROFILE_SK && !sk.starts_with("DSR#"))
                    .cloned()
                    .collect(),
                delete_lookups: keys.lookups.clone(),
                leave_blocks: blocks.clone(),
                audit: head.next(chain_of(Some(id), now), entry),
            };
            match self.privacy.erase(&plan).await {
                Ok(()) => return Ok(true),
                Err(CmpError::Store(crate::store::StoreError::Conflict)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CmpError::from(crate::store::StoreError::Conflict).into())
    }

    /// Art. 17 by crypto-shredding: destroys the customer's data key (every copy of what was sealed
    /// with it becomes unreadable at once), replaces the profile with a tombstone, keeps the markers
    /// of every event that contributed so a replay cannot re-create the data, deletes the items and
    /// lookups and the access exports. Refused, and tracked as deferred, while a legal hold stands.
    pub async fn erase(&self, id: &CustomerId, audit: AuditEntry) -> Result<ErasureReceipt, RightsError> {
        let record = self.subject(id).await?;
        let id = record.id.clone();
        let mut req = request(RightsRequestKind::Erasure, &format!("{}:{}", audit.role, audit.actor), Utc::now());
        let holds = self.privacy.holds(&id).await?;
        if !holds.is_empty() {
            req.status = RightsRequestStatus::Deferred;
            req.outcome = json!({"holds": holds.iter().map(|h| &h.kind).collect::<Vec<_>>()});
            self.privacy.put_request(&id, &req).await?;
            return Err(RightsError::Held { request: req, holds });
        }
        self.privacy.put_request(&id, &req).await?;
        // what links the person to this id outside the customer's own items and lookups: the
        // blocking items they joined (computed from what their key still opens) and the consent
        // events recorded for them (their replay guards)
        let blocks = self.read.block_keys_of(&record).await?;
        let consent_events: Vec<String> = self.privacy.consents(&id).await?.into_iter().map(|c| c.event_id).collect();
        let destroyed = self.keys.shred(&id).await.map_err(CmpError::from)?;
        for attempt in 0..crate::retry::Backoff::CONFLICT.attempts {
            if attempt > 0 {
                crate::retry::Backoff::CONFLICT.pause(attempt - 1).await;
            }
            let (current, head) = self.store.get_profile_and_audit_head(&id).await?;
            let Some(current) = current else { return Err(RightsError::NotFound) };
            let keys = self.privacy.customer_keys(&id).await?;
            let now = Utc::now();
            let mut replay_guards: Vec<String> =
                keys.sort_keys.iter().filter_map(|sk| marker_of_timeline_key(sk)).map(str::to_owned).collect();
            replay_guards.extend(consent_events.iter().cloned());
            replay_guards.sort();
            replay_guards.dedup();
            let delete_sort_keys: Vec<String> = keys
                .sort_keys
                .iter()
                .filter(|sk| *sk != crate::store::PROFILE_SK && !sk.starts_with("DSR#"))
                .cloned()
                .collect();
            let entry = AuditEntry {
                at: now,
                action: "profile_erased".into(),
                customer_id: Some(id.to_string()),
                fields: vec!["*".into()],
                outcome: "erased".into(),
                ..audit.clone()
            };
            let plan = ErasurePlan {
                tombstone: tombstone_of(&current, now),
                expected_version: current.version,
                replay_guards,
                delete_sort_keys,
                delete_lookups: keys.lookups.clone(),
                leave_blocks: blocks.clone(),
                audit: head.next(chain_of(Some(&id), now), entry),
            };
            match self.privacy.erase(&plan).await {
                Ok(()) => {
                    // profiles merged into this one hold their old sealed fields under their own keys
                    let mut members_erased = Vec::new();
                    for m in &current.members {
                        if self.erase_member(m, &audit).await? {
                            members_erased.push(m.clone());
                        }
                    }
                    // reviews of a candidate match naming them, pending or decided: they would link
                    // the erased id to another profile
                    let mut matches_forgotten = 0;
                    if let Some(ids) = &self.merges {
                        let mut theirs = ids.pending_matches(MAX_MATCHES_SCANNED).await?;
                        theirs.extend(ids.decided_matches(MAX_MATCHES_SCANNED).await?);
                        theirs.retain(|m| {
                            m.a == id || m.b == id || current.members.iter().any(|x| *x == m.a || *x == m.b)
                        });
                        ids.forget_matches(&theirs).await?;
                        matches_forgotten = theirs.len();
                    }
                    let exports_deleted = self.exports.delete_prefix(&format!("{ACCESS_PREFIX}/{id}/")).await?;
                    let receipt = ErasureReceipt {
                        request_id: req.id.clone(),
                        customer_id: id.clone(),
                        status: "erased",
                        erased_at: now,
                        data_key_destroyed: destroyed,
                        items_deleted: plan.delete_sort_keys.len(),
                        lookups_deleted: plan.delete_lookups.len(),
                        blocks_left: plan.leave_blocks.len(),
                        matches_forgotten,
                        replay_guards: plan.replay_guards.len(),
                        exports_deleted,
                        members_erased,
                        retained: vec![
                            "the profile id as a tombstone (status erased), so replayed events cannot re-create the customer",
                            "markers of the events that contributed, consent events included (event references, no content), as replay guards: an event re-sent with the same source and id is recognised and changes nothing",
                            "nothing else names the id: lookups deleted, the id taken out of every blocking item and the reviews of candidate matches naming it deleted, so a new profile of the same person is not linked to it",
                            "no fingerprint of the events' content (it would itself link the person): an old event re-sent under a new id is a new observation",
                            "the audit trail (no personal data; accountability, GDPR Art. 5(2))",
                            "the records of this and earlier data-subject requests (no personal data)",
                            "sealed copies in table backups (35 days of point-in-time recovery) stay until they age out, unreadable without the destroyed key",
                            "events as sent stay on the inbound stream until its 7-day retention ends (encrypted with the platform key); their replay (same source and id) changes nothing",
                            "events parked as unprocessable stay sealed under the dead-letter key for DEAD_LETTER_TTL_DAYS",
                        ],
                    };
                    req.status = RightsRequestStatus::Completed;
                    req.completed_at = Some(Utc::now());
                    req.outcome = serde_json::to_value(&receipt).map_err(|e| CmpError::Integrity(e.to_string()))?;
                    self.privacy.put_request(&id, &req).await?;
                    return Ok(receipt);
                }
                Err(CmpError::Store(StoreError::Conflict)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RightsError::Backend(StoreError::Conflict.into()))
    }
}

/// What stays of an erased profile: its id, when it was created and erased, and nothing personal.
fn tombstone_of(current: &ProfileRecord, now: DateTime<Utc>) -> ProfileRecord {
    ProfileRecord {
        id: current.id.clone(),
        version: current.version + 1,
        status: ProfileStatus::Erased,
        merged_into: None,
        created_at: current.created_at,
        updated_at: now,
        tier: None,
        bookings: 0,
        segments: vec![],
        sealed: Default::default(),
        lineage: Default::default(),
        sources: Default::default(),
        erased_at: Some(now),
        members: vec![],
        match_summary: None,
    }
}

#[cfg(test)]
mod tests;
