//! `import_plan` Lambda: the imports bucket's object-created notifications (through the
//! import-files queue) → each file's rows cut into chunks, queued for `import_load`. Thin: wiring
//! at cold start, then the shared handler for each batch.
use aws_lambda_events::event::sqs::SqsEvent;
use cmp_lambda::handlers::{import::ImportPlanHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::IMPORT_PLAN).await?;
    let handler = &ImportPlanHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}
