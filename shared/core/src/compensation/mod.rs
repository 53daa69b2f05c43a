//! Flight-disruption compensation under Regulation (EC) No 261/2004 ("EU261", with the CJEU case
//! law) and the regulation as retained and amended in UK law ("UK261"). Pure: a journey and a
//! disruption in, a decision with its reasons out. Every reason names its authorities as
//! [`Citation`]s, each of which is listed with what it decides in `docs/compensation.md`.
pub mod citations;
pub mod reference;

use chrono::{DateTime, Duration, FixedOffset, Utc};
pub use citations::Citation;
use reference::{
    airport, carrier, great_circle_km, in_eu261_territory, in_eu_member_state, in_uk, Airport, Carrier, Licence,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leg {
    pub flight: String,
    pub operating_carrier: String,
    pub origin: String,
    pub destination: String,
    pub scheduled_departure: DateTime<FixedOffset>,
    pub scheduled_arrival: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journey {
    pub legs: Vec<Leg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DisruptionType {
    #[default]
    Delay,
    Cancellation,
    DeniedBoarding,
    Diversion,
    /// Placed in a class lower than the one the ticket was bought for (Art. 10(2)).
    Downgrading,
}

/// Why boarding was refused on reasonable grounds (Art. 2(j)): then it is not denied boarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalGround {
    Health,
    Safety,
    Security,
    InadequateTravelDocuments,
}

/// The cause of a disruption, as operations report it. Each has the authority that decides
/// whether it is an extraordinary circumstance (Art. 5(3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Technical,
    CrewShortage,
    OwnStaffStrike,
    WildcatStrike,
    Weather,
    Atc,
    AtcStrike,
    AirportStrike,
    Security,
    BirdStrike,
    MedicalEmergency,
    PoliticalInstability,
    HiddenManufacturingDefect,
    RunwayFuelSpill,
    AirportFuelSystemFailure,
    ForeignObjectTyreDamage,
    UnrulyPassenger,
    BoardingStairsCollision,
}

/// What the law makes of a cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nature {
    /// Inherent in the carrier's activity or within its control: never exempts.
    Ordinary,
    /// Extraordinary: exempts unless the carrier is shown not to have taken reasonable measures.
    Extraordinary,
    /// Extraordinary, but the ruling puts it on the carrier to show that it used all its
    /// resources to avoid the delay: exempts only when that is shown.
    ExtraordinaryIfMeasuresShown,
}

impl Cause {
    pub const ALL: &'static [Cause] = &[
        Cause::Technical,
        Cause::CrewShortage,
        Cause::OwnStaffStrike,
        Cause::WildcatStrike,
        Cause::Weather,
        Cause::Atc,
        Cause::AtcStrike,
        Cause::AirportStrike,
        Cause::Security,
        Cause::BirdStrike,
        Cause::MedicalEmergency,
        Cause::PoliticalInstability,
        Cause::HiddenManufacturingDefect,
        Cause::RunwayFuelSpill,
        Cause::AirportFuelSystemFailure,
        Cause::ForeignObjectTyreDamage,
        Cause::UnrulyPassenger,
        Cause::BoardingStairsCollision,
    ];

    /// Whether the cause is an extraordinary circumstance (Art. 5(3)), with the authorities.
    pub fn nature(self) -> (Nature, &'static [Citation]) {
        use Citation as C;
        use Nature::*;
        match self {
            Cause::Technical => (Ordinary, &[C::WallentinHermann, C::VanDerLans]),
            Cause::CrewShortage => (Ordinary, &[C::WallentinHermann]),
            Cause::OwnStaffStrike => (Ordinary, &[C::AirhelpVSas]),
            Cause::WildcatStrike => (Ordinary, &[C::Krusemann]),
            Cause::BoardingStairsCollision => (Ordinary, &[C::Siewert]),
            Cause::Weather | Cause::Security | Cause::PoliticalInstability => {
                (Extraordinary, &[C::Art5_3, C::Recital14])
            }
            Cause::Atc => (Extraordinary, &[C::Art5_3, C::Recital15]),
            Cause::AtcStrike | Cause::AirportStrike => (Extraordinary, &[C::Art5_3, C::Recital14, C::AirhelpVSas]),
            Cause::MedicalEmergency => (Extraordinary, &[C::Art5_3]),
            Cause::HiddenManufacturingDefect => (Extraordinary, &[C::WallentinHermann, C::VanDerLans]),
            Cause::RunwayFuelSpill => (Extraordinary, &[C::Moens]),
            Cause::AirportFuelSystemFailure => (Extraordinary, &[C::Sata]),
            Cause::UnrulyPassenger => (Extraordinary, &[C::LeVTap]),
            Cause::BirdStrike => (ExtraordinaryIfMeasuresShown, &[C::Peskova]),
            Cause::ForeignObjectTyreDamage => (ExtraordinaryIfMeasuresShown, &[C::Pauels]),
        }
    }

    fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reroute {
    pub departure: DateTime<FixedOffset>,
    pub arrival: DateTime<FixedOffset>,
}

