//! DynamoDB adapters, one module per port.
pub mod audit;
pub mod cases;
pub mod imports;
pub mod store;
