use super::memory::MemoryCases;
use super::service::*;
use super::*;
use crate::audit::MemoryAuditLog;
use crate::crypto::fake::FakeKms;
use crate::crypto::{BlindIndexer, CachePolicy, KeyRing};
use crate::deadletter::DeadLetters;
use crate::ingest::{EventSink, OutRecord};
use crate::merge::Merge;
use crate::schema::EventValidator;
use crate::store::memory::MemoryStore;
use crate::store::PrivacyStore;
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Outbox(Mutex<Vec<Value>>);

#[async_trait]
impl EventSink for Outbox {
    async fn put_records(&self, records: &[OutRecord]) -> Result<Vec<Option<String>>, CmpError> {
        let mut out = self.0.lock().unwrap();
        for r in records {
            out.push(serde_json::from_slice(&r.data).unwrap());
        }
        Ok(vec![None; records.len()])
    }
}

struct World {
    store: Arc<MemoryStore>,
    cases: Arc<MemoryCases>,
    outbox: Arc<Outbox>,
    merge: Merge,
    compensator: Compensator,
    desk: CaseDesk,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::default());
    let kms = Arc::new(FakeKms::new());
    let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), CachePolicy::default()));
    let indexer = Arc::new(BlindIndexer::from_key(&[6; 32]));
    let validator = Arc::new(EventValidator::new().unwrap());
    let merge = Merge::new(store.clone(), keys.clone(), kms.clone(), indexer.clone(), validator.clone(), 14);
    let cases = Arc::new(MemoryCases::default());
    let outbox = Arc::new(Outbox::default());
    let ports = CasePorts {
        index: store.clone(),
        cases: cases.clone(),
        profiles: store.clone(),
        privacy: store.clone(),
        keys,
        audit: Arc::new(MemoryAuditLog::default()),
        notify: outbox.clone(),
    };
    let compensator = Compensator::new(ports.clone(), indexer, validator, DeadLetters::new(store.clone(), kms, 14));
    World { store, cases, outbox, merge, compensator, desk: CaseDesk::new(ports) }
}

/// A booking of `n` passengers on GA714 DUB-FRA, optionally connecting to GA1386 FRA-ATH.
fn booking(locator: &str, n: usize, connecting: bool, tier_every: usize) -> Vec<u8> {
    let passengers: Vec<Value> = (0..n)
        .map(|i| {
            let mut p = json!({"passenger_id": format!("P{}", i + 1), "type": "adult",
                "name": {"given": format!("Pax{i}"), "family": format!("{locator}fam")},
                "email": format!("{}{}@example.com", locator.to_lowercase(), i)});
            if tier_every > 0 && i % tier_every == 0 {
                p["loyalty_number"] = json!(format!("GA{:08}", 10_000_000 + i));
            }
            p
        })
        .collect();
    let mut segments = vec![json!({"segment_id": "S1", "flight_number": "GA714", "operating_carrier": "GA",
        "departure_date": "2026-12-18", "origin": "DUB", "destination": "FRA",
        "scheduled_departure": "2026-12-18T07:05:00+00:00", "scheduled_arrival": "2026-12-18T10:10:00+01:00"})];
    if connecting {
        segments.push(json!({"segment_id": "S2", "flight_number": "GA1386", "operating_carrier": "GA",
            "departure_date": "2026-12-18", "origin": "FRA", "destination": "ATH",
            "scheduled_departure": "2026-12-18T11:35:00+01:00", "scheduled_arrival": "2026-12-18T15:25:00+02:00"}));
    }
    serde_json::to_vec(&json!({"specversion": "1.0", "id": format!("pss:{locator}"), "source": "/systems/pss",
        "type": "booking.recorded", "time": "2026-11-21T20:14:03Z", "subject": locator,
        "data": {"record_locator": locator, "channel": "web", "status": "confirmed",
                 "booked_at": "2026-11-21T20:14:03Z", "passengers": passengers, "segments": segments}}))
    .unwrap()
}

