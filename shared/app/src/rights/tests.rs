use super::*;
use crate::audit::MemoryAuditLog;
use crate::cases::CaseStore;
use crate::consent::{ConsentRecord, Purpose};
use crate::crypto::fake::FakeKms;
use crate::crypto::{customer_context, BlindIndexer, CachePolicy, DataKey, KeyService};
use crate::domain::event::Identifier;
use crate::merge::{timeline_field, Merge, Outcome};
use crate::schema::EventValidator;
use crate::store::memory::MemoryStore;
use serde_json::json;

struct World {
    store: Arc<MemoryStore>,
    kms: Arc<FakeKms>,
    keys: Arc<KeyRing>,
    merge: Merge,
    ledger: Arc<ConsentLedger>,
    indexer: Arc<BlindIndexer>,
    exports: Arc<MemoryExports>,
    rights: Rights,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::default());
    let kms = Arc::new(FakeKms::new());
    let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), CachePolicy::default()));
    let indexer = Arc::new(BlindIndexer::from_key(&[3; 32]));
    let merge = Merge::new(
        store.clone(),
        keys.clone(),
        kms.clone(),
        indexer.clone(),
        Arc::new(EventValidator::new().unwrap()),
        14,
    );
    let ledger = Arc::new(ConsentLedger::new(store.clone(), store.clone(), indexer.clone()));
    let read = Arc::new(ReadApi::new(store.clone(), keys.clone(), indexer.clone()));
    let exports = Arc::new(MemoryExports::default());
    let rights = Rights::new(
        store.clone(),
        store.clone(),
        keys.clone(),
        read,
        ledger.clone(),
        Arc::new(MemoryAuditLog::default()),
        exports.clone(),
    );
    World { store, kms, keys, merge, ledger, indexer, exports, rights }
}

fn event(id: &str, kind: &str, data: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "specversion": "1.0", "id": id, "source": "/channels/web", "type": kind,
        "time": "2026-11-20T10:00:00Z", "subject": "acct-77", "data": data
    }))
    .unwrap()
}

fn profile_event() -> Vec<u8> {
    event(
        "p1",
        "customer.profile_observed",
        json!({"channel": "web", "name": {"given": "Sinéad", "family": "Ní Bhriain"},
               "emails": [{"address": "sinead.nibhriain@example.ie", "verified": true}],
               "phones": [{"number": "+353 87 123 4567"}],
               "loyalty": {"number": "GA77120044", "tier": "gold"}, "date_of_birth": "1988-02-29",
               "documents": [{"type": "passport", "number": "PE4417210", "issuing_country": "IE"}]}),
    )
}

fn chat_event() -> Vec<u8> {
    event(
        "c1",
        "customer.interaction_logged",
        json!({"channel": "chat", "kind": "chat", "customer": {"loyalty_number": "GA77120044"},
               "summary": "Seat change", "text": "Could I move to 12A please?"}),
    )
}

fn booking_event() -> Vec<u8> {
    event(
        "b1",
        "booking.recorded",
        json!({"record_locator": "Q8ZP4M", "channel": "web", "status": "confirmed", "booked_at": "2026-11-20T09:58:00Z",
               "segments": [{"segment_id": "S1", "flight_number": "GA201", "operating_carrier": "GA", "departure_date": "2026-12-18",
                              "origin": "DUB", "destination": "ATH",
                              "scheduled_departure": "2026-12-18T07:05:00+00:00", "scheduled_arrival": "2026-12-18T13:35:00+02:00"}],
               "passengers": [{"passenger_id": "P1", "name": {"given": "Sinéad", "family": "Ní Bhriain"}, "type": "adult",
                               "loyalty_number": "GA77120044", "ticket_number": "0722100000001"}]}),
    )
}

async fn seeded(w: &World) -> CustomerId {
    for e in [profile_event(), chat_event(), booking_event()] {
        let out = w.merge.process_record(&e, "t").await.unwrap();
        assert!(matches!(out, Outcome::Applied(_)), "{out:?}");
    }
    let id = w.store.profiles()[0].id.clone();
    let rec = ConsentRecord {
        purpose: Purpose::MarketingEmail,
        granted: true,
        acted_at: "2026-11-20T10:05:00Z".parse().unwrap(),
        recorded_at: Utc::now(),
        jurisdiction: Some("IE".into()),
        channel: "web".into(),
        legal_basis: "consent".into(),
        notice_version: "privacy-2026-09".into(),
        captured_by: "customer".into(),
        event_id: "e-consent".into(),
    };
    let entry = AuditEntry {
        at: Utc::now(),
        actor: "/channels/web".into(),
        role: "channel".into(),
        action: "consent_recorded".into(),
        customer_id: Some(id.to_string()),
        fields: vec![],
        purpose: "consent_management".into(),
        request_id: "r".into(),
        outcome: "granted".into(),
    };
    w.ledger.append(&id, rec, entry).await.unwrap();
    id
}

