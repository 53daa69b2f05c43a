//! DynamoDB adapter of the audit log (the audit table).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | audit record | `CUST#<id>` or `DAY#<date>` (the chain) | `R#<seq, 12 digits>` |
//! | chain head | the chain | `HEAD` (`seq`, `hash`) |
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use cmp_app::audit::{AuditLog, AuditRecord, ChainHead};
use cmp_app::error::CmpError;
use cmp_app::store::StoreError;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
    retention_days: i64,
}

pub use crate::items::{record_sk, RecordItem};

fn unavailable<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> CmpError {
    StoreError::Unavailable(format!("audit table: {}", DisplayErrorContext(&e))).into()
}

impl DynamoAuditLog {
    pub fn new(client: Client, table: impl Into<String>, retention_days: i64) -> Self {
        DynamoAuditLog { client, table: table.into(), retention_days }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The two transaction items that append `record`: the record itself and the moved head.
    pub fn append_items(&self, record: &AuditRecord) -> Result<Vec<TransactWriteItem>, CmpError> {
        let item = serde_dynamo::to_item(RecordItem {
            pk: record.chain.clone(),
            sk: record_sk(record.seq),
            seq: record.seq,
            entry: record.entry.clone(),
            prev_hash: record.prev_hash.clone(),
            hash: record.hash.clone(),
            expires_at: (record.entry.at + chrono::Duration::days(self.retention_days)).timestamp(),
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let put_record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| CmpError::Integrity(e.to_string()))?;
        let head: HashMap<String, AttributeValue> = HashMap::from([
            ("pk".into(), AttributeValue::S(record.chain.clone())),
            ("sk".into(), AttributeValue::S("HEAD".into())),
            ("seq".into(), AttributeValue::N(record.seq.to_string())),
            ("hash".into(), AttributeValue::S(record.hash.clone())),
        ]);
        let mut put_head = Put::builder().table_name(&self.table).set_item(Some(head));
        put_head = if record.seq == 1 {
            put_head.condition_expression("attribute_not_exists(pk)")
        } else {
            put_head
                .condition_expression("#seq = :prev")
                .expression_attribute_names("#seq", "seq")
                .expression_attribute_values(":prev", AttributeValue::N((record.seq - 1).to_string()))
        };
        Ok(vec![
            TransactWriteItem::builder().put(put_record).build(),
            TransactWriteItem::builder().put(put_head.build().map_err(|e| CmpError::Integrity(e.to_string()))?).build(),
        ])
    }

    pub fn head_from_item(item: Option<&HashMap<String, AttributeValue>>) -> ChainHead {
        match item {
            None => ChainHead::default(),
            Some(i) => ChainHead {
                seq: i.get("seq").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0),
                hash: i.get("hash").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default(),
            },
        }
    }

    pub fn head_key(chain: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".into(), AttributeValue::S(chain.to_owned())),
            ("sk".into(), AttributeValue::S("HEAD".into())),
        ])
    }
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn head(&self, chain: &str) -> Result<ChainHead, CmpError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::head_key(chain)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(Self::head_from_item(out.item.as_ref()))
    }

    async fn append(&self, record: &AuditRecord) -> Result<(), CmpError> {
        match self.client.transact_write_items().set_transact_items(Some(self.append_items(record)?)).send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err().code(),
                    Some("TransactionCanceledException") | Some("TransactionConflictException")
                ) =>
            {
                Err(StoreError::Conflict.into())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn chain(&self, chain: &str) -> Result<(Vec<AuditRecord>, ChainHead), CmpError> {
        let mut records = Vec::new();
        let mut head = ChainHead::default();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(chain.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                if item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("HEAD") {
                    head = Self::head_from_item(Some(&item));
                } else {
                    let r: RecordItem =
                        serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    records.push(AuditRecord {
                        chain: r.pk,
                        seq: r.seq,
                        entry: r.entry,
                        prev_hash: r.prev_hash,
                        hash: r.hash,
                    });
                }
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        records.sort_by_key(|r| r.seq);
        Ok((records, head))
    }
}
