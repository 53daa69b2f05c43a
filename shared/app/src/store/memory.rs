//! In-memory fake of the profile store with the same semantics as the DynamoDB adapter: conditional,
//! all-or-nothing commits. Optional fault injection lets tests exercise retries.
use super::{
    consent_sort_key, request_sort_key, Commit, CustomerKeys, ErasurePlan, LegalHold, ParkedEvent, Prefetch,
    PrivacyStore, ProfileRecord, ProfileStore, RightsRequest, StoreError, TimelinePage, TimelineRecord,
};
use crate::consent::ConsentRecord;
use crate::crypto::{KeyError, WrappedKeyStore};
use crate::domain::event::TimelineKind;
use crate::domain::CustomerId;
use crate::error::CmpError;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// A lookup item.
#[derive(Debug, Clone)]
struct MemLookup {
    customer_id: CustomerId,
    origin: Option<CustomerId>,
    claimed_by: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    contested: u32,
}

#[derive(Default)]
struct State {
    profiles: HashMap<CustomerId, ProfileRecord>,
    lookups: HashMap<String, MemLookup>,
    /// Origin and writing marker of flight-index (`FLT#…`, `PAX#…`) and current-booking
    /// (`PAXB#…`, `CURRENT`) items.
    index_meta: HashMap<(String, String), (Option<CustomerId>, Option<String>)>,
    /// Origin of consent entries moved by a merge.
    consent_origin: HashMap<(CustomerId, String), CustomerId>,
    merges: HashMap<CustomerId, BTreeMap<String, super::MergeRecord>>,
    apart: HashMap<String, super::KeepApart>,
    matches: BTreeMap<String, super::MatchCandidate>,
    blocks: HashMap<String, std::collections::BTreeSet<CustomerId>>,
    guarded: BTreeMap<String, super::GuardedIdentifier>,
    markers: HashSet<String>,
    timelines: HashMap<CustomerId, BTreeMap<String, TimelineRecord>>,
    keys: HashMap<String, Vec<u8>>,
    parked: Vec<ParkedEvent>,
    audit: Vec<crate::audit::AuditRecord>,
    consents: HashMap<CustomerId, BTreeMap<String, ConsentRecord>>,
    holds: HashMap<CustomerId, BTreeMap<String, LegalHold>>,
    requests: HashMap<CustomerId, BTreeMap<String, RightsRequest>>,
    flights: HashMap<String, BTreeMap<String, crate::cases::FlightPassenger>>,
    current_bookings: HashMap<String, crate::cases::BookingCurrent>,
}

impl State {
    fn audit_next_ok(&self, a: &crate::audit::AuditRecord) -> bool {
        self.audit.iter().filter(|r| r.chain == a.chain).map(|r| r.seq).max().unwrap_or(0) + 1 == a.seq
    }
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// The next N commits fail as unavailable.
    pub fail_commits: AtomicU32,
    /// The next N identity commits (merges, unmerges, decisions) fail as unavailable.
    pub fail_identity_commits: AtomicU32,
    /// Count of calls, for round-trip assertions.
    pub calls: AtomicU32,
}