fn disruption(id: &str, data: Value) -> Vec<u8> {
    let mut base = json!({"flight_number": "GA714", "operating_carrier": "GA", "departure_date": "2026-12-18",
        "origin": "DUB", "destination": "FRA", "scheduled_departure": "2026-12-18T07:05:00+00:00",
        "scheduled_arrival": "2026-12-18T10:10:00+01:00"});
    for (k, v) in data.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::to_vec(&json!({"specversion": "1.0", "id": id, "source": "/systems/ops", "type": "flight.disrupted",
        "time": "2026-12-18T09:00:00Z", "subject": "GA714/2026-12-18", "data": base}))
    .unwrap()
}

#[tokio::test]
async fn a_cancellation_opens_one_case_per_passenger_once_however_often_it_arrives() {
    let w = world();
    w.merge.process_record(&booking("ABC123", 3, false, 0), "t").await.unwrap();
    w.merge.process_record(&booking("DEF456", 2, true, 0), "t").await.unwrap();
    // no re-routing, told on the day: 250 EUR (DUB-FRA), and 400 EUR for DUB-ATH through FRA
    let event = disruption(
        "ops-1",
        json!({"type": "cancellation", "cause": "technical", "notified_at": "2026-12-18T05:00:00Z"}),
    );
    for _ in 0..3 {
        w.compensator.process_record(&event, "t").await.unwrap();
    }
    let cases = w.cases.all();
    assert_eq!(cases.len(), 5, "one per passenger, however often the event arrives");
    let direct: Vec<&Case> =
        cases.iter().filter(|c| !c.assessment["inputs"]["final_destination"]["iata"].eq("ATH")).collect();
    assert_eq!(direct.len(), 3);
    assert!(direct.iter().all(|c| c.eligible && c.amount == 250 && c.currency.as_deref() == Some("EUR")));
    let through: Vec<&Case> =
        cases.iter().filter(|c| c.assessment["inputs"]["final_destination"]["iata"].eq("ATH")).collect();
    assert!(through.iter().all(|c| c.amount == 400), "judged at the final destination: {:?}", through[0].assessment);
    assert!(cases.iter().all(|c| c.queue == "compensation" && c.status == CaseStatus::Open && c.effects_done));
    // five notifications, five holds, a timeline entry each
    assert_eq!(w.outbox.0.lock().unwrap().len(), 5);
    let n = w.outbox.0.lock().unwrap()[0].clone();
    assert_eq!(n["type"], "notification.requested");
    assert_eq!(n["data"]["legal_basis"], "legal_obligation", "no marketing consent: a service message");
    // the entitlements beyond compensation travel with the case and the notification: a
    // cancellation on the day owes the Art. 8 choice (refund within 7 days or re-routing) and
    // Art. 9 care (meals, two communications; a hotel, as no re-routing is known yet)
    let e = &n["data"]["entitlements"];
    assert_eq!(e["regime"], "EU261");
    assert_eq!(
        (&e["refund_or_reroute"]["refund"], &e["refund_or_reroute"]["refund_within_days"]),
        (&json!(true), &json!(7)),
        "{e}"
    );
    assert_eq!(
        (&e["refund_or_reroute"]["reroute_earliest"], &e["refund_or_reroute"]["reroute_later"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        (&e["care"]["meals"], &e["care"]["hotel"], &e["care"]["communications"]),
        (&json!(true), &json!(true), &json!(2))
    );
    assert!(e["downgrade"].is_null());
    assert!(cases.iter().all(|c| c.assessment["refund_or_reroute_choice"]["refund"] == json!(true)
        && c.assessment["care"]["meals"] == json!(true)));
    for c in &cases {
        let holds = w.store.holds(&c.customer_id).await.unwrap();
        assert!(holds.iter().any(|h| h.kind == HOLD_KIND), "an open case holds erasure");
        assert_eq!(w.store.timeline_count(&c.customer_id), 2, "the booking and the disruption");
    }
    // ids are stable: flight, day and passenger
    assert!(cases.iter().all(|c| is_case_id(&c.id)));
}

#[tokio::test]
async fn a_delay_is_judged_at_the_final_destination_and_updates_the_same_cases() {
    let w = world();
    w.merge.process_record(&booking("ABC123", 1, false, 0), "t").await.unwrap();
    w.merge.process_record(&booking("DEF456", 1, true, 0), "t").await.unwrap();
    // 2h20 late into FRA: no compensation for the DUB-FRA passenger; the connection to ATH (11:35)
    // is missed: provisional, judged on the earliest possible onward arrival until the actual one
    // is known
    let event = disruption(
        "ops-2",
        json!({"type": "delay", "cause": "technical", "actual_arrival": "2026-12-18T12:30:00+01:00"}),
    );
    w.compensator.process_record(&event, "t").await.unwrap();
    let cases = w.cases.all();
    assert_eq!(cases.len(), 2);
    let direct = cases.iter().find(|c| !c.missed_connection).unwrap();
    assert!(!direct.eligible, "{:?}", direct.assessment["reasons"]);
    let through = cases.iter().find(|c| c.missed_connection).unwrap();
    assert!(through.provisional && !through.eligible, "{:?}", through.assessment["reasons"]);
    assert!(through.priority < direct.priority, "a missed connection comes first");
    // customer affairs records the actual arrival in Athens (4h15 late): re-assessed, 400 EUR
    let agent = Actor::Staff { sub: "agent-1", role: "customer_affairs" };
    let arrival: DateTime<FixedOffset> = "2026-12-18T19:40:00+02:00".parse().unwrap();
    let c = w
        .desk
        .patch(&through.id, agent, CasePatch { final_arrival: Some(arrival), ..Default::default() })
        .await
        .unwrap();
    assert!(c.eligible && !c.provisional && c.amount == 400, "{:?}", c.assessment["reasons"]);
    // a later report (4h15 late) re-assesses the same cases; an older one changes nothing
    let later = disruption(
        "ops-3",
        json!({"type": "delay", "cause": "technical", "actual_arrival": "2026-12-18T14:25:00+01:00"}),
    );
    let mut later_v: Value = serde_json::from_slice(&later).unwrap();
    later_v["time"] = json!("2026-12-18T13:00:00Z");
    w.compensator.process_record(&serde_json::to_vec(&later_v).unwrap(), "t").await.unwrap();
    let cases = w.cases.all();
    assert_eq!(cases.len(), 2);
    let direct = cases.iter().find(|c| c.passenger_key == direct.passenger_key).unwrap();
    assert!(direct.eligible && direct.amount == 250, "{:?}", direct.assessment["reasons"]);
    assert_eq!(direct.disruption_event, "ops-3");
    let mut old: Value = serde_json::from_slice(&event).unwrap();
    old["id"] = json!("ops-0");
    old["time"] = json!("2026-12-18T08:00:00Z");
    w.compensator.process_record(&serde_json::to_vec(&old).unwrap(), "t").await.unwrap();
    assert!(w.cases.all().iter().all(|c| c.disruption_event == "ops-3"), "an older report does not win");
    let through = w.cases.all().into_iter().find(|c| c.missed_connection).unwrap();
    assert!(through.eligible && through.amount == 400 && !through.provisional, "the recorded arrival stands");
}

#[tokio::test]
async fn extraordinary_circumstances_route_to_care_and_denied_boarding_names_its_passengers() {
    let w = world();
    w.merge.process_record(&booking("ABC123", 3, false, 0), "t").await.unwrap();
    let weather =
        disruption("ops-4", json!({"type": "cancellation", "cause": "weather", "notified_at": "2026-12-18T05:00:00Z"}));
    w.compensator.process_record(&weather, "t").await.unwrap();
    let cases = w.cases.all();
    assert!(
        cases.iter().all(|c| !c.eligible && c.queue == "care_and_rebooking"),
        "{:?}",
        cases[0].assessment["reasons"]
    );
    // care is owed despite extraordinary circumstances (CJEU C-12/11 McDonagh), and says so
    assert!(cases.iter().all(|c| c.assessment["care"]["citations"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == "CJEU C-12/11 McDonagh"))));

    let w = world();
    w.merge.process_record(&booking("ABC123", 3, false, 0), "t").await.unwrap();
    let denied = disruption(
        "ops-5",
        json!({"type": "denied_boarding", "denied_boarding": [
        {"record_locator": "ABC123", "passenger_id": "P1", "volunteer": true},
        {"record_locator": "ABC123", "passenger_id": "P2", "volunteer": false}]}),
    );
    let out = w.compensator.process_record(&denied, "t").await.unwrap();
    assert_eq!(out, CompensateOutcome::Applied(Tally { passengers: 2, created: 2, ..Default::default() }));
    let cases = w.cases.all();
    assert_eq!(cases.iter().filter(|c| c.eligible).count(), 1, "the volunteer is owed no compensation");
}

/// A passenger connecting onto a carrier the reference table does not know is not guessed at
/// (the engine refuses the itinerary with `unknown_carrier`), and does not hold up the others.
#[tokio::test]
async fn an_unassessable_itinerary_gets_no_guessed_case_and_blocks_no_one() {
    let w = world();
    w.merge.process_record(&booking("ABC123", 2, false, 0), "t").await.unwrap();
    let mut partner: Value = serde_json::from_slice(&booking("PRT999", 1, true, 0)).unwrap();
    partner["data"]["segments"][1]["operating_carrier"] = json!("Q9");
    partner["data"]["segments"][1]["flight_number"] = json!("Q9123");
    w.merge.process_record(&serde_json::to_vec(&partner).unwrap(), "t").await.unwrap();
    let event = disruption(
        "ops-9",
        json!({"type": "cancellation", "cause": "technical", "notified_at": "2026-12-18T05:00:00Z"}),
    );
    let out = w.compensator.process_record(&event, "t").await.unwrap();
    assert_eq!(
        out,
        CompensateOutcome::Applied(Tally { passengers: 3, created: 2, unassessable: 1, ..Default::default() })
    );
    assert_eq!(w.cases.all().len(), 2);
}

#[tokio::test]
async fn bad_disruptions_are_parked_with_their_reason() {
    let w = world();
    let no_arrival = disruption("ops-6", json!({"type": "delay"}));
    let out = w.compensator.process_record(&no_arrival, "t").await.unwrap();
    assert_eq!(out, CompensateOutcome::Parked { reason_code: "invalid_event".into() });
    assert_eq!(w.store.parked()[0].reasons[0].code, "missing_arrival");
    let unknown = disruption("ops-7", json!({"type": "cancellation", "origin": "XXX"}));
    w.compensator.process_record(&unknown, "t").await.unwrap();
    assert_eq!(w.store.parked().len(), 2);
    // a carrier the reference table does not know: parked, not guessed
    let carrier = disruption("ops-7b", json!({"type": "cancellation", "operating_carrier": "Q9"}));
    let out = w.compensator.process_record(&carrier, "t").await.unwrap();
    assert_eq!(out, CompensateOutcome::Parked { reason_code: "invalid_event".into() });
    assert!(w.store.parked().iter().any(|p| p.reasons.iter().any(|r| r.code == "unknown_carrier")));
    // a flight nobody is booked on: nothing to do
    let empty = disruption("ops-8", json!({"type": "cancellation", "flight_number": "GA999"}));
    assert_eq!(w.compensator.process_record(&empty, "t").await.unwrap(), CompensateOutcome::Applied(Tally::default()));
}

#[tokio::test]
async fn agents_and_customers_work_a_case_to_closure() {
    let w = world();
    w.merge.process_record(&booking("ABC123", 1, false, 0), "t").await.unwrap();
    let event = disruption(
        "ops-9",
        json!({"type": "cancellation", "cause": "technical", "notified_at": "2026-12-18T05:00:00Z"}),
    );
    w.compensator.process_record(&event, "t").await.unwrap();
    let case = w.cases.all().remove(0);
    let agent = Actor::Staff { sub: "agent-7", role: "customer_affairs" };
    let me = Actor::Customer { sub: "cust" };
    // customers cannot act as agents; vouchers need agreement; payouts need a valid IBAN
    let err = w.desk.patch(&case.id, me, CasePatch { status: Some(CaseStatus::Closed), ..Default::default() }).await;
    assert!(matches!(err, Err(PatchError::Invalid("forbidden_field", _))));
    let err = w.desk.patch(&case.id, me, CasePatch { resolution: Some("voucher".into()), ..Default::default() }).await;
    assert!(matches!(err, Err(PatchError::Invalid("voucher_needs_agreement", _))));
    let bad = Payout { iban: "IE29AIBK93115212345679".into(), account_holder: "Pax0 ABC123fam".into() };
    let err = w.desk.patch(&case.id, me, CasePatch { payout: Some(bad), ..Default::default() }).await;
    assert!(matches!(err, Err(PatchError::Invalid("invalid_iban", _))));
    let good = Payout { iban: "IE29 AIBK 9311 5212 3456 78".into(), account_holder: "Pax0 ABC123fam".into() };
    let c = w
        .desk
        .patch(&case.id, me, CasePatch { resolution: Some("cash".into()), payout: Some(good), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(c.resolution.as_deref(), Some("cash"));
    let stored = serde_json::to_string(&w.cases.get_case(&case.id).await.unwrap().unwrap()).unwrap();
    assert!(!stored.contains("AIBK") && !stored.contains("ABC123fam"), "payout details are sealed");
    // the agent takes it, notes it (a card number in the note is redacted) and closes it
    let c = w
        .desk
        .patch(
            &case.id,
            agent,
            CasePatch {
                assignee: Some("agent-7".into()),
                note: Some("paid by transfer, card 4111 1111 1111 1111 not used".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(c.status, CaseStatus::InProgress);
    let notes = w.desk.notes(&c).await.unwrap();
    assert!(!notes[0]["text"].as_str().unwrap().contains("4111 1111"), "{notes:?}");
    let err = w.desk.patch(&case.id, agent, CasePatch { status: Some(CaseStatus::Closed), ..Default::default() }).await;
    assert!(matches!(err, Err(PatchError::Invalid("closure_needs_outcome", _))));
    let c = w
        .desk
        .patch(
            &case.id,
            agent,
            CasePatch { status: Some(CaseStatus::Closed), outcome: Some("paid".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(c.status, CaseStatus::Closed);
    assert!(w.store.holds(&c.customer_id).await.unwrap().is_empty(), "the last open case released the hold");
    let templates: Vec<String> =
        w.outbox.0.lock().unwrap().iter().map(|n| n["data"]["template"].as_str().unwrap().to_owned()).collect();
    assert_eq!(templates, ["opened", "resolution_chosen", "closed"]);
}

#[tokio::test]
async fn cases_about_to_miss_their_sla_are_escalated() {
    let w = world();
    w.merge.process_record(&booking("ABC123", 2, false, 0), "t").await.unwrap();
    let event = disruption(
        "ops-10",
        json!({"type": "cancellation", "cause": "technical", "notified_at": "2026-12-18T05:00:00Z"}),
    );
    w.compensator.process_record(&event, "t").await.unwrap();
    let now = Utc::now();
    assert!(w.desk.escalate(now, Duration::hours(1)).await.unwrap().is_empty(), "plenty of time left");
    let escalated = w.desk.escalate(now + Duration::days(8), Duration::hours(1)).await.unwrap();
    assert_eq!(escalated.len(), 2);
    assert!(w.cases.all().iter().all(|c| c.status == CaseStatus::Escalated && c.escalated_at.is_some()));
    assert!(w.desk.escalate(now + Duration::days(8), Duration::hours(1)).await.unwrap().is_empty(), "once");
}

#[test]
fn priority_follows_tier_assistance_connection_and_amount() {
    let p = |tier: Option<&str>, sa, mc, amt| {
        priority(&PriorityInputs {
            tier: tier.map(str::to_owned),
            special_assistance: sa,
            missed_connection: mc,
            amount_eur: amt,
        })
        .0
    };
    assert_eq!(p(None, false, false, 0), 4);
    assert_eq!(p(None, false, false, 250), 4);
    assert_eq!(p(Some("silver"), false, false, 250), 3);
    assert_eq!(p(Some("gold"), false, false, 600), 2);
    assert_eq!(p(Some("platinum"), false, true, 0), 1);
    assert_eq!(p(None, true, true, 400), 1);
    assert!(sla(1) < sla(2) && sla(2) < sla(3) && sla(3) < sla(4));
}
