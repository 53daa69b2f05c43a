//! `POST /v1/events` (API Gateway HTTP API, payload 2.0) → [`crate::ingest::Ingest`].
use super::Wiring;
use crate::error::CmpError;
use crate::http::{body_bytes, error_response, json_response, request_id, route_key, ApiError};
use crate::ingest::{Ingest, KinesisSink, Limits, RetryPolicy};
use lambda_http::{Body, Request, RequestExt, Response};
use std::sync::Arc;

pub struct IngestHandler {
    ingest: Ingest,
}

impl IngestHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        let sink = Arc::new(KinesisSink::new(
            w.clients.kinesis.clone(),
            w.config.require_inbound_stream()?,
        ));
        Ok(IngestHandler {
            ingest: Ingest::new(
                sink,
                w.indexer.clone(),
                w.validator.clone(),
                Limits {
                    max_batch_events: w.config.max_batch_events,
                    max_event_bytes: w.config.max_event_bytes,
                    max_request_bytes: w.config.max_request_bytes,
                },
                RetryPolicy::default(),
            ),
        })
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let rid = request_id(&req);
        let result = self.route(&req).await;
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
                    resp.headers_mut()
                        .insert("retry-after", http::HeaderValue::from_static("1"));
                }
                resp
            }
        }
    }

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        if route_key(req) != "POST /v1/events" {
            return Err(ApiError::not_found("route_not_found", "no such route"));
        }
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
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        let result = self
            .ingest
            .ingest(content_type, body_bytes(req), partial)
            .await?;
        tracing::info!(
            request_id = %request_id(req),
            accepted = result.accepted.len(),
            rejected = result.rejected.len(),
            "events ingested"
        );
        Ok(json_response(202, &result))
    }
}
