//! Merge: turn inbound events into golden profiles and timeline entries.
//!
//! For each unit of an event (one person): compute the blind indexes of its strong identifiers,
//! read the processed-marker and the lookup items in one batched read, pick the profile owning the
//! strongest identifier (or mint a new customer with a new data key), fold the observation in by
//! the survivorship rules, and commit profile, lookups, timeline entry and marker in one
//! transaction guarded by the profile version. A conflict re-reads and retries; a replay finds the
//! marker and changes nothing. Events whose content is invalid are parked with their reason.
use crate::audit::{chain_of, AuditEntry, ChainHead};
use crate::crypto::{BlindIndexer, DataKey, KeyRing, KeyService};
use crate::deadletter::{DeadLetters, Decoded};
use crate::domain::event::{parse_event, Event, EventType, FieldError, TimelineKind, Unit};
use crate::domain::profile::{Golden, Lineage, FIELDS};
use crate::domain::{CustomerId, EventRef};
use crate::error::CmpError;
use crate::schema::EventValidator;
use crate::store::{Commit, ProfileRecord, ProfileStatus, ProfileStore, StoreError, TimelineRecord};
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Markers outlive the inbound stream's retention (7 days), so any replay from the stream is caught.
pub const MARKER_TTL_DAYS: i64 = 8;
const MAX_ATTEMPTS: u32 = 8;
/// Bound of the pool of unused (customer id, data key) pairs.
const MAX_SPARE_KEYS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub duplicates: u32,
    /// Identifiers the event carried that already belong to another profile (left where they are).
    pub identifier_conflicts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied(Tally),
    Parked {
        reason_code: String,
    },
    /// An event type another function handles.
    NotMine,
}

pub struct Merge {
    store: Arc<dyn ProfileStore>,
    keys: Arc<KeyRing>,
    indexer: Arc<BlindIndexer>,
    validator: Arc<EventValidator>,
    pub(crate) dead_letters: DeadLetters,
    /// Customer ids with data keys minted for creations that lost a race, for the next new customers.
    spare: std::sync::Mutex<Vec<(CustomerId, DataKey, Vec<u8>)>>,
}

/// The unit being merged, with its marker and where its observations come from.
#[derive(Clone, Copy)]
struct UnitCtx<'a> {
    event: &'a Event,
    unit: &'a Unit,
    marker: &'a str,
    from: &'a Lineage,
    /// Lookup keys of the unit's identifiers, strongest first.
    lookups: &'a [String],
}

enum UnitResult {
    Created,
    Updated,
    Unchanged,
    Duplicate,
}

fn seal_all(key: &DataKey, id: &CustomerId, golden: &Golden, fields: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for f in fields {
        if let Some(json) = golden.field_json(f) {
            if json != b"null" && json != b"[]" && json != b"{}" {
                out.insert((*f).to_owned(), key.seal(id.as_str(), f, &json));
            }
        }
    }
    out
}

/// Decrypts the golden record of a stored profile.
pub fn open_profile(key: &DataKey, record: &ProfileRecord) -> Result<Golden, CmpError> {
    let mut g = Golden::default();
    for (field, sealed) in &record.sealed {
        let json = key.open(record.id.as_str(), field, sealed)?;
        g.set_field_json(field, &json)
            .map_err(|e| CmpError::Integrity(format!("field {field} does not decode: {e}")))?;
    }
    Ok(g)
}

fn commit_fields_present(golden: &Golden, field: &str) -> bool {
    golden.field_json(field).is_some_and(|j| j != b"null" && j != b"[]" && j != b"{}")
}

/// The audit entry of a change made by an event: the event's source is the actor.
fn change_entry(event: &Event, id: &CustomerId, action: &str, fields: &[&str]) -> AuditEntry {
    let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    fields.push("timeline".into());
    AuditEntry {
        at: Utc::now(),
        actor: event.source.clone(),
        role: "channel".into(),
        action: action.into(),
        customer_id: Some(id.to_string()),
        fields,
        purpose: "data_collection".into(),
        request_id: event.id.clone(),
        outcome: "changed".into(),
    }
}

/// The segments of a profile as it is about to be written.
fn segments_of(p: &ProfileRecord, golden: &Golden) -> Vec<String> {
    crate::segments::segments(crate::segments::Inputs {
        tier: p.tier.as_deref(),
        loyalty_member: golden.loyalty.is_some(),
        bookings: p.bookings,
        sources: p.sources.len(),
    })
}

