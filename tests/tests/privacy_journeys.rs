//! The data-subject journeys of issue 23, end to end on the local stack, as a customer, an agent
//! or a regulator would try them from the outside:
//! * events and consent acts dated in the future (the exact sequence of the issue);
//! * amounts against their currency's minor units;
//! * special-category meal codes in the field views of each role and in the inventory;
//! * refusals for role, MFA and "not your profile" on the customer's own audit trail and in their
//!   access export, which also names the type of each document;
//! * erasure, then a replay of every earlier event and a new observation of the same person:
//!   nothing links the erased id to the person and no consent comes back.
use cmp_tests::*;
use cmpctl::client::{encode, ApiClient};
use serde_json::{json, Value};

const EMAIL: &str = "noa.ben-david@example.org";
const LOYALTY: &str = "GA40771925";

fn observed() -> Value {
    json!({"specversion": "1.0", "id": "journey-1", "source": "/channels/loyalty", "type": "customer.profile_observed",
           "time": "2026-11-18T08:00:00Z", "subject": "member-40771925",
           "data": {"channel": "loyalty", "name": {"given": "Noa", "family": "Ben-David"},
                    "emails": [{"address": EMAIL, "verified": true}], "phones": [{"number": "+972 52 555 0147"}],
                    "loyalty": {"number": LOYALTY, "tier": "silver"}, "date_of_birth": "1990-04-12",
                    "nationality": "IL",
                    "address": {"lines": ["12 Herzl St"], "city": "Haifa", "country": "IL"},
                    "documents": [{"type": "passport", "number": "31842277", "issuing_country": "IL", "expires_on": "2031-01-31"}],
                    "preferences": {"meal": "KSML", "seat": "aisle"}}})
}

fn chat() -> Value {
    json!({"specversion": "1.0", "id": "journey-2", "source": "/channels/chat", "type": "customer.interaction_logged",
           "time": "2026-11-19T09:00:00Z", "subject": "chat-40771925",
           "data": {"channel": "chat", "kind": "chat", "customer": {"loyalty_number": LOYALTY},
                    "summary": "Meal on GA714"}})
}

fn consent(id: &str, purpose: &str, granted: bool, customer: Value, at: &str) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "/channels/web", "type": "customer.consent_changed",
           "time": at, "subject": "web-40771925",
           "data": {"customer": customer, "purpose": purpose, "granted": granted, "jurisdiction": "IE",
                    "channel": "web", "legal_basis": "consent", "notice_version": "privacy-2026-09", "acted_at": at}})
}

async fn download(url: &str) -> (u16, Value) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap();
    let path_at = url[after_scheme..].find('/').map(|i| i + after_scheme).unwrap();
    ApiClient::new(&url[..path_at]).request("GET", &url[path_at..], None, vec![]).await.unwrap()
}

fn purpose_state(state: &Value, purpose: &str) -> Value {
    state["purposes"].as_array().unwrap().iter().find(|p| p["purpose"] == purpose).cloned().unwrap()
}

