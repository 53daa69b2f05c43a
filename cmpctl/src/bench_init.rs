//! `cmpctl bench init`: cold start of every function binary side by side with a hello-world
//! `lambda_runtime` binary, measured the same way.
//!
//! The emulator runs with the template's resources; a stub of the Lambda runtime API listens on
//! loopback. Each binary is started with the environment the template gives its function (plus
//! the runtime's own variables and the emulator's endpoint), and the time from `exec` to its first
//! `GET /2018-06-01/runtime/invocation/next` is its cold start: configuration, SDK clients, keys
//! and schemas all happen before a function asks for its first event. The process is then killed.
//! Run on release binaries (`cargo build --release --bins`); the binary size is printed too.
use crate::emulator::{self, Emulator};
use crate::BoxError;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};

pub struct InitReport {
    pub rows: Vec<(String, u64, Vec<f64>)>,
    pub runs: usize,
    pub profile: String,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

impl InitReport {
    pub fn render(&self) -> String {
        let hello = self.rows.iter().find(|r| r.0 == "hello-lambda").map(|r| pct(&r.2, 0.5)).unwrap_or(f64::NAN);
        let mut out = format!(
            "cold start: exec to the first GET /runtime/invocation/next, {} runs each, {} binaries\n\
             {:<14} {:>10} {:>9} {:>9} {:>9} {:>8}\n",
            self.runs, self.profile, "binary", "size KiB", "p50 ms", "p90 ms", "max ms", "x hello"
        );
        for (name, size, ms) in &self.rows {
            let p50 = pct(ms, 0.5);
            out.push_str(&format!(
                "{:<14} {:>10} {:>9.1} {:>9.1} {:>9.1} {:>8.2}\n",
                name,
                size / 1024,
                p50,
                pct(ms, 0.9),
                ms.last().copied().unwrap_or(f64::NAN),
                p50 / hello
            ));
        }
        out
    }
}

/// The stub runtime API: reports each `GET …/invocation/next` and holds it open.
async fn runtime_api(tx: mpsc::UnboundedSender<Instant>) -> Result<(u16, tokio::task::JoinHandle<()>), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let tx = tx.clone();
                    async move {
                        if req.uri().path().ends_with("/invocation/next") {
                            let _ = tx.send(Instant::now());
                            // no event comes: the benchmark kills the process
                            tokio::time::sleep(Duration::from_secs(60)).await;
                        }
                        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from_static(b"{}"))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    Ok((port, task))
}

pub async fn init(runs: usize, profile: &str) -> Result<InitReport, BoxError> {
    let root = crate::repo_root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let bin_dir = target.join(profile);
    let emulator = Emulator::start(emulator::free_port()).await?;
    let wiring = emulator::deploy(&emulator.endpoint, crate::stack::REGION, "cmp-init").await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let rx = Arc::new(Mutex::new(rx));
    let (port, server) = runtime_api(tx).await?;
    let mut binaries: Vec<(String, HashMap<String, String>)> = vec![("hello-lambda".into(), HashMap::new())];
    for f in &wiring.functions {
        binaries.push((f.binary.clone(), f.environment.clone()));
    }
    let mut rows = Vec::new();
    for (name, env) in binaries {
        let path = bin_dir.join(&name);
        let Ok(meta) = std::fs::metadata(&path) else {
            eprintln!("{}: not built, skipped (cargo build --{profile} -p {name})", path.display());
            continue;
        };
        let size = meta.len();
        let mut ms = Vec::with_capacity(runs);
        for _ in 0..runs {
            let mut rx = rx.lock().await;
            while rx.try_recv().is_ok() {}
            let started = Instant::now();
            let mut child = tokio::process::Command::new(&path)
                .envs(&env)
                .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
                .env("AWS_LAMBDA_FUNCTION_NAME", &name)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
                .env("AWS_ENDPOINT_URL", &emulator.endpoint)
                .env("AWS_REGION", crate::stack::REGION)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()?;
            let first = tokio::select! {
                t = rx.recv() => t,
                status = child.wait() => {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        use tokio::io::AsyncReadExt;
                        let _ = e.read_to_string(&mut err).await;
                    }
                    return Err(format!("{name} exited before asking for an event ({status:?}): {err}").into());
                }
                _ = tokio::time::sleep(Duration::from_secs(30)) => None,
            };
            let at = first.ok_or_else(|| format!("{name} did not ask for an event within 30 s"))?;
            ms.push((at - started).as_secs_f64() * 1000.0);
            let _ = child.kill().await;
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        rows.push((name, size, ms));
    }
    server.abort();
    emulator.stop().await;
    Ok(InitReport { rows, runs, profile: profile.to_string() })
}
