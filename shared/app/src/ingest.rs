//! Ingest: validate submitted events and write them to the inbound stream.
//!
//! Order: events are written with a partition key derived from `source` + `subject` (an HMAC, so
//! the key reveals nothing), so all events about one channel account land on one shard in order.
//! Within one request, at most one event per partition key is in flight at a time: a failed entry is
//! retried before any later event with the same key is sent, so retries never reorder a customer's
//! events. Only failed entries are retried.
use crate::api_error::{ApiError, ItemError};
use crate::crypto::BlindIndexer;
use crate::domain::event::{parse_event, EventType, FieldError, RawEnvelope};
use crate::error::CmpError;
use crate::schema::EventValidator;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// The domain rules of any event type, as the ingest edge checks them before accepting an event.
pub fn check_semantics(raw: &RawEnvelope) -> Result<(), Vec<FieldError>> {
    match raw.event_type {
        EventType::ConsentChanged => crate::consent::parse_change(raw).map(|_| ()),
        EventType::FlightDisrupted => crate::cases::parse_disruption(raw).map(|_| ()),
        _ => parse_event(raw).map(|_| ()),
    }
}

/// Sets `data.acted_at` of a consent change to `now` when the act it reports (`acted_at`, else
/// `time`) lies after `now`. Answers whether it changed the event.
fn clamp_acted_at(event: &mut Value, raw: &RawEnvelope, now: chrono::DateTime<chrono::Utc>) -> bool {
    let acted_at = raw
        .data
        .get("acted_at")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(raw.time);
    if acted_at <= now {
        return false;
    }
    match event.get_mut("data").and_then(Value::as_object_mut) {
        Some(data) => {
            data.insert("acted_at".into(), Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
            true
        }
        None => false,
    }
}

/// One record for the stream.
#[derive(Debug, Clone)]
pub struct OutRecord {
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// The port to the inbound stream.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Writes the records in one call (at most 500 records and 5 MiB); answers, per record, `None`
    /// when written or `Some(error code)` when that entry failed and may be retried.
    async fn put_records(&self, records: &[OutRecord]) -> Result<Vec<Option<String>>, CmpError>;
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_batch_events: usize,
    pub max_event_bytes: usize,
    pub max_request_bytes: usize,
}

/// How failed PutRecords entries are retried: the platform's one backoff ([`crate::retry::Backoff`]).
pub type RetryPolicy = crate::retry::Backoff;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted {
    pub index: usize,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub errors: Vec<ItemError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestResult {
    pub accepted: Vec<Accepted>,
    pub rejected: Vec<Rejected>,
}

const MAX_CALL_RECORDS: usize = 500;
const MAX_CALL_BYTES: usize = 5 * 1024 * 1024;

pub struct Ingest {
    sink: Arc<dyn EventSink>,
    indexer: Arc<BlindIndexer>,
    validator: Arc<EventValidator>,
    limits: Limits,
    retry: RetryPolicy,
}

fn media_type_ok(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let mt = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    matches!(mt.as_str(), "application/json" | "application/cloudevents+json" | "application/cloudevents-batch+json")
}

/// A valid event ready for the stream.
struct Ready {
    index: usize,
    id: String,
    record: OutRecord,
}

impl Ingest {
    pub fn new(
        sink: Arc<dyn EventSink>,
        indexer: Arc<BlindIndexer>,
        validator: Arc<EventValidator>,
        limits: Limits,
        retry: RetryPolicy,
    ) -> Self {
        Ingest { sink, indexer, validator, limits, retry }
    }

    /// Validates one submitted event: size, schema, then the domain rules.
    fn check(&self, index: usize, item: &Value, seen: &mut HashSet<(String, String)>) -> Result<Ready, Rejected> {
        let id = item.get("id").and_then(Value::as_str).map(str::to_owned);
        let reject = |errors: Vec<FieldError>| Rejected {
            index,
            id: id.clone(),
            errors: errors
                .into_iter()
                .map(|e| ItemError { index, event_id: id.clone(), code: e.code, path: e.path, message: e.message })
                .collect(),
        };
        let data = serde_json::to_vec(item).unwrap_or_default();
        if data.len() > self.limits.max_event_bytes {
            return Err(reject(vec![FieldError::new(
                "event_too_large",
                "",
                format!("an event may be at most {} bytes", self.limits.max_event_bytes),
            )]));
        }
        let errors = self.validator.validate(item);
        if !errors.is_empty() {
            return Err(reject(errors));
        }
        let raw: RawEnvelope = serde_json::from_value(item.clone())
            .map_err(|e| reject(vec![FieldError::new("schema_violation", "", e.to_string())]))?;
        let now = chrono::Utc::now();
        let mut errors = check_semantics(&raw).err().unwrap_or_default();
        errors.extend(cmp_core::domain::event::check_not_in_future(&raw, now));
        if !errors.is_empty() {
            return Err(reject(errors));
        }
        if !seen.insert((raw.source.clone(), raw.id.clone())) {
            return Err(reject(vec![FieldError::new(
                "duplicate_event_id",
                "/id",
                "another event in this batch has the same source and id",
            )]));
        }
        // PCI-DSS: card numbers in free text never reach the stream
        let mut clean = item.clone();
        let removed = crate::pci::scrub_event(&mut clean);
        // a consent act cannot have happened after the platform received it: within the skew, a
        // later `acted_at` (or `time`) is recorded as the time of receipt, so it cannot outrank an act
        // recorded after it (docs/privacy.md, "Acts dated in the future")
        let clamped = raw.event_type == EventType::ConsentChanged && clamp_acted_at(&mut clean, &raw, now);
        let data = if removed > 0 || clamped {
            tracing::info!(card_numbers_removed = removed, "free text scrubbed");
            serde_json::to_vec(&clean).unwrap_or_default()
        } else {
            data
        };
        Ok(Ready {
            index,
            id: raw.id.clone(),
            record: OutRecord { partition_key: self.indexer.partition_key(&raw.source, &raw.subject), data },
        })
    }

    /// Handles one `POST /v1/events` body.
    pub async fn ingest(
        &self,
        content_type: Option<&str>,
        body: &[u8],
        partial: bool,
    ) -> Result<IngestResult, ApiError> {
        if !media_type_ok(content_type) {
            return Err(ApiError::new(
                415,
                "unsupported_media_type",
                "send application/json (or application/cloudevents+json, application/cloudevents-batch+json)",
            ));
        }
        if body.len() > self.limits.max_request_bytes {
            return Err(ApiError::new(
                413,
                "payload_too_large",
                format!("a request body may be at most {} bytes", self.limits.max_request_bytes),
            ));
        }
        let doc: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}")))?;
        let items: Vec<Value> = match doc {
            Value::Array(items) => items,
            Value::Object(mut map) if !map.contains_key("specversion") && map.contains_key("events") => {
                if map.len() != 1 {
                    return Err(ApiError::bad_request("invalid_batch", "a batch object has only the member `events`"));
                }
                match map.remove("events") {
                    Some(Value::Array(items)) => items,
                    _ => return Err(ApiError::bad_request("invalid_batch", "`events` must be an array of events")),
                }
            }
            v @ Value::Object(_) => vec![v],
            _ => return Err(ApiError::bad_request("invalid_batch", "send one event object or a batch of events")),
        };
        if items.is_empty() {
            return Err(ApiError::bad_request("empty_batch", "the batch holds no events"));
        }
        if items.len() > self.limits.max_batch_events {
            return Err(ApiError::bad_request(
                "batch_too_large",
                format!("a batch may hold at most {} events", self.limits.max_batch_events),
            ));
        }
        let mut seen = HashSet::new();
        let mut ready = Vec::new();
        let mut rejected = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match self.check(i, item, &mut seen) {
                Ok(r) => ready.push(r),
                Err(r) => rejected.push(r),
            }
        }
        if !rejected.is_empty() && !partial {
            let details: Vec<ItemError> = rejected.iter().flat_map(|r| r.errors.iter().cloned()).collect();
            return Err(ApiError::bad_request(
                "validation_failed",
                format!(
                    "{} of {} events are invalid; nothing was accepted (add ?partial=true to accept the valid ones)",
                    rejected.len(),
                    items.len()
                ),
            )
            .with_details(details));
        }
        let (written, failed) = self.write(&ready).await;
        if !failed.is_empty() {
            let mut err = ApiError::unavailable(
                "ingest_unavailable",
                "the event stream did not take every event; resend the ones not written (resending written ones is safe)",
            );
            err.extra = Some(serde_json::json!({
                "written": written.iter().map(|r| Accepted { index: ready[*r].index, id: ready[*r].id.clone() }).collect::<Vec<_>>(),
                "not_written": failed.iter().map(|r| Accepted { index: ready[*r].index, id: ready[*r].id.clone() }).collect::<Vec<_>>(),
            }));
            return Err(err);
        }
        Ok(IngestResult {
            accepted: ready.iter().map(|r| Accepted { index: r.index, id: r.id.clone() }).collect(),
            rejected,
        })
    }

    /// Validates events as `POST /v1/events` does (schema, domain rules, card numbers scrubbed) and
    /// writes the valid ones to the stream. Answers the rejected ones with their reasons (`index`
    /// is the position in `items`) and the positions of valid events not written.
    pub async fn submit(&self, items: &[Value]) -> (Vec<Rejected>, Vec<usize>) {
        let mut seen = HashSet::new();
        let mut ready = Vec::new();
        let mut rejected = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match self.check(i, item, &mut seen) {
                Ok(r) => ready.push(r),
                Err(r) => rejected.push(r),
            }
        }
        let (_, failed) = self.write(&ready).await;
        (rejected, failed.iter().map(|f| ready[*f].index).collect())
    }

    async fn write(&self, ready: &[Ready]) -> (Vec<usize>, Vec<usize>) {
        let records: Vec<OutRecord> = ready.iter().map(|r| r.record.clone()).collect();
        write_ordered(self.sink.as_ref(), &records, self.retry).await
    }
}

