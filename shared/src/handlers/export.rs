//! The scheduled partner export (EventBridge) → [`crate::export::Exporter`] for every partner.
//! `POST /v1/exports` runs the same exporter on demand from the API function.
use super::Wiring;
use crate::audit::{AuditEntry, AuditLog};
use crate::error::CmpError;
use crate::export::{Exporter, PartnerReport, PARTNERS};
use crate::rights::{ExportStore, S3Exports};
use chrono::Utc;
use std::sync::Arc;

pub struct ExportHandler {
    exporter: Exporter,
    audit: Arc<dyn AuditLog>,
    k: usize,
}

impl ExportHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        let bucket =
            w.config.exports_bucket.clone().ok_or_else(|| CmpError::Config("EXPORTS_BUCKET is not set".into()))?;
        let out: Arc<dyn ExportStore> = Arc::new(S3Exports::new(w.clients.s3.clone(), bucket));
        let exporter = Exporter::new(w.store.clone(), w.keys.clone(), w.kms.clone(), w.store.clone(), out);
        Ok(ExportHandler { exporter, audit: w.audit.clone(), k: w.config.export_k })
    }

    /// One scheduled run: every partner, the configured k; the run is audited.
    pub async fn handle(&self, event: serde_json::Value) -> Result<Vec<PartnerReport>, CmpError> {
        let partners: Vec<_> = PARTNERS.iter().collect();
        let reports = self.exporter.run(&partners, self.k, Utc::now()).await?;
        let entry = AuditEntry {
            at: Utc::now(),
            actor: event.get("id").and_then(|v| v.as_str()).unwrap_or("schedule").to_owned(),
            role: "system".into(),
            action: "run_export".into(),
            customer_id: None,
            fields: partners.iter().map(|p| format!("partner_export:{}", p.id)).collect(),
            purpose: "partner_export".into(),
            request_id: event.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
            outcome: "exported".into(),
        };
        crate::audit::record(self.audit.as_ref(), entry).await?;
        Ok(reports)
    }
}
