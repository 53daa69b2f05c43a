//! A local stand-in for Lambda's SQS event source mapping: long-polls the queue, delivers batches
//! of up to `BatchSize` messages to the handler, deletes what the handler finished and leaves the
//! batch item failures on the queue (they come back after the queue's visibility timeout, and the
//! queue's redrive policy parks them after `maxReceiveCount` receives), at most
//! `MaximumConcurrency` batches at once.
use crate::BoxError;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use cmp_lambda::handlers::stream::SqsHandler;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct SqsMappingConfig {
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: usize,
    pub maximum_concurrency: usize,
    pub report_batch_item_failures: bool,
}

#[derive(Debug, Default)]
pub struct SqsMappingStats {
    pub invocations: AtomicU64,
    /// Messages the handler finished (deleted from the queue).
    pub messages_done: AtomicU64,
    pub failures: AtomicU64,
}

pub struct SqsMapping {
    pub config: SqsMappingConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub handler: Arc<dyn SqsHandler>,
    pub stats: Arc<SqsMappingStats>,
}

fn message(m: &aws_sdk_sqs::types::Message, cfg: &SqsMappingConfig) -> SqsMessage {
    let mut out = SqsMessage::default();
    out.message_id = m.message_id().map(str::to_owned);
    out.receipt_handle = m.receipt_handle().map(str::to_owned);
    out.body = m.body().map(str::to_owned);
    out.md5_of_body = m.md5_of_body().map(str::to_owned);
    out.event_source = Some("aws:sqs".into());
    out.event_source_arn = Some(cfg.queue_arn.clone());
    out.aws_region = Some(crate::stack::REGION.into());
    out.attributes = m
        .attributes()
        .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect::<HashMap<_, _>>())
        .unwrap_or_default();
    out
}

impl SqsMapping {
    pub async fn run(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, BoxError> {
        let workers = self.config.maximum_concurrency.clamp(1, 4);
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let me = self.clone();
            let mut stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if *stop.borrow() {
                        return;
                    }
                    tokio::select! {
                        _ = stop.changed() => return,
                        r = me.poll_once() => {
                            if let Err(e) = r {
                                eprintln!("sqs mapping {}: {e}", me.config.queue_url);
                                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                            }
                        }
                    }
                }
            }));
        }
        let _ = shutdown.borrow_and_update();
        Ok(tasks)
    }

    async fn poll_once(&self) -> Result<(), BoxError> {
        let got = self
            .sqs
            .receive_message()
            .queue_url(&self.config.queue_url)
            .max_number_of_messages(self.config.batch_size.clamp(1, 10) as i32)
            .wait_time_seconds(1)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await?;
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(());
        }
        let mut event = SqsEvent::default();
        event.records = messages.iter().map(|m| message(m, &self.config)).collect();
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        let resp = self.handler.handle(event).await;
        let failed: Vec<&str> = resp.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        for m in &messages {
            let is_failed = !self.config.report_batch_item_failures && !failed.is_empty()
                || m.message_id().is_some_and(|id| failed.contains(&id));
            if is_failed {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if let Some(h) = m.receipt_handle() {
                self.sqs.delete_message().queue_url(&self.config.queue_url).receipt_handle(h).send().await?;
            }
            self.stats.messages_done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
