//! Flight-disruption compensation under Regulation (EC) No 261/2004 ("EU261", with the CJEU case
//! law airlines apply) and its retained UK version ("UK261"). Pure: a journey and a disruption in,
//! a decision with its reasons out. Every reason names the article or ruling behind it.
pub mod reference;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use reference::{airport, great_circle_km, in_eu261_territory, in_uk, licence, Airport, Licence};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const REG: &str = "Regulation (EC) No 261/2004";

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisruptionType {
    Delay,
    Cancellation,
    DeniedBoarding,
    Diversion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Technical,
    CrewShortage,
    OwnStaffStrike,
    Weather,
    Atc,
    AtcStrike,
    AirportStrike,
    Security,
    BirdStrike,
    MedicalEmergency,
    PoliticalInstability,
    HiddenManufacturingDefect,
}

impl Cause {
    /// Whether the cause is an extraordinary circumstance (Art. 5(3)), with the authority for it.
    pub fn extraordinary(self) -> (bool, &'static str) {
        match self {
            Cause::Technical => (false, "CJEU C-549/07 Wallentin-Hermann; C-257/14 van der Lans"),
            Cause::CrewShortage => {
                (false, "CJEU C-549/07 Wallentin-Hermann (inherent in the carrier's normal activity)")
            }
            Cause::OwnStaffStrike => (false, "CJEU C-195/17 Krüsemann; C-28/20 Airhelp v SAS"),
            Cause::Weather => {
                (true, "Recital 14 and Art. 5(3) Regulation (EC) No 261/2004 (meteorological conditions)")
            }
            Cause::Atc => {
                (true, "Recital 15 and Art. 5(3) Regulation (EC) No 261/2004 (air traffic management decisions)")
            }
            Cause::AtcStrike => {
                (true, "Recital 14 and Art. 5(3) Regulation (EC) No 261/2004 (strikes by third parties); CJEU C-28/20")
            }
            Cause::AirportStrike => {
                (true, "Recital 14 and Art. 5(3) Regulation (EC) No 261/2004 (strikes by third parties); CJEU C-28/20")
            }
            Cause::Security => (true, "Recital 14 and Art. 5(3) Regulation (EC) No 261/2004 (security risks)"),
            Cause::BirdStrike => (true, "CJEU C-315/15 Pešková"),
            Cause::MedicalEmergency => {
                (true, "Recital 14 and Art. 5(3) Regulation (EC) No 261/2004; CJEU C-74/19 LE v TAP")
            }
            Cause::PoliticalInstability => {
                (true, "Recital 14 and Art. 5(3) Regulation (EC) No 261/2004 (political instability)")
            }
            Cause::HiddenManufacturingDefect => {
                (true, "CJEU C-549/07 Wallentin-Hermann para. 26; C-257/14 van der Lans")
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reroute {
    pub departure: DateTime<FixedOffset>,
    pub arrival: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disruption {
    #[serde(rename = "type")]
    pub kind: DisruptionType,
    pub leg: usize,
    #[serde(default)]
    pub cause: Option<Cause>,
    #[serde(default)]
    pub actual_arrival: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub notified_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub reroute: Option<Reroute>,
    #[serde(default)]
    pub volunteer: Option<bool>,
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
    pub reference: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Care {
    pub meals: bool,
    pub hotel: bool,
    pub communication: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub regime: Option<Regime>,
    pub eligible: bool,
    pub amount: u32,
    pub currency: Option<&'static str>,
    pub distance_km: u32,
    pub arrival_delay_minutes: Option<i64>,
    pub reasons: Vec<Reason>,
    pub care: Care,
    pub refund_or_reroute: bool,
    pub inputs: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessError {
    #[error("unknown airport {code} at {path}")]
    UnknownAirport { path: String, code: String },
    #[error("{message} ({path})")]
    InvalidJourney { path: String, message: String },
    #[error("{message} ({path})")]
    Invalid { path: String, message: String },
}

impl AssessError {
    pub fn code(&self) -> &'static str {
        match self {
            AssessError::UnknownAirport { .. } => "unknown_airport",
            AssessError::InvalidJourney { .. } => "invalid_journey",
            AssessError::Invalid { .. } => "validation_failed",
        }
    }
    pub fn path(&self) -> &str {
        match self {
            AssessError::UnknownAirport { path, .. }
            | AssessError::InvalidJourney { path, .. }
            | AssessError::Invalid { path, .. } => path,
        }
    }
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
    /// Art. 7(2): arrival delay within which the compensation may be halved; Art. 6(1): the
    /// departure delay from which care is owed.
    fn limit(self) -> Duration {
        match self {
            Band::A => Duration::hours(2),
            Band::B => Duration::hours(3),
            Band::C => Duration::hours(4),
        }
    }
    fn article(self) -> &'static str {
        match self {
            Band::A => "Art. 7(1)(a)",
            Band::B => "Art. 7(1)(b)",
            Band::C => "Art. 7(1)(c)",
        }
    }
}

struct Ctx {
    reasons: Vec<Reason>,
}

impl Ctx {
    fn say(&mut self, code: &str, text: impl Into<String>, reference: impl Into<String>) {
        self.reasons.push(Reason { code: code.into(), text: text.into(), reference: reference.into() });
    }
}

fn art(a: &str) -> String {
    format!("{a} {REG}")
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

/// Assesses one passenger journey (a single booking, possibly with connections) and one disruption.
pub fn assess(req: &AssessmentRequest) -> Result<Assessment, AssessError> {
    let legs = &req.journey.legs;
    let d = &req.disruption;
    if legs.is_empty() {
        return Err(AssessError::InvalidJourney {
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
    if d.leg >= legs.len() {
        return Err(AssessError::InvalidJourney {
            path: "/disruption/leg".into(),
            message: "no such leg in the journey".into(),
        });
    }
    for (i, l) in legs.iter().enumerate() {
        known(&l.origin, format!("/journey/legs/{i}/origin"))?;
        known(&l.destination, format!("/journey/legs/{i}/destination"))?;
        if l.scheduled_arrival <= l.scheduled_departure {
            return Err(AssessError::InvalidJourney {
                path: format!("/journey/legs/{i}/scheduled_arrival"),
                message: "scheduled arrival must be after scheduled departure".into(),
            });
        }
        if i > 0 {
            let prev = &legs[i - 1];
            if prev.destination != l.origin {
                return Err(AssessError::InvalidJourney {
                    path: format!("/journey/legs/{i}/origin"),
                    message: "each leg must depart from where the previous one arrived".into(),
                });
            }
            if l.scheduled_departure < prev.scheduled_arrival {
                return Err(AssessError::InvalidJourney {
                    path: format!("/journey/legs/{i}/scheduled_departure"),
                    message: "a connection cannot depart before the previous leg arrives".into(),
                });
            }
        }
    }
    if matches!(d.kind, DisruptionType::Delay | DisruptionType::Diversion) && d.actual_arrival.is_none() {
        return Err(AssessError::InvalidJourney {
            path: "/disruption/actual_arrival".into(),
            message: "a delay or diversion is judged by the arrival time at the final destination".into(),
        });
    }
    let first = known(&legs[0].origin, "/journey/legs/0/origin".into())?;
    let last_leg = legs.last().expect("non-empty");
    let last = known(&last_leg.destination, format!("/journey/legs/{}/destination", legs.len() - 1))?;
    let disrupted = &legs[d.leg];
    let carrier = licence(&disrupted.operating_carrier);
    let distance = great_circle_km(first, last);
    let mut cx = Ctx { reasons: vec![] };
    let inputs = json!({
        "first_origin": {"iata": first.iata, "country": first.country},
        "final_destination": {"iata": last.iata, "country": last.country},
        "disrupted_leg": d.leg,
        "operating_carrier": disrupted.operating_carrier,
        "carrier_licence": match carrier { Licence::Eu => "EU", Licence::Uk => "UK", Licence::Other => "none" },
        "scheduled_departure_utc": disrupted.scheduled_departure.with_timezone(&Utc),
        "scheduled_arrival_final_utc": last_leg.scheduled_arrival.with_timezone(&Utc),
        "actual_arrival_utc": d.actual_arrival.map(|t| t.with_timezone(&Utc)),
        "notified_at_utc": d.notified_at.map(|t| t.with_timezone(&Utc)),
        "reroute_utc": d.reroute.as_ref().map(|r| json!({"departure": r.departure.with_timezone(&Utc), "arrival": r.arrival.with_timezone(&Utc)})),
        "distance_km_exact": (distance * 10.0).round() / 10.0,
        "type": d.kind,
        "cause": d.cause,
    });

    // -- scope (Art. 3(1))
    let regime = if in_eu261_territory(&first.country) {
        cx.say(
            "scope_departure_eu",
            format!(
                "the journey departs from {} ({}), in the territory where the Regulation applies",
                first.iata, first.country
            ),
            art("Art. 3(1)(a)"),
        );
        Some(Regime::Eu261)
    } else if in_uk(&first.country) {
        cx.say(
            "scope_departure_uk",
            format!("the journey departs from {} in the United Kingdom", first.iata),
            "Art. 3(1)(a) UK261 (Regulation (EC) No 261/2004 as retained in UK law)",
        );
        Some(Regime::Uk261)
    } else if in_eu261_territory(&last.country) && carrier == Licence::Eu {
        cx.say(
            "scope_arrival_eu_carrier",
            format!(
                "the journey arrives in {} from a third country on a Community carrier ({})",
                last.country, disrupted.operating_carrier
            ),
            art("Art. 3(1)(b)"),
        );
        Some(Regime::Eu261)
    } else if in_uk(&last.country) && matches!(carrier, Licence::Uk | Licence::Eu) {
        cx.say(
            "scope_arrival_uk_carrier",
            format!(
                "the journey arrives in the United Kingdom on a UK or EU carrier ({})",
                disrupted.operating_carrier
            ),
            "Art. 3(1)(b) UK261",
        );
        Some(Regime::Uk261)
    } else {
        cx.say(
            "out_of_scope",
            format!(
                "the journey departs from {} ({}) outside the EU, EEA, Switzerland and the UK, and the disrupted flight is not operated by a carrier licensed there for arrivals in scope",
                first.iata, first.country
            ),
            art("Art. 3(1)"),
        );
        None
    };
    if legs.len() > 1 {
        cx.say(
            "single_booking",
            "connecting flights on one booking are assessed as one journey: scope by the first departure, delay at the final destination, distance from first origin to final destination",
            "CJEU C-11/11 Folkerts; C-559/16 Bossen; C-502/18 České aerolinie",
        );
    }
    let distance_km = distance.round() as u32;
    let Some(regime) = regime else {
        return Ok(Assessment {
            regime: None,
            eligible: false,
            amount: 0,
            currency: None,
            distance_km,
            arrival_delay_minutes: None,
            reasons: cx.reasons,
            care: Care::default(),
            refund_or_reroute: false,
            inputs,
        });
    };

    // -- distance band (Art. 7(1), 7(4))
    let intra = match regime {
        Regime::Eu261 => in_eu261_territory(&first.country) && in_eu261_territory(&last.country),
        Regime::Uk261 => in_uk(&first.country) && in_uk(&last.country),
    };
    let band = if distance <= 1500.0 {
        Band::A
    } else if intra || distance <= 3500.0 {
        Band::B
    } else {
        Band::C
    };
    let base = band.amount(regime);
    let currency = match regime {
        Regime::Eu261 => "EUR",
        Regime::Uk261 => "GBP",
    };
    cx.say(
        "distance_band",
        format!(
            "great-circle distance {} – {} is {distance_km} km{}: {base} {currency}",
            first.iata,
            last.iata,
            if intra && band == Band::B && distance > 3500.0 {
                ", an intra-Community flight over 1,500 km"
            } else {
                ""
            }
        ),
        format!("{} and Art. 7(4) {REG}; CJEU C-559/16 Bossen", band.article()),
    );

    let sched_dep = disrupted.scheduled_departure.with_timezone(&Utc);
    let sched_arr = last_leg.scheduled_arrival.with_timezone(&Utc);
    let extraordinary = match d.cause {
        Some(c) => {
            let (x, authority) = c.extraordinary();
            let name = serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            if x {
                cx.say(
                    "extraordinary_circumstances",
                    format!("the cause ({name}) is an extraordinary circumstance that could not have been avoided"),
                    authority,
                );
            } else {
                cx.say("ordinary_cause", format!("the cause ({name}) is within the carrier's control"), authority);
            }
            x
        }
        None => {
            cx.say(
                "cause_not_proven",
                "no cause given: the carrier has not shown extraordinary circumstances",
                art("Art. 5(3)"),
            );
            false
        }
    };

    let mut care = Care::default();
    let mut refund_or_reroute = false;
    let mut arrival_delay = None;
    let mut eligible;
    let mut halved = false;

    match d.kind {
        DisruptionType::Delay | DisruptionType::Diversion => {
            let actual = d.actual_arrival.expect("checked").with_timezone(&Utc);
            let delay = actual - sched_arr;
            arrival_delay = Some(delay.num_minutes());
            if d.kind == DisruptionType::Diversion {
                cx.say(
                    "diversion",
                    "a diverted flight is judged by the arrival at the final destination of the booking",
                    "CJEU C-826/19 Austrian Airlines",
                );
            }
            if delay >= Duration::hours(3) {
                cx.say(
                    "arrival_delay",
                    format!(
                        "arrival at the final destination {} late: three hours or more gives the right to compensation",
                        hm(delay)
                    ),
                    "CJEU C-402/07 Sturgeon; C-581/10 Nelson; C-452/13 Germanwings (arrival when a door opens)",
                );
                eligible = !extraordinary;
                if band == Band::C && delay < Duration::hours(4) && regime == Regime::Eu261 {
                    halved = true;
                    cx.say(
                        "halved_long_haul_delay",
                        "a delay of three to four hours on a flight over 3,500 km: the compensation is reduced by 50 %",
                        format!("Art. 7(2)(c) {REG}; CJEU C-402/07 Sturgeon para. 63"),
                    );
                }
                if extraordinary {
                    cx.say(
                        "exempt",
                        "extraordinary circumstances exempt the carrier from compensation for the delay",
                        format!("Art. 5(3) {REG}; CJEU C-402/07 Sturgeon para. 69"),
                    );
                }
            } else {
                eligible = false;
                cx.say(
                    "arrival_delay_under_3h",
                    format!(
                        "arrival at the final destination {} late: under three hours gives no compensation",
                        hm(delay.max(Duration::zero()))
                    ),
                    "CJEU C-402/07 Sturgeon; C-581/10 Nelson",
                );
            }
            // care and refund, from the departure delay of the disrupted flight (approximated by the
            // arrival delay: the connection times are the carrier's)
            if delay >= band.limit() {
                care.meals = true;
                care.communication = true;
                let expected_departure = disrupted.scheduled_departure + delay;
                care.hotel = expected_departure.date_naive() > disrupted.scheduled_departure.date_naive();
                cx.say(
                    "care_delay",
                    format!(
                        "a delay of {} or more on this distance: meals and refreshments, two calls or e-mails{}",
                        hm(band.limit()),
                        if care.hotel {
                            ", and a hotel with transfers as the departure moves to the next day"
                        } else {
                            ""
                        }
                    ),
                    format!("Art. 6(1) and Art. 9 {REG}"),
                );
            }
            if delay >= Duration::hours(5) {
                refund_or_reroute = true;
                cx.say(
                    "refund_delay",
                    "a delay of five hours or more: the passenger may choose a refund instead of travelling",
                    format!("Art. 6(1)(c)(iii) and Art. 8(1)(a) {REG}"),
                );
            }
        }
        DisruptionType::Cancellation => {
            let notified = d.notified_at.map(|t| t.with_timezone(&Utc)).unwrap_or(sched_dep);
            let notice = sched_dep - notified;
            let reroute = d.reroute.as_ref().map(|r| (r.departure.with_timezone(&Utc), r.arrival.with_timezone(&Utc)));
            if let Some((_, arr)) = reroute {
                arrival_delay = Some((arr - sched_arr).num_minutes());
            }
            let qualifying = |early: Duration, late: Duration| {
                reroute.is_some_and(|(dep, arr)| dep >= sched_dep - early && arr < sched_arr + late)
            };
            eligible = if notice >= Duration::days(14) {
                cx.say(
                    "notice_14_days",
                    format!("informed {} days before departure: at least two weeks", notice.num_days()),
                    art("Art. 5(1)(c)(i)"),
                );
                false
            } else if notice >= Duration::days(7) {
                let ok = qualifying(Duration::hours(2), Duration::hours(4));
                cx.say(
                    "notice_7_to_14_days",
                    format!(
                        "informed {} days before departure{}",
                        notice.num_days(),
                        if ok { ", with re-routing leaving no more than two hours earlier and arriving less than four hours later" } else { ", without re-routing leaving no more than two hours earlier and arriving less than four hours later" }
                    ),
                    art("Art. 5(1)(c)(ii)"),
                );
                !ok
            } else {
                let ok = qualifying(Duration::hours(1), Duration::hours(2));
                cx.say(
                    "notice_under_7_days",
                    format!(
                        "informed less than seven days before departure ({}){}",
                        hm(notice.max(Duration::zero())),
                        if ok { ", with re-routing leaving no more than one hour earlier and arriving less than two hours later" } else { ", without re-routing leaving no more than one hour earlier and arriving less than two hours later" }
                    ),
                    art("Art. 5(1)(c)(iii)"),
                );
                !ok
            };
            if eligible && extraordinary {
                eligible = false;
                cx.say("exempt", "the cancellation was caused by extraordinary circumstances", art("Art. 5(3)"));
            }
            if eligible {
                if let Some(delay) = arrival_delay.map(Duration::minutes) {
                    if delay <= band.limit() {
                        halved = true;
                        cx.say(
                            "halved_reroute",
                            format!("re-routed, arriving {} late, within {} for this distance: the compensation is reduced by 50 %", hm(delay.max(Duration::zero())), hm(band.limit())),
                            art("Art. 7(2)"),
                        );
                    }
                }
            }
            care = Care {
                meals: true,
                communication: true,
                hotel: reroute.is_none_or(|(dep, _)| dep.date_naive() > sched_dep.date_naive()),
            };
            refund_or_reroute = true;
            cx.say("care_cancellation", "meals and refreshments, two calls or e-mails, and a hotel if the re-routing leaves on a later day; refund or re-routing at the passenger's choice", format!("Art. 5(1)(a)-(b), Art. 8 and Art. 9 {REG}"));
        }
        DisruptionType::DeniedBoarding => {
            if d.volunteer.unwrap_or(false) {
                eligible = false;
                cx.say("volunteer", "the passenger gave up the seat voluntarily in exchange for benefits agreed with the carrier: no compensation under Art. 7", art("Art. 4(1)"));
                refund_or_reroute = true;
                cx.say(
                    "volunteer_assistance",
                    "volunteers keep the right to a refund or re-routing",
                    art("Art. 4(1) and Art. 8"),
                );
            } else {
                eligible = true;
                cx.say(
                    "denied_boarding",
                    "boarding was denied against the passenger's will: compensation is due immediately",
                    art("Art. 4(3)"),
                );
                if extraordinary {
                    cx.say(
                        "no_exemption_denied_boarding",
                        "extraordinary circumstances do not exempt the carrier from compensating denied boarding",
                        "CJEU C-22/11 Finnair; C-321/11 Rodríguez Cachafeiro",
                    );
                }
                if let Some(r) = &d.reroute {
                    let delay = r.arrival.with_timezone(&Utc) - sched_arr;
                    arrival_delay = Some(delay.num_minutes());
                    if delay <= band.limit() {
                        halved = true;
                        cx.say("halved_reroute", format!("re-routed, arriving {} late, within {} for this distance: the compensation is reduced by 50 %", hm(delay.max(Duration::zero())), hm(band.limit())), art("Art. 7(2)"));
                    }
                }
                care = Care {
                    meals: true,
                    communication: true,
                    hotel: d
                        .reroute
                        .as_ref()
                        .is_none_or(|r| r.departure.with_timezone(&Utc).date_naive() > sched_dep.date_naive()),
                };
                refund_or_reroute = true;
                cx.say(
                    "care_denied_boarding",
                    "meals and refreshments, two calls or e-mails, a hotel if needed, and refund or re-routing",
                    art("Art. 4(3), Art. 8 and Art. 9"),
                );
            }
        }
    }
    let amount = if eligible {
        if halved {
            base / 2
        } else {
            base
        }
    } else {
        0
    };
    if !halved && eligible {
        cx.say("not_halved", format!("{amount} {currency} in full"), art("Art. 7(1) and 7(2)"));
    }
    Ok(Assessment {
        regime: Some(regime),
        eligible,
        amount,
        currency: Some(currency),
        distance_km,
        arrival_delay_minutes: arrival_delay,
        reasons: cx.reasons,
        care,
        refund_or_reroute,
        inputs,
    })
}

#[cfg(test)]
mod tests;
