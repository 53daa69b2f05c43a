//! Consent: an append-only ledger per customer, the current state derived from it, and the one
//! question every output path asks: may we use this customer's data for purpose P now?
//!
//! The state of a purpose is decided by the customer's latest act (the time they acted, not the
//! time we heard of it), ties broken by the event id, so duplicates and out-of-order delivery give
//! the same answer. Without any record, the answer is the default of the customer's jurisdiction
//! (opt-in regimes say no).
use crate::audit::{chain_of, AuditEntry};
use crate::crypto::BlindIndexer;
use crate::deadletter::{DeadLetters, Decoded};
use crate::domain::event::{serde_message, Channel, EventType, FieldError, Identifier, RawEnvelope};
use crate::domain::pii::{CountryCode, Email, LoyaltyNumber, PhoneE164};
use crate::domain::{CustomerId, EventRef};
use crate::error::CmpError;
use crate::schema::EventValidator;
use crate::store::{consent_sort_key, PrivacyStore, ProfileStatus, ProfileStore, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    MarketingEmail,
    MarketingSms,
    MarketingPush,
    Personalisation,
    PartnerSharing,
    Analytics,
    Profiling,
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Purpose::MarketingEmail,
        Purpose::MarketingSms,
        Purpose::MarketingPush,
        Purpose::Personalisation,
        Purpose::PartnerSharing,
        Purpose::Analytics,
        Purpose::Profiling,
    ];
}

/// How a jurisdiction treats the absence of a consent record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// GDPR and ePrivacy (EU/EEA), UK GDPR and PECR, Swiss FADP: nothing without consent.
    OptIn,
    /// Regimes where direct marketing and first-party analytics may proceed until the customer
    /// objects (e.g. the US under CAN-SPAM); sharing and profiling still need consent.
    OptOut,
}

/// Countries (ISO 3166-1 alpha-2) with an opt-in regime. Every other country is opt-out.
/// The one place these defaults are configured; `docs/consent.md` lists them.
pub const OPT_IN: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "GB", "CH", "GP", "GF", "MQ", "RE", "YT", "MF",
];

pub fn regime(jurisdiction: Option<&str>) -> Regime {
    match jurisdiction {
        // unknown jurisdiction: treated as the strictest
        None => Regime::OptIn,
        Some(c) if OPT_IN.contains(&c) => Regime::OptIn,
        Some(_) => Regime::OptOut,
    }
}

/// What "no record" means for a purpose under a regime.
pub fn default_for(regime: Regime, purpose: Purpose) -> bool {
    match regime {
        Regime::OptIn => false,
        Regime::OptOut => matches!(
            purpose,
            Purpose::MarketingEmail | Purpose::MarketingPush | Purpose::Personalisation | Purpose::Analytics
        ),
    }
}

/// One act of the customer, as recorded by a channel. Contains no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub purpose: Purpose,
    pub granted: bool,
    /// When the customer acted.
    pub acted_at: DateTime<Utc>,
    /// When the platform received it.
    pub recorded_at: DateTime<Utc>,
    pub jurisdiction: Option<String>,
    pub channel: String,
    pub legal_basis: String,
    pub notice_version: String,
    /// Who captured it: the customer themselves, or an agent's subject id.
    pub captured_by: String,
    pub event_id: String,
}

/// The answer to "may we use the data for this purpose", with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub purpose: Purpose,
    pub allowed: bool,
    /// The record that decided it, if any; otherwise the jurisdiction's default applied.
    pub evidence: Option<ConsentRecord>,
    pub regime: Regime,
}

/// When an act takes effect: when the customer acted, but never after the platform recorded it. A
/// record whose `acted_at` lies after its `recorded_at` (a clock ahead, or a forged date) counts from
/// when it was recorded, so an act dated in the future can never outrank an act recorded after it.
pub fn effective_at(r: &ConsentRecord) -> DateTime<Utc> {
    r.acted_at.min(r.recorded_at)
}

