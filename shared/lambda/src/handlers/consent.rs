//! Kinesis batch → [`cmp_app::consent::ConsentProcessor`], with partial batch failure reporting
//! ([`super::stream::process_batch`]).
use super::stream::{process_batch, KinesisHandler};
use super::Wiring;
use async_trait::async_trait;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use cmp_app::consent::{ConsentLedger, ConsentOutcome, ConsentProcessor};
use cmp_app::deadletter::DeadLetters;
use cmp_app::error::CmpError;

pub struct ConsentHandler {
    processor: ConsentProcessor,
}

impl ConsentHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        Ok(Self::from_processor(ConsentProcessor::new(
            ConsentLedger::new(w.store()?, w.store()?, w.indexer()?),
            w.validator()?,
            DeadLetters::new(w.store()?, w.kms()?, w.config.dead_letter_ttl_days),
        )))
    }

    pub fn from_processor(processor: ConsentProcessor) -> Self {
        ConsentHandler { processor }
    }

    pub async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        process_batch(event, self.processor.dead_letters(), |data, origin| async move {
            match self.processor.process_record(&data, &origin).await? {
                ConsentOutcome::Recorded { changed, .. } => tracing::info!(changed, origin, "consent recorded"),
                ConsentOutcome::Duplicate => tracing::debug!(origin, "consent change already recorded"),
                ConsentOutcome::Parked { reason_code } => tracing::warn!(%reason_code, origin, "record parked"),
                ConsentOutcome::NotMine => tracing::debug!(origin, "record of another function's type skipped"),
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl KinesisHandler for ConsentHandler {
    async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        ConsentHandler::handle(self, event).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::merge::MergeHandler;
    use cmp_app::consent::{Purpose, SubjectRef};
    use cmp_app::crypto::fake::FakeKms;
    use cmp_app::crypto::{BlindIndexer, CachePolicy, KeyRing};
    use cmp_app::domain::event::Identifier;
    use cmp_app::merge::Merge;
    use cmp_app::schema::EventValidator;
    use cmp_app::store::memory::MemoryStore;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_sample_batch_records_the_consent_of_the_customer_the_merge_created() {
        let store = Arc::new(MemoryStore::default());
        let kms = Arc::new(FakeKms::new());
        let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), CachePolicy::default()));
        let indexer = Arc::new(BlindIndexer::from_key(&[5; 32]));
        let validator = Arc::new(EventValidator::new().unwrap());
        let merge = Merge::new(store.clone(), keys, kms.clone(), indexer.clone(), validator.clone(), 14);
        let text = include_str!("../../../../events/kinesis-batch.json");
        let batch = || serde_json::from_str::<KinesisEvent>(text).unwrap();
        let consent = ConsentHandler::from_processor(ConsentProcessor::new(
            ConsentLedger::new(store.clone(), store.clone(), indexer.clone()),
            validator,
            DeadLetters::new(store.clone(), kms, 14),
        ));
        // consent first: its customer does not exist yet, so it is parked with the reason
        let resp = consent.handle(batch()).await;
        assert!(resp.batch_item_failures.is_empty());
        assert_eq!(store.parked().len(), 1);
        assert_eq!(store.parked()[0].reason_code, "unknown_customer");
        // once the merge created the profile, the replay is recorded, and only once however often
        MergeHandler::from_merge(merge).handle(batch()).await;
        for _ in 0..3 {
            assert!(consent.handle(batch()).await.batch_item_failures.is_empty());
        }
        let ledger = &consent.processor.ledger;
        let who =
            ledger.resolve(&SubjectRef::Identifiers(vec![Identifier::Loyalty("GA52077193".into())])).await.unwrap();
        let cmp_app::consent::Resolved::Found(id) = who else { panic!("{who:?}") };
        assert_eq!(ledger.history(&id).await.unwrap().len(), 1);
        let d = ledger.may_use(&id, Purpose::MarketingEmail).await.unwrap();
        assert!(!d.allowed && d.evidence.is_some(), "withdrawn by the sample");
        assert_eq!(store.parked().len(), 1, "the redeliveries were not parked again");
    }
}
