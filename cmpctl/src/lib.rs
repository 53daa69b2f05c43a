//! `cmpctl`: the operations and developer tool of the CMP.
//!
//! The local stack lives here: it starts the AWS emulator, creates the stateful resources of
//! `infra/template.yaml` through the emulator's CloudFormation, and runs the functions' shared
//! handlers wired the way the template wires them in AWS (HTTP API routes, the Kinesis event source
//! mapping with its batch size, partial batch failures, retries and on-failure destination).
pub mod bench;
pub mod bench_compensate;
pub mod bench_export;
pub mod bench_import;
pub mod bench_init;
pub mod client;
pub mod ddbstream;
pub mod demo;
pub mod emulator;
pub mod gateway;
pub mod jwt;
pub mod metrics;
pub mod resolve;
pub mod sqs;
pub mod stack;
pub mod stream;
pub mod wiring;

/// The repository root: `CMP_REPO_ROOT`, else the workspace this crate was built in.
pub fn repo_root() -> std::path::PathBuf {
    match std::env::var_os("CMP_REPO_ROOT") {
        Some(p) => p.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf(),
    }
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
