//! `audit_export` Lambda: the audit table's stream → JSON Lines objects in the Object Lock bucket.
//! Thin: wiring at cold start, then the shared handler for each batch.
use aws_lambda_events::event::dynamodb::Event;
use cmp_lambda::handlers::{audit_export::AuditExportHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::AUDIT_EXPORT).await?;
    let handler = &AuditExportHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}
