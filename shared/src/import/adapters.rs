//! AWS adapters of the import ports: the imports bucket (S3), the chunk queue (SQS) and the import
//! ledger (an `IMPORT#<id>` item of the profile table); and in-memory fakes for tests.
use super::*;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::Mutex;

fn s3_error(e: impl std::fmt::Display) -> CmpError {
    CmpError::Export(e.to_string())
}

pub struct S3ImportFiles {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ImportFiles {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3ImportFiles { client, bucket: bucket.into() }
    }
}

#[async_trait]
impl ImportFiles for S3ImportFiles {
    async fn head(&self, key: &str) -> Result<Option<(u64, String, DateTime<Utc>)>, CmpError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(h) => {
                let modified = h
                    .last_modified()
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()))
                    .unwrap_or_else(Utc::now);
                let etag = h.e_tag().unwrap_or_default().trim_matches('"').to_owned();
                Ok(Some((h.content_length().unwrap_or(0).max(0) as u64, etag, modified)))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error(aws_sdk_s3::error::DisplayErrorContext(&e))),
        }
    }

    async fn range(&self, key: &str, start: u64, end: u64) -> Result<Vec<u8>, CmpError> {
        if end <= start {
            return Ok(vec![]);
        }
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={start}-{}", end - 1))
            .send()
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        let body = out.body.collect().await.map_err(s3_error)?;
        Ok(body.into_bytes().to_vec())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CmpError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(s3_error)?.into_bytes().to_vec())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(s3_error(aws_sdk_s3::error::DisplayErrorContext(&e))),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), CmpError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        Ok(())
    }
}

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
        for attempt in 0..crate::retry::Backoff::BATCH.attempts {
            if pending.is_empty() {
                return Ok(());
            }
            if attempt > 0 {
                crate::retry::Backoff::BATCH.pause(attempt - 1).await;
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

pub struct DynamoImportLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoImportLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoImportLedger { client, table: table.into() }
    }
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn state_of(item: &HashMap<String, AttributeValue>) -> Result<ImportState, CmpError> {
    let doc =
        item.get("doc").and_then(|v| v.as_s().ok()).ok_or_else(|| CmpError::Integrity("import without doc".into()))?;
    let mut s: ImportState = serde_json::from_str(doc).map_err(|e| CmpError::Integrity(e.to_string()))?;
    let num = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    s.chunks_done = num("chunks_done") as u32;
    s.accepted = num("accepted");
    s.rejected = num("rejected");
    Ok(s)
}

#[async_trait]
impl ImportLedger for DynamoImportLedger {
    async fn start_import(&self, s: &ImportState) -> Result<bool, CmpError> {
        let doc = serde_json::to_string(s).map_err(|e| CmpError::Integrity(e.to_string()))?;
        let expires = crate::retention::expiry(crate::retention::DataClass::Interaction, Utc::now()).unwrap_or(0);
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("IMPORT#{}", s.import_id)))
            .item("sk", AttributeValue::S("IMPORT".into()))
            .item("entity", AttributeValue::S("import".into()))
            .item("doc", AttributeValue::S(doc))
            .item("chunks_done", n(0))
            .item("accepted", n(0))
            .item("rejected", n(0))
            .item("done", AttributeValue::Ns(vec!["0".into()]))
            .item("expires_at", n(expires.max(0) as u64))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(crate::store::dynamo::unavailable(e)),
        }
    }

    async fn chunk_done(
        &self,
        import_id: &str,
        chunk: u32,
        accepted: u64,
        rejected: u64,
    ) -> Result<Option<ImportState>, CmpError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("IMPORT#{import_id}")))
            .key("sk", AttributeValue::S("IMPORT".into()))
            .update_expression("ADD chunks_done :one, accepted :a, rejected :r, done :c")
            .condition_expression("attribute_exists(pk) AND NOT contains(done, :chunk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":a", n(accepted))
            .expression_attribute_values(":r", n(rejected))
            .expression_attribute_values(":c", AttributeValue::Ns(vec![chunk.to_string()]))
            .expression_attribute_values(":chunk", n(u64::from(chunk)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(o) => o.attributes.as_ref().map(state_of).transpose(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(None),
            Err(e) => Err(crate::store::dynamo::unavailable(e)),
        }
    }

    async fn state(&self, import_id: &str) -> Result<Option<ImportState>, CmpError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("IMPORT#{import_id}")))
            .key("sk", AttributeValue::S("IMPORT".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::store::dynamo::unavailable)?;
        out.item.as_ref().map(state_of).transpose()
    }
}

/// In-memory imports bucket.
#[derive(Default)]
pub struct MemoryFiles {
    pub objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

#[async_trait]
impl ImportFiles for MemoryFiles {
    async fn head(&self, key: &str) -> Result<Option<(u64, String, DateTime<Utc>)>, CmpError> {
        Ok(self.objects.lock().unwrap().get(key).map(|b| {
            let etag = crate::domain::ids::hex(&Sha256::digest(b)[..8]);
            (b.len() as u64, etag, "2026-11-29T08:00:00Z".parse().unwrap())
        }))
    }
    async fn range(&self, key: &str, start: u64, end: u64) -> Result<Vec<u8>, CmpError> {
        let o = self.objects.lock().unwrap();
        let b = o.get(key).ok_or_else(|| CmpError::Export("no such object".into()))?;
        Ok(b[(start as usize).min(b.len())..(end as usize).min(b.len())].to_vec())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CmpError> {
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), CmpError> {
        self.objects.lock().unwrap().insert(key.to_owned(), body);
        Ok(())
    }
}

/// In-memory chunk queue.
#[derive(Default)]
pub struct MemoryQueue {
    pub tasks: Mutex<Vec<ChunkTask>>,
}

#[async_trait]
impl ChunkQueue for MemoryQueue {
    async fn send(&self, tasks: &[ChunkTask]) -> Result<(), CmpError> {
        self.tasks.lock().unwrap().extend(tasks.iter().cloned());
        Ok(())
    }
}

/// In-memory import ledger.
#[derive(Default)]
pub struct MemoryLedger {
    imports: Mutex<HashMap<String, (ImportState, std::collections::BTreeSet<u32>)>>,
}

#[async_trait]
impl ImportLedger for MemoryLedger {
    async fn start_import(&self, s: &ImportState) -> Result<bool, CmpError> {
        let mut m = self.imports.lock().unwrap();
        if m.contains_key(&s.import_id) {
            return Ok(false);
        }
        m.insert(s.import_id.clone(), (s.clone(), Default::default()));
        Ok(true)
    }
    async fn chunk_done(
        &self,
        import_id: &str,
        chunk: u32,
        accepted: u64,
        rejected: u64,
    ) -> Result<Option<ImportState>, CmpError> {
        let mut m = self.imports.lock().unwrap();
        let Some((s, done)) = m.get_mut(import_id) else { return Ok(None) };
        if !done.insert(chunk) {
            return Ok(None);
        }
        s.chunks_done += 1;
        s.accepted += accepted;
        s.rejected += rejected;
        Ok(Some(s.clone()))
    }
    async fn state(&self, import_id: &str) -> Result<Option<ImportState>, CmpError> {
        Ok(self.imports.lock().unwrap().get(import_id).map(|(s, _)| s.clone()))
    }
}
