//! `ingest` Lambda: `POST /v1/events` → validate → Kinesis. Thin: wiring at cold start, then the
//! shared handler for each request.
use cmp_lambda::handlers::{ingest::IngestHandler, Wiring};
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::INGEST).await?;
    let handler = &IngestHandler::new(&wiring)?;
    lambda_http::run(service_fn(move |req: Request| async move { Ok::<_, Error>(handler.handle(req).await) })).await
}
