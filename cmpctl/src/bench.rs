//! `cmpctl bench ingest`: pushes generated events through the local stack and measures end-to-end
//! throughput, POST-to-readable latency and AWS calls per event.
use crate::client::{encode, ApiClient};
use crate::metrics::CallCounter;
use crate::stack::{LocalStack, StackOptions};
use crate::BoxError;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub struct IngestReport {
    pub customers: usize,
    pub events: usize,
    pub seconds: f64,
    pub events_per_second: f64,
    pub latency_ms: Vec<f64>,
    pub dynamodb_calls: u64,
    pub kms_calls: u64,
    pub by_operation: std::collections::BTreeMap<String, u64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

impl IngestReport {
    pub fn render(&self) -> String {
        let mut l = self.latency_ms.clone();
        l.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let mut s = String::new();
        s.push_str(&format!(
            "customers: {}\nevents: {}\nwall time: {:.1} s\n",
            self.customers, self.events, self.seconds
        ));
        s.push_str(&format!("throughput end to end: {:.1} events/s\n", self.events_per_second));
        s.push_str(&format!(
            "POST -> profile readable, one event at a time after the load (n={}): p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n",
            l.len(),
            percentile(&l, 50.0),
            percentile(&l, 90.0),
            percentile(&l, 99.0),
            l.last().copied().unwrap_or(f64::NAN)
        ));
        s.push_str(&format!(
            "DynamoDB calls per event: {:.2}\nKMS calls per event: {:.3}\n",
            self.dynamodb_calls as f64 / self.events as f64,
            self.kms_calls as f64 / self.events as f64
        ));
        s.push_str("calls by operation during the load (ingest + merge; the merge is 1 BatchGetItem + 1 GetItem + 1 TransactWriteItems per known customer):\n");
        for (op, n) in &self.by_operation {
            s.push_str(&format!("  {op}: {n} ({:.2}/event)\n", *n as f64 / self.events as f64));
        }
        s
    }
}

/// Runs the ingest benchmark on a fresh local stack.
pub async fn ingest(customers: usize, probes: usize, poll: Duration) -> Result<IngestReport, BoxError> {
    let counter = CallCounter::default();
    let stack = LocalStack::start(StackOptions { counter: Some(counter.clone()), ..Default::default() }).await?;
    let client = ApiClient::new(stack.base_url.clone()).with_token(stack.token("channel", false, None)?);
    let reader = client.with_token(stack.token("call_centre_agent", false, None)?);
    let (_, events) = crate::demo::generate(customers, 4242);
    let total = events.len();
    counter.reset();
    let started = Instant::now();
    let before = stack.records_done();

    // phase 1, throughput: the whole data set at once, as fast as ingest takes it
    for chunk in events.chunks(500) {
        let (status, body) = client.post_json("/v1/events", &json!({ "events": chunk })).await?;
        if status != 202 {
            return Err(format!("ingest answered {status}: {body}").into());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(3600);
    while stack.records_done() - before < total as u64 {
        if Instant::now() > deadline {
            return Err("the stream did not drain within an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let by_operation = counter.snapshot();
    let dynamodb_calls = counter.total("DynamoDB.");
    let kms_calls = counter.total("KMS.");

    // phase 2, latency: one event at a time on the loaded system, POST until the profile is readable
    let mut latency_ms = Vec::new();
    for i in 0..probes {
        let email = format!("probe{i}@example.net");
        let event = json!({
            "specversion": "1.0", "id": format!("probe-{i}"), "source": "/channels/bench", "type": "customer.profile_observed",
            "time": chrono::Utc::now().to_rfc3339(), "subject": format!("probe-{i}"),
            "data": {"channel": "web", "emails": [{"address": email}]}
        });
        let t0 = Instant::now();
        let (status, body) = client.post_json("/v1/events", &event).await?;
        if status != 202 {
            return Err(format!("ingest answered {status}: {body}").into());
        }
        loop {
            let (status, v) = reader.get(&format!("/v1/profiles?email={}", encode(&email))).await?;
            if status == 200 && v["items"].as_array().is_some_and(|a| !a.is_empty()) {
                latency_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                return Err("a probe event was not readable within 60 s".into());
            }
            tokio::time::sleep(poll).await;
        }
    }
    let report = IngestReport {
        customers,
        events: total,
        seconds,
        events_per_second: total as f64 / seconds,
        latency_ms,
        dynamodb_calls,
        kms_calls,
        by_operation,
    };
    stack.stop().await;
    Ok(report)
}

/// Loads the demo data set into a running stack.
pub async fn load_demo(client: &ApiClient, customers: usize, seed: u64) -> Result<(usize, Vec<Value>), BoxError> {
    let (people, events) = crate::demo::generate(customers, seed);
    for chunk in events.chunks(500) {
        let (status, body) = client.post_json("/v1/events", &json!({ "events": chunk })).await?;
        if status != 202 {
            return Err(format!("ingest answered {status}: {body}").into());
        }
    }
    let samples =
        people.iter().take(3).map(|p| json!({"email": p.email, "phone": p.phone, "loyalty": p.loyalty})).collect();
    Ok((events.len(), samples))
}
