//! `api` Lambda: the HTTP routes but `POST /v1/events` (profiles, timelines, consents, data-subject
//! requests, audit, compensation assessment). Thin: wiring at cold
//! start, then the shared handler for each request.
use cmp_lambda::handlers::api::ApiHandler;
use cmp_lambda::wiring::capability::API;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::http(&API, ApiHandler::new).await
}