/// The record in force for `purpose`: the latest act (by [`effective_at`]) not after `now`, ties
/// broken by event id (deterministic).
pub fn in_force(ledger: &[ConsentRecord], purpose: Purpose, now: DateTime<Utc>) -> Option<&ConsentRecord> {
    ledger
        .iter()
        .filter(|r| r.purpose == purpose && effective_at(r) <= now)
        .max_by(|a, b| effective_at(a).cmp(&effective_at(b)).then_with(|| a.event_id.cmp(&b.event_id)))
}

/// May the customer's data be used for `purpose` now? The single function every output path calls.
pub fn may_use(ledger: &[ConsentRecord], jurisdiction: Option<&str>, purpose: Purpose, now: DateTime<Utc>) -> Decision {
    let regime = regime(jurisdiction);
    match in_force(ledger, purpose, now) {
        Some(r) => Decision { purpose, allowed: r.granted, evidence: Some(r.clone()), regime },
        None => Decision { purpose, allowed: default_for(regime, purpose), evidence: None, regime },
    }
}

/// The current state of every purpose.
pub fn current_state(ledger: &[ConsentRecord], jurisdiction: Option<&str>, now: DateTime<Utc>) -> Vec<Decision> {
    Purpose::ALL.iter().map(|p| may_use(ledger, jurisdiction, *p, now)).collect()
}

// ---------------------------------------------------------------- the inbound event

/// Who a consent change is about, as the event names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectRef {
    /// The platform's own id: decides alone.
    Id(CustomerId),
    /// Strong identifiers, strongest first; the first that finds a profile decides.
    Identifiers(Vec<Identifier>),
}

/// A validated `customer.consent_changed` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub subject: SubjectRef,
    /// The ledger entry, with `recorded_at` set when it is appended.
    pub record: ConsentRecord,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireConsentCustomer {
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    loyalty_number: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireConsentChanged {
    customer: WireConsentCustomer,
    purpose: Purpose,
    granted: bool,
    jurisdiction: String,
    channel: Channel,
    legal_basis: LegalBasis,
    notice_version: String,
    #[serde(default)]
    captured_by: Option<String>,
    #[serde(default)]
    acted_at: Option<DateTime<Utc>>,
}

/// GDPR Art. 6(1) bases a consent record can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    LegitimateInterest,
    Contract,
    LegalObligation,
}

impl LegalBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::LegitimateInterest => "legitimate_interest",
            LegalBasis::Contract => "contract",
            LegalBasis::LegalObligation => "legal_obligation",
        }
    }
}

