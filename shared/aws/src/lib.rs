//! The AWS adapters of the platform's ports: one module per service (and, for DynamoDB, per
//! port), the SDK configuration, and the errors mapped to the ports' typed errors.
//!
//! * [`dynamo`]: the profile store and its identity, privacy, key, export-scan and flight-index
//!   ports ([`dynamo::store`]), the audit log ([`dynamo::audit`]), cases ([`dynamo::cases`]), the
//!   import ledger ([`dynamo::imports`]);
//! * [`kms`]: the key service (envelope encryption);
//! * [`kinesis`]: the event sink (`PutRecords`);
//! * [`s3`]: exports and the imports bucket;
//! * [`sqs`]: the import chunk queue;
//! * [`items`]: item layouts read both by adapters and by consumers of a table's stream;
//! * [`sdk`]: SDK configuration and clients from the standard AWS environment.
//!
//! Each service module is behind the feature of its name, so a function links only the SDK
//! crates of the services it calls (`cargo tree -p audit_export` shows S3 only).

#[cfg(feature = "dynamodb")]
pub mod dynamo;
pub mod items;
#[cfg(feature = "kinesis")]
pub mod kinesis;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(feature = "s3")]
pub mod s3;
pub mod sdk;
#[cfg(feature = "sqs")]
pub mod sqs;
