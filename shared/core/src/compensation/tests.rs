//! The regulation's cases, table-driven.
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

fn one(carrier: &str, o: &str, d: &str) -> Vec<Leg> {
    vec![leg("XX100", carrier, o, d, "2026-12-01T08:00:00Z", "2026-12-01T10:00:00Z")]
}

fn delay(legs: Vec<Leg>, arrive: &str, cause: Option<Cause>) -> AssessmentRequest {
    AssessmentRequest {
        journey: Journey { legs },
        disruption: Disruption {
            kind: DisruptionType::Delay,
            leg: 0,
            cause,
            actual_arrival: Some(t(arrive)),
            notified_at: None,
            reroute: None,
            volunteer: None,
        },
    }
}

fn cancel(legs: Vec<Leg>, notified: &str, reroute: Option<(&str, &str)>, cause: Option<Cause>) -> AssessmentRequest {
    AssessmentRequest {
        journey: Journey { legs },
        disruption: Disruption {
            kind: DisruptionType::Cancellation,
            leg: 0,
            cause,
            actual_arrival: None,
            notified_at: Some(t(notified)),
            reroute: reroute.map(|(d, a)| Reroute { departure: t(d), arrival: t(a) }),
            volunteer: None,
        },
    }
}

fn denied(legs: Vec<Leg>, volunteer: bool, reroute: Option<(&str, &str)>, cause: Option<Cause>) -> AssessmentRequest {
    AssessmentRequest {
        journey: Journey { legs },
        disruption: Disruption {
            kind: DisruptionType::DeniedBoarding,
            leg: 0,
            cause,
            actual_arrival: None,
            notified_at: None,
            reroute: reroute.map(|(d, a)| Reroute { departure: t(d), arrival: t(a) }),
            volunteer: Some(volunteer),
        },
    }
}

/// (case, request, regime, eligible, amount, a reason code that must be present)
type Case = (&'static str, AssessmentRequest, Option<Regime>, bool, u32, &'static str);