/// Writes records to a stream, one in flight per partition key (so retries never reorder a key's
/// records), retrying only failed entries. Returns (written, not written) as positions in `records`.
pub async fn write_ordered(
    sink: &dyn EventSink,
    records: &[OutRecord],
    retry: RetryPolicy,
) -> (Vec<usize>, Vec<usize>) {
    // queues per partition key, in submission order
    let mut order: Vec<&str> = Vec::new();
    let mut queues: std::collections::HashMap<&str, VecDeque<usize>> = Default::default();
    for (pos, r) in records.iter().enumerate() {
        let k = r.partition_key.as_str();
        queues
            .entry(k)
            .or_insert_with(|| {
                order.push(k);
                VecDeque::new()
            })
            .push_back(pos);
    }
    let mut attempts: std::collections::HashMap<usize, u32> = Default::default();
    let mut written = Vec::new();
    let mut failed = Vec::new();
    loop {
        // the head of every queue, within the per-call limits
        let mut call: Vec<usize> = Vec::new();
        let mut bytes = 0;
        for k in &order {
            if let Some(&pos) = queues.get(k).and_then(|q| q.front()) {
                let size = records[pos].data.len() + records[pos].partition_key.len();
                if call.len() == MAX_CALL_RECORDS || bytes + size > MAX_CALL_BYTES {
                    break;
                }
                bytes += size;
                call.push(pos);
            }
        }
        if call.is_empty() {
            break;
        }
        let batch: Vec<OutRecord> = call.iter().map(|p| records[*p].clone()).collect();
        let outcome = match sink.put_records(&batch).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error_code = e.code(), records = batch.len(), "PutRecords call failed");
                vec![Some("CallFailed".to_owned()); batch.len()]
            }
        };
        let mut any_failed = false;
        for (pos, result) in call.iter().zip(outcome) {
            let key = records[*pos].partition_key.as_str();
            match result {
                None => {
                    written.push(*pos);
                    if let Some(q) = queues.get_mut(key) {
                        q.pop_front();
                    }
                }
                Some(code) => {
                    any_failed = true;
                    let n = attempts.entry(*pos).or_insert(0);
                    *n += 1;
                    if *n >= retry.attempts {
                        tracing::warn!(error_code = %code, "record not written after retries");
                        // give up on this key: its later records must not overtake it
                        if let Some(q) = queues.get_mut(key) {
                            failed.extend(q.drain(..));
                        }
                    }
                }
            }
        }
        if any_failed {
            let max = attempts.values().copied().max().unwrap_or(1);
            retry.pause(max - 1).await;
        }
    }
    written.sort_unstable();
    failed.sort_unstable();
    (written, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    /// A stream that fails chosen attempts and records what it accepted, in order.
    #[derive(Default)]
    struct FlakySink {
        calls: Mutex<u32>,
        /// fail entries at these (call number, position) pairs
        fail: Mutex<Vec<(u32, usize)>>,
        always_fail_key: Option<String>,
        accepted: Mutex<Vec<OutRecord>>,
    }

    #[async_trait]
    impl EventSink for FlakySink {
        async fn put_records(&self, records: &[OutRecord]) -> Result<Vec<Option<String>>, CmpError> {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            let fail = self.fail.lock().unwrap().clone();
            let mut out = Vec::new();
            for (i, r) in records.iter().enumerate() {
                if fail.contains(&(*calls, i)) || self.always_fail_key.as_deref() == Some(r.partition_key.as_str()) {
                    out.push(Some("ProvisionedThroughputExceededException".into()));
                } else {
                    self.accepted.lock().unwrap().push(r.clone());
                    out.push(None);
                }
            }
            Ok(out)
        }
    }

    fn ingest_with(sink: Arc<FlakySink>) -> Ingest {
        Ingest::new(
            sink,
            Arc::new(BlindIndexer::from_key(&[3u8; 32])),
            Arc::new(EventValidator::new().unwrap()),
            Limits { max_batch_events: 500, max_event_bytes: 131_072, max_request_bytes: 6_000_000 },
            RetryPolicy {
                attempts: 3,
                base: std::time::Duration::from_millis(1),
                cap: std::time::Duration::from_millis(1),
            },
        )
    }

    fn ev(id: &str, subject: &str, email: &str) -> Value {
        json!({
            "specversion": "1.0", "id": id, "source": "/channels/web", "type": "customer.profile_observed",
            "time": "2026-11-20T10:00:00Z", "subject": subject,
            "data": {"channel": "web", "emails": [{"address": email}]}
        })
    }

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[tokio::test]
    async fn a_single_event_and_a_batch_are_accepted() {
        let sink = Arc::new(FlakySink::default());
        let ing = ingest_with(sink.clone());
        let r = ing.ingest(Some("application/json"), &body(ev("a", "s1", "a@example.com")), false).await.unwrap();
        assert_eq!(r.accepted, vec![Accepted { index: 0, id: "a".into() }]);
        let batch = json!({"events": [ev("b", "s1", "b@example.com"), ev("c", "s2", "c@example.com")]});
        let r = ing.ingest(Some("application/json; charset=utf-8"), &body(batch), false).await.unwrap();
        assert_eq!(r.accepted.len(), 2);
        assert_eq!(sink.accepted.lock().unwrap().len(), 3);
        // a bare array (CloudEvents batch format) works too
        let arr = json!([ev("d", "s3", "d@example.com")]);
        let r = ing.ingest(Some("application/cloudevents-batch+json"), &body(arr), false).await.unwrap();
        assert_eq!(r.accepted.len(), 1);
    }

    #[tokio::test]
    async fn an_invalid_item_rejects_the_whole_batch_unless_partial() {
        let sink = Arc::new(FlakySink::default());
        let ing = ingest_with(sink.clone());
        let batch = json!({"events": [ev("ok", "s1", "a@example.com"), ev("bad", "s2", "not-an-email")]});
        let err = ing.ingest(Some("application/json"), &body(batch.clone()), false).await.unwrap_err();
        assert_eq!((err.status, err.code), (400, "validation_failed"));
        assert_eq!(err.details[0].index, 1);
        assert_eq!(err.details[0].event_id.as_deref(), Some("bad"));
        assert_eq!(err.details[0].path, "/data/emails/0/address");
        assert!(sink.accepted.lock().unwrap().is_empty(), "nothing written");

        let r = ing.ingest(Some("application/json"), &body(batch), true).await.unwrap();
        assert_eq!(r.accepted, vec![Accepted { index: 0, id: "ok".into() }]);
        assert_eq!(r.rejected.len(), 1);
        assert_eq!(sink.accepted.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn request_level_errors_have_stable_codes() {
        let ing = ingest_with(Arc::new(FlakySink::default()));
        let e = ing.ingest(Some("text/plain"), b"{}", false).await.unwrap_err();
        assert_eq!((e.status, e.code), (415, "unsupported_media_type"));
        let e = ing.ingest(None, b"{}", false).await.unwrap_err();
        assert_eq!(e.status, 415);
        let e = ing.ingest(Some("application/json"), b"{not json", false).await.unwrap_err();
        assert_eq!((e.status, e.code), (400, "invalid_json"));
        let e = ing.ingest(Some("application/json"), b"{\"events\": []}", false).await.unwrap_err();
        assert_eq!(e.code, "empty_batch");
        let many: Vec<Value> = (0..501).map(|i| ev(&format!("e{i}"), "s", "a@example.com")).collect();
        let e = ing.ingest(Some("application/json"), &body(json!({ "events": many })), false).await.unwrap_err();
        assert_eq!(e.code, "batch_too_large");
        let e = ing.ingest(Some("application/json"), &vec![b' '; 6_000_001], false).await.unwrap_err();
        assert_eq!((e.status, e.code), (413, "payload_too_large"));
        let e = ing.ingest(Some("application/json"), b"42", false).await.unwrap_err();
        assert_eq!(e.code, "invalid_batch");
        let dup = json!({"events": [ev("same", "s1", "a@example.com"), ev("same", "s2", "b@example.com")]});
        let e = ing.ingest(Some("application/json"), &body(dup), false).await.unwrap_err();
        assert_eq!(e.details[0].code, "duplicate_event_id");
    }

    #[tokio::test]
    async fn only_failed_entries_are_retried_and_order_per_key_holds() {
        let sink = Arc::new(FlakySink::default());
        // first call: the entry at position 0 (the first event of subject s1) fails
        sink.fail.lock().unwrap().push((1, 0));
        let ing = ingest_with(sink.clone());
        let batch = json!({"events": [
            ev("s1-1", "s1", "a@example.com"), ev("s2-1", "s2", "b@example.com"),
            ev("s1-2", "s1", "a@example.com"), ev("s2-2", "s2", "b@example.com")
        ]});
        let r = ing.ingest(Some("application/json"), &body(batch), false).await.unwrap();
        assert_eq!(r.accepted.len(), 4);
        let ids: Vec<String> = sink
            .accepted
            .lock()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice::<Value>(&r.data).unwrap()["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 4, "each event written exactly once: {ids:?}");
        let pos = |id: &str| ids.iter().position(|x| x == id).unwrap();
        assert!(pos("s1-1") < pos("s1-2"), "{ids:?}");
        assert!(pos("s2-1") < pos("s2-2"), "{ids:?}");
    }

    #[tokio::test]
    async fn a_key_that_keeps_failing_is_reported_not_written() {
        let ing_key = BlindIndexer::from_key(&[3u8; 32]).partition_key("/channels/web", "bad");
        let sink = Arc::new(FlakySink { always_fail_key: Some(ing_key), ..Default::default() });
        let ing = ingest_with(sink.clone());
        let batch = json!({"events": [ev("x1", "bad", "a@example.com"), ev("y", "good", "b@example.com"), ev("x2", "bad", "a@example.com")]});
        let e = ing.ingest(Some("application/json"), &body(batch), false).await.unwrap_err();
        assert_eq!((e.status, e.code), (503, "ingest_unavailable"));
        let extra = e.extra.unwrap();
        assert_eq!(extra["written"], json!([{"index": 1, "id": "y"}]));
        assert_eq!(extra["not_written"], json!([{"index": 0, "id": "x1"}, {"index": 2, "id": "x2"}]));
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[ -~]{0,20}".prop_map(Value::String),
            Just(json!("customer.profile_observed")),
            Just(json!("1.0")),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("specversion".to_owned()),
                        Just("id".to_owned()),
                        Just("type".to_owned()),
                        Just("data".to_owned()),
                        Just("events".to_owned()),
                        Just("emails".to_owned()),
                        Just("source".to_owned()),
                        "[a-z]{1,8}"
                    ],
                    inner,
                    0..8
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]

        /// Arbitrary bytes and content types: 202 or a 4xx with a stable code, never a panic or 5xx.
        #[test]
        fn any_body_gets_an_answer(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                                   ct in proptest::option::of("[ -~]{0,40}"), partial in proptest::prelude::any::<bool>()) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let ing = ingest_with(Arc::new(FlakySink::default()));
            match rt.block_on(ing.ingest(ct.as_deref(), &body, partial)) {
                Ok(_) => {}
                Err(e) => proptest::prop_assert!((400..500).contains(&e.status) && !e.code.is_empty(), "{e:?}"),
            }
        }

        /// Arbitrary JSON documents, including near-miss envelopes and batches.
        #[test]
        fn any_json_gets_an_answer(doc in json_value(), partial in proptest::prelude::any::<bool>()) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let ing = ingest_with(Arc::new(FlakySink::default()));
            let body = serde_json::to_vec(&doc).unwrap();
            match rt.block_on(ing.ingest(Some("application/json"), &body, partial)) {
                Ok(r) => proptest::prop_assert!(partial || r.rejected.is_empty()),
                Err(e) => proptest::prop_assert!((400..500).contains(&e.status), "{e:?}"),
            }
        }
    }

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    async fn codes_of(ing: &Ingest, event: Value) -> Vec<(String, String)> {
        match ing.ingest(Some("application/json"), &body(event), false).await {
            Ok(_) => vec![],
            Err(e) => e.details.iter().map(|d| (d.code.clone(), d.path.clone())).collect(),
        }
    }

    #[tokio::test]
    async fn events_from_the_future_are_refused_for_every_type() {
        let ing = ingest_with(Arc::new(FlakySink::default()));
        let two_days = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
        let in_skew = (chrono::Utc::now() + chrono::Duration::minutes(4)).to_rfc3339();
        for name in [
            "customer.profile_observed",
            "customer.interaction_logged",
            "booking.recorded",
            "customer.consent_changed",
            "flight.disrupted",
        ] {
            let mut e = sample(name);
            e["time"] = json!(two_days);
            assert!(
                codes_of(&ing, e).await.contains(&("time_in_future".into(), "/time".into())),
                "{name} dated two days ahead was not refused"
            );
            let mut e = sample(name);
            e["time"] = json!(in_skew);
            if let Some(data) = e["data"].as_object_mut() {
                // the sample's acts are dated as the sample was written; the schedule stays
                for member in ["notified_at", "actual_departure", "actual_arrival", "booked_at"] {
                    if data.contains_key(member) {
                        data.insert(member.into(), json!(in_skew));
                    }
                }
            }
            if name == "customer.consent_changed" {
                e["data"]["acted_at"] = json!(in_skew);
            }
            assert_eq!(codes_of(&ing, e).await, vec![], "{name}: 4 minutes ahead is within the skew");
        }
        // the act times an event reports
        let mut booking = sample("booking.recorded");
        booking["data"]["booked_at"] = json!(two_days);
        assert!(codes_of(&ing, booking).await.contains(&("acted_in_future".into(), "/data/booked_at".into())));
        let mut disruption = sample("flight.disrupted");
        disruption["data"]["notified_at"] = json!(two_days);
        assert!(codes_of(&ing, disruption).await.contains(&("acted_in_future".into(), "/data/notified_at".into())));
    }

    #[tokio::test]
    async fn a_consent_act_dated_ahead_is_recorded_at_its_receipt() {
        let sink = Arc::new(FlakySink::default());
        let ing = ingest_with(sink.clone());
        let ahead = chrono::Utc::now() + chrono::Duration::minutes(4);
        let mut e = sample("customer.consent_changed");
        e["time"] = json!(ahead.to_rfc3339());
        e["data"]["acted_at"] = json!(ahead.to_rfc3339());
        ing.ingest(Some("application/json"), &body(e), false).await.unwrap();
        let written: Value = serde_json::from_slice(&sink.accepted.lock().unwrap()[0].data).unwrap();
        let acted: chrono::DateTime<chrono::Utc> = written["data"]["acted_at"].as_str().unwrap().parse().unwrap();
        assert!(acted <= chrono::Utc::now(), "acted_at {acted} still in the future");
        // an act in the past is left as it was sent
        let sample_event = sample("customer.consent_changed");
        ing.ingest(Some("application/json"), &body(sample_event.clone()), false).await.unwrap();
        let written: Value = serde_json::from_slice(&sink.accepted.lock().unwrap()[1].data).unwrap();
        assert_eq!(written, sample_event);
    }

    #[tokio::test]
    async fn amounts_are_checked_against_their_currencys_minor_units() {
        let ing = ingest_with(Arc::new(FlakySink::default()));
        let mut booking = sample("booking.recorded");
        booking["data"]["total"] = json!({"amount": 15000.5, "currency": "JPY"});
        assert_eq!(codes_of(&ing, booking).await, vec![("invalid_minor_units".into(), "/data/total/amount".into())]);
        let mut booking = sample("booking.recorded");
        booking["data"]["total"] = json!({"amount": 15000, "currency": "JPY"});
        assert_eq!(codes_of(&ing, booking).await, vec![]);
        let mut shop = sample("customer.interaction_logged");
        shop["data"]["amount"] = json!({"amount": 12.5, "currency": "XXQ"});
        assert_eq!(codes_of(&ing, shop).await, vec![("unknown_currency".into(), "/data/amount/currency".into())]);
    }

    #[tokio::test]
    async fn card_numbers_never_reach_the_stream() {
        let (_guard, logs) = crate::telemetry::capture();
        let sink = Arc::new(FlakySink::default());
        let ing = ingest_with(sink.clone());
        let chat = json!({
            "specversion": "1.0", "id": "chat-1", "source": "/channels/chat", "type": "customer.interaction_logged",
            "time": "2026-11-20T10:00:00Z", "subject": "chat-77",
            "data": {"channel": "chat", "kind": "chat", "customer": {"email": "a@example.com"},
                     "text": "Agent: how would you like to pay? Customer: 4111 1111 1111 1111 exp 12/28"}
        });
        ing.ingest(Some("application/json"), &body(chat), false).await.unwrap();
        let written = String::from_utf8(sink.accepted.lock().unwrap()[0].data.clone()).unwrap();
        assert!(!written.contains("4111 1111 1111 1111") && !written.contains("4111111111111111"), "{written}");
        assert!(written.contains(crate::pci::REDACTED));
        let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("free text scrubbed"), "the test would prove nothing without logs: {logged}");
        assert!(!logged.contains("4111 1111 1111 1111") && !logged.contains("4111111111111111"), "{logged}");
        assert!(!logged.contains("a@example.com"), "personal data in the logs: {logged}");
    }

    #[tokio::test]
    async fn partition_keys_are_opaque_and_per_account() {
        let sink = Arc::new(FlakySink::default());
        let ing = ingest_with(sink.clone());
        let batch = json!({"events": [ev("1", "anna@example.com", "anna@example.com"), ev("2", "anna@example.com", "anna@example.com"), ev("3", "other", "b@example.com")]});
        ing.ingest(Some("application/json"), &body(batch), false).await.unwrap();
        let acc = sink.accepted.lock().unwrap();
        assert_eq!(acc[0].partition_key.len(), 32);
        assert!(!acc[0].partition_key.contains("anna"));
        let keys: HashSet<&str> = acc.iter().map(|r| r.partition_key.as_str()).collect();
        assert_eq!(keys.len(), 2);
    }
}