/// A price paid, in the currency's major unit (e.g. 129.90 EUR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub amount: f64,
    /// ISO 4217 code, three upper-case letters.
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Disruption {
    #[serde(rename = "type")]
    pub kind: DisruptionType,
    pub leg: usize,
    #[serde(default)]
    pub cause: Option<Cause>,
    /// The cause struck an earlier flight operated with the same aircraft (CJEU C-74/19).
    #[serde(default)]
    pub knock_on: bool,
    /// Whether the carrier has shown that it took all reasonable measures to avoid the
    /// disruption or its consequences (Art. 5(3)); absent: not established either way.
    #[serde(default)]
    pub reasonable_measures: Option<bool>,
    /// The actual (or expected) departure of the disrupted leg; decides care (Art. 6(1)).
    #[serde(default)]
    pub actual_departure: Option<DateTime<FixedOffset>>,
    /// The arrival at the final destination (when a door opened, CJEU C-452/13).
    #[serde(default)]
    pub actual_arrival: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub notified_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub reroute: Option<Reroute>,
    #[serde(default)]
    pub volunteer: Option<bool>,
    /// Boarding refused on reasonable grounds (Art. 2(j)).
    #[serde(default)]
    pub refusal_ground: Option<RefusalGround>,
    /// Downgrading: the price of the downgraded flight (CJEU C-255/15 Mennens).
    #[serde(default)]
    pub ticket_price: Option<Price>,
    /// The passenger received benefits or compensation and was given assistance under the law
    /// of the third country of departure (Art. 3(1)(b)).
    #[serde(default)]
    pub third_country_benefits: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentRequest {
    pub journey: Journey,
    pub disruption: Disruption,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Regime {
    #[serde(rename = "EU261")]
    Eu261,
    #[serde(rename = "UK261")]
    Uk261,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: String,
    pub text: String,
    /// The citations, joined (for display).
    pub reference: String,
    pub citations: Vec<Citation>,
}

/// Care under Art. 9, as owed for this disruption.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Care {
    /// Meals and refreshments in reasonable relation to the waiting time (Art. 9(1)(a)).
    pub meals: bool,
    /// Hotel accommodation when a stay of one or more nights becomes necessary (Art. 9(1)(b)).
    pub hotel: bool,
    /// Transport between the airport and the place of accommodation (Art. 9(1)(c)).
    pub transfer: bool,
    /// Two telephone calls, telex or fax messages, or e-mails, free of charge (Art. 9(2)).
    pub communication: bool,
    /// How many communications are offered (2 when care is owed).
    pub communications: u8,
    /// The departure delay from which care is owed for this distance (Art. 6(1)), for delays.
    pub threshold_minutes: Option<i64>,
    pub citations: Vec<Citation>,
}

/// The choice of Art. 8(1), as offered for this disruption.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RefundOrReroute {
    /// (a) reimbursement of the ticket, within seven days.
    pub refund: bool,
    pub refund_within_days: Option<u8>,
    /// (a) with a return flight to the first point of departure, when the journey no longer
    /// serves its purpose.
    pub return_flight: bool,
    /// (b) re-routing to the final destination at the earliest opportunity.
    pub reroute_earliest: bool,
    /// (c) re-routing at a later date at the passenger's convenience.
    pub reroute_later: bool,
    pub citations: Vec<Citation>,
}

/// The reimbursement of Art. 10(2) for a downgraded flight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DowngradeRefund {
    /// 30, 50 or 75 % of the price of the flight.
    pub percent: u8,
    /// Great-circle distance of the downgraded flight.
    pub distance_km: u32,
    /// The reimbursement, when the price was given.
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub within_days: u8,
    pub citations: Vec<Citation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The regime applied.
    pub regime: Option<Regime>,
    /// The other regime whose scope the journey is also in (it pays nothing on top: see
    /// `docs/compensation.md`).
    pub also_in_scope: Option<Regime>,
    /// Art. 7 compensation is due.
    pub eligible: bool,
    pub amount: u32,
    pub currency: Option<&'static str>,
    pub distance_km: u32,
    pub arrival_delay_minutes: Option<i64>,
    pub reasons: Vec<Reason>,
    /// Art. 9 care.
    pub care: Care,
    /// Whether any Art. 8 option is offered (see `refund_or_reroute_choice`).
    pub refund_or_reroute: bool,
    /// Art. 8(1): what the passenger may choose.
    pub refund_or_reroute_choice: RefundOrReroute,
    /// Art. 10(2), for a downgrading.
    pub downgrade: Option<DowngradeRefund>,
    pub inputs: Value,
}

impl Assessment {
    /// Every citation the assessment makes, in order, without repeats.
    pub fn citations(&self) -> Vec<Citation> {
        let mut out: Vec<Citation> = Vec::new();
        let all = self
            .reasons
            .iter()
            .flat_map(|r| r.citations.iter())
            .chain(self.care.citations.iter())
            .chain(self.refund_or_reroute_choice.citations.iter())
            .chain(self.downgrade.iter().flat_map(|d| d.citations.iter()));
        for c in all {
            if !out.contains(c) {
                out.push(*c);
            }
        }
        out
    }
}

/// Why a request cannot be assessed. Each has a stable code (the API's 400 `error.code`) and the
/// JSON pointer of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessError {
    #[error("unknown airport {code} at {path}")]
    UnknownAirport { path: String, code: String },
    #[error("unknown operating carrier {code} at {path}: not in the carrier reference table")]
    UnknownCarrier { path: String, code: String },
    #[error("{message} ({path})")]
    LegsNotConnected { path: String, message: String },
    #[error("{message} ({path})")]
    ArrivalBeforeDeparture { path: String, message: String },
    #[error("disruption.leg {leg} names no leg of a journey of {legs} ({path})")]
    UnknownLeg { path: String, leg: usize, legs: usize },
    #[error("{message} ({path})")]
    MissingInput { path: String, message: String },
    #[error("{message} ({path})")]
    Invalid { path: String, message: String },
}

