//! Identity on the local stack: an agent merges two profiles of one person and undoes it; reads of
//! the merged-away id answer with the survivor; the timeline, identifiers and consents follow; the
//! outbound stream says `customer.merged` and `customer.unmerged`; both profiles come back as they
//! were, including what arrived in between; the pair is then kept apart.
use cmp_tests::*;
use cmpctl::client::encode;
use serde_json::{json, Value};
use std::time::Duration;

fn observed(id: &str, source: &str, subject: &str, time: &str, data: Value) -> Value {
    json!({"specversion": "1.0", "id": id, "source": source, "type": "customer.profile_observed",
           "time": time, "subject": subject, "data": data})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_merge_and_unmerge_profiles() {
    let (stack, anonymous) = start_stack().await;
    let token = |role: &str, mfa: bool| {
        anonymous.with_token(stack.token(role, mfa, None).unwrap()).with_header("x-purpose", "identity_test")
    };
    let writer = token("channel", false);
    let agent = token("customer_affairs", true);
    let validator = OpenApiValidator::new(&openapi());
    let web = observed(
        "id-1",
        "/channels/web",
        "web-501",
        "2026-11-01T10:00:00Z",
        json!({"channel": "web",
        "name": {"given": "Dimitris", "family": "Papadakis"}, "emails": [{"address": "dimitris.p@example.com"}],
        "date_of_birth": "1979-03-02"}),
    );
    let loyalty = observed(
        "id-2",
        "/channels/loyalty",
        "member-77",
        "2026-11-02T10:00:00Z",
        json!({"channel": "loyalty",
        "name": {"given": "Dimitrios", "family": "Karras"}, "emails": [{"address": "d.karras@example.org", "verified": true}],
        "loyalty": {"number": "GA70707070", "tier": "gold"}, "phones": [{"number": "+306944123456"}]}),
    );
    let before = stack.records_done();
    assert_eq!(writer.post_json("/v1/events", &json!({"events": [web, loyalty]})).await.unwrap().0, 202);
    drained(&stack, before, 2).await;
    let find = |q: String| {
        let agent = agent.clone();
        async move {
            let (_, v) = agent.get(&format!("/v1/profiles?{q}")).await.unwrap();
            v["items"][0]["id"].as_str().map(str::to_owned)
        }
    };
    let w = find(format!("email={}", encode("dimitris.p@example.com"))).await.expect("the web profile");
    let l = find("loyalty=GA70707070".into()).await.expect("the loyalty profile");
    assert_ne!(w, l);

    // -- merge: the web profile (older) survives
    let (status, merged) = agent
        .post_json(
            &format!("/v1/profiles/{w}/merge"),
            &json!({"other": l, "reason": "same passport shown at the desk; his family name changed"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{merged}");
    assert!(validator.errors("/components/schemas/MergeResult", &merged).is_empty(), "{merged}");
    assert_eq!(
        (merged["merge"]["survivor"].as_str(), merged["merge"]["status"].as_str()),
        (Some(w.as_str()), Some("active"))
    );
    // reads of the merged-away id answer with the survivor, which has everything
    let (status, view) = agent.get(&format!("/v1/profiles/{l}")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(view["id"], w.as_str());
    assert_eq!(view["name"]["family"], "Karras", "the loyalty system is trusted more for names");
    assert_eq!(view["loyalty"]["number"], "GA70707070");
    assert_eq!(view["emails"].as_array().unwrap().len(), 2);
    assert_eq!(
        find("loyalty=GA70707070".into()).await.as_deref(),
        Some(w.as_str()),
        "its identifiers lead to the survivor"
    );
    let (_, page) = agent.get(&format!("/v1/profiles/{w}/timeline")).await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    let (status, history) = agent.get(&format!("/v1/profiles/{l}/merges")).await.unwrap();
    assert_eq!(status, 200, "{history}");
    assert!(validator.errors("/components/schemas/MergeList", &history).is_empty(), "{history}");
    assert_eq!(history["items"][0]["loser"], l.as_str());

    // -- an event for the loyalty member arrives while merged: it lands on the survivor
    let later = observed(
        "id-3",
        "/channels/loyalty",
        "member-77",
        "2026-11-05T10:00:00Z",
        json!({"channel": "loyalty", "loyalty": {"number": "GA70707070"}, "preferences": {"seat": "aisle"}}),
    );
    let before = stack.records_done();
    assert_eq!(writer.post_json("/v1/events", &later).await.unwrap().0, 202);
    drained(&stack, before, 1).await;
    let (_, view) = agent.get(&format!("/v1/profiles/{w}")).await.unwrap();
    assert_eq!(view["preferences"]["seat"], "aisle");

    // -- unmerge through the merged-away id: both back, the later event with the loyalty member
    let (status, undone) = agent
        .post_json(&format!("/v1/profiles/{l}/unmerge"), &json!({"reason": "father and son after all"}))
        .await
        .unwrap();
    assert_eq!(status, 200, "{undone}");
    assert!(validator.errors("/components/schemas/UnmergeResult", &undone).is_empty(), "{undone}");
    assert_eq!(undone["merge"]["status"], "undone");
    let (_, vw) = agent.get(&format!("/v1/profiles/{w}")).await.unwrap();
    let (_, vl) = agent.get(&format!("/v1/profiles/{l}")).await.unwrap();
    assert_eq!((vw["id"].as_str(), vl["id"].as_str()), (Some(w.as_str()), Some(l.as_str())));
    assert_eq!(vw["name"]["family"], "Papadakis");
    assert!(vw.get("loyalty").is_none() && vw["preferences"].get("seat").is_none(), "{vw}");
    assert_eq!(vl["preferences"]["seat"], "aisle", "what arrived for the member while merged went back with it");
    assert_eq!(vl["loyalty"]["tier"], "gold");
    assert_eq!(find("loyalty=GA70707070".into()).await.as_deref(), Some(l.as_str()));
    assert_eq!(find(format!("email={}", encode("dimitris.p@example.com"))).await.as_deref(), Some(w.as_str()));
    // kept apart from now on: merging again needs an agent (who may still insist)
    let (status, again) = token("admin", true)
        .post_json(&format!("/v1/profiles/{w}/merge"), &json!({"other": l, "reason": "no"}))
        .await
        .unwrap();
    assert_eq!(status, 200, "an agent's merge overrides a keep-apart decision: {again}");
    let (status, _) =
        agent.post_json(&format!("/v1/profiles/{l}/unmerge"), &json!({"reason": "really two people"})).await.unwrap();
    assert_eq!(status, 200);

    // -- the outbound stream told subscribers
    let events = eventually("the merge events", Duration::from_secs(60), || async {
        let all = outbound(&stack).await;
        let types: Vec<String> = all
            .iter()
            .filter(|e| e["subject"] == l.as_str())
            .filter_map(|e| e["type"].as_str().map(str::to_owned))
            .collect();
        (types.iter().filter(|t| *t == "customer.unmerged").count() >= 2).then_some(types)
    })
    .await;
    assert!(events.contains(&"customer.merged".to_owned()), "{events:?}");
    // the audit trail of both has the merge and the unmerge, by the agent
    let (_, trail) = token("privacy_officer", true).get(&format!("/v1/audit?customer={l}")).await.unwrap();
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().filter_map(|r| r["action"].as_str()).collect();
    assert!(actions.contains(&"profile_merged_into") && actions.contains(&"profile_unmerged"), "{actions:?}");
    assert_eq!(trail["chain"]["valid"], true);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_matches_reviews_and_agents_decide() {
    let (stack, anonymous) = start_stack().await;
    let token = |role: &str, mfa: bool| anonymous.with_token(stack.token(role, mfa, None).unwrap());
    let writer = token("channel", false);
    let steward = token("customer_affairs", true);
    let validator = OpenApiValidator::new(&openapi());
    let person = |id: &str, source: &str, given: &str, family: &str, dob: &str, email: &str| {
        let mut data = json!({"channel": "web", "name": {"given": given, "family": family}, "date_of_birth": dob,
            "emails": [{"address": email}]});
        data["address"] = if id == "s-4" {
            json!({"lines": ["3 Storgata"], "city": "Bergen", "postal_code": "5003", "country": "NO"})
        } else {
            json!({"lines": ["7 Kirkegata"], "city": "Oslo", "postal_code": "0153", "country": "NO"})
        };
        observed(id, source, &format!("acct-{id}"), "2026-11-10T10:00:00Z", data)
    };
    let events = json!({"events": [
        // the same woman under two e-mails: no identifier links them, the engine does
        person("s-1", "/channels/web", "Ingrid", "Haugen", "1983-02-14", "ingrid.h@example.com"),
        person("s-2", "/channels/app", "Ingrid", "Haugen", "1983-02-14", "ihaugen@example.org"),
        // a close call: the family name misspelt, day and month of birth swapped, year off by one, another
        // e-mail, another city
        person("s-3", "/channels/web", "Magnus", "Strand", "1990-06-21", "magnus.s@example.com"),
        person("s-4", "/channels/call-centre", "Magnus", "Strnad", "1991-06-12", "mstrand@example.net"),
    ]});
    for e in events["events"].as_array().unwrap() {
        // one at a time, so that each sees the profiles before it
        let before = stack.records_done();
        assert_eq!(writer.post_json("/v1/events", e).await.unwrap().0, 202);
        drained(&stack, before, 1).await;
    }
    let (_, a) = steward.get(&format!("/v1/profiles?email={}", encode("ingrid.h@example.com"))).await.unwrap();
    let (_, b) = steward.get(&format!("/v1/profiles?email={}", encode("ihaugen@example.org"))).await.unwrap();
    assert_eq!(a["items"][0]["id"], b["items"][0]["id"], "one profile for Ingrid");
    assert_eq!(a["items"][0]["emails"].as_array().unwrap().len(), 2);

    let (status, review) = steward.get("/v1/matches/review").await.unwrap();
    assert_eq!(status, 200, "{review}");
    assert!(validator.errors("/components/schemas/MatchList", &review).is_empty(), "{review}");
    assert_eq!(review["count"], 1, "{review}");
    let m = &review["items"][0];
    assert!(m["explanation"]["contributions"].as_array().unwrap().iter().any(|c| c["field"] == "dob"), "{m}");
    let id = m["id"].as_str().unwrap();
    // a steward decides: the same person
    let (status, decided) = steward
        .post_json(
            &format!("/v1/matches/{id}/decision"),
            &json!({"decision": "merge", "reason": "same passport number on file"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{decided}");
    assert!(validator.errors("/components/schemas/MatchDecisionResult", &decided).is_empty(), "{decided}");
    assert_eq!(
        (decided["match"]["status"].as_str(), decided["merge"]["status"].as_str()),
        (Some("merged"), Some("active"))
    );
    let (status, again) = steward
        .post_json(
            &format!("/v1/matches/{id}/decision"),
            &json!({"decision": "keep_apart", "reason": "changed my mind"}),
        )
        .await
        .unwrap();
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("already_decided")));
    let (_, m1) = steward.get(&format!("/v1/profiles?email={}", encode("magnus.s@example.com"))).await.unwrap();
    let (_, m2) = steward.get(&format!("/v1/profiles?email={}", encode("mstrand@example.net"))).await.unwrap();
    assert_eq!(m1["items"][0]["id"], m2["items"][0]["id"], "merged by the decision");
    let (_, pending) = steward.get("/v1/matches/review").await.unwrap();
    assert_eq!(pending["count"], 0);
    // the decision is in the thresholds report
    let (status, report) = steward.get("/v1/matches/report").await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert!(validator.errors("/components/schemas/MatchReport", &report).is_empty(), "{report}");
    assert_eq!(report["decisions"], 1);
    assert_eq!(report["bands"][0]["merged"], 1);
    assert_eq!(report["shared_identifiers"]["items"], json!([]), "{report}");

    // a hotel switchboard's number given by one caller after another: each contradicts the
    // number's owner, and at the guard the number stops counting and is reported
    let guard = report["shared_identifiers"]["guard"].as_u64().unwrap() as usize;
    let given = ["Pieter", "Chiara", "Dimitris", "Lucía", "Björn", "Hanna", "Rui", "Sinéad", "Oisín", "Mateo", "Zofia"];
    let dobs = [
        "1972-03-15",
        "1985-11-02",
        "1990-07-29",
        "1961-09-04",
        "1999-12-21",
        "1958-05-30",
        "1983-10-07",
        "1994-08-26",
        "1967-11-19",
        "1989-04-03",
        "1956-09-22",
    ];
    for i in 0..=guard {
        let data = json!({"channel": "call_centre",
            "name": {"given": given[i % given.len()], "family": format!("Gast{}", "x".repeat(i + 1))},
            "date_of_birth": dobs[i % dobs.len()],
            "phones": [{"number": "+35316620000"}]});
        let e =
            observed(&format!("sw-{i}"), "/channels/call-centre", &format!("crm-sw-{i}"), "2026-11-11T09:00:00Z", data);
        let before = stack.records_done();
        assert_eq!(writer.post_json("/v1/events", &e).await.unwrap().0, 202);
        drained(&stack, before, 1).await;
    }
    let (_, report) = steward.get("/v1/matches/report").await.unwrap();
    assert!(validator.errors("/components/schemas/MatchReport", &report).is_empty(), "{report}");
    let items = report["shared_identifiers"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{report}");
    assert_eq!((items[0]["kind"].as_str(), items[0]["contested"].as_u64()), (Some("phone"), Some(guard as u64)));
    let (_, owner) = steward.get(&format!("/v1/profiles?phone={}", encode("+35316620000"))).await.unwrap();
    assert_eq!(items[0]["owner"], owner["items"][0]["id"], "the first caller claims the number");
    assert!(!report.to_string().contains("6620000"), "no value in the report");
    stack.stop().await;
}
