//! Consent and data-subject rights end to end on the local stack: consent changes from a channel
//! (through the consent function) and from an agent, the current state and history, an access export
//! fetched through its pre-signed link, a legal hold, and an erasure by crypto-shredding that a
//! replayed event cannot undo; partner exports and the analyst snapshot honour consent.
use aws_sdk_dynamodb::types::AttributeValue;
use cmp_tests::*;
use cmpctl::client::{encode, ApiClient};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;
use serde_json::{json, Value};
use std::time::Duration;

const EMAIL: &str = "tomasz.zielinski@example.com";
const LOYALTY: &str = "GA30551872";

fn seed() -> Value {
    json!({"events": [
        {"specversion": "1.0", "id": "priv-1", "source": "/channels/loyalty", "type": "customer.profile_observed",
         "time": "2026-11-18T08:00:00Z", "subject": "member-30551872",
         "data": {"channel": "loyalty", "name": {"given": "Tomasz", "family": "Zieliński"},
                  "emails": [{"address": EMAIL, "verified": true}], "phones": [{"number": "+48 601 555 214"}],
                  "loyalty": {"number": LOYALTY, "tier": "gold"}, "date_of_birth": "1979-05-30",
                  "address": {"lines": ["ul. Złota 44"], "city": "Warszawa", "country": "PL"}}},
        {"specversion": "1.0", "id": "priv-2", "source": "/channels/chat", "type": "customer.interaction_logged",
         "time": "2026-11-19T09:00:00Z", "subject": "chat-1",
         "data": {"channel": "chat", "kind": "chat", "customer": {"loyalty_number": LOYALTY},
                  "summary": "Baggage allowance", "text": "How many bags can I take to Lisbon?"}},
        {"specversion": "1.0", "id": "priv-3", "source": "/channels/web", "type": "customer.consent_changed",
         "time": "2026-11-19T10:00:00Z", "subject": "web-8812",
         "data": {"customer": {"email": EMAIL}, "purpose": "marketing_email", "granted": true, "jurisdiction": "PL",
                  "channel": "web", "legal_basis": "consent", "notice_version": "privacy-2026-09",
                  "acted_at": "2026-11-19T09:59:30Z"}}
    ]})
}

/// The outbound events about `id`, once `want` says they are complete.
async fn events_of(stack: &cmpctl::stack::LocalStack, id: &str, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    eventually("the outbound events", Duration::from_secs(60), || async {
        let mine: Vec<Value> = outbound(stack).await.into_iter().filter(|e| e["subject"] == id).collect();
        want(&mine).then_some(mine)
    })
    .await
}

fn update(id: &str, phone: &str) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "/channels/app", "type": "customer.profile_observed",
           "time": "2026-11-20T08:00:00Z", "subject": format!("app-{id}"),
           "data": {"channel": "mobile_app", "loyalty": {"number": LOYALTY}, "phones": [{"number": phone}]}})
}

