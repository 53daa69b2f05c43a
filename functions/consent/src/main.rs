//! `consent` Lambda: Kinesis batches of `customer.consent_changed` events (the template's filter
//! selects them) → the customers' consent ledgers, with partial batch failure reporting. Thin:
//! wiring at cold start, then the shared handler for each batch.
use cmp_lambda::handlers::consent::ConsentHandler;
use cmp_lambda::wiring::capability::CONSENT;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::kinesis(&CONSENT, ConsentHandler::new).await
}
