//! The audit table's stream → JSON Lines objects in the Object Lock bucket (`audit_export`).
//!
//! Each batch of new audit records becomes one object `audit/date=<day>/<first>-<last>.jsonl`
//! named after the stream sequence numbers it holds, so a retried batch writes the same key (a new
//! version under Object Lock; the locked first version stays). Chain heads are not exported.
use super::Wiring;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use cmp_app::error::CmpError;
use cmp_aws::items::RecordItem;

pub struct AuditExportHandler {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl AuditExportHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        let bucket = w.config.audit_bucket.clone().ok_or_else(|| CmpError::Config("AUDIT_BUCKET is not set".into()))?;
        Ok(AuditExportHandler { s3: w.s3()?, bucket })
    }

    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let mut lines = Vec::new();
        let mut first: Option<String> = None;
        let mut last = String::new();
        let mut day = None;
        for r in &event.records {
            let seq = r.change.sequence_number.clone().unwrap_or_default();
            if first.is_none() {
                first = Some(seq.clone());
            }
            last = seq;
            if r.event_name != "INSERT" {
                continue;
            }
            let is_record = r
                .change
                .new_image
                .get("sk")
                .is_some_and(|v| matches!(v, serde_dynamo::AttributeValue::S(s) if s.starts_with("R#")));
            if !is_record {
                continue;
            }
            match serde_dynamo::from_item::<_, RecordItem>(r.change.new_image.clone()) {
                Ok(item) => {
                    let rec = item.into_record();
                    day.get_or_insert_with(|| rec.entry.at.format("%Y-%m-%d").to_string());
                    lines.push(serde_json::to_string(&rec).unwrap_or_default());
                }
                Err(e) => {
                    // an audit record that does not decode is exported as it was stored, flagged
                    tracing::error!(error = %e, "audit record does not decode; exporting raw");
                    lines.push(serde_json::json!({"undecodable": true, "sequence_number": last}).to_string());
                }
            }
        }
        let mut resp = DynamoDbEventResponse::default();
        let Some(first) = first else { return resp };
        if lines.is_empty() {
            return resp;
        }
        let key = format!(
            "audit/date={}/{}-{}.jsonl",
            day.unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string()),
            first,
            last
        );
        let body = lines.join("\n") + "\n";
        let put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/x-ndjson")
            .body(body.into_bytes().into())
            .send()
            .await;
        match put {
            Ok(_) => tracing::info!(records = lines.len(), key, "audit records exported"),
            Err(e) => {
                tracing::error!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "audit export failed; batch will be retried");
                let mut f = DynamoDbBatchItemFailure::default();
                f.item_identifier = Some(first);
                resp.batch_item_failures.push(f);
            }
        }
        resp
    }
}

#[async_trait::async_trait]
impl super::stream::DynamoDbStreamHandler for AuditExportHandler {
    async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        AuditExportHandler::handle(self, event).await
    }
}