fn cases() -> Vec<Case> {
    use Cause::*;
    use Regime::*;
    vec![
        // distance bands, delays at the final destination
        (
            "short haul, 3h10 late",
            delay(one("GA", "DUB", "CDG"), "2026-12-01T13:10:00Z", Some(Technical)),
            Some(Eu261),
            true,
            250,
            "arrival_delay",
        ),
        (
            "short haul, 2h59 late",
            delay(one("GA", "DUB", "CDG"), "2026-12-01T12:59:00Z", Some(Technical)),
            Some(Eu261),
            false,
            0,
            "arrival_delay_under_3h",
        ),
        (
            "medium haul, 3h30 late",
            delay(one("GA", "DUB", "ATH"), "2026-12-01T13:30:00Z", Some(CrewShortage)),
            Some(Eu261),
            true,
            400,
            "distance_band",
        ),
        (
            "intra-EU over 3500 km is band B",
            delay(one("AF", "CDG", "RUN"), "2026-12-01T14:00:00Z", Some(Technical)),
            Some(Eu261),
            true,
            400,
            "distance_band",
        ),
        (
            "long haul, 4h30 late",
            delay(one("LH", "FRA", "JFK"), "2026-12-01T14:30:00Z", Some(Technical)),
            Some(Eu261),
            true,
            600,
            "not_halved",
        ),
        (
            "long haul, 3h30 late is halved",
            delay(one("LH", "FRA", "JFK"), "2026-12-01T13:30:00Z", Some(Technical)),
            Some(Eu261),
            true,
            300,
            "halved_long_haul_delay",
        ),
        // causes
        (
            "weather exempts",
            delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", Some(Weather)),
            Some(Eu261),
            false,
            0,
            "exempt",
        ),
        (
            "bird strike exempts",
            delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", Some(BirdStrike)),
            Some(Eu261),
            false,
            0,
            "extraordinary_circumstances",
        ),
        (
            "own staff strike does not",
            delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", Some(OwnStaffStrike)),
            Some(Eu261),
            true,
            250,
            "ordinary_cause",
        ),
        (
            "hidden defect exempts",
            delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", Some(HiddenManufacturingDefect)),
            Some(Eu261),
            false,
            0,
            "exempt",
        ),
        (
            "no cause given",
            delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", None),
            Some(Eu261),
            true,
            250,
            "cause_not_proven",
        ),
        // cancellations and notice (DUB-CDG is band A: halving limit 2 h)
        (
            "cancelled 20 days ahead",
            cancel(one("GA", "DUB", "CDG"), "2026-11-11T08:00:00Z", None, Some(Technical)),
            Some(Eu261),
            false,
            0,
            "notice_14_days",
        ),
        (
            "cancelled 10 days ahead, no re-routing",
            cancel(one("GA", "DUB", "CDG"), "2026-11-21T08:00:00Z", None, Some(Technical)),
            Some(Eu261),
            true,
            250,
            "notice_7_to_14_days",
        ),
        (
            "10 days, qualifying re-routing",
            cancel(
                one("GA", "DUB", "CDG"),
                "2026-11-21T08:00:00Z",
                Some(("2026-12-01T06:30:00Z", "2026-12-01T13:30:00Z")),
                Some(Technical),
            ),
            Some(Eu261),
            false,
            0,
            "notice_7_to_14_days",
        ),
        (
            "10 days, re-routing 5 h late",
            cancel(
                one("GA", "DUB", "CDG"),
                "2026-11-21T08:00:00Z",
                Some(("2026-12-01T10:00:00Z", "2026-12-01T15:00:00Z")),
                Some(Technical),
            ),
            Some(Eu261),
            true,
            250,
            "notice_7_to_14_days",
        ),
        (
            "10 days, re-routing leaves 3 h early: due, but halved as it arrives early",
            cancel(
                one("GA", "DUB", "CDG"),
                "2026-11-21T08:00:00Z",
                Some(("2026-12-01T05:00:00Z", "2026-12-01T07:00:00Z")),
                Some(Technical),
            ),
            Some(Eu261),
            true,
            125,
            "notice_7_to_14_days",
        ),
        (
            "3 days, qualifying re-routing",
            cancel(
                one("GA", "DUB", "CDG"),
                "2026-11-28T08:00:00Z",
                Some(("2026-12-01T07:30:00Z", "2026-12-01T11:30:00Z")),
                Some(Technical),
            ),
            Some(Eu261),
            false,
            0,
            "notice_under_7_days",
        ),
        (
            "3 days, re-routing 2h30 late",
            cancel(
                one("GA", "DUB", "CDG"),
                "2026-11-28T08:00:00Z",
                Some(("2026-12-01T10:30:00Z", "2026-12-01T12:30:00Z")),
                Some(Technical),
            ),
            Some(Eu261),
            true,
            250,
            "notice_under_7_days",
        ),
        (
            "3 days, re-routing 1h45 late: halved",
            cancel(
                one("GA", "DUB", "CDG"),
                "2026-11-28T08:00:00Z",
                Some(("2026-12-01T06:30:00Z", "2026-12-01T11:45:00Z")),
                Some(Technical),
            ),
            Some(Eu261),
            true,
            125,
            "halved_reroute",
        ),
        (
            "medium haul, 2h30 late re-routing: halved",
            cancel(
                one("GA", "DUB", "ATH"),
                "2026-11-28T08:00:00Z",
                Some(("2026-12-01T10:30:00Z", "2026-12-01T12:30:00Z")),
                Some(Technical),
            ),
            Some(Eu261),
            true,
            200,
            "halved_reroute",
        ),
        (
            "cancelled on the day for weather",
            cancel(one("GA", "DUB", "CDG"), "2026-12-01T06:00:00Z", None, Some(Weather)),
            Some(Eu261),
            false,
            0,
            "exempt",
        ),
        // denied boarding
        (
            "denied boarding",
            denied(one("GA", "DUB", "CDG"), false, None, None),
            Some(Eu261),
            true,
            250,
            "denied_boarding",
        ),
        (
            "denied boarding, weather is no excuse",
            denied(one("GA", "DUB", "CDG"), false, None, Some(Weather)),
            Some(Eu261),
            true,
            250,
            "no_exemption_denied_boarding",
        ),
        (
            "denied boarding, re-routed 1h30 late: halved",
            denied(one("GA", "DUB", "CDG"), false, Some(("2026-12-01T09:00:00Z", "2026-12-01T11:30:00Z")), None),
            Some(Eu261),
            true,
            125,
            "halved_reroute",
        ),
        ("volunteer", denied(one("GA", "DUB", "CDG"), true, None, None), Some(Eu261), false, 0, "volunteer"),
        // scope by airport and carrier
        (
            "third country to EU on an EU carrier",
            delay(one("GA", "JFK", "DUB"), "2026-12-01T15:00:00Z", Some(Technical)),
            Some(Eu261),
            true,
            600,
            "scope_arrival_eu_carrier",
        ),
        (
            "third country to EU on a non-EU carrier",
            delay(one("EK", "DXB", "DUB"), "2026-12-01T15:00:00Z", Some(Technical)),
            None,
            false,
            0,
            "out_of_scope",
        ),
        (
            "EU departure on a non-EU carrier",
            delay(one("EK", "DUB", "DXB"), "2026-12-01T15:00:00Z", Some(Technical)),
            Some(Eu261),
            true,
            600,
            "scope_departure_eu",
        ),
        (
            "UK departure",
            delay(one("UA", "LHR", "JFK"), "2026-12-01T15:00:00Z", Some(Technical)),
            Some(Uk261),
            true,
            520,
            "scope_departure_uk",
        ),
        (
            "into the UK on a UK carrier",
            delay(one("BA", "JFK", "LHR"), "2026-12-01T15:00:00Z", Some(Technical)),
            Some(Uk261),
            true,
            520,
            "scope_arrival_uk_carrier",
        ),
        (
            "UK short haul",
            delay(one("AF", "LHR", "CDG"), "2026-12-01T13:30:00Z", Some(Technical)),
            Some(Uk261),
            true,
            220,
            "scope_departure_uk",
        ),
        (
            "outermost region departure",
            delay(one("UX", "LPA", "MAD"), "2026-12-01T13:30:00Z", Some(Technical)),
            Some(Eu261),
            true,
            400,
            "scope_departure_eu",
        ),
        (
            "Norway (EEA) departure",
            delay(one("DY", "OSL", "BKK"), "2026-12-01T13:30:00Z", Some(Technical)),
            Some(Eu261),
            true,
            300,
            "halved_long_haul_delay",
        ),
        (
            "Switzerland departure",
            delay(one("LX", "GVA", "CDG"), "2026-12-01T13:30:00Z", Some(Technical)),
            Some(Eu261),
            true,
            250,
            "scope_departure_eu",
        ),
    ]
}

