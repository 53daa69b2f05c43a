//! Flight disruptions and compensation cases: the `compensate` function's core.
//!
//! A `flight.disrupted` event names one flight on one day. Every passenger booked on it is found
//! through the flight index (written by the merge with each booking: one item per flight, day and
//! passenger, with the passenger's whole itinerary), checked against the passenger's current
//! booking, and judged at their final destination with [`crate::compensation::assess`]. Each
//! passenger-journey gets one case per flight and day, created exactly once however often the event
//! is delivered (a conditional write on a deterministic id); a later event about the same flight and
//! day (a new estimate, a delay turned cancellation) re-assesses the same case. Each case is
//! prioritised, routed to a work queue with an SLA, holds the customer's erasure (legal hold), is
//! put on the customer's timeline, and asks for a notification on a channel the customer allowed.
#[cfg(any(test, feature = "testkit"))]
pub mod memory;
pub mod service;
#[cfg(test)]
mod tests;

use crate::compensation::{Assessment, AssessmentRequest, Cause, Disruption, DisruptionType, Journey, Leg, Reroute};
use crate::domain::event::{FieldError, RawEnvelope, Segment};
use crate::domain::CustomerId;
use crate::error::CmpError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Minimum connection time assumed between two legs of one booking.
pub const MIN_CONNECTION_MINUTES: i64 = 45;

/// `FLT#<flight>#<YYYY-MM-DD>`: the key of a flight on one day.
pub fn flight_key(flight: &str, date: NaiveDate) -> String {
    format!("FLT#{flight}#{}", date.format("%Y-%m-%d"))
}

/// The case of one passenger-journey for one flight and day: `case_` + 24 hex digits.
pub fn case_id(flight_key: &str, passenger_key: &str) -> String {
    let d = Sha256::digest(format!("{flight_key}|{passenger_key}").as_bytes());
    format!("case_{}", &crate::domain::ids::hex(&d)[..24])
}

pub fn is_case_id(s: &str) -> bool {
    s.len() == 29 && s.starts_with("case_") && s[5..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

// ---------------------------------------------------------------- the flight index

/// One leg of an indexed itinerary (operational data only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedLeg {
    pub flight: String,
    pub operating_carrier: String,
    pub origin: String,
    pub destination: String,
    pub departure_date: NaiveDate,
    pub scheduled_departure: DateTime<FixedOffset>,
    pub scheduled_arrival: DateTime<FixedOffset>,
}

/// A passenger booked on a flight: item `FLT#<flight>#<date>` / `PAX#<passenger key>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlightPassenger {
    pub flight_key: String,
    pub passenger_key: String,
    pub customer_id: CustomerId,
    pub itinerary: Vec<IndexedLeg>,
    /// The position of this flight in the itinerary.
    pub leg: usize,
    pub booking_status: String,
    pub recorded_at: DateTime<Utc>,
}

/// The passenger's booking as last recorded: item `PAXB#<passenger key>` / `CURRENT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingCurrent {
    pub passenger_key: String,
    pub customer_id: CustomerId,
    pub flight_keys: Vec<String>,
    pub status: String,
    pub recorded_at: DateTime<Utc>,
}

/// The flight index items of one booking passenger, from the booking's timeline detail.
pub fn index_entries(
    detail: &Value,
    customer: &CustomerId,
    passenger_key: &str,
    recorded_at: DateTime<Utc>,
) -> (Vec<FlightPassenger>, Option<BookingCurrent>) {
    let Some(segments) = detail.get("segments").and_then(|s| serde_json::from_value::<Vec<Segment>>(s.clone()).ok())
    else {
        return (vec![], None);
    };
    let status = detail.get("status").and_then(Value::as_str).unwrap_or("confirmed").to_owned();
    let itinerary: Vec<IndexedLeg> = segments
        .iter()
        .map(|s| IndexedLeg {
            flight: s.flight_number.clone(),
            operating_carrier: s.operating_carrier.clone(),
            origin: s.origin.clone(),
            destination: s.destination.clone(),
            departure_date: s.departure_date,
            scheduled_departure: s.scheduled_departure,
            scheduled_arrival: s.scheduled_arrival,
        })
        .collect();
    let entries: Vec<FlightPassenger> = itinerary
        .iter()
        .enumerate()
        .map(|(i, l)| FlightPassenger {
            flight_key: flight_key(&l.flight, l.departure_date),
            passenger_key: passenger_key.to_owned(),
            customer_id: customer.clone(),
            itinerary: itinerary.clone(),
            leg: i,
            booking_status: status.clone(),
            recorded_at,
        })
        .collect();
    let current = BookingCurrent {
        passenger_key: passenger_key.to_owned(),
        customer_id: customer.clone(),
        flight_keys: entries.iter().map(|e| e.flight_key.clone()).collect(),
        status,
        recorded_at,
    };
    (entries, Some(current))
}

