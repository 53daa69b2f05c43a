//! The read API routes (API Gateway HTTP API, payload 2.0) → [`cmp_app::api::ReadApi`], behind
//! authentication (claims verified by API Gateway), the permission table, MFA, field-level views and
//! the audit trail.
use super::{denial, principal, purpose, Wiring};
use crate::http::{error_response, json_response, request_id, route_key, ApiError};
use chrono::{DateTime, Utc};
use cmp_app::api::{decode_cursor, Lookup, ReadApi};
use cmp_app::audit::{self, chain_of, AuditEntry, AuditLog};
use cmp_app::authz::{allowed, Action, Denial, Principal};
use cmp_app::cases::service::{Actor, CaseDesk, CasePatch, CasePorts, PatchError};
use cmp_app::cases::{CaseFilter, CaseStatus};
use cmp_app::consent::{
    purpose_name, Appended, ConsentLedger, ConsentRecord, LedgerError, LegalBasis, Purpose, Resolved, SubjectRef,
};
use cmp_app::domain::event::Channel;
use cmp_app::domain::event::TimelineKind;
use cmp_app::domain::pii::{Email, LoyaltyNumber, PhoneE164};
use cmp_app::domain::CustomerId;
use cmp_app::export::analytics::AnalyticsSnapshot;
use cmp_app::export::Exporter;
use cmp_app::rights::{ExportStore, Rights, RightsError};
use cmp_app::store::{LegalHold, PrivacyStore};
use cmp_aws::s3::S3Exports;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub struct ApiHandler {
    api: Arc<ReadApi>,
    audit: Arc<dyn AuditLog>,
    ledger: Arc<ConsentLedger>,
    rights: Arc<Rights>,
    privacy: Arc<dyn PrivacyStore>,
    exporter: Arc<Exporter>,
    snapshot: Arc<AnalyticsSnapshot>,
    export_k: usize,
    desk: Option<Arc<CaseDesk>>,
    identity: Arc<cmp_app::identity::Identity>,
    /// The identity model's thresholds (upper, lower), for the review report.
    match_thresholds: (f64, f64),
}

/// `POST /v1/profiles/{id}/merge`: the other profile is merged into this one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    other: CustomerId,
    reason: String,
}

/// `POST /v1/profiles/{id}/unmerge`: `{id}` is the merged-away profile (then `member` is not
/// needed) or the survivor (then `member` names which merge to undo).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnmergeBody {
    #[serde(default)]
    member: Option<CustomerId>,
    reason: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Merge,
    KeepApart,
}

/// `POST /v1/matches/{id}/decision`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: Verdict,
    reason: String,
}

fn reason_ok(r: &str) -> Result<(), ApiError> {
    if r.trim().is_empty() || r.chars().count() > 500 {
        return Err(ApiError::bad_request("invalid_reason", "a reason is 1 to 500 characters"));
    }
    Ok(())
}

fn identity_error(e: cmp_app::identity::IdentityError) -> ApiError {
    use cmp_app::identity::IdentityError as E;
    match e {
        E::NotFound => no_profile(),
        E::Erased => gone(),
        E::KeptApart | E::AlreadyDecided(_) | E::NotActive(_) => ApiError::new(409, e.code(), e.to_string()),
        E::SameProfile | E::NotMerged => ApiError::bad_request(e.code(), e.to_string()),
        E::Backend(e) => internal(e),
    }
}

/// Which export `POST /v1/exports` runs.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Dataset {
    #[default]
    Partners,
    Analytics,
}

/// `POST /v1/exports`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportBody {
    #[serde(default)]
    dataset: Dataset,
    #[serde(default)]
    partners: Option<Vec<String>>,
    #[serde(default)]
    k: Option<usize>,
}

/// `POST /v1/profiles/{id}/consents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    purpose: Purpose,
    granted: bool,
    jurisdiction: String,
    channel: Channel,
    #[serde(default)]
    legal_basis: Option<LegalBasis>,
    notice_version: String,
    #[serde(default)]
    acted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum HoldKind {
    FraudInvestigation,
    CompensationCase,
    Litigation,
    RegulatorInquiry,
}

