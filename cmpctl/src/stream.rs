//! A local stand-in for Lambda's Kinesis event source mapping, with the semantics the template
//! declares: batches of up to `BatchSize` records per shard, in order; the batch response's
//! `batchItemFailures` checkpoint just before the lowest failed sequence number and the batch is
//! retried from there; after `MaximumRetryAttempts` retries or once the record is older than
//! `MaximumRecordAgeInSeconds`, the record's coordinates go to the on-failure SQS queue (as Lambda
//! sends them) and the shard moves on.
use crate::BoxError;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use base64::Engine;
use cmp_lambda::handlers::stream::KinesisHandler;
use serde_json::json;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct MappingConfig {
    pub stream_name: String,
    pub stream_arn: String,
    pub region: String,
    pub batch_size: usize,
    pub batching_window: Duration,
    pub max_retries: i64,
    pub max_record_age: Option<Duration>,
    pub report_batch_item_failures: bool,
    pub on_failure_queue_url: Option<String>,
    pub function_arn: String,
    /// Lambda event filtering: a record is delivered when it matches any pattern (none: all).
    pub filter_patterns: Vec<serde_json::Value>,
}

/// Counters of the mapping, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct MappingStats {
    pub invocations: AtomicU64,
    pub records_delivered: AtomicU64,
    /// Records of this mapping's filter the handler finished (checkpointed past).
    pub records_done: AtomicU64,
    pub retries: AtomicU64,
    pub sent_to_on_failure: AtomicU64,
}

pub struct Mapping {
    pub config: MappingConfig,
    pub kinesis: aws_sdk_kinesis::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub handler: Arc<dyn KinesisHandler>,
    pub stats: Arc<MappingStats>,
}

fn record_json(r: &Record, shard: &str, cfg: &MappingConfig) -> serde_json::Value {
    let arrival = r.approximate_arrival_timestamp().map(|t| t.as_secs_f64()).unwrap_or(0.0);
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r.partition_key(),
            "sequenceNumber": r.sequence_number(),
            "data": base64::engine::general_purpose::STANDARD.encode(r.data().as_ref()),
            "approximateArrivalTimestamp": arrival
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("{shard}:{}", r.sequence_number()),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/local-merge",
        "awsRegion": cfg.region,
        "eventSourceARN": cfg.stream_arn
    })
}

/// Whether a value matches an event pattern (the subset of Lambda's filter syntax the template
/// uses: nested objects, lists of exact values, and `{"anything-but": [...]}`).
pub fn pattern_matches(pattern: &serde_json::Value, value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match pattern {
        Value::Object(fields) => fields.iter().all(|(k, p)| match (p, value.get(k)) {
            (Value::Object(_), Some(v)) => pattern_matches(p, v),
            (Value::Object(_), None) => false,
            (Value::Array(options), v) => options.iter().any(|o| match o {
                Value::Object(op) => match op.get("anything-but") {
                    Some(Value::Array(not)) => v.is_some_and(|v| !not.contains(v)),
                    Some(single) => v.is_some_and(|v| v != single),
                    None => false,
                },
                exact => v == Some(exact),
            }),
            _ => false,
        }),
        _ => false,
    }
}

/// Whether a Kinesis record passes the mapping's filters.
fn passes(patterns: &[serde_json::Value], r: &Record) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let Ok(data) = serde_json::from_slice::<serde_json::Value>(r.data().as_ref()) else {
        // Lambda drops records whose data is not JSON when a filter looks into data
        return false;
    };
    let doc = json!({"data": data, "partitionKey": r.partition_key()});
    patterns.iter().any(|p| pattern_matches(p, &doc))
}

