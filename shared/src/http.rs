//! The HTTP edge: JSON responses, the error body with stable codes, request ids.
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

/// A per-item error of a batch request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemError {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub code: String,
    pub path: String,
    pub message: String,
}

/// An error answered to the caller: HTTP status, stable code, message, optional per-item details.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<ItemError>,
    /// Extra members of the error object (e.g. which ids were written before a failure).
    pub extra: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: vec![], extra: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }
    pub fn internal() -> Self {
        Self::new(500, "internal_error", "the request could not be completed; it has been logged")
    }
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(503, code, message)
    }
    pub fn with_details(mut self, details: Vec<ItemError>) -> Self {
        self.details = details;
        self
    }
}

impl From<&crate::CmpError> for ApiError {
    fn from(e: &crate::CmpError) -> Self {
        if matches!(e, crate::CmpError::Erased) {
            ApiError::new(410, "profile_erased", "this customer was erased at their request")
        } else if e.is_transient() {
            ApiError::unavailable("service_unavailable", "a backing service is unavailable; retry with backoff")
        } else {
            ApiError::internal()
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorObject<'a>,
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    code: &'a str,
    message: &'a str,
    request_id: &'a str,
    #[serde(skip_serializing_if = "<[ItemError]>::is_empty")]
    details: &'a [ItemError],
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extra: Option<&'a serde_json::Value>,
}

pub fn json_response<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Body::Binary(bytes))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

pub fn error_response(err: &ApiError, request_id: &str) -> Response<Body> {
    json_response(
        err.status,
        &ErrorBody {
            error: ErrorObject {
                code: err.code,
                message: &err.message,
                request_id,
                details: &err.details,
                extra: err.extra.as_ref(),
            },
        },
    )
}

/// The request id API Gateway assigned (falls back to the Lambda request id).
pub fn request_id(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(id) = &ctx.request_id {
            return id.clone();
        }
    }
    req.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_else(|| "unknown".into())
}

/// The route key API Gateway matched (`GET /v1/profiles/{id}`), or the method and raw path.
pub fn route_key(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(rk) = &ctx.route_key {
            return rk.clone();
        }
    }
    format!("{} {}", req.method(), req.uri().path())
}

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}
