//! The error a request is answered with: HTTP status, stable code, message, per-item details. The
//! edge (`cmp-lambda`, `http.rs`) renders it; use cases that answer requests directly (ingest)
//! return it.
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