/// Turns an envelope of type `customer.consent_changed` (already valid against its schema) into a
/// [`ConsentChange`], or says what is wrong with it.
pub fn parse_change(raw: &RawEnvelope) -> Result<ConsentChange, Vec<FieldError>> {
    let w: WireConsentChanged = serde_json::from_value(raw.data.clone())
        .map_err(|e| vec![FieldError::new("schema_violation", "/data", serde_message(&e))])?;
    let mut errors = Vec::new();
    let jurisdiction = match CountryCode::parse(&w.jurisdiction) {
        Ok(c) => c.as_str().to_owned(),
        Err(e) => {
            errors.push(FieldError::new("invalid_country", "/data/jurisdiction", e.to_string()));
            String::new()
        }
    };
    let subject = match &w.customer.customer_id {
        Some(id) => match id.parse::<CustomerId>() {
            Ok(id) => Some(SubjectRef::Id(id)),
            Err(_) => {
                errors.push(FieldError::new(
                    "invalid_customer_id",
                    "/data/customer/customer_id",
                    "a customer id is `cus_` followed by 32 lowercase hex digits",
                ));
                None
            }
        },
        None => {
            let mut ids = Vec::new();
            if let Some(l) = &w.customer.loyalty_number {
                match LoyaltyNumber::parse(l) {
                    Ok(l) => ids.push(Identifier::Loyalty(l.match_key())),
                    Err(e) => errors.push(FieldError::new(
                        "invalid_loyalty_number",
                        "/data/customer/loyalty_number",
                        e.to_string(),
                    )),
                }
            }
            if let Some(m) = &w.customer.email {
                match Email::parse(m) {
                    Ok(m) => ids.push(Identifier::Email(m.match_key())),
                    Err(e) => errors.push(FieldError::new("invalid_email", "/data/customer/email", e.to_string())),
                }
            }
            if let Some(p) = &w.customer.phone {
                match PhoneE164::parse(p, None) {
                    Ok(p) => ids.push(Identifier::Phone(p.match_key())),
                    Err(e) => errors.push(FieldError::new("invalid_phone", "/data/customer/phone", e.to_string())),
                }
            }
            // the channel account the event came from, as the merge claimed it
            ids.push(Identifier::SourceSubject(format!("{}|{}", raw.source, raw.subject)));
            Some(SubjectRef::Identifiers(ids))
        }
    };
    let acted_at = w.acted_at.unwrap_or(raw.time);
    if acted_at > raw.time + chrono::Duration::minutes(5) {
        errors.push(FieldError::new(
            "acted_after_event",
            "/data/acted_at",
            "the customer cannot have acted after the event was produced",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ConsentChange {
        subject: subject.unwrap_or(SubjectRef::Identifiers(vec![])),
        record: ConsentRecord {
            purpose: w.purpose,
            granted: w.granted,
            acted_at,
            recorded_at: acted_at,
            jurisdiction: Some(jurisdiction),
            channel: w.channel.as_str().to_owned(),
            legal_basis: w.legal_basis.as_str().to_owned(),
            notice_version: w.notice_version,
            captured_by: w.captured_by.unwrap_or_else(|| "customer".into()),
            event_id: EventRef::new(&raw.source, &raw.id).to_string(),
        },
        source: raw.source.clone(),
    })
}

/// The customer's jurisdiction for defaults: the one their latest act was captured under.
pub fn jurisdiction_of(ledger: &[ConsentRecord]) -> Option<&str> {
    ledger.iter().max_by(|a, b| a.acted_at.cmp(&b.acted_at)).and_then(|r| r.jurisdiction.as_deref())
}

// ---------------------------------------------------------------- the ledger service

/// Where a consent change's subject led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Found(CustomerId),
    Unknown,
    Erased(CustomerId),
}

/// What appending to the ledger did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Recorded; `changed` says whether the purpose's state in force changed.
    Recorded { changed: bool, decision: Decision },
    /// The same act was recorded before (a redelivery).
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("no profile with this id")]
    NotFound,
    #[error("the customer was erased")]
    Erased,
    #[error(transparent)]
    Backend(#[from] CmpError),
}

/// The consent ledger: appends, current state, history, and the gate every output path asks.
pub struct ConsentLedger {
    store: Arc<dyn ProfileStore>,
    privacy: Arc<dyn PrivacyStore>,
    /// Finding a customer by identifiers (changes that name no id); readers have none.
    indexer: Option<Arc<BlindIndexer>>,
}

impl ConsentLedger {
    pub fn new(store: Arc<dyn ProfileStore>, privacy: Arc<dyn PrivacyStore>, indexer: Arc<BlindIndexer>) -> Self {
        ConsentLedger { store, privacy, indexer: Some(indexer) }
    }

    /// A ledger that reads state and history but resolves no identifiers (no blind index).
    pub fn reader(store: Arc<dyn ProfileStore>, privacy: Arc<dyn PrivacyStore>) -> Self {
        ConsentLedger { store, privacy, indexer: None }
    }

    /// Follows merge redirects to the profile in force.
    async fn follow(&self, id: CustomerId) -> Result<Resolved, CmpError> {
        let mut id = id;
        for _ in 0..5 {
            match self.store.get_profile(&id).await? {
                None => return Ok(Resolved::Unknown),
                Some(p) => match p.status {
                    ProfileStatus::Active => return Ok(Resolved::Found(id)),
                    ProfileStatus::Erased => return Ok(Resolved::Erased(id)),
                    ProfileStatus::Merged => match p.merged_into {
                        Some(next) => id = next,
                        None => return Ok(Resolved::Unknown),
                    },
                },
            }
        }
        Err(CmpError::Integrity("merge redirects form a chain longer than 5".into()))
    }

