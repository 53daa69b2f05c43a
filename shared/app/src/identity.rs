//! Identity: merging two existing profiles into one, undoing a merge, and the review queue.
//!
//! A merge keeps the survivor's id. The loser's profile becomes a redirect (`status: merged`,
//! `merged_into`), its items (timeline entries re-sealed under the survivor's key, consents, holds,
//! identifier lookups, flight-index and current-booking items) move to the survivor, each tagged with
//! its `origin`, and the survivor's golden record absorbs the loser's by the survivorship rules.
//! A merge record under the survivor keeps who merged, when, why and the explanation.
//!
//! Undoing a merge moves back what came from the loser, and what arrived after the merge but was
//! meant for the loser (the identifiers of its event led to the loser), then rebuilds both golden
//! records from the sightings their timelines hold — so both are what they would be had the merge
//! never happened — and records the pair as kept apart so it is not merged automatically again.
use crate::domain::event::Observation;
use crate::domain::profile::Lineage;
use serde::{Deserialize, Serialize};

/// What one unit of an event said of the person, kept sealed on its timeline entry so that a
/// profile can be rebuilt from its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    pub observation: Observation,
    pub from: Lineage,
    /// The unit was a booking passenger (bookings are counted per passenger).
    #[serde(default)]
    pub booking: bool,
}

/// The associated-data name of a timeline entry's sighting.
pub fn sighting_field(sk: &str) -> String {
    format!("sighting:{sk}")
}

use crate::audit::{chain_of, AuditEntry};
use crate::crypto::{DataKey, KeyRing};
use crate::domain::profile::Golden;
use crate::domain::CustomerId;
use crate::error::CmpError;
use crate::store::{
    IdentityCommit, IdentityStore, KeepApart, MatchCandidate, MatchStatus, MergeRecord, MergeStatus, Move, Partition,
    ProfileRecord, ProfileStatus, ProfileStore, StoreError, TimelineRecord, MOVE_BATCH,
};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Why a merge or unmerge was refused.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no profile with this id")]
    NotFound,
    #[error("the profile was erased")]
    Erased,
    #[error("a profile cannot be merged with itself")]
    SameProfile,
    #[error("these two profiles are to be kept apart")]
    KeptApart,
    /// One of the two profiles is itself merged already (which one, in words).
    #[error("{0}")]
    NotActive(&'static str),
    #[error("this profile was not merged into that one")]
    NotMerged,
    /// The match was decided already (before, or meanwhile).
    #[error("{0}")]
    AlreadyDecided(&'static str),
    #[error(transparent)]
    Backend(#[from] CmpError),
}

impl IdentityError {
    /// The stable code the edge answers with.
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::NotFound => "profile_not_found",
            IdentityError::Erased => "profile_erased",
            IdentityError::SameProfile => "same_profile",
            IdentityError::KeptApart => "kept_apart",
            IdentityError::NotActive(_) => "not_active",
            IdentityError::NotMerged => "not_merged",
            IdentityError::AlreadyDecided(_) => "already_decided",
            IdentityError::Backend(e) => e.code(),
        }
    }
}

impl From<crate::crypto::KeyError> for IdentityError {
    fn from(e: crate::crypto::KeyError) -> Self {
        IdentityError::Backend(e.into())
    }
}

/// What the golden record of a profile is when rebuilt from its sightings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rebuilt {
    pub golden: Golden,
    pub lineage: BTreeMap<String, Lineage>,
    pub sources: BTreeMap<String, DateTime<Utc>>,
    /// Distinct booking passengers among the sightings.
    pub bookings: u32,
}

/// Folds sightings into a golden record (the survivorship rules make the order irrelevant).
/// `booking_keys` are the booking-passenger lookup keys of the booking sightings, counted once each.
pub fn rebuild<'a>(sightings: impl IntoIterator<Item = (&'a Sighting, Option<&'a str>)>) -> Rebuilt {
    let mut r = Rebuilt::default();
    let mut bookings = BTreeSet::new();
    for (s, booking_key) in sightings {
        r.golden.apply(&mut r.lineage, &s.observation, &s.from);
        let first = r.sources.entry(s.from.source.clone()).or_insert(s.from.observed_at);
        if s.from.observed_at < *first {
            *first = s.from.observed_at;
        }
        if s.booking {
            bookings.insert(booking_key.unwrap_or(s.from.event_id.as_str()).to_owned());
        }
    }
    r.bookings = bookings.len() as u32;
    r
}

/// The booking-passenger lookup key among an entry's lookups.
fn booking_key(t: &TimelineRecord) -> Option<&str> {
    t.lookups.iter().find(|l| l.starts_with("IDX#pnr_pax#")).map(String::as_str)
}

