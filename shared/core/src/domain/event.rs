//! The inbound event envelope (CloudEvents 1.0 attributes plus `data`) and the typed domain view of
//! each event type. `schemas/*.schema.json` is the published contract; the schema validator validates raw
//! JSON against it, and [`parse_event`] then turns the JSON into these types, applying the semantic
//! rules a schema cannot express (phone numbers valid for their country, plausible dates of birth).
use super::pii::{clean_text, CountryCode, DateOfBirth, DocumentNumber, Email, LoyaltyNumber, PhoneE164, PiiError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const SPEC_VERSION: &str = "1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "customer.profile_observed")]
    ProfileObserved,
    #[serde(rename = "customer.interaction_logged")]
    InteractionLogged,
    #[serde(rename = "booking.recorded")]
    BookingRecorded,
    #[serde(rename = "customer.consent_changed")]
    ConsentChanged,
    #[serde(rename = "flight.disrupted")]
    FlightDisrupted,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::ProfileObserved,
        EventType::InteractionLogged,
        EventType::BookingRecorded,
        EventType::ConsentChanged,
        EventType::FlightDisrupted,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ProfileObserved => "customer.profile_observed",
            EventType::InteractionLogged => "customer.interaction_logged",
            EventType::BookingRecorded => "booking.recorded",
            EventType::ConsentChanged => "customer.consent_changed",
            EventType::FlightDisrupted => "flight.disrupted",
        }
    }
}

/// The envelope as it travels on the wire (and on the inbound stream).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvelope {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub time: DateTime<Utc>,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataschema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    pub data: serde_json::Value,
}

/// One problem found in one event, located by a JSON pointer into the event as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Stable machine-readable code, e.g. `schema_violation`, `invalid_phone`.
    pub code: String,
    /// JSON pointer into the submitted event, e.g. `/data/phones/0/number`.
    pub path: String,
    /// Human-readable explanation. Never contains the submitted value.
    pub message: String,
}

impl FieldError {
    pub fn new(code: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { code: code.into(), path: path.into(), message: message.into() }
    }
}

// ---------------------------------------------------------------- wire types of `data`

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    MobileApp,
    CallCentre,
    CheckIn,
    Airport,
    Loyalty,
    Booking,
    Chat,
    Email,
    Retail,
    Social,
    Partner,
    TravelAgent,
}

