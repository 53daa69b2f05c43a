//! `import_load` Lambda: one chunk of an import file per message → its rows validated and put on
//! the inbound stream as `customer.profile_observed` events, rejected rows written beside the file.
//! Thin: wiring at cold start, then the shared handler for each batch.
use aws_lambda_events::event::sqs::SqsEvent;
use cmp_lambda::handlers::{import::ImportLoadHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::IMPORT_LOAD).await?;
    let handler = &ImportLoadHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}