/// The port to the flight index (in the profiles table).
#[async_trait]
pub trait FlightIndex: Send + Sync {
    /// Every passenger indexed on the flight and day.
    async fn flight_passengers(&self, flight_key: &str) -> Result<Vec<FlightPassenger>, CmpError>;
    /// The current booking of each passenger key given (absent keys have none).
    async fn current_bookings(&self, passenger_keys: &[String]) -> Result<HashMap<String, BookingCurrent>, CmpError>;
    /// Writes one timeline entry (idempotent: the sort key decides).
    async fn put_timeline(&self, customer: &CustomerId, record: &crate::store::TimelineRecord) -> Result<(), CmpError>;
}

// ---------------------------------------------------------------- the disruption event

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireReroute {
    #[serde(default)]
    pub flight_number: Option<String>,
    pub departure: DateTime<FixedOffset>,
    pub arrival: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeniedPassenger {
    pub record_locator: String,
    pub passenger_id: String,
    pub volunteer: bool,
}

/// `flight.disrupted` data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlightDisruption {
    pub flight_number: String,
    pub operating_carrier: String,
    pub departure_date: NaiveDate,
    pub origin: String,
    pub destination: String,
    #[serde(rename = "type")]
    pub kind: DisruptionType,
    #[serde(default)]
    pub cause: Option<Cause>,
    /// The cause struck an earlier flight of the same aircraft (CJEU C-74/19).
    #[serde(default)]
    pub knock_on: bool,
    /// The carrier can show it took all reasonable measures (Art. 5(3)).
    #[serde(default)]
    pub reasonable_measures: Option<bool>,
    pub scheduled_departure: DateTime<FixedOffset>,
    pub scheduled_arrival: DateTime<FixedOffset>,
    #[serde(default)]
    pub actual_departure: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub actual_arrival: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub arrival_is_estimate: Option<bool>,
    #[serde(default)]
    pub notified_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub reroute: Option<WireReroute>,
    #[serde(default)]
    pub denied_boarding: Option<Vec<DeniedPassenger>>,
}

impl FlightDisruption {
    pub fn flight_key(&self) -> String {
        flight_key(&self.flight_number, self.departure_date)
    }
}

/// The domain rules of a `flight.disrupted` event beyond its schema.
pub fn parse_disruption(raw: &RawEnvelope) -> Result<FlightDisruption, Vec<FieldError>> {
    let d: FlightDisruption = serde_json::from_value(raw.data.clone())
        .map_err(|e| vec![FieldError::new("schema_violation", "/data", crate::domain::event::serde_message(&e))])?;
    let mut errs = Vec::new();
    for (field, code) in [("origin", &d.origin), ("destination", &d.destination)] {
        if crate::compensation::reference::airport(code).is_none() {
            errs.push(FieldError::new(
                "unknown_airport",
                format!("/data/{field}"),
                "not an airport in the reference table",
            ));
        }
    }
    if crate::compensation::reference::carrier(&d.operating_carrier).is_none() {
        errs.push(FieldError::new(
            "unknown_carrier",
            "/data/operating_carrier",
            "not a carrier in the reference table (shared/data/carriers.csv): its licence decides the regime",
        ));
    }
    if d.origin == d.destination {
        errs.push(FieldError::new("invalid_route", "/data/destination", "origin and destination must differ"));
    }
    if d.scheduled_arrival <= d.scheduled_departure {
        errs.push(FieldError::new(
            "invalid_times",
            "/data/scheduled_arrival",
            "scheduled arrival must be after scheduled departure",
        ));
    }
    if d.kind == DisruptionType::Downgrading {
        errs.push(FieldError::new(
            "invalid_type",
            "/data/type",
            "a downgrading concerns one passenger: assess it with POST /v1/compensation/assessments",
        ));
    }
    if matches!(d.kind, DisruptionType::Delay | DisruptionType::Diversion) && d.actual_arrival.is_none() {
        errs.push(FieldError::new(
            "missing_arrival",
            "/data/actual_arrival",
            "a delay or diversion is judged by the (estimated) arrival time",
        ));
    }
    if let Some(a) = d.actual_arrival {
        if let Some(dep) = d.actual_departure {
            if a <= dep {
                errs.push(FieldError::new("invalid_times", "/data/actual_arrival", "arrival must be after departure"));
            }
        }
    }
    if let Some(r) = &d.reroute {
        if r.arrival <= r.departure {
            errs.push(FieldError::new("invalid_times", "/data/reroute/arrival", "arrival must be after departure"));
        }
    }
    if errs.is_empty() {
        Ok(d)
    } else {
        Err(errs)
    }
}

