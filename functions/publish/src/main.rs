//! `publish` Lambda: the profile table's stream → change events (`customer.created`, `.updated`,
//! `.merged`, `.erased`, `.consent_changed`) on the outbound Kinesis stream, without personal data.
//! Thin: wiring at cold start, then the shared handler for each batch.
use cmp_lambda::handlers::publish::PublishHandler;
use cmp_lambda::wiring::capability::PUBLISH;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::table_stream(&PUBLISH, PublishHandler::new).await
}
