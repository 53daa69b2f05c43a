//! The local AWS emulator (moto server from the repo's virtual environment), on loopback.
use crate::BoxError;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub struct Emulator {
    pub endpoint: String,
    pub port: u16,
    child: Child,
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(4566)
}

pub fn venv_bin(name: &str) -> PathBuf {
    crate::repo_root().join(".venv").join("bin").join(name)
}

impl Emulator {
    /// Starts `moto_server` on `port` (0: any free port) and waits until it answers.
    pub async fn start(port: u16) -> Result<Self, BoxError> {
        let port = if port == 0 { free_port() } else { port };
        let bin = venv_bin("python");
        if !venv_bin("moto_server").exists() {
            return Err(format!("{} is missing: run `make setup` first", venv_bin("moto_server").display()).into());
        }
        let logs = crate::repo_root().join(".local");
        std::fs::create_dir_all(&logs)?;
        let log = std::fs::File::create(logs.join(format!("moto-{port}.log")))?;
        // moto's server, with the transaction fixes of scripts/moto_server.py
        let child = Command::new(bin)
            .arg(crate::repo_root().join("scripts").join("moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err("the emulator did not start within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Emulator { endpoint, port, child })
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Creates the stateful resources of `infra/template.yaml` in the emulator through its
/// CloudFormation API (`scripts/localstack.py deploy`) and returns the wiring it prints.
pub async fn deploy(endpoint: &str, region: &str, stack_name: &str) -> Result<crate::wiring::StackWiring, BoxError> {
    let root = crate::repo_root();
    let out = root.join(".local").join(format!("stack-{}.json", endpoint.rsplit(':').next().unwrap_or("x")));
    std::fs::create_dir_all(root.join(".local"))?;
    let status = Command::new(venv_bin("python"))
        .arg(root.join("scripts").join("localstack.py"))
        .args(["deploy", "--endpoint", endpoint, "--region", region, "--stack-name", stack_name])
        .arg("--template")
        .arg(root.join("infra").join("template.yaml"))
        .arg("--out")
        .arg(&out)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", region)
        .status()
        .await?;
    if !status.success() {
        return Err(format!("deploying the template to the emulator failed ({status})").into());
    }
    let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    let mut wiring: crate::wiring::StackWiring = serde_json::from_value(raw.clone())?;
    wiring.raw = raw;
    Ok(wiring)
}
