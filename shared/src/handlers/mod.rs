//! Thin adapters from Lambda trigger events to the use cases, and the cold-start wiring shared by
//! the functions. `functions/*/src/main.rs` build a [`Wiring`] once and hand each invocation to a
//! handler here; the local stack (`cmpctl dev`) calls the very same handlers.
pub mod api;
pub mod ingest;
pub mod merge;

use crate::aws::Clients;
use crate::config::Config;
use crate::crypto::kms::KmsKeyService;
use crate::crypto::{BlindIndexer, KeyRing, KeyService};
use crate::error::CmpError;
use crate::schema::EventValidator;
use crate::store::dynamo::DynamoStore;
use std::sync::Arc;

/// Everything a function builds at cold start.
pub struct Wiring {
    pub config: Config,
    pub clients: Clients,
    pub kms: Arc<dyn KeyService>,
    pub store: Arc<DynamoStore>,
    pub keys: Arc<KeyRing>,
    pub indexer: Arc<BlindIndexer>,
    pub validator: Arc<EventValidator>,
}

impl Wiring {
    /// Builds the adapters and unwraps the blind-index key (one KMS call per cold start).
    pub async fn new(config: Config, clients: Clients) -> Result<Self, CmpError> {
        let kms: Arc<dyn KeyService> = Arc::new(KmsKeyService::new(
            clients.kms.clone(),
            config.kms_key_id.clone(),
        ));
        let store = Arc::new(DynamoStore::new(
            clients.dynamodb.clone(),
            config.profiles_table.clone(),
            config.keys_table.clone(),
        ));
        let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), config.key_cache));
        let indexer = Arc::new(BlindIndexer::load(kms.as_ref(), store.as_ref()).await?);
        let validator = Arc::new(EventValidator::new().map_err(CmpError::Config)?);
        Ok(Wiring {
            config,
            clients,
            kms,
            store,
            keys,
            indexer,
            validator,
        })
    }
}