/// Who asks for a merge or unmerge (the audit trail's actor and role).
#[derive(Debug, Clone)]
pub struct Actor {
    pub subject: String,
    pub role: String,
    /// The purpose recorded in the audit trail.
    pub purpose: String,
    pub request_id: String,
}

impl Actor {
    pub fn system(request_id: &str) -> Self {
        Actor {
            subject: "identity".into(),
            role: "system".into(),
            purpose: "identity_resolution".into(),
            request_id: request_id.into(),
        }
    }
}

pub struct Identity {
    store: Arc<dyn ProfileStore>,
    ids: Arc<dyn IdentityStore>,
    keys: Arc<KeyRing>,
    cases: Option<Arc<dyn crate::cases::CaseStore>>,
}

/// Guarded identifiers listed by the thresholds report (the newest).
const REPORT_GUARDED: usize = 500;

impl Identity {
    pub fn new(store: Arc<dyn ProfileStore>, ids: Arc<dyn IdentityStore>, keys: Arc<KeyRing>) -> Self {
        Identity { store, ids, keys, cases: None }
    }

    /// Compensation cases move with their customer.
    pub fn with_cases(mut self, cases: Arc<dyn crate::cases::CaseStore>) -> Self {
        self.cases = Some(cases);
        self
    }

    pub fn set_cases(&mut self, cases: Arc<dyn crate::cases::CaseStore>) {
        self.cases = Some(cases);
    }

    async fn active(&self, id: &CustomerId) -> Result<(ProfileRecord, crate::audit::ChainHead), IdentityError> {
        match self.store.get_profile_and_audit_head(id).await? {
            (None, _) => Err(IdentityError::NotFound),
            (Some(p), _) if p.status == ProfileStatus::Erased => Err(IdentityError::Erased),
            (Some(p), h) => Ok((p, h)),
        }
    }

