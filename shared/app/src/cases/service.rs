//! The services over cases: [`Compensator`] (the compensate function: disruption → cases) and
//! [`CaseDesk`] (agents and customers working a case through the API; SLA escalation).
use super::*;
use crate::audit::{AuditEntry, AuditLog};
use crate::compensation::assess;
use crate::consent::{jurisdiction_of, may_use, Purpose};
use crate::crypto::{BlindIndexer, DataKey, KeyRing};
use crate::deadletter::{DeadLetters, Decoded};
use crate::domain::event::{Channel, EventType, TimelineKind};
use crate::domain::profile::Golden;
use crate::ingest::{EventSink, OutRecord};
use crate::schema::EventValidator;
use crate::store::{LegalHold, PrivacyStore, ProfileStatus, ProfileStore, StoreError, TimelineRecord};
use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;

/// Passengers of one flight worked at once.
const CONCURRENCY: usize = 16;
/// The legal hold an open case places on the customer's erasure.
pub const HOLD_KIND: &str = "compensation_case";

/// What became of one disruption event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Tally {
    pub passengers: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Indexed passengers no longer on the flight (rebooked, cancelled) or erased.
    pub skipped: usize,
    /// Passengers whose itinerary the engine refuses to assess (e.g. a connecting leg on a carrier
    /// missing from the carrier table): no case is guessed for them, the refusal is logged with
    /// its code, and the rest of the flight goes ahead.
    pub unassessable: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompensateOutcome {
    Applied(Tally),
    Parked { reason_code: String },
    NotMine,
}

/// Everything the case services talk to.
#[derive(Clone)]
pub struct CasePorts {
    pub index: Arc<dyn FlightIndex>,
    pub cases: Arc<dyn CaseStore>,
    pub profiles: Arc<dyn ProfileStore>,
    pub privacy: Arc<dyn PrivacyStore>,
    pub keys: Arc<KeyRing>,
    pub audit: Arc<dyn AuditLog>,
    /// The outbound stream, for `notification.requested`.
    pub notify: Arc<dyn EventSink>,
}

/// A customer as the case services need them: tier, special assistance, contact channels and
/// the consent in force for each.
struct Customer {
    id: CustomerId,
    tier: Option<String>,
    key: DataKey,
    golden: Golden,
    ledger: Vec<crate::consent::ConsentRecord>,
}