impl AssessError {
    pub fn code(&self) -> &'static str {
        match self {
            AssessError::UnknownAirport { .. } => "unknown_airport",
            AssessError::UnknownCarrier { .. } => "unknown_carrier",
            AssessError::LegsNotConnected { .. } => "legs_not_connected",
            AssessError::ArrivalBeforeDeparture { .. } => "arrival_before_departure",
            AssessError::UnknownLeg { .. } => "unknown_leg",
            AssessError::MissingInput { .. } => "missing_input",
            AssessError::Invalid { .. } => "validation_failed",
        }
    }
    pub fn path(&self) -> &str {
        match self {
            AssessError::UnknownAirport { path, .. }
            | AssessError::UnknownCarrier { path, .. }
            | AssessError::LegsNotConnected { path, .. }
            | AssessError::ArrivalBeforeDeparture { path, .. }
            | AssessError::UnknownLeg { path, .. }
            | AssessError::MissingInput { path, .. }
            | AssessError::Invalid { path, .. } => path,
        }
    }
    /// Every code an assessment error can have.
    pub const CODES: &'static [&'static str] = &[
        "unknown_airport",
        "unknown_carrier",
        "legs_not_connected",
        "arrival_before_departure",
        "unknown_leg",
        "missing_input",
        "validation_failed",
    ];
}

/// The distance band of Art. 7(1), with its amount and the Art. 7(2) / Art. 6(1) time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Band {
    /// 1,500 km or less
    A,
    /// intra-Community over 1,500 km, and other flights of 1,500 to 3,500 km
    B,
    /// all other flights
    C,
}

impl Band {
    fn of(distance: f64, intra: bool) -> Band {
        if distance <= 1500.0 {
            Band::A
        } else if intra || distance <= 3500.0 {
            Band::B
        } else {
            Band::C
        }
    }
    fn amount(self, regime: Regime) -> u32 {
        match (regime, self) {
            (Regime::Eu261, Band::A) => 250,
            (Regime::Eu261, Band::B) => 400,
            (Regime::Eu261, Band::C) => 600,
            (Regime::Uk261, Band::A) => 220,
            (Regime::Uk261, Band::B) => 350,
            (Regime::Uk261, Band::C) => 520,
        }
    }
    /// Art. 7(2): the arrival delay within which the compensation is halved; Art. 6(1): the
    /// departure delay from which care is owed.
    fn limit(self) -> Duration {
        match self {
            Band::A => Duration::hours(2),
            Band::B => Duration::hours(3),
            Band::C => Duration::hours(4),
        }
    }
    fn article(self) -> Citation {
        match self {
            Band::A => Citation::Art7_1a,
            Band::B => Citation::Art7_1b,
            Band::C => Citation::Art7_1c,
        }
    }
}

struct Ctx {
    reasons: Vec<Reason>,
}

impl Ctx {
    fn say(&mut self, code: &str, text: impl Into<String>, citations: &[Citation]) {
        let reference = citations.iter().map(|c| c.label()).collect::<Vec<_>>().join("; ");
        self.reasons.push(Reason { code: code.into(), text: text.into(), reference, citations: citations.to_vec() });
    }
}

fn known(code: &str, path: String) -> Result<&'static Airport, AssessError> {
    airport(code).ok_or(AssessError::UnknownAirport { path, code: code.into() })
}

fn hm(d: Duration) -> String {
    let m = d.num_minutes();
    format!("{}h{:02}", m / 60, (m % 60).abs())
}

