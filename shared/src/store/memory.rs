//! In-memory fake of the profile store with the same semantics as the DynamoDB adapter: conditional,
//! all-or-nothing commits. Optional fault injection lets tests exercise retries.
use super::{Commit, ParkedEvent, Prefetch, ProfileRecord, ProfileStore, StoreError, TimelinePage, TimelineRecord};
use crate::crypto::{KeyError, WrappedKeyStore};
use crate::domain::event::TimelineKind;
use crate::domain::CustomerId;
use crate::error::CmpError;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

#[derive(Default)]
struct State {
    profiles: HashMap<CustomerId, ProfileRecord>,
    lookups: HashMap<String, CustomerId>,
    markers: HashSet<String>,
    timelines: HashMap<CustomerId, BTreeMap<String, TimelineRecord>>,
    keys: HashMap<String, Vec<u8>>,
    parked: Vec<ParkedEvent>,
    audit: Vec<crate::audit::AuditRecord>,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// The next N commits fail as unavailable.
    pub fail_commits: AtomicU32,
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
    pub fn delete_key(&self, key_id: &str) {
        self.st().keys.remove(key_id);
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
            owners: lookups.iter().filter_map(|l| st.lookups.get(l).map(|c| (l.clone(), c.clone()))).collect(),
        })
    }

    async fn get_profile(&self, id: &CustomerId) -> Result<Option<ProfileRecord>, CmpError> {
        self.call();
        Ok(self.st().profiles.get(id).cloned())
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
            && c.audit.as_ref().is_none_or(|a| {
                st.audit.iter().filter(|r| r.chain == a.chain).map(|r| r.seq).max().unwrap_or(0) + 1 == a.seq
            });
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
            st.lookups.insert(l.clone(), c.profile.id.clone());
        }
        if let Some(a) = &c.audit {
            st.audit.push(a.clone());
        }
        if let Some(t) = &c.timeline {
            st.timelines.entry(c.profile.id.clone()).or_default().insert(t.sk.clone(), t.clone());
        }
        Ok(())
    }

    async fn owner_of(&self, lookup: &str) -> Result<Option<CustomerId>, CmpError> {
        self.call();
        Ok(self.st().lookups.get(lookup).cloned())
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
}
