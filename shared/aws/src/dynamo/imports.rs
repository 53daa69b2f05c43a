//! DynamoDB adapter of the import ledger: an `IMPORT#<id>` item of the profile table.
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use cmp_app::error::CmpError;
use cmp_app::import::{ImportLedger, ImportState};
use std::collections::HashMap;

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
        let expires = cmp_app::retention::expiry(cmp_app::retention::DataClass::Interaction, Utc::now()).unwrap_or(0);
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
            // DynamoDB keeps no empty set: the set of counted chunks starts with -1, which no chunk is
            .item("done", AttributeValue::Ns(vec!["-1".into()]))
            .item("expires_at", n(expires.max(0) as u64))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(crate::dynamo::store::unavailable(e)),
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
            Err(e) => Err(crate::dynamo::store::unavailable(e)),
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
            .map_err(crate::dynamo::store::unavailable)?;
        out.item.as_ref().map(state_of).transpose()
    }
}
