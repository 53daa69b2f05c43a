//! Thin adapters from Lambda trigger events to the use cases, and the cold-start wiring shared by
//! the functions. `functions/*/src/main.rs` build a [`Wiring`] once and hand each invocation to a
//! handler here; the local stack (`cmpctl dev`) calls the very same handlers.
pub mod api;
pub mod audit_export;
pub mod compensate;
pub mod consent;
pub mod export;
pub mod import;
pub mod ingest;
pub mod merge;
pub mod publish;
pub mod stream;

use crate::audit::AuditLog;
use crate::authz::{Action, Denial, Principal};
use crate::aws::Clients;
use crate::config::Config;
use crate::crypto::kms::KmsKeyService;
use crate::crypto::{BlindIndexer, KeyRing, KeyService};
use crate::error::CmpError;
use crate::http::ApiError;
use crate::schema::EventValidator;
use crate::store::audit_dynamo::DynamoAuditLog;
use crate::store::dynamo::DynamoStore;
use lambda_http::{Request, RequestExt};
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
    pub audit: Arc<dyn AuditLog>,
}

impl Wiring {
    /// The ports of the case services: the cases table (`CASES_TABLE`) and the outbound stream
    /// (`OUTBOUND_STREAM`) for notification requests.
    pub fn case_ports(&self) -> Result<crate::cases::service::CasePorts, CmpError> {
        let table = self.config.cases_table.clone().ok_or_else(|| CmpError::Config("CASES_TABLE is not set".into()))?;
        let stream =
            self.config.outbound_stream.clone().ok_or_else(|| CmpError::Config("OUTBOUND_STREAM is not set".into()))?;
        Ok(crate::cases::service::CasePorts {
            index: self.store.clone(),
            cases: Arc::new(crate::store::cases_dynamo::DynamoCases::new(self.clients.dynamodb.clone(), table)),
            profiles: self.store.clone(),
            privacy: self.store.clone(),
            keys: self.keys.clone(),
            audit: self.audit.clone(),
            notify: Arc::new(crate::ingest::KinesisSink::new(self.clients.kinesis.clone(), stream)),
        })
    }

    /// Cold start of a function: JSON logs, configuration from the environment, SDK clients from
    /// the standard AWS environment, then [`Wiring::new`].
    pub async fn from_env() -> Result<Self, CmpError> {
        crate::telemetry::init();
        let config = Config::from_env()?;
        let clients = Clients::new(&crate::aws::sdk_config().await);
        Wiring::new(config, clients).await
    }

    /// Builds the adapters and unwraps the blind-index key (one KMS call per cold start).
    pub async fn new(config: Config, clients: Clients) -> Result<Self, CmpError> {
        let kms: Arc<dyn KeyService> = Arc::new(KmsKeyService::new(clients.kms.clone(), config.kms_key_id.clone()));
        let audit_log =
            DynamoAuditLog::new(clients.dynamodb.clone(), config.require_audit_table()?, config.audit_retention_days);
        let store = Arc::new(
            DynamoStore::new(clients.dynamodb.clone(), config.profiles_table.clone(), config.keys_table.clone())
                .with_audit(audit_log.clone()),
        );
        let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), config.key_cache));
        let indexer = Arc::new(BlindIndexer::load(kms.as_ref(), store.as_ref()).await?);
        let validator = Arc::new(EventValidator::new().map_err(CmpError::Config)?);
        let audit: Arc<dyn AuditLog> = Arc::new(audit_log);
        Ok(Wiring { config, clients, kms, store, keys, indexer, validator, audit })
    }
}

/// The caller, from the JWT claims API Gateway's authorizer verified and put in the request
/// context. Nothing the caller sends directly (headers, body) is trusted for identity.
pub fn principal(req: &Request) -> Result<Principal, ApiError> {
    use lambda_http::request::RequestContext;
    let claims = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|j| {
            serde_json::Value::Object(
                j.claims.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
            )
        }),
        _ => None,
    };
    let claims = claims.ok_or_else(|| ApiError::new(401, "unauthenticated", "a bearer token is required"))?;
    Principal::from_claims(&claims).map_err(denial)
}

/// Maps an authorisation refusal to its 403 and stable code.
pub fn denial(d: Denial) -> ApiError {
    match d {
        Denial::NoRole => ApiError::new(403, "no_role", "the token carries no role of this platform"),
        Denial::Forbidden => ApiError::new(403, "forbidden", "your role may not do this"),
        Denial::MfaRequired => ApiError::new(
            403,
            "mfa_required",
            "this action needs a token from a sign-in with multi-factor authentication",
        ),
        Denial::NotYourProfile => {
            ApiError::new(403, "not_your_profile", "a customer may only act on their own profile")
        }
    }
}

pub fn denial_code(d: Denial) -> &'static str {
    denial(d).code
}

/// The purpose of the access, from `X-Purpose`, or the action's default.
pub fn purpose(req: &Request, action: Action) -> Result<String, ApiError> {
    match req.headers().get("x-purpose") {
        None => Ok(action.default_purpose().to_owned()),
        Some(v) => {
            let p = v.to_str().unwrap_or_default();
            let ok = (3..=64).contains(&p.len())
                && p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if ok {
                Ok(p.to_owned())
            } else {
                Err(ApiError::bad_request(
                    "invalid_purpose",
                    "X-Purpose is 3 to 64 of a-z, 0-9 and _, starting with a letter",
                ))
            }
        }
    }
}

/// Appends an audit record for a request; without it nothing is answered (`503 audit_unavailable`).
pub async fn write_audit(
    log: &dyn AuditLog,
    entry: crate::audit::AuditEntry,
    consequence: &str,
) -> Result<(), ApiError> {
    crate::audit::record(log, entry).await.map(|_| ()).map_err(|e| {
        tracing::error!(error_code = e.code(), "audit write failed");
        ApiError::unavailable("audit_unavailable", format!("the audit trail cannot be written; {consequence}"))
    })
}