pub fn timeline_field(sk: &str) -> String {
    format!("timeline:{sk}")
}

impl Merge {
    pub fn new(
        store: Arc<dyn ProfileStore>,
        keys: Arc<KeyRing>,
        kms: Arc<dyn KeyService>,
        indexer: Arc<BlindIndexer>,
        validator: Arc<EventValidator>,
        dead_letter_ttl_days: i64,
    ) -> Self {
        Merge {
            store: store.clone(),
            keys,
            dead_letters: DeadLetters::new(store.clone(), kms, dead_letter_ttl_days),
            indexer,
            validator,
            spare: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Processes one stream record. `Err` means "retry later" (the record is reported as a batch item
    /// failure); invalid content is parked and answered `Ok(Outcome::Parked)`.
    pub async fn process_record(&self, data: &[u8], origin: &str) -> Result<Outcome, CmpError> {
        let (raw, data) = match crate::deadletter::decode(data, &self.validator) {
            Decoded::Envelope { raw, data } => (raw, data),
            Decoded::Rejected { data, reason_code, reasons } => {
                return self.park(&data, origin, reason_code, reasons).await
            }
        };
        if matches!(raw.event_type, EventType::ConsentChanged | EventType::FlightDisrupted) {
            // the consent and compensate functions' events
            return Ok(Outcome::NotMine);
        }
        let event = match parse_event(&raw) {
            Ok(e) => e,
            Err(errors) => return self.park(&data, origin, "invalid_event", errors).await,
        };
        let mut tally = Tally::default();
        for unit in &event.units {
            match self.process_unit(&event, unit, &mut tally).await? {
                UnitResult::Created => tally.created += 1,
                UnitResult::Updated => tally.updated += 1,
                UnitResult::Unchanged => tally.unchanged += 1,
                UnitResult::Duplicate => tally.duplicates += 1,
            }
        }
        Ok(Outcome::Applied(tally))
    }

    async fn process_unit(&self, event: &Event, unit: &Unit, tally: &mut Tally) -> Result<UnitResult, CmpError> {
        let marker = EventRef::new(&event.source, &event.id).part(&unit.part);
        let mut ids = unit.identifiers();
        ids.sort_by_key(|i| i.priority());
        let lookups: Vec<String> = ids.iter().map(|i| self.indexer.lookup_key(i)).collect();
        let booking_lookup = ids
            .iter()
            .find(|i| matches!(i, crate::domain::event::Identifier::BookingPassenger(_)))
            .map(|i| self.indexer.lookup_key(i));
        let mut lookups_unique = lookups.clone();
        lookups_unique.sort();
        lookups_unique.dedup();
        let from = Lineage {
            source: event.source.clone(),
            channel: unit.channel,
            event_id: event.id.clone(),
            observed_at: event.time,
        };
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                let jitter = rand::random::<u64>() % 25;
                tokio::time::sleep(Duration::from_millis((10u64 << attempt.min(6)) + jitter)).await;
            }
            let pre = self.store.prefetch(std::slice::from_ref(&marker), &lookups_unique).await?;
            if pre.processed_markers.contains(&marker) {
                return Ok(UnitResult::Duplicate);
            }
            // the owner of the strongest identifier decides
            let deciding = lookups.iter().find(|l| pre.owners.contains_key(*l));
            let target = deciding.and_then(|l| pre.owners.get(l)).cloned();
            // the customer the identifier belonged to before a merge moved it
            let via = deciding.and_then(|l| pre.origins.get(l)).cloned();
            let conflicts = lookups_unique
                .iter()
                .filter(|l| pre.owners.get(*l).is_some_and(|o| Some(o) != target.as_ref()))
                .count();
            let claims: Vec<String> = lookups_unique.iter().filter(|l| !pre.owners.contains_key(*l)).cloned().collect();
            // a booking counts once per passenger: a re-recorded booking finds its passenger claimed
            let new_booking = unit.timeline.kind == TimelineKind::Booking
                && booking_lookup.as_ref().is_none_or(|l| claims.contains(l));
            let ctx = UnitCtx { event, unit, marker: &marker, from: &from, lookups: &lookups };
            let result = match target {
                None => self.create(&ctx, claims).await,
                Some(id) => self.update(&ctx, id, via, claims, new_booking).await,
            };
            match result {
                Ok(r) => {
                    tally.identifier_conflicts += conflicts as u32;
                    return Ok(r);
                }
                Err(CmpError::Store(StoreError::Conflict)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The flight-index items of a booking passenger (none for other units).
    fn flight_entries(
        &self,
        unit: &Unit,
        id: &CustomerId,
        event: &Event,
    ) -> (Vec<crate::cases::FlightPassenger>, Option<crate::cases::BookingCurrent>) {
        if unit.timeline.kind != TimelineKind::Booking {
            return (vec![], None);
        }
        let d = &unit.timeline.detail;
        let (Some(locator), Some(pid)) =
            (d.get("record_locator").and_then(|v| v.as_str()), d.get("passenger_id").and_then(|v| v.as_str()))
        else {
            return (vec![], None);
        };
        let key = self.indexer.passenger_key(locator, pid);
        crate::cases::index_entries(d, id, &key, event.time)
    }

    fn timeline_record(
        &self,
        key: &DataKey,
        id: &CustomerId,
        ctx: &UnitCtx<'_>,
        resolved_via: Option<CustomerId>,
    ) -> TimelineRecord {
        let UnitCtx { event, unit, marker, from, lookups } = *ctx;
        let sk = TimelineRecord::sort_key(unit.timeline.occurred_at, marker);
        let detail = serde_json::to_vec(&unit.timeline.detail).unwrap_or_default();
        let sighting = crate::identity::Sighting {
            observation: unit.observation.clone(),
            from: from.clone(),
            booking: unit.timeline.kind == TimelineKind::Booking,
        };
        let sighting = serde_json::to_vec(&sighting).unwrap_or_default();
        TimelineRecord {
            payload: key.seal(id.as_str(), &timeline_field(&sk), &detail),
            sighting: Some(key.seal(id.as_str(), &crate::identity::sighting_field(&sk), &sighting)),
            lookups: lookups.to_vec(),
            origin: None,
            resolved_via,
            recorded_at: Some(Utc::now()),
            sk,
            kind: unit.timeline.kind,
            occurred_at: unit.timeline.occurred_at,
            source: event.source.clone(),
            channel: unit.channel,
            event_id: event.id.clone(),
            expires_at: crate::retention::timeline_expiry(
                unit.timeline.kind,
                &unit.timeline.detail,
                unit.timeline.occurred_at,
            ),
        }
    }

    async fn create(&self, ctx: &UnitCtx<'_>, claims: Vec<String>) -> Result<UnitResult, CmpError> {
        let UnitCtx { event, unit, marker, from, .. } = *ctx;
        // a customer id with its data key minted for a creation that lost a race is used again
        // (the key's encryption context is the id, so the two travel together)
        let spare = self.spare.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let (id, key, wrapped) = match spare {
            Some(s) => s,
            None => {
                let id = CustomerId::new();
                let (key, wrapped) = self.keys.generate_for(&id).await?;
                (id, key, wrapped)
            }
        };
        let mut golden = Golden::default();
        let mut lineage = BTreeMap::new();
        golden.apply(&mut lineage, &unit.observation, from);
        let now = Utc::now();
        let mut profile = ProfileRecord {
            sealed: seal_all(&key, &id, &golden, &FIELDS),
            id: id.clone(),
            version: 1,
            status: ProfileStatus::Active,
            merged_into: None,
            created_at: now,
            updated_at: now,
            tier: golden.tier().map(|t| format!("{t:?}").to_lowercase()),
            bookings: u32::from(unit.timeline.kind == TimelineKind::Booking),
            segments: vec![],
            lineage,
            sources: BTreeMap::from([(event.source.clone(), event.time)]),
            erased_at: None,
            members: vec![],
            match_summary: None,
        };
        profile.segments = segments_of(&profile, &golden);
        let flights = self.flight_entries(unit, &id, event);
        let commit = Commit {
            marker: marker.to_owned(),
            marker_expires_at: (now + chrono::Duration::days(MARKER_TTL_DAYS)).timestamp(),
            timeline: Some(self.timeline_record(&key, &id, ctx, None)),
            profile,
            expected_version: None,
            profile_changed: true,
            new_wrapped_key: Some(wrapped),
            claim_lookups: claims,
            flight_index: flights.0,
            booking_current: flights.1,
            audit: Some(ChainHead::default().next(
                chain_of(Some(&id), now),
                change_entry(
                    event,
                    &id,
                    "profile_created",
                    &FIELDS.iter().copied().filter(|f| commit_fields_present(&golden, f)).collect::<Vec<_>>(),
                ),
            )),
        };
        if let Err(e) = self.store.commit(&commit).await {
            if matches!(e, CmpError::Store(StoreError::Conflict)) {
                {
                    let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
                    if spare.len() < MAX_SPARE_KEYS {
                        spare.push((id, key, commit.new_wrapped_key.unwrap_or_default()));
                    }
                }
            }
            return Err(e);
        }
        self.keys.adopt(&id, &key);
        Ok(UnitResult::Created)
    }

    async fn update(
        &self,
        ctx: &UnitCtx<'_>,
        id: CustomerId,
        mut via: Option<CustomerId>,
        claims: Vec<String>,
        new_booking: bool,
    ) -> Result<UnitResult, CmpError> {
        let UnitCtx { event, unit, marker, from, .. } = *ctx;
        let (mut current, mut audit_head) = self.store.get_profile_and_audit_head(&id).await?;
        // a merged profile answers with its survivor (while a merge moves its lookups)
        for _ in 0..4 {
            match &current {
                Some(p) if p.status == ProfileStatus::Merged => {
                    let next =
                        p.merged_into.clone().ok_or_else(|| CmpError::Integrity("merged without survivor".into()))?;
                    via.get_or_insert_with(|| p.id.clone());
                    (current, audit_head) = self.store.get_profile_and_audit_head(&next).await?;
                }
                _ => break,
            }
        }
        let Some(current) = current else {
            return Err(CmpError::Integrity("a lookup item points at a missing profile".into()));
        };
        if current.status != ProfileStatus::Active {
            return Err(CmpError::Integrity("a lookup item points at a profile that is not active".into()));
        }
        let id = current.id.clone();
        let key = self.keys.key_for(&id).await?;
        let mut golden = open_profile(&key, &current)?;
        let mut lineage = current.lineage.clone();
        let changed = golden.apply(&mut lineage, &unit.observation, from);
        let mut sources = current.sources.clone();
        let first_seen = sources.entry(event.source.clone()).or_insert(event.time);
        if event.time < *first_seen {
            *first_seen = event.time;
        }
        let bookings = current.bookings + u32::from(new_booking);
        let profile_changed = !changed.is_empty()
            || lineage != current.lineage
            || sources != current.sources
            || bookings != current.bookings;
        let mut profile = current.clone();
        if profile_changed {
            let mut sealed = current.sealed.clone();
            for (f, c) in seal_all(&key, &id, &golden, &changed) {
                sealed.insert(f, c);
            }
            profile.sealed = sealed;
            profile.lineage = lineage;
            profile.sources = sources;
            profile.version = current.version + 1;
            profile.updated_at = Utc::now();
            profile.tier = golden.tier().map(|t| format!("{t:?}").to_lowercase());
            profile.bookings = bookings;
            profile.segments = segments_of(&profile, &golden);
        }
        let flights = self.flight_entries(unit, &id, event);
        let commit = Commit {
            marker: marker.to_owned(),
            marker_expires_at: (Utc::now() + chrono::Duration::days(MARKER_TTL_DAYS)).timestamp(),
            timeline: Some(self.timeline_record(&key, &id, ctx, via)),
            profile,
            expected_version: Some(current.version),
            profile_changed,
            new_wrapped_key: None,
            claim_lookups: claims,
            flight_index: flights.0,
            booking_current: flights.1,
            audit: Some(audit_head.next(
                chain_of(Some(&id), Utc::now()),
                change_entry(
                    event,
                    &id,
                    if profile_changed { "profile_updated" } else { "timeline_appended" },
                    &changed,
                ),
            )),
        };
        self.store.commit(&commit).await?;
        Ok(if profile_changed { UnitResult::Updated } else { UnitResult::Unchanged })
    }

    /// Parks an unprocessable record with its reasons.
    async fn park(
        &self,
        data: &[u8],
        origin: &str,
        reason_code: &str,
        reasons: Vec<FieldError>,
    ) -> Result<Outcome, CmpError> {
        let reason_code = self.dead_letters.park(data, origin, reason_code, reasons).await?;
        Ok(Outcome::Parked { reason_code })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::fake::FakeKms;
    use crate::crypto::CachePolicy;
    use crate::store::memory::MemoryStore;
    use serde_json::json;
    use std::sync::atomic::Ordering;

    struct World {
        store: Arc<MemoryStore>,
        kms: Arc<FakeKms>,
        merge: Merge,
        keys: Arc<KeyRing>,
    }

    fn world() -> World {
        let store = Arc::new(MemoryStore::default());
        let kms = Arc::new(FakeKms::new());
        let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), CachePolicy::default()));
        let merge = Merge::new(
            store.clone(),
            keys.clone(),
            kms.clone(),
            Arc::new(BlindIndexer::from_key(&[9u8; 32])),
            Arc::new(EventValidator::new().unwrap()),
            14,
        );
        World { store, kms, merge, keys }
    }

    fn observed(id: &str, source: &str, subject: &str, data: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "specversion": "1.0", "id": id, "source": source, "type": "customer.profile_observed",
            "time": "2026-11-20T10:00:00Z", "subject": subject, "data": data
        }))
        .unwrap()
    }