/// A key as S3 event notifications encode it (`%XX` escapes, `+` for a space), decoded.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'%'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn download(url: &str) -> (u16, Value) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap();
    let path_at = url[after_scheme..].find('/').map(|i| i + after_scheme).unwrap();
    ApiClient::new(&url[..path_at]).request("GET", &url[path_at..], None, vec![]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consents_access_and_erasure() {
    let (stack, anonymous) = start_stack().await;
    let token = |role: &str, mfa: bool, customer: Option<&str>| {
        anonymous.with_token(stack.token(role, mfa, customer).unwrap()).with_header("x-purpose", "privacy_test")
    };
    let writer = token("channel", false, None);
    let before = stack.records_done();
    let (status, body) = writer.post_json("/v1/events", &seed()).await.unwrap();
    assert_eq!(status, 202, "{body}");
    // 3 records for the merge (it skips the consent change), 1 for the consent function; the
    // consent may race its profile and be parked, so it is sent again below if needed
    drained(&stack, before, 4).await;
    let agent = token("call_centre_agent", true, None);
    let (_, found) = agent.get(&format!("/v1/profiles?loyalty={LOYALTY}")).await.unwrap();
    let id = found["items"][0]["id"].as_str().expect("profile").to_owned();
    let customer = token("customer", false, Some(&id));

    // -- the channel's consent reached the ledger through the consent function
    let (status, state) = customer.get(&format!("/v1/profiles/{id}/consents")).await.unwrap();
    assert_eq!(status, 200, "{state}");
    let email_state = |s: &Value| {
        s["purposes"].as_array().unwrap().iter().find(|p| p["purpose"] == "marketing_email").cloned().unwrap()
    };
    let mut marketing = email_state(&state);
    if marketing["evidence"].is_null() {
        // the consent change was processed before its profile existed and parked: replay it
        let before = stack.records_done();
        writer.post_json("/v1/events", &json!({"events": [seed()["events"][2].clone()]})).await.unwrap();
        drained(&stack, before, 2).await;
        marketing = email_state(&customer.get(&format!("/v1/profiles/{id}/consents")).await.unwrap().1);
    }
    assert_eq!(marketing["allowed"], true, "{marketing}");
    assert_eq!(marketing["evidence"]["channel"], "web");
    assert_eq!(marketing["regime"], "opt_in");
    // the outbound stream: created, the consent, and an update carrying the consent in force
    let before = stack.records_done();
    writer.post_json("/v1/events", &update("priv-upd-1", "+48 601 555 215")).await.unwrap();
    drained(&stack, before, 1).await;
    let phone_update = |x: &Value| x["type"] == "customer.updated" && x["data"]["changed"] == json!(["phones"]);
    let mine = events_of(&stack, &id, |e| e.iter().any(phone_update)).await;
    let types: Vec<&str> = mine.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(types.contains(&"customer.created") && types.contains(&"customer.consent_changed"), "{types:?}");
    let upd = mine.iter().find(|x| phone_update(x)).unwrap();
    assert_eq!(upd["data"]["contactable"]["marketing_email"], true, "{upd}");
    // no record: Poland is opt-in, so no
    let sms = state["purposes"].as_array().unwrap().iter().find(|p| p["purpose"] == "marketing_sms").unwrap();
    assert_eq!((sms["allowed"].clone(), sms["evidence"].clone()), (json!(false), Value::Null));

    // -- an agent on the phone records a withdrawal (with MFA); it is in force on the next read
    let change = json!({"purpose": "marketing_email", "granted": false, "jurisdiction": "PL", "channel": "call_centre",
                        "notice_version": "privacy-2026-09"});
    let (status, resp) = token("call_centre_agent", false, None)
        .post_json(&format!("/v1/profiles/{id}/consents"), &change)
        .await
        .unwrap();
    assert_eq!((status, resp["error"]["code"].as_str()), (403, Some("mfa_required")));
    let (status, resp) = agent.post_json(&format!("/v1/profiles/{id}/consents"), &change).await.unwrap();
    assert_eq!(status, 201, "{resp}");
    assert_eq!((resp["changed"].clone(), resp["decision"]["allowed"].clone()), (json!(true), json!(false)));
    let (_, state) = customer.get(&format!("/v1/profiles/{id}/consents")).await.unwrap();
    assert_eq!(email_state(&state)["allowed"], false);
    assert_ne!(email_state(&state)["evidence"]["captured_by"], "customer", "the agent's id is the evidence");
    // the agent's change is in the audit trail, with the purpose of the call
    let (status, trail) = token("privacy_officer", true, None).get(&format!("/v1/audit?customer={id}")).await.unwrap();
    assert_eq!(status, 200, "{trail}");
    assert_eq!(trail["chain"]["valid"], true);
    let recorded =
        trail["items"].as_array().unwrap().iter().find(|r| {
            r["action"] == "change_consent" && r["role"] == "call_centre_agent" && r["outcome"] == "withdrawn"
        });
    let recorded = recorded.unwrap_or_else(|| panic!("no audit record of the agent's change: {trail}"));
    assert_eq!(recorded["purpose"], "privacy_test");
    assert!(recorded["fields"].as_array().unwrap().iter().any(|f| f == "consent:marketing_email"), "{recorded}");
    // the withdrawal is published, and the next outbound event honours it
    let before = stack.records_done();
    writer.post_json("/v1/events", &update("priv-upd-2", "+48 601 555 216")).await.unwrap();
    drained(&stack, before, 1).await;
    let mine = events_of(&stack, &id, |e| e.iter().filter(|x| phone_update(x)).count() >= 2).await;
    assert!(mine.iter().any(|x| x["type"] == "customer.consent_changed"
        && x["data"]["granted"] == false
        && x["data"]["contactable"]["marketing_email"] == false));
    let last = mine.iter().rev().find(|x| phone_update(x)).unwrap();
    assert_eq!(last["data"]["contactable"]["marketing_email"], false, "{last}");
    // one event per change and none for a write that changes nothing: the same phone again (a new
    // event), then a new phone; the stream keeps one customer's events in order
    let updates_before = mine.iter().filter(|x| x["type"] == "customer.updated").count();
    let before = stack.records_done();
    writer.post_json("/v1/events", &update("priv-upd-noop", "+48 601 555 216")).await.unwrap();
    writer.post_json("/v1/events", &update("priv-upd-3", "+48 601 555 217")).await.unwrap();
    drained(&stack, before, 2).await;
    let mine = events_of(&stack, &id, |e| e.iter().filter(|x| phone_update(x)).count() >= 3).await;
    let updates = mine.iter().filter(|x| x["type"] == "customer.updated").count();
    assert_eq!(updates, updates_before + 1, "one event for the new phone, none for the repeated one: {mine:?}");
    let ids: std::collections::HashSet<&str> = mine.iter().filter_map(|x| x["id"].as_str()).collect();
    assert_eq!(ids.len(), mine.len(), "event ids are unique");
    // an out-of-order event (acted before the withdrawal) does not override it
    let late = json!({"specversion": "1.0", "id": "priv-late", "source": "/channels/app", "type": "customer.consent_changed",
        "time": "2026-11-19T11:00:00Z", "subject": "app-1",
        "data": {"customer": {"customer_id": id}, "purpose": "marketing_email", "granted": true, "jurisdiction": "PL",
                 "channel": "mobile_app", "legal_basis": "consent", "notice_version": "privacy-2026-09"}});
    let before = stack.records_done();
    writer.post_json("/v1/events", &late).await.unwrap();
    drained(&stack, before, 2).await;
    let (_, history) = customer.get(&format!("/v1/profiles/{id}/consents/history")).await.unwrap();
    let items = history["items"].as_array().unwrap();
    assert!(items.len() >= 3, "{history}");
    assert_eq!(items[0]["channel"], "call_centre", "newest act first: {history}");
    let (_, state) = customer.get(&format!("/v1/profiles/{id}/consents")).await.unwrap();
    assert_eq!(email_state(&state)["allowed"], false, "the later act decides, not the later arrival");
    // the customer changes their own consent without a second factor
    let (status, resp) = customer
        .post_json(&format!("/v1/profiles/{id}/consents"), &json!({"purpose": "analytics", "granted": true, "jurisdiction": "PL", "channel": "web", "notice_version": "privacy-2026-09"}))
        .await
        .unwrap();
    assert_eq!(status, 201, "{resp}");
    // bad input is answered with why
    let (status, resp) = agent
        .post_json(&format!("/v1/profiles/{id}/consents"), &json!({"purpose": "spam", "granted": true}))
        .await
        .unwrap();
    assert_eq!((status, resp["error"]["code"].as_str()), (400, Some("validation_failed")), "{resp}");

    // -- partner exports honour partner_sharing: in while granted, gone on the next export once withdrawn
    let own = |granted: bool| json!({"purpose": "partner_sharing", "granted": granted, "jurisdiction": "PL", "channel": "web", "notice_version": "privacy-2026-09"});
    assert_eq!(customer.post_json(&format!("/v1/profiles/{id}/consents"), &own(true)).await.unwrap().0, 201);
    let exporter = token("privacy_officer", true, None);
    let run = |exporter: ApiClient| async move {
        let (status, resp) =
            exporter.post_json("/v1/exports", &json!({"partners": ["velo-car-rental"], "k": 1})).await.unwrap();
        assert_eq!(status, 201, "{resp}");
        resp["reports"][0].clone()
    };
    // the partner's topic, subscribed to by a queue standing in for the partner
    let sns = aws_sdk_sns::Client::new(&stack.sdk);
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let topics = sns.list_topics().send().await.unwrap();
    let topic = topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|a| a.contains("VeloCarRentalExportTopic"))
        .expect("the partner's topic")
        .to_owned();
    let queue = sqs.create_queue().queue_name("velo-car-rental-inbox").send().await.unwrap().queue_url.unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let report = run(exporter.clone()).await;
    assert_eq!(report["manifest"]["rows"], 1, "{report}");
    // the manifest's arrival notified the partner's topic
    let notified = eventually("the partner's notification", Duration::from_secs(30), || async {
        let got = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).send().await.unwrap();
        got.messages().iter().filter_map(|m| m.body()).find_map(|b| {
            let v: Value = serde_json::from_str(b).ok()?;
            // S3 event notifications carry the key URL-encoded
            Some(url_decode(v["Records"][0]["s3"]["object"]["key"].as_str()?))
        })
    })
    .await;
    assert_eq!(Some(notified.as_str()), report["prefix"].as_str().map(|p| format!("{p}manifest.json")).as_deref());
    let s3 = cmpctl::stack::clients(&stack.sdk, None).s3;
    let bucket = stack.wiring.output("ExportsBucketName").expect("ExportsBucketName output").to_owned();
    let prefix = report["prefix"].as_str().unwrap().to_owned();
    let read = |key: String| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            s3.get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes()
                .to_vec()
        }
    };
    let gz = read(format!("{prefix}customers.jsonl.gz")).await;
    let mut rows = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut rows).unwrap();
    let row: Value = serde_json::from_str(rows.lines().next().unwrap()).unwrap();
    assert!(row["pseudonym"].as_str().unwrap().starts_with("p_") && row["country"] == "PL", "{row}");
    for needle in [EMAIL, LOYALTY, "Zieliński", id.as_str(), "1979-05-30", "601 555 21", "60155521", "Złota"] {
        assert!(!rows.contains(needle), "{needle} in the partner file");
    }
    let velo_pseudonym = row["pseudonym"].as_str().unwrap().to_owned();
    let parquet = read(format!("{prefix}customers.parquet")).await;
    let reader = SerializedFileReader::new(bytes::Bytes::from(parquet)).expect("a Parquet file");
    assert_eq!(reader.metadata().file_metadata().num_rows(), 1);
    let first = reader.get_row_iter(None).unwrap().next().unwrap().unwrap();
    assert_eq!(first.get_string(0).unwrap(), &velo_pseudonym, "the Parquet row is the JSON row");
    let manifest: Value = serde_json::from_slice(&read(format!("{prefix}manifest.json")).await).unwrap();
    assert_eq!(manifest["k"], 1);
    assert_eq!(customer.post_json(&format!("/v1/profiles/{id}/consents"), &own(false)).await.unwrap().0, 201);
    let report = run(exporter.clone()).await;
    assert_eq!(report["manifest"]["rows"], 0, "withdrawn, so not in the next export: {report}");
    assert!(report["manifest"]["excluded_without_consent"].as_u64().unwrap() >= 1);

    // -- the analyst snapshot: this customer granted analytics; Parquet per Glue table, pseudonymised
    let (status, resp) = exporter.post_json("/v1/exports", &json!({"dataset": "analytics", "k": 5})).await.unwrap();
    assert_eq!((status, resp["error"]["code"].as_str()), (400, Some("invalid_export_request")), "{resp}");
    let (status, resp) = exporter.post_json("/v1/exports", &json!({"dataset": "analytics"})).await.unwrap();
    assert_eq!(status, 201, "{resp}");
    let manifest = &resp["snapshot"]["manifest"];
    assert!(manifest["customers"].as_u64().unwrap() >= 1, "{manifest}");
    let analytics_bucket = stack.wiring.output("AnalyticsBucketName").expect("AnalyticsBucketName output").to_owned();
    let today = chrono::Utc::now().date_naive();
    for table in &cmp_app::export::analytics::TABLES {
        let key = cmp_app::export::analytics::object_key(table, today);
        let body = s3
            .get_object()
            .bucket(&analytics_bucket)
            .key(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"))
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let reader = SerializedFileReader::new(body.clone()).unwrap();
        let columns: Vec<String> =
            reader.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.name().to_owned()).collect();
        assert_eq!(columns, table.columns.iter().map(|c| c.name).collect::<Vec<_>>(), "{key}");
        let entry = manifest["tables"].as_array().unwrap().iter().find(|t| t["table"] == table.name).unwrap();
        assert_eq!(entry["rows"].as_i64(), Some(reader.metadata().file_metadata().num_rows()), "{key}");
        let text = String::from_utf8_lossy(&body);
        for needle in [EMAIL, LOYALTY, "Zieli", id.as_str(), "1979-05-30"] {
            assert!(!text.contains(needle), "{needle} in {key}");
        }
    }

    // -- access export: a document in S3 behind a short-lived link, holding every kind of item
    let dpo = token("privacy_officer", true, None);
    let (status, export) = token("customer", true, Some(&id))
        .post_json(&format!("/v1/profiles/{id}/access-requests"), &json!({}))
        .await
        .unwrap();
    assert_eq!(status, 201, "{export}");
    assert_eq!(export["request"]["status"], "completed");
    let url = export["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature") && url.contains("X-Amz-Expires=900"), "{url}");
    let (status, doc) = download(url).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["profile"]["name"]["family"], "Zieliński");
    assert_eq!(
        doc["timeline"].as_array().unwrap().len(),
        6,
        "the loyalty observation, the chat and four updates (one of them repeating a phone)"
    );
    assert_eq!(
        doc["consents"]["history"].as_array().unwrap().len(),
        items.len() + 3,
        "the analytics grant and the partner-sharing grant and withdrawal"
    );
    assert!(doc["disclosures"].as_array().unwrap().iter().any(|d| d["role"] == "call_centre_agent"), "who read it");
    let (_, listed) = dpo.get(&format!("/v1/profiles/{id}/access-requests")).await.unwrap();
    assert_eq!(listed["items"][0]["kind"], "access");
    assert!(listed["items"][0]["due_at"].is_string() && listed["items"][0]["url"].is_string(), "{listed}");

    // -- a legal hold defers the erasure, and says why
    let hold = json!({"kind": "fraud_investigation", "action": "place", "reference": "FR-2026-0117"});
    let (status, resp) = dpo.post_json(&format!("/v1/profiles/{id}/legal-holds"), &hold).await.unwrap();
    assert_eq!(status, 200, "{resp}");
    let (status, resp) = dpo.post_json(&format!("/v1/profiles/{id}/erasure"), &json!({})).await.unwrap();
    assert_eq!((status, resp["error"]["code"].as_str()), (409, Some("legal_hold")), "{resp}");
    assert!(resp["error"]["details"][0]["message"].as_str().unwrap().contains("FR-2026-0117"));
    let release = json!({"kind": "fraud_investigation", "action": "release"});
    assert_eq!(dpo.post_json(&format!("/v1/profiles/{id}/legal-holds"), &release).await.unwrap().0, 200);

    // -- erasure by crypto-shredding
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let table = stack.profiles_table().unwrap().to_owned();
    let keys_table = stack.wiring.output("KeysTableName").expect("KeysTableName output").to_owned();
    let profile_item = dynamo
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("CUST#{id}")))
        .key("sk", AttributeValue::S("PROFILE".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let sealed_name = profile_item["sealed"].as_m().unwrap()["name"].as_b().unwrap().clone().into_inner();
    let (status, receipt) =
        token("customer", true, Some(&id)).post_json(&format!("/v1/profiles/{id}/erasure"), &json!({})).await.unwrap();
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["data_key_destroyed"], true);
    assert!(receipt["replay_guards"].as_u64().unwrap() >= 2 && receipt["exports_deleted"] == 1, "{receipt}");
    // the old ciphertext opens with nothing left in the system: no wrapped key in the keys table
    // decrypts under this customer's encryption context
    let kms = aws_sdk_kms::Client::new(&stack.sdk);
    let keys = dynamo.scan().table_name(&keys_table).send().await.unwrap().items.unwrap_or_default();
    assert!(keys.iter().all(|k| k["pk"].as_s().unwrap() != &id), "the wrapped key is gone");
    for k in &keys {
        let wrapped = k["wrapped_key"].as_b().unwrap().clone();
        let opened = kms.decrypt().ciphertext_blob(wrapped).encryption_context("customer_id", &id).send().await;
        assert!(opened.is_err(), "a remaining key opens under this customer's context");
    }
    assert!(!sealed_name.is_empty());
    // what is left under the customer: the tombstone and the request records, nothing personal
    let left = scan_profiles(&stack).await;
    let theirs: Vec<_> =
        left.iter().filter(|i| i.get("pk").and_then(|v| v.as_s().ok()) == Some(&format!("CUST#{id}"))).collect();
    assert!(
        theirs.iter().all(|i| {
            let sk = i["sk"].as_s().unwrap();
            sk == "PROFILE" || sk.starts_with("DSR#")
        }),
        "items left: {:?}",
        theirs.iter().map(|i| i["sk"].as_s().unwrap()).collect::<Vec<_>>()
    );
    let tomb = theirs.iter().find(|i| i["sk"].as_s().unwrap() == "PROFILE").unwrap();
    assert_eq!(tomb["status"].as_s().unwrap(), "erased");
    assert!(tomb["sealed"].as_m().unwrap().is_empty());
    assert!(
        left.iter().all(|i| i.get("customer_id").and_then(|v| v.as_s().ok()) != Some(&id)
            || i["entity"].as_s().unwrap() != "lookup"),
        "a lookup item still points at them"
    );
    // blind indexes no longer find them; reads answer 410
    let (_, found) = agent.get(&format!("/v1/profiles?email={}", encode(EMAIL))).await.unwrap();
    assert_eq!(found["items"], json!([]));
    let (status, resp) = dpo.get(&format!("/v1/profiles/{id}")).await.unwrap();
    assert_eq!((status, resp["error"]["code"].as_str()), (410, Some("profile_erased")));
    let (status, _) = dpo.get(&format!("/v1/profiles/{id}/consents")).await.unwrap();
    assert_eq!(status, 410);
    let (status, _) = download(url).await;
    assert!(status == 404 || status == 403, "the export is gone: {status}");

    // -- replaying the old events brings nothing back
    let profiles_before = entity_count(&left, "profile");
    let before = stack.records_done();
    writer.post_json("/v1/events", &seed()).await.unwrap();
    drained(&stack, before, 4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = scan_profiles(&stack).await;
    assert_eq!(entity_count(&after, "profile"), profiles_before, "a replay re-created a profile");
    let (_, found) = agent.get(&format!("/v1/profiles?loyalty={LOYALTY}")).await.unwrap();
    assert_eq!(found["items"], json!([]));

    // -- the outbound stream: the erasure is published, nothing personal ever was, a replay added
    // nothing, and every event id is unique
    let all = outbound(&stack).await;
    let mine = events_of(&stack, &id, |e| e.iter().any(|x| x["type"] == "customer.erased")).await;
    let text = serde_json::to_string(&all).unwrap();
    for needle in [EMAIL, LOYALTY, "Zieliński", "Tomasz", "601 555", "601555", "Złota"] {
        assert!(!text.contains(needle), "{needle} on the outbound stream");
    }
    let mut ids: Vec<&str> = all.iter().filter_map(|e| e["id"].as_str()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "one event per change");
    assert_eq!(mine.last().unwrap()["type"], "customer.erased", "nothing after the erasure: {mine:?}");

    // -- the next partner export tells the partner to delete what it holds under their pseudonym
    let report = run(exporter.clone()).await;
    let notices = report["manifest"]["erasure_notices"].as_array().unwrap();
    assert!(notices.iter().any(|n| n == velo_pseudonym.as_str()), "the erasure reaches the partner: {report}");
    assert_eq!(report["manifest"]["rows"], 0);

    // -- the inventory lists every personal field and where it goes
    let (status, inv) = dpo.get("/v1/privacy/inventory").await.unwrap();
    assert_eq!(status, 200);
    assert!(inv["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["field"] == "special_assistance" && f["classification"] == "special_category_health"));

    stack.stop().await;
}
