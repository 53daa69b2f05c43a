//! The Lambda edge of the platform: trigger events and HTTP requests to the use cases of `cmp-app`,
//! errors to HTTP statuses with stable codes (`http`), the batch runner of the stream consumers
//! (`handlers::stream`), and each function's cold-start wiring from its capability list
//! (`wiring`), built on the adapters of `cmp-aws`.
//!
//! A function enables the feature of its name (`ingest`, `merge`, `api`, ...): it compiles its
//! handler and the adapters of the services it calls, nothing else.

pub mod handlers;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "publish")]
pub mod publish;
pub mod run;
pub mod wiring;
