//! `escalate` Lambda: every 15 minutes (EventBridge Scheduler), escalates the compensation cases
//! whose SLA ends within the hour. Thin: wiring at cold start, then the shared handler.
use cmp_lambda::handlers::{compensate::EscalateHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::ESCALATE).await?;
    let handler = &EscalateHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(handler.handle().await?)
    }))
    .await
}
