//! `publish` Lambda: the profile table's stream → change events (`customer.created`, `.updated`,
//! `.merged`, `.erased`, `.consent_changed`) on the outbound Kinesis stream, without personal data.
//! Thin: wiring at cold start, then the shared handler for each batch.
use aws_lambda_events::event::dynamodb::Event;
use cmp_lambda::handlers::{publish::PublishHandler, Wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wiring = Wiring::from_env(&cmp_lambda::wiring::capability::PUBLISH).await?;
    let handler = &PublishHandler::new(&wiring)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(handler.handle(event.payload).await)
    }))
    .await
}
