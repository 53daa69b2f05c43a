//! DynamoDB adapter of the cases table ([`cmp_app::cases::CaseStore`]).
//!
//! | item | pk | attributes |
//! |---|---|---|
//! | case | the case id (`case_` + 24 hex digits) | `customer_id`, `flight_key`, `queue`, `status`, `sla_due_at`, `version`, `doc` (the case as JSON; notes and payout sealed with the customer's key) |
//!
//! Indexes: `ByFlight` (`flight_key`, `pk`), `ByQueue` (`queue`, `sla_due_at`), `ByCustomer`
//! (`customer_id`, `pk`), all projecting every attribute.
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use cmp_app::cases::{Case, CaseFilter, CaseStatus, CaseStore};
use cmp_app::error::CmpError;
use cmp_app::store::StoreError;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoCases {
    client: Client,
    table: String,
}

fn unavailable<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> CmpError {
    StoreError::Unavailable(format!("cases table: {}", DisplayErrorContext(&e))).into()
}

fn is_conflict<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(e, SdkError::ServiceError(x) if x.err().code() == Some("ConditionalCheckFailedException"))
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Sortable UTC time (fixed width).
fn time_key(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn item(c: &Case) -> Result<Item, CmpError> {
    let doc = serde_json::to_string(c).map_err(|e| CmpError::Integrity(e.to_string()))?;
    let mut item = HashMap::from([
        ("pk".to_owned(), s(&c.id)),
        ("entity".to_owned(), s("case")),
        ("customer_id".to_owned(), s(c.customer_id.to_string())),
        ("flight_key".to_owned(), s(&c.flight_key)),
        ("queue".to_owned(), s(&c.queue)),
        ("status".to_owned(), s(c.status.as_str())),
        ("sla_due_at".to_owned(), s(time_key(c.sla_due_at))),
        ("version".to_owned(), AttributeValue::N(c.version.to_string())),
        ("doc".to_owned(), s(doc)),
    ]);
    // a closed case expires after its retention period, counted from the closure
    if c.status == CaseStatus::Closed {
        if let Some(at) = cmp_app::retention::expiry(cmp_app::retention::DataClass::CompensationCase, c.updated_at) {
            item.insert("expires_at".to_owned(), AttributeValue::N(at.to_string()));
        }
    }
    Ok(item)
}

fn from_item(i: &Item) -> Result<Case, CmpError> {
    let doc = i.get("doc").and_then(|v| v.as_s().ok()).ok_or_else(|| StoreError::Corrupt("case without doc".into()))?;
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("case doc: {e}")).into())
}

impl DynamoCases {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoCases { client, table: table.into() }
    }

    async fn query(
        &self,
        index: &str,
        condition: &str,
        values: &[(&str, String)],
        limit: usize,
    ) -> Result<Vec<Case>, CmpError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .set_exclusive_start_key(start.take());
            for (k, v) in values {
                q = q.expression_attribute_values(*k, s(v.clone()));
            }
            if condition.contains("#q") {
                q = q.expression_attribute_names("#q", "queue");
            }
            let resp = q.send().await.map_err(unavailable)?;
            for i in resp.items.unwrap_or_default() {
                out.push(from_item(&i)?);
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() && out.len() < limit => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl CaseStore for DynamoCases {
    async fn get_case(&self, id: &str) -> Result<Option<Case>, CmpError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        resp.item.as_ref().map(from_item).transpose()
    }

    async fn put_case(&self, case: &Case, expected_version: Option<u64>) -> Result<(), CmpError> {
        let mut put = self.client.put_item().table_name(&self.table).set_item(Some(item(case)?));
        put = match expected_version {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Err(StoreError::Conflict.into()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn list_cases(&self, f: &CaseFilter, limit: usize) -> Result<Vec<Case>, CmpError> {
        let mut cases = if let Some(k) = &f.flight_key {
            self.query("ByFlight", "flight_key = :k", &[(":k", k.clone())], usize::MAX).await?
        } else if let Some(c) = &f.customer {
            self.query("ByCustomer", "customer_id = :c", &[(":c", c.to_string())], usize::MAX).await?
        } else if let Some(q) = &f.queue {
            self.query("ByQueue", "#q = :q", &[(":q", q.clone())], usize::MAX).await?
        } else {
            return Err(CmpError::Integrity("a case listing needs a flight, a queue or a customer".into()));
        };
        cases.retain(|c| {
            f.queue.as_ref().is_none_or(|q| &c.queue == q)
                && f.status.is_none_or(|s| c.status == s)
                && f.customer.as_ref().is_none_or(|id| &c.customer_id == id)
        });
        cases.sort_by(|a, b| a.id.cmp(&b.id));
        cases.truncate(limit);
        Ok(cases)
    }

    async fn due_cases(&self, queue: &str, before: DateTime<Utc>) -> Result<Vec<Case>, CmpError> {
        let mut cases = self
            .query(
                "ByQueue",
                "#q = :q AND sla_due_at < :t",
                &[(":q", queue.to_owned()), (":t", time_key(before))],
                usize::MAX,
            )
            .await?;
        cases.retain(|c| c.status != CaseStatus::Closed);
        Ok(cases)
    }
}
