//! Cold-start wiring of a function, built only through its capability list.
//!
//! `functions/<name>/src/main.rs` calls [`Wiring::from_env`] with its [`FunctionSpec`]
//! ([`capability::FUNCTIONS`]): the environment variables the capabilities need are checked (a
//! missing one fails the cold start with its name), only the SDK clients they call are built, and
//! only the adapters they use are made: a function without [`Capability::BlindIndex`] never
//! unwraps the blind-index key, one without a profile capability never builds the profile store.
//! A handler asks the wiring for what it needs ([`Wiring::store`], [`Wiring::indexer`], ...);
//! asking for something its function did not declare is a configuration error at cold start.
//! The local stack (`cmpctl dev`) builds the same wiring from the template's environment.
pub mod capability;

pub use capability::{Capability, FunctionSpec, Service};
use cmp_app::audit::AuditLog;
use cmp_app::config::Config;
use cmp_app::crypto::{BlindIndexer, KeyRing, KeyService};
use cmp_app::error::CmpError;
use cmp_app::schema::EventValidator;
#[cfg(feature = "dynamodb")]
use cmp_aws::dynamo::{audit::DynamoAuditLog, store::DynamoStore};
#[cfg(feature = "kms")]
use cmp_aws::kms::KmsKeyService;
use std::sync::Arc;

/// The SDK clients a function may call; each built only when a capability needs its service.
#[derive(Clone, Debug, Default)]
pub struct ServiceClients {
    #[cfg(feature = "dynamodb")]
    pub dynamodb: Option<aws_sdk_dynamodb::Client>,
    #[cfg(feature = "kinesis")]
    pub kinesis: Option<aws_sdk_kinesis::Client>,
    #[cfg(feature = "kms")]
    pub kms: Option<aws_sdk_kms::Client>,
    #[cfg(feature = "s3")]
    pub s3: Option<aws_sdk_s3::Client>,
    #[cfg(feature = "sqs")]
    pub sqs: Option<aws_sdk_sqs::Client>,
}

impl ServiceClients {
    /// Clients from an SDK configuration, for the services `spec` uses.
    pub fn for_spec(sdk: &aws_config::SdkConfig, spec: &FunctionSpec) -> Self {
        let _ = (sdk, spec);
        ServiceClients {
            #[cfg(feature = "dynamodb")]
            dynamodb: spec.uses(Service::DynamoDb).then(|| aws_sdk_dynamodb::Client::new(sdk)),
            #[cfg(feature = "kinesis")]
            kinesis: spec.uses(Service::Kinesis).then(|| aws_sdk_kinesis::Client::new(sdk)),
            #[cfg(feature = "kms")]
            kms: spec.uses(Service::Kms).then(|| aws_sdk_kms::Client::new(sdk)),
            #[cfg(feature = "s3")]
            s3: spec.uses(Service::S3).then(|| aws_sdk_s3::Client::new(sdk)),
            #[cfg(feature = "sqs")]
            sqs: spec.uses(Service::Sqs).then(|| aws_sdk_sqs::Client::new(sdk)),
        }
    }

    /// The clients `spec` uses, taken from a full set (tools and the local stack).
    #[cfg(all(feature = "dynamodb", feature = "kinesis", feature = "kms", feature = "s3", feature = "sqs"))]
    pub fn select(all: &cmp_aws::sdk::Clients, spec: &FunctionSpec) -> Self {
        ServiceClients {
            dynamodb: spec.uses(Service::DynamoDb).then(|| all.dynamodb.clone()),
            kinesis: spec.uses(Service::Kinesis).then(|| all.kinesis.clone()),
            kms: spec.uses(Service::Kms).then(|| all.kms.clone()),
            s3: spec.uses(Service::S3).then(|| all.s3.clone()),
            sqs: spec.uses(Service::Sqs).then(|| all.sqs.clone()),
        }
    }
}

/// The configuration of one function: every variable its capabilities require must be set (the
/// error names the first missing one), the rest take their defaults.
pub fn config_for(spec: &FunctionSpec, get: &dyn Fn(&str) -> Option<String>) -> Result<Config, CmpError> {
    for (k, required) in spec.env() {
        if required && get(k).filter(|v| !v.is_empty()).is_none() {
            return Err(CmpError::Config(format!("{k} is not set (needed by the {} function)", spec.binary)));
        }
    }
    Config::from_lookup(get)
}

