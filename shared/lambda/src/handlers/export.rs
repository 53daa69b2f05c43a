//! The scheduled exports (EventBridge Scheduler): `{"dataset":"partners"}` runs
//! [`cmp_app::export::Exporter`] for every partner, `{"dataset":"analytics"}` writes the analyst
//! snapshot ([`cmp_app::export::analytics::AnalyticsSnapshot`]). `POST /v1/exports` runs the same
//! code on demand from the API function.
use super::Wiring;
use chrono::Utc;
use cmp_app::audit::{AuditEntry, AuditLog};
use cmp_app::error::CmpError;
use cmp_app::export::analytics::AnalyticsSnapshot;
use cmp_app::export::{Exporter, PARTNERS};
use cmp_app::rights::ExportStore;
use cmp_aws::s3::S3Exports;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct ExportHandler {
    exporter: Exporter,
    snapshot: AnalyticsSnapshot,
    audit: Arc<dyn AuditLog>,
    k: usize,
}

/// What a scheduled run asks for (the schedule's `Input`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    Partners,
    Analytics,
}

#[derive(Deserialize)]
struct RunInput {
    dataset: Dataset,
}

impl ExportHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        let bucket =
            |v: &Option<String>, name: &str| v.clone().ok_or_else(|| CmpError::Config(format!("{name} is not set")));
        let out: Arc<dyn ExportStore> =
            Arc::new(S3Exports::new(w.s3()?, bucket(&w.config.exports_bucket, "EXPORTS_BUCKET")?));
        let analytics: Arc<dyn ExportStore> =
            Arc::new(S3Exports::new(w.s3()?, bucket(&w.config.analytics_bucket, "ANALYTICS_BUCKET")?));
        let exporter = Exporter::new(w.store()?, w.keys()?, w.kms()?, w.store()?, out);
        let snapshot = AnalyticsSnapshot::new(w.store()?, w.keys()?, w.kms()?, w.store()?, analytics);
        Ok(ExportHandler { exporter, snapshot, audit: w.audit()?, k: w.config.export_k })
    }

    /// The dataset a scheduled event asks for; an event without one is refused (a schedule
    /// always says which).
    pub fn dataset(event: &Value) -> Result<Dataset, CmpError> {
        serde_json::from_value::<RunInput>(event.clone()).map(|r| r.dataset).map_err(|e| {
            CmpError::Config(format!("the export input must be {{\"dataset\":\"partners\"|\"analytics\"}}: {e}"))
        })
    }

    /// One scheduled run; audited. Answers what was written.
    pub async fn handle(&self, event: Value) -> Result<Value, CmpError> {
        let dataset = Self::dataset(&event)?;
        let (fields, result) = match dataset {
            Dataset::Partners => {
                // the partners whose schedule is due today (on-demand runs take any partner)
                let today = Utc::now().date_naive();
                let partners: Vec<_> = PARTNERS.iter().filter(|p| p.schedule.due(today)).collect();
                let reports = self.exporter.run(&partners, self.k, Utc::now()).await?;
                (
                    partners.iter().map(|p| format!("partner_export:{}", p.id)).collect(),
                    json!({"dataset": "partners", "exported": reports.iter().map(|r| &r.prefix).collect::<Vec<_>>()}),
                )
            }
            Dataset::Analytics => {
                let report = self.snapshot.run(Utc::now()).await?;
                (
                    vec!["analytics_snapshot".to_owned()],
                    json!({"dataset": "analytics", "manifest": report.manifest_key, "customers": report.manifest["customers"]}),
                )
            }
        };
        let entry = AuditEntry {
            at: Utc::now(),
            actor: "schedule".into(),
            role: "system".into(),
            action: "run_export".into(),
            customer_id: None,
            fields,
            purpose: match dataset {
                Dataset::Partners => "partner_export",
                Dataset::Analytics => "analytics",
            }
            .into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            outcome: "exported".into(),
        };
        cmp_app::audit::record(self.audit.as_ref(), entry).await?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_names_its_dataset() {
        assert_eq!(ExportHandler::dataset(&json!({"dataset": "partners"})).unwrap(), Dataset::Partners);
        assert_eq!(ExportHandler::dataset(&json!({"dataset": "analytics"})).unwrap(), Dataset::Analytics);
        assert!(ExportHandler::dataset(&json!({})).is_err());
        assert!(ExportHandler::dataset(&json!({"dataset": "everything"})).is_err());
    }
}
