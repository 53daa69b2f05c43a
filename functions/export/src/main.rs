//! `export` Lambda: the scheduled partner export (EventBridge Scheduler), for every partner in
//! `shared/src/export/mod.rs`. Thin: wiring at cold start, then the shared handler for each run.
use cmp_shared::handlers::{export::ExportHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env().await?;
    let handler = &ExportHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let reports = handler.handle(event.payload).await?;
        Ok::<_, Error>(serde_json::json!({"exported": reports.iter().map(|r| &r.prefix).collect::<Vec<_>>()}))
    }))
    .await
}
