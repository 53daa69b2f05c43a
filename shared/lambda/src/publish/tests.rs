use super::*;
use cmp_app::store::memory::MemoryStore;
use std::sync::Mutex;

fn record(name: &str, seq: &str, old: Value, new: Value) -> Value {
    json!({
        "eventID": format!("ev-{seq}"), "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1", "eventSourceARN": "arn:aws:dynamodb:eu-west-1:1:table/p/stream/x",
        "dynamodb": {"ApproximateCreationDateTime": 1_795_000_000, "Keys": {}, "NewImage": new, "OldImage": old,
                     "SequenceNumber": seq, "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    })
}

const ID: &str = "cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6b";

fn profile(version: u64, status: &str, tier: Option<&str>, sealed: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in sealed {
        m.insert((*k).into(), json!({"B": v}));
    }
    let mut p = json!({"pk": {"S": format!("CUST#{ID}")}, "sk": {"S": "PROFILE"}, "entity": {"S": "profile"},
        "customer_id": {"S": ID}, "version": {"N": version.to_string()}, "status": {"S": status}, "sealed": {"M": m}});
    if let Some(t) = tier {
        p["tier"] = json!({"S": t});
    }
    p
}

fn batch(records: Vec<Value>) -> Event {
    serde_json::from_value(json!({"Records": records})).unwrap()
}

#[test]
fn table_changes_become_the_events_subscribers_need() {
    let created = record("INSERT", "1", json!({}), profile(1, "active", None, &[("name", "AAAA"), ("emails", "BBBB")]));
    let updated = record(
        "MODIFY",
        "2",
        profile(1, "active", None, &[("name", "AAAA"), ("emails", "BBBB")]),
        profile(2, "active", Some("gold"), &[("name", "AAAA"), ("emails", "CCCC"), ("phones", "DDDD")]),
    );
    let noop = record(
        "MODIFY",
        "3",
        profile(2, "active", Some("gold"), &[("name", "AAAA")]),
        profile(3, "active", Some("gold"), &[("name", "AAAA")]),
    );
    let erased = record("MODIFY", "4", profile(3, "active", Some("gold"), &[("name", "AAAA")]), {
        let mut p = profile(4, "erased", None, &[]);
        p["erased_at"] = json!({"S": "2026-11-23T10:00:00Z"});
        p
    });
    let timeline = record("INSERT", "5", json!({}), json!({"entity": {"S": "timeline"}, "customer_id": {"S": ID}}));
    let removed = record("REMOVE", "6", profile(4, "erased", None, &[]), json!({}));
    let consent = record(
        "INSERT",
        "7",
        json!({}),
        json!({"entity": {"S": "consent"}, "customer_id": {"S": ID}, "purpose": {"S": "marketing_email"},
               "granted": {"BOOL": false}, "acted_at": {"S": "2026-11-23T09:00:00Z"}, "channel": {"S": "web"}}),
    );
    // a booking that makes a frequent flyer: no attribute changed, a segment did
    let frequent = record("MODIFY", "8", profile(5, "active", Some("gold"), &[("name", "AAAA")]), {
        let mut p = profile(6, "active", Some("gold"), &[("name", "AAAA")]);
        p["segments"] = json!({"L": [{"S": "loyalty_member"}, {"S": "frequent_flyer"}]});
        p
    });
    let ev = batch(vec![created, updated, noop, erased, timeline, removed, consent, frequent]);
    let changes: Vec<Option<Change>> = ev.records.iter().map(derive).collect();
    let types: Vec<Option<&str>> = changes.iter().map(|c| c.as_ref().map(|c| c.event_type)).collect();
    assert_eq!(
        types,
        [
            Some("customer.created"),
            Some("customer.updated"),
            None,
            Some("customer.erased"),
            None,
            None,
            Some("customer.consent_changed"),
            Some("customer.updated")
        ]
    );
    let seg = changes[7].as_ref().unwrap();
    assert_eq!(seg.data["changed"], json!([]));
    assert_eq!(seg.data["segments"], json!({"added": ["loyalty_member", "frequent_flyer"], "removed": []}));
    assert!(changes[1].as_ref().unwrap().data.get("segments").is_none(), "no segment change, no segments");
    let up = changes[1].as_ref().unwrap();
    assert_eq!(up.data["changed"], json!(["emails", "phones"]));
    assert_eq!(up.data["tier"], json!({"from": null, "to": "gold"}));
    assert_eq!(changes[0].as_ref().unwrap().data["attributes"], json!(["emails", "name"]));
    assert!(!changes[3].as_ref().unwrap().active);
    // ids are stable per stream record: a redelivery publishes the same id
    let a = envelope(&ev.records[1], up, None);
    let b = envelope(&ev.records[1], up, None);
    assert_eq!(a["id"], b["id"]);
    assert_ne!(a["id"], envelope(&ev.records[0], changes[0].as_ref().unwrap(), None)["id"]);
}

/// A sink that records what it was given, failing the first `fail` calls.
#[derive(Default)]
struct Sink {
    got: Mutex<Vec<OutRecord>>,
    fail: Mutex<u32>,
}

#[async_trait::async_trait]
impl EventSink for Sink {
    async fn put_records(&self, records: &[OutRecord]) -> Result<Vec<Option<String>>, CmpError> {
        let mut f = self.fail.lock().unwrap();
        if *f > 0 {
            *f -= 1;
            return Ok(vec![Some("ProvisionedThroughputExceededException".into()); records.len()]);
        }
        self.got.lock().unwrap().extend(records.iter().cloned());
        Ok(vec![None; records.len()])
    }
}

fn publisher(sink: Arc<Sink>) -> (Publisher, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::default());
    let ledger = Arc::new(ConsentLedger::new(
        store.clone(),
        store.clone(),
        Arc::new(cmp_app::crypto::BlindIndexer::from_key(&[1; 32])),
    ));
    let retry = RetryPolicy {
        attempts: 2,
        base: std::time::Duration::from_millis(1),
        cap: std::time::Duration::from_millis(1),
    };
    (Publisher::new(ledger, sink, retry), store)
}

#[tokio::test]
async fn published_events_carry_the_consent_in_force_and_no_personal_data() {
    let sink = Arc::new(Sink::default());
    let (p, _) = publisher(sink.clone());
    let ev = batch(vec![record("INSERT", "1", json!({}), profile(1, "active", Some("silver"), &[("name", "AAAA")]))]);
    let resp = p.handle(ev).await;
    assert!(resp.batch_item_failures.is_empty());
    let got = sink.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].partition_key, ID);
    let e: Value = serde_json::from_slice(&got[0].data).unwrap();
    assert_eq!(e["type"], "customer.created");
    assert_eq!(e["source"], SOURCE);
    // no ledger and no jurisdiction: the strictest regime, nobody is contactable
    assert_eq!(
        e["data"]["contactable"],
        json!({"marketing_email": false, "marketing_push": false, "marketing_sms": false})
    );
    assert!(!String::from_utf8_lossy(&got[0].data).contains("AAAA"), "sealed values never leave");
}

