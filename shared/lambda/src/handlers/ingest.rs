//! `POST /v1/events` (API Gateway HTTP API, payload 2.0) → [`cmp_app::ingest::Ingest`].
use super::{denial, principal, purpose, Wiring};
use crate::http::{body_bytes, error_response, json_response, request_id, route_key, ApiError};
use cmp_app::audit::{AuditEntry, AuditLog};
use cmp_app::authz::Action;
use cmp_app::error::CmpError;
use cmp_app::ingest::{Ingest, Limits, RetryPolicy};
use cmp_aws::kinesis::KinesisSink;
use lambda_http::{Body, Request, RequestExt, Response};
use std::sync::Arc;

pub struct IngestHandler {
    ingest: Ingest,
    audit: Arc<dyn AuditLog>,
}

impl IngestHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        let sink = Arc::new(KinesisSink::new(w.kinesis()?, w.config.require_inbound_stream()?));
        Ok(IngestHandler {
            ingest: Ingest::new(
                sink,
                w.indexer()?,
                w.validator()?,
                Limits {
                    max_batch_events: w.config.max_batch_events,
                    max_event_bytes: w.config.max_event_bytes,
                    max_request_bytes: w.config.max_request_bytes,
                },
                RetryPolicy::default(),
            ),
            audit: w.audit()?,
        })
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let rid = request_id(&req);
        let result = self.route(&req, &rid).await;
        match result {
            Ok(resp) => resp,
            Err(e) => {
                if e.status >= 500 {
                    tracing::error!(request_id = %rid, code = e.code, "request failed");
                } else {
                    tracing::info!(request_id = %rid, code = e.code, status = e.status, "request rejected");
                }
                let mut resp = error_response(&e, &rid);
                if e.status == 503 {
                    resp.headers_mut().insert("retry-after", http::HeaderValue::from_static("1"));
                }
                resp
            }
        }
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), ApiError> {
        super::write_audit(self.audit.as_ref(), entry, "the events may have been accepted, and resending them is safe")
            .await
    }

    async fn route(&self, req: &Request, rid: &str) -> Result<Response<Body>, ApiError> {
        if route_key(req) != "POST /v1/events" {
            return Err(ApiError::not_found("route_not_found", "no such route"));
        }
        let p = principal(req)?;
        let mut entry =
            AuditEntry::for_request(&p, Action::IngestEvents, None, Action::IngestEvents.default_purpose(), rid);
        if let Err(d) = p.may(Action::IngestEvents, None) {
            entry.outcome = format!("denied:{}", super::denial_code(d));
            self.audit(entry).await?;
            return Err(denial(d));
        }
        entry.purpose = purpose(req, Action::IngestEvents)?;
        let params = req.query_string_parameters();
        let mut partial = false;
        for (k, v) in params.iter() {
            match (k, v) {
                ("partial", "true") => partial = true,
                ("partial", "false") => partial = false,
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_query",
                        "the only query parameter is partial=true|false",
                    ))
                }
            }
        }
        let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok());
        let result = self.ingest.ingest(content_type, body_bytes(req), partial).await;
        entry.outcome = match &result {
            Ok(r) => format!("accepted:{},rejected:{}", r.accepted.len(), r.rejected.len()),
            Err(e) => format!("rejected:{}", e.code),
        };
        self.audit(entry).await?;
        let result = result?;
        tracing::info!(
            request_id = %rid,
            accepted = result.accepted.len(),
            rejected = result.rejected.len(),
            "events ingested"
        );
        Ok(json_response(202, &result))
    }
}

#[async_trait::async_trait]
impl super::HttpHandler for IngestHandler {
    async fn handle(&self, req: Request) -> Response<Body> {
        IngestHandler::handle(self, req).await
    }
}
