//! The compensate function end to end on the local stack: 180 passengers booked on one flight
//! (some connecting in Frankfurt), the flight's cancellation delivered three times, and exactly one
//! case per passenger, judged at their final destination, routed, notified once, on the timeline,
//! holding the erasure; then a customer answers their case and staff close it.
use cmp_tests::*;
use cmpctl::bench_compensate::{cancellation, flight_bookings, post_and_wait, DATE, FLIGHT};
use cmpctl::client::encode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

const PASSENGERS: usize = 180;
const IBAN: &str = "IE29 AIBK 9311 5212 3456 78";
const HOLDER: &str = "Aoife Byrne-Kavanagh";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_flight_yields_one_case_per_passenger_once() {
    let (stack, anonymous) = start_stack().await;
    let token = |role: &str, mfa: bool, customer: Option<&str>| {
        anonymous.with_token(stack.token(role, mfa, customer).unwrap()).with_header("x-purpose", "compensation_test")
    };
    let writer = token("channel", false, None);
    let staff = token("customer_affairs", true, None);
    let agent = token("call_centre_agent", false, None);
    let validator = OpenApiValidator::new(&openapi());

    let (bookings, people) = flight_bookings(PASSENGERS, "it");
    assert_eq!(people.len(), PASSENGERS);
    post_and_wait(&stack, &writer, &bookings, bookings.len() as u64, Duration::from_secs(600)).await.unwrap();

    // -- the cancellation, sent three times: each is a stream record for the merge (which skips
    // it) and one for the compensate function
    let event = cancellation("ops:GA714:2026-11-18:0001");
    let before = stack.records_done();
    for _ in 0..3 {
        let (status, body) = writer.post_json("/v1/events", &event).await.unwrap();
        assert_eq!(status, 202, "{body}");
    }
    drained(&stack, before, 6).await;

    let (status, list) = staff.get(&format!("/v1/cases?flight={FLIGHT}&date={DATE}")).await.unwrap();
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["count"], PASSENGERS, "one case per passenger");
    let errors = validator.errors("/components/schemas/CaseList", &list);
    assert!(errors.is_empty(), "{errors:?}");
    let cases = list["items"].as_array().unwrap();
    let ids: HashSet<&str> = cases.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), PASSENGERS, "distinct cases");
    let customers: HashSet<&str> = cases.iter().map(|c| c["customer_id"].as_str().unwrap()).collect();
    assert_eq!(customers.len(), PASSENGERS, "one case per passenger, each their own customer");
    assert_eq!(scan_table(&stack, "CasesTableName").await.len(), PASSENGERS, "nothing else in the cases table");
    for c in cases {
        let what: Vec<&str> = c["history"].as_array().unwrap().iter().filter_map(|h| h["what"].as_str()).collect();
        assert_eq!(what, ["opened", "customer notified: opened"], "{c}");
        assert_eq!(c["version"], 2, "the second and third deliveries changed nothing: {c}");
    }

    // -- each passenger's case, judged at their final destination
    let mut by_destination: BTreeMap<&str, BTreeMap<(bool, u64, bool), usize>> = BTreeMap::new();
    let mut sample = None;
    for p in &people {
        let (status, found) = agent.get(&format!("/v1/profiles?email={}", encode(&p.email))).await.unwrap();
        assert_eq!(status, 200, "{found}");
        let id = found["items"][0]["id"].as_str().expect("a profile per passenger").to_owned();
        let case = cases.iter().find(|c| c["customer_id"] == id.as_str()).expect("the passenger's case");
        let queue = case["queue"].as_str().unwrap();
        assert_eq!(queue == "special_assistance", p.special_assistance, "{case}");
        if !p.special_assistance {
            assert_eq!(queue, "compensation");
        }
        assert_eq!((case["status"].as_str(), case["disruption"].as_str()), (Some("open"), Some("cancellation")));
        assert_eq!(case["currency"], "EUR");
        assert_eq!(case["assessment"]["refund_or_reroute_choice"]["refund"], true, "{case}");
        let key = (
            case["eligible"].as_bool().unwrap(),
            case["amount"].as_u64().unwrap(),
            case["missed_connection"].as_bool().unwrap(),
        );
        *by_destination.entry(p.final_destination).or_default().entry(key).or_default() += 1;
        if sample.is_none() && p.final_destination == "JFK" {
            sample = Some((p.clone(), id.clone(), case["id"].as_str().unwrap().to_owned()));
        }
    }
    // Dublin → Frankfurt, 1,090 km: 250 EUR; the re-routing arrives 6 h 35 min late, so no halving.
    // Connections are missed and judged at the final destination over the whole distance:
    // Athens (2,850 km) and Warsaw (1,830 km) 400 EUR, more than 3 h late; New York (5,100 km)
    // 600 EUR halved to 300 (Art. 7(2)(c): re-routed, less than 4 h late at the final destination).
    for (dest, outcome) in &by_destination {
        let (amount, missed) = match *dest {
            "FRA" => (250, false),
            "ATH" | "WAW" => (400, true),
            "JFK" => (300, true),
            other => panic!("unexpected destination {other}"),
        };
        let only: Vec<_> = outcome.keys().copied().collect();
        assert_eq!(only, vec![(true, amount, missed)], "{dest}: {outcome:?}");
    }
    assert_eq!(by_destination.len(), 4, "{by_destination:?}");

    // -- one notification per case, not per delivery, for a channel the customer allowed
    let notifications = eventually("the notifications", Duration::from_secs(60), || async {
        let n: Vec<Value> =
            outbound(&stack).await.into_iter().filter(|e| e["type"] == "notification.requested").collect();
        (n.len() >= PASSENGERS).then_some(n)
    })
    .await;
    assert_eq!(notifications.len(), PASSENGERS, "exactly one notification per case");
    let notified: HashSet<&str> = notifications.iter().map(|n| n["data"]["case_id"].as_str().unwrap()).collect();
    assert_eq!(notified, ids);
    // none of them consented to marketing: the carrier's duty to inform, by e-mail
    assert!(notifications
        .iter()
        .all(|n| n["data"]["channel"] == "email" && n["data"]["legal_basis"] == "legal_obligation"));
    // each states the entitlements beyond compensation: the Art. 8 choice (a refund within seven
    // days or re-routing) and Art. 9 care (meals, two communications; the re-routing leaves the
    // same day, so no hotel)
    for n in &notifications {
        let e = &n["data"]["entitlements"];
        assert_eq!(e["refund_or_reroute"]["refund_within_days"], 7, "{n}");
        assert!(e["refund_or_reroute"]["reroute_earliest"] == true && e["care"]["meals"] == true, "{n}");
        assert_eq!((e["care"]["communications"].as_u64(), e["care"]["hotel"].as_bool()), (Some(2), Some(false)), "{n}");
    }

    // -- the customer's view: the timeline, their own case, the erasure held
    let (passenger, id, case_id) = sample.expect("a passenger connecting to New York");
    let (status, page) = agent.get(&format!("/v1/profiles/{id}/timeline?kind=disruption")).await.unwrap();
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["detail"]["case_id"], case_id.as_str());
    let errors = validator.errors("/components/schemas/TimelinePage", &page);
    assert!(errors.is_empty(), "{errors:?}");
    let privacy = token("privacy_officer", true, None);
    let (status, refused) = privacy.post_json(&format!("/v1/profiles/{id}/erasure"), &json!({})).await.unwrap();
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("legal_hold")), "{refused}");

    let customer = token("customer", false, Some(&id));
    let (status, mine) = customer.get("/v1/cases").await.unwrap();
    assert_eq!((status, mine["count"].as_u64()), (200, Some(1)), "{mine}");
    assert!(mine["items"][0].get("queue").is_none(), "work fields are for staff");
    let (status, other) = customer
        .get(&format!(
            "/v1/cases/{}",
            cases.iter().find(|c| c["id"] != case_id.as_str()).unwrap()["id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    assert_eq!((status, other["error"]["code"].as_str()), (403, Some("not_your_profile")), "{other}");
    let path = format!("/v1/cases/{case_id}");
    let (status, refused) = customer
        .request(
            "PATCH",
            &path,
            Some("application/json"),
            serde_json::to_vec(&json!({"resolution": "voucher"})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("voucher_needs_agreement")), "{refused}");
    let (status, refused) = customer
        .request(
            "PATCH",
            &path,
            Some("application/json"),
            serde_json::to_vec(&json!({"status": "closed", "outcome": "paid"})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("forbidden_field")), "{refused}");
    let answer = json!({"resolution": "cash", "payout": {"iban": IBAN, "account_holder": HOLDER}});
    let (status, answered) =
        customer.request("PATCH", &path, Some("application/json"), serde_json::to_vec(&answer).unwrap()).await.unwrap();
    assert_eq!(status, 200, "{answered}");
    assert_eq!((answered["resolution"].as_str(), answered["payout_on_file"].as_bool()), (Some("cash"), Some(true)));
    let errors = validator.errors("/components/schemas/Case", &answered);
    assert!(errors.is_empty(), "{errors:?}");
    // the payout details are sealed: neither the IBAN nor the holder is anywhere in the table
    let mut bytes = Vec::new();
    for item in scan_table(&stack, "CasesTableName").await {
        item.values().for_each(|v| item_bytes(v, &mut bytes));
    }
    let haystack = String::from_utf8_lossy(&bytes);
    for needle in [IBAN, &IBAN.replace(' ', ""), HOLDER, &passenger.email] {
        assert!(!haystack.contains(needle), "{needle} is in the cases table in plaintext");
    }

    // -- staff work it to closure; the hold is released with the last open case
    let staff_patch = |body: Value| {
        let staff = staff.clone();
        let path = path.clone();
        async move {
            staff.request("PATCH", &path, Some("application/json"), serde_json::to_vec(&body).unwrap()).await.unwrap()
        }
    };
    let (status, refused) = agent
        .request("PATCH", &path, Some("application/json"), serde_json::to_vec(&json!({"assignee": "agent-7"})).unwrap())
        .await
        .unwrap();
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("mfa_required")), "{refused}");
    let (status, worked) =
        staff_patch(json!({"assignee": "agent-7", "note": "Paid by transfer; card 4111 1111 1111 1111 not needed"}))
            .await;
    assert_eq!((status, worked["status"].as_str()), (200, Some("in_progress")), "{worked}");
    assert_eq!(
        worked["notes"][0]["text"].as_str().map(|t| t.contains("4111 1111 1111 1111")),
        Some(false),
        "card numbers are redacted from notes"
    );
    let (status, closed) = staff_patch(json!({"status": "closed", "outcome": "paid"})).await;
    assert_eq!((status, closed["status"].as_str()), (200, Some("closed")), "{closed}");
    let errors = validator.errors("/components/schemas/Case", &closed);
    assert!(errors.is_empty(), "{errors:?}");
    // a closed case expires after its retention period; open ones do not
    for item in scan_table(&stack, "CasesTableName").await {
        let closed = item.get("status").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("closed");
        assert_eq!(item.contains_key("expires_at"), closed, "{:?}", item.get("pk"));
    }
    let (status, page) = agent.get(&format!("/v1/profiles/{id}/timeline?kind=case")).await.unwrap();
    assert_eq!(status, 200, "{page}");
    let templates: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["detail"]["notification"]["template"].as_str())
        .collect();
    assert!(templates.contains(&"resolution_chosen") && templates.contains(&"closed"), "{templates:?}");
    let (status, receipt) = privacy.post_json(&format!("/v1/profiles/{id}/erasure"), &json!({})).await.unwrap();
    assert!((200..300).contains(&status), "the hold went with the last open case: {status} {receipt}");

    // -- a week later every case still open is about to miss its SLA: the escalate function's desk
    // (its own environment from the template) escalates them, the closed one stays closed
    let escalate = stack.wiring.function_by_binary("escalate").expect("the escalate function").clone();
    let spec = &cmp_lambda::wiring::capability::ESCALATE;
    let config = cmp_lambda::wiring::config_for(spec, &|k| escalate.environment.get(k).cloned()).unwrap();
    let clients = cmp_lambda::wiring::ServiceClients::select(&cmpctl::stack::clients(&stack.sdk, None), spec);
    let wiring = cmp_lambda::handlers::Wiring::build(spec, config, clients).await.unwrap();
    let desk = cmp_app::cases::service::CaseDesk::new(wiring.case_ports().unwrap());
    let later = chrono::Utc::now() + chrono::Duration::days(8);
    let escalated = desk.escalate(later, chrono::Duration::minutes(60)).await.unwrap();
    assert_eq!(escalated.len(), PASSENGERS - 1, "every open case, once");
    assert!(!escalated.contains(&case_id));
    assert!(desk.escalate(later, chrono::Duration::minutes(60)).await.unwrap().is_empty(), "escalated once");
    let (status, queue) = staff.get("/v1/cases?queue=compensation&status=escalated").await.unwrap();
    assert_eq!(status, 200, "{queue}");
    let in_queue = PASSENGERS - 1 - people.iter().filter(|p| p.special_assistance).count();
    assert_eq!(queue["count"], in_queue, "the compensation queue, escalated");
    stack.stop().await;
}
