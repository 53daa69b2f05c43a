//! `cmpctl`: run the CMP locally on the AWS emulator, load demo data, benchmark.
use clap::{Parser, Subcommand};
use cmpctl::client::ApiClient;
use cmpctl::stack::{LocalStack, StackOptions};
use cmpctl::BoxError;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "cmpctl", about = "Operations and developer tool of the Gamma Airways CMP")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the emulator, create the template's resources, run the functions wired as in AWS
    /// (HTTP API on --listen), load demo data, and wait for Ctrl-C.
    Dev {
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: std::net::SocketAddr,
        /// Emulator port (0: any free port).
        #[arg(long, default_value_t = 0)]
        emulator_port: u16,
        /// Demo customers to load (0: none).
        #[arg(long, default_value_t = 2000)]
        customers: usize,
    },
    /// Run the partner exports on a running local stack (`cmpctl dev`) and print where they went
    /// and what the k-anonymity check suppressed; with `--analytics`, write the analyst snapshot.
    Export {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// Partner ids (default: every configured partner).
        #[arg(long = "partner")]
        partners: Vec<String>,
        /// k of the k-anonymity check (default: the function's EXPORT_K).
        #[arg(long)]
        k: Option<usize>,
        /// The running stack's wiring (written by `cmpctl dev`).
        #[arg(long, default_value = ".local/stack.json")]
        stack: std::path::PathBuf,
        /// Write today's analyst snapshot (Parquet for the Glue tables) instead of partner exports.
        #[arg(long, conflicts_with_all = ["partners", "k"])]
        analytics: bool,
    },
    /// Post the demo data set to a running stack.
    Demo {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value_t = 2000)]
        customers: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Mint a bearer token the local HTTP API accepts (as Cognito would issue it): an ID token
    /// with the role as `cognito:groups`, `amr` with `mfa` when --mfa, signed by the local issuer.
    Token {
        #[arg(long)]
        role: String,
        #[arg(long)]
        mfa: bool,
        /// The `sub` claim (default: a random id).
        #[arg(long)]
        sub: Option<String>,
        /// For --role customer: the customer id the login is linked to.
        #[arg(long)]
        customer: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 900)]
        ttl: i64,
        /// The running stack's wiring (written by `cmpctl dev`).
        #[arg(long, default_value = ".local/stack.json")]
        stack: std::path::PathBuf,
    },
    /// Flight-disruption compensation, offline (the same engine as the API and the compensate function).
    Compensation {
        #[command(subcommand)]
        which: Compensation,
    },
    /// Offline identity resolution of a CSV file with the platform's matching engine: writes
    /// `id,cluster_id`; with --truth prints pairwise and B-cubed precision/recall/F1; always
    /// records/s and peak memory; --incremental also resolves record by record (shuffled) through
    /// the streaming API and prints its agreement with the batch run.
    #[command(args_conflicts_with_subcommands = true)]
    Resolve {
        #[command(subcommand)]
        which: Option<Box<Resolve>>,
        #[command(flatten)]
        args: Box<ResolveArgs>,
    },
    /// Benchmarks (they start their own local stack).
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
}

#[derive(Subcommand)]
enum Compensation {
    /// Assess one journey and one disruption (the body of POST /v1/compensation/assessments).
    Assess {
        #[arg(long)]
        input: std::path::PathBuf,
    },
}