#[tokio::test]
async fn a_batch_that_cannot_be_published_is_retried_from_its_first_record() {
    let sink = Arc::new(Sink::default());
    *sink.fail.lock().unwrap() = 10;
    let (p, _) = publisher(sink.clone());
    let ev = batch(vec![
        record("INSERT", "11", json!({}), json!({"entity": {"S": "timeline"}, "customer_id": {"S": ID}})),
        record("INSERT", "12", json!({}), profile(1, "active", None, &[("name", "AAAA")])),
    ]);
    let resp = p.handle(ev).await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert_eq!(resp.batch_item_failures[0].item_identifier.as_deref(), Some("12"));
}

/// The published envelopes and the committed samples follow `schemas/outbound.schema.json`.
#[test]
fn envelopes_and_samples_follow_the_outbound_schema() {
    let common: Value = serde_json::from_str(include_str!("../../../../schemas/common.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(include_str!("../../../../schemas/outbound.schema.json")).unwrap();
    let registry =
        jsonschema::Registry::new().add("urn:gamma-airways:cmp:schema:common", common).unwrap().prepare().unwrap();
    let v = jsonschema::options().with_registry(&registry).should_validate_formats(true).build(&schema).unwrap();
    let ev = batch(vec![
        record("INSERT", "1", json!({}), profile(1, "active", Some("silver"), &[("name", "AAAA")])),
        record(
            "MODIFY",
            "2",
            profile(1, "active", Some("silver"), &[("name", "AAAA")]),
            profile(2, "active", Some("gold"), &[("name", "BBBB")]),
        ),
        record("MODIFY", "3", profile(2, "active", None, &[]), {
            let mut p = profile(3, "erased", None, &[]);
            p["erased_at"] = json!({"S": "2026-11-23T10:00:00Z"});
            p
        }),
    ]);
    let contactable = json!({"marketing_email": true, "marketing_sms": false, "marketing_push": false});
    for r in &ev.records {
        let c = derive(r).unwrap();
        let e = envelope(r, &c, c.active.then(|| contactable.clone()));
        let errors: Vec<String> = v.iter_errors(&e).map(|x| format!("{}: {x}", x.instance_path())).collect();
        assert!(errors.is_empty(), "{e}: {errors:?}");
    }
    for sample in [
        include_str!("../../../../events/outbound/customer.updated.json"),
        include_str!("../../../../events/outbound/customer.consent_changed.json"),
        include_str!("../../../../events/outbound/customer.erased.json"),
    ] {
        let e: Value = serde_json::from_str(sample).unwrap();
        assert!(v.is_valid(&e), "{e}");
    }
}
