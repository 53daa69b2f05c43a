//! The bulk import's two functions: `import_plan` (the imports bucket's object-created
//! notifications, through the import-files queue) and `import_load` (the chunk queue), both SQS
//! batches with partial batch failure reporting. See [`cmp_app::import`].
use super::Wiring;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use cmp_app::error::CmpError;
use cmp_app::import::{ChunkQueue, ChunkTask, Importer, Planned};
use cmp_app::ingest::{Ingest, Limits, RetryPolicy};
use cmp_aws::dynamo::imports::DynamoImportLedger;
use cmp_aws::kinesis::KinesisSink;
use cmp_aws::s3::S3ImportFiles;
use cmp_aws::sqs::SqsChunkQueue;
use std::sync::Arc;

/// The import's adapters. Planning reads files and queues chunks; only loading (`ingest`) turns
/// rows into events on the inbound stream, with the blind index and the event schemas.
fn importer(w: &Wiring, queue: Arc<dyn ChunkQueue>, ingest: bool) -> Result<Importer, CmpError> {
    let bucket = w.config.imports_bucket.clone().ok_or_else(|| CmpError::Config("IMPORTS_BUCKET is not set".into()))?;
    let files = Arc::new(S3ImportFiles::new(w.s3()?, bucket.clone()));
    let ledger = Arc::new(DynamoImportLedger::new(w.dynamodb()?, w.config.profiles_table.clone()));
    let importer = if ingest {
        let sink = Arc::new(KinesisSink::new(w.kinesis()?, w.config.require_inbound_stream()?));
        let ingest = Arc::new(Ingest::new(
            sink,
            w.indexer()?,
            w.validator()?,
            Limits {
                max_batch_events: w.config.max_batch_events,
                max_event_bytes: w.config.max_event_bytes,
                max_request_bytes: w.config.max_request_bytes,
            },
            RetryPolicy::default(),
        ));
        Importer::new(files, queue, ledger, ingest, bucket)
    } else {
        Importer::planner(files, queue, ledger, bucket)
    };
    Ok(importer.with_rows_per_chunk(w.config.import_rows_per_chunk))
}

/// A key as S3 event notifications carry it: URL-encoded, `+` for a space.
pub fn decode_key(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(v) => out.push(v),
                    Err(_) => out.extend_from_slice(&b[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The object keys an S3 notification (delivered through SQS) names; none for S3's test event.
pub fn notified_keys(body: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(vec![]);
    }
    let records = v.get("Records").and_then(|r| r.as_array()).ok_or("no Records")?;
    Ok(records.iter().filter_map(|r| r.pointer("/s3/object/key").and_then(|k| k.as_str()).map(decode_key)).collect())
}

fn failure(id: Option<String>) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id.unwrap_or_default();
    f
}

pub struct ImportPlanHandler {
    importer: Importer,
}

impl ImportPlanHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        let url = w
            .config
            .import_chunks_queue
            .clone()
            .ok_or_else(|| CmpError::Config("IMPORT_CHUNKS_QUEUE is not set".into()))?;
        Ok(ImportPlanHandler { importer: importer(w, Arc::new(SqsChunkQueue::new(w.sqs()?, url)), false)? })
    }

    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut resp = SqsBatchResponse::default();
        for m in event.records {
            let keys = match notified_keys(m.body.as_deref().unwrap_or_default()) {
                Ok(k) => k,
                Err(why) => {
                    // not a notification: retried, then parked by the queue's redrive policy
                    tracing::error!(message_id = ?m.message_id, %why, "import notification unreadable");
                    resp.batch_item_failures.push(failure(m.message_id.clone()));
                    continue;
                }
            };
            for key in keys {
                match self.importer.plan(&key).await {
                    Ok(Planned::Started(s)) => {
                        tracing::info!(import_id = %s.import_id, rows = s.rows, "import started")
                    }
                    Ok(Planned::Duplicate) => tracing::info!("import notification repeated"),
                    Ok(Planned::Skipped) => tracing::debug!("not an import file"),
                    Ok(Planned::Refused(why)) => tracing::warn!(%why, "import refused"),
                    Err(e) => {
                        tracing::error!(error_code = e.code(), error = %e, "import planning failed; retried");
                        resp.batch_item_failures.push(failure(m.message_id.clone()));
                        break;
                    }
                }
            }
        }
        resp
    }
}

pub struct ImportLoadHandler {
    importer: Importer,
}

/// The load step queues nothing.
struct NoQueue;

#[async_trait::async_trait]
impl ChunkQueue for NoQueue {
    async fn send(&self, _tasks: &[ChunkTask]) -> Result<(), CmpError> {
        Err(CmpError::Config("import_load does not plan imports".into()))
    }
}

impl ImportLoadHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        Ok(ImportLoadHandler { importer: importer(w, Arc::new(NoQueue), true)? })
    }

    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut resp = SqsBatchResponse::default();
        for m in event.records {
            let task: ChunkTask = match serde_json::from_str(m.body.as_deref().unwrap_or_default()) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(message_id = ?m.message_id, error = %e, "chunk task unreadable");
                    resp.batch_item_failures.push(failure(m.message_id.clone()));
                    continue;
                }
            };
            if let Err(e) = self.importer.load(&task).await {
                tracing::error!(import_id = %task.import_id, chunk = task.chunk, error_code = e.code(), "chunk failed; retried");
                resp.batch_item_failures.push(failure(m.message_id.clone()));
            }
        }
        resp
    }
}

#[async_trait::async_trait]
impl super::stream::SqsHandler for ImportPlanHandler {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        ImportPlanHandler::handle(self, event).await
    }
}

#[async_trait::async_trait]
impl super::stream::SqsHandler for ImportLoadHandler {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        ImportLoadHandler::handle(self, event).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn notifications_name_their_keys_decoded() {
        let body = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"imports/legacy+crm/people%C3%A9.csv","size":10}}}]}"#;
        assert_eq!(super::notified_keys(body).unwrap(), ["imports/legacy crm/peopleé.csv"]);
        assert!(super::notified_keys(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#).unwrap().is_empty());
        assert!(super::notified_keys("nope").is_err());
    }
}
