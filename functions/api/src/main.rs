//! `api` Lambda: the read routes (`GET /v1/profiles...`, `GET /v1/health`). Thin: wiring at cold
//! start, then the shared handler for each request.
use cmp_shared::handlers::{api::ApiHandler, Wiring};
use cmp_shared::{aws, config::Config, telemetry};
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let clients = aws::Clients::new(&aws::sdk_config().await);
    let wiring = Wiring::new(config, clients).await?;
    let handler = &ApiHandler::new(&wiring);
    lambda_http::run(service_fn(move |req: Request| async move { Ok::<_, Error>(handler.handle(req).await) })).await
}