/// What a function built at cold start.
pub struct Wiring {
    pub spec: &'static FunctionSpec,
    pub config: Config,
    clients: ServiceClients,
    kms: Option<Arc<dyn KeyService>>,
    #[cfg(feature = "dynamodb")]
    store: Option<Arc<DynamoStore>>,
    keys: Option<Arc<KeyRing>>,
    indexer: Option<Arc<BlindIndexer>>,
    validator: Option<Arc<EventValidator>>,
    audit: Option<Arc<dyn AuditLog>>,
}

fn undeclared(spec: &FunctionSpec, what: &str) -> CmpError {
    CmpError::Config(format!("the {} function declares no capability that needs {what}", spec.binary))
}

impl Wiring {
    /// Cold start of a function: JSON logs, configuration from the environment, the SDK clients
    /// its capabilities call, then [`Wiring::build`].
    pub async fn from_env(spec: &'static FunctionSpec) -> Result<Self, CmpError> {
        cmp_app::telemetry::init();
        let get = |k: &str| std::env::var(k).ok();
        let config = config_for(spec, &get)?;
        let sdk = cmp_aws::sdk::sdk_config().await;
        Wiring::build(spec, config, ServiceClients::for_spec(&sdk, spec)).await
    }

    /// Builds the adapters `spec`'s capabilities use, and nothing else. With
    /// [`Capability::BlindIndex`], unwraps the blind-index key (one KMS call per cold start).
    pub async fn build(spec: &'static FunctionSpec, config: Config, clients: ServiceClients) -> Result<Self, CmpError> {
        use Capability::*;
        let needs_store = spec.capabilities.iter().any(|c| {
            matches!(
                c,
                BlindIndex
                    | DeadLetters
                    | ProfilesRead
                    | ProfilesIndexRead
                    | ProfilesPut
                    | ProfilesUpdate
                    | ProfilesBatchDelete
                    | ProfilesScan
                    | CustomerKeysCreate
                    | CustomerKeysUnwrap
                    | CustomerKeysShred
                    | PseudonymKeys
            )
        });
        let needs_kms = spec.uses(Service::Kms);
        let needs_audit = spec.has(AuditAppend) || spec.has(AuditRead);
        #[cfg(feature = "kms")]
        let kms: Option<Arc<dyn KeyService>> = match (needs_kms, &clients.kms) {
            (false, _) => None,
            (true, Some(c)) => Some(Arc::new(KmsKeyService::new(c.clone(), config.kms_key_id.clone()))),
            (true, None) => return Err(CmpError::Config("no KMS client for a function that uses KMS".into())),
        };
        #[cfg(not(feature = "kms"))]
        let kms: Option<Arc<dyn KeyService>> = match needs_kms {
            false => None,
            true => return Err(CmpError::Config("this build has no KMS adapter (feature `kms`)".into())),
        };
        #[cfg(not(feature = "dynamodb"))]
        if needs_store || needs_audit {
            return Err(CmpError::Config("this build has no DynamoDB adapter (feature `dynamodb`)".into()));
        }
        #[cfg(feature = "dynamodb")]
        let audit_log = match (needs_audit, &clients.dynamodb) {
            (false, _) => None,
            (true, Some(db)) => {
                Some(DynamoAuditLog::new(db.clone(), config.require_audit_table()?, config.audit_retention_days))
            }
            (true, None) => return Err(CmpError::Config("no DynamoDB client for the audit trail".into())),
        };
        #[cfg(feature = "dynamodb")]
        let store = match (needs_store, &clients.dynamodb) {
            (false, _) => None,
            (true, Some(db)) => {
                let s = DynamoStore::new(db.clone(), config.profiles_table.clone(), config.keys_table.clone());
                Some(Arc::new(match &audit_log {
                    Some(a) => s.with_audit(a.clone()),
                    None => s,
                }))
            }
            (true, None) => return Err(CmpError::Config("no DynamoDB client for the profile store".into())),
        };
        #[cfg(feature = "dynamodb")]
        let keys = match (&kms, &store) {
            (Some(k), Some(s))
                if spec.has(CustomerKeysCreate) || spec.has(CustomerKeysUnwrap) || spec.has(PseudonymKeys) =>
            {
                Some(Arc::new(KeyRing::new(k.clone(), s.clone(), config.key_cache)))
            }
            _ => None,
        };
        #[cfg(not(feature = "dynamodb"))]
        let (keys, indexer, audit): (
            Option<Arc<KeyRing>>,
            Option<Arc<BlindIndexer>>,
            Option<Arc<dyn AuditLog>>,
        ) = (None, None, None);
        #[cfg(feature = "dynamodb")]
        let indexer = match (spec.has(BlindIndex), &kms, &store) {
            (false, _, _) => None,
            (true, Some(k), Some(s)) => Some(Arc::new(BlindIndexer::load(k.as_ref(), s.as_ref()).await?)),
            (true, _, _) => return Err(CmpError::Config("the blind index needs KMS and the keys table".into())),
        };
        let validator = if spec.has(EventSchemas) {
            Some(Arc::new(EventValidator::new().map_err(CmpError::Config)?))
        } else {
            None
        };
        #[cfg(feature = "dynamodb")]
        let audit = audit_log.map(|a| Arc::new(a) as Arc<dyn AuditLog>);
        Ok(Wiring {
            spec,
            config,
            clients,
            kms,
            #[cfg(feature = "dynamodb")]
            store,
            keys,
            indexer,
            validator,
            audit,
        })
    }

