//! `consent` Lambda: Kinesis batches of `customer.consent_changed` events (the template's filter
//! selects them) → the customers' consent ledgers, with partial batch failure reporting. Thin:
//! wiring at cold start, then the shared handler for each batch.
use aws_lambda_events::event::kinesis::KinesisEvent;
use cmp_lambda::handlers::{consent::ConsentHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::CONSENT).await?;
    let handler = &ConsentHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}
