//! `merge` Lambda: Kinesis batches of inbound events → golden profiles, with partial batch failure
//! reporting. Thin: wiring at cold start, then the shared handler for each batch.
use cmp_lambda::handlers::merge::MergeHandler;
use cmp_lambda::wiring::capability::MERGE;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::kinesis(&MERGE, MergeHandler::new).await
}
