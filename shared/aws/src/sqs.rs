//! SQS adapter: the import chunk queue ([`ChunkQueue`]).
use async_trait::async_trait;
use cmp_app::error::CmpError;
use cmp_app::import::{ChunkQueue, ChunkTask};

pub struct SqsChunkQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsChunkQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsChunkQueue { client, queue_url: queue_url.into() }
    }
}

#[async_trait]
impl ChunkQueue for SqsChunkQueue {
    async fn send(&self, tasks: &[ChunkTask]) -> Result<(), CmpError> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let mut pending: Vec<SendMessageBatchRequestEntry> = Vec::new();
        for t in tasks {
            let body = serde_json::to_string(t).map_err(|e| CmpError::Integrity(e.to_string()))?;
            pending.push(
                SendMessageBatchRequestEntry::builder()
                    .id(format!("c{}", t.chunk))
                    .message_body(body)
                    .build()
                    .map_err(|e| CmpError::Integrity(e.to_string()))?,
            );
        }
        for attempt in 0..cmp_app::retry::Backoff::BATCH.attempts {
            if pending.is_empty() {
                return Ok(());
            }
            if attempt > 0 {
                cmp_app::retry::Backoff::BATCH.pause(attempt - 1).await;
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(pending.clone()))
                .send()
                .await
                .map_err(|e| CmpError::Stream(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()))?;
            let failed: Vec<&str> = out.failed().iter().map(|f| f.id()).collect();
            pending.retain(|e| failed.contains(&e.id()));
        }
        Err(CmpError::Stream(format!("{} chunk messages were not queued", pending.len())))
    }
}
