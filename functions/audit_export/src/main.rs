//! `audit_export` Lambda: the audit table's stream → JSON Lines objects in the Object Lock bucket.
//! Thin: wiring at cold start, then the shared handler for each batch.
use cmp_lambda::handlers::audit_export::AuditExportHandler;
use cmp_lambda::wiring::capability::AUDIT_EXPORT;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::table_stream(&AUDIT_EXPORT, AuditExportHandler::new).await
}