impl MemoryStore {
    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn profile_count(&self) -> usize {
        self.st().profiles.len()
    }
    pub fn profiles(&self) -> Vec<ProfileRecord> {
        self.st().profiles.values().cloned().collect()
    }
    pub fn timeline_count(&self, id: &CustomerId) -> usize {
        self.st().timelines.get(id).map_or(0, |t| t.len())
    }
    pub fn parked(&self) -> Vec<ParkedEvent> {
        self.st().parked.clone()
    }
    pub fn audit_records(&self) -> Vec<crate::audit::AuditRecord> {
        self.st().audit.clone()
    }
    pub fn lookup_count(&self) -> usize {
        self.st().lookups.len()
    }
    /// Who a lookup key points at.
    pub fn lookup_owner(&self, key: &str) -> Option<CustomerId> {
        self.st().lookups.get(key).map(|l| l.customer_id.clone())
    }
    pub fn delete_key(&self, key_id: &str) {
        self.st().keys.remove(key_id);
    }
    pub fn get_wrapped_for_test(&self, key_id: &str) -> Option<Vec<u8>> {
        self.st().keys.get(key_id).cloned()
    }
    /// Every wrapped key left in the store.
    pub fn all_wrapped_for_test(&self) -> Vec<Vec<u8>> {
        self.st().keys.values().cloned().collect()
    }
    pub fn get_profile_for_test(&self, id: &CustomerId) -> ProfileRecord {
        self.st().profiles.get(id).cloned().expect("profile")
    }
    pub fn put_profile_for_test(&self, p: ProfileRecord) {
        self.st().profiles.insert(p.id.clone(), p);
    }
    pub fn has_marker(&self, marker: &str) -> bool {
        self.st().markers.contains(marker)
    }
    /// Blocking item keys that list `id` among their members.
    pub fn blocks_naming(&self, id: &CustomerId) -> Vec<String> {
        self.st().blocks.iter().filter(|(_, m)| m.contains(id)).map(|(k, _)| k.clone()).collect()
    }
    /// Lookup keys owned by `id`.
    pub fn lookups_of(&self, id: &CustomerId) -> Vec<String> {
        self.st().lookups.iter().filter(|(_, o)| &o.customer_id == id).map(|(k, _)| k.clone()).collect()
    }
    fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl ProfileStore for MemoryStore {
    async fn prefetch(&self, markers: &[String], lookups: &[String]) -> Result<Prefetch, CmpError> {
        self.call();
        let st = self.st();
        Ok(Prefetch {
            processed_markers: markers.iter().filter(|m| st.markers.contains(*m)).cloned().collect(),
            owners: lookups
                .iter()
                .filter_map(|l| st.lookups.get(l).map(|c| (l.clone(), c.customer_id.clone())))
                .collect(),
            origins: lookups
                .iter()
                .filter_map(|l| st.lookups.get(l).and_then(|c| c.origin.clone()).map(|o| (l.clone(), o)))
                .collect(),
            blocks: lookups
                .iter()
                .filter_map(|l| st.blocks.get(l).map(|m| (l.clone(), m.iter().cloned().collect())))
                .collect(),
            contested: lookups
                .iter()
                .filter_map(|l| st.lookups.get(l).filter(|c| c.contested > 0).map(|c| (l.clone(), c.contested)))
                .collect(),
        })
    }

    async fn get_profile(&self, id: &CustomerId) -> Result<Option<ProfileRecord>, CmpError> {
        self.call();
        Ok(self.st().profiles.get(id).cloned())
    }

    async fn get_profiles(&self, ids: &[CustomerId]) -> Result<Vec<ProfileRecord>, CmpError> {
        self.call();
        let st = self.st();
        Ok(ids.iter().filter_map(|id| st.profiles.get(id).cloned()).collect())
    }

    async fn get_profile_and_audit_head(
        &self,
        id: &CustomerId,
    ) -> Result<(Option<ProfileRecord>, crate::audit::ChainHead), CmpError> {
        self.call();
        let st = self.st();
        let chain = format!("CUST#{id}");
        let head = st
            .audit
            .iter()
            .filter(|r| r.chain == chain)
            .max_by_key(|r| r.seq)
            .map(|r| crate::audit::ChainHead { seq: r.seq, hash: r.hash.clone() })
            .unwrap_or_default();
        Ok((st.profiles.get(id).cloned(), head))
    }

    async fn commit(&self, c: &Commit) -> Result<(), CmpError> {
        self.call();
        if self.fail_commits.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(StoreError::Unavailable("injected fault".into()).into());
        }
        let mut st = self.st();
        // check every condition first: all or nothing
        let current = st.profiles.get(&c.profile.id).map(|p| p.version);
        let ok = !st.markers.contains(&c.marker)
            && match c.expected_version {
                None => current.is_none(),
                Some(v) => current == Some(v),
            }
            && c.new_wrapped_key.as_ref().is_none_or(|_| !st.keys.contains_key(c.profile.id.as_str()))
            && c.claim_lookups.iter().all(|l| !st.lookups.contains_key(l))
            && c.audit.as_ref().is_none_or(|a| st.audit_next_ok(a))
            && c.contest.iter().all(|(l, seen)| st.lookups.get(l).is_some_and(|x| x.contested == *seen));
        if !ok {
            return Err(StoreError::Conflict.into());
        }
        st.markers.insert(c.marker.clone());
        if c.expected_version.is_none() || c.profile_changed {
            st.profiles.insert(c.profile.id.clone(), c.profile.clone());
        }
        if let Some(w) = &c.new_wrapped_key {
            st.keys.insert(c.profile.id.to_string(), w.clone());
        }
        for l in &c.claim_lookups {
            let lookup = MemLookup {
                customer_id: c.profile.id.clone(),
                origin: None,
                claimed_by: Some(c.marker.clone()),
                created_at: c.profile.updated_at,
                contested: 0,
            };
            st.lookups.insert(l.clone(), lookup);
        }
        if let Some(a) = &c.audit {
            st.audit.push(a.clone());
        }
        if let Some(t) = &c.timeline {
            st.timelines.entry(c.profile.id.clone()).or_default().insert(t.sk.clone(), t.clone());
        }
        for f in &c.flight_index {
            st.flights.entry(f.flight_key.clone()).or_default().insert(f.passenger_key.clone(), f.clone());
            let meta = (None, Some(c.marker.clone()));
            st.index_meta.insert((f.flight_key.clone(), format!("PAX#{}", f.passenger_key)), meta);
        }
        if let Some(b) = &c.booking_current {
            st.current_bookings.insert(b.passenger_key.clone(), b.clone());
            let meta = (None, Some(c.marker.clone()));
            st.index_meta.insert((format!("PAXB#{}", b.passenger_key), "CURRENT".into()), meta);
        }
        for b in &c.block_adds {
            st.blocks.entry(b.clone()).or_default().insert(c.profile.id.clone());
        }
        for (l, _) in &c.contest {
            if let Some(x) = st.lookups.get_mut(l) {
                x.contested += 1;
            }
        }
        for g in &c.guarded {
            st.guarded.insert(g.lookup.clone(), g.clone());
        }
        Ok(())
    }