    fn web(id: &str, email: &str) -> Vec<u8> {
        observed(
            id,
            "/channels/web",
            &format!("acct-{id}"),
            json!({"channel": "web", "name": {"given": "Inès", "family": "Lefèvre"}, "emails": [{"address": email}]}),
        )
    }

    #[tokio::test]
    async fn two_channels_sharing_an_email_make_one_profile() {
        let w = world();
        w.merge.process_record(&web("e1", "ines@example.com"), "t").await.unwrap();
        let call = observed(
            "c1",
            "/channels/call-centre",
            "crm-77",
            json!({"channel": "call_centre", "emails": [{"address": "INES@example.com"}], "phones": [{"number": "+33612345678"}]}),
        );
        let out = w.merge.process_record(&call, "t").await.unwrap();
        assert!(matches!(out, Outcome::Applied(Tally { updated: 1, .. })), "{out:?}");
        assert_eq!(w.store.profile_count(), 1);
        let p = &w.store.profiles()[0];
        assert_eq!(p.version, 2);
        let key = w.keys.key_for(&p.id).await.unwrap();
        let g = open_profile(&key, p).unwrap();
        assert_eq!(g.phones[0].value.as_str(), "+33612345678");
        assert_eq!(w.store.timeline_count(&p.id), 2);
    }

