//! End-to-end tests of the platform on the local AWS emulator: the resources come from
//! `infra/template.yaml` through the emulator's CloudFormation, and the functions run wired as the
//! template wires them (HTTP API routes, the Kinesis mapping with partial batch failures).
use cmp_tests::*;
use cmpctl::client::encode;
use serde_json::{json, Value};
use std::time::Duration;

fn sample(name: &str) -> Value {
    let path = cmpctl::repo_root().join("events").join(name);
    serde_json::from_slice(&std::fs::read(path).expect("sample")).expect("sample json")
}

fn observed(id: &str, source: &str, subject: &str, data: Value) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": source, "type": "customer.profile_observed",
        "time": "2026-11-20T10:00:00Z", "subject": subject, "data": data
    })
}

async fn find(client: &cmpctl::client::ApiClient, query: &str) -> Option<Value> {
    let (status, body) = client.get(&format!("/v1/profiles?{query}")).await.ok()?;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().and_then(|a| a.first().cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_end_to_end() {
    cmp_app::telemetry::init();
    let (stack, anonymous) = start_stack().await;
    let writer = anonymous.with_token(stack.token("channel", false, None).unwrap());
    let client = anonymous.with_token(stack.token("call_centre_agent", false, None).unwrap());
    let openapi = openapi();
    let schemas = OpenApiValidator::new(&openapi);

    // -- health, and the route table is the one the OpenAPI document describes
    let (status, body) = client.get("/v1/health").await.unwrap();
    assert_eq!((status, &body), (200, &json!({"status": "ok"})));
    assert_eq!(schemas.errors("/components/schemas/Health", &body), Vec::<String>::new());
    let mut served: Vec<String> = stack
        .wiring
        .functions
        .iter()
        .flat_map(|f| f.events.iter())
        .filter_map(|e| match e {
            cmpctl::wiring::EventSource::HttpApi { method, path, .. } => Some(format!("{method} {path}")),
            _ => None,
        })
        .collect();
    let documented = documented_routes(&openapi);
    served.sort();
    assert_eq!(served, documented, "template routes and OpenAPI paths differ");

    // -- 1. an event posted to the API becomes a profile readable through the API
    let mut ev = sample("customer.profile_observed.json");
    ev["id"] = json!("e2e-sample-1");
    let email = ev["data"]["emails"][0]["address"].as_str().unwrap().to_owned();
    let given = ev["data"]["name"]["given"].as_str().unwrap().to_owned();
    let before = stack.records_done();
    let (status, body) = writer.post_json("/v1/events", &ev).await.unwrap();
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], json!([{"index": 0, "id": "e2e-sample-1"}]));
    assert_eq!(schemas.errors("/components/schemas/IngestResult", &body), Vec::<String>::new());
    drained(&stack, before, 1).await;
    let profile = find(&client, &format!("email={}", encode(&email))).await.expect("profile by e-mail");
    assert_eq!(profile["name"]["given"], json!(given));
    assert_eq!(schemas.errors("/components/schemas/Profile", &profile), Vec::<String>::new());
    let id = profile["id"].as_str().unwrap().to_owned();
    let (status, by_id) = client.get(&format!("/v1/profiles/{id}")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(by_id, profile);

    // -- 2. the same customer on two channels with a shared identifier becomes one profile
    let web = observed(
        "e2e-web-1",
        "/channels/web",
        "web-9001",
        json!({
        "channel": "web", "name": {"given": "Łukasz", "family": "Wiśniewski"},
        "emails": [{"address": "lukasz.wisniewski@example.com", "verified": true}]}),
    );
    let call = observed(
        "e2e-crm-1",
        "/channels/call-centre",
        "crm-5512",
        json!({
        "channel": "call_centre", "emails": [{"address": "Lukasz.Wisniewski@EXAMPLE.com"}],
        "phones": [{"number": "+48 512 345 678"}]}),
    );
    let before = stack.records_done();
    let (status, body) = writer.post_json("/v1/events", &json!({"events": [web, call]})).await.unwrap();
    assert_eq!(status, 202, "{body}");
    drained(&stack, before, 2).await;
    let by_email = find(&client, "email=lukasz.wisniewski%40example.com").await.expect("by e-mail");
    let by_phone = find(&client, &format!("phone={}", encode("+48512345678"))).await.expect("by phone");
    assert_eq!(by_email["id"], by_phone["id"], "one profile for both channels");
    assert_eq!(by_email["sources"].as_array().unwrap().len(), 2);
    let (status, page) =
        client.get(&format!("/v1/profiles/{}/timeline?limit=1", by_email["id"].as_str().unwrap())).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(schemas.errors("/components/schemas/TimelinePage", &page), Vec::<String>::new());
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let (_, page2) = client
        .get(&format!("/v1/profiles/{}/timeline?limit=1&cursor={cursor}", by_email["id"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_ne!(page2["items"][0]["id"], page["items"][0]["id"]);
    assert_eq!(page2["next_cursor"], Value::Null);

    // -- 3. a replayed batch creates no duplicates
    let batch = sample("batch.json");
    let n = batch["events"].as_array().unwrap().len() as u64;
    let before = stack.records_done();
    let (status, body) = writer.post_json("/v1/events", &batch).await.unwrap();
    assert_eq!(status, 202, "{body}");
    drained(&stack, before, n).await;
    let items = scan_profiles(&stack).await;
    let counts = (entity_count(&items, "profile"), entity_count(&items, "timeline"), entity_count(&items, "lookup"));
    let before = stack.records_done();
    let (status, _) = writer.post_json("/v1/events", &batch).await.unwrap();
    assert_eq!(status, 202);
    drained(&stack, before, n).await;
    let items = scan_profiles(&stack).await;
    assert_eq!(
        (entity_count(&items, "profile"), entity_count(&items, "timeline"), entity_count(&items, "lookup")),
        counts,
        "a replay changed the table"
    );

    // -- 4. an invalid event gets a 400 with reasons, and nothing of the batch is stored
    let good = observed(
        "e2e-good-1",
        "/channels/web",
        "web-77",
        json!({"channel": "web", "emails": [{"address": "only.if.valid@example.com"}]}),
    );
    let bad = observed(
        "e2e-bad-1",
        "/channels/web",
        "web-78",
        json!({"channel": "web", "emails": [{"address": "not-an-email"}]}),
    );
    let before = stack.records_done();
    let (status, body) = writer.post_json("/v1/events", &json!({"events": [good, bad]})).await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["details"][0]["index"], 1);
    assert_eq!(body["error"]["details"][0]["path"], "/data/emails/0/address");
    assert_eq!(schemas.errors("/components/schemas/Error", &body), Vec::<String>::new());
    for invalid in
        ["missing-id.json", "bad-email.json", "unknown-field.json", "unknown-event-type.json", "wrong-value-type.json"]
    {
        let (status, body) = writer.post_json("/v1/events", &sample(&format!("invalid/{invalid}"))).await.unwrap();
        assert_eq!(status, 400, "{invalid}: {body}");
        assert!(!body["error"]["details"].as_array().unwrap().is_empty(), "{invalid}: {body}");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stack.records_done(), before, "nothing reached the stream");
    assert!(find(&client, "email=only.if.valid%40example.com").await.is_none());

    // -- 5. hostile and malformed requests get 4xx with stable codes, never 5xx
    for (method, path, ct, body, want, code) in [
        ("POST", "/v1/events", Some("text/plain"), b"{}".to_vec(), 415, "unsupported_media_type"),
        ("POST", "/v1/events", Some("application/json"), b"{oops".to_vec(), 400, "invalid_json"),
        ("GET", "/v1/profiles/..%2F..%2Fetc%2Fpasswd", None, vec![], 400, "invalid_customer_id"),
        ("GET", "/v1/profiles/cus_123", None, vec![], 400, "invalid_customer_id"),
        ("GET", "/v1/profiles/cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6b", None, vec![], 404, "profile_not_found"),
        ("GET", "/v1/profiles?email=x%40example.com&phone=%2B353861234567", None, vec![], 400, "invalid_query"),
        ("GET", "/v1/profiles?email=nope", None, vec![], 400, "invalid_email"),
        ("GET", &format!("/v1/profiles/{id}/timeline?cursor=Zm9v"), None, vec![], 400, "invalid_cursor"),
        ("GET", &format!("/v1/profiles/{id}/timeline?limit=1000"), None, vec![], 400, "invalid_query"),
    ] {
        let caller = if method == "POST" { &writer } else { &client };
        let (status, resp) = caller.request(method, path, ct, body).await.unwrap();
        assert_eq!((status, resp["error"]["code"].as_str()), (want, Some(code)), "{method} {path}: {resp}");
        assert_eq!(schemas.errors("/components/schemas/Error", &resp), Vec::<String>::new(), "{path}");
    }

    // -- 6. a poison record on the stream is parked with its reason and the shard goes on
    let kinesis = aws_sdk_kinesis::Client::new(&stack.sdk);
    let stream = stack.wiring.output("InboundStreamName").unwrap().to_owned();
    let before = stack.records_done();
    for (pk, data) in [
        ("poison", b"{not json".to_vec()),
        (
            "poison",
            serde_json::to_vec(&observed(
                "e2e-after-poison",
                "/channels/web",
                "web-79",
                json!({"channel": "web", "emails": [{"address": "after.poison@example.com"}]}),
            ))
            .unwrap(),
        ),
    ] {
        kinesis
            .put_record()
            .stream_name(&stream)
            .partition_key(pk)
            .data(aws_sdk_kinesis::primitives::Blob::new(data))
            .send()
            .await
            .unwrap();
    }
    drained(&stack, before, 2).await;
    assert!(
        find(&client, "email=after.poison%40example.com").await.is_some(),
        "the record after the poison one was processed"
    );
    let items = scan_profiles(&stack).await;
    let parked: Vec<_> = items
        .iter()
        .filter(|i| i.get("entity").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("dead_letter"))
        .collect();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0]["reason_code"].as_s().unwrap(), "invalid_json");

    // -- PCI: a card number in a chat transcript reaches neither the stream, nor the table, nor a reader
    let pan = "4111 1111 1111 1111";
    let chat = json!({
        "specversion": "1.0", "id": "e2e-chat-pan", "source": "/channels/chat", "type": "customer.interaction_logged",
        "time": "2026-11-22T12:00:00Z", "subject": "chat-991",
        "data": {"channel": "chat", "kind": "chat", "customer": {"email": "lukasz.wisniewski@example.com"},
                 "summary": "payment help", "text": format!("Customer: my card {pan}, expiry 12/28, was charged twice")}
    });
    let before = stack.records_done();
    let (status, body) = writer.post_json("/v1/events", &chat).await.unwrap();
    assert_eq!(status, 202, "{body}");
    drained(&stack, before, 1).await;
    let lukasz = find(&client, "email=lukasz.wisniewski%40example.com").await.unwrap();
    let (_, page) =
        client.get(&format!("/v1/profiles/{}/timeline?kind=chat", lukasz["id"].as_str().unwrap())).await.unwrap();
    let shown = page.to_string();
    assert!(shown.contains("was charged twice") && shown.contains("[card number removed]"), "{shown}");
    let digits: String = pan.chars().filter(|c| c.is_ascii_digit()).collect();
    assert!(!shown.contains(pan) && !shown.contains(&digits));
    let kinesis_client = aws_sdk_kinesis::Client::new(&stack.sdk);
    let stream_name = stack.wiring.output("InboundStreamName").unwrap().to_owned();
    let shards = kinesis_client.list_shards().stream_name(&stream_name).send().await.unwrap();
    let mut on_stream = 0usize;
    for shard in shards.shards() {
        let it = kinesis_client
            .get_shard_iterator()
            .stream_name(&stream_name)
            .shard_id(shard.shard_id())
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let mut iterator = it.shard_iterator().map(str::to_owned);
        while let Some(i) = iterator.take() {
            let out = kinesis_client.get_records().shard_iterator(i).limit(1000).send().await.unwrap();
            for r in out.records() {
                let text = String::from_utf8_lossy(r.data().as_ref());
                assert!(!text.contains(pan) && !text.contains(&digits), "a card number on the stream");
                on_stream += 1;
            }
            if !out.records().is_empty() {
                iterator = out.next_shard_iterator().map(str::to_owned);
            }
        }
    }
    assert!(on_stream > 0, "the stream was read");

    // -- 7. after the demo load, no loaded name, e-mail or phone is in the table in plaintext
    let customers = 150;
    let before = stack.records_done();
    let (events, _) = cmpctl::bench::load_demo(&writer, customers, 99).await.unwrap();
    drained(&stack, before, events as u64).await;
    let (people, _) = cmpctl::demo::generate(customers, 99);
    let items = scan_profiles(&stack).await;
    let mut blob = Vec::new();
    for item in &items {
        for v in item.values() {
            item_bytes(v, &mut blob);
        }
    }
    // case-sensitive, as written: names of 5+ characters (shorter ones occur by chance inside the
    // base64 of blind indexes), full names, e-mails, phones and loyalty numbers
    let haystack = String::from_utf8_lossy(&blob);
    let mut leaks = Vec::new();
    for p in &people {
        let mut needles = vec![
            p.email.clone(),
            p.phone.clone(),
            p.phone.trim_start_matches('+').to_owned(),
            format!("{} {}", p.given, p.family),
        ];
        needles.extend([p.given.clone(), p.family.clone()].into_iter().filter(|n| n.chars().count() >= 5));
        needles.extend(p.loyalty.clone());
        for needle in needles {
            if haystack.contains(&needle) {
                leaks.push(needle);
            }
        }
    }
    assert!(leaks.is_empty(), "plaintext personal data in the table: {leaks:?}");
    // and the data is really there (decrypted through the API)
    let p = &people[0];
    let found = find(&client, &format!("email={}", encode(&p.email))).await.expect("demo customer");
    assert_eq!(found["name"]["family"].as_str(), Some(p.family.as_str()));
    assert!(entity_count(&items, "profile") >= customers, "one profile per demo customer at least");
    assert_eq!(entity_count(&items, "dead_letter"), 1, "only the deliberate poison record was parked");

    // -- 8. retention: what expires carries its expiry (DynamoDB TTL), what lives as long as the
    // profile does not
    assert!(entity_count(&items, "flight_passenger") > 0 && entity_count(&items, "booking_current") > 0);
    for item in &items {
        let entity = item.get("entity").and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
        let expires = item.get("expires_at").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok());
        match entity {
            "timeline" | "marker" | "dead_letter" | "flight_passenger" | "booking_current" => {
                assert!(expires.is_some_and(|e| e > 1_700_000_000), "{entity} without expires_at: {:?}", item.get("pk"))
            }
            "profile" | "lookup" | "consent" => assert!(expires.is_none(), "{entity} with an expiry"),
            _ => {}
        }
    }

    stack.stop().await;
}
