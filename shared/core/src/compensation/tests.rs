//! Cases derived from the text of Regulation (EC) No 261/2004, UK261 and the CJEU's rulings, not
//! from the code: each test names the provision or ruling its expected answer comes from.
use super::reference::{airport, carrier, carriers, great_circle_km, Licence};
use super::*;

fn leg(flight: &str, carrier: &str, o: &str, d: &str, dep: &str, arr: &str) -> Leg {
    Leg {
        flight: flight.into(),
        operating_carrier: carrier.into(),
        origin: o.into(),
        destination: d.into(),
        scheduled_departure: DateTime::parse_from_rfc3339(dep).unwrap(),
        scheduled_arrival: DateTime::parse_from_rfc3339(arr).unwrap(),
    }
}

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// One leg departing 2026-12-01 08:00Z, arriving 10:00Z.
fn one(carrier: &str, o: &str, d: &str) -> Vec<Leg> {
    vec![leg("XX100", carrier, o, d, "2026-12-01T08:00:00Z", "2026-12-01T10:00:00Z")]
}

fn req(legs: Vec<Leg>, kind: DisruptionType) -> AssessmentRequest {
    AssessmentRequest { journey: Journey { legs }, disruption: Disruption { kind, ..Disruption::default() } }
}

fn delay(legs: Vec<Leg>, arrive: &str, cause: Option<Cause>) -> AssessmentRequest {
    let mut r = req(legs, DisruptionType::Delay);
    r.disruption.actual_arrival = Some(t(arrive));
    r.disruption.cause = cause;
    r
}

fn cancel(legs: Vec<Leg>, notified: &str, reroute: Option<(&str, &str)>, cause: Option<Cause>) -> AssessmentRequest {
    let mut r = req(legs, DisruptionType::Cancellation);
    r.disruption.notified_at = Some(t(notified));
    r.disruption.reroute = reroute.map(|(d, a)| Reroute { departure: t(d), arrival: t(a) });
    r.disruption.cause = cause;
    r
}

fn denied(legs: Vec<Leg>, volunteer: bool, reroute: Option<(&str, &str)>, cause: Option<Cause>) -> AssessmentRequest {
    let mut r = req(legs, DisruptionType::DeniedBoarding);
    r.disruption.volunteer = Some(volunteer);
    r.disruption.reroute = reroute.map(|(d, a)| Reroute { departure: t(d), arrival: t(a) });
    r.disruption.cause = cause;
    r
}

fn ok(r: &AssessmentRequest) -> Assessment {
    assess(r).unwrap_or_else(|e| panic!("{e}"))
}

fn has(a: &Assessment, code: &str) -> bool {
    a.reasons.iter().any(|r| r.code == code)
}

fn cites(a: &Assessment, c: Citation) -> bool {
    a.citations().contains(&c)
}

// ------------------------------------------------------------------ Art. 7(1), 7(4): distance bands

/// Art. 7(1)(a)/(b): 1,500 km or less is 250 EUR; an intra-Community flight of more than 1,500 km
/// is 400 EUR. Dublin – Keflavík (both EU261 territory) is 1,497.6 km; Barcelona – Berlin 1,502.4.
#[test]
fn art_7_1_either_side_of_1500_km_within_the_territory() {
    let a = ok(&delay(one("GA", "DUB", "KEF"), "2026-12-01T13:00:00Z", None));
    assert_eq!((a.distance_km, a.amount), (1498, 250));
    let a = ok(&delay(one("GA", "BCN", "BER"), "2026-12-01T13:00:00Z", None));
    assert_eq!((a.distance_km, a.amount), (1502, 400));
    assert!(cites(&a, Citation::Art7_1b) && cites(&a, Citation::Art7_4));
}

/// Art. 7(1)(a)/(b) for flights leaving the EU: Paris – Tunis 1,487.9 km (250), Paris – Oran
/// 1,511.1 km (400).
#[test]
fn art_7_1_either_side_of_1500_km_to_a_third_country() {
    assert_eq!(ok(&delay(one("GA", "CDG", "TUN"), "2026-12-01T13:00:00Z", None)).amount, 250);
    assert_eq!(ok(&delay(one("GA", "CDG", "ORN"), "2026-12-01T13:00:00Z", None)).amount, 400);
}

/// Art. 7(1)(b)/(c): other flights of 1,500 to 3,500 km are 400 EUR, all others 600 EUR. Sofia –
/// Dubai 3,494.6 km; Helsinki – Tangier 3,506.6 km. An intra-Community flight over 3,500 km stays
/// 400 (Dubrovnik – Keflavík 3,508.9 km; Paris – Réunion).
#[test]
fn art_7_1_either_side_of_3500_km() {
    let arrive = "2026-12-01T15:00:00Z"; // 5 h late: not halved in any band
    assert_eq!(ok(&delay(one("GA", "SOF", "DXB"), arrive, None)).amount, 400);
    assert_eq!(ok(&delay(one("GA", "HEL", "TNG"), arrive, None)).amount, 600);
    assert_eq!(ok(&delay(one("GA", "DBV", "KEF"), arrive, None)).amount, 400);
    assert_eq!(ok(&delay(one("AF", "CDG", "RUN"), arrive, None)).amount, 400);
}

// ------------------------------------------------------------------ Sturgeon: delay at arrival

/// CJEU C-402/07 Sturgeon, C-581/10 Nelson: three hours or more at the final destination gives
/// compensation; C-452/13 Germanwings v Henning: arrival is when a door opens. Exactly 3h00 is
/// three hours; 2h59 and 2h59m59s are not.
#[test]
fn sturgeon_three_hours_exactly_at_door_opening() {
    let a = ok(&delay(one("GA", "DUB", "CDG"), "2026-12-01T13:00:00Z", Some(Cause::Technical)));
    assert_eq!((a.eligible, a.amount, a.arrival_delay_minutes), (true, 250, Some(180)));
    assert!(cites(&a, Citation::Sturgeon) && cites(&a, Citation::Henning));
    let a = ok(&delay(one("GA", "DUB", "CDG"), "2026-12-01T12:59:00Z", Some(Cause::Technical)));
    assert_eq!((a.eligible, a.amount), (false, 0));
    assert!(has(&a, "arrival_delay_under_3h"));
    let a = ok(&delay(one("GA", "DUB", "CDG"), "2026-12-01T12:59:59Z", Some(Cause::Technical)));
    assert!(!a.eligible, "2h59m59s is under three hours");
    // the same instant written in another offset is the same arrival
    let a = ok(&delay(one("GA", "DUB", "CDG"), "2026-12-01T14:00:00+01:00", Some(Cause::Technical)));
    assert!(a.eligible);
}

