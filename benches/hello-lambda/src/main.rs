//! Hello world on `lambda_runtime`: what every function's cold start is compared with.
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(serde_json::json!({"hello": event.payload}))
    }))
    .await
}