impl Channel {
    /// The wire name (`call_centre`, `mobile_app`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::MobileApp => "mobile_app",
            Channel::CallCentre => "call_centre",
            Channel::CheckIn => "check_in",
            Channel::Airport => "airport",
            Channel::Loyalty => "loyalty",
            Channel::Booking => "booking",
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Retail => "retail",
            Channel::Social => "social",
            Channel::Partner => "partner",
            Channel::TravelAgent => "travel_agent",
        }
    }

    /// How much the platform trusts what this channel says about a person's identity attributes:
    /// channels that check documents or run the loyalty programme rank highest. Used by survivorship.
    pub fn trust(self) -> u8 {
        match self {
            Channel::CheckIn | Channel::Airport => 90,
            Channel::Loyalty => 85,
            Channel::Booking | Channel::Web | Channel::MobileApp => 70,
            Channel::CallCentre => 60,
            Channel::TravelAgent | Channel::Partner => 50,
            Channel::Email | Channel::Chat | Channel::Retail => 40,
            Channel::Social => 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireName {
    pub given: String,
    pub family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEmail {
    pub address: String,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WirePhone {
    pub number: String,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireLoyalty {
    #[serde(default)]
    pub program: Option<String>,
    pub number: String,
    #[serde(default)]
    pub tier: Option<Tier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Basic,
    Silver,
    Gold,
    Platinum,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub country: CountryCode,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireDocument {
    #[serde(rename = "type")]
    pub doc_type: String,
    pub number: String,
    pub issuing_country: String,
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    #[serde(default)]
    pub nationality: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_airport: Option<String>,
}

impl Preferences {
    pub fn is_empty(&self) -> bool {
        self.meal.is_none() && self.seat.is_none() && self.language.is_none() && self.home_airport.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireProfileObserved {
    pub channel: Channel,
    #[serde(default)]
    pub name: Option<WireName>,
    #[serde(default)]
    pub emails: Vec<WireEmail>,
    #[serde(default)]
    pub phones: Vec<WirePhone>,
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub nationality: Option<String>,
    #[serde(default)]
    pub loyalty: Option<WireLoyalty>,
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub documents: Vec<WireDocument>,
    #[serde(default)]
    pub preferences: Option<Preferences>,
    #[serde(default)]
    pub special_assistance: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCustomerRef {
    #[serde(default)]
    pub loyalty_number: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub name: Option<WireName>,
    #[serde(default)]
    pub date_of_birth: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Call,
    Email,
    Chat,
    RetailPurchase,
    CheckIn,
    Complaint,
    Feedback,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireInteraction {
    pub channel: Channel,
    pub kind: InteractionKind,
    pub customer: WireCustomerRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flight: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WirePassenger {
    pub passenger_id: String,
    pub name: WireName,
    #[serde(rename = "type")]
    pub passenger_type: String,
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub loyalty_number: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub ticket_number: Option<String>,
    #[serde(default)]
    pub documents: Vec<WireDocument>,
    #[serde(default)]
    pub meal: Option<String>,
    #[serde(default)]
    pub seat_preference: Option<String>,
    #[serde(default)]
    pub special_assistance: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub segment_id: String,
    pub flight_number: String,
    pub operating_carrier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing_carrier: Option<String>,
    pub departure_date: NaiveDate,
    pub origin: String,
    pub destination: String,
    pub scheduled_departure: DateTime<chrono::FixedOffset>,
    pub scheduled_arrival: DateTime<chrono::FixedOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cabin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_class: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireContact {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireBooking {
    pub record_locator: String,
    pub channel: Channel,
    pub status: String,
    pub booked_at: DateTime<Utc>,
    #[serde(default)]
    pub contact: Option<WireContact>,
    pub passengers: Vec<WirePassenger>,
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub total: Option<serde_json::Value>,
}

// ---------------------------------------------------------------- domain view

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    pub given: String,
    pub family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailObs {
    pub address: Email,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneObs {
    pub number: PhoneE164,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loyalty {
    pub program: String,
    pub number: LoyaltyNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    #[serde(rename = "type")]
    pub doc_type: String,
    pub number: DocumentNumber,
    pub issuing_country: CountryCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<CountryCode>,
}

/// What one channel saw of one person at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Observation {
    pub name: Option<PersonName>,
    pub emails: Vec<EmailObs>,
    pub phones: Vec<PhoneObs>,
    pub date_of_birth: Option<DateOfBirth>,
    pub nationality: Option<CountryCode>,
    pub loyalty: Option<Loyalty>,
    pub address: Option<Address>,
    pub documents: Vec<Document>,
    pub preferences: Preferences,
    pub special_assistance: Vec<String>,
}

/// A strong identifier that links an observation to exactly one customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identifier {
    Loyalty(String),
    /// Document type, issuing country and number.
    Document(String),
    /// The channel's own account reference: `source` and `subject` of a customer event.
    SourceSubject(String),
    /// A passenger within a booking: record locator and passenger id.
    BookingPassenger(String),
    Ticket(String),
    Email(String),
    Phone(String),
}

impl Identifier {
    /// Kind label used in lookup keys; also the priority order when identifiers disagree.
    pub fn kind(&self) -> &'static str {
        match self {
            Identifier::Loyalty(_) => "loyalty",
            Identifier::Document(_) => "document",
            Identifier::SourceSubject(_) => "account",
            Identifier::BookingPassenger(_) => "pnr_pax",
            Identifier::Ticket(_) => "ticket",
            Identifier::Email(_) => "email",
            Identifier::Phone(_) => "phone",
        }
    }
    pub fn value(&self) -> &str {
        match self {
            Identifier::Loyalty(v)
            | Identifier::Document(v)
            | Identifier::SourceSubject(v)
            | Identifier::BookingPassenger(v)
            | Identifier::Ticket(v)
            | Identifier::Email(v)
            | Identifier::Phone(v) => v,
        }
    }
    /// Lower is stronger.
    pub fn priority(&self) -> u8 {
        match self {
            Identifier::Loyalty(_) => 0,
            Identifier::Document(_) => 1,
            Identifier::SourceSubject(_) => 2,
            Identifier::BookingPassenger(_) => 3,
            Identifier::Ticket(_) => 4,
            Identifier::Email(_) => 5,
            Identifier::Phone(_) => 6,
        }
    }
}

impl Observation {
    /// The identifiers this observation carries, strongest first, without duplicates.
    pub fn identifiers(&self) -> Vec<Identifier> {
        let mut ids = Vec::new();
        if let Some(l) = &self.loyalty {
            ids.push(Identifier::Loyalty(l.number.match_key()));
        }
        for d in &self.documents {
            ids.push(Identifier::Document(format!(
                "{}|{}|{}",
                d.doc_type,
                d.issuing_country.as_str(),
                d.number.as_str()
            )));
        }
        for e in &self.emails {
            ids.push(Identifier::Email(e.address.match_key()));
        }
        for p in &self.phones {
            ids.push(Identifier::Phone(p.number.match_key()));
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// The names of the profile attributes this observation says something about.
    pub fn observed_fields(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        if self.name.is_some() {
            f.push("name");
        }
        if !self.emails.is_empty() {
            f.push("emails");
        }
        if !self.phones.is_empty() {
            f.push("phones");
        }
        if self.date_of_birth.is_some() {
            f.push("date_of_birth");
        }
        if self.nationality.is_some() {
            f.push("nationality");
        }
        if self.loyalty.is_some() {
            f.push("loyalty");
        }
        if self.address.is_some() {
            f.push("address");
        }
        if !self.documents.is_empty() {
            f.push("documents");
        }
        if !self.preferences.is_empty() {
            f.push("preferences");
        }
        if !self.special_assistance.is_empty() {
            f.push("special_assistance");
        }
        f
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    ProfileObserved,
    Call,
    Email,
    Chat,
    RetailPurchase,
    CheckIn,
    Complaint,
    Feedback,
    Booking,
    /// A flight disruption that affected the customer (compensate function).
    Disruption,
    /// A change of a compensation case that matters to the customer.
    Case,
}

impl TimelineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::ProfileObserved => "profile_observed",
            TimelineKind::Call => "call",
            TimelineKind::Email => "email",
            TimelineKind::Chat => "chat",
            TimelineKind::RetailPurchase => "retail_purchase",
            TimelineKind::CheckIn => "check_in",
            TimelineKind::Complaint => "complaint",
            TimelineKind::Feedback => "feedback",
            TimelineKind::Booking => "booking",
            TimelineKind::Disruption => "disruption",
            TimelineKind::Case => "case",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

impl From<InteractionKind> for TimelineKind {
    fn from(k: InteractionKind) -> Self {
        match k {
            InteractionKind::Call => TimelineKind::Call,
            InteractionKind::Email => TimelineKind::Email,
            InteractionKind::Chat => TimelineKind::Chat,
            InteractionKind::RetailPurchase => TimelineKind::RetailPurchase,
            InteractionKind::CheckIn => TimelineKind::CheckIn,
            InteractionKind::Complaint => TimelineKind::Complaint,
            InteractionKind::Feedback => TimelineKind::Feedback,
        }
    }
}

/// An entry for the customer's timeline. `detail` is personal data and is stored encrypted.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub kind: TimelineKind,
    pub occurred_at: DateTime<Utc>,
    pub detail: serde_json::Value,
}

/// One unit of work of an event: one person to resolve, what was seen of them, and what goes on
/// their timeline. A booking yields one unit per passenger.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Distinguishes units of one event (`""` or the passenger id) for idempotency markers.
    pub part: String,
    pub channel: Channel,
    pub observation: Observation,
    /// Identifiers beyond those in the observation (channel account, booking passenger, ticket).
    pub extra_identifiers: Vec<Identifier>,
    pub timeline: TimelineEntry,
}

impl Unit {
    pub fn identifiers(&self) -> Vec<Identifier> {
        let mut ids = self.observation.identifiers();
        ids.extend(self.extra_identifiers.iter().cloned());
        ids.sort();
        ids.dedup();
        ids
    }
}

/// A validated event, ready for the merge.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub source: String,
    pub event_type: EventType,
    pub time: DateTime<Utc>,
    pub subject: String,
    pub units: Vec<Unit>,
}

// ---------------------------------------------------------------- parsing

struct Errors(Vec<FieldError>);

impl Errors {
    fn pii<T>(&mut self, path: &str, r: Result<T, PiiError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let code = match e {
                    PiiError::InvalidEmail => "invalid_email",
                    PiiError::InvalidPhone => "invalid_phone",
                    PiiError::InvalidLoyaltyNumber => "invalid_loyalty_number",
                    PiiError::InvalidCountry => "invalid_country",
                    PiiError::InvalidDateOfBirth => "invalid_date_of_birth",
                    PiiError::InvalidDocumentNumber => "invalid_document_number",
                    PiiError::EmptyName => "invalid_name",
                };
                self.0.push(FieldError::new(code, path, e.to_string()));
                None
            }
        }
    }
}

fn name(errs: &mut Errors, path: &str, w: &WireName) -> Option<PersonName> {
    let given = clean_text(&w.given);
    let family = clean_text(&w.family);
    if given.is_empty() || family.is_empty() {
        errs.0.push(FieldError::new("invalid_name", path, PiiError::EmptyName.to_string()));
        return None;
    }
    Some(PersonName {
        given,
        family,
        middle: w.middle.as_deref().map(clean_text).filter(|s| !s.is_empty()),
        title: w.title.clone(),
    })
}

fn documents(errs: &mut Errors, path: &str, docs: &[WireDocument]) -> Vec<Document> {
    docs.iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let number = errs.pii(&format!("{path}/{i}/number"), DocumentNumber::parse(&d.number));
            let country = errs.pii(&format!("{path}/{i}/issuing_country"), CountryCode::parse(&d.issuing_country));
            let nationality = match &d.nationality {
                Some(n) => errs.pii(&format!("{path}/{i}/nationality"), CountryCode::parse(n)),
                None => None,
            };
            Some(Document {
                doc_type: d.doc_type.clone(),
                number: number?,
                issuing_country: country?,
                expires_on: d.expires_on,
                nationality,
            })
        })
        .collect()
}

/// How far in the future an event's `time`, or the time of an act it reports, may lie: clocks of
/// channels and devices drift, an event from the future is refused.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// The members of `data` that say when something happened, per type (a `flight.disrupted`'s
/// schedule lies in the future on purpose and is not one of them; its actual arrival only when it is
/// not an estimate).
fn act_times(raw: &RawEnvelope) -> Vec<&'static str> {
    match raw.event_type {
        EventType::ConsentChanged => vec!["acted_at"],
        EventType::BookingRecorded => vec!["booked_at"],
        EventType::FlightDisrupted => {
            let mut v = vec!["notified_at", "actual_departure"];
            if raw.data.get("arrival_is_estimate").and_then(serde_json::Value::as_bool) != Some(true) {
                v.push("actual_arrival");
            }
            v
        }
        EventType::ProfileObserved | EventType::InteractionLogged => vec![],
    }
}

/// Refuses an event dated in the future: its envelope `time` (`time_in_future`) or the time of an
/// act it reports (`acted_in_future`) more than [`MAX_CLOCK_SKEW_SECONDS`] after `now`. Every event
/// type is checked at ingest with it.
pub fn check_not_in_future(raw: &RawEnvelope, now: DateTime<Utc>) -> Vec<FieldError> {
    let limit = now + chrono::Duration::seconds(MAX_CLOCK_SKEW_SECONDS);
    let mut errors = Vec::new();
    if raw.time > limit {
        errors.push(FieldError::new(
            "time_in_future",
            "/time",
            format!("the event is dated more than {MAX_CLOCK_SKEW_SECONDS} seconds in the future"),
        ));
    }
    for member in act_times(raw) {
        let at =
            raw.data.get(member).and_then(serde_json::Value::as_str).and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        if at.is_some_and(|at| at.with_timezone(&Utc) > limit) {
            errors.push(FieldError::new(
                "acted_in_future",
                format!("/data/{member}"),
                format!("this happened, by the event, more than {MAX_CLOCK_SKEW_SECONDS} seconds in the future"),
            ));
        }
    }
    errors
}

/// Turns an envelope that passed the JSON Schema into a typed event, or says what is wrong with it.
pub fn parse_event(raw: &RawEnvelope) -> Result<Event, Vec<FieldError>> {
    let mut errs = Errors(Vec::new());
    if raw.specversion != SPEC_VERSION {
        errs.0.push(FieldError::new("unsupported_specversion", "/specversion", "specversion must be \"1.0\""));
    }
    if let Some(schema) = &raw.dataschema {
        let expected = format!("urn:gamma-airways:cmp:{}:1", raw.event_type.as_str());
        if schema != &expected {
            errs.0.push(FieldError::new(
                "unsupported_dataschema",
                "/dataschema",
                format!("this platform accepts {expected} for this type"),
            ));
        }
    }
    let account = Identifier::SourceSubject(format!("{}|{}", raw.source, raw.subject));
    let units = match raw.event_type {
        EventType::ProfileObserved => match serde_json::from_value::<WireProfileObserved>(raw.data.clone()) {
            Ok(w) => profile_observed(&mut errs, raw, w, account).into_iter().collect(),
            Err(e) => {
                errs.0.push(FieldError::new("schema_violation", "/data", serde_message(&e)));
                vec![]
            }
        },
        EventType::InteractionLogged => match serde_json::from_value::<WireInteraction>(raw.data.clone()) {
            Ok(w) => interaction(&mut errs, raw, w, account).into_iter().collect(),
            Err(e) => {
                errs.0.push(FieldError::new("schema_violation", "/data", serde_message(&e)));
                vec![]
            }
        },
        EventType::BookingRecorded => match serde_json::from_value::<WireBooking>(raw.data.clone()) {
            Ok(w) => booking(&mut errs, raw, w),
            Err(e) => {
                errs.0.push(FieldError::new("schema_violation", "/data", serde_message(&e)));
                vec![]
            }
        },
        EventType::ConsentChanged => {
            errs.0.push(FieldError::new(
                "wrong_handler",
                "/type",
                "consent changes are processed by the consent function (consent::parse_change)",
            ));
            vec![]
        }
        EventType::FlightDisrupted => {
            errs.0.push(FieldError::new(
                "wrong_handler",
                "/type",
                "flight disruptions are processed by the compensate function (cases::parse_disruption)",
            ));
            vec![]
        }
    };
    if errs.0.is_empty() {
        Ok(Event {
            id: raw.id.clone(),
            source: raw.source.clone(),
            event_type: raw.event_type,
            time: raw.time,
            subject: raw.subject.clone(),
            units,
        })
    } else {
        Err(errs.0)
    }
}

/// serde's messages quote unknown field names and variants but never values of strings we parse;
/// keep only the first line and cap the length anyway.
pub fn serde_message(e: &serde_json::Error) -> String {
    let m = e.to_string();
    let m = m.split(" at line ").next().unwrap_or(&m);
    m.chars().take(200).collect()
}

fn country_hint(w: &WireProfileObserved) -> Option<CountryCode> {
    w.address
        .as_ref()
        .map(|a| a.country.clone())
        .or_else(|| w.nationality.as_deref().and_then(|n| CountryCode::parse(n).ok()))
}

fn profile_observed(errs: &mut Errors, raw: &RawEnvelope, w: WireProfileObserved, account: Identifier) -> Option<Unit> {
    let hint = country_hint(&w);
    let obs = Observation {
        name: w.name.as_ref().and_then(|n| name(errs, "/data/name", n)),
        emails: w
            .emails
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let address = errs.pii(&format!("/data/emails/{i}/address"), Email::parse(&e.address))?;
                Some(EmailObs { address, verified: e.verified, kind: e.kind.clone() })
            })
            .collect(),
        phones: w
            .phones
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let number =
                    errs.pii(&format!("/data/phones/{i}/number"), PhoneE164::parse(&p.number, hint.as_ref()))?;
                Some(PhoneObs { number, verified: p.verified, kind: p.kind.clone() })
            })
            .collect(),
        date_of_birth: w.date_of_birth.as_deref().and_then(|d| errs.pii("/data/date_of_birth", DateOfBirth::parse(d))),
        nationality: w.nationality.as_deref().and_then(|n| errs.pii("/data/nationality", CountryCode::parse(n))),
        loyalty: w.loyalty.as_ref().and_then(|l| {
            let number = errs.pii("/data/loyalty/number", LoyaltyNumber::parse(&l.number))?;
            Some(Loyalty { program: l.program.clone().unwrap_or_else(|| "GA".into()), number, tier: l.tier })
        }),
        address: w.address.clone().map(|a| Address {
            lines: a.lines.iter().map(|l| clean_text(l)).collect(),
            city: a.city.as_deref().map(clean_text),
            postal_code: a.postal_code.as_deref().map(clean_text),
            region: a.region.as_deref().map(clean_text),
            country: a.country,
        }),
        documents: documents(errs, "/data/documents", &w.documents),
        preferences: w.preferences.clone().unwrap_or_default(),
        special_assistance: w.special_assistance.clone(),
    };
    let detail = serde_json::json!({
        "channel": w.channel,
        "fields": obs.observed_fields(),
    });
    Some(Unit {
        part: String::new(),
        channel: w.channel,
        observation: obs,
        extra_identifiers: vec![account],
        timeline: TimelineEntry { kind: TimelineKind::ProfileObserved, occurred_at: raw.time, detail },
    })
}

fn interaction(errs: &mut Errors, raw: &RawEnvelope, w: WireInteraction, account: Identifier) -> Option<Unit> {
    if let Some(amount) = &w.amount {
        errs.0.extend(super::money::check("/data/amount", amount));
    }
    let c = &w.customer;
    let loyalty = c
        .loyalty_number
        .as_deref()
        .and_then(|n| errs.pii("/data/customer/loyalty_number", LoyaltyNumber::parse(n)))
        .map(|number| Loyalty { program: "GA".into(), number, tier: None });
    let email = c.email.as_deref().and_then(|e| errs.pii("/data/customer/email", Email::parse(e)));
    let phone = c.phone.as_deref().and_then(|p| errs.pii("/data/customer/phone", PhoneE164::parse(p, None)));
    let obs = Observation {
        name: c.name.as_ref().and_then(|n| name(errs, "/data/customer/name", n)),
        emails: email.into_iter().map(|address| EmailObs { address, verified: false, kind: None }).collect(),
        phones: phone.into_iter().map(|number| PhoneObs { number, verified: false, kind: None }).collect(),
        date_of_birth: c
            .date_of_birth
            .as_deref()
            .and_then(|d| errs.pii("/data/customer/date_of_birth", DateOfBirth::parse(d))),
        loyalty,
        ..Default::default()
    };
    let mut detail = serde_json::to_value(&w).unwrap_or_default();
    if let Some(map) = detail.as_object_mut() {
        // who the customer is lives in the profile; the timeline keeps what happened
        map.remove("customer");
    }
    Some(Unit {
        part: String::new(),
        channel: w.channel,
        observation: obs,
        extra_identifiers: vec![account],
        timeline: TimelineEntry { kind: w.kind.into(), occurred_at: raw.time, detail },
    })
}

fn booking(errs: &mut Errors, raw: &RawEnvelope, w: WireBooking) -> Vec<Unit> {
    if let Some(total) = &w.total {
        errs.0.extend(super::money::check("/data/total", total));
    }
    let mut units = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, p) in w.passengers.iter().enumerate() {
        let base = format!("/data/passengers/{i}");
        if !seen.insert(p.passenger_id.clone()) {
            errs.0.push(FieldError::new(
                "duplicate_passenger_id",
                format!("{base}/passenger_id"),
                "passenger ids must be unique within a booking",
            ));
            continue;
        }
        let loyalty = p
            .loyalty_number
            .as_deref()
            .and_then(|n| errs.pii(&format!("{base}/loyalty_number"), LoyaltyNumber::parse(n)))
            .map(|number| Loyalty { program: "GA".into(), number, tier: None });
        let email = p.email.as_deref().and_then(|e| errs.pii(&format!("{base}/email"), Email::parse(e)));
        let phone = p.phone.as_deref().and_then(|n| errs.pii(&format!("{base}/phone"), PhoneE164::parse(n, None)));
        let obs = Observation {
            name: name(errs, &format!("{base}/name"), &p.name),
            emails: email.into_iter().map(|address| EmailObs { address, verified: false, kind: None }).collect(),
            phones: phone.into_iter().map(|number| PhoneObs { number, verified: false, kind: None }).collect(),
            date_of_birth: p
                .date_of_birth
                .as_deref()
                .and_then(|d| errs.pii(&format!("{base}/date_of_birth"), DateOfBirth::parse(d))),
            loyalty,
            documents: documents(errs, &format!("{base}/documents"), &p.documents),
            preferences: Preferences { meal: p.meal.clone(), seat: p.seat_preference.clone(), ..Default::default() },
            special_assistance: p.special_assistance.clone(),
            ..Default::default()
        };
        let mut extra = vec![Identifier::BookingPassenger(format!("{}|{}", w.record_locator, p.passenger_id))];
        if let Some(t) = &p.ticket_number {
            extra.push(Identifier::Ticket(t.clone()));
        }
        let detail = serde_json::json!({
            "record_locator": w.record_locator,
            "status": w.status,
            "channel": w.channel,
            "booked_at": w.booked_at,
            "passenger_id": p.passenger_id,
            "passenger_type": p.passenger_type,
            "ticket_number": p.ticket_number,
            "segments": w.segments,
            "passengers_in_booking": w.passengers.len(),
        });
        units.push(Unit {
            part: p.passenger_id.clone(),
            channel: w.channel,
            observation: obs,
            extra_identifiers: extra,
            timeline: TimelineEntry { kind: TimelineKind::Booking, occurred_at: raw.time, detail },
        });
    }
    for (i, s) in w.segments.iter().enumerate() {
        if s.scheduled_arrival <= s.scheduled_departure {
            errs.0.push(FieldError::new(
                "invalid_segment_times",
                format!("/data/segments/{i}/scheduled_arrival"),
                "scheduled arrival must be after scheduled departure",
            ));
        }
        if s.origin == s.destination {
            errs.0.push(FieldError::new(
                "invalid_segment_route",
                format!("/data/segments/{i}/destination"),
                "origin and destination must differ",
            ));
        }
    }
    units
}
