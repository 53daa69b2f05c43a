//! The read API: golden profiles, timelines and lookups by identifier, decrypted for the caller.
use crate::authz::{profile_view, Field, Role};
use crate::crypto::{BlindIndexer, KeyRing};
use crate::domain::event::{Identifier, TimelineKind};
use crate::domain::pii::{Email, LoyaltyNumber, PhoneE164};
use crate::domain::CustomerId;
use crate::error::CmpError;
use crate::merge::{open_profile, timeline_field};
use crate::store::{ProfileRecord, ProfileStatus, ProfileStore, TimelineRecord};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub struct ReadApi {
    store: Arc<dyn ProfileStore>,
    keys: Arc<KeyRing>,
    indexer: Arc<BlindIndexer>,
}

/// Which identifier a lookup uses.
#[derive(Debug, Clone)]
pub enum Lookup {
    Email(Email),
    Phone(PhoneE164),
    Loyalty(LoyaltyNumber),
}

impl Lookup {
    fn identifier(&self) -> Identifier {
        match self {
            Lookup::Email(e) => Identifier::Email(e.match_key()),
            Lookup::Phone(p) => Identifier::Phone(p.match_key()),
            Lookup::Loyalty(l) => Identifier::Loyalty(l.match_key()),
        }
    }
}

/// An opaque timeline cursor: the sort key of the last entry of the previous page.
pub fn encode_cursor(sk: &str) -> String {
    URL_SAFE_NO_PAD.encode(sk.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > 200 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let sk = String::from_utf8(bytes).ok()?;
    TimelineRecord::is_sort_key(&sk).then_some(sk)
}

/// One e-mail or phone of the profile view: the value under `key`, with its verification and origin.
fn contact_json(
    key: &str,
    value: &str,
    verified: bool,
    kind: &Option<String>,
    source: &str,
    seen: &chrono::DateTime<chrono::Utc>,
) -> Value {
    let mut v = json!({"verified": verified, "kind": kind, "source": source, "observed_at": seen});
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    drop_nulls(&mut v);
    v
}

fn drop_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, x| !x.is_null());
    }
}

impl ReadApi {
    pub fn new(store: Arc<dyn ProfileStore>, keys: Arc<KeyRing>, indexer: Arc<BlindIndexer>) -> Self {
        ReadApi { store, keys, indexer }
    }

