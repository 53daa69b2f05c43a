//! Fixtures of the integration tests: a local stack on the emulator (started by the test itself),
//! polling helpers, a table scan, and a validator for responses against `docs/openapi.yaml`.
use aws_sdk_dynamodb::types::AttributeValue;
use cmpctl::client::ApiClient;
use cmpctl::stack::{LocalStack, StackOptions};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

pub async fn start_stack() -> (LocalStack, ApiClient) {
    let stack = LocalStack::start(StackOptions::default())
        .await
        .expect("the local stack did not start (is the virtual environment installed? run `make setup`)");
    let client = ApiClient::new(stack.base_url.clone());
    (stack, client)
}

/// Polls `check` until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if started.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the stream mappings have finished `n` more records than `before`.
pub async fn drained(stack: &LocalStack, before: u64, n: u64) {
    eprintln!("waiting for {n} records (done so far: {})", stack.records_done() - before);
    eventually("the stream to be processed", Duration::from_secs(180), || async {
        (stack.records_done() >= before + n).then_some(())
    })
    .await
}

/// Every item of the profile table.
pub async fn scan_profiles(stack: &LocalStack) -> Vec<HashMap<String, AttributeValue>> {
    scan_table(stack, "ProfilesTableName").await
}

/// Every item of the table the stack output `output` names.
pub async fn scan_table(stack: &LocalStack, output: &str) -> Vec<HashMap<String, AttributeValue>> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let table = stack.wiring.output(output).unwrap_or_else(|| panic!("{output} output")).to_owned();
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client.scan().table_name(&table).set_exclusive_start_key(start.take()).send().await.expect("scan");
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return items,
        }
    }
}

pub fn entity_count(items: &[HashMap<String, AttributeValue>], entity: &str) -> usize {
    items.iter().filter(|i| i.get("entity").and_then(|v| v.as_s().ok()).map(String::as_str) == Some(entity)).count()
}

/// All bytes of an item's attributes (strings, numbers and binaries, recursively), for plaintext
/// searches.
pub fn item_bytes(v: &AttributeValue, out: &mut Vec<u8>) {
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => out.extend_from_slice(s.as_bytes()),
        AttributeValue::B(b) => out.extend_from_slice(b.as_ref()),
        AttributeValue::M(m) => {
            for (k, v) in m {
                out.extend_from_slice(k.as_bytes());
                item_bytes(v, out);
            }
        }
        AttributeValue::L(l) => l.iter().for_each(|v| item_bytes(v, out)),
        AttributeValue::Ss(ss) | AttributeValue::Ns(ss) => ss.iter().for_each(|s| out.extend_from_slice(s.as_bytes())),
        AttributeValue::Bs(bs) => bs.iter().for_each(|b| out.extend_from_slice(b.as_ref())),
        _ => {}
    }
    out.push(0);
}

/// Every event on the outbound stream so far.
pub async fn outbound(stack: &LocalStack) -> Vec<Value> {
    let kinesis = aws_sdk_kinesis::Client::new(&stack.sdk);
    let name = stack.wiring.output("OutboundStreamName").expect("OutboundStreamName output").to_owned();
    let shards = kinesis.list_shards().stream_name(&name).send().await.unwrap();
    let mut out = Vec::new();
    for shard in shards.shards() {
        let it = kinesis
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id(shard.shard_id())
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let mut iterator = it.shard_iterator().map(str::to_owned);
        while let Some(i) = iterator.take() {
            let page = kinesis.get_records().shard_iterator(i).limit(1000).send().await.unwrap();
            for r in page.records() {
                out.push(serde_json::from_slice(r.data().as_ref()).expect("outbound events are JSON"));
            }
            if !page.records().is_empty() {
                iterator = page.next_shard_iterator().map(str::to_owned);
            }
        }
    }
    out
}

/// `docs/openapi.yaml` as JSON (converted with the virtual environment's PyYAML).
pub fn openapi() -> Value {
    let root = cmpctl::repo_root();
    let out = std::process::Command::new(cmpctl::emulator::venv_bin("python"))
        .args(["-c", "import json,sys,yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"])
        .arg(root.join("docs/openapi.yaml"))
        .output()
        .expect("python");
    assert!(out.status.success(), "openapi.yaml does not parse");
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Validates documents against a schema of the OpenAPI document (by JSON pointer into it),
/// resolving its references to `schemas/*.schema.json`.
pub struct OpenApiValidator {
    registry: jsonschema::Registry<'static>,
}

const DOC: &str = "file:///cmp/docs/openapi.json";

impl OpenApiValidator {
    pub fn new(doc: &Value) -> Self {
        let root = cmpctl::repo_root();
        let mut builder = jsonschema::Registry::new().add(DOC, doc.clone()).expect("openapi resource");
        for entry in std::fs::read_dir(root.join("schemas")).expect("schemas dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let v: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("schema json");
            builder = builder.add(format!("file:///cmp/schemas/{name}"), v).expect("schema resource");
        }
        OpenApiValidator { registry: builder.prepare().expect("registry") }
    }

    /// Errors of `instance` against the schema at `pointer` (e.g. `/components/schemas/Profile`).
    pub fn errors(&self, pointer: &str, instance: &Value) -> Vec<String> {
        let schema = serde_json::json!({ "$ref": format!("{DOC}#{pointer}") });
        let v = jsonschema::options()
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("schema {pointer}: {e}"));
        v.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
    }
}

/// `METHOD path` of every operation in the OpenAPI document, sorted.
pub fn documented_routes(doc: &Value) -> Vec<String> {
    let mut routes: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| format!("{} {p}", m.to_uppercase()))
        })
        .collect();
    routes.sort();
    routes
}
