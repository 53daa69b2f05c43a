//! Kinesis batches with partial batch failure reporting, shared by the stream consumers.
//!
//! Records of different partition keys are independent and are processed concurrently; records of
//! one partition key are processed in order, and the first failure stops its key. The response
//! reports the failed record with the lowest sequence number: Lambda checkpoints just before it and
//! retries from there (records after it that did succeed are replayed and found by their markers).
use crate::error::CmpError;
use async_trait::async_trait;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use futures::stream::{self, StreamExt};
use std::future::Future;
use std::sync::Arc;

/// How many partition keys of one batch are worked on at once.
pub const CONCURRENCY: usize = 16;

/// A function triggered by a Kinesis event source mapping.
#[async_trait]
pub trait KinesisHandler: Send + Sync {
    async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse;
}

/// A function triggered by an SQS event source mapping (partial batch failures).
#[async_trait]
pub trait SqsHandler: Send + Sync {
    async fn handle(
        &self,
        event: aws_lambda_events::event::sqs::SqsEvent,
    ) -> aws_lambda_events::event::sqs::SqsBatchResponse;
}

/// A function triggered by a DynamoDB Streams event source mapping.
#[async_trait]
pub trait DynamoDbStreamHandler: Send + Sync {
    async fn handle(
        &self,
        event: aws_lambda_events::event::dynamodb::Event,
    ) -> aws_lambda_events::event::streams::DynamoDbEventResponse;
}

/// A record of a batch: position, sequence number, origin (for parking), data.
type Pending = (usize, String, String, Arc<Vec<u8>>);

/// Runs `process(data, origin)` over the batch; `Err` marks the record for retry.
pub async fn process_batch<F, Fut>(event: KinesisEvent, process: F) -> KinesisEventResponse
where
    F: Fn(Arc<Vec<u8>>, String) -> Fut,
    Fut: Future<Output = Result<(), CmpError>>,
{
    // group by partition key, keeping stream order within each group
    let mut groups: Vec<(String, Vec<Pending>)> = Vec::new();
    for (pos, r) in event.records.iter().enumerate() {
        let k = &r.kinesis;
        let key = k.partition_key.clone();
        let seq = k.sequence_number.clone();
        let origin = format!("{}:{}", r.event_id.as_deref().unwrap_or("unknown"), seq);
        let data = Arc::new(k.data.0.clone());
        match groups.iter_mut().find(|(g, _)| *g == key) {
            Some((_, v)) => v.push((pos, seq, origin, data)),
            None => groups.push((key, vec![(pos, seq, origin, data)])),
        }
    }
    let process = &process;
    let failures: Vec<(usize, String)> = stream::iter(groups)
        .map(|(_, records)| async move {
            for (pos, seq, origin, data) in records {
                if let Err(e) = process(data, origin.clone()).await {
                    tracing::warn!(error_code = e.code(), origin, "record failed; will be retried");
                    return Some((pos, seq));
                }
            }
            None
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    let mut resp = KinesisEventResponse::default();
    if let Some((_, seq)) = failures.into_iter().min_by_key(|(pos, _)| *pos) {
        let mut f = KinesisBatchItemFailure::default();
        f.item_identifier = Some(seq);
        resp.batch_item_failures.push(f);
    }
    resp
}