    /// Every blocking item key (`BLK#…`) the profile can have joined: those of the golden profile's
    /// records and of each sighting on its timeline, computed the way the merge computes them.
    /// Erasure takes the customer out of these items; it must run before the data key is destroyed.
    pub async fn block_keys_of(&self, record: &ProfileRecord) -> Result<Vec<String>, CmpError> {
        let engine = crate::matching::engine();
        let key = self.keys.key_for(&record.id).await?;
        let mut persons = crate::matching::persons_of_golden(&open_profile(&key, record)?);
        let mut after: Option<String> = None;
        loop {
            let page = self.store.timeline(&record.id, None, 100, after.as_deref()).await?;
            for t in &page.items {
                let Some(sealed) = &t.sighting else { continue };
                let plain = key.open(record.id.as_str(), &crate::identity::sighting_field(&t.sk), sealed)?;
                let s: crate::identity::Sighting = serde_json::from_slice(&plain)
                    .map_err(|e| CmpError::Integrity(format!("sighting does not decode: {e}")))?;
                persons.push(crate::matching::person_of_observation(&s.observation));
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let mut blocks: Vec<String> =
            persons.iter().flat_map(|p| engine.block_keys(p)).map(|k| self.indexer.block_key(&k)).collect();
        blocks.sort();
        blocks.dedup();
        Ok(blocks)
    }

    /// The profile as the API shows it: personal fields decrypted, lineage and sources attached.
    pub async fn view(&self, record: &ProfileRecord) -> Result<Value, CmpError> {
        if record.status == ProfileStatus::Erased {
            return Err(CmpError::Erased);
        }
        let key = self.keys.key_for(&record.id).await?;
        let g = open_profile(&key, record)?;
        let emails: Vec<Value> = g
            .emails
            .iter()
            .map(|e| contact_json("address", e.value.as_str(), e.verified, &e.kind, &e.source, &e.last_seen))
            .collect();
        let phones: Vec<Value> = g
            .phones
            .iter()
            .map(|p| contact_json("number", p.value.as_str(), p.verified, &p.kind, &p.source, &p.last_seen))
            .collect();
        let mut lineage = Map::new();
        for (field, l) in &record.lineage {
            lineage.insert(
                field.clone(),
                json!({"source": l.source, "channel": l.channel, "event_id": l.event_id, "observed_at": l.observed_at}),
            );
        }
        let mut out = json!({
            "id": record.id,
            "version": record.version,
            "status": record.status,
            "merged_into": record.merged_into,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "name": g.name,
            "emails": emails,
            "phones": phones,
            "date_of_birth": g.date_of_birth,
            "nationality": g.nationality,
            "loyalty": g.loyalty,
            "address": g.address,
            "documents": g.documents.iter().map(|d| d.document.clone()).collect::<Vec<_>>(),
            "preferences": g.preferences,
            "special_assistance": g.special_assistance,
            "tier": record.tier,
            "segments": (!record.segments.is_empty()).then_some(&record.segments),
            "lineage": lineage,
            "sources": record.sources.iter().map(|(s, t)| json!({"source": s, "first_seen": t})).collect::<Vec<_>>(),
        });
        drop_nulls(&mut out);
        Ok(out)
    }

    /// The stored profile item itself (no redirect followed).
    pub async fn store_record(&self, id: &CustomerId) -> Result<Option<ProfileRecord>, CmpError> {
        self.store.get_profile(id).await
    }

    /// The stored profile; a merged profile answers with its survivor.
    pub async fn record(&self, id: &CustomerId) -> Result<Option<ProfileRecord>, CmpError> {
        let mut id = id.clone();
        for _ in 0..5 {
            match self.store.get_profile(&id).await? {
                None => return Ok(None),
                Some(r) if r.status == ProfileStatus::Merged => match r.merged_into {
                    Some(next) => id = next,
                    None => return Ok(None),
                },
                Some(r) => return Ok(Some(r)),
            }
        }
        Err(CmpError::Integrity("merge redirects form a chain longer than 5".into()))
    }

    /// Reads a profile as `role` may see it. Returns the view and the personal fields it holds.
    pub async fn profile_as(
        &self,
        id: &CustomerId,
        role: Role,
    ) -> Result<Option<(Value, Vec<&'static str>)>, CmpError> {
        match self.record(id).await? {
            None => Ok(None),
            Some(r) => Ok(Some(self.restricted_view(&r, role).await?)),
        }
    }

    /// The full view cut down to the fields of the role's view (the rules live in [`profile_view`]).
    pub async fn restricted_view(
        &self,
        record: &ProfileRecord,
        role: Role,
    ) -> Result<(Value, Vec<&'static str>), CmpError> {
        let fields = profile_view(role);
        let mut full = self.view(record).await?;
        if fields.contains(&Field::RecentComplaints) {
            full["recent_complaints"] = self.recent_complaints(record).await?;
        }
        let Value::Object(map) = full else { return Err(CmpError::Integrity("profile view is not an object".into())) };
        let always = ["id", "version", "status", "merged_into", "created_at", "updated_at"];
        let mut out = Map::new();
        let mut shown = Vec::new();
        for (k, mut v) in map {
            if always.contains(&k.as_str()) {
                out.insert(k, v);
            } else if let Some(f) = fields.iter().find(|f| f.as_str() == k) {
                if *f == Field::Preferences && special_meal(&v).is_some() {
                    // a meal code revealing religion or health (GDPR Art. 9) only with `special_meal`
                    if fields.contains(&Field::SpecialMeal) {
                        shown.push(Field::SpecialMeal.as_str());
                    } else if let Some(p) = v.as_object_mut() {
                        p.remove("meal");
                    }
                }
                shown.push(f.as_str());
                out.insert(k, v);
            }
        }
        Ok((Value::Object(out), shown))
    }

    /// The three most recent complaints (when and the summary), for the cabin crew's view.
    async fn recent_complaints(&self, record: &ProfileRecord) -> Result<Value, CmpError> {
        let page = self.store.timeline(&record.id, Some(TimelineKind::Complaint), 3, None).await?;
        if page.items.is_empty() {
            return Ok(Value::Array(vec![]));
        }
        let key = self.keys.key_for(&record.id).await?;
        let mut out = Vec::new();
        for t in &page.items {
            let detail: Value =
                serde_json::from_slice(&key.open(record.id.as_str(), &timeline_field(&t.sk), &t.payload)?)
                    .map_err(|e| CmpError::Integrity(format!("timeline detail does not decode: {e}")))?;
            out.push(
                json!({"occurred_at": t.occurred_at, "summary": detail.get("summary").cloned().unwrap_or(Value::Null)}),
            );
        }
        Ok(Value::Array(out))
    }

    /// Finds the owner of an identifier through its blind index.
    pub async fn find_id(&self, lookup: &Lookup) -> Result<Option<CustomerId>, CmpError> {
        let key = self.indexer.lookup_key(&lookup.identifier());
        self.store.owner_of(&key).await
    }

    /// A page of the timeline, newest first; `None` when the profile does not exist.
    pub async fn timeline(
        &self,
        id: &CustomerId,
        kind: Option<TimelineKind>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Option<Value>, CmpError> {
        let Some(record) = self.store.get_profile(id).await? else {
            return Ok(None);
        };
        if record.status == ProfileStatus::Erased {
            return Err(CmpError::Erased);
        }
        let page = self.store.timeline(&record.id, kind, limit, after).await?;
        let key = if page.items.is_empty() { None } else { Some(self.keys.key_for(&record.id).await?) };
        let mut items = Vec::with_capacity(page.items.len());
        for t in &page.items {
            let detail: Value = match &key {
                Some(k) => serde_json::from_slice(&k.open(record.id.as_str(), &timeline_field(&t.sk), &t.payload)?)
                    .map_err(|e| CmpError::Integrity(format!("timeline detail does not decode: {e}")))?,
                None => Value::Null,
            };
            items.push(json!({
                "id": t.sk.splitn(3, '#').nth(2).unwrap_or_default().replace('#', "-"),
                "kind": t.kind,
                "occurred_at": t.occurred_at,
                "source": t.source,
                "channel": t.channel,
                "event_id": t.event_id,
                "detail": detail,
            }));
        }
        Ok(Some(json!({"items": items, "next_cursor": page.next.as_deref().map(encode_cursor)})))
    }
}

/// The special-category meal code (religion or health, [`cmp_core::domain::meal`]) among the
/// `preferences` of a profile view, if any.
pub fn special_meal(preferences: &Value) -> Option<&str> {
    preferences.get("meal").and_then(Value::as_str).filter(|m| cmp_core::domain::meal::is_special_category(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        let sk = "TL#2026-11-20T10:00:00.000000Z#0123456789abcdef0123456789abcdef#P1";
        assert_eq!(decode_cursor(&encode_cursor(sk)).as_deref(), Some(sk));
        for bad in ["", "!!!", &encode_cursor("PROFILE"), &encode_cursor("TL#nope#x"), &encode_cursor("IDX#email#abc")]
        {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
