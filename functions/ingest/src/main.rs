//! `ingest` Lambda: `POST /v1/events` → validate → Kinesis. Thin: wiring at cold start, then the
//! shared handler for each request.
use cmp_lambda::handlers::ingest::IngestHandler;
use cmp_lambda::wiring::capability::INGEST;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::http(&INGEST, IngestHandler::new).await
}