    async fn owner_of(&self, lookup: &str) -> Result<Option<CustomerId>, CmpError> {
        self.call();
        Ok(self.st().lookups.get(lookup).map(|l| l.customer_id.clone()))
    }

    async fn timeline(
        &self,
        id: &CustomerId,
        kind: Option<TimelineKind>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<TimelinePage, CmpError> {
        self.call();
        let st = self.st();
        let Some(t) = st.timelines.get(id) else {
            return Ok(TimelinePage::default());
        };
        let mut items: Vec<TimelineRecord> = t
            .values()
            .rev()
            .filter(|r| after.is_none_or(|a| r.sk.as_str() < a))
            .filter(|r| kind.is_none_or(|k| r.kind == k))
            .take(limit + 1)
            .cloned()
            .collect();
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more { items.last().map(|r| r.sk.clone()) } else { None };
        Ok(TimelinePage { items, next })
    }

    async fn park(&self, parked: &ParkedEvent) -> Result<(), CmpError> {
        self.call();
        self.st().parked.push(parked.clone());
        Ok(())
    }
}

#[async_trait]
impl WrappedKeyStore for MemoryStore {
    async fn get_wrapped(&self, key_id: &str) -> Result<Option<Vec<u8>>, KeyError> {
        self.call();
        Ok(self.st().keys.get(key_id).cloned())
    }
    async fn put_wrapped_if_absent(&self, key_id: &str, wrapped: &[u8], _purpose: &str) -> Result<bool, KeyError> {
        self.call();
        let mut st = self.st();
        if st.keys.contains_key(key_id) {
            return Ok(false);
        }
        st.keys.insert(key_id.to_owned(), wrapped.to_vec());
        Ok(true)
    }
    async fn delete_wrapped(&self, key_id: &str) -> Result<bool, KeyError> {
        self.call();
        Ok(self.st().keys.remove(key_id).is_some())
    }
}

#[async_trait]
impl PrivacyStore for MemoryStore {
    async fn consents(&self, id: &CustomerId) -> Result<Vec<ConsentRecord>, CmpError> {
        self.call();
        Ok(self.st().consents.get(id).map(|m| m.values().cloned().collect()).unwrap_or_default())
    }

