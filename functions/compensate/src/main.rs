//! `compensate` Lambda: Kinesis batches of `flight.disrupted` events (the template's filter
//! selects them) → one compensation case per affected passenger-journey, with partial batch
//! failure reporting. Thin: wiring at cold start, then the shared handler for each batch.
use cmp_lambda::handlers::compensate::CompensateHandler;
use cmp_lambda::wiring::capability::COMPENSATE;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::kinesis(&COMPENSATE, CompensateHandler::new).await
}
