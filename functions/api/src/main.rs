//! `api` Lambda: the HTTP routes but `POST /v1/events` (profiles, timelines, consents, data-subject
//! requests, audit, compensation assessment). Thin: wiring at cold
//! start, then the shared handler for each request.
use cmp_lambda::handlers::{api::ApiHandler, Wiring};
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::API).await?;
    let handler = &ApiHandler::new(&wiring)?;
    lambda_http::run(service_fn(move |req: Request| async move { Ok::<_, Error>(handler.handle(req).await) })).await
}
