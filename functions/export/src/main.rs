//! `export` Lambda: the scheduled exports (EventBridge Scheduler): the partner exports of
//! `shared/app/src/export/mod.rs` and the analyst snapshot of `shared/app/src/export/analytics.rs`, as the
//! schedule's input says. Thin: wiring at cold start, then the shared handler for each run.
use cmp_lambda::handlers::{export::ExportHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::EXPORT).await?;
    let handler = &ExportHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await?)
    }))
    .await
}
