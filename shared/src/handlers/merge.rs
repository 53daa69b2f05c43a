//! Kinesis batch → [`crate::merge::Merge`], with partial batch failure reporting.
//!
//! Records of different partition keys are independent and are processed concurrently; records of
//! one partition key are processed in order, and the first failure stops its key. The response
//! reports the failed record with the lowest sequence number: Lambda checkpoints just before it and
//! retries from there (records after it that did succeed are replayed and found by their markers).
use super::Wiring;
use crate::merge::{Merge, Outcome};
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use futures::stream::{self, StreamExt};
use std::sync::Arc;

/// How many partition keys of one batch are worked on at once.
const CONCURRENCY: usize = 16;

/// A record of a batch: position, sequence number, origin (for parking), data.
type Pending = (usize, String, String, Arc<Vec<u8>>);

pub struct MergeHandler {
    merge: Merge,
}

impl MergeHandler {
    pub fn new(w: &Wiring) -> Self {
        Self::from_merge(Merge::new(
            w.store.clone(),
            w.keys.clone(),
            w.kms.clone(),
            w.indexer.clone(),
            w.validator.clone(),
            w.config.dead_letter_ttl_days,
        ))
    }

    pub fn from_merge(merge: Merge) -> Self {
        MergeHandler { merge }
    }

    pub async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
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
        let failures: Vec<(usize, String)> = stream::iter(groups)
            .map(|(_, records)| async move {
                for (pos, seq, origin, data) in records {
                    match self.merge.process_record(&data, &origin).await {
                        Ok(Outcome::Applied(t)) => tracing::debug!(
                            created = t.created,
                            updated = t.updated,
                            unchanged = t.unchanged,
                            duplicates = t.duplicates,
                            identifier_conflicts = t.identifier_conflicts,
                            "record merged"
                        ),
                        Ok(Outcome::Parked { reason_code }) => {
                            tracing::warn!(%reason_code, origin, "record parked")
                        }
                        Err(e) => {
                            tracing::warn!(error_code = e.code(), origin, "record failed; will be retried");
                            return Some((pos, seq));
                        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::fake::FakeKms;
    use crate::crypto::{BlindIndexer, CachePolicy, KeyRing};
    use crate::schema::EventValidator;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn the_sample_kinesis_batch_is_merged_without_failures() {
        let store = Arc::new(MemoryStore::default());
        let kms = Arc::new(FakeKms::new());
        let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), CachePolicy::default()));
        let merge = Merge::new(
            store.clone(),
            keys,
            kms,
            Arc::new(BlindIndexer::from_key(&[5; 32])),
            Arc::new(EventValidator::new().unwrap()),
            14,
        );
        let event: KinesisEvent = serde_json::from_str(include_str!("../../../events/kinesis-batch.json")).unwrap();
        assert_eq!(event.records.len(), 3);
        let resp = MergeHandler::from_merge(merge).handle(event).await;
        assert!(resp.batch_item_failures.is_empty());
        assert!(store.profile_count() >= 2, "the samples describe at least two people");
        assert!(store.parked().is_empty(), "every sample is valid");
    }
}