// ---------------------------------------------------------------- one passenger's assessment

/// How a passenger's journey is judged for one disruption.
#[derive(Debug, Clone)]
pub struct PassengerJourney {
    pub request: AssessmentRequest,
    /// The connection after the disrupted leg is missed.
    pub missed_connection: bool,
    /// The final arrival is an estimate (an estimated time, or a missed connection whose onward
    /// flight is not known yet): the case is re-assessed when the actual time is reported.
    pub provisional: bool,
}

/// Applies a known actual arrival at the final destination to a request.
pub fn with_final_arrival(request: &mut AssessmentRequest, arrival: DateTime<FixedOffset>) {
    match request.disruption.kind {
        DisruptionType::Delay | DisruptionType::Diversion => request.disruption.actual_arrival = Some(arrival),
        DisruptionType::Downgrading => {}
        DisruptionType::Cancellation | DisruptionType::DeniedBoarding => {
            let departure = request.disruption.reroute.as_ref().map(|r| r.departure).unwrap_or(arrival);
            request.disruption.reroute = Some(Reroute { departure, arrival });
        }
    }
}

/// The assessment request of one indexed passenger for one disruption, judged at the final
/// destination: a delay that still makes the connection leaves the final arrival on time; a missed
/// connection is estimated with the earliest onward arrival (the remaining legs' scheduled duration
/// from the delayed arrival) and marked provisional.
pub fn journey_for(p: &FlightPassenger, d: &FlightDisruption, volunteer: Option<bool>) -> PassengerJourney {
    let legs: Vec<Leg> = p
        .itinerary
        .iter()
        .map(|l| Leg {
            flight: l.flight.clone(),
            operating_carrier: l.operating_carrier.clone(),
            origin: l.origin.clone(),
            destination: l.destination.clone(),
            scheduled_departure: l.scheduled_departure,
            scheduled_arrival: l.scheduled_arrival,
        })
        .collect();
    let i = p.leg.min(legs.len().saturating_sub(1));
    let last = legs.last().cloned().expect("an indexed itinerary has legs");
    let mct = Duration::minutes(MIN_CONNECTION_MINUTES);
    // the final arrival given an arrival at the end of the disrupted leg
    let onward = |arrival: DateTime<FixedOffset>| -> (DateTime<FixedOffset>, bool) {
        match legs.get(i + 1) {
            None => (arrival, false),
            Some(next) if arrival + mct <= next.scheduled_departure => (last.scheduled_arrival, false),
            Some(next) => (arrival + (last.scheduled_arrival - next.scheduled_departure), true),
        }
    };
    let mut missed = false;
    let mut provisional = d.arrival_is_estimate.unwrap_or(false);
    let mut disruption = Disruption {
        kind: d.kind,
        leg: i,
        cause: d.cause,
        knock_on: d.knock_on,
        reasonable_measures: d.reasonable_measures,
        actual_departure: d.actual_departure,
        notified_at: d.notified_at,
        volunteer,
        ..Disruption::default()
    };
    match d.kind {
        DisruptionType::Delay | DisruptionType::Diversion => {
            if let Some(a) = d.actual_arrival {
                let (final_arrival, m) = onward(a);
                missed = m;
                disruption.actual_arrival = Some(final_arrival);
            }
        }
        DisruptionType::Downgrading => {}
        DisruptionType::Cancellation | DisruptionType::DeniedBoarding => {
            if let Some(r) = &d.reroute {
                let (final_arrival, m) = onward(r.arrival);
                missed = m;
                disruption.reroute = Some(Reroute { departure: r.departure, arrival: final_arrival });
            }
        }
    }
    provisional |= missed;
    PassengerJourney {
        request: AssessmentRequest { journey: Journey { legs }, disruption },
        missed_connection: missed,
        provisional,
    }
}

// ---------------------------------------------------------------- cases

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    InProgress,
    AwaitingCustomer,
    Escalated,
    Closed,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::AwaitingCustomer => "awaiting_customer",
            CaseStatus::Escalated => "escalated",
            CaseStatus::Closed => "closed",
        }
    }
}

/// Work queues cases are routed to.
pub const QUEUES: [&str; 4] = ["special_assistance", "compensation", "care_and_rebooking", "no_entitlement"];

/// Something that happened to a case (its own history; no personal data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    pub by: String,
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

