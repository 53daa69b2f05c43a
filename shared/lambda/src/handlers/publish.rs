//! The profile table's stream → [`crate::publish::Publisher`] → the outbound Kinesis stream.
use super::stream::DynamoDbStreamHandler;
use super::Wiring;
use crate::publish::Publisher;
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use cmp_app::consent::ConsentLedger;
use cmp_app::error::CmpError;
use cmp_app::ingest::RetryPolicy;
use cmp_aws::kinesis::KinesisSink;
use std::sync::Arc;

pub struct PublishHandler {
    publisher: Publisher,
}

impl PublishHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        let stream =
            w.config.outbound_stream.clone().ok_or_else(|| CmpError::Config("OUTBOUND_STREAM is not set".into()))?;
        let ledger = Arc::new(ConsentLedger::reader(w.store()?, w.store()?));
        let sink = Arc::new(KinesisSink::new(w.kinesis()?, stream));
        Ok(PublishHandler { publisher: Publisher::new(ledger, sink, RetryPolicy::default()) })
    }

    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        self.publisher.handle(event).await
    }
}

#[async_trait]
impl DynamoDbStreamHandler for PublishHandler {
    async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        PublishHandler::handle(self, event).await
    }
}