/// `^[A-Z0-9]{2}$`
fn is_carrier(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `^[A-Z]{3}$`
fn is_airport_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// `^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?$`
fn is_flight_number(s: &str) -> bool {
    if s.len() < 3 || !s.is_char_boundary(2) || !is_carrier(&s[..2]) {
        return false;
    }
    let rest = &s[2..];
    let digits = rest.strip_suffix(|c: char| c.is_ascii_uppercase()).unwrap_or(rest);
    (1..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

fn before(path: &str, message: &str) -> AssessError {
    AssessError::ArrivalBeforeDeparture { path: path.into(), message: message.into() }
}

/// Checks that the request describes a journey and a disruption of it; returns the first and
/// last airports.
fn validate(req: &AssessmentRequest) -> Result<(&'static Airport, &'static Airport), AssessError> {
    let legs = &req.journey.legs;
    let d = &req.disruption;
    if legs.is_empty() {
        return Err(AssessError::Invalid {
            path: "/journey/legs".into(),
            message: "a journey has at least one leg".into(),
        });
    }
    if legs.len() > 8 {
        return Err(AssessError::Invalid {
            path: "/journey/legs".into(),
            message: "a journey has at most 8 legs".into(),
        });
    }
    for (i, l) in legs.iter().enumerate() {
        for (field, ok) in [
            ("flight", is_flight_number(&l.flight)),
            ("operating_carrier", is_carrier(&l.operating_carrier)),
            ("origin", is_airport_code(&l.origin)),
            ("destination", is_airport_code(&l.destination)),
        ] {
            if !ok {
                return Err(AssessError::Invalid {
                    path: format!("/journey/legs/{i}/{field}"),
                    message: format!("{field} is not a valid code"),
                });
            }
        }
    }
    for (i, l) in legs.iter().enumerate() {
        known(&l.origin, format!("/journey/legs/{i}/origin"))?;
        known(&l.destination, format!("/journey/legs/{i}/destination"))?;
        if carrier(&l.operating_carrier).is_none() {
            return Err(AssessError::UnknownCarrier {
                path: format!("/journey/legs/{i}/operating_carrier"),
                code: l.operating_carrier.clone(),
            });
        }
        if l.origin == l.destination {
            return Err(AssessError::LegsNotConnected {
                path: format!("/journey/legs/{i}/destination"),
                message: "a leg must arrive somewhere other than where it departs".into(),
            });
        }
        if l.scheduled_arrival <= l.scheduled_departure {
            return Err(before(
                &format!("/journey/legs/{i}/scheduled_arrival"),
                "scheduled arrival must be after scheduled departure",
            ));
        }
        if i > 0 {
            let prev = &legs[i - 1];
            if prev.destination != l.origin {
                return Err(AssessError::LegsNotConnected {
                    path: format!("/journey/legs/{i}/origin"),
                    message: "each leg must depart from where the previous one arrived".into(),
                });
            }
            if l.scheduled_departure < prev.scheduled_arrival {
                return Err(AssessError::LegsNotConnected {
                    path: format!("/journey/legs/{i}/scheduled_departure"),
                    message: "a connection cannot depart before the previous leg arrives".into(),
                });
            }
        }
    }
    if d.leg >= legs.len() {
        return Err(AssessError::UnknownLeg { path: "/disruption/leg".into(), leg: d.leg, legs: legs.len() });
    }
    let leg = &legs[d.leg];
    if matches!(d.kind, DisruptionType::Delay | DisruptionType::Diversion) {
        let Some(arrival) = d.actual_arrival else {
            return Err(AssessError::MissingInput {
                path: "/disruption/actual_arrival".into(),
                message: "a delay or diversion is judged by the arrival time at the final destination".into(),
            });
        };
        if arrival <= leg.scheduled_departure {
            return Err(before(
                "/disruption/actual_arrival",
                "the arrival at the final destination must be after the disrupted leg's scheduled departure",
            ));
        }
        if let Some(dep) = d.actual_departure {
            if arrival <= dep {
                return Err(before("/disruption/actual_arrival", "the arrival must be after the actual departure"));
            }
        }
    }
    if let Some(r) = &d.reroute {
        if r.arrival <= r.departure {
            return Err(before("/disruption/reroute/arrival", "the re-routing must arrive after it departs"));
        }
    }
    if let Some(p) = &d.ticket_price {
        if !(p.amount.is_finite() && p.amount >= 0.0) {
            return Err(AssessError::Invalid {
                path: "/disruption/ticket_price/amount".into(),
                message: "a price is a non-negative amount".into(),
            });
        }
        if !is_airport_code(&p.currency) {
            return Err(AssessError::Invalid {
                path: "/disruption/ticket_price/currency".into(),
                message: "a currency is an ISO 4217 code".into(),
            });
        }
    }
    let first = known(&legs[0].origin, "/journey/legs/0/origin".into())?;
    let last = known(&legs[legs.len() - 1].destination, format!("/journey/legs/{}/destination", legs.len() - 1))?;
    Ok((first, last))
}

/// The regimes whose scope the journey is in, each with the provision that brings it there.
fn scopes(first: &Airport, last: &Airport, carrier: &Carrier, benefits: bool) -> Vec<(Regime, Citation, bool)> {
    // (regime, provision, whether it is the departure rule)
    let mut out = Vec::new();
    // EU261: a Community carrier is one licensed in a member state, or (by the EEA Agreement and
    // the EU-Swiss air transport agreement) in Iceland, Liechtenstein, Norway or Switzerland
    if in_eu261_territory(&first.country) {
        out.push((Regime::Eu261, Citation::Art3_1a, true));
    } else if in_eu261_territory(&last.country) && carrier.licence == Licence::Eu && !benefits {
        out.push((Regime::Eu261, Citation::Art3_1b, false));
    }
    // UK261: "Member State" and "Community carrier" are the EU's alone (UK261 Art. 2(c))
    let community = carrier.licence == Licence::Eu && in_eu_member_state(&carrier.licence_country);
    if in_uk(&first.country) {
        out.push((Regime::Uk261, Citation::Uk3_1a, true));
    } else if in_uk(&last.country) && (community || carrier.licence == Licence::Uk) && !benefits {
        out.push((Regime::Uk261, Citation::Uk3_1bI, false));
    } else if in_eu_member_state(&last.country) && carrier.licence == Licence::Uk && !benefits {
        out.push((Regime::Uk261, Citation::Uk3_1bIi, false));
    }
    // the departure rule first: it is the regime applied
    out.sort_by_key(|(_, _, departure)| !departure);
    out
}

/// Assesses one passenger journey (a single booking, possibly with connections) and one disruption.
pub fn assess(req: &AssessmentRequest) -> Result<Assessment, AssessError> {
    let (first, last) = validate(req)?;
    let legs = &req.journey.legs;
    let d = &req.disruption;
    let last_leg = &legs[legs.len() - 1];
    let disrupted = &legs[d.leg];
    let licence = carrier(&disrupted.operating_carrier).expect("validated").licence;
    let distance = great_circle_km(first, last);
    let distance_km = distance.round() as u32;
    let mut cx = Ctx { reasons: vec![] };
    let inputs = json!({
        "first_origin": {"iata": first.iata, "country": first.country, "reference_check": first.check},
        "final_destination": {"iata": last.iata, "country": last.country, "reference_check": last.check},
        "disrupted_leg": d.leg,
        "operating_carrier": disrupted.operating_carrier,
        "carrier_licence": match licence { Licence::Eu => "EU", Licence::Uk => "UK", Licence::Other => "none" },
        "scheduled_departure_utc": disrupted.scheduled_departure.with_timezone(&Utc),
        "scheduled_arrival_final_utc": last_leg.scheduled_arrival.with_timezone(&Utc),
        "actual_departure_utc": d.actual_departure.map(|t| t.with_timezone(&Utc)),
        "actual_arrival_utc": d.actual_arrival.map(|t| t.with_timezone(&Utc)),
        "notified_at_utc": d.notified_at.map(|t| t.with_timezone(&Utc)),
        "reroute_utc": d.reroute.as_ref().map(|r| json!({"departure": r.departure.with_timezone(&Utc), "arrival": r.arrival.with_timezone(&Utc)})),
        "distance_km_exact": (distance * 10.0).round() / 10.0,
        "type": d.kind,
        "cause": d.cause,
        "knock_on": d.knock_on,
        "reasonable_measures": d.reasonable_measures,
        "refusal_ground": d.refusal_ground,
        "ticket_price": d.ticket_price,
        "third_country_benefits": d.third_country_benefits,
    });

    // -- scope (Art. 3(1) of both regulations)
    let (regime, also) = scope(first, last, licence, d, disrupted, legs.len(), &mut cx);
    if legs.len() > 1 {
        cx.say(
            "single_booking",
            "connecting flights on one booking are assessed as one journey: scope by the first departure, delay at the final destination, distance from first origin to final destination",
            &[Citation::Art2h, Citation::Folkerts, Citation::Bossen],
        );
    }
    let Some(regime) = regime else {
        return Ok(Assessment {
            regime: None,
            also_in_scope: None,
            eligible: false,
            amount: 0,
            currency: None,
            distance_km,
            arrival_delay_minutes: None,
            reasons: cx.reasons,
            care: Care::default(),
            refund_or_reroute: false,
            refund_or_reroute_choice: RefundOrReroute::default(),
            downgrade: None,
            inputs,
        });
    };
    let in_territory = |country: &str| match regime {
        Regime::Eu261 => in_eu261_territory(country),
        Regime::Uk261 => in_uk(country),
    };
    if legs.len() > 1 && regime == Regime::Eu261 && in_eu261_territory(&first.country) {
        let (o, dst) = (airport(&disrupted.origin).expect("known"), airport(&disrupted.destination).expect("known"));
        if !in_eu261_territory(&o.country) && !in_eu261_territory(&dst.country) {
            cx.say(
                "leg_outside_territory",
                format!(
                    "the disrupted leg {} – {} lies outside the EU{}, but it is part of a journey booked as one from {}: the Regulation covers it",
                    o.iata,
                    dst.iata,
                    if licence == Licence::Other { ", operated by a non-Community carrier" } else { "" },
                    first.iata
                ),
                &[Citation::Wegener, Citation::CeskeAerolinie],
            );
        }
    }

    // -- distance band (Art. 7(1), 7(4))
    let intra = in_territory(&first.country) && in_territory(&last.country);
    let band = Band::of(distance, intra);
    let base = band.amount(regime);
    let currency = match regime {
        Regime::Eu261 => "EUR",
        Regime::Uk261 => "GBP",
    };
    let mut band_cites = vec![band.article(), Citation::Art7_4];
    if legs.len() > 1 {
        band_cites.push(Citation::Bossen);
    }
    if regime == Regime::Uk261 {
        band_cites.push(Citation::Uk7_1);
    }
    cx.say(
        "distance_band",
        format!(
            "great-circle distance {} – {} is {distance_km} km{}: {base} {currency}",
            first.iata,
            last.iata,
            if intra && band == Band::B && distance > 3500.0 {
                ", a flight within the territory over 1,500 km"
            } else {
                ""
            }
        ),
        &band_cites,
    );

    let sched_dep = disrupted.scheduled_departure.with_timezone(&Utc);
    let sched_arr = last_leg.scheduled_arrival.with_timezone(&Utc);

    // -- the cause (Art. 5(3))
    let exempt = exemption(d, &mut cx);

    let facts = Facts { d, disrupted, regime, band, exempt, sched_dep, sched_arr };
    let o = match d.kind {
        DisruptionType::Delay | DisruptionType::Diversion => judge_delay(&facts, &mut cx),
        DisruptionType::Cancellation => judge_cancellation(&facts, &mut cx),
        DisruptionType::DeniedBoarding => judge_denied_boarding(&facts, &mut cx),
        DisruptionType::Downgrading => judge_downgrading(&facts, &mut cx),
    };
    let amount = if o.eligible {
        if o.halved {
            base / 2
        } else {
            base
        }
    } else {
        0
    };
    if !o.halved && o.eligible {
        cx.say("not_halved", format!("{amount} {currency} in full"), &[band.article(), Citation::Art7_2]);
    }
    let refund_or_reroute = o.choice.refund || o.choice.reroute_earliest || o.choice.reroute_later;
    Ok(Assessment {
        regime: Some(regime),
        also_in_scope: also,
        eligible: o.eligible,
        amount,
        currency: Some(currency),
        distance_km,
        arrival_delay_minutes: o.arrival_delay,
        reasons: cx.reasons,
        care: o.care,
        refund_or_reroute,
        refund_or_reroute_choice: o.choice,
        downgrade: o.downgrade,
        inputs,
    })
}

/// The regime applied and the other regime also in scope (Art. 3(1) of both regulations), with
/// their reasons: the departure regime first; benefits received in a third country take out the
/// Art. 3(1)(b) rules.
fn scope(
    first: &Airport,
    last: &Airport,
    licence: Licence,
    d: &Disruption,
    disrupted: &Leg,
    legs: usize,
    cx: &mut Ctx,
) -> (Option<Regime>, Option<Regime>) {
    let operator = carrier(&disrupted.operating_carrier).expect("validated");
    let in_scope = scopes(first, last, operator, false);
    let with_benefits = scopes(first, last, operator, d.third_country_benefits);
    match (with_benefits.first(), with_benefits.get(1)) {
        (Some(&(r, provision, departure)), other) => {
            let text = if departure {
                format!(
                    "the journey departs from {} ({}), where {} applies",
                    first.iata,
                    first.country,
                    if r == Regime::Eu261 { "Regulation (EC) No 261/2004" } else { "UK261" }
                )
            } else {
                format!(
                    "the journey departs from {} ({}) and arrives at {} ({}) on a carrier licensed {} ({})",
                    first.iata,
                    first.country,
                    last.iata,
                    last.country,
                    match licence {
                        Licence::Eu => "in the EU/EEA/Switzerland",
                        Licence::Uk => "in the UK",
                        Licence::Other => "elsewhere",
                    },
                    disrupted.operating_carrier
                )
            };
            cx.say(
                match (r, departure) {
                    (Regime::Eu261, true) => "scope_departure_eu",
                    (Regime::Uk261, true) => "scope_departure_uk",
                    (Regime::Eu261, false) => "scope_arrival_eu_carrier",
                    (Regime::Uk261, false) => "scope_arrival_uk_carrier",
                },
                text,
                &if legs > 1 && r == Regime::Uk261 { vec![provision, Citation::Uk3_1A] } else { vec![provision] },
            );
            if let Some(&(o, other_provision, _)) = other {
                cx.say(
                    "regime_overlap",
                    format!(
                        "the journey is also within {} by its arrival; the regime of the departure is applied, and compensation paid under it is a benefit received in the country of departure, which excludes a second payment under the other",
                        if o == Regime::Eu261 { "EU261" } else { "UK261" }
                    ),
                    &[provision, other_provision],
                );
            }
            (Some(r), other.map(|o| o.0))
        }
        (None, _) => {
            if let Some(&(_, provision, _)) = in_scope.first() {
                cx.say(
                    "third_country_benefits",
                    "the passenger received benefits or compensation and was given assistance under the law of the third country of departure: the Regulation does not apply",
                    &[provision],
                );
            } else {
                cx.say(
                    "out_of_scope",
                    format!(
                        "the journey departs from {} ({}) outside the EU, EEA, Switzerland and the UK, and the disrupted flight's carrier ({}) is not licensed where the Regulation would reach an arrival at {} ({})",
                        first.iata, first.country, disrupted.operating_carrier, last.iata, last.country
                    ),
                    &[Citation::Art3_1a, Citation::Art3_1b, Citation::Uk3_1a, Citation::Uk3_1bI, Citation::Uk3_1bIi],
                );
            }
            (None, None)
        }
    }
}

/// Whether the cause exempts the carrier from Art. 7 compensation (Art. 5(3)), with its reasons.
fn exemption(d: &Disruption, cx: &mut Ctx) -> bool {
    match d.cause {
        Some(c) => {
            let (nature, authority) = c.nature();
            let name = c.name();
            match nature {
                Nature::Ordinary => {
                    cx.say("ordinary_cause", format!("the cause ({name}) is within the carrier's control"), authority);
                    false
                }
                Nature::Extraordinary | Nature::ExtraordinaryIfMeasuresShown => {
                    cx.say(
                        "extraordinary_circumstances",
                        format!("the cause ({name}) is an extraordinary circumstance"),
                        authority,
                    );
                    let must_show = nature == Nature::ExtraordinaryIfMeasuresShown || d.knock_on;
                    if d.knock_on {
                        cx.say(
                        "knock_on",
                        "the extraordinary circumstance struck an earlier flight operated with the same aircraft: the carrier may rely on it if it shows the direct causal link and the reasonable measures it took, re-routing included",
                        &[Citation::LeVTap],
                    );
                    }
                    let shown = !matches!((must_show, d.reasonable_measures), (_, Some(false)) | (true, None));
                    if !shown {
                        cx.say(
                        "reasonable_measures_not_shown",
                        "the carrier has not shown that the disruption could not have been avoided even if all reasonable measures had been taken: no exemption",
                        if d.knock_on { &[Citation::Art5_3, Citation::LeVTap] } else { &[Citation::Art5_3] },
                    );
                    }
                    shown
                }
            }
        }
        None => {
            cx.say(
                "cause_not_proven",
                "no cause given: the carrier has not shown extraordinary circumstances",
                &[Citation::Art5_3],
            );
            false
        }
    }
}

/// What a disruption is judged on, once scope, distance and cause are settled.
struct Facts<'a> {
    d: &'a Disruption,
    disrupted: &'a Leg,
    regime: Regime,
    band: Band,
    exempt: bool,
    sched_dep: DateTime<Utc>,
    sched_arr: DateTime<Utc>,
}

impl Facts<'_> {
    /// The territory of the regime applied (EU261: member states, EEA, Switzerland; UK261: the UK).
    fn in_territory(&self, country: &str) -> bool {
        match self.regime {
            Regime::Eu261 => in_eu261_territory(country),
            Regime::Uk261 => in_uk(country),
        }
    }
    /// Care is owed in extraordinary circumstances too (CJEU C-12/11 McDonagh).
    fn mcdonagh(&self, citations: &mut Vec<Citation>) {
        if self.exempt {
            citations.push(Citation::McDonagh);
        }
    }
}

/// What one kind of disruption gives.
#[derive(Default)]
struct Outcome {
    eligible: bool,
    halved: bool,
    arrival_delay: Option<i64>,
    care: Care,
    choice: RefundOrReroute,
    downgrade: Option<DowngradeRefund>,
}

/// Art. 8(1) in full: refund within seven days (with a return flight), or re-routing now or later.
fn full_choice() -> RefundOrReroute {
    RefundOrReroute {
        refund: true,
        refund_within_days: Some(7),
        return_flight: true,
        reroute_earliest: true,
        reroute_later: true,
        citations: vec![Citation::Art8_1],
    }
}

/// A delay or a diversion: Sturgeon at the final destination, Art. 6 care and refund.
fn judge_delay(f: &Facts, cx: &mut Ctx) -> Outcome {
    let mut o = Outcome::default();
    let actual = f.d.actual_arrival.expect("validated").with_timezone(&Utc);
    let delay = actual - f.sched_arr;
    o.arrival_delay = Some(delay.num_minutes());
    if f.d.kind == DisruptionType::Diversion {
        cx.say(
            "diversion",
            "a diverted flight is not cancelled: it is judged by the arrival at the final destination of the booking",
            &[Citation::AustrianAirlines],
        );
    }
    if delay >= Duration::hours(3) {
        cx.say(
            "arrival_delay",
            format!(
                "arrival at the final destination {} late (when a door opened): three hours or more gives the right to compensation",
                hm(delay)
            ),
            &[Citation::Sturgeon, Citation::Nelson, Citation::Henning],
        );
        o.eligible = !f.exempt;
        if f.band == Band::C && delay <= Duration::hours(4) {
            o.halved = true;
            cx.say(
                "halved_long_haul_delay",
                "a delay of three to four hours on a flight over 3,500 km: the compensation is reduced by 50 %",
                &[Citation::Art7_2, Citation::Sturgeon],
            );
        }
        if f.exempt {
            cx.say(
                "exempt",
                "extraordinary circumstances exempt the carrier from compensation for the delay",
                &[Citation::Art5_3, Citation::Sturgeon],
            );
        }
    } else {
        o.eligible = false;
        cx.say(
            "arrival_delay_under_3h",
            format!(
                "arrival at the final destination {} late: under three hours gives no compensation",
                hm(delay.max(Duration::zero()))
            ),
            &[Citation::Sturgeon, Citation::Nelson],
        );
    }
    // care and refund, from the departure delay of the disrupted leg (the arrival delay
    // stands in for it when no departure time is known)
    let (dep_delay, measured) = match f.d.actual_departure {
        Some(t) => (t.with_timezone(&Utc) - f.sched_dep, "departure"),
        None => (delay, "arrival (no departure time given)"),
    };
    o.care.threshold_minutes = Some(f.band.limit().num_minutes());
    if dep_delay >= f.band.limit() {
        o.care.meals = true;
        o.care.communication = true;
        o.care.communications = 2;
        let expected_departure = f.disrupted.scheduled_departure + dep_delay;
        o.care.hotel = expected_departure.date_naive() > f.disrupted.scheduled_departure.date_naive();
        o.care.transfer = o.care.hotel;
        o.care.citations = vec![Citation::Art6_1, Citation::Art9];
        f.mcdonagh(&mut o.care.citations);
        cx.say(
            "care_delay",
            format!(
                "a delay of {} at {measured}, at least {} for this distance: meals and refreshments, two calls or e-mails{}",
                hm(dep_delay),
                hm(f.band.limit()),
                if o.care.hotel { ", and a hotel with transfers as the departure moves to the next day" } else { "" }
            ),
            &o.care.citations.clone(),
        );
    }
    if dep_delay >= Duration::hours(5) {
        o.choice = RefundOrReroute {
            refund: true,
            refund_within_days: Some(7),
            return_flight: true,
            reroute_earliest: false,
            reroute_later: false,
            citations: vec![Citation::Art6_1, Citation::Art8_1],
        };
        cx.say(
            "refund_delay",
            "a delay of five hours or more: the passenger may give up the journey for a refund within seven days (and a return flight to the first point of departure)",
            &[Citation::Art6_1, Citation::Art8_1],
        );
    }
    o
}

/// A cancellation: Art. 5(1)(c) notice and re-routing, Art. 7(2), Art. 5(1)(a)-(b) with Arts. 8 and 9.
fn judge_cancellation(f: &Facts, cx: &mut Ctx) -> Outcome {
    let mut o = Outcome::default();
    let notified = f.d.notified_at.map(|t| t.with_timezone(&Utc)).unwrap_or(f.sched_dep);
    let notice = f.sched_dep - notified;
    let reroute = f.d.reroute.as_ref().map(|r| (r.departure.with_timezone(&Utc), r.arrival.with_timezone(&Utc)));
    if let Some((_, arr)) = reroute {
        o.arrival_delay = Some((arr - f.sched_arr).num_minutes());
    }
    let qualifying = |early: Duration, late: Duration| {
        reroute.is_some_and(|(dep, arr)| dep >= f.sched_dep - early && arr < f.sched_arr + late)
    };
    o.eligible = if notice >= Duration::days(14) {
        cx.say(
            "notice_14_days",
            format!("informed {} days before departure: at least two weeks", notice.num_days()),
            &[Citation::Art5_1cI],
        );
        false
    } else if notice >= Duration::days(7) {
        let ok = qualifying(Duration::hours(2), Duration::hours(4));
        cx.say(
            "notice_7_to_14_days",
            format!(
                "informed {} days before departure, {} re-routing leaving no more than two hours earlier and arriving less than four hours later",
                notice.num_days(),
                if ok { "with" } else { "without" }
            ),
            &[Citation::Art5_1cIi],
        );
        !ok
    } else {
        let ok = qualifying(Duration::hours(1), Duration::hours(2));
        cx.say(
            "notice_under_7_days",
            format!(
                "informed less than seven days before departure ({}), {} re-routing leaving no more than one hour earlier and arriving less than two hours later",
                hm(notice.max(Duration::zero())),
                if ok { "with" } else { "without" }
            ),
            &[Citation::Art5_1cIii],
        );
        !ok
    };
    if o.eligible && f.exempt {
        o.eligible = false;
        cx.say("exempt", "the cancellation was caused by extraordinary circumstances", &[Citation::Art5_3]);
    }
    if o.eligible {
        if let Some(delay) = o.arrival_delay.map(Duration::minutes) {
            if delay <= f.band.limit() {
                o.halved = true;
                cx.say(
                    "halved_reroute",
                    format!(
                        "re-routed, arriving {} late, within {} for this distance: the compensation is reduced by 50 %",
                        hm(delay.max(Duration::zero())),
                        hm(f.band.limit())
                    ),
                    &[Citation::Art7_2],
                );
            }
        }
    }
    let hotel = reroute.is_none_or(|(dep, _)| {
        let local = dep.with_timezone(f.disrupted.scheduled_departure.offset());
        local.date_naive() > f.disrupted.scheduled_departure.date_naive()
    });
    o.care = Care {
        meals: true,
        hotel,
        transfer: hotel,
        communication: true,
        communications: 2,
        threshold_minutes: None,
        citations: vec![Citation::Art5_1b, Citation::Art9],
    };
    f.mcdonagh(&mut o.care.citations);
    o.choice = full_choice();
    o.choice.citations.insert(0, Citation::Art5_1a);
    cx.say(
        "care_cancellation",
        format!(
            "meals and refreshments, two calls or e-mails{}; refund within seven days or re-routing at the passenger's choice",
            if hotel {
                if reroute.is_some() {
                    ", a hotel and transfers as the re-routing leaves on a later day"
                } else {
                    ", a hotel and transfers if the re-routing leaves on a later day (none known yet)"
                }
            } else {
                ""
            }
        ),
        &[Citation::Art5_1a, Citation::Art5_1b, Citation::Art8_1, Citation::Art9],
    );
    o
}

/// Denied boarding: Art. 2(j) lawful refusal, Art. 4(1) volunteers, Art. 4(3) against the passenger's will.
fn judge_denied_boarding(f: &Facts, cx: &mut Ctx) -> Outcome {
    let mut o = Outcome::default();
    if let Some(ground) = f.d.refusal_ground {
        o.eligible = false;
        let g = serde_json::to_value(ground).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        cx.say(
            "lawful_refusal",
            format!("boarding was refused on reasonable grounds ({g}): this is not denied boarding, and the Regulation owes no compensation, care or refund for it"),
            &[Citation::Art2j],
        );
    } else if f.d.volunteer.unwrap_or(false) {
        o.eligible = false;
        cx.say(
            "volunteer",
            "the passenger gave up the seat voluntarily in exchange for benefits agreed with the carrier: no compensation under Art. 7",
            &[Citation::Art4_1],
        );
        o.choice = full_choice();
        o.choice.citations.insert(0, Citation::Art4_1);
        cx.say(
            "volunteer_assistance",
            "volunteers keep the right to a refund within seven days or re-routing",
            &[Citation::Art4_1, Citation::Art8_1],
        );
    } else {
        o.eligible = true;
        cx.say(
            "denied_boarding",
            "boarding was denied against the passenger's will: compensation is due immediately",
            &[Citation::Art4_3],
        );
        if f.d.cause.is_some_and(|c| c.nature().0 != Nature::Ordinary) {
            cx.say(
                "no_exemption_denied_boarding",
                "extraordinary circumstances do not exempt the carrier from compensating denied boarding",
                &[Citation::Finnair],
            );
        }
        if let Some(r) = &f.d.reroute {
            let delay = r.arrival.with_timezone(&Utc) - f.sched_arr;
            o.arrival_delay = Some(delay.num_minutes());
            if delay <= f.band.limit() {
                o.halved = true;
                cx.say(
                    "halved_reroute",
                    format!(
                        "re-routed, arriving {} late, within {} for this distance: the compensation is reduced by 50 %",
                        hm(delay.max(Duration::zero())),
                        hm(f.band.limit())
                    ),
                    &[Citation::Art7_2],
                );
            }
        }
        let hotel = f.d.reroute.as_ref().is_none_or(|r| {
            let local = r.departure.with_timezone(f.disrupted.scheduled_departure.offset());
            local.date_naive() > f.disrupted.scheduled_departure.date_naive()
        });
        o.care = Care {
            meals: true,
            hotel,
            transfer: hotel,
            communication: true,
            communications: 2,
            threshold_minutes: None,
            citations: vec![Citation::Art4_3, Citation::Art9],
        };
        o.choice = full_choice();
        o.choice.citations.insert(0, Citation::Art4_3);
        cx.say(
            "care_denied_boarding",
            "meals and refreshments, two calls or e-mails, a hotel and transfers if the re-routing leaves on a later day, and a refund within seven days or re-routing",
            &[Citation::Art4_3, Citation::Art8_1, Citation::Art9],
        );
    }
    o
}

/// A downgrading: Art. 10(2) by the distance of the downgraded flight.
fn judge_downgrading(f: &Facts, cx: &mut Ctx) -> Outcome {
    let mut o = Outcome::default();
    let (from, dst) = (airport(&f.disrupted.origin).expect("known"), airport(&f.disrupted.destination).expect("known"));
    let leg_km = great_circle_km(from, dst);
    let french_overseas = |c: &str| ["GP", "GF", "MQ", "RE", "YT"].contains(&c);
    let leg_intra = f.in_territory(&from.country) && f.in_territory(&dst.country);
    let overseas =
        f.regime == Regime::Eu261 && leg_intra && (french_overseas(&from.country) != french_overseas(&dst.country));
    let percent = if leg_km <= 1500.0 {
        30
    } else if (leg_intra && !overseas) || leg_km <= 3500.0 {
        50
    } else {
        75
    };
    let amount = f.d.ticket_price.as_ref().map(|p| (p.amount * f64::from(percent)).round() / 100.0);
    o.downgrade = Some(DowngradeRefund {
        percent,
        distance_km: leg_km.round() as u32,
        amount,
        currency: f.d.ticket_price.as_ref().map(|p| p.currency.clone()),
        within_days: 7,
        citations: vec![Citation::Art10_2, Citation::Mennens],
    });
    cx.say(
        "downgrading",
        format!(
            "placed in a lower class on {} – {} ({} km{}): {percent} % of the price of that flight{}, reimbursed within seven days",
            from.iata,
            dst.iata,
            leg_km.round(),
            if overseas { ", between the European territory and a French overseas department" } else { "" },
            match (&f.d.ticket_price, amount) {
                (Some(p), Some(a)) => format!(" ({a:.2} {})", p.currency),
                _ => " (no price given)".to_owned(),
            }
        ),
        &[Citation::Art10_2, Citation::Mennens],
    );
    o
}

#[cfg(test)]
mod tests;