    /// Finds the customer a consent change is about.
    pub async fn resolve(&self, subject: &SubjectRef) -> Result<Resolved, CmpError> {
        match subject {
            SubjectRef::Id(id) => self.follow(id.clone()).await,
            SubjectRef::Identifiers(ids) => {
                let indexer = self
                    .indexer
                    .as_ref()
                    .ok_or_else(|| CmpError::Config("this consent ledger reads and resolves no identifiers".into()))?;
                let lookups: Vec<String> = ids.iter().map(|i| indexer.lookup_key(i)).collect();
                let pre = self.store.prefetch(&[], &lookups).await?;
                match lookups.iter().find_map(|l| pre.owners.get(l)) {
                    Some(id) => self.follow(id.clone()).await,
                    None => Ok(Resolved::Unknown),
                }
            }
        }
    }

    /// Is `event_ref` the reference of a consent event recorded for a customer who was erased since?
    /// Erasure keeps those references as replay guards (`EVT#<ref>` items, the merge's markers),
    /// so a re-sent event recreates no consent, whichever profile its identifiers now lead to.
    pub async fn replay_guarded(&self, event_ref: &str) -> Result<bool, CmpError> {
        let markers = [event_ref.to_owned()];
        Ok(self.store.prefetch(&markers, &[]).await?.processed_markers.contains(event_ref))
    }