fn officer() -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor: "dpo-1".into(),
        role: "privacy_officer".into(),
        action: "erase_profile".into(),
        customer_id: None,
        fields: vec![],
        purpose: "data_subject_request".into(),
        request_id: "req-1".into(),
        outcome: "allowed".into(),
    }
}

/// A compensation case of the customer, with a note and payout details sealed with their key.
async fn case_of(w: &World, id: &CustomerId) -> crate::cases::Case {
    use crate::cases::{case_id, flight_key, Case, CaseNote, CaseStatus};
    let key = w.keys.key_for(id).await.unwrap();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 18).unwrap();
    let fk = flight_key("GA714", date);
    let cid = case_id(&fk, "pax-1");
    let now = Utc::now();
    let payout = json!({"iban": "IE29AIBK93115212345678", "account_holder": "Sinéad Nic Aodha"});
    Case {
        id: cid.clone(),
        customer_id: id.clone(),
        passenger_key: "pax-1".into(),
        flight_key: fk,
        flight: "GA714".into(),
        date,
        disruption: crate::compensation::DisruptionType::Cancellation,
        disruption_event: "ops-1".into(),
        disruption_time: now,
        status: CaseStatus::InProgress,
        queue: "compensation".into(),
        priority: 3,
        priority_reasons: vec!["score 10".into()],
        assignee: Some("agent-1".into()),
        assessment: json!({"eligible": true}),
        request: json!({}),
        eligible: true,
        amount: 250,
        currency: Some("EUR".into()),
        provisional: false,
        missed_connection: false,
        final_arrival: None,
        resolution: Some("cash".into()),
        voucher_agreed_at: None,
        payout_sealed: Some(key.seal(id.as_str(), &format!("case:{cid}:payout"), payout.to_string().as_bytes())),
        notes: vec![CaseNote {
            at: now,
            by: "agent-1".into(),
            sealed: key.seal(id.as_str(), &format!("case:{cid}:note:0"), b"Called back about the payment"),
        }],
        history: vec![],
        outcome: None,
        created_at: now,
        updated_at: now,
        sla_due_at: now,
        escalated_at: None,
        effects_done: true,
        version: 2,
    }
}

#[tokio::test]
async fn an_access_export_holds_every_kind_of_item_the_profile_has() {
    let mut w = world();
    let id = seeded(&w).await;
    let cases = Arc::new(crate::cases::memory::MemoryCases::default());
    cases.put_case(&case_of(&w, &id).await, None).await.unwrap();
    w.rights = w.rights.clone().with_cases(cases);
    let out = w.rights.access(&id, "customer:cus").await.unwrap();
    assert_eq!(out.request.status, RightsRequestStatus::Completed);
    assert_eq!(out.request.due_at, out.request.requested_at.checked_add_months(Months::new(1)).unwrap());
    let key = out.request.object_key.clone().unwrap();
    let body = w.exports.objects.lock().unwrap().get(&key).cloned().unwrap();
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["format"], EXPORT_FORMAT);
    assert_eq!(doc["profile"]["name"]["given"], "Sinéad");
    assert_eq!(doc["profile"]["lineage"]["name"]["source"], "/channels/web");
    let kinds: Vec<&str> = doc["identifiers"].as_array().unwrap().iter().filter_map(|i| i["kind"].as_str()).collect();
    for k in ["email", "phone", "loyalty", "document", "booking_passenger", "ticket"] {
        assert!(kinds.contains(&k), "identifier kind {k} missing: {kinds:?}");
    }
    // issue 23 (5): the document's type, as the profile holds it (`type`)
    let document = doc["identifiers"].as_array().unwrap().iter().find(|i| i["kind"] == "document").unwrap();
    assert_eq!((document["type"].as_str(), document["issuing_country"].as_str()), (Some("passport"), Some("IE")));
    let mut timeline_kinds: Vec<&str> =
        doc["timeline"].as_array().unwrap().iter().filter_map(|t| t["kind"].as_str()).collect();
    timeline_kinds.sort();
    assert_eq!(timeline_kinds, ["booking", "chat", "profile_observed"]);
    let chat = doc["timeline"].as_array().unwrap().iter().find(|t| t["kind"] == "chat").unwrap();
    assert_eq!(chat["detail"]["text"], "Could I move to 12A please?");
    assert_eq!(doc["bookings"][0]["detail"]["record_locator"], "Q8ZP4M");
    assert_eq!(doc["consents"]["history"].as_array().unwrap().len(), 1);
    assert_eq!(doc["consents"]["current"].as_array().unwrap().len(), Purpose::ALL.len());
    assert!(doc["identifier_index_entries"].as_u64().unwrap() >= 5);
    assert_eq!(doc["partner_sharing"]["in_force"], false, "IE is opt-in and nothing was granted");
    assert_eq!(doc["partner_sharing"]["partners"].as_array().unwrap().len(), crate::export::PARTNERS.len());
    for k in ["disclosures", "legal_holds", "data_subject_requests", "retention"] {
        assert!(doc[k].is_array(), "{k} missing");
    }
    // the compensation case, with its note and payout details opened for the customer
    assert_eq!(doc["cases"].as_array().unwrap().len(), 1, "{}", doc["cases"]);
    let case = &doc["cases"][0];
    assert_eq!((case["flight"].as_str(), case["amount"].as_u64()), (Some("GA714"), Some(250)));
    assert_eq!(case["notes"][0]["text"], "Called back about the payment");
    assert_eq!(case["payout"]["iban"], "IE29AIBK93115212345678");
    assert!(case["history"].is_array() && case["queue"].is_string(), "{case}");
    // tracked: listed with a fresh link
    let listed = w.rights.requests(&id).await.unwrap();
    assert_eq!(listed[0]["status"], "completed");
    assert!(listed[0]["url"].as_str().is_some());
}

