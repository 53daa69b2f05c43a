//! Core of the Gamma Airways Customer Management Platform.
//!
//! * [`domain`]: pure types and rules (parse-don't-validate identifiers, events, the golden profile).
//! * [`crypto`]: envelope encryption of personal data (per-customer data keys from KMS, AES-256-GCM
//!   field encryption, keyed blind indexes) behind the [`crypto::KeyService`] port.
//! * [`store`]: the profile store port with its DynamoDB adapter and an in-memory fake.
//! * [`ingest`], [`merge`], [`api`]: the use cases behind the Lambda functions.
//! * [`handlers`]: the thin adapters from Lambda trigger events to the use cases.

pub mod api;
pub mod audit;
pub mod authz;
pub mod aws;
pub mod cases;
pub use cmp_core::compensation;
pub mod config;
pub mod consent;
pub mod crypto;
pub mod deadletter;
pub use cmp_core::domain;
pub mod error;
pub mod export;
pub mod handlers;
pub mod http;
pub mod identity;
pub mod import;
pub mod ingest;
pub mod inventory;
pub use cmp_core::matching;
pub mod merge;
pub use cmp_core::pci;
pub mod publish;
pub use cmp_core::resolve;
pub mod retention;
pub mod retry;
pub mod rights;
pub mod schema;
pub mod segments;
pub mod store;
pub mod telemetry;
pub mod wiring;

pub use error::{CmpError, Result};
