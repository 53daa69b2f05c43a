//! `import_load` Lambda: one chunk of an import file per message → its rows validated and put on
//! the inbound stream as `customer.profile_observed` events, rejected rows written beside the file.
//! Thin: wiring at cold start, then the shared handler for each batch.
use cmp_lambda::handlers::import::ImportLoadHandler;
use cmp_lambda::wiring::capability::IMPORT_LOAD;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::sqs(&IMPORT_LOAD, ImportLoadHandler::new).await
}