    #[cfg(feature = "dynamodb")]
    pub fn dynamodb(&self) -> Result<aws_sdk_dynamodb::Client, CmpError> {
        self.clients.dynamodb.clone().ok_or_else(|| undeclared(self.spec, "DynamoDB"))
    }
    #[cfg(feature = "kinesis")]
    pub fn kinesis(&self) -> Result<aws_sdk_kinesis::Client, CmpError> {
        self.clients.kinesis.clone().ok_or_else(|| undeclared(self.spec, "Kinesis"))
    }
    #[cfg(feature = "s3")]
    pub fn s3(&self) -> Result<aws_sdk_s3::Client, CmpError> {
        self.clients.s3.clone().ok_or_else(|| undeclared(self.spec, "S3"))
    }
    #[cfg(feature = "sqs")]
    pub fn sqs(&self) -> Result<aws_sdk_sqs::Client, CmpError> {
        self.clients.sqs.clone().ok_or_else(|| undeclared(self.spec, "SQS"))
    }
    pub fn kms(&self) -> Result<Arc<dyn KeyService>, CmpError> {
        self.kms.clone().ok_or_else(|| undeclared(self.spec, "KMS"))
    }
    #[cfg(feature = "dynamodb")]
    pub fn store(&self) -> Result<Arc<DynamoStore>, CmpError> {
        self.store.clone().ok_or_else(|| undeclared(self.spec, "the profile store"))
    }
    pub fn keys(&self) -> Result<Arc<KeyRing>, CmpError> {
        self.keys.clone().ok_or_else(|| undeclared(self.spec, "customer data keys"))
    }
    pub fn indexer(&self) -> Result<Arc<BlindIndexer>, CmpError> {
        self.indexer.clone().ok_or_else(|| undeclared(self.spec, "the blind index"))
    }
    pub fn validator(&self) -> Result<Arc<EventValidator>, CmpError> {
        self.validator.clone().ok_or_else(|| undeclared(self.spec, "the event schemas"))
    }
    pub fn audit(&self) -> Result<Arc<dyn AuditLog>, CmpError> {
        self.audit.clone().ok_or_else(|| undeclared(self.spec, "the audit trail"))
    }

    /// The ports of the case services: the cases table (`CASES_TABLE`) and the outbound stream
    /// (`OUTBOUND_STREAM`) for notification requests.
    #[cfg(all(feature = "dynamodb", feature = "kinesis"))]
    pub fn case_ports(&self) -> Result<cmp_app::cases::service::CasePorts, CmpError> {
        let table = self.config.cases_table.clone().ok_or_else(|| CmpError::Config("CASES_TABLE is not set".into()))?;
        let stream =
            self.config.outbound_stream.clone().ok_or_else(|| CmpError::Config("OUTBOUND_STREAM is not set".into()))?;
        let store = self.store()?;
        Ok(cmp_app::cases::service::CasePorts {
            index: store.clone(),
            cases: Arc::new(cmp_aws::dynamo::cases::DynamoCases::new(self.dynamodb()?, table)),
            profiles: store.clone(),
            privacy: store,
            keys: self.keys()?,
            audit: self.audit()?,
            notify: Arc::new(cmp_aws::kinesis::KinesisSink::new(self.kinesis()?, stream)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn what_a_function_requires_is_checked_for_that_function() {
        let merge: HashMap<&str, &str> =
            [("PROFILES_TABLE", "p"), ("AUDIT_TABLE", "a"), ("KMS_KEY_ID", "arn:kms"), ("INBOUND_STREAM", "s")].into();
        let e = config_for(&capability::MERGE, &|k| merge.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(e.to_string().contains("KEYS_TABLE"), "{e}");
        // the audit export reads no profile table, key table or KMS key
        let audit_export: HashMap<&str, &str> = [("AUDIT_BUCKET", "b")].into();
        config_for(&capability::AUDIT_EXPORT, &|k| audit_export.get(k).map(|v| v.to_string())).unwrap();
    }
}