/// `cmpctl resolve` options.
#[derive(clap::Args)]
struct ResolveArgs {
    #[arg(long)]
    input: Option<std::path::PathBuf>,
    #[arg(long)]
    output: Option<std::path::PathBuf>,
    /// Column holding the true cluster (for metrics only; never used for matching).
    #[arg(long)]
    truth: Option<String>,
    /// A model from `cmpctl resolve train` (default: the builtin shared/models/person-v2.json).
    #[arg(long)]
    model: Option<std::path::PathBuf>,
    /// Column mapping overrides: `field=column,...` (fields: id given family dob street_number
    /// address city postcode state national_id email phone; an empty column disables a field).
    #[arg(long)]
    map: Option<String>,
    /// Override the model's upper threshold (automatic merge at or above, posterior log2-odds).
    #[arg(long, allow_hyphen_values = true)]
    upper: Option<f64>,
    /// Override the model's lower threshold (new profile below; review between).
    #[arg(long, allow_hyphen_values = true)]
    lower: Option<f64>,
    /// Override the model's cluster-consistency threshold (average linkage, bits).
    #[arg(long, allow_hyphen_values = true)]
    cluster: Option<f64>,
    /// Also resolve the records one at a time in a shuffled order through the streaming API
    /// and print the agreement with the batch clustering.
    #[arg(long)]
    incremental: bool,
    /// Seed of the --incremental shuffle.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Subcommand)]
enum Resolve {
    /// Fit a match model on a CSV file (term frequencies; u from random pairs; m and the prior by
    /// EM over the candidate pairs) and write it as JSON; thresholds, guard and blocking settings
    /// are kept from --base (default: the builtin model).
    Train {
        #[arg(long)]
        input: std::path::PathBuf,
        #[arg(long)]
        model_out: std::path::PathBuf,
        #[arg(long)]
        map: Option<String>,
        #[arg(long)]
        base: Option<std::path::PathBuf>,
        /// A note recorded in the model file (what it was trained on).
        #[arg(long)]
        note: Option<String>,
        /// Diagnostics only (never used for training): a truth column; prints the m that the
        /// labels give beside EM's estimate.
        #[arg(long)]
        truth: Option<String>,
    },
    /// Generate labelled person records (same columns as the shared data sets, truth in
    /// `cluster_id`), seeded and deterministic.
    Generate {
        #[arg(long)]
        people: usize,
        #[arg(long)]
        output: std::path::PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Scales the probability of every kind of damage in duplicate records.
        #[arg(long, default_value_t = 1.0)]
        damage: f64,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// The cost of authorisation and the audit trail per read: latency p50/p99, calls per read.
    Auth {
        #[arg(long, default_value_t = 500)]
        reads: usize,
    },
    /// Partner exports over N customers seeded into the local stack: profiles/s, calls per
    /// profile, and the share of rows suppressed at k = 5, 10, 20.
    Export {
        #[arg(long, default_value_t = 100_000)]
        profiles: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// The bulk import's own work on a generated file of N rows, in process: planning, and every
    /// chunk parsed, mapped and validated (whether a million rows fit Lambda's limits).
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
    },
    /// A cancelled flight with N booked passengers: time from the disruption event to every
    /// passenger's case, and AWS calls per passenger.
    Compensate {
        #[arg(long, default_value_t = 400)]
        passengers: usize,
    },
    /// Cold start of every function binary beside a hello-world lambda_runtime binary: exec to the
    /// first request for an event, against a stub runtime API and the emulator.
    Init {
        /// Starts per binary.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// The cargo profile whose binaries are measured (`cargo build --<profile> --bins` first).
        #[arg(long, default_value = "release")]
        profile: String,
    },
    /// Events through ingest → stream → merge: events/s, POST-to-readable latency, calls per event.
    Ingest {
        /// Customers to generate (about 4.5 events each).
        #[arg(long, default_value_t = 2000)]
        customers: usize,
        /// Latency probes after the load (one event at a time).
        #[arg(long, default_value_t = 50)]
        probes: usize,
        /// Poll interval while waiting for a probe to become readable, in milliseconds.
        #[arg(long, default_value_t = 20)]
        poll_ms: u64,
    },
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber_init();
    match Cli::parse().command {
        Command::Dev { listen, emulator_port, customers } => {
            eprintln!("starting the emulator and creating the resources of infra/template.yaml ...");
            let stack =
                LocalStack::start(StackOptions { http_addr: listen, emulator_port, ..Default::default() }).await?;
            eprintln!("emulator:  {}", stack.emulator.endpoint);
            let current = cmpctl::repo_root().join(".local").join("stack.json");
            std::fs::write(&current, serde_json::to_vec_pretty(&stack.wiring_json())?)?;
            eprintln!("HTTP API:  {}", stack.base_url);
            if customers > 0 {
                let client = ApiClient::new(stack.base_url.clone()).with_token(stack.token("channel", false, None)?);
                let (n, samples) = cmpctl::bench::load_demo(&client, customers, 1).await?;
                eprintln!("loaded {n} demo events for {customers} customers; merging in the background");
                eprintln!("try (demo data is fictional; tokens from `cargo run -q -p cmpctl -- token --role <role> [--mfa]`):");
                eprintln!("  TOKEN=$(cargo run -q -p cmpctl -- token --role call_centre_agent)");
                for s in samples {
                    if let Some(e) = s["email"].as_str() {
                        eprintln!(
                            "  curl -s -H \"authorization: Bearer $TOKEN\" '{}/v1/profiles?email={}'",
                            stack.base_url,
                            cmpctl::client::encode(e)
                        );
                    }
                }
                eprintln!(
                    "  curl -s -H \"authorization: Bearer $TOKEN\" '{}/v1/profiles/<id>/timeline?limit=10'",
                    stack.base_url
                );
            }
            eprintln!("post events:  CHANNEL=$(cargo run -q -p cmpctl -- token --role channel)");
            eprintln!(
                "  curl -s -XPOST -H \"authorization: Bearer $CHANNEL\" -H 'content-type: application/json' --data @events/batch.json {}/v1/events",
                stack.base_url
            );
            eprintln!("Ctrl-C stops everything.");
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r?,
                _ = term.recv() => {}
            }
            eprintln!("stopping ...");
            stack.stop().await;
        }
        Command::Token { role, mfa, sub, customer, ttl, stack } => {
            let wiring: cmpctl::wiring::StackWiring = serde_json::from_slice(&std::fs::read(&stack).map_err(|e| {
                format!("{}: {e} (start the local stack with `make dev` first, or pass --stack)", stack.display())
            })?)?;
            let (issuer, audience) = wiring.authorizer().ok_or("the stack has no JWT authorizer")?;
            let req = cmpctl::jwt::TokenRequest {
                role,
                mfa,
                subject: sub,
                customer_id: customer,
                issuer,
                audience,
                ttl_seconds: ttl,
            };
            let issuer = cmpctl::jwt::LocalIssuer::load_or_create(&cmpctl::jwt::key_dir())?;
            println!("{}", issuer.sign(&cmpctl::jwt::claims(&req))?);
        }
        Command::Export { url, partners, k, stack, analytics } => {
            let wiring: cmpctl::wiring::StackWiring = serde_json::from_slice(&std::fs::read(&stack).map_err(|e| {
                format!("{}: {e} (start the local stack with `make dev` first, or pass --stack)", stack.display())
            })?)?;
            let (issuer, audience) = wiring.authorizer().ok_or("the stack has no JWT authorizer")?;
            let req = cmpctl::jwt::TokenRequest {
                role: "privacy_officer".into(),
                mfa: true,
                subject: Some("cmpctl-export".into()),
                customer_id: None,
                issuer,
                audience,
                ttl_seconds: 900,
            };
            let token =
                cmpctl::jwt::LocalIssuer::load_or_create(&cmpctl::jwt::key_dir())?.sign(&cmpctl::jwt::claims(&req))?;
            let mut body = serde_json::Map::new();
            if analytics {
                body.insert("dataset".into(), serde_json::json!("analytics"));
            }
            if !partners.is_empty() {
                body.insert("partners".into(), serde_json::json!(partners));
            }
            if let Some(k) = k {
                body.insert("k".into(), serde_json::json!(k));
            }
            let client = ApiClient::new(url).with_token(token).with_header("x-purpose", "partner_export");
            let (status, resp) = client.post_json("/v1/exports", &serde_json::Value::Object(body)).await?;
            if status != 201 {
                return Err(format!("POST /v1/exports answered {status}: {resp}").into());
            }
            if analytics {
                let bucket = wiring.output("AnalyticsBucketName").unwrap_or("<analytics bucket>").to_owned();
                let database = wiring.output("AnalyticsDatabaseName").unwrap_or("<database>").to_owned();
                let m = &resp["snapshot"]["manifest"];
                println!(
                    "analyst snapshot {}: {} customers with analytics consent of {} active ({} without)",
                    m["snapshot_date"].as_str().unwrap_or_default(),
                    m["customers"],
                    m["considered"],
                    m["excluded_without_consent"]
                );
                for t in m["tables"].as_array().into_iter().flatten() {
                    println!(
                        "{database}.{:<13} s3://{bucket}/{}  rows {:>7}  bytes {:>9}",
                        t["table"].as_str().unwrap_or_default(),
                        t["key"].as_str().unwrap_or_default(),
                        t["rows"],
                        t["bytes"],
                    );
                }
                println!("manifest s3://{bucket}/{}", resp["snapshot"]["manifest_key"].as_str().unwrap_or_default());
                return Ok(());
            }
            let bucket = wiring.output("ExportsBucketName").unwrap_or("<exports bucket>").to_owned();
            println!("k = {}", resp["k"]);
            for r in resp["reports"].as_array().into_iter().flatten() {
                let m = &r["manifest"];
                println!(
                    "{:<16} s3://{}/{}  rows {:>6}  suppressed {:>5} rows in {:>4} of {:>4} classes  without consent {:>6}  out of segment {:>6}  erasure notices {}",
                    r["partner"].as_str().unwrap_or_default(),
                    bucket,
                    r["prefix"].as_str().unwrap_or_default(),
                    m["rows"],
                    m["suppressed_rows"],
                    m["suppressed_classes"],
                    m["classes"],
                    m["excluded_without_consent"],
                    m["excluded_out_of_segment"],
                    m["erasure_notices"].as_array().map_or(0, Vec::len),
                );
            }
        }
        Command::Demo { url, customers, seed } => {
            let (n, samples) = cmpctl::bench::load_demo(&ApiClient::new(url), customers, seed).await?;
            println!("posted {n} events; sample identifiers: {}", serde_json::Value::Array(samples));
        }
        Command::Compensation { which: Compensation::Assess { input } } => {
            let text = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
            let de = &mut serde_json::Deserializer::from_slice(&text);
            let request: cmp_app::compensation::AssessmentRequest = serde_path_to_error::deserialize(de)
                .map_err(|e| format!("{}: at {}: {}", input.display(), e.path(), e.inner()))?;
            match cmp_app::compensation::assess(&request) {
                Ok(a) => println!("{}", serde_json::to_string_pretty(&a)?),
                Err(e) => return Err(format!("{} ({}): {e}", e.code(), e.path()).into()),
            }
        }
        Command::Resolve { which: Some(which), .. } => match *which {
            Resolve::Train { input, model_out, map, base, note, truth } => {
                cmpctl::resolve::train(
                    &input,
                    &model_out,
                    map.as_deref(),
                    base.as_deref(),
                    note.as_deref(),
                    truth.as_deref(),
                )?;
            }
            Resolve::Generate { people, output, seed, damage } => {
                cmpctl::resolve::generate(people, &output, seed, damage)?;
            }
        },
        Command::Resolve { which: None, args } => {
            let ResolveArgs { input, output, truth, model, map, upper, lower, cluster, incremental, seed } = *args;
            let input = input.ok_or("--input is required")?;
            let output = output.ok_or("--output is required")?;
            cmpctl::resolve::run(cmpctl::resolve::RunOptions {
                input: &input,
                output: &output,
                truth: truth.as_deref(),
                model: model.as_deref(),
                map: map.as_deref(),
                upper,
                lower,
                cluster,
                incremental,
                seed,
            })?;
        }
        Command::Bench { which: Bench::Export { profiles, seed } } => {
            let r = cmpctl::bench_export::export(profiles, seed).await?;
            println!(
                "partner export benchmark: {} profiles ({} with partner_sharing in force)",
                r.profiles, r.consenting
            );
            println!("  seeding (bulk load, one KMS data key per customer): {:.1} s", r.seed_seconds);
            println!(
                "  export of all {} partners: {:.1} s = {:.0} profiles/s",
                cmp_app::export::PARTNERS.len(),
                r.export_seconds,
                r.profiles_per_second
            );
            println!(
                "    of which the table scan: {:.1} s; the rest (decrypt, pseudonymise, k-anonymise, write): {:.1} s = {:.0} profiles/s",
                r.scan_seconds,
                r.export_seconds - r.scan_seconds,
                r.profiles as f64 / (r.export_seconds - r.scan_seconds).max(1e-9)
            );
            for (op, n) in &r.calls {
                println!("  {op}: {n} ({:.3} per profile)", *n as f64 / r.profiles as f64);
            }
            println!("  k-anonymity suppression (share of the partner's selected rows):");
            for s in &r.suppression {
                let total = s.rows + s.suppressed;
                println!(
                    "    {:<16} k={:<3} rows {:>7}  suppressed {:>6} ({:.2} %)",
                    s.partner,
                    s.k,
                    s.rows,
                    s.suppressed,
                    if total == 0 { 0.0 } else { 100.0 * s.suppressed as f64 / total as f64 }
                );
            }
        }
        Command::Bench { which: Bench::Import { rows } } => {
            let report = cmpctl::bench_import::import(rows).await?;
            println!("{}", report.render());
        }
        Command::Bench { which: Bench::Compensate { passengers } } => {
            let report = cmpctl::bench_compensate::compensate(passengers).await?;
            println!("{}", report.render());
        }
        Command::Bench { which: Bench::Auth { reads } } => {
            let report = cmpctl::bench::auth(reads).await?;
            println!("{}", report.render());
        }
        Command::Bench { which: Bench::Init { runs, profile } } => {
            let report = cmpctl::bench_init::init(runs, &profile).await?;
            println!("{}", report.render());
        }
        Command::Bench { which: Bench::Ingest { customers, probes, poll_ms } } => {
            let report = cmpctl::bench::ingest(customers, probes, Duration::from_millis(poll_ms)).await?;
            println!("{}", report.render());
        }
    }
    Ok(())
}

fn tracing_subscriber_init() {
    cmp_app::telemetry::init();
}
