//! The local stack: emulator + resources from the template + the functions wired as in AWS.
use crate::ddbstream::{DdbMapping, DdbMappingConfig, DdbMappingStats};
use crate::emulator::{self, Emulator};
use crate::gateway::{self, HttpFunction, Route};
use crate::metrics::CallCounter;
use crate::stream::{Mapping, MappingConfig, MappingStats};
use crate::wiring::{EventSource, StackWiring};
use crate::BoxError;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use cmp_aws::sdk::Clients;
use cmp_lambda::handlers::{
    api::ApiHandler, audit_export::AuditExportHandler, compensate::CompensateHandler, consent::ConsentHandler,
    ingest::IngestHandler, merge::MergeHandler, publish::PublishHandler, stream::DynamoDbStreamHandler,
    stream::KinesisHandler, Wiring,
};
use cmp_lambda::wiring::ServiceClients;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub const REGION: &str = "eu-west-1";

#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where the HTTP API listens (port 0: any free port).
    pub http_addr: SocketAddr,
    /// Emulator port (0: any free port).
    pub emulator_port: u16,
    pub stack_name: String,
    /// Counts every AWS call the functions make (benchmarks).
    pub counter: Option<CallCounter>,
    /// Run the table-stream functions (publish, audit export); a benchmark that loads tables
    /// directly turns them off so they do not compete for the emulator.
    pub table_streams: bool,
    /// Environment variables set on every function beyond the template's (tests: smaller
    /// import chunks, for instance).
    pub env: Vec<(String, String)>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            http_addr: "127.0.0.1:0".parse().expect("addr"),
            emulator_port: 0,
            stack_name: "cmp-local".into(),
            counter: None,
            table_streams: true,
            env: Vec::new(),
        }
    }
}

/// SDK configuration for the emulator: its endpoint, a region, test credentials.
pub async fn emulator_sdk(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "cmp-local"))
        .load()
        .await
}

/// S3 against the emulator: path-style addressing (a client setting, so the functions' code is the
/// same as in AWS).
pub fn emulator_s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
}

/// The functions' clients, optionally with a call-counting interceptor.
pub fn clients(sdk: &SdkConfig, counter: Option<&CallCounter>) -> Clients {
    match counter {
        None => Clients { s3: emulator_s3(sdk), ..Clients::new(sdk) },
        Some(c) => Clients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(c.clone()).build(),
            ),
            kinesis: aws_sdk_kinesis::Client::from_conf(
                aws_sdk_kinesis::config::Builder::from(sdk).interceptor(c.clone()).build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(aws_sdk_kms::config::Builder::from(sdk).interceptor(c.clone()).build()),
            s3: emulator_s3(sdk),
            sqs: aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(sdk).interceptor(c.clone()).build()),
        },
    }
}

