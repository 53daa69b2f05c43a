//! Building AWS SDK clients. Endpoints, region and credentials come from the standard AWS
//! environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...), so the same code talks to AWS or to a local
//! emulator without a branch.
use aws_config::{BehaviorVersion, SdkConfig};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A client of every service (the tools and the local stack; a function builds only its own).
#[cfg(all(feature = "dynamodb", feature = "kinesis", feature = "kms", feature = "s3", feature = "sqs"))]
#[derive(Clone, Debug)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub kms: aws_sdk_kms::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
}

#[cfg(all(feature = "dynamodb", feature = "kinesis", feature = "kms", feature = "s3", feature = "sqs"))]
impl Clients {
    pub fn new(sdk: &SdkConfig) -> Self {
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            kinesis: aws_sdk_kinesis::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            s3: aws_sdk_s3::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
        }
    }
}
