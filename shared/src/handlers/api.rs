//! The read API routes (API Gateway HTTP API, payload 2.0) → [`crate::api::ReadApi`].
use super::Wiring;
use crate::api::{decode_cursor, Lookup, ReadApi};
use crate::domain::event::TimelineKind;
use crate::domain::pii::{Email, LoyaltyNumber, PhoneE164};
use crate::domain::CustomerId;
use crate::http::{error_response, json_response, request_id, route_key, ApiError};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

pub struct ApiHandler {
    api: ReadApi,
}

const MAX_LIMIT: usize = 100;
const DEFAULT_LIMIT: usize = 25;

fn customer_id(req: &Request) -> Result<CustomerId, ApiError> {
    let raw = req
        .path_parameters_ref()
        .and_then(|p| p.first("id").map(str::to_owned))
        .unwrap_or_default();
    raw.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_customer_id",
            "a customer id is `cus_` followed by 32 lowercase hex digits",
        )
    })
}

/// The query parameters, refusing any not in `allowed` and any given twice.
fn query(req: &Request, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let params = req.query_string_parameters();
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in params.iter() {
        if !allowed.contains(&k) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("unknown query parameter `{k}`"),
            ));
        }
        if out.iter().any(|(x, _)| x == k) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("query parameter `{k}` given twice"),
            ));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

impl ApiHandler {
    pub fn new(w: &Wiring) -> Self {
        ApiHandler {
            api: ReadApi::new(w.store.clone(), w.keys.clone(), w.indexer.clone()),
        }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let rid = request_id(&req);
        match self.route(&req).await {
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

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let internal = |e: crate::CmpError| {
            tracing::error!(error_code = e.code(), "backend error");
            ApiError::from(&e)
        };
        match route_key(req).as_str() {
            "GET /v1/health" => Ok(json_response(200, &json!({"status": "ok"}))),
            "GET /v1/profiles/{id}" => {
                let id = customer_id(req)?;
                query(req, &[])?;
                match self.api.profile(&id).await.map_err(internal)? {
                    Some(p) => Ok(json_response(200, &p)),
                    None => Err(ApiError::not_found(
                        "profile_not_found",
                        "no profile with this id",
                    )),
                }
            }
            "GET /v1/profiles/{id}/timeline" => {
                let id = customer_id(req)?;
                let mut kind = None;
                let mut limit = DEFAULT_LIMIT;
                let mut after = None;
                for (k, v) in query(req, &["kind", "limit", "cursor"])? {
                    match k.as_str() {
                        "kind" => {
                            kind = Some(TimelineKind::parse(&v).ok_or_else(|| {
                                ApiError::bad_request("invalid_query", "unknown timeline kind")
                            })?)
                        }
                        "limit" => {
                            limit = v
                                .parse::<usize>()
                                .ok()
                                .filter(|l| (1..=MAX_LIMIT).contains(l))
                                .ok_or_else(|| {
                                    ApiError::bad_request("invalid_query", "limit is 1 to 100")
                                })?
                        }
                        _ => {
                            after = Some(decode_cursor(&v).ok_or_else(|| {
                                ApiError::bad_request(
                                    "invalid_cursor",
                                    "the cursor is not one this API issued",
                                )
                            })?)
                        }
                    }
                }
                match self
                    .api
                    .timeline(&id, kind, limit, after.as_deref())
                    .await
                    .map_err(internal)?
                {
                    Some(page) => Ok(json_response(200, &page)),
                    None => Err(ApiError::not_found(
                        "profile_not_found",
                        "no profile with this id",
                    )),
                }
            }
            "GET /v1/profiles" => {
                let q = query(req, &["email", "phone", "loyalty"])?;
                let lookup =
                    match q.as_slice() {
                        [(k, v)] => match k.as_str() {
                            "email" => Lookup::Email(Email::parse(v).map_err(|e| {
                                ApiError::bad_request("invalid_email", e.to_string())
                            })?),
                            "phone" => Lookup::Phone(PhoneE164::parse(v, None).map_err(|e| {
                                ApiError::bad_request("invalid_phone", e.to_string())
                            })?),
                            _ => Lookup::Loyalty(LoyaltyNumber::parse(v).map_err(|e| {
                                ApiError::bad_request("invalid_loyalty_number", e.to_string())
                            })?),
                        },
                        _ => {
                            return Err(ApiError::bad_request(
                                "invalid_query",
                                "give exactly one of email, phone or loyalty",
                            ))
                        }
                    };
                let found = self.api.find(&lookup).await.map_err(internal)?;
                Ok(json_response(
                    200,
                    &json!({"items": found.into_iter().collect::<Vec<_>>()}),
                ))
            }
            _ => Err(ApiError::not_found("route_not_found", "no such route")),
        }
    }
}