impl Mapping {
    /// Runs one poller per shard until `shutdown` turns true.
    pub async fn run(
        self: Arc<Self>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, BoxError> {
        let shards = self.kinesis.list_shards().stream_name(&self.config.stream_name).send().await?;
        let mut tasks = Vec::new();
        for shard in shards.shards() {
            let me = self.clone();
            let shard_id = shard.shard_id().to_owned();
            let mut stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    _ = stop.changed() => {}
                    r = me.poll_shard(&shard_id) => {
                        if let Err(e) = r {
                            tracing::error!(shard = %shard_id, error = %e, "shard poller stopped");
                        }
                    }
                }
            }));
        }
        Ok(tasks)
    }

    async fn poll_shard(&self, shard_id: &str) -> Result<(), BoxError> {
        let cfg = &self.config;
        let mut iterator = self
            .kinesis
            .get_shard_iterator()
            .stream_name(&cfg.stream_name)
            .shard_id(shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await?
            .shard_iterator
            .ok_or("no shard iterator")?;
        let mut buffer: VecDeque<Record> = VecDeque::new();
        let mut attempts_on_head: i64 = 0;
        loop {
            // fill the buffer up to a batch, waiting at most the batching window for more
            let window_started = tokio::time::Instant::now();
            while buffer.len() < cfg.batch_size {
                let out = self
                    .kinesis
                    .get_records()
                    .shard_iterator(&iterator)
                    .limit((cfg.batch_size - buffer.len()) as i32)
                    .send()
                    .await?;
                let got = out.records().len();
                buffer.extend(out.records().iter().cloned());
                if let Some(next) = out.next_shard_iterator() {
                    iterator = next.to_owned();
                }
                if got == 0 {
                    if !buffer.is_empty() && window_started.elapsed() >= cfg.batching_window {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(if buffer.is_empty() { 200 } else { 50 })).await;
                }
            }
            let batch: Vec<Record> = buffer.iter().take(cfg.batch_size).cloned().collect();
            let delivered: Vec<&Record> = batch.iter().filter(|r| passes(&cfg.filter_patterns, r)).collect();
            if delivered.is_empty() {
                // filtered out: checkpointed without an invocation, as Lambda does
                buffer.drain(..batch.len());
                continue;
            }
            let counted = |upto: usize| batch[..upto].iter().filter(|r| passes(&cfg.filter_patterns, r)).count() as u64;
            let records: Vec<serde_json::Value> = delivered.iter().map(|r| record_json(r, shard_id, cfg)).collect();
            let event: KinesisEvent = serde_json::from_value(json!({ "Records": records }))?;
            self.stats.invocations.fetch_add(1, Ordering::Relaxed);
            self.stats.records_delivered.fetch_add(delivered.len() as u64, Ordering::Relaxed);
            let response = self.handler.handle(event).await;
            let failed_seq = if cfg.report_batch_item_failures {
                response
                    .batch_item_failures
                    .iter()
                    .filter_map(|f| f.item_identifier.clone())
                    .min_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)))
            } else {
                None
            };
            match failed_seq.and_then(|seq| batch.iter().position(|r| r.sequence_number() == seq)) {
                None => {
                    self.stats.records_done.fetch_add(counted(batch.len()), Ordering::Relaxed);
                    buffer.drain(..batch.len());
                    attempts_on_head = 0;
                }
                Some(pos) => {
                    // checkpoint before the failed record; retry from it
                    self.stats.records_done.fetch_add(counted(pos), Ordering::Relaxed);
                    buffer.drain(..pos);
                    if pos > 0 {
                        attempts_on_head = 0;
                    }
                    attempts_on_head += 1;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let head = &buffer[0];
                    let too_old = cfg.max_record_age.is_some_and(|max| {
                        head.approximate_arrival_timestamp()
                            .map(|t| {
                                let age = chrono::Utc::now().timestamp() - t.secs();
                                age >= max.as_secs() as i64
                            })
                            .unwrap_or(false)
                    });
                    if (cfg.max_retries >= 0 && attempts_on_head > cfg.max_retries) || too_old {
                        self.send_to_on_failure(shard_id, head, attempts_on_head, too_old).await;
                        self.stats.records_done.fetch_add(1, Ordering::Relaxed);
                        buffer.pop_front();
                        attempts_on_head = 0;
                    } else {
                        let backoff = Duration::from_millis(100 * (1 << attempts_on_head.min(5)));
                        tokio::time::sleep(backoff).await;
                    }
                }
            }
        }
    }

    async fn send_to_on_failure(&self, shard_id: &str, record: &Record, attempts: i64, too_old: bool) {
        let cfg = &self.config;
        self.stats.sent_to_on_failure.fetch_add(1, Ordering::Relaxed);
        let Some(url) = &cfg.on_failure_queue_url else {
            tracing::error!(
                shard = shard_id,
                seq = record.sequence_number(),
                "record discarded: no on-failure destination"
            );
            return;
        };
        let arrival = record
            .approximate_arrival_timestamp()
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0))
            .unwrap_or_default()
            .to_rfc3339();
        let body = json!({
            "requestContext": {
                "requestId": uuid::Uuid::new_v4().to_string(),
                "functionArn": cfg.function_arn,
                "condition": if too_old { "RecordAgeExceeded" } else { "RetryAttemptsExhausted" },
                "approximateInvokeCount": attempts
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": null},
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "KinesisBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": record.sequence_number(),
                "endSequenceNumber": record.sequence_number(),
                "approximateArrivalOfFirstRecord": arrival,
                "approximateArrivalOfLastRecord": arrival,
                "batchSize": 1,
                "streamArn": cfg.stream_arn
            }
        });
        if let Err(e) = self.sqs.send_message().queue_url(url).message_body(body.to_string()).send().await {
            tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "on-failure destination unreachable");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;
    use serde_json::json;

    #[test]
    fn the_templates_filters_split_the_inbound_stream() {
        let consent = json!({"data": {"type": ["customer.consent_changed"]}});
        let others = json!({"data": {"type": [{"anything-but": ["customer.consent_changed"]}]}});
        let c = json!({"data": {"type": "customer.consent_changed", "id": "x"}});
        let b = json!({"data": {"type": "booking.recorded"}});
        let none = json!({"data": {"id": "no type"}});
        assert!(pattern_matches(&consent, &c) && !pattern_matches(&others, &c));
        assert!(!pattern_matches(&consent, &b) && pattern_matches(&others, &b));
        assert!(!pattern_matches(&consent, &none) && !pattern_matches(&others, &none));
    }
}
