//! The Lambda edge of the platform: trigger events and HTTP requests to the use cases of `cmp-app`,
//! errors to HTTP statuses with stable codes (`http`), the batch runner of the stream consumers
//! (`handlers::stream`), and each function's cold-start wiring from its capability list
//! (`wiring`), built on the adapters of `cmp-aws`.

pub mod handlers;
pub mod http;
pub mod publish;
pub mod wiring;
