//! The HTTP edge: JSON responses, the error body with stable codes, request ids.
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

pub use cmp_app::api_error::{ApiError, ItemError};

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