pub struct LocalStack {
    pub emulator: Emulator,
    pub wiring: StackWiring,
    pub sdk: SdkConfig,
    pub base_url: String,
    pub mapping_stats: Vec<Arc<MappingStats>>,
    pub table_stream_stats: Vec<Arc<DdbMappingStats>>,
    /// The SQS mappings (bulk import), for tests.
    pub sqs_stats: Vec<Arc<crate::sqs::SqsMappingStats>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LocalStack {
    pub async fn start(opts: StackOptions) -> Result<Self, BoxError> {
        let emulator = Emulator::start(opts.emulator_port).await?;
        let wiring = emulator::deploy(&emulator.endpoint, REGION, &opts.stack_name).await?;
        let sdk = emulator_sdk(&emulator.endpoint).await;
        let plain_clients = clients(&sdk, None);
        let counted_clients = clients(&sdk, opts.counter.as_ref());
        let (shutdown, rx) = watch::channel(false);
        let mut routes = Vec::new();
        let mut mappings = Vec::new();
        let mut ddb_mappings: Vec<Arc<DdbMapping>> = Vec::new();
        let mut sqs_mappings: Vec<Arc<crate::sqs::SqsMapping>> = Vec::new();
        for f in &wiring.functions {
            let mut env = f.environment.clone();
            env.extend(opts.env.iter().cloned());
            let spec = cmp_lambda::wiring::capability::function(&f.binary).ok_or_else(|| {
                format!("{} declares no capabilities (shared/lambda/src/wiring/capability.rs)", f.binary)
            })?;
            let config = cmp_lambda::wiring::config_for(spec, &|k| env.get(k).cloned())?;
            // the write path (ingest, merge) is what benchmarks count; reads are counted apart
            // (the merge's own share is also counted under `merge/`)
            let fn_clients = match f.binary.as_str() {
                "api" => plain_clients.clone(),
                "merge" => clients(&sdk, opts.counter.as_ref().map(|c| c.labelled("merge")).as_ref()),
                _ => counted_clients.clone(),
            };
            let w = Wiring::build(spec, config, ServiceClients::select(&fn_clients, spec)).await?;
            let http: Option<HttpFunction> = match f.binary.as_str() {
                "ingest" => Some(HttpFunction::Ingest(Arc::new(IngestHandler::new(&w)?))),
                "api" => Some(HttpFunction::Api(Arc::new(ApiHandler::new(&w)?))),
                _ => None,
            };
            let stream_handler: Option<Arc<dyn KinesisHandler>> = match f.binary.as_str() {
                "merge" => Some(Arc::new(MergeHandler::new(&w)?)),
                "consent" => Some(Arc::new(ConsentHandler::new(&w)?)),
                "compensate" => Some(Arc::new(CompensateHandler::new(&w)?)),
                _ => None,
            };
            let sqs_handler: Option<Arc<dyn cmp_lambda::handlers::stream::SqsHandler>> = match f.binary.as_str() {
                "import_plan" => Some(Arc::new(cmp_lambda::handlers::import::ImportPlanHandler::new(&w)?)),
                "import_load" => Some(Arc::new(cmp_lambda::handlers::import::ImportLoadHandler::new(&w)?)),
                _ => None,
            };
            let table_stream_handler: Option<Arc<dyn DynamoDbStreamHandler>> = match f.binary.as_str() {
                "audit_export" => Some(Arc::new(AuditExportHandler::new(&w)?)),
                "publish" => Some(Arc::new(PublishHandler::new(&w)?)),
                _ => None,
            };
            for ev in &f.events {
                match ev {
                    EventSource::HttpApi { method, path, auth } => {
                        let function = http.clone().ok_or_else(|| format!("{} has no HTTP handler", f.logical_id))?;
                        routes.push(Route { method: method.clone(), path: path.clone(), function, auth: auth.clone() });
                    }
                    EventSource::Kinesis {
                        stream_name,
                        stream_arn,
                        batch_size,
                        maximum_batching_window_seconds,
                        maximum_retry_attempts,
                        maximum_record_age_seconds,
                        report_batch_item_failures,
                        on_failure_queue_url,
                        filter_patterns,
                        ..
                    } => {
                        let handler =
                            stream_handler.clone().ok_or_else(|| format!("{} has no stream handler", f.logical_id))?;
                        mappings.push(Arc::new(Mapping {
                            config: MappingConfig {
                                stream_name: stream_name.clone(),
                                stream_arn: stream_arn.clone(),
                                region: REGION.into(),
                                batch_size: *batch_size,
                                batching_window: Duration::from_secs(*maximum_batching_window_seconds),
                                max_retries: *maximum_retry_attempts,
                                max_record_age: (*maximum_record_age_seconds >= 0)
                                    .then(|| Duration::from_secs(*maximum_record_age_seconds as u64)),
                                report_batch_item_failures: *report_batch_item_failures,
                                on_failure_queue_url: on_failure_queue_url.clone(),
                                function_arn: format!("arn:aws:lambda:{REGION}:123456789012:function:{}", f.logical_id),
                                filter_patterns: filter_patterns.clone(),
                            },
                            kinesis: aws_sdk_kinesis::Client::new(&sdk),
                            sqs: aws_sdk_sqs::Client::new(&sdk),
                            handler,
                            stats: Arc::new(MappingStats::default()),
                        }));
                    }
                    EventSource::DynamoDB {
                        stream_arn,
                        batch_size,
                        maximum_batching_window_seconds,
                        maximum_retry_attempts,
                        on_failure_queue_url,
                        filter_patterns,
                    } => {
                        let handler = table_stream_handler
                            .clone()
                            .ok_or_else(|| format!("{} has no table-stream handler", f.logical_id))?;
                        ddb_mappings.push(Arc::new(DdbMapping {
                            config: DdbMappingConfig {
                                stream_arn: stream_arn.clone(),
                                region: REGION.into(),
                                batch_size: *batch_size,
                                batching_window: Duration::from_secs(*maximum_batching_window_seconds),
                                max_retries: *maximum_retry_attempts,
                                on_failure_queue_url: on_failure_queue_url.clone(),
                                filter_patterns: filter_patterns.clone(),
                            },
                            streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
                            sqs: aws_sdk_sqs::Client::new(&sdk),
                            handler,
                            stats: Arc::new(DdbMappingStats::default()),
                        }));
                    }
                    EventSource::Sqs {
                        queue_url,
                        queue_arn,
                        batch_size,
                        maximum_concurrency,
                        report_batch_item_failures,
                    } => {
                        let handler =
                            sqs_handler.clone().ok_or_else(|| format!("{} has no SQS handler", f.logical_id))?;
                        sqs_mappings.push(Arc::new(crate::sqs::SqsMapping {
                            config: crate::sqs::SqsMappingConfig {
                                queue_url: queue_url.clone(),
                                queue_arn: queue_arn.clone(),
                                batch_size: *batch_size,
                                maximum_concurrency: *maximum_concurrency,
                                report_batch_item_failures: *report_batch_item_failures,
                            },
                            sqs: aws_sdk_sqs::Client::new(&sdk),
                            handler,
                            stats: Arc::new(crate::sqs::SqsMappingStats::default()),
                        }));
                    }
                    EventSource::Other => {}
                }
            }
        }
        let issuer = Arc::new(crate::jwt::LocalIssuer::load_or_create(&crate::jwt::key_dir())?);
        let (addr, http_task) = gateway::serve(opts.http_addr, routes, issuer, "$default".into(), rx.clone()).await?;
        let mut tasks = vec![http_task];
        let mut mapping_stats = Vec::new();
        for m in mappings {
            mapping_stats.push(m.stats.clone());
            tasks.extend(m.run(rx.clone()).await?);
        }
        let mut sqs_stats = Vec::new();
        for m in sqs_mappings {
            sqs_stats.push(m.stats.clone());
            tasks.extend(m.run(rx.clone()).await?);
        }
        let mut table_stream_stats = Vec::new();
        for m in ddb_mappings.into_iter().filter(|_| opts.table_streams) {
            table_stream_stats.push(m.stats.clone());
            tasks.extend(m.run(rx.clone()).await?);
        }
        Ok(LocalStack {
            emulator,
            wiring,
            sdk,
            base_url: format!("http://{addr}"),
            mapping_stats,
            table_stream_stats,
            sqs_stats,
            shutdown,
            tasks,
        })
    }

    /// The issuer and audience of the HTTP API's JWT authorizer.
    pub fn authorizer(&self) -> Option<(String, String)> {
        self.wiring.authorizer()
    }

    /// The wiring as the deploy script printed it.
    pub fn wiring_json(&self) -> serde_json::Value {
        self.wiring.raw.clone()
    }

    /// A token the local API accepts, as `cmpctl token` mints it.
    pub fn token(&self, role: &str, mfa: bool, customer_id: Option<&str>) -> Result<String, BoxError> {
        let (issuer, audience) = self.authorizer().ok_or("the template declares no JWT authorizer")?;
        let req = crate::jwt::TokenRequest {
            role: role.into(),
            mfa,
            subject: None,
            customer_id: customer_id.map(str::to_owned),
            issuer,
            audience,
            ttl_seconds: 3600,
        };
        crate::jwt::LocalIssuer::load_or_create(&crate::jwt::key_dir())?.sign(&crate::jwt::claims(&req))
    }

    /// Records the stream mappings have finished with (processed, parked or sent to the on-failure queue).
    pub fn records_done(&self) -> u64 {
        self.mapping_stats.iter().map(|s| s.records_done.load(std::sync::atomic::Ordering::Relaxed)).sum()
    }

    pub fn profiles_table(&self) -> Option<&str> {
        self.wiring.output("ProfilesTableName")
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        self.emulator.stop().await;
    }
}