#[tokio::test]
async fn erasure_shreds_the_key_and_a_replayed_event_cannot_bring_the_customer_back() {
    let w = world();
    let id = seeded(&w).await;
    w.rights.access(&id, "customer:x").await.unwrap();
    let before = w.store.profiles()[0].clone();
    let page = w.store.timeline(&id, None, 10, None).await.unwrap();
    let old_timeline = page.items[0].clone();
    let wrapped = w.store.get_wrapped_for_test(id.as_str());
    let loyalty_lookup = w.indexer.lookup_key(&Identifier::Loyalty("GA77120044".into()));
    assert_eq!(w.store.owner_of(&loyalty_lookup).await.unwrap(), Some(id.clone()));

    let receipt = w.rights.erase(&id, officer()).await.unwrap();
    assert!(receipt.data_key_destroyed);
    assert_eq!(receipt.exports_deleted, 1);
    assert!(receipt.replay_guards >= 3 && receipt.lookups_deleted >= 5, "{receipt:?}");

    // nothing left in the system opens the old ciphertexts
    assert!(matches!(w.keys.key_for(&id).await, Err(crate::crypto::KeyError::Missing)));
    assert!(w.store.get_wrapped_for_test(id.as_str()).is_none());
    let name = before.sealed.get("name").unwrap();
    for k in w.store.all_wrapped_for_test() {
        if let Ok(plain) = w.kms.decrypt_data_key(&k, &customer_context(id.as_str())).await {
            let key = DataKey::from_bytes(&plain);
            assert!(key.open(id.as_str(), "name", name).is_err());
            assert!(key.open(id.as_str(), &timeline_field(&old_timeline.sk), &old_timeline.payload).is_err());
        }
    }
    // the key that was destroyed did open them (the test would prove nothing otherwise)
    let plain = w.kms.decrypt_data_key(&wrapped.unwrap(), &customer_context(id.as_str())).await.unwrap();
    assert!(DataKey::from_bytes(&plain).open(id.as_str(), "name", name).is_ok());

    // the tombstone holds nothing personal; blind indexes no longer find them
    let tomb = w.store.get_profile(&id).await.unwrap().unwrap();
    assert_eq!(tomb.status, ProfileStatus::Erased);
    assert!(tomb.sealed.is_empty() && tomb.lineage.is_empty() && tomb.sources.is_empty() && tomb.tier.is_none());
    assert_eq!(w.store.owner_of(&loyalty_lookup).await.unwrap(), None);
    assert!(w.store.lookups_of(&id).is_empty());
    assert_eq!(w.store.timeline_count(&id), 0);
    assert!(w.ledger.history(&id).await.unwrap().is_empty());
    assert!(w.exports.objects.lock().unwrap().is_empty());

    // replaying the old events changes nothing
    for e in [profile_event(), chat_event(), booking_event()] {
        w.merge.process_record(&e, "replay").await.unwrap();
    }
    assert_eq!(w.store.profile_count(), 1, "no profile re-created");
    assert_eq!(w.store.lookup_count(), 0);
    // reads answer erased; a second erasure is refused as such
    assert!(matches!(w.rights.access(&id, "x").await, Err(RightsError::Erased)));
    assert!(matches!(w.rights.erase(&id, officer()).await, Err(RightsError::Erased)));
    let reqs = w.store.requests(&id).await.unwrap();
    assert!(reqs.iter().any(|r| r.kind == RightsRequestKind::Erasure && r.status == RightsRequestStatus::Completed));
}