/// A note on a case; its text is personal data and sealed with the customer's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseNote {
    pub at: DateTime<Utc>,
    pub by: String,
    #[serde(with = "crate::cases::b64")]
    pub sealed: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub customer_id: CustomerId,
    pub passenger_key: String,
    pub flight_key: String,
    pub flight: String,
    pub date: NaiveDate,
    pub disruption: DisruptionType,
    /// The disruption event last applied, and its time (later events re-assess; older are ignored).
    pub disruption_event: String,
    pub disruption_time: DateTime<Utc>,
    pub status: CaseStatus,
    pub queue: String,
    /// 1 (most urgent) to 4.
    pub priority: u8,
    pub priority_reasons: Vec<String>,
    pub assignee: Option<String>,
    pub assessment: Value,
    /// The assessment request (journey and disruption as judged), to re-assess with a final
    /// arrival reported later.
    pub request: Value,
    pub eligible: bool,
    pub amount: u32,
    pub currency: Option<String>,
    pub provisional: bool,
    pub missed_connection: bool,
    /// The actual final arrival recorded by staff; later disruption reports keep it.
    #[serde(default)]
    pub final_arrival: Option<DateTime<FixedOffset>>,
    /// `cash` or `voucher`, as the customer chose.
    pub resolution: Option<String>,
    pub voucher_agreed_at: Option<DateTime<Utc>>,
    /// Payout details (IBAN, account holder), sealed with the customer's key.
    #[serde(default, with = "crate::cases::b64_opt")]
    pub payout_sealed: Option<Vec<u8>>,
    pub notes: Vec<CaseNote>,
    pub history: Vec<CaseEvent>,
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sla_due_at: DateTime<Utc>,
    pub escalated_at: Option<DateTime<Utc>>,
    /// Whether the timeline, hold, audit and notification of the last change were done (a retried
    /// event finishes them).
    pub effects_done: bool,
    pub version: u64,
}

pub(crate) mod b64 {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod b64_opt {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => STANDARD.decode(s).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// A case as the API shows it. Staff see the queue, priority, assignee, notes (opened) and history;
/// the customer sees what was decided, why, and what is expected of them.
pub fn view(c: &Case, staff: bool, notes: Vec<Value>) -> Value {
    let mut v = serde_json::json!({
        "id": c.id,
        "customer_id": c.customer_id,
        "flight": c.flight,
        "date": c.date,
        "disruption": c.disruption,
        "status": c.status,
        "eligible": c.eligible,
        "amount": c.amount,
        "currency": c.currency,
        "provisional": c.provisional,
        "missed_connection": c.missed_connection,
        "final_arrival": c.final_arrival,
        "assessment": c.assessment,
        "resolution": c.resolution,
        "voucher_agreed_at": c.voucher_agreed_at,
        "payout_on_file": c.payout_sealed.is_some(),
        "outcome": c.outcome,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "version": c.version,
    });
    if staff {
        let m = v.as_object_mut().expect("an object");
        m.insert("queue".into(), serde_json::json!(c.queue));
        m.insert("priority".into(), serde_json::json!(c.priority));
        m.insert("priority_reasons".into(), serde_json::json!(c.priority_reasons));
        m.insert("assignee".into(), serde_json::json!(c.assignee));
        m.insert("sla_due_at".into(), serde_json::json!(c.sla_due_at));
        m.insert("escalated_at".into(), serde_json::json!(c.escalated_at));
        m.insert("history".into(), serde_json::json!(c.history));
        m.insert("notes".into(), serde_json::json!(notes));
    }
    v
}

/// The notes of a case, opened with the customer's key.
pub fn open_notes(key: &crate::crypto::DataKey, c: &Case) -> Result<Vec<Value>, CmpError> {
    c.notes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let text = key.open(c.customer_id.as_str(), &format!("case:{}:note:{i}", c.id), &n.sealed)?;
            Ok(serde_json::json!({"at": n.at, "by": n.by, "text": String::from_utf8_lossy(&text)}))
        })
        .collect()
}

/// The payout details of a case, opened with the customer's key (for the customer's own access
/// export only).
pub fn open_payout(key: &crate::crypto::DataKey, c: &Case) -> Result<Option<Value>, CmpError> {
    let Some(sealed) = &c.payout_sealed else { return Ok(None) };
    let body = key.open(c.customer_id.as_str(), &format!("case:{}:payout", c.id), sealed)?;
    serde_json::from_slice(&body).map(Some).map_err(|e| CmpError::Integrity(format!("payout details: {e}")))
}