    fn entry(actor: &Actor, id: &CustomerId, action: &str, fields: Vec<String>, outcome: &str) -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            actor: actor.subject.clone(),
            role: actor.role.clone(),
            action: action.into(),
            customer_id: Some(id.to_string()),
            fields,
            purpose: actor.purpose.clone(),
            request_id: actor.request_id.clone(),
            outcome: outcome.into(),
        }
    }

    /// Merges `loser` into `survivor`. Respects a keep-apart decision unless `force` (an agent who
    /// knows). Idempotent: merging a pair again finishes a merge that was interrupted.
    pub async fn merge(
        &self,
        survivor: &CustomerId,
        loser: &CustomerId,
        actor: &Actor,
        reason: &str,
        explanation: Value,
        force: bool,
    ) -> Result<MergeRecord, IdentityError> {
        if survivor == loser {
            return Err(IdentityError::SameProfile);
        }
        if !force && self.ids.kept_apart(survivor, loser).await? {
            return Err(IdentityError::KeptApart);
        }
        let mut record = None;
        for attempt in 0..crate::retry::Backoff::CONFLICT.attempts {
            if attempt > 0 {
                crate::retry::Backoff::CONFLICT.pause(attempt - 1).await;
            }
            let (s, s_head) = self.active(survivor).await?;
            let (l, l_head) = self.active(loser).await?;
            if l.status == ProfileStatus::Merged && l.merged_into.as_ref() == Some(survivor) {
                // interrupted before: finish the moves
                let r = self.ids.merges(survivor).await?.into_iter().rev().find(|r| &r.loser == loser);
                record = r;
                break;
            }
            if s.status != ProfileStatus::Active {
                return Err(IdentityError::NotActive("the surviving profile is itself merged"));
            }
            if l.status != ProfileStatus::Active {
                return Err(IdentityError::NotActive("the other profile is already merged"));
            }
            let ks = self.keys.key_for(survivor).await?;
            let kl = self.keys.key_for(loser).await?;
            let mut golden = crate::merge::open_profile(&ks, &s)?;
            let other = crate::merge::open_profile(&kl, &l)?;
            let mut lineage = s.lineage.clone();
            let mut changed = golden.absorb(&mut lineage, &other, &l.lineage);
            let now = Utc::now();
            let mut merged = s.clone();
            for (src, at) in &l.sources {
                let e = merged.sources.entry(src.clone()).or_insert(*at);
                if at < e {
                    *e = *at;
                }
            }
            merged.sealed = seal_golden(&ks, survivor, &golden);
            merged.lineage = lineage;
            merged.bookings = s.bookings + l.bookings;
            merged.tier = golden.tier().map(|t| format!("{t:?}").to_lowercase());
            merged.created_at = s.created_at.min(l.created_at);
            merged.updated_at = now;
            merged.version = s.version + 1;
            let mut members: Vec<CustomerId> = s.members.clone();
            members.push(loser.clone());
            members.extend(l.members.iter().cloned());
            members.sort();
            members.dedup();
            merged.members = members;
            merged.segments = crate::segments::segments(crate::segments::Inputs {
                tier: merged.tier.as_deref(),
                loyalty_member: golden.loyalty.is_some(),
                bookings: merged.bookings,
                sources: merged.sources.len(),
            });
            let mut gone = l.clone();
            gone.status = ProfileStatus::Merged;
            gone.merged_into = Some(survivor.clone());
            gone.updated_at = now;
            gone.version = l.version + 1;
            let r = MergeRecord {
                survivor: survivor.clone(),
                loser: loser.clone(),
                loser_members: l.members.clone(),
                merged_at: now,
                merged_by: format!("{}:{}", actor.role, actor.subject),
                reason: reason.to_owned(),
                explanation: explanation.clone(),
                status: MergeStatus::Moving,
                undone_at: None,
                undone_by: None,
            };
            changed.sort();
            let fields: Vec<String> = changed.iter().map(|f| f.to_string()).collect();
            let commit = IdentityCommit {
                profiles: vec![(merged, s.version), (gone, l.version)],
                merge: Some(r.clone()),
                keep_apart: None,
                decided: None,
                audit: vec![
                    s_head.next(
                        chain_of(Some(survivor), now),
                        Self::entry(actor, survivor, "profile_merged", fields, "merged"),
                    ),
                    l_head.next(
                        chain_of(Some(loser), now),
                        Self::entry(actor, loser, "profile_merged_into", vec!["*".into()], "merged"),
                    ),
                ],
            };
            match self.ids.commit_identity(&commit).await {
                Ok(()) => {
                    record = Some(r);
                    break;
                }
                Err(CmpError::Store(StoreError::Conflict)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let Some(mut record) = record else { return Err(CmpError::from(StoreError::Conflict).into()) };
        if record.status == MergeStatus::Moving {
            self.move_all(loser, survivor, |_| true, |o| o.or(Some(loser.clone()))).await?;
            self.move_cases(loser, survivor, |_| true).await?;
            record.status = MergeStatus::Active;
            self.ids.commit_identity(&IdentityCommit { merge: Some(record.clone()), ..Default::default() }).await?;
        }
        tracing::info!(survivor = %survivor, loser = %loser, by = %record.merged_by, "profiles merged");
        Ok(record)
    }

    /// Moves what `select` picks of `from`'s partition to `to`, re-sealing timeline entries, in
    /// batches; `origin` says what each moved item's origin becomes.
    async fn move_all(
        &self,
        from: &CustomerId,
        to: &CustomerId,
        select: impl Fn(&Selectable<'_>) -> bool,
        origin: impl Fn(Option<CustomerId>) -> Option<CustomerId>,
    ) -> Result<Vec<Move>, CmpError> {
        let p: Partition = self.ids.partition(from).await?;
        let kf = self.keys.key_for(from).await?;
        let kt = self.keys.key_for(to).await?;
        let mut moves = Vec::new();
        let timeline: Vec<&TimelineRecord> = p.timeline.iter().filter(|t| select(&Selectable::Timeline(t))).collect();
        let markers: BTreeSet<&str> =
            timeline.iter().filter_map(|t| crate::store::marker_of_timeline_key(&t.sk)).collect();
        for t in &timeline {
            moves.push(Move::Timeline(reseal(&kf, from, &kt, to, t, origin(t.origin.clone()))?));
        }
        for c in p.consents.iter().filter(|c| select(&Selectable::Consent(c))) {
            let mut c = c.clone();
            c.origin = origin(c.origin);
            moves.push(Move::Consent(c));
        }
        for h in p.holds.iter().filter(|h| select(&Selectable::Hold(h))) {
            moves.push(Move::Hold(h.clone()));
        }
        for l in p
            .lookups
            .iter()
            .filter(|l| select(&Selectable::Lookup(l)) || l.claimed_by.as_deref().is_some_and(|m| markers.contains(m)))
        {
            moves.push(Move::Lookup { key: l.key.clone(), origin: origin(l.origin.clone()) });
        }
        for i in p
            .index
            .iter()
            .filter(|i| select(&Selectable::Index(i)) || i.marker.as_deref().is_some_and(|m| markers.contains(m)))
        {
            moves.push(Move::Index { pk: i.pk.clone(), sk: i.sk.clone(), origin: origin(i.origin.clone()) });
        }
        for batch in moves.chunks(MOVE_BATCH) {
            self.ids.move_items(from, to, batch).await?;
        }
        Ok(moves)
    }

    /// Re-points the compensation cases of `from` that `select` picks to `to`.
    async fn move_cases(
        &self,
        from: &CustomerId,
        to: &CustomerId,
        select: impl Fn(&crate::cases::Case) -> bool,
    ) -> Result<(), CmpError> {
        let Some(cases) = &self.cases else { return Ok(()) };
        let filter = crate::cases::CaseFilter { customer: Some(from.clone()), ..Default::default() };
        for mut c in cases.list_cases(&filter, 10_000).await? {
            if !select(&c) {
                continue;
            }
            let v = c.version;
            c.customer_id = to.clone();
            c.version += 1;
            match cases.put_case(&c, Some(v)).await {
                Ok(()) | Err(CmpError::Store(StoreError::Conflict)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Undoes the merge of `loser` into `survivor`: both profiles as they would be had the merge
    /// never happened (including what arrived since), and the pair kept apart from now on.
    pub async fn unmerge(
        &self,
        survivor: &CustomerId,
        loser: &CustomerId,
        actor: &Actor,
        reason: &str,
    ) -> Result<MergeRecord, IdentityError> {
        let records = self.ids.merges(survivor).await?;
        let Some(mut record) = records.into_iter().rev().find(|r| &r.loser == loser && r.status != MergeStatus::Undone)
        else {
            return Err(IdentityError::NotMerged);
        };
        if record.status != MergeStatus::Unmerging {
            record.status = MergeStatus::Unmerging;
            self.ids.commit_identity(&IdentityCommit { merge: Some(record.clone()), ..Default::default() }).await?;
        }
        let mut side: BTreeSet<CustomerId> = record.loser_members.iter().cloned().collect();
        side.insert(loser.clone());
        let since = record.merged_at;
        let belongs = |origin: &Option<CustomerId>| origin.as_ref().is_some_and(|o| side.contains(o));
        let select = |x: &Selectable<'_>| match x {
            Selectable::Timeline(t) => {
                belongs(&t.origin)
                    || (t.origin.is_none() && belongs(&t.resolved_via) && t.recorded_at.is_some_and(|r| r >= since))
            }
            Selectable::Consent(c) => belongs(&c.origin),
            Selectable::Hold(_) => false,
            Selectable::Lookup(l) => belongs(&l.origin),
            Selectable::Index(i) => belongs(&i.origin),
        };
        // what comes back to the loser is native there again; its own members' items stay theirs
        let origin = |o: Option<CustomerId>| o.filter(|x| x != loser);
        let moved = self.move_all(survivor, loser, select, origin).await?;
        // the passengers whose bookings went back (the owner index may lag; the moves do not)
        let passengers: BTreeSet<String> = moved
            .iter()
            .filter_map(|m| match m {
                Move::Index { pk, .. } => pk.strip_prefix("PAXB#").map(str::to_owned),
                _ => None,
            })
            .collect();
        for attempt in 0..crate::retry::Backoff::CONFLICT.attempts {
            if attempt > 0 {
                crate::retry::Backoff::CONFLICT.pause(attempt - 1).await;
            }
            let (s, s_head) = self.active(survivor).await?;
            let (l, l_head) = self.active(loser).await?;
            let now = Utc::now();
            let mut restored_s = self.rebuilt(&s).await?;
            restored_s.members.retain(|m| !side.contains(m));
            restored_s.version = s.version + 1;
            restored_s.updated_at = now;
            let mut restored_l = self.rebuilt(&l).await?;
            restored_l.status = ProfileStatus::Active;
            restored_l.merged_into = None;
            restored_l.members = record.loser_members.clone();
            restored_l.version = l.version + 1;
            restored_l.updated_at = now;
            let mut done = record.clone();
            done.status = MergeStatus::Undone;
            done.undone_at = Some(now);
            done.undone_by = Some(format!("{}:{}", actor.role, actor.subject));
            let commit = IdentityCommit {
                profiles: vec![(restored_s, s.version), (restored_l, l.version)],
                merge: Some(done.clone()),
                keep_apart: Some(KeepApart::new(survivor, loser, &format!("{}:{}", actor.role, actor.subject), reason)),
                decided: None,
                audit: vec![
                    s_head.next(
                        chain_of(Some(survivor), now),
                        Self::entry(actor, survivor, "profile_unmerged", vec!["*".into()], "unmerged"),
                    ),
                    l_head.next(
                        chain_of(Some(loser), now),
                        Self::entry(actor, loser, "profile_unmerged", vec!["*".into()], "restored"),
                    ),
                ],
            };
            match self.ids.commit_identity(&commit).await {
                Ok(()) => {
                    // cases follow their passengers' bookings back
                    self.move_cases(survivor, loser, |c| passengers.contains(&c.passenger_key)).await?;
                    tracing::info!(survivor = %survivor, loser = %loser, "merge undone");
                    return Ok(done);
                }
                Err(CmpError::Store(StoreError::Conflict)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CmpError::from(StoreError::Conflict).into())
    }

    /// The profile rebuilt from the sightings its timeline holds now.
    async fn rebuilt(&self, p: &ProfileRecord) -> Result<ProfileRecord, CmpError> {
        let key = self.keys.key_for(&p.id).await?;
        let partition = self.ids.partition(&p.id).await?;
        let mut sightings = Vec::new();
        for t in &partition.timeline {
            if let Some(sealed) = &t.sighting {
                let plain = key.open(p.id.as_str(), &sighting_field(&t.sk), sealed)?;
                let s: Sighting = serde_json::from_slice(&plain)
                    .map_err(|e| CmpError::Integrity(format!("sighting does not decode: {e}")))?;
                sightings.push((s, booking_key(t).map(str::to_owned)));
            }
        }
        let r = rebuild(sightings.iter().map(|(s, k)| (s, k.as_deref())));
        let mut out = p.clone();
        out.sealed = seal_golden(&key, &p.id, &r.golden);
        out.lineage = r.lineage;
        out.sources = r.sources;
        out.bookings = r.bookings;
        out.tier = r.golden.tier().map(|t| format!("{t:?}").to_lowercase());
        out.segments = crate::segments::segments(crate::segments::Inputs {
            tier: out.tier.as_deref(),
            loyalty_member: r.golden.loyalty.is_some(),
            bookings: out.bookings,
            sources: out.sources.len(),
        });
        Ok(out)
    }

    /// Of two profiles, the one that survives a merge: the older, so that ids given out earlier stay.
    pub async fn order(&self, a: &CustomerId, b: &CustomerId) -> Result<(CustomerId, CustomerId), IdentityError> {
        let (pa, _) = self.active(a).await?;
        let (pb, _) = self.active(b).await?;
        Ok(if (pa.created_at, pa.id.as_str()) <= (pb.created_at, pb.id.as_str()) {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        })
    }

    /// Where a profile has gone: itself when active, its survivor when merged.
    pub async fn current(&self, id: &CustomerId) -> Result<CustomerId, IdentityError> {
        let mut id = id.clone();
        for _ in 0..5 {
            let (p, _) = self.active(&id).await?;
            match (p.status, p.merged_into) {
                (ProfileStatus::Merged, Some(next)) => id = next,
                _ => return Ok(id),
            }
        }
        Err(IdentityError::Backend(CmpError::Integrity("merge redirects form a chain longer than 5".into())))
    }

    /// An agent's decision on a candidate match: merge the two (the older survives) or keep them
    /// apart from now on. Decisions are kept for the thresholds report.
    pub async fn decide(
        &self,
        match_id: &str,
        merge: bool,
        actor: &Actor,
        reason: &str,
    ) -> Result<(MatchCandidate, Option<MergeRecord>), IdentityError> {
        let Some(mut m) = self.ids.get_match(match_id).await? else { return Err(IdentityError::NotFound) };
        if m.status != MatchStatus::Pending {
            return Err(IdentityError::AlreadyDecided("this match was decided already"));
        }
        let by = format!("{}:{}", actor.role, actor.subject);
        m.decided_at = Some(Utc::now());
        m.decided_by = Some(by.clone());
        let (a, b) = (self.current(&m.a).await?, self.current(&m.b).await?);
        let record = if merge {
            m.status = MatchStatus::Merged;
            if a == b {
                None // merged meanwhile
            } else {
                let (survivor, loser) = self.order(&a, &b).await?;
                let explanation = json!({"review": m.id, "score": m.score, "explanation": m.explanation});
                Some(self.merge(&survivor, &loser, actor, reason, explanation, true).await?)
            }
        } else {
            m.status = MatchStatus::KeptApart;
            None
        };
        let keep_apart = (!merge).then(|| KeepApart::new(&a, &b, &by, reason));
        let commit = IdentityCommit { decided: Some(m.clone()), keep_apart, ..Default::default() };
        self.ids.commit_identity(&commit).await.map_err(|e| match e {
            CmpError::Store(StoreError::Conflict) => IdentityError::AlreadyDecided("this match was decided meanwhile"),
            e => e.into(),
        })?;
        Ok((m, record))
    }

    /// Pending candidate matches, oldest first.
    pub async fn review(&self, limit: usize) -> Result<Vec<MatchCandidate>, CmpError> {
        self.ids.pending_matches(limit).await
    }

    /// How agents' decisions bear on the model's thresholds: per score band (1 bit wide), how many
    /// reviews were merged or kept apart; and the thresholds the decisions support (the lowest
    /// score from which at least 98 % were merges, the highest below which at least 98 % were kept
    /// apart), beside the model's.
    pub async fn report(&self, upper: f64, lower: f64, guard: u32) -> Result<Value, CmpError> {
        let decided = self.ids.decided_matches(10_000).await?;
        let guarded = self.ids.guarded_identifiers(REPORT_GUARDED).await?;
        let mut bands: BTreeMap<i64, (u32, u32)> = BTreeMap::new();
        for m in &decided {
            let e = bands.entry(m.score.floor() as i64).or_default();
            if m.status == MatchStatus::Merged {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let rows: Vec<Value> = bands
            .iter()
            .map(|(b, (merged, apart))| {
                json!({"score_from": b, "score_to": b + 1, "merged": merged, "kept_apart": apart,
                       "merge_share": f64::from(*merged) / f64::from(merged + apart)})
            })
            .collect();
        // suggested upper: the lowest band from which, cumulatively upwards, merges are >= 98 %
        let mut suggested_upper = None;
        let (mut m_up, mut a_up) = (0u32, 0u32);
        for (b, (merged, apart)) in bands.iter().rev() {
            m_up += merged;
            a_up += apart;
            if f64::from(m_up) >= 0.98 * f64::from(m_up + a_up) {
                suggested_upper = Some(*b as f64);
            } else {
                break;
            }
        }
        let mut suggested_lower = None;
        let (mut m_lo, mut a_lo) = (0u32, 0u32);
        for (b, (merged, apart)) in bands.iter() {
            m_lo += merged;
            a_lo += apart;
            if f64::from(a_lo) >= 0.98 * f64::from(m_lo + a_lo) {
                suggested_lower = Some((*b + 1) as f64);
            } else {
                break;
            }
        }
        Ok(json!({
            "decisions": decided.len(),
            "model": {"upper": upper, "lower": lower},
            "suggested": {"upper": suggested_upper, "lower": suggested_lower,
                          "rule": "upper: lowest score from which >= 98 % of reviews were merged; lower: highest score below which >= 98 % were kept apart"},
            "bands": rows,
            "shared_identifiers": {
                "guard": guard,
                "rule": "an identifier whose records contradicted its owner (given name and date of birth both differ) this many times stops deciding who a record is, and is neither compared nor blocked on",
                "items": guarded.iter().map(|g| json!({
                    "kind": g.kind, "owner": g.owner, "contested": g.contested, "reached_at": g.reached_at,
                })).collect::<Vec<_>>(),
            },
        }))
    }

    /// The merges kept under a survivor, newest first, with what each explains.
    pub async fn history(&self, survivor: &CustomerId) -> Result<Vec<Value>, CmpError> {
        let mut records = self.ids.merges(survivor).await?;
        records.reverse();
        Ok(records.into_iter().map(|r| json!(r)).collect())
    }
}

/// What [`Identity::move_all`] chooses from.
pub enum Selectable<'a> {
    Timeline(&'a TimelineRecord),
    Consent(&'a crate::store::ConsentEntry),
    Hold(&'a crate::store::LegalHold),
    Lookup(&'a crate::store::LookupRecord),
    Index(&'a crate::store::IndexRecord),
}

/// Every field of a golden record sealed with the customer's key.
fn seal_golden(key: &DataKey, id: &CustomerId, g: &Golden) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for f in crate::domain::profile::FIELDS {
        if let Some(json) = g.field_json(f) {
            if json != b"null" && json != b"[]" && json != b"{}" {
                out.insert(f.to_owned(), key.seal(id.as_str(), f, &json));
            }
        }
    }
    out
}

/// A timeline entry of `from` sealed again for `to` (the associated data names the owner).
fn reseal(
    kf: &DataKey,
    from: &CustomerId,
    kt: &DataKey,
    to: &CustomerId,
    t: &TimelineRecord,
    origin: Option<CustomerId>,
) -> Result<TimelineRecord, CmpError> {
    let field = crate::merge::timeline_field(&t.sk);
    let payload = kt.seal(to.as_str(), &field, &kf.open(from.as_str(), &field, &t.payload)?);
    let sighting = match &t.sighting {
        Some(s) => {
            let f = sighting_field(&t.sk);
            Some(kt.seal(to.as_str(), &f, &kf.open(from.as_str(), &f, s)?))
        }
        None => None,
    };
    Ok(TimelineRecord { payload, sighting, origin, ..t.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::fake::FakeKms;
    use crate::crypto::{BlindIndexer, CachePolicy};
    use crate::domain::event::Identifier;
    use crate::merge::{open_profile, Merge};
    use crate::schema::EventValidator;
    use crate::store::memory::MemoryStore;
    use serde_json::json;

    struct World {
        store: Arc<MemoryStore>,
        keys: Arc<KeyRing>,
        merge: Merge,
        indexer: Arc<BlindIndexer>,
        identity: Identity,
    }

    fn world() -> World {
        let store = Arc::new(MemoryStore::default());
        let kms = Arc::new(FakeKms::new());
        let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), CachePolicy::default()));
        let indexer = Arc::new(BlindIndexer::from_key(&[5u8; 32]));
        let merge =
            Merge::new(store.clone(), keys.clone(), kms, indexer.clone(), Arc::new(EventValidator::new().unwrap()), 14);
        let identity = Identity::new(store.clone(), store.clone(), keys.clone());
        World { store, keys, merge, indexer, identity }
    }

    fn observed(id: &str, source: &str, time: &str, data: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "specversion": "1.0", "id": id, "source": source, "type": "customer.profile_observed",
            "time": time, "subject": format!("s-{id}"), "data": data
        }))
        .unwrap()
    }

    /// Ines signs up on the web; a loyalty enrolment under another e-mail is the same person; after
    /// the merge a loyalty sighting adds a phone (her loyalty number: hers as the loyalty profile)
    /// and a web visit adds a meal preference (the web e-mail: hers as the web profile).
    fn events() -> [Vec<u8>; 4] {
        [
            observed(
                "a",
                "/channels/web",
                "2026-11-01T10:00:00Z",
                json!({"channel": "web",
                "name": {"given": "Inès", "family": "Lefèvre"}, "emails": [{"address": "ines@example.com"}],
                "date_of_birth": "1990-07-09"}),
            ),
            observed(
                "b",
                "/channels/loyalty",
                "2026-11-02T10:00:00Z",
                json!({"channel": "loyalty",
                "name": {"given": "Ines", "family": "Lefevre"}, "emails": [{"address": "ines.l@example.org", "verified": true}],
                "loyalty": {"number": "GA55501234", "tier": "silver"}, "phones": [{"number": "+33612345678"}]}),
            ),
            observed(
                "c",
                "/channels/loyalty",
                "2026-11-05T10:00:00Z",
                json!({"channel": "loyalty",
                "loyalty": {"number": "GA55501234"}, "phones": [{"number": "+33698765432"}]}),
            ),
            observed(
                "d",
                "/channels/web",
                "2026-11-06T10:00:00Z",
                json!({"channel": "web",
                "emails": [{"address": "ines@example.com"}], "preferences": {"meal": "VGML"}}),
            ),
        ]
    }

    async fn golden(w: &World, id: &CustomerId) -> (Golden, ProfileRecord) {
        let p = w.store.get_profile(id).await.unwrap().unwrap();
        let key = w.keys.key_for(id).await.unwrap();
        (open_profile(&key, &p).unwrap(), p)
    }

    fn id_of(w: &World, ident: Identifier) -> CustomerId {
        w.store.lookup_owner(&w.indexer.lookup_key(&ident)).expect("an owner")
    }

    #[tokio::test]
    async fn a_merge_moves_everything_and_an_unmerge_restores_both_as_if_never_merged() {
        let w = world();
        let [a, b, c, d] = events();
        for e in [&a, &b] {
            w.merge.process_record(e, "t").await.unwrap();
        }
        let web = id_of(&w, Identifier::Email("ines@example.com".into()));
        let loyal = id_of(&w, Identifier::Loyalty("GA55501234".into()));
        assert_ne!(web, loyal);
        let agent = Actor {
            subject: "agent-1".into(),
            role: "customer_affairs".into(),
            purpose: "t".into(),
            request_id: "r".into(),
        };
        let record =
            w.identity.merge(&web, &loyal, &agent, "same person", json!({"rule": "agent"}), false).await.unwrap();
        assert_eq!(record.status, MergeStatus::Active);

        // the survivor holds both; the other redirects; identifiers and timeline moved
        let (g, p) = golden(&w, &web).await;
        assert_eq!(g.emails.len(), 2);
        assert_eq!(g.loyalty.as_ref().map(|l| l.number.as_str()), Some("GA55501234"));
        assert_eq!(g.name.as_ref().map(|n| n.given.as_str()), Some("Ines"), "the loyalty channel is trusted more");
        assert_eq!(p.members, vec![loyal.clone()]);
        assert_eq!(p.tier.as_deref(), Some("silver"));
        assert_eq!(w.store.timeline_count(&web), 2);
        assert_eq!(w.store.timeline_count(&loyal), 0);
        assert_eq!(id_of(&w, Identifier::Loyalty("GA55501234".into())), web, "lookups follow");
        let gone = w.store.get_profile(&loyal).await.unwrap().unwrap();
        assert_eq!((gone.status, gone.merged_into.as_ref()), (ProfileStatus::Merged, Some(&web)));

        // events after the merge land on the survivor
        for e in [&c, &d] {
            w.merge.process_record(e, "t").await.unwrap();
        }
        assert_eq!(w.store.timeline_count(&web), 4);
        assert!(w.store.get_profile(&loyal).await.unwrap().unwrap().status == ProfileStatus::Merged);

        // undone: both as if the merge had never happened, the later events where they belong
        let undone = w.identity.unmerge(&web, &loyal, &agent, "two people after all").await.unwrap();
        assert_eq!(undone.status, MergeStatus::Undone);
        let (gw, pw) = golden(&w, &web).await;
        let (gl, pl) = golden(&w, &loyal).await;
        assert_eq!((pw.status, pl.status), (ProfileStatus::Active, ProfileStatus::Active));
        assert!(pw.members.is_empty() && pl.merged_into.is_none());
        assert_eq!(id_of(&w, Identifier::Loyalty("GA55501234".into())), loyal);
        assert_eq!(
            id_of(&w, Identifier::Phone("+33698765432".into())),
            loyal,
            "claimed after the merge, for her loyalty self"
        );
        assert_eq!((w.store.timeline_count(&web), w.store.timeline_count(&loyal)), (2, 2));

        // the control: the same four events, never merged
        let control = world();
        for e in [&a, &b, &c, &d] {
            control.merge.process_record(e, "t").await.unwrap();
        }
        let cw = id_of(&control, Identifier::Email("ines@example.com".into()));
        let cl = id_of(&control, Identifier::Loyalty("GA55501234".into()));
        let ((cgw, cpw), (cgl, cpl)) = (golden(&control, &cw).await, golden(&control, &cl).await);
        assert_eq!(gw, cgw, "the web profile is what it would have been");
        assert_eq!(gl, cgl, "the loyalty profile is what it would have been");
        assert_eq!((pw.lineage.clone(), pl.lineage.clone()), (cpw.lineage, cpl.lineage));
        assert_eq!((pw.tier.clone(), pl.tier.clone(), pl.bookings), (cpw.tier, cpl.tier, cpl.bookings));

        // kept apart from now on, unless an agent insists
        let again = w.identity.merge(&web, &loyal, &Actor::system("x"), "auto", json!({}), false).await;
        assert!(matches!(again, Err(IdentityError::KeptApart)), "{again:?}");
        // the audit trail of both has the merge and the unmerge
        let actions: Vec<String> = w.store.audit_records().iter().map(|r| r.entry.action.clone()).collect();
        for a in ["profile_merged", "profile_merged_into", "profile_unmerged"] {
            assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
        }
    }

    #[test]
    fn absorbing_is_symmetric_and_equals_applying_everything() {
        use crate::domain::event::{parse_event, RawEnvelope};
        let parse = |bytes: &[u8]| {
            let raw: RawEnvelope = serde_json::from_slice(bytes).unwrap();
            parse_event(&raw).unwrap()
        };
        let evs: Vec<_> = events().iter().map(|e| parse(e)).collect();
        let fold = |which: &[usize]| {
            let mut g = Golden::default();
            let mut l = BTreeMap::new();
            for i in which {
                let e = &evs[*i];
                let from = Lineage {
                    source: e.source.clone(),
                    channel: e.units[0].channel,
                    event_id: e.id.clone(),
                    observed_at: e.time,
                };
                g.apply(&mut l, &e.units[0].observation, &from);
            }
            (g, l)
        };
        let (all, all_l) = fold(&[0, 1, 2, 3]);
        let (mut x, mut xl) = fold(&[0, 3]);
        let (y, yl) = fold(&[1, 2]);
        x.absorb(&mut xl, &y, &yl);
        let (mut y2, mut y2l) = fold(&[1, 2]);
        let (x2, x2l) = fold(&[0, 3]);
        y2.absorb(&mut y2l, &x2, &x2l);
        assert_eq!(x, all);
        assert_eq!(y2, all);
        assert_eq!(xl, all_l);
    }
}
