//! Thin adapters from Lambda trigger events to the use cases, and the cold-start wiring shared by
//! the functions. `functions/*/src/main.rs` build a [`Wiring`] once (from their capability list,
//! [`crate::wiring::capability`]) and hand each invocation to a handler here; the local stack
//! (`cmpctl dev`) calls the very same handlers.
#[cfg(feature = "api")]
pub mod api;
#[cfg(feature = "audit-export")]
pub mod audit_export;
#[cfg(feature = "compensate")]
pub mod compensate;
#[cfg(feature = "consent")]
pub mod consent;
#[cfg(feature = "export")]
pub mod export;
#[cfg(any(feature = "import-plan", feature = "import-load"))]
pub mod import;
#[cfg(feature = "ingest")]
pub mod ingest;
#[cfg(feature = "merge")]
pub mod merge;
#[cfg(feature = "publish")]
pub mod publish;
pub mod stream;

#[cfg(feature = "http")]
mod request;
#[cfg(feature = "http")]
pub use request::*;

pub use crate::wiring::Wiring;

/// A function behind API Gateway's HTTP API.
#[cfg(feature = "http")]
#[async_trait::async_trait]
pub trait HttpHandler: Send + Sync {
    async fn handle(&self, req: lambda_http::Request) -> lambda_http::Response<lambda_http::Body>;
}