/// Art. 7(2)(c) read with Sturgeon: a flight over 3,500 km reaching its destination three to four
/// hours late is compensated at 50 %: "does not exceed ... by four hours" includes exactly 4h00.
#[test]
fn art_7_2_c_long_haul_delay_halved_up_to_four_hours() {
    let legs = || one("LH", "FRA", "JFK");
    assert_eq!(ok(&delay(legs(), "2026-12-01T13:00:00Z", None)).amount, 300);
    assert_eq!(ok(&delay(legs(), "2026-12-01T14:00:00Z", None)).amount, 300);
    let a = ok(&delay(legs(), "2026-12-01T14:01:00Z", None));
    assert_eq!(a.amount, 600);
    assert!(has(&a, "not_halved"));
    // band B is not halved for a delay (Art. 7(2)(b) reaches re-routing only)
    assert_eq!(ok(&delay(one("GA", "DUB", "ATH"), "2026-12-01T13:00:00Z", None)).amount, 400);
}

/// UK261 Art. 7 keeps Art. 7(2) and the CAA applies Sturgeon: a long-haul delay of 3-4 h is
/// halved under UK261 too (520 -> 260 GBP).
#[test]
fn uk261_halves_long_haul_delays_too() {
    let a = ok(&delay(one("BA", "LHR", "JFK"), "2026-12-01T13:30:00Z", None));
    assert_eq!((a.regime, a.amount, a.currency), (Some(Regime::Uk261), 260, Some("GBP")));
    assert!(has(&a, "halved_long_haul_delay") && cites(&a, Citation::Uk7_1));
    let a = ok(&delay(one("BA", "LHR", "JFK"), "2026-12-01T14:30:00Z", None));
    assert_eq!(a.amount, 520);
    // UK261 amounts by band: 220 / 350 / 520
    assert_eq!(ok(&delay(one("BA", "LHR", "CDG"), "2026-12-01T13:00:00Z", None)).amount, 220);
    assert_eq!(ok(&delay(one("BA", "LHR", "ATH"), "2026-12-01T13:00:00Z", None)).amount, 350);
    // and Art. 7(2)(a) on re-routing: cancelled on the day, re-routed leaving 1h30 earlier (so not
    // within Art. 5(1)(c)(iii)) and arriving 1h45 late (within 2 h): 220 halved to 110 GBP
    let a = ok(&cancel(
        one("BA", "LHR", "CDG"),
        "2026-12-01T06:00:00Z",
        Some(("2026-12-01T06:30:00Z", "2026-12-01T11:45:00Z")),
        None,
    ));
    assert_eq!((a.regime, a.amount), (Some(Regime::Uk261), 110));
}

// ------------------------------------------------------------------ Art. 5(1)(c): notice windows

/// Art. 5(1)(c)(i): informed "at least two weeks before": exactly 14 days is enough; one minute
/// less falls under (ii), and without re-routing compensation is due.
#[test]
fn art_5_1_c_i_exactly_14_days() {
    let a = ok(&cancel(one("GA", "DUB", "CDG"), "2026-11-17T08:00:00Z", None, None));
    assert_eq!((a.eligible, a.amount), (false, 0));
    assert!(has(&a, "notice_14_days") && cites(&a, Citation::Art5_1cI));
    let a = ok(&cancel(one("GA", "DUB", "CDG"), "2026-11-17T08:01:00Z", None, None));
    assert_eq!((a.eligible, a.amount), (true, 250));
    assert!(has(&a, "notice_7_to_14_days"));
}

/// Art. 5(1)(c)(ii): "between two weeks and seven days" includes exactly seven days; the
/// re-routing must depart "no more than two hours before" (exactly 2 h qualifies) and arrive
/// "less than four hours after" (exactly 4 h does not).
#[test]
fn art_5_1_c_ii_exactly_seven_days_and_reroute_limits() {
    let notified = "2026-11-24T08:00:00Z";
    let a =
        ok(&cancel(one("GA", "DUB", "CDG"), notified, Some(("2026-12-01T06:00:00Z", "2026-12-01T13:59:00Z")), None));
    assert_eq!((a.eligible, a.amount), (false, 0), "2h earlier, 3h59 later qualifies");
    assert!(has(&a, "notice_7_to_14_days"));
    let a =
        ok(&cancel(one("GA", "DUB", "CDG"), notified, Some(("2026-12-01T06:00:00Z", "2026-12-01T14:00:00Z")), None));
    assert_eq!((a.eligible, a.amount), (true, 250), "exactly 4h later does not qualify");
    let a =
        ok(&cancel(one("GA", "DUB", "CDG"), notified, Some(("2026-12-01T05:59:00Z", "2026-12-01T08:00:00Z")), None));
    assert!(a.eligible, "2h01 earlier does not qualify");
}

/// Art. 5(1)(c)(iii): under seven days the re-routing must leave no more than 1 h earlier and
/// arrive less than 2 h later. Exactly 2 h later does not qualify, so compensation is due, but
/// Art. 7(2)(a) halves it (arrival "does not exceed ... by two hours").
#[test]
fn art_5_1_c_iii_under_seven_days_and_reroute_limits() {
    let notified = "2026-11-24T08:01:00Z"; // 6 days 23h59 before
    let a =
        ok(&cancel(one("GA", "DUB", "CDG"), notified, Some(("2026-12-01T07:00:00Z", "2026-12-01T11:59:00Z")), None));
    assert_eq!((a.eligible, a.amount), (false, 0), "1h earlier, 1h59 later qualifies");
    assert!(has(&a, "notice_under_7_days"));
    let a =
        ok(&cancel(one("GA", "DUB", "CDG"), notified, Some(("2026-12-01T07:00:00Z", "2026-12-01T12:00:00Z")), None));
    assert_eq!((a.eligible, a.amount), (true, 125), "exactly 2h later: due, halved by Art. 7(2)(a)");
    assert!(has(&a, "halved_reroute") && cites(&a, Citation::Art7_2));
    let a =
        ok(&cancel(one("GA", "DUB", "CDG"), notified, Some(("2026-12-01T06:59:00Z", "2026-12-01T09:00:00Z")), None));
    assert_eq!((a.eligible, a.amount), (true, 125), "1h01 earlier does not qualify; arrives early: halved");
    let a =
        ok(&cancel(one("GA", "DUB", "CDG"), notified, Some(("2026-12-01T10:00:00Z", "2026-12-01T12:01:00Z")), None));
    assert_eq!(a.amount, 250, "2h01 late: not halved");
}

/// Art. 7(2)(b): band B re-routing within 3 h halves (400 -> 200); Art. 5(3): extraordinary
/// circumstances exempt a cancellation.
#[test]
fn art_7_2_b_and_art_5_3_on_cancellation() {
    let a = ok(&cancel(
        one("GA", "DUB", "ATH"),
        "2026-11-28T08:00:00Z",
        Some(("2026-12-01T10:00:00Z", "2026-12-01T13:00:00Z")),
        None,
    ));
    assert_eq!(a.amount, 200);
    let a = ok(&cancel(one("GA", "DUB", "CDG"), "2026-12-01T06:00:00Z", None, Some(Cause::Weather)));
    assert_eq!((a.eligible, a.amount), (false, 0));
    assert!(has(&a, "exempt"));
}