impl HoldKind {
    fn as_str(self) -> &'static str {
        match self {
            HoldKind::FraudInvestigation => "fraud_investigation",
            HoldKind::CompensationCase => "compensation_case",
            HoldKind::Litigation => "litigation",
            HoldKind::RegulatorInquiry => "regulator_inquiry",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum HoldAction {
    Place,
    Release,
}

/// `POST /v1/profiles/{id}/legal-holds`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    kind: HoldKind,
    action: HoldAction,
    #[serde(default)]
    reference: Option<String>,
}

fn gone() -> ApiError {
    ApiError::new(410, "profile_erased", "this customer was erased at their request")
}

fn no_profile() -> ApiError {
    ApiError::not_found("profile_not_found", "no profile with this id")
}

const MAX_LIMIT: usize = 100;
const DEFAULT_LIMIT: usize = 25;

fn customer_id(req: &Request) -> Result<CustomerId, ApiError> {
    let raw = req.path_parameters_ref().and_then(|p| p.first("id").map(str::to_owned)).unwrap_or_default();
    raw.parse().map_err(|_| {
        ApiError::bad_request("invalid_customer_id", "a customer id is `cus_` followed by 32 lowercase hex digits")
    })
}

/// The customer a request is about, before anything else of it is checked: the `{id}` of the
/// `/v1/profiles/{id}...` routes, the `customer` of `GET /v1/audit`; `None` when there is none or it
/// is not a well-formed customer id.
fn customer_concerned(req: &Request, route: &str) -> Option<CustomerId> {
    if route.starts_with("GET /v1/audit") {
        return req.query_string_parameters_ref().and_then(|q| q.first("customer")).and_then(|c| c.parse().ok());
    }
    if route.contains("/v1/profiles/{id}") {
        return req.path_parameters_ref().and_then(|p| p.first("id")).and_then(|c| c.parse().ok());
    }
    None
}

/// The query parameters, refusing any not in `allowed` and any given twice.
fn query(req: &Request, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let params = req.query_string_parameters();
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in params.iter() {
        if !allowed.contains(&k) {
            return Err(ApiError::bad_request("invalid_query", format!("unknown query parameter `{k}`")));
        }
        if out.iter().any(|(x, _)| x == k) {
            return Err(ApiError::bad_request("invalid_query", format!("query parameter `{k}` given twice")));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

fn case_id_param(req: &Request) -> Result<String, ApiError> {
    let raw = req.path_parameters_ref().and_then(|p| p.first("id").map(str::to_owned)).unwrap_or_default();
    if cmp_app::cases::is_case_id(&raw) {
        Ok(raw)
    } else {
        Err(ApiError::bad_request("invalid_case_id", "a case id is `case_` followed by 24 lowercase hex digits"))
    }
}

/// Largest assessment request accepted (a journey of up to 8 legs is far smaller).
const MAX_ASSESSMENT_BYTES: usize = 65_536;
/// Largest body of the small privacy requests (consent change, legal hold).
const MAX_SMALL_BODY: usize = 8_192;

/// Parses `POST /v1/compensation/assessments`.
fn assessment_request(req: &Request) -> Result<cmp_app::compensation::AssessmentRequest, ApiError> {
    json_body(req, MAX_ASSESSMENT_BYTES, "the assessment request does not match its schema")
}

/// Parses a JSON body: JSON only, bounded, unknown fields refused, errors located by JSON pointer.
fn json_body<T: serde::de::DeserializeOwned>(req: &Request, max: usize, what: &str) -> Result<T, ApiError> {
    let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !ct.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(415, "unsupported_media_type", "send application/json"));
    }
    let body = crate::http::body_bytes(req);
    if body.len() > max {
        return Err(ApiError::new(413, "payload_too_large", format!("at most {max} bytes")));
    }
    if serde_json::from_slice::<serde_json::Value>(body).is_err() {
        return Err(ApiError::bad_request("invalid_json", "the body is not valid JSON"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let pointer = json_pointer(&e.path().to_string());
        let message = e.inner().to_string();
        let message = message.split(" at line ").next().unwrap_or_default().to_owned();
        ApiError::bad_request("validation_failed", what).with_details(vec![crate::http::ItemError {
            index: 0,
            event_id: None,
            code: "schema_violation".into(),
            path: pointer,
            message,
        }])
    })
}

/// `journey.legs[0].origin` → `/journey/legs/0/origin`.
fn json_pointer(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').map(|(n, r)| (n, Some(r))).unwrap_or((part, None));
        if !name.is_empty() {
            out.push('/');
            out.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        if let Some(r) = rest {
            for idx in r.split('[') {
                out.push('/');
                out.push_str(idx.trim_end_matches(']'));
            }
        }
    }
    out
}

fn internal(e: cmp_app::CmpError) -> ApiError {
    if !matches!(e, cmp_app::CmpError::Erased) {
        // SDK and store messages name tables, keys and codes, never item values
        tracing::error!(error_code = e.code(), error = %e, "backend error");
    }
    ApiError::from(&e)
}

/// Role-level check (permission table and MFA), before any input is looked at.
fn role_check(p: &Principal, action: Action) -> Result<(), Denial> {
    if !allowed(p.role, action) {
        return Err(Denial::Forbidden);
    }
    if action.requires_mfa_for(p.role) && !p.mfa {
        return Err(Denial::MfaRequired);
    }
    Ok(())
}

fn rights_code(e: &RightsError) -> &'static str {
    match e {
        RightsError::NotFound => "profile_not_found",
        RightsError::Erased => "profile_erased",
        RightsError::Held { .. } => "legal_hold",
        RightsError::Backend(e) => e.code(),
    }
}

fn rights_error(e: RightsError) -> ApiError {
    match e {
        RightsError::NotFound => no_profile(),
        RightsError::Erased => gone(),
        RightsError::Held { request, holds } => ApiError::new(
            409,
            "legal_hold",
            format!("legal holds stop the erasure; request {} is deferred until they are released", request.id),
        )
        .with_details(
            holds
                .iter()
                .enumerate()
                .map(|(i, h)| crate::http::ItemError {
                    index: i,
                    event_id: None,
                    code: "legal_hold".into(),
                    path: format!("/holds/{i}"),
                    message: format!("{} {} placed {}", h.kind, h.reference, h.placed_at.to_rfc3339()),
                })
                .collect(),
        ),
        RightsError::Backend(e) => internal(e),
    }
}

impl ApiHandler {
    pub fn new(w: &Wiring) -> Result<Self, cmp_app::CmpError> {
        let bucket = |v: &Option<String>, name: &str| {
            v.clone().ok_or_else(|| cmp_app::CmpError::Config(format!("{name} is not set")))
        };
        let exports: Arc<dyn ExportStore> =
            Arc::new(S3Exports::new(w.s3()?, bucket(&w.config.privacy_bucket, "PRIVACY_BUCKET")?));
        let partner_exports: Arc<dyn ExportStore> =
            Arc::new(S3Exports::new(w.s3()?, bucket(&w.config.exports_bucket, "EXPORTS_BUCKET")?));
        let analytics: Arc<dyn ExportStore> =
            Arc::new(S3Exports::new(w.s3()?, bucket(&w.config.analytics_bucket, "ANALYTICS_BUCKET")?));
        Ok(Self::from_store(
            w.store()?,
            w.kms()?,
            w.keys()?,
            w.indexer()?,
            w.audit()?,
            exports,
            partner_exports,
            analytics,
            w.config.export_k,
        )
        .with_cases(w.case_ports()?))
    }

    /// The compensation case routes (`/v1/cases`).
    pub fn with_cases(mut self, ports: CasePorts) -> Self {
        self.rights = Arc::new((*self.rights).clone().with_cases(ports.cases.clone()));
        if let Some(identity) = Arc::get_mut(&mut self.identity) {
            identity.set_cases(ports.cases.clone());
        }
        self.desk = Some(Arc::new(CaseDesk::new(ports)));
        self
    }

    fn desk(&self) -> Result<&CaseDesk, ApiError> {
        self.desk.as_deref().ok_or_else(|| ApiError::new(503, "cases_unavailable", "case management is not configured"))
    }

    /// Builds the handler over one store that implements every port (DynamoDB, or the in-memory
    /// fake in tests).
    #[allow(clippy::too_many_arguments)]
    pub fn from_store<S>(
        store: Arc<S>,
        kms: Arc<dyn cmp_app::crypto::KeyService>,
        keys: Arc<cmp_app::crypto::KeyRing>,
        indexer: Arc<cmp_app::crypto::BlindIndexer>,
        audit: Arc<dyn AuditLog>,
        exports: Arc<dyn ExportStore>,
        partner_exports: Arc<dyn ExportStore>,
        analytics: Arc<dyn ExportStore>,
        export_k: usize,
    ) -> Self
    where
        S: cmp_app::store::ProfileStore
            + PrivacyStore
            + cmp_app::store::IdentityStore
            + cmp_app::export::ExportScan
            + cmp_app::crypto::WrappedKeyStore
            + 'static,
    {
        let api = Arc::new(ReadApi::new(store.clone(), keys.clone(), indexer.clone()));
        let ledger = Arc::new(ConsentLedger::new(store.clone(), store.clone(), indexer));
        let rights = Arc::new(
            Rights::new(
                store.clone(),
                store.clone(),
                keys.clone(),
                api.clone(),
                ledger.clone(),
                audit.clone(),
                exports,
            )
            .with_merges(store.clone()),
        );
        let exporter =
            Arc::new(Exporter::new(store.clone(), keys.clone(), kms.clone(), store.clone(), partner_exports));
        let snapshot = Arc::new(AnalyticsSnapshot::new(store.clone(), keys.clone(), kms, store.clone(), analytics));
        let identity = Arc::new(cmp_app::identity::Identity::new(store.clone(), store.clone(), keys.clone()));
        let t = &cmp_app::matching::engine().model().thresholds;
        ApiHandler {
            api,
            audit,
            ledger,
            rights,
            privacy: store,
            exporter,
            snapshot,
            export_k,
            desk: None,
            identity,
            match_thresholds: (t.upper, t.lower),
        }
    }

    /// The active profile a privacy route is about (merge redirects followed).
    async fn active(&self, id: &CustomerId) -> Result<CustomerId, ApiError> {
        match self.ledger.resolve(&SubjectRef::Id(id.clone())).await.map_err(internal)? {
            Resolved::Found(id) => Ok(id),
            Resolved::Erased(_) => Err(gone()),
            Resolved::Unknown => Err(no_profile()),
        }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let rid = request_id(&req);
        match self.route(&req, &rid).await {
            Ok(resp) => resp,
            Err(e) => {
                if e.status >= 500 {
                    tracing::error!(request_id = %rid, code = e.code, "request failed");
                } else {
                    tracing::info!(request_id = %rid, code = e.code, status = e.status, "request rejected");
                }
                error_response(&e, &rid)
            }
        }
    }

    /// Writes the audit record; without it, nothing is answered.
    async fn audit(&self, entry: AuditEntry) -> Result<(), ApiError> {
        super::write_audit(self.audit.as_ref(), entry, "nothing was read").await
    }

    /// Authorises `action` on `customer` for `p`, auditing a refusal.
    async fn authorise(
        &self,
        p: &Principal,
        action: Action,
        customer: Option<&CustomerId>,
        purpose: &str,
        rid: &str,
    ) -> Result<AuditEntry, ApiError> {
        let entry = AuditEntry::for_request(p, action, customer, purpose, rid);
        if let Err(d) = p.may(action, customer) {
            let mut denied = entry;
            denied.outcome = format!("denied:{}", super::denial_code(d));
            self.audit(denied).await?;
            return Err(denial(d));
        }
        Ok(entry)
    }

    async fn route(&self, req: &Request, rid: &str) -> Result<Response<Body>, ApiError> {
        let route = route_key(req);
        if route == "GET /v1/health" {
            return Ok(json_response(200, &json!({"status": "ok"})));
        }
        let action = match cmp_app::authz::action_for_route(&route) {
            Some(a) if a != Action::IngestEvents => a,
            _ => return Err(ApiError::not_found("route_not_found", "no such route")),
        };
        let p = match principal(req) {
            Ok(p) => p,
            Err(e) => {
                // a verified token without a role of this platform, about a customer: on their chain
                if let (Some(sub), Some(about)) = (super::claimed_subject(req), customer_concerned(req, &route)) {
                    self.audit(AuditEntry {
                        at: chrono::Utc::now(),
                        actor: sub,
                        role: "none".into(),
                        action: action.as_str().into(),
                        customer_id: Some(about.to_string()),
                        fields: vec![],
                        purpose: action.default_purpose().into(),
                        request_id: rid.into(),
                        outcome: format!("denied:{}", e.code),
                    })
                    .await?;
                }
                return Err(e);
            }
        };
        if let Err(d) = role_check(&p, action) {
            // a refusal about one customer goes on that customer's chain (their audit view and
            // access export); one about no customer on the day's chain
            let about = customer_concerned(req, &route);
            let mut e = AuditEntry::for_request(&p, action, about.as_ref(), action.default_purpose(), rid);
            e.outcome = format!("denied:{}", super::denial_code(d));
            self.audit(e).await?;
            return Err(denial(d));
        }
        let purpose = purpose(req, action)?;
        match action {
            Action::ReadProfile => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let mut entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                match self.api.profile_as(&id, p.role).await.map_err(internal)? {
                    Some((view, fields)) => {
                        entry.fields = fields.into_iter().map(str::to_owned).collect();
                        self.audit(entry).await?;
                        Ok(json_response(200, &view))
                    }
                    None => {
                        entry.outcome = "not_found".into();
                        self.audit(entry).await?;
                        Err(ApiError::not_found("profile_not_found", "no profile with this id"))
                    }
                }
            }
            Action::ReadTimeline => {
                let id = customer_id(req)?;
                let mut kind = None;
                let mut limit = DEFAULT_LIMIT;
                let mut after = None;
                for (k, v) in query(req, &["kind", "limit", "cursor"])? {
                    match k.as_str() {
                        "kind" => {
                            kind = Some(
                                TimelineKind::parse(&v)
                                    .ok_or_else(|| ApiError::bad_request("invalid_query", "unknown timeline kind"))?,
                            )
                        }
                        "limit" => {
                            limit = v
                                .parse::<usize>()
                                .ok()
                                .filter(|l| (1..=MAX_LIMIT).contains(l))
                                .ok_or_else(|| ApiError::bad_request("invalid_query", "limit is 1 to 100"))?
                        }
                        _ => {
                            after = Some(decode_cursor(&v).ok_or_else(|| {
                                ApiError::bad_request("invalid_cursor", "the cursor is not one this API issued")
                            })?)
                        }
                    }
                }
                let mut entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                match self.api.timeline(&id, kind, limit, after.as_deref()).await.map_err(internal)? {
                    Some(page) => {
                        entry.fields = vec!["timeline".into()];
                        self.audit(entry).await?;
                        Ok(json_response(200, &page))
                    }
                    None => {
                        entry.outcome = "not_found".into();
                        self.audit(entry).await?;
                        Err(ApiError::not_found("profile_not_found", "no profile with this id"))
                    }
                }
            }
            Action::FindProfile => {
                let q = query(req, &["email", "phone", "loyalty"])?;
                let lookup = match q.as_slice() {
                    [(k, v)] => match k.as_str() {
                        "email" => Lookup::Email(
                            Email::parse(v).map_err(|e| ApiError::bad_request("invalid_email", e.to_string()))?,
                        ),
                        "phone" => Lookup::Phone(
                            PhoneE164::parse(v, None)
                                .map_err(|e| ApiError::bad_request("invalid_phone", e.to_string()))?,
                        ),
                        _ => Lookup::Loyalty(
                            LoyaltyNumber::parse(v)
                                .map_err(|e| ApiError::bad_request("invalid_loyalty_number", e.to_string()))?,
                        ),
                    },
                    _ => {
                        return Err(ApiError::bad_request(
                            "invalid_query",
                            "give exactly one of email, phone or loyalty",
                        ))
                    }
                };
                let id = self.api.find_id(&lookup).await.map_err(internal)?;
                let mut entry = self.authorise(&p, action, id.as_ref(), &purpose, rid).await?;
                let found = match &id {
                    None => None,
                    Some(id) => self.api.profile_as(id, p.role).await.map_err(internal)?,
                };
                match found {
                    Some((view, fields)) => {
                        entry.fields = fields.into_iter().map(str::to_owned).collect();
                        self.audit(entry).await?;
                        Ok(json_response(200, &json!({"items": [view]})))
                    }
                    None => {
                        entry.outcome = "not_found".into();
                        self.audit(entry).await?;
                        Ok(json_response(200, &json!({"items": []})))
                    }
                }
            }
            Action::ReadAudit => {
                let mut customer = None;
                let mut from: Option<DateTime<Utc>> = None;
                let mut to: Option<DateTime<Utc>> = None;
                for (k, v) in query(req, &["customer", "from", "to"])? {
                    let time = |v: &str| {
                        DateTime::parse_from_rfc3339(v).map(|t| t.to_utc()).map_err(|_| {
                            ApiError::bad_request("invalid_query", format!("`{k}` must be an RFC 3339 time"))
                        })
                    };
                    match k.as_str() {
                        "customer" => {
                            customer = Some(v.parse::<CustomerId>().map_err(|_| {
                                ApiError::bad_request(
                                    "invalid_customer_id",
                                    "a customer id is `cus_` followed by 32 lowercase hex digits",
                                )
                            })?)
                        }
                        "from" => from = Some(time(&v)?),
                        _ => to = Some(time(&v)?),
                    }
                }
                let customer =
                    customer.ok_or_else(|| ApiError::bad_request("invalid_query", "`customer` is required"))?;
                let entry = self.authorise(&p, action, Some(&customer), &purpose, rid).await?;
                let chain = chain_of(Some(&customer), Utc::now());
                let (records, head) = self.audit.chain(&chain).await.map_err(internal)?;
                let verification = audit::verify(&records, &head);
                self.audit(entry).await?;
                let items: Vec<_> = records
                    .iter()
                    .filter(|r| from.is_none_or(|f| r.entry.at >= f) && to.is_none_or(|t| r.entry.at <= t))
                    .collect();
                Ok(json_response(200, &json!({"customer": customer, "chain": verification, "items": items})))
            }
            Action::AssessCompensation => {
                query(req, &[])?;
                let request = assessment_request(req)?;
                let mut entry = self.authorise(&p, action, None, &purpose, rid).await?;
                match cmp_app::compensation::assess(&request) {
                    Ok(a) => {
                        entry.outcome = format!("allowed:{}", if a.eligible { "eligible" } else { "not_eligible" });
                        self.audit(entry).await?;
                        Ok(json_response(200, &a))
                    }
                    Err(e) => {
                        entry.outcome = format!("rejected:{}", e.code());
                        self.audit(entry).await?;
                        Err(ApiError::bad_request(e.code(), e.to_string()).with_details(vec![crate::http::ItemError {
                            index: 0,
                            event_id: None,
                            code: e.code().into(),
                            path: e.path().into(),
                            message: e.to_string(),
                        }]))
                    }
                }
            }
            Action::ReadConsents => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let mut entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                let id = self.active(&id).await?;
                let history = route.ends_with("/history");
                let body = if history {
                    json!({"customer_id": id, "items": self.ledger.history(&id).await.map_err(internal)?})
                } else {
                    json!({"customer_id": id, "purposes": self.ledger.state(&id).await.map_err(internal)?})
                };
                entry.fields = vec![if history { "consent_history".into() } else { "consents".into() }];
                self.audit(entry).await?;
                Ok(json_response(200, &body))
            }
            Action::ChangeConsent => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let body: ConsentBody = json_body(req, MAX_SMALL_BODY, "the consent change does not match its schema")?;
                let jurisdiction = cmp_app::domain::pii::CountryCode::parse(&body.jurisdiction)
                    .map_err(|e| ApiError::bad_request("invalid_country", e.to_string()))?;
                let notice_ok = (1..=64).contains(&body.notice_version.len())
                    && body.notice_version.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
                if !notice_ok {
                    return Err(ApiError::bad_request(
                        "invalid_notice_version",
                        "notice_version is 1 to 64 of A-Z, a-z, 0-9 and . _ : -",
                    ));
                }
                let now = Utc::now();
                let acted_at = body.acted_at.unwrap_or(now);
                if acted_at > now + chrono::Duration::minutes(5) {
                    return Err(ApiError::bad_request("acted_in_future", "acted_at cannot be in the future"));
                }
                let entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                let id = self.active(&id).await?;
                let record = ConsentRecord {
                    purpose: body.purpose,
                    granted: body.granted,
                    acted_at,
                    recorded_at: now,
                    jurisdiction: Some(jurisdiction.as_str().to_owned()),
                    channel: body.channel.as_str().to_owned(),
                    legal_basis: body.legal_basis.unwrap_or(LegalBasis::Consent).as_str().to_owned(),
                    notice_version: body.notice_version,
                    captured_by: if p.role == cmp_app::authz::Role::Customer {
                        "customer".into()
                    } else {
                        p.subject.clone()
                    },
                    event_id: cmp_app::domain::EventRef::new("/api/v1/consents", rid).to_string(),
                };
                let entry = AuditEntry {
                    customer_id: Some(id.to_string()),
                    fields: vec![format!("consent:{}", purpose_name(body.purpose))],
                    outcome: if body.granted { "granted".into() } else { "withdrawn".into() },
                    ..entry
                };
                match self.ledger.append(&id, record, entry).await {
                    Ok(Appended::Recorded { changed, decision }) => {
                        Ok(json_response(201, &json!({"customer_id": id, "changed": changed, "decision": decision})))
                    }
                    Ok(Appended::Duplicate) => Err(ApiError::new(409, "duplicate", "this change is recorded already")),
                    Err(LedgerError::Erased) => Err(gone()),
                    Err(LedgerError::NotFound) => Err(no_profile()),
                    Err(LedgerError::Backend(e)) => Err(internal(e)),
                }
            }
            Action::RequestAccess => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let mut entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                if req.method() == http::Method::GET {
                    let items = match self.rights.requests(&id).await {
                        Ok(items) => items,
                        Err(RightsError::NotFound) => return Err(no_profile()),
                        Err(e) => return Err(rights_error(e)),
                    };
                    entry.fields = vec!["data_subject_requests".into()];
                    self.audit(entry).await?;
                    return Ok(json_response(200, &json!({"customer_id": id, "items": items})));
                }
                let by = format!("{}:{}", p.role, p.subject);
                match self.rights.access(&id, &by).await {
                    Ok(export) => {
                        entry.fields = vec!["*".into()];
                        entry.outcome = "allowed:export_created".into();
                        self.audit(entry).await?;
                        Ok(json_response(201, &export))
                    }
                    Err(e) => {
                        entry.outcome = format!("failed:{}", rights_code(&e));
                        self.audit(entry).await?;
                        Err(rights_error(e))
                    }
                }
            }
            Action::EraseProfile => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let mut entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                match self.rights.erase(&id, entry.clone()).await {
                    Ok(receipt) => Ok(json_response(200, &receipt)),
                    Err(e) => {
                        entry.outcome = format!("refused:{}", rights_code(&e));
                        self.audit(entry).await?;
                        Err(rights_error(e))
                    }
                }
            }
            Action::ManageLegalHold => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let body: HoldBody = json_body(req, MAX_SMALL_BODY, "the legal hold does not match its schema")?;
                let reference = body.reference.unwrap_or_default();
                if reference.len() > 64
                    || !reference.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-/".contains(&b))
                {
                    return Err(ApiError::bad_request(
                        "invalid_reference",
                        "reference is at most 64 of A-Z, a-z, 0-9 and . _ : - / (a case or file number, no personal data)",
                    ));
                }
                let mut entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                let id = self.active(&id).await?;
                let kind = body.kind.as_str();
                let changed = match body.action {
                    HoldAction::Place => {
                        let hold = LegalHold {
                            kind: kind.into(),
                            reference,
                            placed_at: Utc::now(),
                            placed_by: format!("{}:{}", p.role, p.subject),
                        };
                        self.privacy.put_hold(&id, &hold).await.map_err(internal)?;
                        true
                    }
                    HoldAction::Release => self.privacy.release_hold(&id, kind).await.map_err(internal)?,
                };
                entry.fields = vec![format!("legal_hold:{kind}")];
                entry.outcome = format!(
                    "{}:{}",
                    if body.action == HoldAction::Place { "placed" } else { "released" },
                    if changed { "changed" } else { "unchanged" }
                );
                self.audit(entry).await?;
                let holds = self.privacy.holds(&id).await.map_err(internal)?;
                Ok(json_response(200, &json!({"customer_id": id, "holds": holds})))
            }
            Action::ReadInventory => {
                query(req, &[])?;
                let entry = self.authorise(&p, action, None, &purpose, rid).await?;
                self.audit(entry).await?;
                Ok(json_response(200, &cmp_app::inventory::inventory()))
            }
            Action::RunExport => {
                query(req, &[])?;
                let body: ExportBody = if crate::http::body_bytes(req).is_empty() {
                    ExportBody::default()
                } else {
                    json_body(req, MAX_SMALL_BODY, "the export request does not match its schema")?
                };
                if body.dataset == Dataset::Analytics {
                    if body.partners.is_some() || body.k.is_some() {
                        return Err(ApiError::bad_request(
                            "invalid_export_request",
                            "`partners` and `k` apply to partner exports, not to the analyst dataset",
                        ));
                    }
                    let mut entry = self.authorise(&p, action, None, &purpose, rid).await?;
                    let report = self.snapshot.run(Utc::now()).await.map_err(internal)?;
                    entry.fields = vec!["analytics_snapshot".into()];
                    entry.outcome = "allowed:exported".into();
                    self.audit(entry).await?;
                    return Ok(json_response(201, &json!({"dataset": "analytics", "snapshot": report})));
                }
                let mut partners: Vec<&'static cmp_app::export::Partner> = Vec::new();
                let ids = body
                    .partners
                    .unwrap_or_else(|| cmp_app::export::PARTNERS.iter().map(|p| p.id.to_owned()).collect());
                if ids.is_empty() {
                    return Err(ApiError::bad_request(
                        "invalid_partners",
                        "name at least one partner, or leave `partners` out for all",
                    ));
                }
                for id in ids {
                    let p = cmp_app::export::partner(&id).ok_or_else(|| {
                        ApiError::bad_request("unknown_partner", format!("no partner `{id}` is configured"))
                    })?;
                    if !partners.iter().any(|x| x.id == p.id) {
                        partners.push(p);
                    }
                }
                let k = body.k.unwrap_or(self.export_k);
                if !(1..=1000).contains(&k) {
                    return Err(ApiError::bad_request("invalid_k", "k is 1 to 1000"));
                }
                let mut entry = self.authorise(&p, action, None, &purpose, rid).await?;
                let reports = self.exporter.run(&partners, k, Utc::now()).await.map_err(internal)?;
                entry.fields = partners.iter().map(|p| format!("partner_export:{}", p.id)).collect();
                entry.outcome = "allowed:exported".into();
                self.audit(entry).await?;
                Ok(json_response(201, &json!({"dataset": "partners", "k": k, "reports": reports})))
            }
            Action::ReadCases if route == "GET /v1/cases" => {
                let params = query(req, &["flight", "date", "status", "queue"])?;
                let get = |k: &str| params.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
                let status = match get("status") {
                    Some(s) => Some(serde_json::from_value::<CaseStatus>(json!(s)).map_err(|_| {
                        ApiError::bad_request(
                            "invalid_query",
                            "status is open, in_progress, awaiting_customer, escalated or closed",
                        )
                    })?),
                    None => None,
                };
                let mut filter = CaseFilter { status, ..Default::default() };
                let own = p.role == cmp_app::authz::Role::Customer;
                if own {
                    if get("flight").is_some() || get("queue").is_some() || get("date").is_some() {
                        return Err(ApiError::bad_request(
                            "invalid_query",
                            "a customer lists their own cases (status only)",
                        ));
                    }
                    filter.customer = p.customer_id.clone();
                } else {
                    match (get("flight"), get("date"), get("queue")) {
                        (Some(f), Some(d), q) => {
                            let flight_ok = (3..=7).contains(&f.len())
                                && f.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                            let date = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                                .map_err(|_| ApiError::bad_request("invalid_query", "date is YYYY-MM-DD"))?;
                            if !flight_ok {
                                return Err(ApiError::bad_request(
                                    "invalid_query",
                                    "flight is a flight number like GA714",
                                ));
                            }
                            filter.flight_key = Some(cmp_app::cases::flight_key(&f, date));
                            filter.queue = q;
                        }
                        (None, None, Some(q)) => filter.queue = Some(q),
                        _ => {
                            return Err(ApiError::bad_request(
                                "invalid_query",
                                "give flight and date, or queue (with status if you like)",
                            ))
                        }
                    }
                    if let Some(q) = &filter.queue {
                        if !cmp_app::cases::QUEUES.contains(&q.as_str()) {
                            return Err(ApiError::bad_request(
                                "invalid_query",
                                format!("queue is one of {}", cmp_app::cases::QUEUES.join(", ")),
                            ));
                        }
                    }
                }
                let mut entry = self.authorise(&p, action, filter.customer.as_ref(), &purpose, rid).await?;
                let cases = self.desk()?.list(&filter, 500).await.map_err(internal)?;
                entry.fields = vec!["cases".into()];
                self.audit(entry).await?;
                let items: Vec<_> = cases.iter().map(|c| cmp_app::cases::view(c, !own, vec![])).collect();
                Ok(json_response(200, &json!({"count": items.len(), "items": items})))
            }
            Action::ReadCases => {
                let id = case_id_param(req)?;
                query(req, &[])?;
                let desk = self.desk()?;
                let Some(case) = desk.get(&id).await.map_err(internal)? else {
                    let mut entry = self.authorise(&p, action, p.customer_id.as_ref(), &purpose, rid).await?;
                    entry.outcome = "not_found".into();
                    self.audit(entry).await?;
                    return Err(ApiError::not_found("case_not_found", "no case with this id"));
                };
                let mut entry = self.authorise(&p, action, Some(&case.customer_id), &purpose, rid).await?;
                let staff = p.role != cmp_app::authz::Role::Customer;
                let notes = if staff { desk.notes(&case).await.map_err(internal)? } else { vec![] };
                entry.fields = if staff { vec!["case".into(), "case_notes".into()] } else { vec!["case".into()] };
                self.audit(entry).await?;
                Ok(json_response(200, &cmp_app::cases::view(&case, staff, notes)))
            }
            Action::ChangeCase => {
                let id = case_id_param(req)?;
                query(req, &[])?;
                let patch: CasePatch = json_body(req, MAX_SMALL_BODY, "the case change does not match its schema")?;
                let desk = self.desk()?;
                let Some(case) = desk.get(&id).await.map_err(internal)? else {
                    return Err(ApiError::not_found("case_not_found", "no case with this id"));
                };
                let mut entry = self.authorise(&p, action, Some(&case.customer_id), &purpose, rid).await?;
                let actor = if p.role == cmp_app::authz::Role::Customer {
                    Actor::Customer { sub: &p.subject }
                } else {
                    Actor::Staff { sub: &p.subject, role: p.role.as_str() }
                };
                let mut fields = vec!["case".to_owned()];
                if patch.payout.is_some() {
                    fields.push("case_payout".into());
                }
                if patch.note.is_some() {
                    fields.push("case_notes".into());
                }
                match desk.patch(&id, actor, patch).await {
                    Ok(updated) => {
                        entry.fields = fields;
                        entry.outcome = "allowed:changed".into();
                        self.audit(entry).await?;
                        let staff = p.role != cmp_app::authz::Role::Customer;
                        let notes = if staff { desk.notes(&updated).await.map_err(internal)? } else { vec![] };
                        Ok(json_response(200, &cmp_app::cases::view(&updated, staff, notes)))
                    }
                    Err(e) => {
                        entry.outcome = "rejected".into();
                        self.audit(entry).await?;
                        Err(match e {
                            PatchError::NotFound => ApiError::not_found("case_not_found", "no case with this id"),
                            PatchError::Conflict => {
                                ApiError::new(409, "case_conflict", "the case changed meanwhile; read it again")
                            }
                            PatchError::Invalid(code, m) => ApiError::bad_request(code, m),
                            PatchError::Backend(e) => internal(e),
                        })
                    }
                }
            }
            Action::MergeProfiles if route == "POST /v1/profiles/{id}/merge" => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let body: MergeBody = json_body(req, MAX_SMALL_BODY, "the merge request does not match its schema")?;
                reason_ok(&body.reason)?;
                let mut entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                let actor = cmp_app::identity::Actor {
                    subject: p.subject.clone(),
                    role: p.role.as_str().into(),
                    purpose: purpose.clone(),
                    request_id: rid.into(),
                };
                let explanation = json!({"rule": "agent", "by": p.role.as_str()});
                match self.identity.merge(&id, &body.other, &actor, &body.reason, explanation, true).await {
                    Ok(record) => {
                        entry.fields = vec!["*".into()];
                        entry.outcome = "allowed:merged".into();
                        self.audit(entry).await?;
                        Ok(json_response(200, &json!({"merge": record})))
                    }
                    Err(e) => {
                        entry.outcome = "rejected".into();
                        self.audit(entry).await?;
                        Err(identity_error(e))
                    }
                }
            }
            Action::MergeProfiles => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let body: UnmergeBody =
                    json_body(req, MAX_SMALL_BODY, "the unmerge request does not match its schema")?;
                reason_ok(&body.reason)?;
                // `{id}` merged away: undo its merge into its survivor; `{id}` a survivor: undo `member`'s
                let record = self.api.store_record(&id).await.map_err(internal)?.ok_or_else(no_profile)?;
                let (survivor, loser) = match (record.status, record.merged_into.clone(), body.member) {
                    (cmp_app::store::ProfileStatus::Merged, Some(into), _) => (into, id.clone()),
                    (cmp_app::store::ProfileStatus::Active, _, Some(m)) => (id.clone(), m),
                    (cmp_app::store::ProfileStatus::Erased, _, _) => return Err(gone()),
                    _ => {
                        return Err(ApiError::bad_request(
                            "member_required",
                            "this profile is not merged away: name the member whose merge to undo",
                        ))
                    }
                };
                let mut entry = self.authorise(&p, action, Some(&survivor), &purpose, rid).await?;
                let actor = cmp_app::identity::Actor {
                    subject: p.subject.clone(),
                    role: p.role.as_str().into(),
                    purpose: purpose.clone(),
                    request_id: rid.into(),
                };
                match self.identity.unmerge(&survivor, &loser, &actor, &body.reason).await {
                    Ok(record) => {
                        entry.fields = vec!["*".into()];
                        entry.outcome = "allowed:unmerged".into();
                        self.audit(entry).await?;
                        Ok(json_response(200, &json!({"merge": record, "profiles": [survivor, loser]})))
                    }
                    Err(e) => {
                        entry.outcome = "rejected".into();
                        self.audit(entry).await?;
                        Err(identity_error(e))
                    }
                }
            }
            Action::ReviewMatches if route == "GET /v1/profiles/{id}/merges" => {
                let id = customer_id(req)?;
                query(req, &[])?;
                let mut entry = self.authorise(&p, action, Some(&id), &purpose, rid).await?;
                let current = self.identity.current(&id).await.map_err(identity_error)?;
                let merges = self.identity.history(&current).await.map_err(internal)?;
                entry.fields = vec!["merges".into()];
                self.audit(entry).await?;
                Ok(json_response(200, &json!({"customer_id": current, "items": merges})))
            }
            Action::ReviewMatches if route == "GET /v1/matches/report" => {
                query(req, &[])?;
                let entry = self.authorise(&p, action, None, &purpose, rid).await?;
                let report = self
                    .identity
                    .report(
                        self.match_thresholds.0,
                        self.match_thresholds.1,
                        cmp_app::matching::engine().model().guard_max_people,
                    )
                    .await
                    .map_err(internal)?;
                self.audit(entry).await?;
                Ok(json_response(200, &report))
            }
            Action::ReviewMatches => {
                let mut limit = DEFAULT_LIMIT;
                for (_, v) in query(req, &["limit"])? {
                    limit = v
                        .parse::<usize>()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or_else(|| ApiError::bad_request("invalid_query", "limit is 1 to 100"))?;
                }
                let mut entry = self.authorise(&p, action, None, &purpose, rid).await?;
                let items = self.identity.review(limit).await.map_err(internal)?;
                entry.fields = vec!["matches".into()];
                self.audit(entry).await?;
                Ok(json_response(200, &json!({"count": items.len(), "items": items})))
            }
            Action::DecideMatch => {
                let id = req.path_parameters_ref().and_then(|p| p.first("id").map(str::to_owned)).unwrap_or_default();
                if !(id.len() == 28 && id.starts_with("mtc_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit())) {
                    return Err(ApiError::bad_request("invalid_match_id", "a match id is `mtc_` and 24 hex digits"));
                }
                query(req, &[])?;
                let body: DecisionBody = json_body(req, MAX_SMALL_BODY, "the decision does not match its schema")?;
                reason_ok(&body.reason)?;
                let mut entry = self.authorise(&p, action, None, &purpose, rid).await?;
                let actor = cmp_app::identity::Actor {
                    subject: p.subject.clone(),
                    role: p.role.as_str().into(),
                    purpose: purpose.clone(),
                    request_id: rid.into(),
                };
                match self.identity.decide(&id, body.decision == Verdict::Merge, &actor, &body.reason).await {
                    Ok((m, merge)) => {
                        entry.fields = vec!["matches".into()];
                        entry.outcome = format!("allowed:{}", if merge.is_some() { "merged" } else { "decided" });
                        self.audit(entry).await?;
                        Ok(json_response(200, &json!({"match": m, "merge": merge})))
                    }
                    Err(cmp_app::identity::IdentityError::NotFound) => {
                        entry.outcome = "not_found".into();
                        self.audit(entry).await?;
                        Err(ApiError::not_found("match_not_found", "no candidate match with this id"))
                    }
                    Err(e) => {
                        entry.outcome = "rejected".into();
                        self.audit(entry).await?;
                        Err(identity_error(e))
                    }
                }
            }
            Action::IngestEvents => Err(ApiError::not_found("route_not_found", "no such route")),
        }
    }
}