    async fn append_consent(
        &self,
        id: &CustomerId,
        record: &ConsentRecord,
        audit: &crate::audit::AuditRecord,
    ) -> Result<(), CmpError> {
        self.call();
        let mut st = self.st();
        let sk = consent_sort_key(record);
        let exists = st.consents.get(id).is_some_and(|m| m.contains_key(&sk));
        if exists || !st.audit_next_ok(audit) {
            return Err(StoreError::Conflict.into());
        }
        st.consents.entry(id.clone()).or_default().insert(sk, record.clone());
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn holds(&self, id: &CustomerId) -> Result<Vec<LegalHold>, CmpError> {
        self.call();
        Ok(self.st().holds.get(id).map(|m| m.values().cloned().collect()).unwrap_or_default())
    }

    async fn put_hold(&self, id: &CustomerId, hold: &LegalHold) -> Result<(), CmpError> {
        self.call();
        self.st().holds.entry(id.clone()).or_default().insert(hold.kind.clone(), hold.clone());
        Ok(())
    }

    async fn release_hold(&self, id: &CustomerId, kind: &str) -> Result<bool, CmpError> {
        self.call();
        Ok(self.st().holds.get_mut(id).and_then(|m| m.remove(kind)).is_some())
    }

    async fn requests(&self, id: &CustomerId) -> Result<Vec<RightsRequest>, CmpError> {
        self.call();
        Ok(self.st().requests.get(id).map(|m| m.values().cloned().collect()).unwrap_or_default())
    }

    async fn put_request(&self, id: &CustomerId, request: &RightsRequest) -> Result<(), CmpError> {
        self.call();
        self.st().requests.entry(id.clone()).or_default().insert(request_sort_key(request), request.clone());
        Ok(())
    }

    async fn customer_keys(&self, id: &CustomerId) -> Result<CustomerKeys, CmpError> {
        self.call();
        let st = self.st();
        let mut sort_keys = Vec::new();
        if st.profiles.contains_key(id) {
            sort_keys.push(super::PROFILE_SK.to_owned());
        }
        sort_keys.extend(st.timelines.get(id).into_iter().flat_map(|t| t.keys().cloned()));
        sort_keys.extend(st.consents.get(id).into_iter().flat_map(|t| t.keys().cloned()));
        sort_keys.extend(st.holds.get(id).into_iter().flat_map(|t| t.keys().map(|k| format!("HOLD#{k}"))));
        sort_keys.extend(st.requests.get(id).into_iter().flat_map(|t| t.keys().cloned()));
        let lookups = st.lookups.iter().filter(|(_, o)| &o.customer_id == id).map(|(k, _)| k.clone()).collect();
        Ok(CustomerKeys { sort_keys, lookups })
    }

    async fn erase(&self, plan: &ErasurePlan) -> Result<(), CmpError> {
        self.call();
        let mut st = self.st();
        let id = plan.tombstone.id.clone();
        if st.profiles.get(&id).map(|p| p.version) != Some(plan.expected_version) || !st.audit_next_ok(&plan.audit) {
            return Err(StoreError::Conflict.into());
        }
        st.profiles.insert(id.clone(), plan.tombstone.clone());
        st.audit.push(plan.audit.clone());
        for flight in st.flights.values_mut() {
            flight.retain(|_, f| f.customer_id != id);
        }
        st.current_bookings.retain(|_, b| b.customer_id != id);
        st.guarded.retain(|_, g| g.owner != id);
        for m in &plan.replay_guards {
            st.markers.insert(m.clone());
        }
        for l in &plan.delete_lookups {
            if st.lookups.get(l).map(|o| &o.customer_id) == Some(&id) {
                st.lookups.remove(l);
            }
        }
        for b in &plan.leave_blocks {
            if let Some(members) = st.blocks.get_mut(b) {
                members.remove(&id);
            }
        }
        for sk in &plan.delete_sort_keys {
            if sk.starts_with("TL#") {
                if let Some(t) = st.timelines.get_mut(&id) {
                    t.remove(sk);
                }
            } else if sk.starts_with("CONSENT#") {
                if let Some(t) = st.consents.get_mut(&id) {
                    t.remove(sk);
                }
            } else if let Some(kind) = sk.strip_prefix("HOLD#") {
                if let Some(t) = st.holds.get_mut(&id) {
                    t.remove(kind);
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl crate::export::ExportScan for MemoryStore {
    async fn export_items(&self, timelines: bool) -> Result<crate::export::ExportItems, CmpError> {
        self.call();
        let st = self.st();
        Ok(crate::export::ExportItems {
            profiles: st.profiles.values().cloned().collect(),
            consents: st.consents.iter().map(|(k, v)| (k.clone(), v.values().cloned().collect())).collect(),
            bookings: st
                .timelines
                .iter()
                .map(|(k, t)| (k.clone(), t.values().filter(|r| r.kind == TimelineKind::Booking).count() as u32))
                .collect(),
            timelines: if timelines {
                st.timelines.iter().map(|(k, t)| (k.clone(), t.values().cloned().collect())).collect()
            } else {
                Default::default()
            },
        })
    }
}

#[async_trait]
impl crate::cases::FlightIndex for MemoryStore {
    async fn flight_passengers(&self, flight_key: &str) -> Result<Vec<crate::cases::FlightPassenger>, CmpError> {
        self.call();
        Ok(self.st().flights.get(flight_key).map(|m| m.values().cloned().collect()).unwrap_or_default())
    }

    async fn current_bookings(
        &self,
        passenger_keys: &[String],
    ) -> Result<HashMap<String, crate::cases::BookingCurrent>, CmpError> {
        self.call();
        let st = self.st();
        Ok(passenger_keys.iter().filter_map(|k| st.current_bookings.get(k).map(|b| (k.clone(), b.clone()))).collect())
    }

    async fn put_timeline(&self, customer: &CustomerId, record: &TimelineRecord) -> Result<(), CmpError> {
        self.call();
        self.st().timelines.entry(customer.clone()).or_default().insert(record.sk.clone(), record.clone());
        Ok(())
    }
}

#[async_trait]
impl super::IdentityStore for MemoryStore {
    async fn partition(&self, id: &CustomerId) -> Result<super::Partition, CmpError> {
        self.call();
        let st = self.st();
        let timeline = st.timelines.get(id).map(|t| t.values().cloned().collect()).unwrap_or_default();
        let consents = st
            .consents
            .get(id)
            .map(|m| {
                m.iter()
                    .map(|(sk, r)| super::ConsentEntry {
                        record: r.clone(),
                        origin: st.consent_origin.get(&(id.clone(), sk.clone())).cloned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let holds = st.holds.get(id).map(|m| m.values().cloned().collect()).unwrap_or_default();
        let lookups = st
            .lookups
            .iter()
            .filter(|(_, l)| &l.customer_id == id)
            .map(|(k, l)| super::LookupRecord {
                key: k.clone(),
                customer_id: l.customer_id.clone(),
                origin: l.origin.clone(),
                claimed_by: l.claimed_by.clone(),
                created_at: l.created_at,
            })
            .collect();
        let mut index = Vec::new();
        for (fk, pax) in &st.flights {
            for (pk, f) in pax {
                if &f.customer_id == id {
                    let (origin, marker) =
                        st.index_meta.get(&(fk.clone(), format!("PAX#{pk}"))).cloned().unwrap_or_default();
                    index.push(super::IndexRecord { pk: fk.clone(), sk: format!("PAX#{pk}"), origin, marker });
                }
            }
        }
        for (pk, b) in &st.current_bookings {
            if &b.customer_id == id {
                let key = (format!("PAXB#{pk}"), "CURRENT".to_owned());
                let (origin, marker) = st.index_meta.get(&key).cloned().unwrap_or_default();
                index.push(super::IndexRecord { pk: key.0, sk: key.1, origin, marker });
            }
        }
        Ok(super::Partition { timeline, consents, holds, lookups, index })
    }

    async fn move_items(&self, from: &CustomerId, to: &CustomerId, moves: &[super::Move]) -> Result<(), CmpError> {
        self.call();
        if moves.len() > super::MOVE_BATCH {
            return Err(CmpError::Integrity("move batch too large".into()));
        }
        let mut st = self.st();
        for m in moves {
            match m {
                super::Move::Timeline(t) => {
                    if let Some(tl) = st.timelines.get_mut(from) {
                        tl.remove(&t.sk);
                    }
                    st.timelines.entry(to.clone()).or_default().insert(t.sk.clone(), t.clone());
                }
                super::Move::Consent(c) => {
                    let sk = consent_sort_key(&c.record);
                    if let Some(m) = st.consents.get_mut(from) {
                        m.remove(&sk);
                    }
                    st.consent_origin.remove(&(from.clone(), sk.clone()));
                    st.consents.entry(to.clone()).or_default().insert(sk.clone(), c.record.clone());
                    if let Some(o) = &c.origin {
                        st.consent_origin.insert((to.clone(), sk), o.clone());
                    }
                }
                super::Move::Hold(h) => {
                    st.holds.entry(to.clone()).or_default().entry(h.kind.clone()).or_insert_with(|| h.clone());
                }
                super::Move::Lookup { key, origin } => {
                    if let Some(l) = st.lookups.get_mut(key) {
                        if &l.customer_id == from {
                            l.customer_id = to.clone();
                            l.origin = origin.clone();
                        }
                    }
                }
                super::Move::Index { pk, sk, origin } => {
                    if let Some(pax) = sk.strip_prefix("PAX#") {
                        if let Some(f) = st.flights.get_mut(pk).and_then(|m| m.get_mut(pax)) {
                            f.customer_id = to.clone();
                        }
                    } else if let Some(pax) = pk.strip_prefix("PAXB#") {
                        if let Some(b) = st.current_bookings.get_mut(pax) {
                            b.customer_id = to.clone();
                        }
                    }
                    let entry = st.index_meta.entry((pk.clone(), sk.clone())).or_default();
                    entry.0 = origin.clone();
                }
            }
        }
        Ok(())
    }

    async fn merges(&self, survivor: &CustomerId) -> Result<Vec<super::MergeRecord>, CmpError> {
        self.call();
        Ok(self.st().merges.get(survivor).map(|m| m.values().cloned().collect()).unwrap_or_default())
    }

    async fn commit_identity(&self, c: &super::IdentityCommit) -> Result<(), CmpError> {
        self.call();
        if self.fail_identity_commits.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(StoreError::Unavailable("injected fault".into()).into());
        }
        let mut st = self.st();
        let ok = c.profiles.iter().all(|(p, v)| st.profiles.get(&p.id).map(|x| x.version) == Some(*v))
            && c.audit.iter().all(|a| st.audit_next_ok(a))
            && c.decided
                .as_ref()
                .is_none_or(|d| st.matches.get(&d.id).is_some_and(|m| m.status == super::MatchStatus::Pending));
        if !ok {
            return Err(StoreError::Conflict.into());
        }
        for (p, _) in &c.profiles {
            st.profiles.insert(p.id.clone(), p.clone());
        }
        if let Some(m) = &c.merge {
            st.merges.entry(m.survivor.clone()).or_default().insert(m.sort_key(), m.clone());
        }
        if let Some(k) = &c.keep_apart {
            st.apart.insert(super::KeepApart::key(&k.a, &k.b), k.clone());
        }
        if let Some(d) = &c.decided {
            st.matches.insert(d.id.clone(), d.clone());
        }
        for a in &c.audit {
            st.audit.push(a.clone());
        }
        Ok(())
    }

    async fn kept_apart(&self, x: &CustomerId, y: &CustomerId) -> Result<bool, CmpError> {
        self.call();
        Ok(self.st().apart.contains_key(&super::KeepApart::key(x, y)))
    }

    async fn put_match(&self, m: &super::MatchCandidate) -> Result<bool, CmpError> {
        self.call();
        let mut st = self.st();
        if st.matches.contains_key(&m.id) {
            return Ok(false);
        }
        st.matches.insert(m.id.clone(), m.clone());
        Ok(true)
    }

    async fn get_match(&self, id: &str) -> Result<Option<super::MatchCandidate>, CmpError> {
        self.call();
        Ok(self.st().matches.get(id).cloned())
    }

    async fn pending_matches(&self, limit: usize) -> Result<Vec<super::MatchCandidate>, CmpError> {
        self.call();
        let mut out: Vec<_> =
            self.st().matches.values().filter(|m| m.status == super::MatchStatus::Pending).cloned().collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        out.truncate(limit);
        Ok(out)
    }

    async fn decided_matches(&self, limit: usize) -> Result<Vec<super::MatchCandidate>, CmpError> {
        self.call();
        let mut out: Vec<_> =
            self.st().matches.values().filter(|m| m.status != super::MatchStatus::Pending).cloned().collect();
        out.sort_by_key(|m| std::cmp::Reverse(m.decided_at));
        out.truncate(limit);
        Ok(out)
    }

    async fn forget_matches(&self, matches: &[super::MatchCandidate]) -> Result<(), CmpError> {
        self.call();
        let mut st = self.st();
        for m in matches {
            st.matches.remove(&m.id);
        }
        Ok(())
    }

    async fn guarded_identifiers(&self, limit: usize) -> Result<Vec<super::GuardedIdentifier>, CmpError> {
        self.call();
        let mut out: Vec<_> = self.st().guarded.values().cloned().collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.reached_at));
        out.truncate(limit);
        Ok(out)
    }
}