    #[tokio::test]
    async fn replays_change_nothing() {
        let w = world();
        let e = web("e1", "ines@example.com");
        w.merge.process_record(&e, "t").await.unwrap();
        let before = w.store.profiles();
        let out = w.merge.process_record(&e, "t").await.unwrap();
        assert_eq!(out, Outcome::Applied(Tally { duplicates: 1, ..Default::default() }));
        assert_eq!(w.store.profiles(), before);
        assert_eq!(w.store.timeline_count(&before[0].id), 1);
    }

    #[tokio::test]
    async fn a_known_customer_costs_three_store_calls_and_no_kms_call() {
        let w = world();
        w.merge.process_record(&web("e1", "ines@example.com"), "t").await.unwrap();
        w.kms.reset_counts();
        w.store.calls.store(0, Ordering::Relaxed);
        w.merge.process_record(&web("e2", "ines@example.com"), "t").await.unwrap();
        assert_eq!(w.store.calls.load(Ordering::Relaxed), 3, "prefetch, get profile, commit");
        assert_eq!(w.kms.decrypts() + w.kms.generates(), 0);
    }

    #[tokio::test]
    async fn personal_data_is_sealed_in_the_store() {
        let w = world();
        w.merge.process_record(&web("e1", "ines@example.com"), "t").await.unwrap();
        let p = &w.store.profiles()[0];
        let dump = format!("{p:?}");
        assert!(!dump.contains("ines@example.com") && !dump.contains("Lefèvre") && !dump.contains("Inès"));
        assert!(p.sealed.contains_key("name") && p.sealed.contains_key("emails"));
    }

