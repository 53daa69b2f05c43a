//! `ingest` Lambda: `POST /v1/events` → validate → Kinesis. Thin: wiring at cold start, then the
//! shared handler for each request.
use cmp_shared::handlers::{ingest::IngestHandler, Wiring};
use cmp_shared::{aws, config::Config, telemetry};
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let clients = aws::Clients::new(&aws::sdk_config().await);
    let wiring = Wiring::new(config, clients).await?;
    let handler = &IngestHandler::new(&wiring)?;
    lambda_http::run(service_fn(move |req: Request| async move { Ok::<_, Error>(handler.handle(req).await) })).await
}
