//! The one batch runner of the stream consumers: partial batch failure reporting, retries for
//! what is transient only, permanent failures parked with their reason at once.
//!
//! Records of different partition keys are independent and are processed concurrently; records of
//! one partition key are processed in order. A failure is classified ([`Disposition::of`]):
//! * transient (a dependency unavailable or throttled, a lost optimistic-concurrency race) or a
//!   deployment fault (configuration, a KMS refusal): the record is reported and its key stops;
//!   the response reports the failed record with the lowest sequence number, Lambda checkpoints
//!   just before it and retries from there (records after it that did succeed are replayed and
//!   found by their markers);
//! * permanent (the record itself cannot be processed: undecryptable, inconsistent, about an
//!   erased customer): the record is parked in the dead-letter store with the error's code, and
//!   its key goes on. Retrying it would only stall the shard until the record ages out.
use async_trait::async_trait;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use cmp_app::error::CmpError;
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

/// What becomes of a record whose processing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Reported as a batch item failure: Lambda retries from it.
    Retry,
    /// Parked with its reason; the batch goes on.
    Park,
}

impl Disposition {
    pub fn of(e: &CmpError) -> Disposition {
        use cmp_app::crypto::KeyError;
        if e.is_transient() || matches!(e, CmpError::Config(_) | CmpError::Key(KeyError::Refused(_))) {
            Disposition::Retry
        } else {
            Disposition::Park
        }
    }
}

/// Where permanently failed records go (the dead-letter store).
#[async_trait]
pub trait Parking: Send + Sync {
    async fn park_failed(&self, data: &[u8], origin: &str, error: &CmpError) -> Result<(), CmpError>;
}

#[async_trait]
impl Parking for cmp_app::deadletter::DeadLetters {
    async fn park_failed(&self, data: &[u8], origin: &str, error: &CmpError) -> Result<(), CmpError> {
        // the error's code, never its message (messages may describe stored values)
        let reasons = vec![cmp_app::domain::event::FieldError::new(
            error.code(),
            "",
            "the record cannot be processed; retrying would not change that",
        )];
        self.park(data, origin, error.code(), reasons).await.map(|_| ())
    }
}

/// A record of a batch: position, sequence number, origin (for parking), data.
type Pending = (usize, String, String, Arc<Vec<u8>>);

/// Runs `process(data, origin)` over the batch: `Err` with a transient error marks the record for
/// retry, with a permanent one parks it through `parking`.
pub async fn process_batch<F, Fut>(event: KinesisEvent, parking: &dyn Parking, process: F) -> KinesisEventResponse
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
                let Err(e) = process(data.clone(), origin.clone()).await else { continue };
                match Disposition::of(&e) {
                    Disposition::Retry => {
                        tracing::warn!(error_code = e.code(), origin, "record failed; will be retried");
                        return Some((pos, seq));
                    }
                    Disposition::Park => match parking.park_failed(&data, &origin, &e).await {
                        Ok(()) => tracing::error!(error_code = e.code(), origin, "record failed permanently; parked"),
                        Err(pe) => {
                            tracing::warn!(
                                error_code = pe.code(),
                                origin,
                                "record could not be parked; will be retried"
                            );
                            return Some((pos, seq));
                        }
                    },
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

#[cfg(test)]
mod tests {
    use super::*;
    use cmp_app::store::StoreError;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Parked(Mutex<Vec<(String, &'static str)>>);

    #[async_trait]
    impl Parking for Parked {
        async fn park_failed(&self, _data: &[u8], origin: &str, error: &CmpError) -> Result<(), CmpError> {
            self.0.lock().unwrap().push((origin.to_string(), error.code()));
            Ok(())
        }
    }

    /// Three records of one partition key, then one of another.
    fn event() -> KinesisEvent {
        let rec = |key: &str, seq: &str, data: &str| {
            serde_json::json!({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": key, "sequenceNumber": seq,
                            "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, data),
                            "approximateArrivalTimestamp": 1.7e9},
                "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": format!("shardId-0:{seq}"),
                "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::1:role/r",
                "awsRegion": "eu-west-1", "eventSourceARN": "arn:aws:kinesis:eu-west-1:1:stream/s"
            })
        };
        serde_json::from_value(serde_json::json!({"Records": [
            rec("a", "1", "ok"), rec("a", "2", "corrupt"), rec("a", "3", "ok"), rec("b", "4", "busy")
        ]}))
        .unwrap()
    }

    async fn run(parking: &Parked, seen: &Mutex<Vec<String>>) -> KinesisEventResponse {
        process_batch(event(), parking, |data, origin| async move {
            seen.lock().unwrap().push(origin);
            match data.as_slice() {
                b"corrupt" => Err(CmpError::Integrity("a record that can never be applied".into())),
                b"busy" => Err(CmpError::Store(StoreError::Unavailable("throttled".into()))),
                _ => Ok(()),
            }
        })
        .await
    }

    #[test]
    fn a_permanent_failure_is_parked_at_once_and_a_transient_one_retried() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (parking, seen) = (Parked::default(), Mutex::new(Vec::new()));
        let resp = rt.block_on(run(&parking, &seen));
        // the corrupt record is parked with its code and its key goes on to record 3
        assert_eq!(*parking.0.lock().unwrap(), vec![("shardId-0:2:2".to_string(), "integrity_error")]);
        assert!(seen.lock().unwrap().iter().any(|o| o.ends_with(":3")), "the key went on after the parked record");
        // the throttled record is the one Lambda retries from
        let failed: Vec<_> = resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        assert_eq!(failed, vec![Some("4".to_string())]);
    }

    #[test]
    fn deployment_faults_are_retried_not_parked() {
        use cmp_app::crypto::KeyError;
        assert_eq!(Disposition::of(&CmpError::Config("AUDIT_TABLE is not set".into())), Disposition::Retry);
        assert_eq!(Disposition::of(&CmpError::Key(KeyError::Refused("denied".into()))), Disposition::Retry);
        assert_eq!(Disposition::of(&CmpError::Store(StoreError::Conflict)), Disposition::Retry);
        assert_eq!(Disposition::of(&CmpError::Erased), Disposition::Park);
        assert_eq!(Disposition::of(&CmpError::Store(StoreError::Corrupt("x".into()))), Disposition::Park);
    }
}