// ------------------------------------------------------------------ Art. 4, Art. 2(j)

/// Art. 4(3): denied boarding against one's will is compensated; CJEU C-22/11 Finnair:
/// extraordinary circumstances are no defence; Art. 7(2): re-routed within 2 h, halved.
#[test]
fn art_4_3_denied_boarding() {
    let a = ok(&denied(one("GA", "DUB", "CDG"), false, None, None));
    assert_eq!((a.eligible, a.amount), (true, 250));
    assert!(a.care.meals && a.care.communication && a.refund_or_reroute_choice.refund);
    let a = ok(&denied(one("GA", "DUB", "CDG"), false, None, Some(Cause::Weather)));
    assert_eq!(a.amount, 250);
    assert!(has(&a, "no_exemption_denied_boarding") && cites(&a, Citation::Finnair));
    let a = ok(&denied(one("GA", "DUB", "CDG"), false, Some(("2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z")), None));
    assert_eq!(a.amount, 125);
}

/// Art. 4(1): volunteers get the agreed benefits and Art. 8 assistance, no Art. 7 compensation
/// and no Art. 9 care.
#[test]
fn art_4_1_volunteers() {
    let a = ok(&denied(one("GA", "DUB", "CDG"), true, None, None));
    assert_eq!((a.eligible, a.amount), (false, 0));
    assert!(a.refund_or_reroute && a.refund_or_reroute_choice.reroute_earliest);
    assert_eq!(a.care, Care::default());
}

/// Art. 2(j): refusal on reasonable grounds (health, safety, security, inadequate travel
/// documents) is not denied boarding: nothing under the Regulation.
#[test]
fn art_2_j_lawful_refusal() {
    for ground in [
        RefusalGround::Health,
        RefusalGround::Safety,
        RefusalGround::Security,
        RefusalGround::InadequateTravelDocuments,
    ] {
        let mut r = denied(one("GA", "DUB", "CDG"), false, None, None);
        r.disruption.refusal_ground = Some(ground);
        let a = ok(&r);
        assert_eq!((a.eligible, a.amount, a.refund_or_reroute), (false, 0, false), "{ground:?}");
        assert_eq!(a.care, Care::default());
        assert!(has(&a, "lawful_refusal") && cites(&a, Citation::Art2j));
    }
}

// ------------------------------------------------------------------ Art. 5(3): causes