#[test]
fn the_regulations_cases() {
    for (name, req, regime, eligible, amount, reason) in cases() {
        let a = assess(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.regime, regime, "{name}");
        assert_eq!((a.eligible, a.amount), (eligible, amount), "{name}: {:#?}", a.reasons);
        assert!(a.reasons.iter().any(|r| r.code == reason), "{name}: no {reason} in {:#?}", a.reasons);
        assert!(a.reasons.iter().all(|r| !r.reference.is_empty() && !r.text.is_empty()), "{name}");
        if a.regime.is_some() {
            assert_eq!(a.currency, Some(if regime == Some(Regime::Uk261) { "GBP" } else { "EUR" }), "{name}");
        }
    }
}

#[test]
fn connections_are_judged_at_the_final_destination_over_the_whole_distance() {
    let legs = vec![
        leg("GA123", "GA", "DUB", "FRA", "2026-12-01T06:00:00Z", "2026-12-01T08:00:00Z"),
        leg("GA456", "GA", "FRA", "ATH", "2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z"),
    ];
    // the first leg is 50 minutes late, the connection is missed, arrival in ATH 3h40 late
    let mut req = delay(legs.clone(), "2026-12-01T15:40:00Z", Some(Cause::Technical));
    req.disruption.leg = 0;
    let a = assess(&req).unwrap();
    assert!((2_700..3_000).contains(&a.distance_km), "DUB-ATH great circle, not the sum of legs: {}", a.distance_km);
    assert_eq!((a.eligible, a.amount, a.arrival_delay_minutes), (true, 400, Some(220)));
    assert!(a.reasons.iter().any(|r| r.code == "single_booking"));
    // each leg on time on its own would give nothing; the journey from a third country on an EU
    // carrier connecting in the EU is in scope by its final arrival
    let legs = vec![
        leg("EI104", "EI", "JFK", "DUB", "2026-12-01T01:00:00Z", "2026-12-01T08:00:00Z"),
        leg("GA456", "GA", "DUB", "ATH", "2026-12-01T10:00:00Z", "2026-12-01T14:00:00Z"),
    ];
    let mut req = cancel(legs, "2026-11-30T10:00:00Z", None, Some(Cause::Technical));
    req.disruption.leg = 1;
    let a = assess(&req).unwrap();
    assert_eq!((a.regime, a.amount), (Some(Regime::Eu261), 600));
    assert!(a.distance_km > 7_500);
}