#[async_trait::async_trait]
impl super::HttpHandler for ApiHandler {
    async fn handle(&self, req: Request) -> Response<Body> {
        ApiHandler::handle(self, req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmp_app::audit::MemoryAuditLog;
    use cmp_app::crypto::fake::FakeKms;
    use cmp_app::crypto::{BlindIndexer, CachePolicy, KeyRing};
    use cmp_app::store::memory::MemoryStore;
    use proptest::prelude::*;

    fn handler() -> ApiHandler {
        let store = Arc::new(MemoryStore::default());
        let keys = Arc::new(KeyRing::new(Arc::new(FakeKms::new()), store.clone(), CachePolicy::default()));
        let kms = Arc::new(FakeKms::new());
        ApiHandler::from_store(
            store,
            kms,
            keys,
            Arc::new(BlindIndexer::from_key(&[1; 32])),
            Arc::new(MemoryAuditLog::default()),
            Arc::new(cmp_app::rights::MemoryExports::default()),
            Arc::new(cmp_app::rights::MemoryExports::default()),
            Arc::new(cmp_app::rights::MemoryExports::default()),
            10,
        )
    }

    fn request(
        route: &str,
        raw_path: &str,
        id: Option<&str>,
        query: &[(String, String)],
        claims: serde_json::Value,
        purpose: Option<&str>,
    ) -> Request {
        let mut headers = serde_json::Map::new();
        if let Some(p) = purpose {
            headers.insert("x-purpose".into(), json!(p));
        }
        let mut event = json!({
            "version": "2.0", "routeKey": route, "rawPath": raw_path,
            "rawQueryString": query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&"),
            "headers": headers,
            "requestContext": {"http": {"method": "GET", "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": "r", "routeKey": route, "stage": "$default", "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d", "time": "x", "timeEpoch": 0,
                "authorizer": {"jwt": {"claims": claims, "scopes": null}}},
            "isBase64Encoded": false
        });
        if !query.is_empty() {
            let mut q = serde_json::Map::new();
            for (k, v) in query {
                q.insert(k.clone(), json!(v));
            }
            event["queryStringParameters"] = serde_json::Value::Object(q);
        }
        if let Some(id) = id {
            event["pathParameters"] = json!({"id": id});
        }
        lambda_http::request::from_str(&event.to_string()).expect("event")
    }

    /// Percent-encoding, as clients and API Gateway leave the raw query string.
    fn encode(v: &str) -> String {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    fn any_claims() -> impl Strategy<Value = serde_json::Value> {
        let role = prop_oneof![
            Just("privacy_officer".to_owned()),
            Just("customer".to_owned()),
            Just("cabin_crew".to_owned()),
            "[a-z_\\[\\] ]{0,30}"
        ];
        (role, any::<bool>(), prop::option::of("[ -~]{0,40}"), prop_oneof![Just("id".to_owned()), "[a-z]{0,6}"]).prop_map(
            |(role, mfa, customer, token_use)| {
                let mut c = json!({"sub": "s", "token_use": token_use, "cognito:groups": format!("[{role}]"), "amr": if mfa { "[pwd mfa]" } else { "[pwd]" }});
                if let Some(cid) = customer {
                    c["custom:customer_id"] = json!(cid);
                }
                c
            },
        )
    }

    #[tokio::test]
    async fn the_sample_api_gateway_event_is_understood() {
        let text = include_str!("../../../../events/apigw-get-profile.json");
        let req = lambda_http::request::from_str(text).expect("a valid API Gateway payload 2.0 event");
        let resp = handler().handle(req).await;
        // authorised (the sample's claims are a call-centre agent's), then not found in an empty store
        assert_eq!(resp.status().as_u16(), 404);
    }

    /// Issue 23 (3): a refusal about one customer, whatever its reason, is on that customer's chain.
    #[tokio::test]
    async fn refusals_about_a_customer_are_on_the_customers_chain() {
        let audit = Arc::new(MemoryAuditLog::default());
        let store = Arc::new(MemoryStore::default());
        let keys = Arc::new(KeyRing::new(Arc::new(FakeKms::new()), store.clone(), CachePolicy::default()));
        let h = ApiHandler::from_store(
            store,
            Arc::new(FakeKms::new()),
            keys,
            Arc::new(BlindIndexer::from_key(&[1; 32])),
            audit.clone(),
            Arc::new(cmp_app::rights::MemoryExports::default()),
            Arc::new(cmp_app::rights::MemoryExports::default()),
            Arc::new(cmp_app::rights::MemoryExports::default()),
            10,
        );
        let id = "cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6b";
        let claims = |role: &str, mfa: bool| {
            json!({"sub": format!("{role}-1"), "token_use": "id", "cognito:groups": format!("[{role}]"),
                   "amr": if mfa { "[pwd mfa]" } else { "[pwd]" }})
        };
        let cases = [
            ("GET /v1/profiles/{id}/timeline", claims("cabin_crew", true), "denied:forbidden"),
            ("GET /v1/profiles/{id}/access-requests", claims("privacy_officer", false), "denied:mfa_required"),
            ("GET /v1/profiles/{id}", claims("nobody", true), "denied:no_role"),
        ];
        for (route, claims, _) in &cases {
            let resp = h.handle(request(route, "/v1/x", Some(id), &[], claims.clone(), None)).await;
            assert_eq!(resp.status().as_u16(), 403, "{route}");
        }
        // the audit route names its customer in the query
        let q = vec![("customer".to_owned(), id.to_owned())];
        let resp =
            h.handle(request("GET /v1/audit", "/v1/audit", None, &q, claims("privacy_officer", false), None)).await;
        assert_eq!(resp.status().as_u16(), 403);
        let (chain, _) = audit.chain(&format!("CUST#{id}")).await.unwrap();
        let outcomes: Vec<&str> = chain.iter().map(|r| r.entry.outcome.as_str()).collect();
        assert_eq!(outcomes, ["denied:forbidden", "denied:mfa_required", "denied:no_role", "denied:mfa_required"]);
        assert!(chain.iter().all(|r| r.entry.customer_id.as_deref() == Some(id)));
        assert_eq!(chain[2].entry.actor, "nobody-1");
    }

    #[test]
    fn json_pointers_from_serde_paths() {
        assert_eq!(json_pointer("journey.legs[0].origin"), "/journey/legs/0/origin");
        assert_eq!(json_pointer("disruption.type"), "/disruption/type");
        assert_eq!(json_pointer("."), "");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Whatever the path id, query, purpose header and claims, the read API answers 2xx or a
        /// 4xx with a stable code: never a 5xx, never a panic.
        #[test]
        fn read_routes_never_fail_on_bad_input(
            route in prop_oneof![Just("GET /v1/profiles/{id}"), Just("GET /v1/profiles/{id}/timeline"), Just("GET /v1/profiles"), Just("GET /v1/audit"), Just("POST /v1/compensation/assessments"), Just("GET /v1/nope")],
            id in prop_oneof![Just("cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6b".to_owned()), "[ -~]{0,60}", "\\PC{0,20}"],
            query in prop::collection::vec(("[a-z]{1,8}", "[ -~]{0,40}"), 0..4),
            purpose in prop::option::of("[ -~]{0,70}"),
            claims in any_claims(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let h = handler();
            let query: Vec<(String, String)> = query;
            let req = request(route, "/v1/x", Some(&id), &query, claims, purpose.as_deref());
            let resp = rt.block_on(h.handle(req));
            prop_assert!(resp.status().as_u16() < 500, "{} for {route} {id:?} {query:?}", resp.status());
            if resp.status().as_u16() >= 400 {
                let body: serde_json::Value = match resp.body() {
                    lambda_http::Body::Binary(b) => serde_json::from_slice(b).unwrap(),
                    _ => serde_json::Value::Null,
                };
                prop_assert!(body["error"]["code"].as_str().is_some_and(|c| !c.is_empty()));
            }
        }
    }
}
