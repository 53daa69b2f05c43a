//! The description of the deployed local stack that `scripts/localstack.py deploy` prints: physical
//! resource names, and every function with its environment and event sources as the template
//! declares them.
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Deserialize)]
pub struct StackWiring {
    /// The document as read, kept to write it back out (`.local/stack.json`).
    #[serde(skip)]
    pub raw: serde_json::Value,
    pub region: String,
    pub endpoint: String,
    pub stack_name: String,
    #[serde(default)]
    pub outputs: HashMap<String, String>,
    #[serde(default)]
    pub resources: HashMap<String, String>,
    pub functions: Vec<FunctionWiring>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FunctionWiring {
    pub logical_id: String,
    pub binary: String,
    #[serde(default)]
    pub environment: HashMap<String, String>,
    #[serde(default)]
    pub events: Vec<EventSource>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type")]
pub enum EventSource {
    HttpApi {
        method: String,
        path: String,
        /// The route's authorizer; `None` for public routes.
        #[serde(default)]
        auth: Option<RouteAuth>,
    },
    Kinesis {
        stream_name: String,
        stream_arn: String,
        batch_size: usize,
        #[serde(default)]
        maximum_batching_window_seconds: u64,
        #[serde(default = "trim_horizon")]
        starting_position: String,
        #[serde(default)]
        bisect_batch_on_function_error: bool,
        #[serde(default = "default_retries")]
        maximum_retry_attempts: i64,
        #[serde(default = "default_age")]
        maximum_record_age_seconds: i64,
        #[serde(default)]
        report_batch_item_failures: bool,
        #[serde(default)]
        on_failure_queue_url: Option<String>,
        #[serde(default)]
        on_failure_queue_arn: Option<String>,
        /// Lambda event filtering patterns (`FilterCriteria`); empty: every record.
        #[serde(default)]
        filter_patterns: Vec<serde_json::Value>,
    },
    DynamoDB {
        stream_arn: String,
        batch_size: usize,
        #[serde(default)]
        maximum_batching_window_seconds: u64,
        #[serde(default = "default_retries")]
        maximum_retry_attempts: i64,
        #[serde(default)]
        on_failure_queue_url: Option<String>,
        #[serde(default)]
        filter_patterns: Vec<serde_json::Value>,
    },
    #[serde(rename = "SQS")]
    Sqs {
        queue_url: String,
        queue_arn: String,
        batch_size: usize,
        #[serde(default = "default_concurrency")]
        maximum_concurrency: usize,
        #[serde(default)]
        report_batch_item_failures: bool,
    },
    #[serde(other)]
    Other,
}

/// A JWT authorizer as the template declares it.
#[derive(Debug, Clone, Deserialize)]
pub struct RouteAuth {
    #[serde(rename = "type")]
    pub kind: String,
    pub issuer: String,
    pub audience: Vec<String>,
}

fn default_concurrency() -> usize {
    1000
}
fn trim_horizon() -> String {
    "TRIM_HORIZON".into()
}
fn default_retries() -> i64 {
    -1
}
fn default_age() -> i64 {
    -1
}

impl StackWiring {
    pub fn function_by_binary(&self, binary: &str) -> Option<&FunctionWiring> {
        self.functions.iter().find(|f| f.binary == binary)
    }

    /// The issuer and audience of the HTTP API's JWT authorizer.
    pub fn authorizer(&self) -> Option<(String, String)> {
        self.functions.iter().flat_map(|f| f.events.iter()).find_map(|e| match e {
            EventSource::HttpApi { auth: Some(a), .. } => Some((a.issuer.clone(), a.audience.first()?.clone())),
            _ => None,
        })
    }

    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs.get(name).map(String::as_str)
    }
}