#[test]
fn duty_of_care_and_refunds() {
    // long-haul delay of 5 hours: meals, calls, refund option; a departure moved past midnight: hotel
    let legs = vec![leg("LH400", "LH", "FRA", "JFK", "2026-12-01T21:00:00+01:00", "2026-12-02T00:00:00-05:00")];
    let a = assess(&delay(legs, "2026-12-02T05:00:00-05:00", Some(Cause::Weather))).unwrap();
    assert!(!a.eligible, "weather exempts compensation");
    assert_eq!(a.care, Care { meals: true, hotel: true, communication: true }, "but not care");
    assert!(a.refund_or_reroute);
    let a = assess(&delay(one("GA", "DUB", "CDG"), "2026-12-01T11:30:00Z", None)).unwrap();
    assert_eq!(a.care, Care::default(), "1h30 on a short flight owes no care");
}

#[test]
fn bad_journeys_are_refused_with_their_place() {
    let e = assess(&delay(one("GA", "dub", "CDG"), "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("validation_failed", "/journey/legs/0/origin"));
    let mut bad = one("G", "DUB", "CDG");
    bad[0].flight = "GA12345".into();
    assert_eq!(assess(&delay(bad, "2026-12-01T15:00:00Z", None)).unwrap_err().path(), "/journey/legs/0/flight");
    let e = assess(&delay(one("GA", "DUB", "ZZZ"), "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("unknown_airport", "/journey/legs/0/destination"));
    let legs = vec![
        leg("GA1", "GA", "DUB", "FRA", "2026-12-01T06:00:00Z", "2026-12-01T08:00:00Z"),
        leg("GA2", "GA", "CDG", "ATH", "2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z"),
    ];
    let e = assess(&delay(legs, "2026-12-01T15:00:00Z", None)).unwrap_err();
    assert_eq!((e.code(), e.path()), ("invalid_journey", "/journey/legs/1/origin"));
    let mut req = delay(one("GA", "DUB", "CDG"), "2026-12-01T15:00:00Z", None);
    req.disruption.leg = 3;
    assert_eq!(assess(&req).unwrap_err().code(), "invalid_journey");
    req.disruption.leg = 0;
    req.disruption.actual_arrival = None;
    assert_eq!(assess(&req).unwrap_err().path(), "/disruption/actual_arrival");
}
