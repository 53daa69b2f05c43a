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
    /// The merge's calls for one update of a known customer, first touch after the load and again
    /// (warm data-key cache): per event, DynamoDB and KMS calls.
    pub known_first: Vec<(u64, u64)>,
    pub known_warm: Vec<(u64, u64)>,
    pub known_warm_ops: std::collections::BTreeMap<String, u64>,
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
        s.push_str("calls by operation during the load (all functions but the API; `merge/` is the merge's share):\n");
        for (op, n) in &self.by_operation {
            s.push_str(&format!("  {op}: {n} ({:.2}/event)\n", *n as f64 / self.events as f64));
        }
        let line = |what: &str, v: &[(u64, u64)]| {
            let n = v.len().max(1) as f64;
            let (d, k): (Vec<u64>, Vec<u64>) = v.iter().copied().unzip();
            format!(
                "merge calls per update of a known customer, {what} (n={}): DynamoDB mean {:.2} max {}, KMS mean {:.2} max {}\n",
                v.len(),
                d.iter().sum::<u64>() as f64 / n,
                d.iter().max().copied().unwrap_or(0),
                k.iter().sum::<u64>() as f64 / n,
                k.iter().max().copied().unwrap_or(0),
            )
        };
        s.push_str(&line("first touch after the load", &self.known_first));
        s.push_str(&line("warm data-key cache", &self.known_warm));
        for (op, n) in &self.known_warm_ops {
            s.push_str(&format!("  {op}: {n} ({:.2}/event)\n", *n as f64 / self.known_warm.len().max(1) as f64));
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
    let (people, events) = crate::demo::generate(customers, 4242);
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
    // phase 3, calls per event for a known customer: one update at a time (a seat preference under
    // the customer's e-mail), the merge's calls counted; each customer twice, the second time with
    // the data key cached
    let mut known_first = Vec::new();
    let mut known_warm = Vec::new();
    let mut known_warm_ops = std::collections::BTreeMap::new();
    for (i, p) in people.iter().take(probes).enumerate() {
        for (round, seat) in [(0, "aisle"), (1, "window")] {
            let event = json!({
                "specversion": "1.0", "id": format!("known-{i}-{round}"), "source": "/channels/bench",
                "type": "customer.profile_observed", "time": chrono::Utc::now().to_rfc3339(),
                "subject": format!("known-{i}"),
                "data": {"channel": "web", "emails": [{"address": p.email}], "preferences": {"seat": seat}}
            });
            let before_calls = counter.snapshot();
            let done = stack.records_done();
            let (status, body) = client.post_json("/v1/events", &event).await?;
            if status != 202 {
                return Err(format!("ingest answered {status}: {body}").into());
            }
            let t0 = Instant::now();
            while stack.records_done() == done {
                if t0.elapsed() > Duration::from_secs(60) {
                    return Err("a known customer's update was not merged within 60 s".into());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let after = counter.snapshot();
            let delta = |prefix: &str| -> u64 {
                after
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| v - before_calls.get(k).copied().unwrap_or(0))
                    .sum()
            };
            let calls = (delta("merge/DynamoDB."), delta("merge/KMS."));
            if round == 0 {
                known_first.push(calls);
            } else {
                known_warm.push(calls);
                for (k, v) in after.iter().filter(|(k, _)| k.starts_with("merge/")) {
                    let d = v - before_calls.get(k).copied().unwrap_or(0);
                    if d > 0 {
                        *known_warm_ops.entry(k.clone()).or_insert(0) += d;
                    }
                }
            }
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
        known_first,
        known_warm,
        known_warm_ops,
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

pub struct AuthReport {
    pub reads: usize,
    pub read_ms: Vec<f64>,
    pub audit_ms: Vec<f64>,
    pub authz_ns: f64,
    pub calls_per_read: std::collections::BTreeMap<String, f64>,
}

impl AuthReport {
    pub fn render(&self) -> String {
        let sorted = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            v
        };
        let r = sorted(&self.read_ms);
        let a = sorted(&self.audit_ms);
        let mut s =
            format!("profile reads through the api function's handler (in process, no HTTP hop): {}\n", self.reads);
        s.push_str(&format!(
            "GET /v1/profiles/{{id}} end to end: p50 {:.1} ms, p99 {:.1} ms\n",
            percentile(&r, 50.0),
            percentile(&r, 99.0)
        ));
        s.push_str(&format!(
            "of which the audit append (head read + transactional write): p50 {:.1} ms, p99 {:.1} ms\n",
            percentile(&a, 50.0),
            percentile(&a, 99.0)
        ));
        s.push_str(&format!(
            "authorisation decision (claims parsing + permission table): {:.0} ns per request\n",
            self.authz_ns
        ));
        s.push_str("DynamoDB calls per read (api function):\n");
        for (op, n) in &self.calls_per_read {
            s.push_str(&format!("  {op}: {n:.2}\n"));
        }
        s
    }
}

/// Measures what authorisation and the audit trail cost per read on a fresh local stack.
pub async fn auth(reads: usize) -> Result<AuthReport, BoxError> {
    use cmp_app::audit::{self, AuditEntry, AuditLog};
    use cmp_app::authz::{Action, Principal};
    let stack = LocalStack::start(StackOptions::default()).await?;
    let writer = ApiClient::new(stack.base_url.clone()).with_token(stack.token("channel", false, None)?);
    let reader = writer.with_token(stack.token("call_centre_agent", false, None)?);
    let (people, events) = crate::demo::generate(50, 77);
    let before = stack.records_done();
    for chunk in events.chunks(500) {
        writer.post_json("/v1/events", &json!({ "events": chunk })).await?;
    }
    while stack.records_done() - before < events.len() as u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut ids = Vec::new();
    for p in people.iter().take(20) {
        let (_, v) = reader.get(&format!("/v1/profiles?email={}", encode(&p.email))).await?;
        if let Some(id) = v["items"][0]["id"].as_str() {
            ids.push(id.to_owned());
        }
    }
    // the api function's calls, counted on a client of its own
    let counter = CallCounter::default();
    let counted = crate::stack::clients(&stack.sdk, Some(&counter));
    let api_fn = stack.wiring.function_by_binary("api").ok_or("no api function")?.clone();
    let spec = &cmp_lambda::wiring::capability::API;
    let config = cmp_lambda::wiring::config_for(spec, &|k| api_fn.environment.get(k).cloned())?;
    let wiring =
        cmp_lambda::handlers::Wiring::build(spec, config, cmp_lambda::wiring::ServiceClients::select(&counted, spec))
            .await?;
    let handler = std::sync::Arc::new(cmp_lambda::handlers::api::ApiHandler::new(&wiring)?);
    let mut read_ms = Vec::new();
    let mut claims = serde_json::Map::new();
    for (k, v) in [("sub", "bench"), ("token_use", "id"), ("cognito:groups", "[call_centre_agent]"), ("amr", "[pwd]")] {
        claims.insert(k.into(), json!(v));
    }
    // warm the key cache of this handler
    for id in &ids {
        handler.handle(api_request(id, &claims)?).await;
    }
    counter.reset();
    for i in 0..reads {
        let id = &ids[i % ids.len()];
        let t0 = Instant::now();
        let resp = handler.handle(api_request(id, &claims)?).await;
        read_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if resp.status() != 200 {
            return Err(format!("read answered {}", resp.status()).into());
        }
    }
    let calls_per_read = counter.snapshot().into_iter().map(|(k, v)| (k, v as f64 / reads as f64)).collect();
    // the audit append alone, as each read does it
    let principal = Principal::from_claims(&serde_json::Value::Object(claims.clone())).map_err(|d| format!("{d:?}"))?;
    let mut audit_ms = Vec::new();
    for i in 0..reads {
        let id: cmp_app::domain::CustomerId = ids[i % ids.len()].parse().map_err(|_| "id")?;
        let entry = AuditEntry::for_request(&principal, Action::ReadProfile, Some(&id), "customer_service", "bench");
        let t0 = Instant::now();
        audit::record(wiring.audit()?.as_ref() as &dyn AuditLog, entry).await?;
        audit_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    // the authorisation decision alone
    let value = serde_json::Value::Object(claims);
    let n = 100_000;
    let t0 = Instant::now();
    for _ in 0..n {
        let p = Principal::from_claims(std::hint::black_box(&value)).map_err(|d| format!("{d:?}"))?;
        std::hint::black_box(p.may(Action::ReadProfile, None).is_ok());
    }
    let authz_ns = t0.elapsed().as_nanos() as f64 / n as f64;
    stack.stop().await;
    Ok(AuthReport { reads, read_ms, audit_ms, authz_ns, calls_per_read })
}

fn api_request(id: &str, claims: &serde_json::Map<String, Value>) -> Result<lambda_http::Request, BoxError> {
    let event = json!({
        "version": "2.0", "routeKey": "GET /v1/profiles/{id}", "rawPath": format!("/v1/profiles/{id}"), "rawQueryString": "",
        "headers": {}, "pathParameters": {"id": id},
        "requestContext": {"http": {"method": "GET", "path": format!("/v1/profiles/{id}"), "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": "GET /v1/profiles/{id}", "stage": "$default", "accountId": "1", "apiId": "local",
            "domainName": "127.0.0.1", "domainPrefix": "127", "time": "x", "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": claims, "scopes": null}}},
        "isBase64Encoded": false
    });
    Ok(lambda_http::request::from_str(&event.to_string())?)
}
