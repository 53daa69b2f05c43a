//! What every HTTP handler does with a request: the caller from the verified JWT claims, refusals
//! as 403s with stable codes, the purpose of the access, the audit record before the answer.
use crate::http::ApiError;
use cmp_app::audit::AuditLog;
use cmp_app::authz::{Action, Denial, Principal};
use lambda_http::{Request, RequestExt};

/// The caller, from the JWT claims API Gateway's authorizer verified and put in the request
/// context. Nothing the caller sends directly (headers, body) is trusted for identity.
pub fn principal(req: &Request) -> Result<Principal, ApiError> {
    let claims = claims(req).ok_or_else(|| ApiError::new(401, "unauthenticated", "a bearer token is required"))?;
    Principal::from_claims(&claims).map_err(denial)
}

/// The `sub` of a verified token whose role this platform does not know (for the audit record of
/// the refusal).
pub fn claimed_subject(req: &Request) -> Option<String> {
    claims(req).and_then(|c| c.get("sub").and_then(serde_json::Value::as_str).map(str::to_owned))
}

/// The verified JWT claims API Gateway's authorizer put in the request context.
fn claims(req: &Request) -> Option<serde_json::Value> {
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|j| {
            serde_json::Value::Object(
                j.claims.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
            )
        }),
        _ => None,
    }
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
    entry: cmp_app::audit::AuditEntry,
    consequence: &str,
) -> Result<(), ApiError> {
    cmp_app::audit::record(log, entry).await.map(|_| ()).map_err(|e| {
        tracing::error!(error_code = e.code(), "audit write failed");
        ApiError::unavailable("audit_unavailable", format!("the audit trail cannot be written; {consequence}"))
    })
}
