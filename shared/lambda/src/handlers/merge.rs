//! Kinesis batch → [`cmp_app::merge::Merge`], with partial batch failure reporting
//! ([`super::stream::process_batch`]).
use super::stream::{process_batch, KinesisHandler};
use super::Wiring;
use async_trait::async_trait;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use cmp_app::error::CmpError;
use cmp_app::merge::{Merge, Outcome};

pub struct MergeHandler {
    merge: Merge,
}

impl MergeHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        Ok(Self::from_merge(
            Merge::new(w.store()?, w.keys()?, w.kms()?, w.indexer()?, w.validator()?, w.config.dead_letter_ttl_days)
                .with_resolution(w.store()?),
        ))
    }

    pub fn from_merge(merge: Merge) -> Self {
        MergeHandler { merge }
    }

    pub async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        process_batch(event, self.merge.dead_letters(), |data, origin| async move {
            match self.merge.process_record(&data, &origin).await? {
                Outcome::Applied(t) => tracing::debug!(
                    created = t.created,
                    updated = t.updated,
                    unchanged = t.unchanged,
                    duplicates = t.duplicates,
                    identifier_conflicts = t.identifier_conflicts,
                    "record merged"
                ),
                Outcome::Parked { reason_code } => tracing::warn!(%reason_code, origin, "record parked"),
                Outcome::NotMine => tracing::debug!(origin, "record of another function's type skipped"),
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl KinesisHandler for MergeHandler {
    async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        MergeHandler::handle(self, event).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmp_app::crypto::fake::FakeKms;
    use cmp_app::crypto::{BlindIndexer, CachePolicy, KeyRing};
    use cmp_app::schema::EventValidator;
    use cmp_app::store::memory::MemoryStore;
    use std::sync::Arc;

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
        let event: KinesisEvent = serde_json::from_str(include_str!("../../../../events/kinesis-batch.json")).unwrap();
        assert_eq!(event.records.len(), 5);
        let resp = MergeHandler::from_merge(merge).handle(event).await;
        assert!(resp.batch_item_failures.is_empty());
        assert!(store.profile_count() >= 2, "the samples describe at least two people");
        assert!(
            store.parked().is_empty(),
            "every sample is valid; the consent change and the disruption are left to their functions"
        );
    }
}
