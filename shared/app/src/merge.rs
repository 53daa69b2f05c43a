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
use crate::store::{Commit, GuardedIdentifier, ProfileRecord, ProfileStatus, ProfileStore, StoreError, TimelineRecord};
use chrono::Utc;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Markers outlive the inbound stream's retention (7 days), so any replay from the stream is caught.
pub const MARKER_TTL_DAYS: i64 = 8;
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
    /// Probabilistic matching, reviews and automatic merges (identity resolution); without it
    /// only identifiers place a record.
    resolution: Option<Resolution>,
}

/// What identity resolution needs beyond the profile store.
struct Resolution {
    ids: Arc<dyn crate::store::IdentityStore>,
    identity: Arc<crate::identity::Identity>,
}

/// Profiles compared with a record that no identifier placed.
const MAX_CANDIDATES: usize = 8;
/// Attempts at an automatic merge after a record's transaction.
const FOLLOW_UP_ATTEMPTS: u32 = 3;

/// The profile a unit goes to, how it was found, and whether the profile must first be checked
/// for contradicting the unit (a weak identifier led there).
struct Target {
    id: CustomerId,
    via: Option<CustomerId>,
    check_contradiction: bool,
}

/// What an update came to: done (with the profile it went to), or the profile's record
/// contradicts the unit (the weak identifier that led there is someone else's too).
enum Step {
    Done(UnitResult, CustomerId),
    Contradicted,
}

/// A unit's result, the profile it went to, profiles to consider merging with it, and reviews
/// to raise.
type ResolveResult =
    (UnitResult, Option<CustomerId>, Vec<CustomerId>, Vec<(CustomerId, crate::resolve::engine::Explanation)>);

fn lookups_unique(lookups: &[String]) -> impl Iterator<Item = String> {
    let mut u = lookups.to_vec();
    u.sort();
    u.dedup();
    u.into_iter()
}

/// Values the engine's block list knows as placeholders (`noemail@…`, `0000000`, ...).
fn is_placeholder(i: &crate::domain::event::Identifier) -> bool {
    use crate::domain::event::Identifier;
    use crate::resolve::compare::{EMAIL, NATIONAL_ID, PHONE};
    use crate::resolve::normalize::{alnum, email, phone};
    let engine = crate::matching::engine();
    match i {
        Identifier::Email(v) => engine.is_blocked(EMAIL, &email(v)),
        Identifier::Phone(v) => engine.is_blocked(PHONE, &phone(v)),
        Identifier::Document(v) => engine.is_blocked(NATIONAL_ID, &alnum(v.rsplit('|').next().unwrap_or(v))),
        _ => false,
    }
}

/// The associated-data name of a profile's sealed match summary.
const SUMMARY_FIELD: &str = "match";

/// A profile's match summary: sealed on the profile, or built from its golden record.
fn summary_of_record(key: &DataKey, p: &ProfileRecord) -> Result<crate::resolve::engine::ClusterSummary, CmpError> {
    if let Some(sealed) = &p.match_summary {
        let json = key.open(p.id.as_str(), SUMMARY_FIELD, sealed)?;
        let s: crate::resolve::engine::ClusterSummary = serde_json::from_slice(&json)
            .map_err(|e| CmpError::Integrity(format!("match summary does not decode: {e}")))?;
        s.validate().map_err(CmpError::Integrity)?;
        return Ok(s);
    }
    let golden = open_profile(key, p)?;
    let mut s = crate::resolve::engine::ClusterSummary::new();
    for person in crate::matching::persons_of_golden(&golden) {
        s.observe(&person);
    }
    Ok(s)
}

fn seal_summary(key: &DataKey, id: &CustomerId, s: &crate::resolve::engine::ClusterSummary) -> Vec<u8> {
    key.seal(id.as_str(), SUMMARY_FIELD, &serde_json::to_vec(s).unwrap_or_default())
}

/// Whether a profile's values differ from another's (their counts aside).
fn same_values(a: &crate::resolve::engine::ClusterSummary, b: &crate::resolve::engine::ClusterSummary) -> bool {
    (0..crate::resolve::compare::FIELDS)
        .all(|f| a.values(f).iter().map(|(v, _)| v).eq(b.values(f).iter().map(|(v, _)| v)))
}

/// A record that cannot be the profile's person: both its given name and its date of birth
/// disagree with every value the profile holds (a shared family e-mail, a switchboard number).
fn contradicts(p: &crate::resolve::normalize::Person, s: &crate::resolve::engine::ClusterSummary) -> bool {
    use crate::resolve::compare::{DOB, GIVEN, LEVELS};
    let c = crate::matching::engine().compare(p, s);
    let disagree = |f: usize| c.levels[f] as usize == LEVELS[f].1.len();
    disagree(GIVEN) && disagree(DOB)
}

