//! `compensate` Lambda: Kinesis batches of `flight.disrupted` events (the template's filter
//! selects them) → one compensation case per affected passenger-journey, with partial batch
//! failure reporting. Thin: wiring at cold start, then the shared handler for each batch.
use aws_lambda_events::event::kinesis::KinesisEvent;
use cmp_lambda::handlers::{compensate::CompensateHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::COMPENSATE).await?;
    let handler = &CompensateHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}