impl CasePorts {
    /// The active customer behind an id (merges followed); `None` when erased or unknown.
    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, CmpError> {
        let mut id = id.clone();
        for _ in 0..8 {
            let Some(p) = self.profiles.get_profile(&id).await? else { return Ok(None) };
            match p.status {
                ProfileStatus::Active => {
                    let key = self.keys.key_for(&p.id).await?;
                    let golden = crate::merge::open_profile(&key, &p)?;
                    let ledger = self.privacy.consents(&p.id).await?;
                    return Ok(Some(Customer { id: p.id.clone(), tier: p.tier.clone(), key, golden, ledger }));
                }
                ProfileStatus::Merged => match p.merged_into {
                    Some(next) => id = next,
                    None => return Ok(None),
                },
                ProfileStatus::Erased => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The channel a notification goes out on: one whose consent is in force (push, e-mail, SMS,
    /// in that order, if the customer has the contact point), else a service message by e-mail (or
    /// letter without one) under the carrier's duty to inform passengers of their rights.
    fn channel(c: &Customer, now: DateTime<Utc>) -> (&'static str, &'static str, bool) {
        let j = jurisdiction_of(&c.ledger);
        let allowed = |p| may_use(&c.ledger, j, p, now).allowed;
        let has_email = !c.golden.emails.is_empty();
        let has_phone = !c.golden.phones.is_empty();
        let marketing =
            allowed(Purpose::MarketingEmail) || allowed(Purpose::MarketingSms) || allowed(Purpose::MarketingPush);
        if allowed(Purpose::MarketingPush) {
            ("push", "consent", marketing)
        } else if has_email && allowed(Purpose::MarketingEmail) {
            ("email", "consent", marketing)
        } else if has_phone && allowed(Purpose::MarketingSms) {
            ("sms", "consent", marketing)
        } else if has_email {
            ("email", "legal_obligation", marketing)
        } else {
            ("letter", "legal_obligation", marketing)
        }
    }

    /// The side effects of a case change that matters to the customer: a timeline entry, the
    /// legal hold (placed while open, released with the last open case), an audit record and a
    /// `notification.requested` event. Idempotent: the timeline sort key and the notification id
    /// derive from the case version.
    async fn effects(
        &self,
        case: &Case,
        customer: &Customer,
        template: &str,
        actor: (&str, &str),
        kind: TimelineKind,
    ) -> Result<Notified, CmpError> {
        let now = Utc::now();
        let (channel, legal_basis, marketing_allowed) = Self::channel(customer, now);
        let marker = format!("case-{}-v{}", &case.id[5..], case.version);
        let sk = TimelineRecord::sort_key(case.updated_at, &marker);
        let detail = json!({
            "case_id": case.id,
            "flight": case.flight,
            "date": case.date,
            "disruption": case.disruption,
            "status": case.status,
            "queue": case.queue,
            "priority": case.priority,
            "eligible": case.eligible,
            "amount": case.amount,
            "currency": case.currency,
            "provisional": case.provisional,
            "notification": {"template": template, "channel": channel, "legal_basis": legal_basis},
        });
        let payload = customer.key.seal(
            customer.id.as_str(),
            &crate::merge::timeline_field(&sk),
            &serde_json::to_vec(&detail).unwrap_or_default(),
        );
        let record = TimelineRecord {
            expires_at: crate::retention::timeline_expiry(kind, &detail, case.updated_at),
            sk,
            kind,
            occurred_at: case.updated_at,
            source: "/cmp/compensate".into(),
            channel: Channel::CallCentre,
            event_id: case.disruption_event.clone(),
            payload,
            sighting: None,
            lookups: vec![],
            origin: None,
            resolved_via: None,
            recorded_at: Some(now),
        };
        self.index.put_timeline(&customer.id, &record).await?;
        if case.status == CaseStatus::Closed {
            let others = self
                .cases
                .list_cases(&CaseFilter { customer: Some(customer.id.clone()), ..Default::default() }, 1000)
                .await?;
            if !others.iter().any(|c| c.id != case.id && c.status != CaseStatus::Closed) {
                self.privacy.release_hold(&customer.id, HOLD_KIND).await?;
            }
        } else {
            let holds = self.privacy.holds(&customer.id).await?;
            if !holds.iter().any(|h| h.kind == HOLD_KIND) {
                let hold = LegalHold {
                    kind: HOLD_KIND.into(),
                    reference: case.id.clone(),
                    placed_at: now,
                    placed_by: actor.0.to_owned(),
                };
                self.privacy.put_hold(&customer.id, &hold).await?;
            }
        }
        crate::audit::record(
            self.audit.as_ref(),
            AuditEntry {
                at: now,
                actor: actor.0.to_owned(),
                role: actor.1.to_owned(),
                action: format!("case_{template}"),
                customer_id: Some(customer.id.to_string()),
                fields: vec!["case".into()],
                purpose: "compensation".into(),
                request_id: case.disruption_event.clone(),
                outcome: "changed".into(),
            },
        )
        .await?;
        let id = format!("ntf_{}", &crate::domain::ids::hex(&Sha256::digest(marker.as_bytes()))[..24]);
        let event = json!({
            "specversion": "1.0",
            "id": id,
            "source": "/cmp/compensate",
            "type": "notification.requested",
            "time": now,
            "subject": customer.id,
            "data": {
                "customer_id": customer.id,
                "case_id": case.id,
                "template": template,
                "channel": channel,
                "legal_basis": legal_basis,
                "marketing_allowed": marketing_allowed,
                "case_status": case.status,
                "eligible": case.eligible,
                "amount": case.amount,
                "currency": case.currency,
                "entitlements": crate::cases::entitlements(&case.assessment),
            }
        });
        let record =
            OutRecord { partition_key: customer.id.to_string(), data: serde_json::to_vec(&event).unwrap_or_default() };
        for attempt in 0..crate::retry::Backoff::CONFLICT.attempts {
            if attempt > 0 {
                crate::retry::Backoff::CONFLICT.pause(attempt - 1).await;
            }
            if self.notify.put_records(std::slice::from_ref(&record)).await?.first().cloned().flatten().is_none() {
                return Ok(Notified { id, template: template.to_owned(), channel, legal_basis });
            }
        }
        Err(CmpError::Store(StoreError::Unavailable("the outbound stream refused the notification".into())))
    }
}

/// The notification a case change asked for.
#[derive(Debug, Clone)]
struct Notified {
    id: String,
    template: String,
    channel: &'static str,
    legal_basis: &'static str,
}

/// The case once the side effects of its last change are done: the notification in its history.
fn done(case: &Case, notified: Option<Notified>) -> Case {
    let mut done = case.clone();
    done.effects_done = true;
    done.version += 1;
    if let Some(n) = notified {
        done.history.push(CaseEvent {
            at: Utc::now(),
            by: "cmp".into(),
            what: format!("customer notified: {}", n.template),
            detail: Some(json!({"notification": n.id, "channel": n.channel, "legal_basis": n.legal_basis})),
        });
    }
    done
}

pub struct Compensator {
    ports: CasePorts,
    indexer: Arc<BlindIndexer>,
    validator: Arc<EventValidator>,
    dead_letters: DeadLetters,
}

impl Compensator {
    pub fn new(
        ports: CasePorts,
        indexer: Arc<BlindIndexer>,
        validator: Arc<EventValidator>,
        dead_letters: DeadLetters,
    ) -> Self {
        Compensator { ports, indexer, validator, dead_letters }
    }

    /// Where the stream runner parks records that fail permanently.
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.dead_letters
    }

    /// Processes one stream record. `Err` means "retry later"; what cannot be processed is parked.
    pub async fn process_record(&self, data: &[u8], origin: &str) -> Result<CompensateOutcome, CmpError> {
        let (raw, data) = match crate::deadletter::decode(data, &self.validator) {
            Decoded::Envelope { raw, data } => (raw, data),
            Decoded::Rejected { data, reason_code, reasons } => {
                let reason_code = self.dead_letters.park(&data, origin, reason_code, reasons).await?;
                return Ok(CompensateOutcome::Parked { reason_code });
            }
        };
        if raw.event_type != EventType::FlightDisrupted {
            return Ok(CompensateOutcome::NotMine);
        }
        let d = match parse_disruption(&raw) {
            Ok(d) => d,
            Err(reasons) => {
                let reason_code = self.dead_letters.park(&data, origin, "invalid_event", reasons).await?;
                return Ok(CompensateOutcome::Parked { reason_code });
            }
        };
        self.apply(&raw.id, raw.time, &d).await.map(CompensateOutcome::Applied)
    }

    /// Opens or re-assesses the case of every passenger on the flight.
    pub async fn apply(&self, event_id: &str, time: DateTime<Utc>, d: &FlightDisruption) -> Result<Tally, CmpError> {
        let fk = d.flight_key();
        let mut passengers = self.ports.index.flight_passengers(&fk).await?;
        // denied boarding concerns the passengers named, with their volunteer flag
        let denied: Option<HashMap<String, bool>> = d.denied_boarding.as_ref().map(|list| {
            list.iter().map(|p| (self.indexer.passenger_key(&p.record_locator, &p.passenger_id), p.volunteer)).collect()
        });
        if let Some(denied) = &denied {
            passengers.retain(|p| denied.contains_key(&p.passenger_key));
        }
        let keys: Vec<String> = passengers.iter().map(|p| p.passenger_key.clone()).collect();
        let current = self.ports.index.current_bookings(&keys).await?;
        let mut tally = Tally { passengers: passengers.len(), ..Default::default() };
        let results: Vec<Result<Step, CmpError>> = futures::stream::iter(passengers)
            .map(|p| {
                let still_booked = current.get(&p.passenger_key).is_some_and(|c| {
                    c.status != "cancelled" && c.flight_keys.contains(&fk) && c.recorded_at >= p.recorded_at
                });
                let volunteer = denied.as_ref().and_then(|m| m.get(&p.passenger_key).copied());
                async move {
                    if !still_booked {
                        return Ok(Step::Skipped);
                    }
                    self.passenger(event_id, time, d, &p, volunteer).await
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for r in results {
            match r? {
                Step::Created => tally.created += 1,
                Step::Updated => tally.updated += 1,
                Step::Unchanged => tally.unchanged += 1,
                Step::Skipped => tally.skipped += 1,
                Step::Unassessable => tally.unassessable += 1,
            }
        }
        tracing::info!(flight = %fk, created = tally.created, updated = tally.updated, unchanged = tally.unchanged, skipped = tally.skipped, unassessable = tally.unassessable, "disruption applied");
        Ok(tally)
    }

    async fn passenger(
        &self,
        event_id: &str,
        time: DateTime<Utc>,
        d: &FlightDisruption,
        p: &FlightPassenger,
        volunteer: Option<bool>,
    ) -> Result<Step, CmpError> {
        let id = case_id(&p.flight_key, &p.passenger_key);
        for _ in 0..5 {
            let existing = self.ports.cases.get_case(&id).await?;
            if let Some(c) = &existing {
                if c.disruption_event == event_id || c.disruption_time > time {
                    if !c.effects_done {
                        // a retried event: finish what the last attempt started
                        let mut notified = None;
                        if let Some(customer) = self.ports.customer(&c.customer_id).await? {
                            let template = if c.version == 1 { "opened" } else { "reassessed" };
                            let kind = if c.version == 1 { TimelineKind::Disruption } else { TimelineKind::Case };
                            notified =
                                Some(self.ports.effects(c, &customer, template, ("compensate", "system"), kind).await?);
                        }
                        match self.ports.cases.put_case(&done(c, notified), Some(c.version)).await {
                            Ok(()) => {}
                            Err(CmpError::Store(StoreError::Conflict)) => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    return Ok(Step::Unchanged);
                }
            }
            let Some(customer) = self.ports.customer(&p.customer_id).await? else { return Ok(Step::Skipped) };
            let mut journey = journey_for(p, d, volunteer);
            if let Some(arrival) = existing.as_ref().and_then(|c| c.final_arrival) {
                with_final_arrival(&mut journey.request, arrival);
                journey.provisional = false;
            }
            let assessment = match assess(&journey.request) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(flight = %p.flight_key, code = e.code(), path = e.path(), "itinerary not assessable: no case opened");
                    return Ok(Step::Unassessable);
                }
            };
            let special = !customer.golden.special_assistance.is_empty();
            let amount_eur = match assessment.currency {
                Some("GBP") => assessment.amount * 115 / 100,
                _ => assessment.amount,
            };
            let (level, reasons) = priority(&PriorityInputs {
                tier: customer.tier.clone(),
                special_assistance: special,
                missed_connection: journey.missed_connection,
                amount_eur,
            });
            let now = Utc::now();
            let queue = route(&assessment, special).to_owned();
            let assessment_json = serde_json::to_value(&assessment).unwrap_or_default();
            let (case, expected, template, kind) = match existing {
                None => (
                    Case {
                        id: id.clone(),
                        customer_id: customer.id.clone(),
                        passenger_key: p.passenger_key.clone(),
                        flight_key: p.flight_key.clone(),
                        flight: d.flight_number.clone(),
                        date: d.departure_date,
                        disruption: d.kind,
                        disruption_event: event_id.to_owned(),
                        disruption_time: time,
                        status: CaseStatus::Open,
                        queue,
                        priority: level,
                        priority_reasons: reasons,
                        assignee: None,
                        eligible: assessment.eligible,
                        amount: assessment.amount,
                        currency: assessment.currency.map(str::to_owned),
                        assessment: assessment_json,
                        request: serde_json::to_value(&journey.request).unwrap_or_default(),
                        provisional: journey.provisional,
                        missed_connection: journey.missed_connection,
                        final_arrival: None,
                        resolution: None,
                        voucher_agreed_at: None,
                        payout_sealed: None,
                        notes: vec![],
                        history: vec![CaseEvent {
                            at: now,
                            by: "compensate".into(),
                            what: "opened".into(),
                            detail: Some(json!({"event": event_id, "type": d.kind})),
                        }],
                        outcome: None,
                        created_at: now,
                        updated_at: now,
                        sla_due_at: now + sla(level),
                        escalated_at: None,
                        effects_done: false,
                        version: 1,
                    },
                    None,
                    "opened",
                    TimelineKind::Disruption,
                ),
                Some(mut c) => {
                    let was = c.version;
                    c.customer_id = customer.id.clone();
                    c.disruption = d.kind;
                    c.disruption_event = event_id.to_owned();
                    c.disruption_time = time;
                    c.eligible = assessment.eligible;
                    c.amount = assessment.amount;
                    c.currency = assessment.currency.map(str::to_owned);
                    c.assessment = assessment_json;
                    c.request = serde_json::to_value(&journey.request).unwrap_or_default();
                    c.provisional = journey.provisional;
                    c.missed_connection = journey.missed_connection;
                    if c.status != CaseStatus::Closed && c.assignee.is_none() {
                        c.queue = queue;
                    }
                    if level < c.priority {
                        c.priority = level;
                        c.priority_reasons = reasons;
                        c.sla_due_at = c.sla_due_at.min(now + sla(level));
                    }
                    c.history.push(CaseEvent {
                        at: now,
                        by: "compensate".into(),
                        what: "reassessed".into(),
                        detail: Some(
                            json!({"event": event_id, "type": d.kind, "eligible": c.eligible, "amount": c.amount}),
                        ),
                    });
                    c.updated_at = now;
                    c.effects_done = false;
                    c.version += 1;
                    (c, Some(was), "reassessed", TimelineKind::Case)
                }
            };
            match self.ports.cases.put_case(&case, expected).await {
                Ok(()) => {}
                Err(CmpError::Store(StoreError::Conflict)) => continue,
                Err(e) => return Err(e),
            }
            let notified = self.ports.effects(&case, &customer, template, ("compensate", "system"), kind).await?;
            // losing this race only means another writer moved the case on; the effects are done
            match self.ports.cases.put_case(&done(&case, Some(notified)), Some(case.version)).await {
                Ok(()) | Err(CmpError::Store(StoreError::Conflict)) => {}
                Err(e) => return Err(e),
            }
            return Ok(if expected.is_none() { Step::Created } else { Step::Updated });
        }
        Err(StoreError::Conflict.into())
    }
}

enum Step {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Unassessable,
}

// ---------------------------------------------------------------- working cases

/// A change to a case, by an agent or by the customer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    #[serde(default)]
    pub status: Option<CaseStatus>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
    /// The customer's choice: `cash` or `voucher`.
    #[serde(default)]
    pub resolution: Option<String>,
    /// Must be `true` with `resolution: voucher` (a voucher only with explicit agreement, Art. 7(3)).
    #[serde(default)]
    pub voucher_agreed: Option<bool>,
    #[serde(default)]
    pub payout: Option<Payout>,
    /// Staff: the passenger's actual arrival at the final destination (e.g. after a missed
    /// connection); the case is re-assessed with it and is no longer provisional.
    #[serde(default)]
    pub final_arrival: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Payout {
    pub iban: String,
    pub account_holder: String,
}

/// Why a patch was refused, or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The patch itself is wrong: a stable code and why.
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("no such case")]
    NotFound,
    #[error("the case changed meanwhile")]
    Conflict,
    /// A store, key or stream failure (transient or not, as the error says).
    #[error(transparent)]
    Backend(#[from] CmpError),
}

/// Who is changing a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    Staff { sub: &'a str, role: &'a str },
    Customer { sub: &'a str },
}

pub const OUTCOMES: [&str; 5] = ["paid", "voucher_issued", "rejected", "withdrawn", "no_entitlement"];

fn iban_ok(iban: &str) -> bool {
    let s: String = iban.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    if s.len() < 15 || s.len() > 34 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    if !s[..2].chars().all(|c| c.is_ascii_alphabetic()) || !s[2..4].chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let rearranged = format!("{}{}", &s[4..], &s[..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = if c.is_ascii_digit() { c as u32 - '0' as u32 } else { c as u32 - 'A' as u32 + 10 };
        for digit in v.to_string().chars() {
            rem = (rem * 10 + (digit as u32 - '0' as u32)) % 97;
        }
    }
    rem == 1
}

pub struct CaseDesk {
    ports: CasePorts,
}

impl CaseDesk {
    pub fn new(ports: CasePorts) -> Self {
        CaseDesk { ports }
    }

    pub async fn get(&self, id: &str) -> Result<Option<Case>, CmpError> {
        self.ports.cases.get_case(id).await
    }

    pub async fn list(&self, filter: &CaseFilter, limit: usize) -> Result<Vec<Case>, CmpError> {
        self.ports.cases.list_cases(filter, limit).await
    }

    /// The notes of a case, opened with the customer's key.
    pub async fn notes(&self, case: &Case) -> Result<Vec<Value>, CmpError> {
        if case.notes.is_empty() {
            return Ok(vec![]);
        }
        open_notes(&self.ports.keys.key_for(&case.customer_id).await?, case)
    }

    /// Applies a patch. Staff may change status, assignee, queue, notes and outcome; a customer
    /// may choose cash or a voucher (with explicit agreement) and give payout details, which are
    /// sealed with their key. Changes that matter to the customer are notified.
    pub async fn patch(&self, id: &str, actor: Actor<'_>, patch: CasePatch) -> Result<Case, PatchError> {
        let internal = PatchError::Backend;
        let Some(mut case) = self.ports.cases.get_case(id).await.map_err(internal)? else {
            return Err(PatchError::NotFound);
        };
        let expected = case.version;
        let now = Utc::now();
        let (by, role) = match actor {
            Actor::Staff { sub, role } => (sub, role),
            Actor::Customer { sub } => (sub, "customer"),
        };
        let staff_fields = patch.status.is_some()
            || patch.final_arrival.is_some()
            || patch.assignee.is_some()
            || patch.queue.is_some()
            || patch.note.is_some()
            || patch.outcome.is_some();
        let customer_fields = patch.resolution.is_some() || patch.voucher_agreed.is_some() || patch.payout.is_some();
        if matches!(actor, Actor::Customer { .. }) && staff_fields {
            return Err(PatchError::Invalid(
                "forbidden_field",
                "a customer may set resolution, voucher_agreed and payout only".into(),
            ));
        }
        if !staff_fields && !customer_fields {
            return Err(PatchError::Invalid("empty_patch", "nothing to change".into()));
        }
        if case.status == CaseStatus::Closed && patch.status != Some(CaseStatus::Open) {
            return Err(PatchError::Invalid("case_closed", "a closed case can only be reopened (status open)".into()));
        }
        let mut notify: Option<&'static str> = None;
        let mut what = Vec::new();
        if let Some(q) = &patch.queue {
            if !QUEUES.contains(&q.as_str()) {
                return Err(PatchError::Invalid("unknown_queue", format!("queues are {}", QUEUES.join(", "))));
            }
            case.queue = q.clone();
            what.push("queue");
        }
        if let Some(a) = &patch.assignee {
            if a.is_empty() || a.len() > 128 {
                return Err(PatchError::Invalid("invalid_assignee", "an assignee is 1 to 128 characters".into()));
            }
            case.assignee = Some(a.clone());
            if case.status == CaseStatus::Open {
                case.status = CaseStatus::InProgress;
            }
            what.push("assignee");
        }
        if let Some(arrival) = patch.final_arrival {
            let mut request: AssessmentRequest = serde_json::from_value(case.request.clone())
                .map_err(|e| PatchError::Backend(CmpError::Integrity(format!("stored request: {e}"))))?;
            with_final_arrival(&mut request, arrival);
            let a = assess(&request).map_err(|e| PatchError::Invalid("invalid_final_arrival", e.to_string()))?;
            case.eligible = a.eligible;
            case.amount = a.amount;
            case.currency = a.currency.map(str::to_owned);
            case.assessment = serde_json::to_value(&a).unwrap_or_default();
            case.request = serde_json::to_value(&request).unwrap_or_default();
            case.provisional = false;
            case.final_arrival = Some(arrival);
            what.push("final_arrival");
            notify = Some("reassessed");
        }
        let mut sealed_note = None;
        if let Some(n) = &patch.note {
            if n.trim().is_empty() || n.len() > 4000 {
                return Err(PatchError::Invalid("invalid_note", "a note is 1 to 4000 characters".into()));
            }
            sealed_note = Some(crate::pci::redact(n).0);
            what.push("note");
        }
        if let Some(o) = &patch.outcome {
            if !OUTCOMES.contains(&o.as_str()) {
                return Err(PatchError::Invalid("unknown_outcome", format!("outcomes are {}", OUTCOMES.join(", "))));
            }
            if patch.status != Some(CaseStatus::Closed) {
                return Err(PatchError::Invalid(
                    "outcome_needs_closure",
                    "an outcome is given with status closed".into(),
                ));
            }
            case.outcome = Some(o.clone());
        }
        if let Some(s) = patch.status {
            if s == CaseStatus::Closed && patch.outcome.is_none() {
                return Err(PatchError::Invalid(
                    "closure_needs_outcome",
                    format!("closing a case needs an outcome: {}", OUTCOMES.join(", ")),
                ));
            }
            if s != case.status {
                case.status = s;
                what.push("status");
                if matches!(s, CaseStatus::Closed | CaseStatus::AwaitingCustomer) || s == CaseStatus::Open {
                    notify = Some(match s {
                        CaseStatus::Closed => "closed",
                        CaseStatus::AwaitingCustomer => "awaiting_customer",
                        _ => "reopened",
                    });
                }
                if s == CaseStatus::Open {
                    case.outcome = None;
                }
            }
        }
        if let Some(r) = &patch.resolution {
            match r.as_str() {
                "cash" => {}
                "voucher" if patch.voucher_agreed == Some(true) => case.voucher_agreed_at = Some(now),
                "voucher" => {
                    return Err(PatchError::Invalid(
                        "voucher_needs_agreement",
                        "a voucher replaces cash only with the passenger's signed agreement (Art. 7(3)): send voucher_agreed true".into(),
                    ))
                }
                _ => return Err(PatchError::Invalid("unknown_resolution", "resolution is cash or voucher".into())),
            }
            if !case.eligible {
                return Err(PatchError::Invalid("not_eligible", "this case carries no compensation to pay".into()));
            }
            case.resolution = Some(r.clone());
            what.push("resolution");
            notify = Some("resolution_chosen");
        } else if patch.voucher_agreed.is_some() {
            return Err(PatchError::Invalid(
                "voucher_needs_resolution",
                "voucher_agreed goes with resolution voucher".into(),
            ));
        }
        let key = self.ports.keys.key_for(&case.customer_id).await.map_err(|e| internal(e.into()))?;
        if let Some(p) = &patch.payout {
            if !iban_ok(&p.iban) {
                return Err(PatchError::Invalid("invalid_iban", "the IBAN's check digits do not match".into()));
            }
            if p.account_holder.trim().is_empty() || p.account_holder.len() > 140 {
                return Err(PatchError::Invalid(
                    "invalid_account_holder",
                    "the account holder is 1 to 140 characters".into(),
                ));
            }
            let body = serde_json::to_vec(p).unwrap_or_default();
            case.payout_sealed = Some(key.seal(case.customer_id.as_str(), &format!("case:{}:payout", case.id), &body));
            what.push("payout");
            notify = notify.or(Some("payout_received"));
        }
        if let Some(text) = sealed_note {
            let i = case.notes.len();
            case.notes.push(CaseNote {
                at: now,
                by: by.to_owned(),
                sealed: key.seal(case.customer_id.as_str(), &format!("case:{}:note:{i}", case.id), text.as_bytes()),
            });
        }
        case.history.push(CaseEvent {
            at: now,
            by: by.to_owned(),
            what: format!("changed {}", what.join(", ")),
            detail: Some(json!({"status": case.status, "queue": case.queue, "assignee": case.assignee, "outcome": case.outcome, "resolution": case.resolution})),
        });
        case.updated_at = now;
        case.version += 1;
        case.effects_done = notify.is_none();
        match self.ports.cases.put_case(&case, Some(expected)).await {
            Ok(()) => {}
            Err(CmpError::Store(StoreError::Conflict)) => return Err(PatchError::Conflict),
            Err(e) => return Err(internal(e)),
        }
        if let Some(template) = notify {
            let mut notified = None;
            if let Some(customer) = self.ports.customer(&case.customer_id).await.map_err(internal)? {
                notified = Some(
                    self.ports
                        .effects(&case, &customer, template, (by, role), TimelineKind::Case)
                        .await
                        .map_err(internal)?,
                );
            }
            let done = done(&case, notified);
            if self.ports.cases.put_case(&done, Some(case.version)).await.is_ok() {
                case = done;
            }
        }
        Ok(case)
    }

    /// Escalates the open cases whose SLA ends within `margin`: status escalated, priority up by
    /// one, audited. Answers the ids escalated.
    pub async fn escalate(&self, now: DateTime<Utc>, margin: Duration) -> Result<Vec<String>, CmpError> {
        let mut out = Vec::new();
        for queue in QUEUES {
            for mut c in self.ports.cases.due_cases(queue, now + margin).await? {
                if matches!(c.status, CaseStatus::Closed | CaseStatus::Escalated) {
                    continue;
                }
                let expected = c.version;
                c.status = CaseStatus::Escalated;
                c.escalated_at = Some(now);
                c.priority = c.priority.saturating_sub(1).max(1);
                c.history.push(CaseEvent {
                    at: now,
                    by: "escalate".into(),
                    what: "escalated: SLA about to be missed".into(),
                    detail: Some(json!({"sla_due_at": c.sla_due_at})),
                });
                c.updated_at = now;
                c.version += 1;
                match self.ports.cases.put_case(&c, Some(expected)).await {
                    Ok(()) => {}
                    Err(CmpError::Store(StoreError::Conflict)) => continue,
                    Err(e) => return Err(e),
                }
                crate::audit::record(
                    self.ports.audit.as_ref(),
                    AuditEntry {
                        at: now,
                        actor: "escalate".into(),
                        role: "system".into(),
                        action: "case_escalated".into(),
                        customer_id: Some(c.customer_id.to_string()),
                        fields: vec!["case".into()],
                        purpose: "compensation".into(),
                        request_id: c.id.clone(),
                        outcome: "changed".into(),
                    },
                )
                .await?;
                out.push(c.id);
            }
        }
        if !out.is_empty() {
            tracing::warn!(escalated = out.len(), "cases escalated");
        }
        Ok(out)
    }
}

#[cfg(test)]
mod iban_tests {
    #[test]
    fn iban_check_digits() {
        assert!(super::iban_ok("IE29 AIBK 9311 5212 3456 78"));
        assert!(super::iban_ok("DE89370400440532013000"));
        assert!(!super::iban_ok("IE29 AIBK 9311 5212 3456 79"));
        assert!(!super::iban_ok("not an iban"));
    }
}
