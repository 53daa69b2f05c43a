//! The bulk import's two functions: `import_plan` (the imports bucket's object-created
//! notifications, through the import-files queue) and `import_load` (the chunk queue), both SQS
//! batches with partial batch failure reporting. See [`cmp_app::import`].
use super::Wiring;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use cmp_app::error::CmpError;
#[cfg(feature = "import-load")]
use cmp_app::import::{ChunkQueue, ChunkTask};
use cmp_app::import::{ImportFiles, ImportLedger, Importer};
use cmp_aws::dynamo::imports::DynamoImportLedger;
use cmp_aws::s3::S3ImportFiles;
use std::sync::Arc;

/// The adapters both steps use: the imports bucket and the ledger.
struct Adapters {
    files: Arc<dyn ImportFiles>,
    ledger: Arc<dyn ImportLedger>,
    bucket: String,
}

fn adapters(w: &Wiring) -> Result<Adapters, CmpError> {
    let bucket = w.config.imports_bucket.clone().ok_or_else(|| CmpError::Config("IMPORTS_BUCKET is not set".into()))?;
    let files = Arc::new(S3ImportFiles::new(w.s3()?, bucket.clone()));
    let ledger = Arc::new(DynamoImportLedger::new(w.dynamodb()?, w.config.profiles_table.clone()));
    Ok(Adapters { files, ledger, bucket })
}

/// A key as S3 event notifications carry it: URL-encoded, `+` for a space.
pub fn decode_key(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
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

/// `import_plan`: cuts a dropped file into chunks and queues them; it loads none (no stream, no
/// blind index, no schemas).
#[cfg(feature = "import-plan")]
pub struct ImportPlanHandler {
    importer: Importer,
}

#[cfg(feature = "import-plan")]
impl ImportPlanHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        let url = w
            .config
            .import_chunks_queue
            .clone()
            .ok_or_else(|| CmpError::Config("IMPORT_CHUNKS_QUEUE is not set".into()))?;
        let Adapters { files, ledger, bucket } = adapters(w)?;
        let queue = Arc::new(cmp_aws::sqs::SqsChunkQueue::new(w.sqs()?, url));
        let importer =
            Importer::planner(files, queue, ledger, bucket).with_rows_per_chunk(w.config.import_rows_per_chunk);
        Ok(ImportPlanHandler { importer })
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
                use cmp_app::import::Planned;
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

/// `import_load`: one chunk's rows to events on the inbound stream, rejected rows written back.
#[cfg(feature = "import-load")]
pub struct ImportLoadHandler {
    importer: Importer,
}

/// The load step queues nothing.
#[cfg(feature = "import-load")]
struct NoQueue;

#[cfg(feature = "import-load")]
#[async_trait::async_trait]
impl ChunkQueue for NoQueue {
    async fn send(&self, _tasks: &[ChunkTask]) -> Result<(), CmpError> {
        Err(CmpError::Config("import_load does not plan imports".into()))
    }
}

#[cfg(feature = "import-load")]
impl ImportLoadHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        use cmp_app::ingest::{Ingest, Limits, RetryPolicy};
        let Adapters { files, ledger, bucket } = adapters(w)?;
        let sink = Arc::new(cmp_aws::kinesis::KinesisSink::new(w.kinesis()?, w.config.require_inbound_stream()?));
        let limits = Limits {
            max_batch_events: w.config.max_batch_events,
            max_event_bytes: w.config.max_event_bytes,
            max_request_bytes: w.config.max_request_bytes,
        };
        let ingest = Arc::new(Ingest::new(sink, w.indexer()?, w.validator()?, limits, RetryPolicy::default()));
        let importer = Importer::new(files, Arc::new(NoQueue), ledger, ingest, bucket)
            .with_rows_per_chunk(w.config.import_rows_per_chunk);
        Ok(ImportLoadHandler { importer })
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

#[cfg(feature = "import-plan")]
#[async_trait::async_trait]
impl super::stream::SqsHandler for ImportPlanHandler {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        ImportPlanHandler::handle(self, event).await
    }
}

#[cfg(feature = "import-load")]
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