    #[tokio::test]
    async fn invalid_records_are_parked_with_reasons_and_the_stream_goes_on() {
        let w = world();
        let out = w.merge.process_record(b"{broken", "shard-0:1").await.unwrap();
        assert_eq!(out, Outcome::Parked { reason_code: "invalid_json".into() });
        let bad = observed("x", "/channels/web", "s", json!({"channel": "web", "emails": [{"address": "nope"}]}));
        let out = w.merge.process_record(&bad, "shard-0:2").await.unwrap();
        assert_eq!(out, Outcome::Parked { reason_code: "schema_violation".into() });
        let bad_phone =
            observed("y", "/channels/web", "s", json!({"channel": "web", "phones": [{"number": "+353 12"}]}));
        let out = w.merge.process_record(&bad_phone, "shard-0:3").await.unwrap();
        assert_eq!(out, Outcome::Parked { reason_code: "invalid_event".into() });
        let parked = w.store.parked();
        assert_eq!(parked.len(), 3);
        assert_eq!(parked[2].reasons[0].path, "/data/phones/0/number");
        // the payload is sealed, not stored in clear
        assert!(!String::from_utf8_lossy(&parked[1].payload).contains("nope"));
        assert_eq!(w.store.profile_count(), 0);
    }

    #[tokio::test]
    async fn card_numbers_are_not_stored_even_from_records_that_bypassed_ingest() {
        let (_guard, logs) = crate::telemetry::capture();
        let w = world();
        let chat = serde_json::to_vec(&json!({
            "specversion": "1.0", "id": "c1", "source": "/channels/chat", "type": "customer.interaction_logged",
            "time": "2026-11-20T10:00:00Z", "subject": "chat-1",
            "data": {"channel": "chat", "kind": "chat", "customer": {"email": "ines@example.com"},
                     "text": "my card 5555-5555-5555-4444 was charged twice"}
        }))
        .unwrap();
        w.merge.process_record(&chat, "t").await.unwrap();
        let p = &w.store.profiles()[0];
        let key = w.keys.key_for(&p.id).await.unwrap();
        let page = w.store.timeline(&p.id, None, 10, None).await.unwrap();
        let detail = key.open(p.id.as_str(), &timeline_field(&page.items[0].sk), &page.items[0].payload).unwrap();
        let detail = String::from_utf8(detail).unwrap();
        assert!(!detail.contains("5555-5555-5555-4444") && detail.contains(crate::pci::REDACTED), "{detail}");
        // and an unparseable record carrying one is parked without it
        w.merge.process_record(b"{oops 4111111111111111", "t").await.unwrap();
        let parked = w.store.parked().pop().unwrap();
        let k = w.merge.dead_letters.key().unwrap().clone();
        let payload = String::from_utf8(k.open("dead-letter", &parked.reference, &parked.payload).unwrap()).unwrap();
        assert!(!payload.contains("4111111111111111"), "{payload}");
        // nor logged, whatever path the record took (merged, parked)
        let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("event parked"), "the test would prove nothing without logs: {logged}");
        for secret in ["5555-5555-5555-4444", "5555555555554444", "4111111111111111", "ines@example.com"] {
            assert!(!logged.contains(secret), "{secret} in the logs: {logged}");
        }
    }

    #[tokio::test]
    async fn identifiers_that_pass_a_luhn_check_are_not_mistaken_for_cards() {
        let w = world();
        // a valid German mobile number whose 13 digits pass the Luhn check
        let digits = (0..100_000u32)
            .map(|n| format!("49176{:08}", 73_840_000 + n))
            .find(|d| {
                crate::pci::redact(d).1 == 1 && crate::domain::pii::PhoneE164::parse(&format!("+{d}"), None).is_ok()
            })
            .expect("such numbers exist");
        let e = observed(
            "ph",
            "/channels/web",
            "w",
            json!({"channel": "web", "phones": [{"number": format!("+{digits}")}]}),
        );
        let out = w.merge.process_record(&e, "t").await.unwrap();
        assert_eq!(out, Outcome::Applied(Tally { created: 1, ..Default::default() }));
        let p = &w.store.profiles()[0];
        let g = open_profile(&w.keys.key_for(&p.id).await.unwrap(), p).unwrap();
        assert_eq!(g.phones[0].value.as_str(), format!("+{digits}"));
    }

    #[tokio::test]
    async fn store_outages_are_transient_errors_not_parking() {
        let w = world();
        w.store.fail_commits.store(1, Ordering::SeqCst);
        let err = w.merge.process_record(&web("e1", "ines@example.com"), "t").await.unwrap_err();
        assert!(err.is_transient());
        assert!(w.store.parked().is_empty());
        // the retry succeeds
        w.merge.process_record(&web("e1", "ines@example.com"), "t").await.unwrap();
        assert_eq!(w.store.profile_count(), 1);
    }

    #[tokio::test]
    async fn concurrent_writers_lose_nothing() {
        let w = Arc::new(world());
        w.merge.process_record(&web("e0", "ines@example.com"), "t").await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..12 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                let e = observed(
                    &format!("p{i}"),
                    "/channels/app",
                    &format!("dev-{i}"),
                    json!({"channel": "mobile_app", "emails": [{"address": "ines@example.com"}],
                           "phones": [{"number": format!("+3361234{:04}", 5600 + i)}]}),
                );
                w.merge.process_record(&e, "t").await.unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(w.store.profile_count(), 1);
        let p = &w.store.profiles()[0];
        let g = open_profile(&w.keys.key_for(&p.id).await.unwrap(), p).unwrap();
        assert_eq!(g.phones.len(), 10, "capped list keeps the 10 most recent; none lost to a race before the cap");
        assert_eq!(w.store.timeline_count(&p.id), 13);
    }

    #[tokio::test]
    async fn a_booking_links_each_passenger() {
        let w = world();
        let booking = serde_json::to_vec(&json!({
            "specversion": "1.0", "id": "b1", "source": "/systems/pss", "type": "booking.recorded",
            "time": "2026-11-20T10:00:00Z", "subject": "K7PX2Q",
            "data": {
                "record_locator": "K7PX2Q", "channel": "web", "status": "confirmed", "booked_at": "2026-11-20T09:59:00Z",
                "passengers": [
                    {"passenger_id": "P1", "type": "adult", "name": {"given": "Łukasz", "family": "Wiśniewski"}, "email": "lukasz@example.com"},
                    {"passenger_id": "P2", "type": "adult", "name": {"given": "Ewa", "family": "Wiśniewska"}, "loyalty_number": "GA1234567"}
                ],
                "segments": [{"segment_id": "S1", "flight_number": "GA123", "operating_carrier": "GA", "departure_date": "2026-12-01",
                    "origin": "WAW", "destination": "DUB", "scheduled_departure": "2026-12-01T07:00:00+01:00", "scheduled_arrival": "2026-12-01T09:00:00+00:00"}]
            }
        }))
        .unwrap();
        let out = w.merge.process_record(&booking, "t").await.unwrap();
        assert_eq!(out, Outcome::Applied(Tally { created: 2, ..Default::default() }));
        // the same booking re-recorded later (changed) updates the same two people
        let changed = String::from_utf8(booking).unwrap().replace("\"id\":\"b1\"", "\"id\":\"b2\"");
        let out = w.merge.process_record(changed.as_bytes(), "t").await.unwrap();
        assert_eq!(out, Outcome::Applied(Tally { unchanged: 2, ..Default::default() }));
        assert_eq!(w.store.profile_count(), 2);
        assert!(w.store.profiles().iter().all(|p| p.bookings == 1), "a re-recorded booking is one booking");
    }

    #[tokio::test]
    async fn four_bookings_make_a_frequent_flyer() {
        let w = world();
        for (i, locator) in ["K7PX2A", "K7PX2B", "K7PX2C", "K7PX2D"].iter().enumerate() {
            let booking = serde_json::to_vec(&json!({
                "specversion": "1.0", "id": format!("fb{i}"), "source": "/systems/pss", "type": "booking.recorded",
                "time": "2026-11-20T10:00:00Z", "subject": locator,
                "data": {
                    "record_locator": locator, "channel": "web", "status": "confirmed", "booked_at": "2026-11-20T09:59:00Z",
                    "passengers": [{"passenger_id": "P1", "type": "adult", "name": {"given": "Ewa", "family": "Nowak"},
                                    "email": "ewa.nowak@example.com", "loyalty_number": "GA7654321"}],
                    "segments": [{"segment_id": "S1", "flight_number": "GA123", "operating_carrier": "GA", "departure_date": "2026-12-01",
                        "origin": "WAW", "destination": "DUB", "scheduled_departure": "2026-12-01T07:00:00+01:00", "scheduled_arrival": "2026-12-01T09:00:00+00:00"}]
                }
            }))
            .unwrap();
            w.merge.process_record(&booking, "t").await.unwrap();
            let p = &w.store.profiles()[0];
            assert_eq!(p.bookings, i as u32 + 1);
            assert_eq!(p.segments.contains(&"frequent_flyer".to_owned()), i == 3, "{:?}", p.segments);
            assert!(p.segments.contains(&"loyalty_member".to_owned()));
        }
        assert_eq!(w.store.profile_count(), 1);
    }
}