/// What decides a case's priority.
#[derive(Debug, Clone, Default)]
pub struct PriorityInputs {
    pub tier: Option<String>,
    pub special_assistance: bool,
    pub missed_connection: bool,
    pub amount_eur: u32,
}

/// Priority 1 (most urgent) to 4, with its reasons: loyalty tier, special assistance, a missed
/// connection and the amount owed add points.
pub fn priority(p: &PriorityInputs) -> (u8, Vec<String>) {
    let mut score = 0;
    let mut reasons = Vec::new();
    match p.tier.as_deref() {
        Some("platinum") => {
            score += 40;
            reasons.push("platinum member (+40)".to_owned());
        }
        Some("gold") => {
            score += 30;
            reasons.push("gold member (+30)".to_owned());
        }
        Some("silver") => {
            score += 15;
            reasons.push("silver member (+15)".to_owned());
        }
        _ => {}
    }
    if p.special_assistance {
        score += 40;
        reasons.push("special assistance on record (+40)".to_owned());
    }
    if p.missed_connection {
        score += 25;
        reasons.push("missed connection (+25)".to_owned());
    }
    let amount_points = match p.amount_eur {
        600.. => 20,
        400.. => 15,
        1.. => 10,
        0 => 0,
    };
    if amount_points > 0 {
        score += amount_points;
        reasons.push(format!("{} owed (+{amount_points})", p.amount_eur));
    }
    let level = match score {
        60.. => 1,
        35.. => 2,
        15.. => 3,
        _ => 4,
    };
    reasons.push(format!("score {score}"));
    (level, reasons)
}

/// The SLA of a priority: when the case must have been worked.
pub fn sla(priority: u8) -> Duration {
    match priority {
        1 => Duration::hours(4),
        2 => Duration::hours(24),
        3 => Duration::hours(72),
        _ => Duration::days(7),
    }
}

/// What a case's assessment entitles the customer to besides the Art. 7 amount, as the
/// `notification.requested` event carries it: the Art. 9 care, the Art. 8 choice and an Art. 10
/// reimbursement (read from the stored assessment; an assessment stored before these were part of
/// it reads as none).
pub fn entitlements(assessment: &Value) -> Value {
    let flag = |v: &Value| v.as_bool().unwrap_or(false);
    let care = &assessment["care"];
    let choice = &assessment["refund_or_reroute_choice"];
    let downgrade = &assessment["downgrade"];
    serde_json::json!({
        "regime": assessment["regime"],
        "care": {
            "meals": flag(&care["meals"]),
            "hotel": flag(&care["hotel"]),
            "transfer": flag(&care["transfer"]),
            "communications": care["communications"].as_u64().unwrap_or(0),
        },
        "refund_or_reroute": {
            "refund": flag(&choice["refund"]),
            "refund_within_days": choice["refund_within_days"].as_u64(),
            "return_flight": flag(&choice["return_flight"]),
            "reroute_earliest": flag(&choice["reroute_earliest"]),
            "reroute_later": flag(&choice["reroute_later"]),
        },
        "downgrade": if downgrade.is_object() {
            serde_json::json!({
                "percent": downgrade["percent"],
                "amount": downgrade["amount"],
                "currency": downgrade["currency"],
                "within_days": downgrade["within_days"],
            })
        } else {
            Value::Null
        },
    })
}

/// The queue a case goes to.
pub fn route(a: &Assessment, special_assistance: bool) -> &'static str {
    if special_assistance {
        "special_assistance"
    } else if a.eligible {
        "compensation"
    } else if a.care.meals || a.care.hotel || a.refund_or_reroute || a.downgrade.is_some() {
        "care_and_rebooking"
    } else {
        "no_entitlement"
    }
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub flight_key: Option<String>,
    pub queue: Option<String>,
    pub status: Option<CaseStatus>,
    pub customer: Option<CustomerId>,
}

/// The port to the cases table.
#[async_trait]
pub trait CaseStore: Send + Sync {
    async fn get_case(&self, id: &str) -> Result<Option<Case>, CmpError>;
    /// Writes a case: `None` creates it (conflict if it exists), `Some(v)` replaces version `v`.
    async fn put_case(&self, case: &Case, expected_version: Option<u64>) -> Result<(), CmpError>;
    /// Cases by flight and day, by queue, or of one customer (one of them must be given), then
    /// filtered by the rest. At most `limit`.
    async fn list_cases(&self, filter: &CaseFilter, limit: usize) -> Result<Vec<Case>, CmpError>;
    /// Open (not closed) cases of a queue whose SLA falls before `before`.
    async fn due_cases(&self, queue: &str, before: DateTime<Utc>) -> Result<Vec<Case>, CmpError>;
}
