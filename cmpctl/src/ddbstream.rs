//! A local stand-in for Lambda's DynamoDB Streams event source mapping: batches per shard in order,
//! partial batch failures retried from the first failed record, bounded retries, on-failure queue.
use crate::BoxError;
use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use cmp_lambda::handlers::stream::DynamoDbStreamHandler;
use serde_json::{json, Map, Value};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct DdbMappingConfig {
    pub stream_arn: String,
    pub region: String,
    pub batch_size: usize,
    pub batching_window: Duration,
    pub max_retries: i64,
    pub on_failure_queue_url: Option<String>,
    /// Lambda event filtering: a record is delivered when it matches any pattern (none: all).
    pub filter_patterns: Vec<Value>,
}

#[derive(Debug, Default)]
pub struct DdbMappingStats {
    pub invocations: AtomicU64,
    pub records_done: AtomicU64,
    pub sent_to_on_failure: AtomicU64,
}

pub struct DdbMapping {
    pub config: DdbMappingConfig,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub handler: Arc<dyn DynamoDbStreamHandler>,
    pub stats: Arc<DdbMappingStats>,
}

/// DynamoDB JSON (`{"S": "..."}`) of an attribute, as Lambda delivers stream images.
fn attr_json(v: &AttributeValue) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::B(b) => json!({"B": b64(b.as_ref())}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::Bs(v) => json!({"BS": v.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>()}),
        AttributeValue::L(l) => json!({"L": l.iter().map(attr_json).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": image(m)}),
        _ => json!({"NULL": true}),
    }
}

fn image(m: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), attr_json(v))).collect::<Map<_, _>>())
}

fn record_json(r: &Record, cfg: &DdbMappingConfig) -> Value {
    let d = r.dynamodb();
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()).unwrap_or("INSERT"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": cfg.region,
        "eventSourceARN": cfg.stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": d.and_then(|d| d.approximate_creation_date_time()).map(|t| t.secs()).unwrap_or(0),
            "Keys": d.and_then(|d| d.keys()).map(image).unwrap_or(json!({})),
            "NewImage": d.and_then(|d| d.new_image()).map(image).unwrap_or(json!({})),
            "OldImage": d.and_then(|d| d.old_image()).map(image).unwrap_or(json!({})),
            "SequenceNumber": d.and_then(|d| d.sequence_number()).unwrap_or_default(),
            "SizeBytes": d.and_then(|d| d.size_bytes()).unwrap_or(0),
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    })
}

impl DdbMapping {
    pub async fn run(
        self: Arc<Self>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, BoxError> {
        let me = self.clone();
        let mut stop = shutdown.clone();
        // shards appear as the stream grows; poll for new ones
        let task = tokio::spawn(async move {
            let mut started: HashSet<String> = HashSet::new();
            let mut pollers = Vec::new();
            loop {
                if let Ok(d) = me.streams.describe_stream().stream_arn(&me.config.stream_arn).send().await {
                    for shard in d.stream_description().map(|s| s.shards()).unwrap_or_default() {
                        let id = shard.shard_id().unwrap_or_default().to_owned();
                        if started.insert(id.clone()) {
                            let m = me.clone();
                            pollers.push(tokio::spawn(async move {
                                if let Err(e) = m.poll_shard(&id).await {
                                    tracing::error!(shard = %id, error = %e, "stream poller stopped");
                                }
                            }));
                        }
                    }
                }
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
            for p in pollers {
                p.abort();
            }
        });
        Ok(vec![task])
    }

    async fn poll_shard(&self, shard_id: &str) -> Result<(), BoxError> {
        let cfg = &self.config;
        let mut iterator = self
            .streams
            .get_shard_iterator()
            .stream_arn(&cfg.stream_arn)
            .shard_id(shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await?
            .shard_iterator
            .ok_or("no shard iterator")?;
        let mut buffer: VecDeque<Record> = VecDeque::new();
        let mut attempts: i64 = 0;
        loop {
            let window = tokio::time::Instant::now();
            while buffer.len() < cfg.batch_size {
                let out =
                    self.streams.get_records().shard_iterator(&iterator).limit(cfg.batch_size as i32).send().await?;
                let got = out.records().len();
                buffer.extend(out.records().iter().cloned());
                if let Some(next) = out.next_shard_iterator() {
                    iterator = next.to_owned();
                }
                if got == 0 {
                    if !buffer.is_empty() && window.elapsed() >= cfg.batching_window {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            let batch: Vec<Record> = buffer.iter().take(cfg.batch_size).cloned().collect();
            let delivered: Vec<Value> = batch
                .iter()
                .map(|r| record_json(r, cfg))
                .filter(|j| {
                    cfg.filter_patterns.is_empty()
                        || cfg.filter_patterns.iter().any(|p| crate::stream::pattern_matches(p, j))
                })
                .collect();
            if delivered.is_empty() {
                // filtered out: checkpointed without an invocation, as Lambda does
                self.stats.records_done.fetch_add(batch.len() as u64, Ordering::Relaxed);
                buffer.drain(..batch.len());
                continue;
            }
            let event: Event = serde_json::from_value(json!({ "Records": delivered }))?;
            self.stats.invocations.fetch_add(1, Ordering::Relaxed);
            let resp = self.handler.handle(event).await;
            let failed = resp.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).next();
            let pos = failed.and_then(|seq| {
                batch.iter().position(|r| r.dynamodb().and_then(|d| d.sequence_number()) == Some(seq.as_str()))
            });
            match pos {
                None => {
                    self.stats.records_done.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    buffer.drain(..batch.len());
                    attempts = 0;
                }
                Some(p) => {
                    buffer.drain(..p);
                    self.stats.records_done.fetch_add(p as u64, Ordering::Relaxed);
                    attempts = if p > 0 { 1 } else { attempts + 1 };
                    if cfg.max_retries >= 0 && attempts > cfg.max_retries {
                        self.stats.sent_to_on_failure.fetch_add(1, Ordering::Relaxed);
                        if let (Some(url), Some(head)) = (&cfg.on_failure_queue_url, buffer.front()) {
                            let seq = head.dynamodb().and_then(|d| d.sequence_number()).unwrap_or_default();
                            let body = json!({"requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
                                "DDBStreamBatchInfo": {"shardId": shard_id, "startSequenceNumber": seq, "endSequenceNumber": seq, "batchSize": 1, "streamArn": cfg.stream_arn}});
                            let _ = self.sqs.send_message().queue_url(url).message_body(body.to_string()).send().await;
                        }
                        buffer.pop_front();
                        self.stats.records_done.fetch_add(1, Ordering::Relaxed);
                        attempts = 0;
                    } else {
                        tokio::time::sleep(Duration::from_millis(100 * (1 << attempts.min(5)))).await;
                    }
                }
            }
        }
    }
}