    /// Appends `record` to the customer's ledger with its audit record, in one transaction.
    pub async fn append(
        &self,
        id: &CustomerId,
        mut record: ConsentRecord,
        audit: AuditEntry,
    ) -> Result<Appended, LedgerError> {
        for attempt in 0..crate::retry::Backoff::CONFLICT.attempts {
            if attempt > 0 {
                crate::retry::Backoff::CONFLICT.pause(attempt - 1).await;
            }
            let (profile, head) = self.store.get_profile_and_audit_head(id).await?;
            match profile.map(|p| p.status) {
                None | Some(ProfileStatus::Merged) => return Err(LedgerError::NotFound),
                Some(ProfileStatus::Erased) => return Err(LedgerError::Erased),
                Some(ProfileStatus::Active) => {}
            }
            let ledger = self.privacy.consents(id).await?;
            let sk = consent_sort_key(&record);
            if ledger
                .iter()
                .any(|r| consent_sort_key(r) == sk || (r.event_id == record.event_id && r.purpose == record.purpose))
            {
                return Ok(Appended::Duplicate);
            }
            let now = Utc::now();
            record.recorded_at = now;
            // an act is never recorded as having happened after it was recorded
            record.acted_at = record.acted_at.min(now);
            let before = may_use(&ledger, jurisdiction_of(&ledger), record.purpose, now).allowed;
            let mut after_ledger = ledger;
            after_ledger.push(record.clone());
            let decision = may_use(&after_ledger, jurisdiction_of(&after_ledger), record.purpose, now);
            let entry = AuditEntry { at: now, ..audit.clone() };
            match self.privacy.append_consent(id, &record, &head.next(chain_of(Some(id), now), entry)).await {
                Ok(()) => return Ok(Appended::Recorded { changed: before != decision.allowed, decision }),
                Err(CmpError::Store(StoreError::Conflict)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(LedgerError::Backend(StoreError::Conflict.into()))
    }

    /// The ledger, newest act first.
    pub async fn history(&self, id: &CustomerId) -> Result<Vec<ConsentRecord>, CmpError> {
        let mut ledger = self.privacy.consents(id).await?;
        ledger.sort_by(|a, b| b.acted_at.cmp(&a.acted_at).then_with(|| b.event_id.cmp(&a.event_id)));
        Ok(ledger)
    }

    /// The state of every purpose now, with its evidence.
    pub async fn state(&self, id: &CustomerId) -> Result<Vec<Decision>, CmpError> {
        let ledger = self.privacy.consents(id).await?;
        Ok(current_state(&ledger, jurisdiction_of(&ledger), Utc::now()))
    }

    /// The gate: may this customer's data be used for `purpose` now? Reads the ledger every time, so
    /// a withdrawal takes effect on the next call. Every output path that uses data for a purpose
    /// (exports, outbound events, personalisation, recommendations, notifications) asks this.
    pub async fn may_use(&self, id: &CustomerId, purpose: Purpose) -> Result<Decision, CmpError> {
        let ledger = self.privacy.consents(id).await?;
        Ok(may_use(&ledger, jurisdiction_of(&ledger), purpose, Utc::now()))
    }
}

// ---------------------------------------------------------------- the stream consumer

/// What the consent function did with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentOutcome {
    Recorded { customer: CustomerId, changed: bool },
    Duplicate,
    Parked { reason_code: String },
    NotMine,
}

/// The consent function's use case: `customer.consent_changed` records → the ledger.
pub struct ConsentProcessor {
    pub ledger: ConsentLedger,
    validator: Arc<EventValidator>,
    dead_letters: DeadLetters,
}

impl ConsentProcessor {
    pub fn new(ledger: ConsentLedger, validator: Arc<EventValidator>, dead_letters: DeadLetters) -> Self {
        ConsentProcessor { ledger, validator, dead_letters }
    }

    /// Where the stream runner parks records that fail permanently.
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.dead_letters
    }

    /// `Err` means "retry later"; what cannot be processed is parked with its reason.
    pub async fn process_record(&self, data: &[u8], origin: &str) -> Result<ConsentOutcome, CmpError> {
        let (raw, data) = match crate::deadletter::decode(data, &self.validator) {
            Decoded::Envelope { raw, data } => (raw, data),
            Decoded::Rejected { data, reason_code, reasons } => {
                let reason_code = self.dead_letters.park(&data, origin, reason_code, reasons).await?;
                return Ok(ConsentOutcome::Parked { reason_code });
            }
        };
        if raw.event_type != EventType::ConsentChanged {
            return Ok(ConsentOutcome::NotMine);
        }
        let change = match parse_change(&raw) {
            Ok(c) => c,
            Err(reasons) => {
                let reason_code = self.dead_letters.park(&data, origin, "invalid_event", reasons).await?;
                return Ok(ConsentOutcome::Parked { reason_code });
            }
        };
        if self.ledger.replay_guarded(&change.record.event_id).await? {
            // recorded before for a customer who was erased since: nothing of it is kept
            tracing::info!(origin, "consent change of an erased customer replayed: ignored");
            return Ok(ConsentOutcome::Duplicate);
        }
        let id = match self.ledger.resolve(&change.subject).await? {
            Resolved::Found(id) => id,
            Resolved::Unknown => {
                let reasons = vec![FieldError::new(
                    "unknown_customer",
                    "/data/customer",
                    "no profile has these identifiers; replay the event once the profile exists",
                )];
                let reason_code = self.dead_letters.park(&data, origin, "unknown_customer", reasons).await?;
                return Ok(ConsentOutcome::Parked { reason_code });
            }
            Resolved::Erased(_) => {
                // an erased customer's consent is not recorded again; nothing of the event is kept
                tracing::info!(origin, "consent change for an erased customer ignored");
                return Ok(ConsentOutcome::Duplicate);
            }
        };
        let entry = AuditEntry {
            at: Utc::now(),
            actor: change.source.clone(),
            role: "channel".into(),
            action: "consent_recorded".into(),
            customer_id: Some(id.to_string()),
            fields: vec![format!("consent:{}", purpose_name(change.record.purpose))],
            purpose: "consent_management".into(),
            request_id: raw.id.clone(),
            outcome: if change.record.granted { "granted".into() } else { "withdrawn".into() },
        };
        match self.ledger.append(&id, change.record, entry).await {
            Ok(Appended::Recorded { changed, .. }) => Ok(ConsentOutcome::Recorded { customer: id, changed }),
            Ok(Appended::Duplicate) => Ok(ConsentOutcome::Duplicate),
            Err(LedgerError::Erased) => Ok(ConsentOutcome::Duplicate),
            // merged or gone between the resolution and the write: resolve again on the retry
            Err(LedgerError::NotFound) => Err(StoreError::Conflict.into()),
            Err(LedgerError::Backend(e)) => Err(e),
        }
    }
}

/// The wire name of a purpose.
pub fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::MarketingEmail => "marketing_email",
        Purpose::MarketingSms => "marketing_sms",
        Purpose::MarketingPush => "marketing_push",
        Purpose::Personalisation => "personalisation",
        Purpose::PartnerSharing => "partner_sharing",
        Purpose::Analytics => "analytics",
        Purpose::Profiling => "profiling",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rec(purpose: Purpose, granted: bool, day: u32, id: &str) -> ConsentRecord {
        ConsentRecord {
            purpose,
            granted,
            acted_at: Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap(),
            recorded_at: Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap(),
            jurisdiction: Some("IE".into()),
            channel: "web".into(),
            legal_basis: "consent".into(),
            notice_version: "privacy-2026-09".into(),
            captured_by: "customer".into(),
            event_id: id.into(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
    }

    #[test]
    fn the_latest_act_decides_whatever_the_arrival_order() {
        let grant = rec(Purpose::MarketingEmail, true, 1, "a");
        let withdraw = rec(Purpose::MarketingEmail, false, 5, "b");
        for ledger in [
            vec![grant.clone(), withdraw.clone()],
            vec![withdraw.clone(), grant.clone()],
            vec![withdraw.clone(), grant.clone(), withdraw.clone()],
        ] {
            let d = may_use(&ledger, Some("IE"), Purpose::MarketingEmail, now());
            assert!(!d.allowed);
            assert_eq!(d.evidence.as_ref().map(|e| e.event_id.as_str()), Some("b"));
        }
        // same instant: the event id breaks the tie, the same way every time
        let a = rec(Purpose::Analytics, true, 3, "x1");
        let b = rec(Purpose::Analytics, false, 3, "x2");
        assert_eq!(
            may_use(&[a.clone(), b.clone()], Some("IE"), Purpose::Analytics, now()),
            may_use(&[b, a], Some("IE"), Purpose::Analytics, now())
        );
    }

    #[test]
    fn no_record_means_the_jurisdictions_default() {
        assert!(!may_use(&[], Some("DE"), Purpose::MarketingEmail, now()).allowed, "opt-in");
        assert!(!may_use(&[], Some("GB"), Purpose::Analytics, now()).allowed);
        assert!(!may_use(&[], None, Purpose::MarketingEmail, now()).allowed, "unknown: strictest");
        assert!(may_use(&[], Some("US"), Purpose::MarketingEmail, now()).allowed, "opt-out");
        assert!(!may_use(&[], Some("US"), Purpose::PartnerSharing, now()).allowed, "sharing always needs consent");
        assert!(!may_use(&[], Some("US"), Purpose::Profiling, now()).allowed);
    }

    #[test]
    fn an_act_dated_ahead_of_its_recording_never_outranks_a_later_recorded_act() {
        // issue 23: a grant dated 4 minutes ahead, recorded at t; the customer's withdrawal
        // acted and recorded a few seconds later
        let t = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        let mut grant = rec(Purpose::MarketingSms, true, 1, "grant");
        grant.acted_at = t + chrono::Duration::minutes(4);
        grant.recorded_at = t;
        let mut withdraw = rec(Purpose::MarketingSms, false, 1, "withdraw");
        withdraw.acted_at = t + chrono::Duration::seconds(5);
        withdraw.recorded_at = t + chrono::Duration::seconds(5);
        for at in [t + chrono::Duration::seconds(6), t + chrono::Duration::minutes(5), t + chrono::Duration::days(2)] {
            let d = may_use(&[grant.clone(), withdraw.clone()], Some("IE"), Purpose::MarketingSms, at);
            assert!(!d.allowed, "at {at}");
            assert_eq!(d.evidence.map(|e| e.event_id), Some("withdraw".into()));
        }
    }

    #[test]
    fn an_act_in_the_future_is_not_yet_in_force() {
        let later = rec(Purpose::MarketingSms, true, 29, "f");
        let d =
            may_use(&[later], Some("IE"), Purpose::MarketingSms, Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap());
        assert!(!d.allowed && d.evidence.is_none());
        assert_eq!(current_state(&[], Some("IE"), now()).len(), Purpose::ALL.len());
    }
}