fn identity_backend(e: crate::identity::IdentityError) -> CmpError {
    match e {
        crate::identity::IdentityError::Backend(e) => e,
        other => CmpError::Integrity(other.to_string()),
    }
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
    /// The unit's record as identity resolution compares it.
    person: &'a crate::resolve::normalize::Person,
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
            resolution: None,
        }
    }

    /// Where the stream runner parks records that fail permanently.
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.dead_letters
    }

    /// Turns on identity resolution: records no identifier places are matched probabilistically
    /// against the profiles sharing their blocking keys, close calls are queued for review, and
    /// profiles an event links are merged when the engine's cluster check passes.
    pub fn with_resolution(mut self, ids: Arc<dyn crate::store::IdentityStore>) -> Self {
        let identity = crate::identity::Identity::new(self.store.clone(), ids.clone(), self.keys.clone());
        self.resolution = Some(Resolution { ids, identity: Arc::new(identity) });
        self
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
        // placeholders (noemail@…, 0000000, …) identify nobody: neither matched nor claimed
        ids.retain(|i| !is_placeholder(i));
        ids.sort_by_key(|i| i.priority());
        let lookups: Vec<String> = ids.iter().map(|i| self.indexer.lookup_key(i)).collect();
        let booking_lookup = ids
            .iter()
            .find(|i| matches!(i, crate::domain::event::Identifier::BookingPassenger(_)))
            .map(|i| self.indexer.lookup_key(i));
        // weak identifiers (an unverified e-mail, a phone) decide only when nothing contradicts
        let verified: std::collections::BTreeSet<String> = unit
            .observation
            .emails
            .iter()
            .filter(|e| e.verified)
            .map(|e| self.indexer.lookup_key(&crate::domain::event::Identifier::Email(e.address.match_key())))
            .collect();
        let weak = |l: &str| l.starts_with("IDX#phone#") || (l.starts_with("IDX#email#") && !verified.contains(l));
        let person = crate::matching::person_of_observation(&unit.observation);
        let engine = crate::matching::engine();
        let mut blocks: Vec<String> = match &self.resolution {
            Some(_) => engine.block_keys(&person).iter().map(|k| self.indexer.block_key(k)).collect(),
            None => vec![],
        };
        blocks.sort();
        blocks.dedup();
        let mut keys = lookups.clone();
        keys.extend(blocks.iter().cloned());
        keys.sort();
        keys.dedup();
        let from = Lineage {
            source: event.source.clone(),
            channel: unit.channel,
            event_id: event.id.clone(),
            observed_at: event.time,
        };
        let guard = engine.model().guard_max_people;
        let max_block = engine.model().max_block;
        for attempt in 0..crate::retry::Backoff::CONFLICT.attempts {
            if attempt > 0 {
                crate::retry::Backoff::CONFLICT.pause(attempt - 1).await;
            }
            // round trip 1: the marker, the identifiers' lookups and the blocking items
            let pre = self.store.prefetch(std::slice::from_ref(&marker), &keys).await?;
            if pre.processed_markers.contains(&marker) {
                return Ok(UnitResult::Duplicate);
            }
            // an identifier found to belong to several people no longer decides (the guard)
            let usable = |l: &String| pre.owners.contains_key(l) && pre.contested.get(l).copied().unwrap_or(0) < guard;
            let deciding = lookups.iter().find(|l| usable(l)).cloned();
            // a shared identifier is no evidence for the engine either: compared and blocked on
            // without it
            let mut person_eff = person.clone();
            let mut shared_any = false;
            for l in lookups.iter().filter(|l| pre.contested.get(*l).copied().unwrap_or(0) >= guard) {
                // kind only: the value is personal data
                let kind = l.split('#').nth(1).unwrap_or_default();
                tracing::warn!(kind, "identifier shared by many people: not evidence");
                let field = match kind {
                    "email" => crate::resolve::compare::EMAIL,
                    "phone" => crate::resolve::compare::PHONE,
                    "document" => crate::resolve::compare::NATIONAL_ID,
                    _ => continue,
                };
                person_eff = person_eff.with_field(field, "");
                shared_any = true;
            }
            let allowed_blocks: Option<std::collections::HashSet<String>> =
                shared_any.then(|| engine.block_keys(&person_eff).iter().map(|k| self.indexer.block_key(k)).collect());
            let target = deciding.as_ref().and_then(|l| pre.owners.get(l)).cloned();
            // the customer the identifier belonged to before a merge moved it
            let via = deciding.as_ref().and_then(|l| pre.origins.get(l)).cloned();
            let mut others: Vec<CustomerId> = lookups
                .iter()
                .filter(|l| usable(l))
                .filter_map(|l| pre.owners.get(l))
                .filter(|o| Some(*o) != target.as_ref())
                .cloned()
                .collect();
            others.sort();
            others.dedup();
            let claims: Vec<String> = lookups_unique(&lookups).filter(|l| !pre.owners.contains_key(l)).collect();
            // a booking counts once per passenger: a re-recorded booking finds its passenger claimed
            let new_booking = unit.timeline.kind == TimelineKind::Booking
                && booking_lookup.as_ref().is_none_or(|l| claims.contains(l));
            // blocking items with room: the profile joins those it is not in yet
            let open_blocks: Vec<(&String, &[CustomerId])> = blocks
                .iter()
                .filter(|b| allowed_blocks.as_ref().is_none_or(|a| a.contains(*b)))
                .map(|b| (b, pre.blocks.get(b).map(Vec::as_slice).unwrap_or(&[])))
                .filter(|(_, m)| m.len() < max_block)
                .collect();
            let block_adds = |id: Option<&CustomerId>| -> Vec<String> {
                open_blocks
                    .iter()
                    .filter(|(_, m)| id.is_none_or(|id| !m.contains(id)))
                    .map(|(b, _)| (*b).clone())
                    .collect()
            };
            let ctx = UnitCtx { event, unit, marker: &marker, from: &from, lookups: &lookups, person: &person_eff };
            let result = match target {
                Some(id) => {
                    let check = deciding.as_deref().is_some_and(weak);
                    let owner = id.clone();
                    let target = Target { id, via, check_contradiction: check };
                    match self.update(&ctx, target, claims.clone(), new_booking, &block_adds).await {
                        Ok(Step::Done(r, id)) => {
                            tally.identifier_conflicts += others.len() as u32;
                            Ok((r, Some(id), others, vec![]))
                        }
                        Ok(Step::Contradicted) => {
                            // the identifier is shared with someone else (a family e-mail, a
                            // switchboard number): a profile of its own, and the lookup contested
                            // (with the count read: a concurrent contest makes this one retry)
                            let contest: Vec<(String, u32)> = deciding
                                .iter()
                                .map(|l| (l.clone(), pre.contested.get(l).copied().unwrap_or(0)))
                                .collect();
                            // the contest that brings it to the guard is recorded for the report
                            let guarded = contest
                                .iter()
                                .filter(|(_, seen)| seen + 1 >= guard)
                                .map(|(l, seen)| GuardedIdentifier {
                                    lookup: l.clone(),
                                    kind: l.split('#').nth(1).unwrap_or_default().to_string(),
                                    owner: owner.clone(),
                                    contested: seen + 1,
                                    reached_at: Utc::now(),
                                })
                                .collect();
                            self.create(&ctx, claims, block_adds(None), (contest, guarded))
                                .await
                                .map(|(r, id)| (r, Some(id), vec![], vec![]))
                        }
                        Err(e) => Err(e),
                    }
                }
                None if self.resolution.is_some() => {
                    let mut candidates: Vec<CustomerId> =
                        open_blocks.iter().flat_map(|(_, m)| m.iter().cloned()).collect();
                    candidates.sort();
                    candidates.dedup();
                    self.resolve(&ctx, candidates, claims, new_booking, &block_adds).await
                }
                None => self
                    .create(&ctx, claims, block_adds(None), (vec![], vec![]))
                    .await
                    .map(|(r, id)| (r, Some(id), vec![], vec![])),
            };
            match result {
                Ok((r, id, others, reviews)) => {
                    if let Some(id) = id {
                        self.follow_up(&id, &others, &reviews, event).await;
                    }
                    return Ok(r);
                }
                Err(CmpError::Store(StoreError::Conflict)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// A unit no identifier placed: the engine decides among the profiles sharing its blocking
    /// keys. Answers the result, the profile it went to, profiles to check for a merge with it,
    /// and reviews to raise.
    async fn resolve(
        &self,
        ctx: &UnitCtx<'_>,
        candidates: Vec<CustomerId>,
        claims: Vec<String>,
        new_booking: bool,
        block_adds: &(dyn Fn(Option<&CustomerId>) -> Vec<String> + Sync),
    ) -> Result<ResolveResult, CmpError> {
        let engine = crate::matching::engine();
        // round trip 2: the candidate profiles in one batched read (their keys are usually cached;
        // a merged candidate's survivor is read after it)
        let wanted: Vec<CustomerId> = candidates.iter().take(MAX_CANDIDATES).cloned().collect();
        let mut read = self.store.get_profiles(&wanted).await?;
        read.sort_by_key(|p| wanted.iter().position(|w| *w == p.id));
        let mut summaries: Vec<(String, crate::resolve::engine::ClusterSummary)> = Vec::new();
        for p in read {
            if let Some((id, summary)) = self.summary_of_read(p).await? {
                if !summaries.iter().any(|(x, _)| x == id.as_str()) {
                    summaries.push((id.to_string(), summary));
                }
            }
        }
        let refs: Vec<(String, &crate::resolve::engine::ClusterSummary)> =
            summaries.iter().map(|(id, s)| (id.clone(), s)).collect();
        use crate::resolve::engine::Decision;
        match engine.decide(ctx.person, &refs) {
            Decision::Match { cluster, explanation, rule, also } => {
                let id: CustomerId = cluster.parse().map_err(|_| CmpError::Integrity("cluster id".into()))?;
                tracing::info!(score = explanation.score, rule = ?rule, "record matched a profile");
                let target = Target { id, via: None, check_contradiction: false };
                match self.update(ctx, target, claims.clone(), new_booking, block_adds).await? {
                    Step::Done(r, id) => {
                        let also: Vec<CustomerId> = also.iter().filter_map(|a| a.parse().ok()).collect();
                        Ok((r, Some(id), also, vec![]))
                    }
                    Step::Contradicted => unreachable!("no contradiction check on engine matches"),
                }
            }
            Decision::Review { cluster, explanation } => {
                let (r, id) = self.create(ctx, claims, block_adds(None), (vec![], vec![])).await?;
                let other: CustomerId = cluster.parse().map_err(|_| CmpError::Integrity("cluster id".into()))?;
                Ok((r, Some(id), vec![], vec![(other, explanation)]))
            }
            Decision::New => {
                let (r, id) = self.create(ctx, claims, block_adds(None), (vec![], vec![])).await?;
                Ok((r, Some(id), vec![], vec![]))
            }
        }
    }

    /// An active profile's match summary (its survivor's, for a merged one): sealed on the
    /// profile, or built from the golden record for a profile older than summaries.
    async fn summary_of(
        &self,
        id: &CustomerId,
    ) -> Result<Option<(CustomerId, crate::resolve::engine::ClusterSummary)>, CmpError> {
        match self.store.get_profile(id).await? {
            Some(p) => self.summary_of_read(p).await,
            None => Ok(None),
        }
    }

    /// The match summary of a profile just read: its own when active, its survivor's when merged
    /// (following at most four redirects), none when erased.
    async fn summary_of_read(
        &self,
        mut p: ProfileRecord,
    ) -> Result<Option<(CustomerId, crate::resolve::engine::ClusterSummary)>, CmpError> {
        for _ in 0..4 {
            match (p.status, &p.merged_into) {
                (ProfileStatus::Merged, Some(next)) => {
                    let Some(n) = self.store.get_profile(next).await? else { return Ok(None) };
                    p = n;
                }
                (ProfileStatus::Active, _) => {
                    let key = self.keys.key_for(&p.id).await?;
                    let summary = summary_of_record(&key, &p)?;
                    return Ok(Some((p.id.clone(), summary)));
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// After a unit: profiles it links to the one it joined are merged when the engine's
    /// cluster-to-cluster check passes, or queued for review when it comes close; never a pair
    /// kept apart. Failures are logged: the next event about them tries again.
    async fn follow_up(
        &self,
        id: &CustomerId,
        others: &[CustomerId],
        reviews: &[(CustomerId, crate::resolve::engine::Explanation)],
        event: &Event,
    ) {
        let Some(res) = &self.resolution else { return };
        for (other, explanation) in reviews {
            if let Err(e) = self.raise_review(res, id, other, explanation.score, json!(explanation), event).await {
                tracing::warn!(error_code = e.code(), "review not raised");
            }
        }
        for other in others {
            if let Err(e) = self.consider_merge(res, id, other, event).await {
                tracing::warn!(error_code = e.code(), "merge not considered");
            }
        }
    }

    async fn raise_review(
        &self,
        res: &Resolution,
        a: &CustomerId,
        b: &CustomerId,
        score: f64,
        explanation: serde_json::Value,
        event: &Event,
    ) -> Result<(), CmpError> {
        if a == b || res.ids.kept_apart(a, b).await? {
            return Ok(());
        }
        let m = crate::store::MatchCandidate {
            id: crate::store::MatchCandidate::id_for(a, b),
            a: a.clone(),
            b: b.clone(),
            score,
            explanation,
            status: crate::store::MatchStatus::Pending,
            created_at: Utc::now(),
            event_id: event.id.clone(),
            decided_at: None,
            decided_by: None,
        };
        if res.ids.put_match(&m).await? {
            tracing::info!(match_id = %m.id, score, "candidate match queued for review");
        }
        Ok(())
    }

    async fn consider_merge(
        &self,
        res: &Resolution,
        a: &CustomerId,
        b: &CustomerId,
        event: &Event,
    ) -> Result<(), CmpError> {
        let (Some((a, sa)), Some((b, sb))) = (self.summary_of(a).await?, self.summary_of(b).await?) else {
            return Ok(());
        };
        if a == b || res.ids.kept_apart(&a, &b).await? {
            return Ok(());
        }
        let engine = crate::matching::engine();
        let (link, why) = engine.link_explained(&sa, &sb);
        let explanation = json!({"rule": link.rule, "best": link.best, "average": link.average,
                                 "contributions": why.contributions, "swapped_names": why.swapped_names,
                                 "prior": why.prior, "event": event.id,
                                 "reason": "an event's identifiers belong to both profiles"});
        if link.merge {
            let (survivor, loser) = res.identity.order(&a, &b).await.map_err(identity_backend)?;
            let actor = crate::identity::Actor::system(&event.id);
            // a merge is idempotent (merging the pair again finishes an interrupted one), so a
            // failure of the store is retried here: the pair would not be looked at again once
            // the loser redirects to the survivor
            for attempt in 0..FOLLOW_UP_ATTEMPTS {
                let merged =
                    res.identity.merge(&survivor, &loser, &actor, "identity resolution", explanation.clone(), false);
                match merged.await {
                    Ok(_) => tracing::info!(survivor = %survivor, loser = %loser, "profiles merged automatically"),
                    Err(crate::identity::IdentityError::Backend(e)) if attempt + 1 < FOLLOW_UP_ATTEMPTS => {
                        tracing::info!(error_code = e.code(), attempt, "automatic merge retried");
                        crate::retry::Backoff::BATCH.pause(attempt).await;
                        continue;
                    }
                    Err(crate::identity::IdentityError::Backend(e)) => return Err(e),
                    Err(e) => tracing::info!(reason = %e, "automatic merge not made"),
                }
                break;
            }
        } else if link.best >= engine.model().thresholds.lower {
            self.raise_review(res, &a, &b, link.best, explanation, event).await?;
        }
        Ok(())
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
        let UnitCtx { event, unit, marker, from, lookups, .. } = *ctx;
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

    async fn create(
        &self,
        ctx: &UnitCtx<'_>,
        claims: Vec<String>,
        block_adds: Vec<String>,
        (contest, guarded): (Vec<(String, u32)>, Vec<GuardedIdentifier>),
    ) -> Result<(UnitResult, CustomerId), CmpError> {
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
        profile.match_summary = Some(seal_summary(&key, &id, &crate::resolve::engine::ClusterSummary::of(ctx.person)));
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
            block_adds,
            contest,
            guarded,
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
        Ok((UnitResult::Created, id))
    }

    async fn update(
        &self,
        ctx: &UnitCtx<'_>,
        target: Target,
        claims: Vec<String>,
        new_booking: bool,
        block_adds: &(dyn Fn(Option<&CustomerId>) -> Vec<String> + Sync),
    ) -> Result<Step, CmpError> {
        let Target { id, mut via, check_contradiction } = target;
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
        let mut summary = summary_of_record(&key, &current)?;
        if check_contradiction && contradicts(ctx.person, &summary) {
            return Ok(Step::Contradicted);
        }
        let before = summary.clone();
        summary.observe(ctx.person);
        let summary_changed = current.match_summary.is_none() || !same_values(&before, &summary);
        let mut golden = open_profile(&key, &current)?;
        let mut lineage = current.lineage.clone();
        let changed = golden.apply(&mut lineage, &unit.observation, from);
        let mut sources = current.sources.clone();
        let first_seen = sources.entry(event.source.clone()).or_insert(event.time);
        if event.time < *first_seen {
            *first_seen = event.time;
        }
        let bookings = current.bookings + u32::from(new_booking);
        let record_changed = !changed.is_empty()
            || lineage != current.lineage
            || sources != current.sources
            || bookings != current.bookings;
        let profile_changed = record_changed || summary_changed;
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
            profile.match_summary = Some(seal_summary(&key, &id, &summary));
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
            block_adds: block_adds(Some(&id)),
            contest: vec![],
            guarded: vec![],
            audit: Some(audit_head.next(
                chain_of(Some(&id), Utc::now()),
                change_entry(
                    event,
                    &id,
                    if record_changed { "profile_updated" } else { "timeline_appended" },
                    &changed,
                ),
            )),
        };
        self.store.commit(&commit).await?;
        Ok(Step::Done(if record_changed { UnitResult::Updated } else { UnitResult::Unchanged }, id))
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
        )
        .with_resolution(store.clone());
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

    /// A person as seen by a channel: name, date of birth, address, one e-mail and phone.
    fn seen(id: &str, source: &str, given: &str, family: &str, dob: &str, email: &str, phone: Option<&str>) -> Vec<u8> {
        let mut data = json!({"channel": "web", "name": {"given": given, "family": family}, "date_of_birth": dob,
            "emails": [{"address": email}],
            "address": {"lines": ["14 Rathmines Road Upper"], "city": "Dublin", "postal_code": "D06 F2X4", "country": "IE"}});
        if let Some(p) = phone {
            data["phones"] = json!([{"number": p}]);
        }
        observed(id, source, &format!("acct-{id}"), data)
    }

    #[tokio::test]
    async fn records_no_identifier_places_are_matched_by_the_engine() {
        let w = world();
        w.merge
            .process_record(
                &seen("r1", "/channels/web", "Aoife", "Ní Bhriain", "1988-04-12", "aoife.nb@example.com", None),
                "t",
            )
            .await
            .unwrap();
        // the loyalty system knows her under another e-mail, with a nickname-free spelling and a phone
        let out = w
            .merge
            .process_record(
                &seen(
                    "r2",
                    "/channels/loyalty",
                    "Aoife",
                    "Ni Bhriain",
                    "1988-04-12",
                    "aoife.work@example.org",
                    Some("+353871112233"),
                ),
                "t",
            )
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Applied(Tally { updated: 1, .. })), "{out:?}");
        assert_eq!(w.store.profile_count(), 1, "the same person");
        let p = &w.store.profiles()[0];
        let g = open_profile(&w.keys.key_for(&p.id).await.unwrap(), p).unwrap();
        assert_eq!(g.emails.len(), 2);
        // someone else with her surname and street but another given name and date of birth
        w.merge
            .process_record(
                &seen("r3", "/channels/web", "Cian", "Ní Bhriain", "2015-09-30", "cian.nb@example.com", None),
                "t",
            )
            .await
            .unwrap();
        assert_eq!(w.store.profile_count(), 2, "a child at the same address is someone else");
        // a record no identifier places reads all its candidates in one round trip: prefetch,
        // the candidates, the chosen profile with its audit head, the commit
        w.store.calls.store(0, Ordering::Relaxed);
        let out = w
            .merge
            .process_record(
                &seen("r4", "/channels/app", "Aoife", "Ni Bhriain", "1988-04-12", "aoife@example.net", None),
                "t",
            )
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Applied(Tally { updated: 1, .. })), "{out:?}");
        assert_eq!(w.store.calls.load(Ordering::Relaxed), 4, "two candidates, one read of them");
    }

    #[tokio::test]
    async fn close_calls_are_queued_for_review_not_merged() {
        use crate::store::IdentityStore;
        let w = world();
        w.merge
            .process_record(
                &seen("q1", "/channels/web", "Jonas", "Vogel", "1981-12-03", "jonas.v@example.com", None),
                "t",
            )
            .await
            .unwrap();
        // both names misspelt, the date of birth two digits off, another e-mail: not sure
        let close = observed(
            "q2",
            "/channels/call-centre",
            "crm-q2",
            json!({"channel": "call_centre",
            "name": {"given": "Joans", "family": "Vogl"}, "date_of_birth": "1982-12-13",
            "emails": [{"address": "jv1981@example.org"}]}),
        );
        w.merge.process_record(&close, "t").await.unwrap();
        assert_eq!(w.store.profile_count(), 2, "kept apart until a person decides");
        let pending = w.store.pending_matches(10).await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        let ids: Vec<CustomerId> = w.store.profiles().into_iter().map(|p| p.id).collect();
        assert!(ids.contains(&pending[0].a) && ids.contains(&pending[0].b));
        let contributions = pending[0].explanation["contributions"].as_array().unwrap();
        assert!(contributions.iter().any(|c| c["field"] == "dob"), "each field's contribution is explained");
        // raised once however often the pair comes up
        w.merge.process_record(&close, "t").await.unwrap();
        assert_eq!(w.store.pending_matches(10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_shared_family_email_does_not_make_two_people_one_and_is_guarded() {
        let w = world();
        w.merge
            .process_record(
                &seen("f1", "/channels/web", "Ingrid", "Lindqvist", "1975-06-01", "lindqvist.family@example.com", None),
                "t",
            )
            .await
            .unwrap();
        // her son books with the family e-mail (unverified): his name and birth date contradict hers
        let son =
            seen("f2", "/channels/booking", "Erik", "Lindqvist", "2009-02-17", "lindqvist.family@example.com", None);
        w.merge.process_record(&son, "t").await.unwrap();
        assert_eq!(w.store.profile_count(), 2, "two people behind one e-mail");
        // a record with nothing but the e-mail still goes to its owner
        let bare = observed(
            "f3",
            "/channels/email",
            "m-3",
            json!({"channel": "email", "emails": [{"address": "lindqvist.family@example.com"}]}),
        );
        w.merge.process_record(&bare, "t").await.unwrap();
        assert_eq!(w.store.profile_count(), 2);
        // placeholders identify nobody: two strangers giving `noemail@` stay two
        for (i, (g, d)) in [("Pieter", "1990-01-01"), ("Chiara", "1970-07-07")].iter().enumerate() {
            let e = observed(
                &format!("n{i}"),
                "/channels/check-in",
                &format!("dcs-{i}"),
                json!({"channel": "check_in",
                "name": {"given": g, "family": "Traveller"}, "date_of_birth": d, "emails": [{"address": "noemail@gammaairways.com"}]}),
            );
            w.merge.process_record(&e, "t").await.unwrap();
        }
        assert_eq!(w.store.profile_count(), 4);
    }

    #[tokio::test]
    async fn an_event_linking_two_profiles_of_one_person_merges_them() {
        let w = world();
        // the same man known to the web (by e-mail) and to the loyalty system (by member number)
        w.merge
            .process_record(
                &seen("l1", "/channels/web", "Mateo", "García", "1992-05-20", "mateo.g@example.com", None),
                "t",
            )
            .await
            .unwrap();
        let member = observed(
            "l2",
            "/channels/loyalty",
            "m-l2",
            json!({"channel": "loyalty",
            "name": {"given": "Mateo", "family": "Garcia"}, "date_of_birth": "1992-05-20",
            "loyalty": {"number": "GA31415926", "tier": "silver"}, "phones": [{"number": "+34612345678"}]}),
        );
        w.merge.process_record(&member, "t").await.unwrap();
        let n = w.store.profile_count();
        // a booking carries both his member number and his e-mail: the two profiles are one person
        let both = observed(
            "l3",
            "/channels/app",
            "app-l3",
            json!({"channel": "mobile_app",
            "loyalty": {"number": "GA31415926"}, "emails": [{"address": "mateo.g@example.com"}]}),
        );
        w.merge.process_record(&both, "t").await.unwrap();
        let active: Vec<ProfileRecord> =
            w.store.profiles().into_iter().filter(|p| p.status == ProfileStatus::Active).collect();
        assert!(n <= 2);
        assert_eq!(active.len(), 1, "merged into one");
        let g = open_profile(&w.keys.key_for(&active[0].id).await.unwrap(), &active[0]).unwrap();
        assert_eq!((g.emails.len(), g.phones.len(), g.loyalty.is_some()), (1, 1, true));
    }

    #[tokio::test]
    async fn an_automatic_merge_the_store_fails_once_is_retried() {
        let w = world();
        // two profiles of one man, written by a merge that does not resolve (as before resolution)
        let plain = Merge::new(
            w.store.clone(),
            w.keys.clone(),
            w.kms.clone(),
            Arc::new(BlindIndexer::from_key(&[9u8; 32])),
            Arc::new(EventValidator::new().unwrap()),
            14,
        );
        plain
            .process_record(
                &seen("r1", "/channels/web", "Mateo", "García", "1992-05-20", "mateo.g@example.com", None),
                "t",
            )
            .await
            .unwrap();
        let member = observed(
            "r2",
            "/channels/loyalty",
            "m-r2",
            json!({"channel": "loyalty", "name": {"given": "Mateo", "family": "Garcia"}, "date_of_birth": "1992-05-20",
                   "loyalty": {"number": "GA31415926", "tier": "silver"}}),
        );
        plain.process_record(&member, "t").await.unwrap();
        let active = |w: &World| w.store.profiles().into_iter().filter(|p| p.status == ProfileStatus::Active).count();
        assert_eq!(active(&w), 2, "two profiles before the linking event");
        w.store.fail_identity_commits.store(1, Ordering::SeqCst);
        let both = observed(
            "r3",
            "/channels/app",
            "app-r3",
            json!({"channel": "mobile_app", "loyalty": {"number": "GA31415926"}, "emails": [{"address": "mateo.g@example.com"}]}),
        );
        w.merge.process_record(&both, "t").await.unwrap();
        assert_eq!(w.store.fail_identity_commits.load(Ordering::SeqCst), 0, "the fault was met");
        assert_eq!(active(&w), 1, "merged on the second attempt");
        // the merge record explains itself field by field
        let survivor = w.store.profiles().into_iter().find(|p| p.status == ProfileStatus::Active).unwrap().id;
        let merges = crate::store::IdentityStore::merges(&*w.store, &survivor).await.unwrap();
        let fields: Vec<&str> = merges[0].explanation["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["field"].as_str())
            .collect();
        assert!(fields.contains(&"dob") && fields.contains(&"family"), "{}", merges[0].explanation);
    }

    #[tokio::test]
    async fn the_airlines_own_number_on_a_record_links_nobody() {
        let w = world();
        // an agent typed the airline's own contact-centre number (on the model's block list) for two
        // different customers: it must not make the second one the first
        w.merge
            .process_record(
                &seen(
                    "b1",
                    "/channels/web",
                    "Pieter",
                    "Jansen",
                    "1990-01-01",
                    "pieter.j@example.com",
                    Some("+353 1 886 6000"),
                ),
                "t",
            )
            .await
            .unwrap();
        w.merge
            .process_record(
                &seen(
                    "b2",
                    "/channels/call-centre",
                    "Pieter",
                    "Visser",
                    "1985-03-03",
                    "p.visser@example.org",
                    Some("+35318866000"),
                ),
                "t",
            )
            .await
            .unwrap();
        assert_eq!(w.store.profile_count(), 2, "two customers");
    }

    #[tokio::test]
    async fn an_identifier_many_people_share_stops_deciding() {
        let w = world();
        let switchboard = "+35316620000";
        let person = |i: usize, given: &str, dob: &str| {
            observed(
                &format!("g{i}"),
                "/channels/call-centre",
                &format!("crm-g{i}"),
                json!({"channel": "call_centre",
                "name": {"given": given, "family": format!("Caller{i}")}, "date_of_birth": dob,
                "phones": [{"number": switchboard}]}),
            )
        };
        w.merge.process_record(&person(0, "Ingrid", "1975-06-01"), "t").await.unwrap();
        let first = w.store.profiles()[0].id.clone();
        let guard = crate::matching::engine().model().guard_max_people as usize;
        // callers through the same switchboard: each contradicts the number's owner
        let names = [
            "Pieter", "Chiara", "Dimitris", "Lucía", "Björn", "Hanna", "Rui", "Sinéad", "Oisín", "Mateo", "Zofia",
            "Ciarán",
        ];
        use crate::store::IdentityStore;
        for i in 1..=guard {
            if i == guard {
                assert!(w.store.guarded_identifiers(10).await.unwrap().is_empty(), "not yet at the guard");
            }
            let dob = format!("19{:02}-0{}-1{}", 50 + i, 1 + i % 9, i % 10);
            w.merge.process_record(&person(i, names[i % names.len()], &dob), "t").await.unwrap();
        }
        assert_eq!(w.store.profile_count(), guard + 1, "each caller their own profile");
        // and it is reported: kind and owner, never the value
        let guarded = w.store.guarded_identifiers(10).await.unwrap();
        assert_eq!(guarded.len(), 1, "{guarded:?}");
        assert_eq!(
            (guarded[0].kind.as_str(), &guarded[0].owner, guarded[0].contested),
            ("phone", &first, guard as u32)
        );
        assert!(!guarded[0].lookup.contains("6620000"));
        // a contest written on a stale count conflicts (a concurrent contest got there first), so
        // that the one crossing the guard always knows it
        let p = w.store.profiles().into_iter().find(|p| p.id != first).unwrap();
        let contest = |seen: u32, marker: &str| Commit {
            marker: marker.into(),
            marker_expires_at: 0,
            profile: p.clone(),
            expected_version: Some(p.version),
            profile_changed: false,
            new_wrapped_key: None,
            claim_lookups: vec![],
            timeline: None,
            audit: None,
            flight_index: vec![],
            booking_current: None,
            block_adds: vec![],
            contest: vec![(guarded[0].lookup.clone(), seen)],
            guarded: vec![],
        };
        let stale = w.store.commit(&contest(guard as u32 - 1, "race-1")).await;
        assert!(matches!(stale, Err(CmpError::Store(crate::store::StoreError::Conflict))), "{stale:?}");
        w.store.commit(&contest(guard as u32, "race-2")).await.unwrap();
        // now the number is shared: a record with nothing else to go on no longer lands on its owner
        let bare = observed(
            "gb",
            "/channels/sms",
            "sms-1",
            json!({"channel": "call_centre", "phones": [{"number": switchboard}]}),
        );
        let before = w.store.timeline_count(&first);
        w.merge.process_record(&bare, "t").await.unwrap();
        assert_eq!(w.store.timeline_count(&first), before, "the shared number decided nothing");
    }
}