/// Each cause against the ruling or recital that decides it. A delay of 5 h on DUB-CDG: 250 EUR
/// unless exempt.
#[test]
fn art_5_3_causes_as_the_court_decided_them() {
    use Cause::*;
    let cases: &[(Cause, Option<bool>, bool, Citation)] = &[
        (Technical, None, false, Citation::VanDerLans),
        (HiddenManufacturingDefect, None, true, Citation::WallentinHermann),
        (CrewShortage, None, false, Citation::WallentinHermann),
        (OwnStaffStrike, None, false, Citation::AirhelpVSas),
        (WildcatStrike, None, false, Citation::Krusemann),
        (AtcStrike, None, true, Citation::Recital14),
        (AirportStrike, None, true, Citation::Recital14),
        (Weather, None, true, Citation::Recital14),
        (Atc, None, true, Citation::Recital15),
        (Security, None, true, Citation::Recital14),
        (PoliticalInstability, None, true, Citation::Recital14),
        (MedicalEmergency, None, true, Citation::Art5_3),
        // Moens: fuel on the runway, and no reasonable measure could have avoided it
        (RunwayFuelSpill, None, true, Citation::Moens),
        // SATA: general failure of the airport's fuel supply
        (AirportFuelSystemFailure, None, true, Citation::Sata),
        // LE v TAP: an unruly passenger forcing a diversion
        (UnrulyPassenger, None, true, Citation::LeVTap),
        // Siewert: the airport's boarding stairs hitting the aircraft
        (BoardingStairsCollision, None, false, Citation::Siewert),
        // Pešková: a bird strike, but the carrier must show reasonable measures
        (BirdStrike, None, false, Citation::Peskova),
        (BirdStrike, Some(true), true, Citation::Peskova),
        // Germanwings v Pauels: a screw on the runway damaging a tyre, likewise
        (ForeignObjectTyreDamage, None, false, Citation::Pauels),
        (ForeignObjectTyreDamage, Some(true), true, Citation::Pauels),
        // Art. 5(3): shown not to have taken reasonable measures, even weather does not exempt
        (Weather, Some(false), false, Citation::Art5_3),
    ];
    for &(cause, measures, exempt, citation) in cases {
        let mut r = delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", Some(cause));
        r.disruption.reasonable_measures = measures;
        let a = ok(&r);
        assert_eq!(a.eligible, !exempt, "{cause:?} {measures:?}: {:#?}", a.reasons);
        assert_eq!(a.amount, if exempt { 0 } else { 250 }, "{cause:?}");
        assert!(cites(&a, citation), "{cause:?} cites {citation:?}");
    }
    // no cause given: the carrier has not proved anything (Art. 5(3))
    let a = ok(&delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", None));
    assert!(a.eligible && has(&a, "cause_not_proven"));
}

/// CJEU C-74/19 LE v TAP: a carrier may rely on an extraordinary circumstance that struck an
/// earlier flight of the same aircraft, if it shows the reasonable measures it took.
#[test]
fn knock_on_effects_need_reasonable_measures() {
    let mut r = delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", Some(Cause::UnrulyPassenger));
    r.disruption.knock_on = true;
    let a = ok(&r);
    assert!(a.eligible && has(&a, "knock_on") && has(&a, "reasonable_measures_not_shown"));
    r.disruption.reasonable_measures = Some(true);
    let a = ok(&r);
    assert!(!a.eligible && cites(&a, Citation::LeVTap));
    // a knock-on of an ordinary cause stays ordinary
    let mut r = delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", Some(Cause::Technical));
    r.disruption.knock_on = true;
    r.disruption.reasonable_measures = Some(true);
    assert!(ok(&r).eligible);
}

/// Every cause has an authority, and its name round-trips.
#[test]
fn every_cause_has_an_authority() {
    for c in Cause::ALL {
        assert!(!c.nature().1.is_empty(), "{c:?}");
        let v = serde_json::to_value(c).unwrap();
        assert_eq!(serde_json::from_value::<Cause>(v).unwrap(), *c);
    }
}

// ------------------------------------------------------------------ scope, Art. 3(1) of both

/// EU261 Art. 3(1)(a) / (b) and UK261 Art. 3(1)(a) / (b)(i) / (b)(ii), one case each, and the
/// overlaps: the departure regime applies; the other is reported, not paid on top.
#[test]
fn art_3_1_scope_of_both_regulations() {
    let late = "2026-12-01T15:00:00Z";
    type Row = (&'static str, &'static str, &'static str, Option<Regime>, Option<Regime>, Citation);
    let rows: &[Row] = &[
        // EU departure, any carrier
        ("EK", "DUB", "DXB", Some(Regime::Eu261), None, Citation::Art3_1a),
        // third country to the EU on a Community carrier
        ("GA", "JFK", "DUB", Some(Regime::Eu261), None, Citation::Art3_1b),
        // third country to the EU on a non-Community, non-UK carrier
        ("EK", "DXB", "DUB", None, None, Citation::Art3_1b),
        // UK departure, any carrier
        ("UA", "LHR", "JFK", Some(Regime::Uk261), None, Citation::Uk3_1a),
        // into the UK on a UK carrier, and on a Community carrier
        ("BA", "JFK", "LHR", Some(Regime::Uk261), None, Citation::Uk3_1bI),
        ("AF", "JFK", "LHR", Some(Regime::Uk261), None, Citation::Uk3_1bI),
        // into the UK on another carrier
        ("UA", "JFK", "LHR", None, None, Citation::Uk3_1bI),
        // UK261 (b)(ii): from a third country to the EU on a UK carrier
        ("BA", "JFK", "DUB", Some(Regime::Uk261), None, Citation::Uk3_1bIi),
        // ... "a country other than the UK" includes the EU: both apply, EU261 by departure
        ("BA", "DUB", "FRA", Some(Regime::Eu261), Some(Regime::Uk261), Citation::Uk3_1bIi),
        // EU -> UK on an EU carrier: EU261 by departure, UK261 (b)(i) also
        ("AF", "CDG", "LHR", Some(Regime::Eu261), Some(Regime::Uk261), Citation::Uk3_1bI),
        // UK -> EU on an EU carrier: UK261 by departure, EU261 (b) also (the UK is a third country)
        ("AF", "LHR", "CDG", Some(Regime::Uk261), Some(Regime::Eu261), Citation::Art3_1b),
        // UK -> EU on a UK carrier: UK261 only (EU261 (b) needs a Community carrier)
        ("BA", "LHR", "CDG", Some(Regime::Uk261), None, Citation::Uk3_1a),
        // UK261's "Community carrier" and "Member State" are the EU's alone (UK261 Art. 2(c)):
        // a Swiss or a Norwegian carrier into the UK, or a UK carrier into Norway, is in neither
        ("LX", "JFK", "LHR", None, None, Citation::Uk3_1bI),
        ("DY", "JFK", "LHR", None, None, Citation::Uk3_1bI),
        ("BA", "JFK", "OSL", None, None, Citation::Uk3_1bIi),
        // while for EU261 a Norwegian carrier is a Community carrier (EEA Agreement)
        ("DY", "JFK", "OSL", Some(Regime::Eu261), None, Citation::Art3_1b),
        // outermost regions, EEA, Switzerland depart within EU261
        ("UX", "LPA", "MAD", Some(Regime::Eu261), None, Citation::Art3_1a),
        ("DY", "OSL", "BKK", Some(Regime::Eu261), None, Citation::Art3_1a),
        ("LX", "GVA", "JFK", Some(Regime::Eu261), None, Citation::Art3_1a),
    ];
    for &(carrier, o, d, regime, also, citation) in rows {
        let a = ok(&delay(one(carrier, o, d), late, None));
        assert_eq!((a.regime, a.also_in_scope), (regime, also), "{carrier} {o}-{d}: {:#?}", a.reasons);
        assert!(cites(&a, citation), "{carrier} {o}-{d} cites {citation:?}: {:#?}", a.reasons);
        if a.also_in_scope.is_some() {
            assert!(has(&a, "regime_overlap"));
        }
        if a.regime.is_none() {
            assert_eq!((a.eligible, a.amount), (false, 0));
        }
    }
}

/// Art. 3(1)(b) of both: benefits or compensation and assistance received in the third country
/// of departure exclude the Regulation; they do not affect a departure from the territory.
#[test]
fn art_3_1_b_third_country_benefits() {
    let mut r = delay(one("GA", "JFK", "DUB"), "2026-12-01T15:00:00Z", None);
    r.disruption.third_country_benefits = true;
    let a = ok(&r);
    assert_eq!((a.regime, a.amount), (None, 0));
    assert!(has(&a, "third_country_benefits"));
    // UK -> EU on an EU carrier: UK261 applies by departure either way; EU261 drops out
    let mut r = delay(one("AF", "LHR", "CDG"), "2026-12-01T15:00:00Z", None);
    r.disruption.third_country_benefits = true;
    let a = ok(&r);
    assert_eq!((a.regime, a.also_in_scope, a.amount), (Some(Regime::Uk261), None, 220));
}

// ------------------------------------------------------------------ connections

/// CJEU C-11/11 Folkerts: connecting flights are judged by the delay at the final destination;
/// C-559/16 Bossen: distance first origin to final destination, great circle.
#[test]
fn connections_judged_at_final_destination() {
    let legs = vec![
        leg("GA123", "GA", "DUB", "FRA", "2026-12-01T06:00:00Z", "2026-12-01T08:00:00Z"),
        leg("GA456", "GA", "FRA", "ATH", "2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z"),
    ];
    let a = ok(&delay(legs, "2026-12-01T15:40:00Z", Some(Cause::Technical)));
    assert!((2_870..2_880).contains(&a.distance_km), "DUB-ATH great circle: {}", a.distance_km);
    assert_eq!((a.eligible, a.amount, a.arrival_delay_minutes), (true, 400, Some(220)));
    assert!(cites(&a, Citation::Folkerts) && cites(&a, Citation::Bossen));
}

/// CJEU C-537/17 Wegener and C-502/18 České aerolinie: a journey booked as one from the EU is
/// covered on a leg between two third countries, even operated by a non-Community carrier.
#[test]
fn legs_outside_the_eu_on_a_non_eu_carrier() {
    let legs = vec![
        leg("LH630", "LH", "FRA", "DXB", "2026-12-01T08:00:00Z", "2026-12-01T14:00:00Z"),
        leg("EK384", "EK", "DXB", "BKK", "2026-12-01T16:00:00Z", "2026-12-02T01:00:00Z"),
    ];
    let mut r = delay(legs, "2026-12-02T09:08:00Z", Some(Cause::Technical));
    r.disruption.leg = 1;
    let a = ok(&r);
    assert_eq!((a.regime, a.amount), (Some(Regime::Eu261), 600));
    assert!(has(&a, "leg_outside_territory") && cites(&a, Citation::CeskeAerolinie) && cites(&a, Citation::Wegener));
}

/// CJEU C-826/19 Austrian Airlines: a diversion is judged like a delay at the final destination.
#[test]
fn diversion_is_judged_at_the_final_destination() {
    let mut r = delay(one("GA", "DUB", "CDG"), "2026-12-01T13:10:00Z", None);
    r.disruption.kind = DisruptionType::Diversion;
    let a = ok(&r);
    assert_eq!(a.amount, 250);
    assert!(cites(&a, Citation::AustrianAirlines));
}

// ------------------------------------------------------------------ Art. 6, 8, 9: care and refunds

/// Art. 6(1): care from a departure delay of 2 h (up to 1,500 km), 3 h (1,500-3,500 km), 4 h
/// (others), exactly at the limit included ("for two hours or more"); two communications (Art.
/// 9(2)); refund from 5 h (Art. 6(1)(iii), Art. 8(1)(a)).
#[test]
fn art_6_1_care_thresholds_by_band() {
    let rows: &[(&str, &str, i64)] = &[("DUB", "CDG", 120), ("DUB", "ATH", 180), ("FRA", "JFK", 240)];
    for &(o, d, limit) in rows {
        for (minutes, owed) in [(limit, true), (limit - 1, false)] {
            let mut r = delay(one("GA", o, d), "2026-12-01T18:00:00Z", None);
            r.disruption.actual_departure = Some(t("2026-12-01T08:00:00Z") + Duration::minutes(minutes));
            let a = ok(&r);
            assert_eq!(a.care.meals, owed, "{o}-{d} {minutes} min");
            assert_eq!(a.care.communications, if owed { 2 } else { 0 });
            assert_eq!(a.care.threshold_minutes, Some(limit));
            assert!(!a.refund_or_reroute, "under 5 h no refund");
        }
    }
    let mut r = delay(one("GA", "DUB", "CDG"), "2026-12-01T18:00:00Z", None);
    r.disruption.actual_departure = Some(t("2026-12-01T13:00:00Z"));
    let a = ok(&r);
    assert!(a.refund_or_reroute_choice.refund && a.refund_or_reroute_choice.return_flight);
    assert_eq!(a.refund_or_reroute_choice.refund_within_days, Some(7));
    assert!(!a.refund_or_reroute_choice.reroute_earliest, "a delay owes the refund of Art. 8(1)(a) only");
    r.disruption.actual_departure = Some(t("2026-12-01T12:59:00Z"));
    assert!(!ok(&r).refund_or_reroute);
}

/// Art. 6(1)(ii): hotel and transfer (Art. 9(1)(b), (c)) when the departure moves to the next
/// day; CJEU C-12/11 McDonagh: care is owed even in extraordinary circumstances.
#[test]
fn hotel_overnight_and_care_despite_extraordinary_circumstances() {
    let legs = vec![leg("LH400", "LH", "FRA", "JFK", "2026-12-01T21:00:00+01:00", "2026-12-02T00:00:00-05:00")];
    let mut r = delay(legs, "2026-12-02T05:00:00-05:00", Some(Cause::Weather));
    r.disruption.actual_departure = Some(t("2026-12-02T02:00:00+01:00"));
    let a = ok(&r);
    assert!(!a.eligible && has(&a, "exempt"), "weather exempts compensation");
    assert!(a.care.meals && a.care.hotel && a.care.transfer && a.care.communication);
    assert!(cites(&a, Citation::McDonagh));
    assert!(a.refund_or_reroute, "5 h late: refund");
}

/// Art. 5(1)(a)-(b), 8, 9: every cancellation offers the full Art. 8 choice (refund within seven
/// days, re-routing now or later) and care; a hotel when the re-routing leaves the next day.
#[test]
fn cancellation_owes_the_art_8_choice_and_care() {
    let a = ok(&cancel(
        one("GA", "DUB", "CDG"),
        "2026-12-01T06:00:00Z",
        Some(("2026-12-01T12:00:00Z", "2026-12-01T14:00:00Z")),
        Some(Cause::Weather),
    ));
    let c = &a.refund_or_reroute_choice;
    assert!(c.refund && c.reroute_earliest && c.reroute_later && c.refund_within_days == Some(7));
    assert!(a.care.meals && a.care.communication && !a.care.hotel);
    assert!(cites(&a, Citation::Art8_1) && cites(&a, Citation::Art9) && cites(&a, Citation::McDonagh));
    let a = ok(&cancel(
        one("GA", "DUB", "CDG"),
        "2026-12-01T06:00:00Z",
        Some(("2026-12-02T08:00:00Z", "2026-12-02T10:00:00Z")),
        None,
    ));
    assert!(a.care.hotel && a.care.transfer);
}

// ------------------------------------------------------------------ Art. 10(2): downgrading

/// Art. 10(2) with CJEU C-255/15 Mennens: 30 / 50 / 75 % of the price of the downgraded flight,
/// by the flight's distance; 75 % between the European territory and a French overseas
/// department even though intra-Community.
#[test]
fn art_10_2_downgrading() {
    let rows: &[(&str, &str, u8)] = &[
        ("DUB", "CDG", 30),
        ("DUB", "KEF", 30),
        ("BCN", "BER", 50),
        ("DUB", "ATH", 50),
        ("DBV", "KEF", 50),
        ("SOF", "DXB", 50),
        ("HEL", "TNG", 75),
        ("FRA", "JFK", 75),
        ("CDG", "RUN", 75),
    ];
    for &(o, d, percent) in rows {
        let mut r = req(one("GA", o, d), DisruptionType::Downgrading);
        r.disruption.ticket_price = Some(Price { amount: 200.0, currency: "EUR".into() });
        let a = ok(&r);
        let g = a.downgrade.as_ref().expect("a downgrade refund");
        assert_eq!((g.percent, g.amount, g.within_days), (percent, Some(2.0 * f64::from(percent)), 7), "{o}-{d}");
        assert_eq!((a.eligible, a.amount), (false, 0), "Art. 7 does not apply to downgrading");
        assert!(cites(&a, Citation::Art10_2) && cites(&a, Citation::Mennens));
    }
}

// ------------------------------------------------------------------ bad input

#[test]
fn bad_requests_are_refused_with_a_stable_code_and_place() {
    let e = assess(&delay(one("GA", "dub", "CDG"), "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("validation_failed", "/journey/legs/0/origin"));
    let e = assess(&delay(one("GA", "DUB", "ZZZ"), "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("unknown_airport", "/journey/legs/0/destination"));
    let e = assess(&delay(one("Q9", "DUB", "CDG"), "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("unknown_carrier", "/journey/legs/0/operating_carrier"));
    let legs = vec![
        leg("GA1", "GA", "DUB", "FRA", "2026-12-01T06:00:00Z", "2026-12-01T08:00:00Z"),
        leg("GA2", "GA", "CDG", "ATH", "2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z"),
    ];
    let e = assess(&delay(legs, "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("legs_not_connected", "/journey/legs/1/origin"));
    let legs = vec![
        leg("GA1", "GA", "DUB", "FRA", "2026-12-01T06:00:00Z", "2026-12-01T08:00:00Z"),
        leg("GA2", "GA", "FRA", "ATH", "2026-12-01T07:00:00Z", "2026-12-01T12:00:00Z"),
    ];
    let e = assess(&delay(legs, "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("legs_not_connected", "/journey/legs/1/scheduled_departure"));
    let legs = vec![leg("GA1", "GA", "DUB", "FRA", "2026-12-01T08:00:00Z", "2026-12-01T07:00:00Z")];
    let e = assess(&delay(legs, "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("arrival_before_departure", "/journey/legs/0/scheduled_arrival"));
    let e = assess(&delay(one("GA", "DUB", "CDG"), "2026-12-01T07:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("arrival_before_departure", "/disruption/actual_arrival"));
    let mut r = delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", None);
    r.disruption.leg = 3;
    let e = assess(&r).unwrap_err();
    assert_eq!((e.code(), e.path()), ("unknown_leg", "/disruption/leg"));
    r.disruption.leg = 0;
    r.disruption.actual_arrival = None;
    let e = assess(&r).unwrap_err();
    assert_eq!((e.code(), e.path()), ("missing_input", "/disruption/actual_arrival"));
    let e = assess(&cancel(
        one("GA", "DUB", "CDG"),
        "2026-11-01T00:00:00Z",
        Some(("2026-12-01T12:00:00Z", "2026-12-01T11:00:00Z")),
        None,
    ))
    .unwrap_err();
    assert_eq!(e.code(), "arrival_before_departure");
    assert!(AssessError::CODES.contains(&e.code()));
    // an unknown cause is not guessed: the request does not parse
    let body = json!({
        "journey": {"legs": [{"flight": "GA1", "operating_carrier": "GA", "origin": "DUB", "destination": "CDG",
            "scheduled_departure": "2026-12-01T08:00:00Z", "scheduled_arrival": "2026-12-01T10:00:00Z"}]},
        "disruption": {"type": "delay", "leg": 0, "cause": "volcanic_ash_maybe", "actual_arrival": "2026-12-01T15:00:00Z"}
    });
    let err = serde_json::from_value::<AssessmentRequest>(body).unwrap_err().to_string();
    assert!(err.contains("unknown variant `volcanic_ash_maybe`"), "{err}");
}

// ------------------------------------------------------------------ citations hold

/// Every citation the engine can emit is a [`Citation`], and every one of them is a row of the
/// table in docs/compensation.md, worded as in the code.
#[test]
fn every_citation_is_in_the_docs_table() {
    let doc = include_str!("../../../../docs/compensation.md");
    let mut seen = std::collections::HashSet::new();
    for c in Citation::ALL {
        assert!(seen.insert(c), "{c:?} twice in Citation::ALL");
        let row = format!("| {} | {} |", c.label(), c.decided());
        assert!(doc.contains(&row), "docs/compensation.md lacks the row\n{row}");
    }
    assert!(doc.contains(&citations::table()), "the citations table in docs/compensation.md is not the generated one");
}

/// What the tests above make the engine say only cites authorities of the table.
#[test]
fn emitted_citations_are_all_listed() {
    let mut r = delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", Some(Cause::UnrulyPassenger));
    r.disruption.knock_on = true;
    for a in [
        ok(&r),
        ok(&cancel(one("AF", "LHR", "CDG"), "2026-12-01T06:00:00Z", None, Some(Cause::AtcStrike))),
        ok(&denied(one("BA", "JFK", "DUB"), false, None, Some(Cause::Weather))),
    ] {
        for c in a.citations() {
            assert!(Citation::ALL.contains(&c), "{c:?}");
        }
        for reason in &a.reasons {
            assert!(!reason.citations.is_empty() && !reason.text.is_empty(), "{reason:?}");
            assert_eq!(reason.reference, reason.citations.iter().map(|c| c.label()).collect::<Vec<_>>().join("; "));
        }
    }
}

// ------------------------------------------------------------------ reference data

/// Coordinates of well-known airports against their published aerodrome reference points (AIP),
/// within 3 km (reference point vs. the source's point), and Brussels no longer 40 km off.
#[test]
fn well_known_airports_are_where_they_are() {
    let known: &[(&str, f64, f64)] = &[
        ("BRU", 50.901389, 4.484444),
        ("DUB", 53.421389, -6.27),
        ("LHR", 51.4775, -0.461389),
        ("CDG", 49.009722, 2.547778),
        ("AMS", 52.308056, 4.764167),
        ("FRA", 50.033333, 8.570556),
        ("MAD", 40.472222, -3.560833),
        ("FCO", 41.800278, 12.238889),
        ("ATH", 37.936389, 23.944444),
        ("JFK", 40.639722, -73.778889),
        ("LUX", 49.623333, 6.204444),
    ];
    for &(code, lat, lon) in known {
        let a = airport(code).unwrap();
        let probe = reference::Airport { lat, lon, ..a.clone() };
        let off = great_circle_km(a, &probe);
        assert!(off < 3.0, "{code} is {off:.1} km from its reference point");
    }
    let bru = airport("BRU").unwrap();
    assert!((bru.lat - 50.901).abs() < 0.01 && (bru.lon - 4.484).abs() < 0.01, "{bru:?}");
    assert_eq!(bru.check, "corrected_dms");
}

/// Great-circle distances of city pairs, computed from the published reference points above
/// (haversine, R = 6,371 km, Art. 7(4)), within 1 km.
#[test]
fn city_pair_distances_within_1_km() {
    let pairs: &[(&str, &str, f64)] = &[
        ("LHR", "JFK", 5539.4),
        ("CDG", "JFK", 5833.6),
        ("DUB", "ATH", 2875.7),
        ("BRU", "ATH", 2101.4),
        ("AMS", "FCO", 1296.8),
        ("DUB", "FCO", 1885.6),
        // as the Court states them in C-559/16 Bossen: Rome - Hamburg 1,326 km, Rome - Brussels
        // 1,173 km (its Brussels - Hamburg 483 km is 481.8 here: the judgment does not give its
        // reference points, so that one is not held to 1 km)
        ("FCO", "HAM", 1326.0),
        ("FCO", "BRU", 1173.0),
    ];
    for &(a, b, km) in pairs {
        let d = great_circle_km(airport(a).unwrap(), airport(b).unwrap());
        assert!((d - km).abs() < 1.0, "{a}-{b}: {d:.1} km, expected {km}");
    }
}

/// The tables load whole: every airport row parses, codes are unique, and every carrier's
/// licence state is consistent with its licensing country.
#[test]
fn reference_tables_are_whole_and_consistent() {
    let rows = include_str!("../../../data/airports.csv").lines().count() - 1;
    assert_eq!(reference::airports().len(), rows, "every airport row parses");
    for a in reference::airports().values() {
        assert!(["agrees", "corrected_dms", "replaced", "disputed", "unchecked"].contains(&a.check.as_str()), "{a:?}");
    }
    let rows = include_str!("../../../data/carriers.csv").lines().count() - 1;
    assert_eq!(carriers().len(), rows, "every carrier row parses, codes unique");
    for c in carriers().values() {
        match c.licence {
            Licence::Eu => assert!(reference::in_eu261_territory(&c.licence_country), "{c:?}"),
            Licence::Uk => assert_eq!(c.licence_country, "GB", "{c:?}"),
            Licence::Other => {
                assert!(!reference::in_eu261_territory(&c.licence_country) && c.licence_country != "GB", "{c:?}")
            }
        }
    }
    assert_eq!(carrier("GA").map(|c| c.licence), Some(Licence::Eu));
    assert_eq!(carrier("BA").map(|c| c.licence), Some(Licence::Uk));
    assert_eq!(carrier("EK").map(|c| c.licence), Some(Licence::Other));
}

/// Prints the assessments of the OpenAPI examples (`cargo test -p cmp-core openapi_examples --
/// --ignored --nocapture`), to paste into docs/openapi.yaml when the answer's shape changes.
#[test]
#[ignore]
fn openapi_examples() {
    let requests = [
        json!({"journey": {"legs": [
            {"flight": "GA123", "operating_carrier": "GA", "origin": "DUB", "destination": "FRA",
             "scheduled_departure": "2026-11-20T07:00:00+00:00", "scheduled_arrival": "2026-11-20T10:45:00+01:00"},
            {"flight": "GA456", "operating_carrier": "GA", "origin": "FRA", "destination": "ATH",
             "scheduled_departure": "2026-11-20T12:10:00+01:00", "scheduled_arrival": "2026-11-20T16:25:00+02:00"}]},
          "disruption": {"type": "cancellation", "leg": 1, "cause": "technical", "notified_at": "2026-11-17T11:10:00Z",
            "reroute": {"departure": "2026-11-20T17:05:00+01:00", "arrival": "2026-11-20T21:25:00+02:00"}}}),
        json!({"journey": {"legs": [
            {"flight": "BA1436", "operating_carrier": "BA", "origin": "LHR", "destination": "EDI",
             "scheduled_departure": "2026-11-21T18:20:00Z", "scheduled_arrival": "2026-11-21T19:45:00Z"}]},
          "disruption": {"type": "delay", "leg": 0, "cause": "weather", "actual_arrival": "2026-11-21T23:15:00Z"}}),
        json!({"journey": {"legs": [
            {"flight": "EK163", "operating_carrier": "EK", "origin": "DXB", "destination": "DUB",
             "scheduled_departure": "2026-11-22T03:15:00+04:00", "scheduled_arrival": "2026-11-22T07:35:00+00:00"}]},
          "disruption": {"type": "delay", "leg": 0, "actual_arrival": "2026-11-22T11:35:00+00:00"}}),
    ];
    for r in requests {
        // serialised from the struct, so the fields keep their order
        println!("\nOPENAPI_EXAMPLE {}", serde_json::to_string(&ok(&serde_json::from_value(r).unwrap())).unwrap());
    }
}

/// The sample requests in events/ assess as their README says.
#[test]
fn sample_requests_assess_as_documented() {
    let parse = |text: &str| -> AssessmentRequest { serde_json::from_str(text).unwrap() };
    let a = ok(&parse(include_str!("../../../../events/compensation-assessment.json")));
    assert_eq!((a.regime, a.amount, a.refund_or_reroute, a.care.meals), (Some(Regime::Eu261), 400, true, true));
    let a = ok(&parse(include_str!("../../../../events/compensation-assessments/downgrading.json")));
    let g = a.downgrade.expect("a reimbursement");
    assert_eq!((g.percent, g.amount, g.within_days), (75, Some(900.0), 7));
    let a = ok(&parse(include_str!("../../../../events/compensation-assessments/uk-carrier-within-eu.json")));
    assert_eq!((a.regime, a.also_in_scope, a.amount), (Some(Regime::Eu261), Some(Regime::Uk261), 250));
    assert!(a.care.meals, "3 h departure delay on a short flight: care");
    let a = ok(&parse(include_str!("../../../../events/compensation-assessments/knock-on-unruly-passenger.json")));
    assert_eq!((a.eligible, a.amount), (true, 250));
    let a = ok(&parse(include_str!("../../../../events/compensation-assessments/lawful-refusal.json")));
    assert_eq!((a.eligible, a.refund_or_reroute, a.care.meals), (false, false, false));
}

/// The facts of the Court's own cases (as the judgments state them), assessed by the engine: each
/// must come out as the Court decided, or as its ruling makes the answer (where the Court left the
/// reasonable measures to the national court, both ways). Carrier codes and times are the
/// judgments' where they give them, else representative.
#[test]
fn the_courts_own_cases() {
    let late = |legs: Vec<Leg>, arrive: &str, cause: Option<Cause>| ok(&delay(legs, arrive, cause));
    let l = |f: &str, c: &str, o: &str, d: &str, dep: &str, arr: &str| leg(f, c, o, d, dep, arr);

    // C-559/16 Bossen: Rome - Brussels - Hamburg, 3h50 late: 1,326 km as the crow flies (not the
    // 1,656 km flown), so 250 EUR.
    let a = late(
        vec![
            l("SN3182", "SN", "FCO", "BRU", "2026-12-01T06:00:00Z", "2026-12-01T08:15:00Z"),
            l("SN2631", "SN", "BRU", "HAM", "2026-12-01T09:30:00Z", "2026-12-01T10:40:00Z"),
        ],
        "2026-12-01T14:30:00Z",
        Some(Cause::Technical),
    );
    assert_eq!((a.distance_km, a.amount), (1326, 250));

    // C-159/18 Moens: Treviso - Charleroi, 4h23 late, fuel on the runway: no compensation.
    let a = late(one("FR", "TSF", "CRL"), "2026-12-01T14:23:00Z", Some(Cause::RunwayFuelSpill));
    assert_eq!((a.eligible, a.amount), (false, 0));

    // C-501/17 Germanwings v Pauels: Dublin - Düsseldorf, a screw in a tyre: extraordinary, but
    // exempt only if the carrier shows it used all its resources (left to the national court).
    let mut r = delay(one("EW", "DUB", "DUS"), "2026-12-01T13:10:00Z", Some(Cause::ForeignObjectTyreDamage));
    assert_eq!(ok(&r).amount, 250);
    r.disruption.reasonable_measures = Some(true);
    assert_eq!(ok(&r).amount, 0);

    // C-394/14 Siewert: Antalya - Frankfurt on Condor, 6h30 late after boarding stairs hit the
    // aircraft: not extraordinary; a Community carrier from a third country, 2,299 km: 400 EUR.
    let a = late(one("DE", "AYT", "FRA"), "2026-12-01T16:30:00Z", Some(Cause::BoardingStairsCollision));
    assert_eq!((a.regime, a.amount), (Some(Regime::Eu261), 400));

    // C-502/18 České aerolinie: Prague - Abu Dhabi (CSA) - Bangkok (Etihad), 488 minutes late on
    // the second leg: 600 EUR.
    let mut r = delay(
        vec![
            l("OK6000", "OK", "PRG", "AUH", "2026-12-01T10:00:00Z", "2026-12-01T16:00:00Z"),
            l("EY406", "EY", "AUH", "BKK", "2026-12-01T18:00:00Z", "2026-12-02T00:30:00Z"),
        ],
        "2026-12-02T08:38:00Z",
        Some(Cause::Technical),
    );
    r.disruption.leg = 1;
    let a = ok(&r);
    assert_eq!((a.regime, a.amount, a.arrival_delay_minutes), (Some(Regime::Eu261), 600, Some(488)));

    // C-537/17 Wegener: Berlin - Casablanca - Agadir on Royal Air Maroc, one booking, reaching
    // Agadir more than 3 h late: the Regulation applies to the whole journey from the EU; 3,081 km:
    // 400 EUR.
    let mut r = delay(
        vec![
            l("AT811", "AT", "TXL", "CMN", "2026-12-01T10:00:00Z", "2026-12-01T14:00:00Z"),
            l("AT407", "AT", "CMN", "AGA", "2026-12-01T16:00:00Z", "2026-12-01T17:10:00Z"),
        ],
        "2026-12-01T21:10:00Z",
        None,
    );
    r.disruption.leg = 1;
    assert_eq!(ok(&r).amount, 400);

    // C-11/11 Folkerts: Bremen - Paris - São Paulo - Asunción, 11 h late at the final destination:
    // 600 EUR, however little the first leg was delayed.
    let a = late(
        vec![
            l("AF1723", "AF", "BRE", "CDG", "2026-12-01T06:00:00Z", "2026-12-01T07:30:00Z"),
            l("AF454", "AF", "CDG", "GRU", "2026-12-01T10:00:00Z", "2026-12-01T21:00:00Z"),
            l("AF9898", "AF", "GRU", "ASU", "2026-12-01T23:00:00Z", "2026-12-02T01:00:00Z"),
        ],
        "2026-12-02T12:00:00Z",
        None,
    );
    assert_eq!(a.amount, 600);

    // C-74/19 LE v TAP: Fortaleza - Lisbon - Oslo on TAP, about 24 h late; the aircraft's previous
    // flight diverted for an unruly passenger. A Community carrier from a third country: EU261;
    // the knock-on exempts only with reasonable measures (re-routing included) shown.
    let mut r = delay(
        vec![
            l("TP16", "TP", "FOR", "LIS", "2026-12-01T01:00:00Z", "2026-12-01T09:00:00Z"),
            l("TP1200", "TP", "LIS", "OSL", "2026-12-01T11:00:00Z", "2026-12-01T16:00:00Z"),
        ],
        "2026-12-02T16:00:00Z",
        Some(Cause::UnrulyPassenger),
    );
    r.disruption.knock_on = true;
    assert_eq!((ok(&r).regime, ok(&r).amount), (Some(Regime::Eu261), 600));
    r.disruption.reasonable_measures = Some(true);
    assert_eq!(ok(&r).amount, 0);

    // C-315/15 Pešková: Burgas - Ostrava, 5h20 late after a bird strike: extraordinary, the
    // carrier must show reasonable measures.
    let mut r = delay(one("QS", "BOJ", "OSR"), "2026-12-01T15:20:00Z", Some(Cause::BirdStrike));
    assert_eq!(ok(&r).amount, 250);
    r.disruption.reasonable_measures = Some(true);
    assert_eq!(ok(&r).amount, 0);

    // C-28/20 Airhelp v SAS: Malmö - Stockholm cancelled on the day by a pilots' strike: 250 EUR.
    let a = ok(&cancel(one("SK", "MMX", "ARN"), "2026-12-01T06:00:00Z", None, Some(Cause::OwnStaffStrike)));
    assert_eq!(a.amount, 250);

    // C-195/17 Krüsemann: TUIfly flights cancelled by a wildcat strike: compensation due.
    let a = ok(&cancel(one("X3", "HAJ", "PMI"), "2026-12-01T06:00:00Z", None, Some(Cause::WildcatStrike)));
    assert!(a.eligible);

    // C-402/07 Sturgeon: Toronto - Frankfurt on Condor (a Community carrier from a third country),
    // 25 h late: compensated like a cancellation.
    assert_eq!(late(one("DE", "YYZ", "FRA"), "2026-12-02T11:00:00Z", Some(Cause::Technical)).amount, 600);

    // C-452/13 Germanwings v Henning: Salzburg - Hamburg, wheels down 2h58 late, doors open 3h03
    // late: the arrival is the door opening, so 250 EUR.
    assert_eq!(late(one("EW", "SZG", "HAM"), "2026-12-01T13:03:00Z", Some(Cause::Technical)).amount, 250);
    assert_eq!(late(one("EW", "SZG", "HAM"), "2026-12-01T12:58:00Z", Some(Cause::Technical)).amount, 0);

    // C-12/11 McDonagh: Faro - Dublin cancelled when the airspace closed for volcanic ash: no
    // compensation, but care, hotel included, for the days of waiting.
    let a = ok(&cancel(
        one("FR", "FAO", "DUB"),
        "2026-12-01T06:00:00Z",
        Some(("2026-12-08T08:00:00Z", "2026-12-08T10:00:00Z")),
        Some(Cause::Atc),
    ));
    assert_eq!((a.eligible, a.care.meals, a.care.hotel, a.care.transfer), (false, true, true, true));

    // C-22/11 Finnair: Barcelona - Helsinki, boarding denied after flights were rescheduled
    // because of an airport strike: compensation (2,600 km: 400 EUR) despite the strike.
    let a = ok(&denied(one("AY", "BCN", "HEL"), false, None, Some(Cause::AirportStrike)));
    assert_eq!((a.eligible, a.amount), (true, 400));

    // C-255/15 Mennens: downgraded on an Emirates flight leaving the EU (route representative): the
    // Regulation applies by the departure, 75 % of the price of that flight.
    let mut r = req(one("EK", "DUS", "DXB"), DisruptionType::Downgrading);
    r.disruption.ticket_price = Some(Price { amount: 1000.0, currency: "EUR".into() });
    assert_eq!(ok(&r).downgrade.map(|g| (g.percent, g.amount)), Some((75, Some(750.0))));

    // C-826/19 Austrian Airlines: Klagenfurt - Vienna - Berlin Tegel diverted to Schönefeld, 58
    // minutes late: a delay judged at the destination, under three hours: nothing.
    let mut r = delay(
        vec![
            l("OS958", "OS", "KLU", "VIE", "2026-12-01T16:35:00Z", "2026-12-01T17:20:00Z"),
            l("OS237", "OS", "VIE", "TXL", "2026-12-01T19:00:00Z", "2026-12-01T20:20:00Z"),
        ],
        "2026-12-01T21:18:00Z",
        Some(Cause::Weather),
    );
    r.disruption.kind = DisruptionType::Diversion;
    r.disruption.leg = 1;
    let a = ok(&r);
    assert_eq!((a.eligible, a.arrival_delay_minutes), (false, Some(58)));
}
