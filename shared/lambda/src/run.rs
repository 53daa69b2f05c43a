//! What every function's `main` does: its wiring from its capability list at cold start, its
//! handler built once from the wiring, then the Lambda runtime loop handing each event to it.
//! One runner per kind of trigger, so a `main.rs` is a single call.
use crate::handlers::stream::{DynamoDbStreamHandler, KinesisHandler, SqsHandler};
use crate::wiring::{FunctionSpec, Wiring};
use aws_lambda_events::event::{dynamodb::Event as TableStreamEvent, kinesis::KinesisEvent, sqs::SqsEvent};
use cmp_app::error::CmpError;
use lambda_runtime::{service_fn, Error, LambdaEvent};

/// A function triggered by a Kinesis event source mapping.
pub async fn kinesis<H: KinesisHandler>(
    spec: &'static FunctionSpec,
    make: impl FnOnce(&Wiring) -> Result<H, CmpError>,
) -> Result<(), Error> {
    let wiring = Wiring::from_env(spec).await?;
    let handler = &make(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}

/// A function triggered by a table's DynamoDB stream.
pub async fn table_stream<H: DynamoDbStreamHandler>(
    spec: &'static FunctionSpec,
    make: impl FnOnce(&Wiring) -> Result<H, CmpError>,
) -> Result<(), Error> {
    let wiring = Wiring::from_env(spec).await?;
    let handler = &make(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<TableStreamEvent>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}

/// A function triggered by an SQS queue.
pub async fn sqs<H: SqsHandler>(
    spec: &'static FunctionSpec,
    make: impl FnOnce(&Wiring) -> Result<H, CmpError>,
) -> Result<(), Error> {
    let wiring = Wiring::from_env(spec).await?;
    let handler = &make(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}

/// A function behind API Gateway's HTTP API.
#[cfg(feature = "http")]
pub async fn http<H: crate::handlers::HttpHandler>(
    spec: &'static FunctionSpec,
    make: impl FnOnce(&Wiring) -> Result<H, CmpError>,
) -> Result<(), Error> {
    let wiring = Wiring::from_env(spec).await?;
    let handler = &make(&wiring)?;
    lambda_http::run(lambda_http::service_fn(move |req: lambda_http::Request| async move {
        Ok::<_, Error>(handler.handle(req).await)
    }))
    .await
}
