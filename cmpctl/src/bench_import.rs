//! `cmpctl bench import`: the bulk import's own work on a generated file, in process (the
//! in-memory bucket, queue and ledger; a stream that only counts): planning, then every chunk
//! loaded (parsing, mapping, validation as `POST /v1/events` does, PCI scrubbing, batching).
//! What it shows is whether a file of a million rows fits Lambda's limits: the planning time and
//! the time and memory of the largest chunk, not AWS's latencies.
use crate::BoxError;
use cmp_app::crypto::BlindIndexer;
use cmp_app::import::memory::{MemoryFiles, MemoryLedger, MemoryQueue};
use cmp_app::import::{ImportFiles, Importer, Planned};
use cmp_app::ingest::{EventSink, Ingest, Limits, OutRecord, RetryPolicy};
use cmp_app::schema::EventValidator;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Default)]
struct CountingStream {
    records: AtomicU64,
    bytes: AtomicU64,
}

#[async_trait::async_trait]
impl EventSink for CountingStream {
    async fn put_records(&self, records: &[OutRecord]) -> Result<Vec<Option<String>>, cmp_app::error::CmpError> {
        self.records.fetch_add(records.len() as u64, Ordering::Relaxed);
        self.bytes.fetch_add(records.iter().map(|r| r.data.len() as u64).sum(), Ordering::Relaxed);
        Ok(vec![None; records.len()])
    }
}

const GIVEN: [&str; 12] = [
    "Aoife", "Ciarán", "Maëlle", "Jonas", "Zofia", "Mateo", "Ingrid", "Dimitris", "Lucía", "Pieter", "Sinéad", "Björn",
];
const FAMILY: [&str; 12] = [
    "Byrne",
    "Kerouac",
    "Vogel",
    "Nowak",
    "García",
    "Lindqvist",
    "Papadakis",
    "Fernández",
    "de Vries",
    "Åkesson",
    "Romano",
    "Lopes",
];

/// A CSV of `rows` rows like a loyalty system's export (one row in 200 broken).
pub fn generate(rows: usize) -> Vec<u8> {
    let mut out = String::with_capacity(rows * 160);
    out.push_str("member_id,first_name,last_name,dob,address_1,suburb,postcode,email,phone,tier\n");
    for i in 0..rows {
        let (g, f) = (GIVEN[i % GIVEN.len()], FAMILY[(i / GIVEN.len()) % FAMILY.len()]);
        let dob = if i % 200 == 199 {
            "19801332".to_owned()
        } else {
            format!("19{:02}{:02}{:02}", 40 + i % 60, i % 12 + 1, i % 28 + 1)
        };
        out.push_str(&format!(
            "GA{:08},{g},{f},{dob},\"{} Main Street, Apt {}\",Cork,T12 X{:03},member{i}@example.com,+353 87 {:07},{}\n",
            10_000_000 + i,
            i % 300 + 1,
            i % 90,
            i % 1000,
            1_000_000 + i % 8_999_999,
            ["silver", "gold", "platinum", "basic"][i % 4],
        ));
    }
    out.into_bytes()
}

pub struct ImportReport {
    pub rows: u64,
    pub bytes: usize,
    pub chunks: usize,
    pub plan_seconds: f64,
    pub chunk_seconds: Vec<f64>,
    pub total_seconds: f64,
    pub accepted: u64,
    pub rejected: u64,
    pub events_bytes: u64,
    pub peak_mib: Option<f64>,
}

impl ImportReport {
    pub fn render(&self) -> String {
        let mut c = self.chunk_seconds.clone();
        c.sort_by(f64::total_cmp);
        let p = |q: f64| c.get(((q * (c.len().max(1) - 1) as f64).round()) as usize).copied().unwrap_or(f64::NAN);
        format!(
            "file: {} rows, {:.1} MB, {} chunks of up to {} rows\n\
             plan (stream the file, find rows, cut chunks): {:.2} s\n\
             load per chunk (parse, map, validate, scrub, batch): p50 {:.2} s, p90 {:.2} s, max {:.2} s\n\
             all chunks one after the other: {:.1} s = {:.0} rows/s on one core\n\
             accepted {}, rejected {} (one row in 200 has a date that does not exist); {:.1} MB of events\n\
             peak memory of this process (file held in memory, as the in-memory bucket does): {}\n",
            self.rows,
            self.bytes as f64 / 1e6,
            self.chunks,
            cmp_app::import::ROWS_PER_CHUNK,
            self.plan_seconds,
            p(0.5),
            p(0.9),
            p(1.0),
            self.total_seconds,
            self.rows as f64 / self.total_seconds,
            self.accepted,
            self.rejected,
            self.events_bytes as f64 / 1e6,
            self.peak_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "n/a".into()),
        )
    }
}

pub async fn import(rows: usize) -> Result<ImportReport, BoxError> {
    let files = Arc::new(MemoryFiles::default());
    let queue = Arc::new(MemoryQueue::default());
    let stream = Arc::new(CountingStream::default());
    let ingest = Arc::new(Ingest::new(
        stream.clone(),
        Arc::new(BlindIndexer::from_key(&[7u8; 32])),
        Arc::new(EventValidator::new().map_err(|e| e.to_string())?),
        Limits { max_batch_events: 500, max_event_bytes: 131_072, max_request_bytes: 6_000_000 },
        RetryPolicy::default(),
    ));
    let importer = Importer::new(files.clone(), queue.clone(), Arc::new(MemoryLedger::default()), ingest, "bench");
    let key = "imports/loyalty-members.csv";
    let body = generate(rows);
    let bytes = body.len();
    files.put(key, body, "text/csv").await?;
    files
        .put(
            &format!("{key}.mapping.json"),
            br#"{"channel": "loyalty", "country": "IE", "columns": {"member_id": "loyalty_number"}}"#.to_vec(),
            "application/json",
        )
        .await?;
    let t0 = Instant::now();
    let Planned::Started(state) = importer.plan(key).await? else { return Err("the file was not planned".into()) };
    let plan_seconds = t0.elapsed().as_secs_f64();
    let tasks = queue.tasks.lock().map_err(|_| "queue")?.clone();
    let mut chunk_seconds = Vec::new();
    let (mut accepted, mut rejected) = (0, 0);
    let t1 = Instant::now();
    for t in &tasks {
        let t0 = Instant::now();
        let (a, r) = importer.load(t).await?;
        chunk_seconds.push(t0.elapsed().as_secs_f64());
        accepted += a;
        rejected += r;
    }
    Ok(ImportReport {
        rows: state.rows,
        bytes,
        chunks: tasks.len(),
        plan_seconds,
        chunk_seconds,
        total_seconds: t1.elapsed().as_secs_f64(),
        accepted,
        rejected,
        events_bytes: stream.bytes.load(Ordering::Relaxed),
        peak_mib: crate::resolve::peak_rss_mib(),
    })
}
