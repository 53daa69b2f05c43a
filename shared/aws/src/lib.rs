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
//! * [`sdk`]: SDK configuration and clients from the standard AWS environment.

pub mod dynamo;
pub mod kinesis;
pub mod kms;
pub mod s3;
pub mod sdk;
pub mod sqs;
