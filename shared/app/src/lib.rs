//! The use cases of the Customer Management Platform, grouped by capability, with the ports they
//! need (traits) and in-memory fakes of them. No AWS SDK and no Lambda crate: the adapters are in
//! `cmp-aws`, the Lambda edge in `cmp-lambda`, the pure domain in `cmp-core` (re-exported here as
//! `domain`, `resolve`, `matching`, `compensation`, `pci`). See `docs/architecture.md`.

pub mod api;
pub mod api_error;
pub mod audit;
pub mod authz;
pub mod cases;
pub use cmp_core::compensation;
pub mod config;
pub mod consent;
pub mod crypto;
pub mod deadletter;
pub use cmp_core::domain;
pub mod error;
pub mod export;
pub mod identity;
pub mod import;
pub mod ingest;
pub mod inventory;
pub use cmp_core::matching;
pub mod merge;
pub use cmp_core::pci;
pub use cmp_core::resolve;
pub mod retention;
pub mod retry;
pub mod rights;
pub mod schema;
pub mod segments;
pub mod store;
pub mod telemetry;

pub use error::{CmpError, Result};
