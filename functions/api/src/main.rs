//! `api` Lambda: the read routes (`GET /v1/profiles...`, `GET /v1/health`). Thin: wiring at cold
//! start, then the shared handler for each request.
use cmp_shared::handlers::{api::ApiHandler, Wiring};
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env().await?;
    let handler = &ApiHandler::new(&wiring);
    lambda_http::run(service_fn(move |req: Request| async move { Ok::<_, Error>(handler.handle(req).await) })).await
}