fn consent_event(id: &str, granted: bool) -> Vec<u8> {
    event(
        id,
        "customer.consent_changed",
        json!({"customer": {"loyalty_number": "GA77120044"}, "purpose": "partner_sharing", "granted": granted,
               "jurisdiction": "IE", "channel": "web", "legal_basis": "consent", "notice_version": "privacy-2026-09",
               "acted_at": "2026-11-20T10:01:00Z"}),
    )
}

/// Issue 23 (2): after an erasure nothing names the erased id but its tombstone, its replay guards,
/// its audit trail and its request records; replaying every earlier event (profile, interaction,
/// booking, consent) recreates neither the profile nor its consent, and a new profile of the same
/// person is not linked to the erased id.
#[tokio::test]
async fn after_erasure_no_item_links_the_person_and_no_replay_recreates_consent() {
    let w = world();
    let merge = Merge::new(
        w.store.clone(),
        w.keys.clone(),
        w.kms.clone(),
        w.indexer.clone(),
        Arc::new(EventValidator::new().unwrap()),
        14,
    )
    .with_resolution(w.store.clone());
    let consents = crate::consent::ConsentProcessor::new(
        ConsentLedger::new(w.store.clone(), w.store.clone(), w.indexer.clone()),
        Arc::new(EventValidator::new().unwrap()),
        crate::deadletter::DeadLetters::new(w.store.clone(), w.kms.clone(), 14),
    );
    let events = [profile_event(), chat_event(), booking_event()];
    for e in &events {
        merge.process_record(e, "t").await.unwrap();
    }
    let id = w.store.profiles()[0].id.clone();
    let consent = consent_event("consent-1", true);
    assert!(matches!(
        consents.process_record(&consent, "t").await.unwrap(),
        crate::consent::ConsentOutcome::Recorded { .. }
    ));
    assert!(w.ledger.may_use(&id, Purpose::PartnerSharing).await.unwrap().allowed);
    assert!(!w.store.blocks_naming(&id).is_empty(), "the test needs blocking items naming the customer");

    // a review of a candidate match between her and someone else
    let other = CustomerId::new();
    let review = crate::store::MatchCandidate {
        id: crate::store::MatchCandidate::id_for(&id, &other),
        a: other.clone(),
        b: id.clone(),
        score: 3.1,
        explanation: json!({}),
        status: crate::store::MatchStatus::Pending,
        created_at: Utc::now(),
        event_id: "p1".into(),
        decided_at: None,
        decided_by: None,
    };
    use crate::store::IdentityStore;
    assert!(w.store.put_match(&review).await.unwrap());
    let w_rights = w.rights.clone().with_merges(w.store.clone());
    let receipt = w_rights.erase(&id, officer()).await.unwrap();
    assert_eq!(receipt.matches_forgotten, 1, "{receipt:?}");
    assert!(w.store.get_match(&review.id).await.unwrap().is_none(), "a review still links the erased id");
    assert!(w.store.blocks_naming(&id).is_empty(), "blocking items still name the erased id");
    assert!(receipt.blocks_left > 0, "{receipt:?}");
    let retained = receipt.retained.join("\n");
    assert!(retained.contains("blocking item") && retained.contains("consent events included"), "{retained}");

    // the same person seen again: a new profile, linked to nothing of the erased one
    let again = event(
        "p2",
        "customer.profile_observed",
        json!({"channel": "web", "name": {"given": "Sinéad", "family": "Ní Bhriain"},
               "emails": [{"address": "sinead.nibhriain@example.ie", "verified": true}],
               "loyalty": {"number": "GA77120044"}, "date_of_birth": "1988-02-29"}),
    );
    merge.process_record(&again, "t").await.unwrap();
    let new_id = w.store.profiles().into_iter().find(|p| p.id != id).map(|p| p.id).expect("a new profile");
    // every earlier event replayed, by id: nothing changes, no consent comes back
    for e in events.iter().chain([&consent]) {
        merge.process_record(e, "replay").await.unwrap();
        consents.process_record(e, "replay").await.unwrap();
    }
    assert!(w.store.blocks_naming(&id).is_empty(), "a replay re-linked the erased id");
    assert!(w.ledger.history(&new_id).await.unwrap().is_empty(), "a replayed consent reached the new profile");
    assert!(!w.ledger.may_use(&new_id, Purpose::PartnerSharing).await.unwrap().allowed);
    assert!(w.store.lookups_of(&id).is_empty());
    assert_eq!(w.store.timeline_count(&id), 0);
    let new = w.store.get_profile(&new_id).await.unwrap().unwrap();
    assert!(new.members.is_empty() && new.merged_into.is_none());
    assert_eq!(new.bookings, 0, "the replayed booking went nowhere");
    // a genuine new consent act (new event id) is recorded for the new profile
    assert!(matches!(
        consents.process_record(&consent_event("consent-2", true), "t").await.unwrap(),
        crate::consent::ConsentOutcome::Recorded { .. }
    ));
    assert_eq!(w.ledger.history(&new_id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_legal_hold_defers_the_erasure_and_says_why() {
    let w = world();
    let id = seeded(&w).await;
    let hold = LegalHold {
        kind: "fraud_investigation".into(),
        reference: "FR-2026-118".into(),
        placed_at: Utc::now(),
        placed_by: "dpo-1".into(),
    };
    w.store.put_hold(&id, &hold).await.unwrap();
    match w.rights.erase(&id, officer()).await {
        Err(RightsError::Held { request, holds }) => {
            assert_eq!(request.status, RightsRequestStatus::Deferred);
            assert_eq!(holds, vec![hold]);
        }
        other => panic!("{other:?}"),
    }
    assert!(w.keys.key_for(&id).await.is_ok(), "nothing was erased");
    assert_eq!(w.store.get_profile(&id).await.unwrap().unwrap().status, ProfileStatus::Active);
    w.store.release_hold(&id, "fraud_investigation").await.unwrap();
    assert!(w.rights.erase(&id, officer()).await.is_ok());
}

#[tokio::test]
async fn erasing_a_merged_profile_erases_what_was_merged_into_it() {
    let w = world();
    let id = seeded(&w).await;
    // another record of her, under another e-mail: a second profile, merged into the first
    let other = serde_json::to_vec(&json!({
        "specversion": "1.0", "id": "o1", "source": "/channels/app", "type": "customer.profile_observed",
        "time": "2026-11-21T10:00:00Z", "subject": "app-991",
        "data": {"channel": "mobile_app", "name": {"given": "Sinéad", "family": "Nic Aodha"},
                 "emails": [{"address": "sinead.other@example.org"}], "phones": [{"number": "+353871234999"}]}
    }))
    .unwrap();
    w.merge.process_record(&other, "t").await.unwrap();
    let member = w.store.profiles().into_iter().map(|p| p.id).find(|p| p != &id).unwrap();
    let sealed_before = w.store.get_profile_for_test(&member).sealed.clone();
    let member_key = w.store.get_wrapped_for_test(member.as_str()).unwrap();
    let identity = crate::identity::Identity::new(w.store.clone(), w.store.clone(), w.keys.clone());
    identity.merge(&id, &member, &crate::identity::Actor::system("t"), "same person", json!({}), true).await.unwrap();
    let receipt = w.rights.erase(&id, officer()).await.unwrap();
    assert_eq!(receipt.members_erased, vec![member.clone()]);
    let tomb = w.store.get_profile_for_test(&member);
    assert_eq!(tomb.status, ProfileStatus::Erased);
    assert!(tomb.sealed.is_empty());
    assert!(w.store.get_wrapped_for_test(member.as_str()).is_none(), "the member's key is destroyed too");
    // the member's old ciphertexts opened with its key; nothing left opens them
    let plain = w.kms.decrypt_data_key(&member_key, &customer_context(member.as_str())).await.unwrap();
    assert!(DataKey::from_bytes(&plain).open(member.as_str(), "emails", &sealed_before["emails"]).is_ok());
    for k in w.store.all_wrapped_for_test() {
        if let Ok(p) = w.kms.decrypt_data_key(&k, &customer_context(member.as_str())).await {
            assert!(DataKey::from_bytes(&p).open(member.as_str(), "emails", &sealed_before["emails"]).is_err());
        }
    }
    let other_email = w.indexer.lookup_key(&Identifier::Email("sinead.other@example.org".into()));
    assert_eq!(w.store.owner_of(&other_email).await.unwrap(), None, "its identifiers went with the survivor's");
}
