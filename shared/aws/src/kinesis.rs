//! Kinesis adapters: the [`EventSink`] port as `PutRecords` (inbound and outbound streams).
use async_trait::async_trait;
use cmp_app::error::CmpError;
use cmp_app::ingest::{EventSink, OutRecord};

/// Kinesis `PutRecords` adapter.
pub struct KinesisSink {
    client: aws_sdk_kinesis::Client,
    stream: String,
}

impl KinesisSink {
    pub fn new(client: aws_sdk_kinesis::Client, stream: impl Into<String>) -> Self {
        KinesisSink { client, stream: stream.into() }
    }
}

#[async_trait]
impl EventSink for KinesisSink {
    async fn put_records(&self, records: &[OutRecord]) -> Result<Vec<Option<String>>, CmpError> {
        use aws_sdk_kinesis::primitives::Blob;
        use aws_sdk_kinesis::types::PutRecordsRequestEntry;
        let entries = records
            .iter()
            .map(|r| {
                PutRecordsRequestEntry::builder()
                    .partition_key(&r.partition_key)
                    .data(Blob::new(r.data.clone()))
                    .build()
                    .map_err(|e| CmpError::Stream(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_records()
            .stream_name(&self.stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| CmpError::Stream(format!("{}", aws_sdk_kinesis::error::DisplayErrorContext(&e))))?;
        let results = out.records();
        if results.len() != records.len() {
            return Err(CmpError::Stream("PutRecords answered a different number of entries".into()));
        }
        Ok(results.iter().map(|r| r.error_code().map(|c| c.to_owned())).collect())
    }
}