fn error_codes(resp: &Value) -> Vec<String> {
    resp["error"]["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|e| e["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_subject_journeys() {
    let (stack, anonymous) = start_stack().await;
    let token =
        |role: &str, mfa: bool, customer: Option<&str>| anonymous.with_token(stack.token(role, mfa, customer).unwrap());
    let writer = token("channel", false, None);
    let before = stack.records_done();
    let (status, body) = writer.post_json("/v1/events", &json!({"events": [observed(), chat()]})).await.unwrap();
    assert_eq!(status, 202, "{body}");
    drained(&stack, before, 2).await;
    let agent = token("call_centre_agent", true, None);
    let (_, found) = agent.get(&format!("/v1/profiles?loyalty={LOYALTY}")).await.unwrap();
    let id = found["items"][0]["id"].as_str().expect("profile").to_owned();
    let customer = token("customer", true, Some(&id));

    // -- 1. events from the future are refused, whatever their type
    let two_days = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let mut future_chat = chat();
    future_chat["id"] = json!("journey-future-chat");
    future_chat["time"] = json!(two_days);
    let future_consent =
        consent("journey-future-consent", "marketing_sms", true, json!({"customer_id": id}), &two_days);
    for e in [future_chat, future_consent] {
        let (status, resp) = writer.post_json("/v1/events", &e).await.unwrap();
        assert_eq!((status, resp["error"]["code"].as_str()), (400, Some("validation_failed")), "{resp}");
        assert!(error_codes(&resp).contains(&"time_in_future".to_owned()), "{resp}");
    }
    // the exact sequence of issue 23: a grant dated 4 minutes ahead (envelope and act), posted a
    // few seconds before an agent records the customer's withdrawal
    let ahead = (chrono::Utc::now() + chrono::Duration::minutes(4)).to_rfc3339();
    let grant = consent("journey-grant-ahead", "marketing_sms", true, json!({"customer_id": id}), &ahead);
    let before = stack.records_done();
    let (status, resp) = writer.post_json("/v1/events", &grant).await.unwrap();
    assert_eq!(status, 202, "4 minutes ahead is within the documented skew: {resp}");
    drained(&stack, before, 2).await;
    let withdrawal = json!({"purpose": "marketing_sms", "granted": false, "jurisdiction": "IE", "channel": "call_centre",
                            "notice_version": "privacy-2026-09"});
    let (status, resp) = agent.post_json(&format!("/v1/profiles/{id}/consents"), &withdrawal).await.unwrap();
    assert_eq!(status, 201, "{resp}");
    let (_, state) = customer.get(&format!("/v1/profiles/{id}/consents")).await.unwrap();
    let sms = purpose_state(&state, "marketing_sms");
    assert_eq!(sms["allowed"], false, "{sms}");
    assert_eq!(sms["evidence"]["channel"], "call_centre", "the withdrawal decides: {sms}");
    // and keeps deciding once the grant's claimed time has passed: no act in the ledger lies in
    // the future, and the grant counts from before the withdrawal
    let (_, history) = customer.get(&format!("/v1/profiles/{id}/consents/history")).await.unwrap();
    let items = history["items"].as_array().unwrap();
    let acted = |channel: &str| -> chrono::DateTime<chrono::Utc> {
        items.iter().find(|r| r["purpose"] == "marketing_sms" && r["channel"] == channel).unwrap()["acted_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(acted("web") <= chrono::Utc::now(), "an act recorded in the future: {history}");
    assert!(acted("web") < acted("call_centre"), "the earlier-posted grant must rank before the withdrawal: {history}");

    // -- 5. amounts follow their currency's minor units
    let mut shop = chat();
    shop["id"] = json!("journey-shop");
    shop["data"]["kind"] = json!("retail_purchase");
    shop["data"]["amount"] = json!({"amount": 1500.5, "currency": "JPY"});
    let (status, resp) = writer.post_json("/v1/events", &shop).await.unwrap();
    assert_eq!(status, 400, "{resp}");
    assert_eq!(error_codes(&resp), vec!["invalid_minor_units".to_owned()], "{resp}");
    shop["data"]["amount"] = json!({"amount": 1500, "currency": "JPY"});
    let before = stack.records_done();
    let (status, resp) = writer.post_json("/v1/events", &shop).await.unwrap();
    assert_eq!(status, 202, "{resp}");
    drained(&stack, before, 1).await;

    // -- 4. a kosher meal reveals religion: only the roles that serve the passenger see it
    for (role, sees) in [
        ("marketing", false),
        ("data_analyst", false),
        ("cabin_crew", true),
        ("checkin_agent", true),
        ("call_centre_agent", true),
    ] {
        let (status, view) = token(role, false, None).get(&format!("/v1/profiles/{id}")).await.unwrap();
        assert_eq!(status, 200, "{role}: {view}");
        assert_eq!(view["preferences"]["meal"] == "KSML", sees, "{role}: {view}");
        if !sees {
            assert!(!view.to_string().contains("KSML"), "{role} sees the meal code: {view}");
        }
    }
    let dpo = token("privacy_officer", true, None);
    let (status, inventory) = dpo.get("/v1/privacy/inventory").await.unwrap();
    assert_eq!(status, 200, "{inventory}");
    let meal = inventory["fields"].as_array().unwrap().iter().find(|f| f["field"] == "special_meal").cloned();
    let meal = meal.unwrap_or_else(|| panic!("the inventory lists no special_meal: {inventory}"));
    assert_eq!(meal["classification"], "special_category_religion_or_health");
    assert!(!meal["outputs"]["api_roles"].to_string().contains("marketing"));

    // -- 3. refusals about her are on her own chain: role, MFA, not her profile
    let (status, _) = token("cabin_crew", true, None).get(&format!("/v1/profiles/{id}/timeline")).await.unwrap();
    assert_eq!(status, 403);
    let (status, resp) = token("privacy_officer", false, None)
        .post_json(&format!("/v1/profiles/{id}/access-requests"), &json!({}))
        .await
        .unwrap();
    assert_eq!((status, resp["error"]["code"].as_str()), (403, Some("mfa_required")));
    let stranger = token("customer", true, Some("cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6b"));
    assert_eq!(stranger.get(&format!("/v1/profiles/{id}")).await.unwrap().0, 403);
    let refusals = [
        ("cabin_crew", "denied:forbidden"),
        ("privacy_officer", "denied:mfa_required"),
        ("customer", "denied:not_your_profile"),
    ];
    let (status, trail) = dpo.get(&format!("/v1/audit?customer={id}")).await.unwrap();
    assert_eq!(status, 200, "{trail}");
    assert_eq!(trail["chain"]["valid"], true);
    let on_trail = |records: &[Value], role: &str, outcome: &str| {
        records.iter().any(|r| r["role"] == role && r["outcome"] == outcome)
    };
    for (role, outcome) in refusals {
        assert!(
            on_trail(trail["items"].as_array().unwrap(), role, outcome),
            "{role} {outcome} missing from her trail: {trail}"
        );
    }
    // her access export lists them too, and names the type of her document
    let (status, export) = customer.post_json(&format!("/v1/profiles/{id}/access-requests"), &json!({})).await.unwrap();
    assert_eq!(status, 201, "{export}");
    let (status, doc) = download(export["url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{doc}");
    for (role, outcome) in refusals {
        assert!(
            on_trail(doc["disclosures"].as_array().unwrap(), role, outcome),
            "{role} {outcome} missing from her export"
        );
    }
    let document = doc["identifiers"].as_array().unwrap().iter().find(|i| i["kind"] == "document").cloned().unwrap();
    assert_eq!(document["type"], "passport", "{document}");
    assert_eq!(doc["profile"]["preferences"]["meal"], "KSML", "the data subject sees everything held");

    // -- 2. erasure, then every earlier event replayed, then the same person seen again
    let sharing =
        consent("journey-sharing", "partner_sharing", true, json!({"loyalty_number": LOYALTY}), "2026-11-19T10:00:00Z");
    let before = stack.records_done();
    writer.post_json("/v1/events", &sharing).await.unwrap();
    drained(&stack, before, 2).await;
    let (_, state) = customer.get(&format!("/v1/profiles/{id}/consents")).await.unwrap();
    assert_eq!(purpose_state(&state, "partner_sharing")["allowed"], true, "{state}");
    let partner_rows = || async {
        let (status, resp) =
            dpo.post_json("/v1/exports", &json!({"partners": ["velo-car-rental"], "k": 1})).await.unwrap();
        assert_eq!(status, 201, "{resp}");
        resp["reports"][0]["manifest"]["rows"].as_u64().unwrap()
    };
    assert_eq!(partner_rows().await, 1, "she shares with partners before the erasure");
    // a review of a candidate match between her and another profile (raised through the store, as
    // identity resolution raises them)
    let identity_store = {
        let f = stack.wiring.function_by_binary("api").expect("the api function").clone();
        let spec = &cmp_lambda::wiring::capability::API;
        let config = cmp_lambda::wiring::config_for(spec, &|k| f.environment.get(k).cloned()).unwrap();
        let clients = cmp_lambda::wiring::ServiceClients::select(&cmpctl::stack::clients(&stack.sdk, None), spec);
        cmp_lambda::handlers::Wiring::build(spec, config, clients).await.unwrap().store().unwrap()
    };
    {
        use cmp_app::store::{IdentityStore, MatchCandidate, MatchStatus};
        let (a, b): (cmp_app::domain::CustomerId, cmp_app::domain::CustomerId) =
            (id.parse().unwrap(), "cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6c".parse().unwrap());
        let m = MatchCandidate {
            id: MatchCandidate::id_for(&a, &b),
            a,
            b,
            score: 3.2,
            explanation: json!({"score": 3.2, "contributions": []}),
            status: MatchStatus::Pending,
            created_at: chrono::Utc::now(),
            event_id: "journey-match".into(),
            decided_at: None,
            decided_by: None,
        };
        assert!(identity_store.put_match(&m).await.unwrap());
    }
    let (status, receipt) = customer.post_json(&format!("/v1/profiles/{id}/erasure"), &json!({})).await.unwrap();
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["matches_forgotten"], 1, "{receipt}");
    assert!(receipt["blocks_left"].as_u64().unwrap_or(0) > 0, "{receipt}");
    let retained = receipt["retained"].to_string();
    assert!(retained.contains("blocking item") && retained.contains("consent events included"), "{receipt}");

    // the same person seen again (a new event): a new profile, which the replays below must not
    // reach through her identifiers
    let mut again = observed();
    again["id"] = json!("journey-again");
    again["time"] = json!("2026-12-01T08:00:00Z");
    let before = stack.records_done();
    writer.post_json("/v1/events", &again).await.unwrap();
    drained(&stack, before, 1).await;
    let (_, found) = agent.get(&format!("/v1/profiles?email={}", encode(EMAIL))).await.unwrap();
    let new_id = found["items"][0]["id"].as_str().expect("the new profile").to_owned();
    assert_ne!(new_id, id);
    let before = stack.records_done();
    let replay = json!({"events": [observed(), chat(), grant, sharing, shop]});
    let (status, resp) = writer.post_json("/v1/events", &replay).await.unwrap();
    assert_eq!(status, 202, "{resp}");
    drained(&stack, before, 7).await;
    let (_, history) = dpo.get(&format!("/v1/profiles/{new_id}/consents/history")).await.unwrap();
    assert_eq!(history["items"], json!([]), "a replayed consent reached the new profile: {history}");
    let (_, state) = dpo.get(&format!("/v1/profiles/{new_id}/consents")).await.unwrap();
    assert_eq!(purpose_state(&state, "partner_sharing")["allowed"], false);
    assert_eq!(partner_rows().await, 0, "the replayed consent put her back into the partner export");
    let (_, timeline) = dpo.get(&format!("/v1/profiles/{new_id}/timeline")).await.unwrap();
    assert_eq!(timeline["items"].as_array().unwrap().len(), 1, "only the new observation: {timeline}");
    // no item names the erased id but its tombstone, its request records and its replay guards
    for item in scan_profiles(&stack).await {
        let mut bytes = Vec::new();
        for v in item.values() {
            item_bytes(v, &mut bytes);
        }
        if !String::from_utf8_lossy(&bytes).contains(&id) {
            continue;
        }
        let pk = item["pk"].as_s().unwrap();
        let sk = item["sk"].as_s().unwrap();
        let entity = item.get("entity").and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
        let allowed =
            (pk == &format!("CUST#{id}") && (sk == "PROFILE" || sk.starts_with("DSR#"))) || entity == "replay_guard";
        assert!(allowed, "an item still names the erased id: {pk} {sk} ({entity})");
    }
    stack.stop().await;
}
