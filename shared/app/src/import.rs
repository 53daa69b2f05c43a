//! Bulk collection: a CSV or JSON Lines file dropped under `imports/` in the imports bucket is
//! validated row by row, each valid row becomes a `customer.profile_observed` event on the inbound
//! stream (so it is resolved against existing profiles by the same merge as every other event), and
//! rejected rows are written back beside the file with their reasons, with a progress object while
//! it runs and a summary object at the end.
//!
//! How a file of a million rows stays within Lambda's limits: the `import_plan` function (S3 event
//! through the import-files queue) streams the file once in ranges of [`PLAN_RANGE_BYTES`], finds
//! the record boundaries (quoted CSV fields may hold line breaks) and cuts the file into chunks of
//! [`ROWS_PER_CHUNK`] rows, each a byte range with its first row number; it records the import and
//! sends one message per chunk to the chunk queue. The `import_load` function takes one chunk per
//! invocation: one ranged read, parsing, validation, and `PutRecords` in calls of 500 — seconds of
//! work and a few MB of memory whatever the file's size, with SQS retrying a failed chunk and
//! parking it after five attempts. Every row's event id is derived from the import and the row
//! number, so a retried chunk changes nothing it already did (the merge is idempotent by event id)
//! and counts nothing twice (each chunk is counted once, by a conditional update).
use crate::domain::event::FieldError;
use crate::error::CmpError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where files are dropped in the imports bucket.
pub const PREFIX: &str = "imports/";
/// Rows per chunk (one `import_load` invocation each).
pub const ROWS_PER_CHUNK: u64 = 20_000;
/// Bytes the planner reads per ranged GET.
pub const PLAN_RANGE_BYTES: u64 = 8 * 1024 * 1024;
/// Largest row accepted.
pub const MAX_ROW_BYTES: usize = 64 * 1024;
/// Largest file accepted (a million rows of a few hundred bytes fit many times).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// The format of an import file by its name; `None` for anything else (sidecars, outputs).
    pub fn of(key: &str) -> Option<Format> {
        let k = key.to_ascii_lowercase();
        if !k.starts_with(PREFIX) || is_output(&k) {
            None
        } else if k.ends_with(".csv") {
            Some(Format::Csv)
        } else if k.ends_with(".jsonl") || k.ends_with(".ndjson") {
            Some(Format::JsonLines)
        } else {
            None
        }
    }
}

/// The objects an import writes beside its file (never imported themselves).
fn is_output(key: &str) -> bool {
    key.contains(".rejected/") || key.ends_with(".summary.json") || key.ends_with(".progress.json")
}

/// How a file maps to profile attributes. `<file>.mapping.json` beside the file overrides the
/// defaults; column names are matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSpec {
    /// Column name in the file → attribute ([`TARGETS`]), or `ignore`.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// The channel the rows came from (`loyalty`, `booking`, `partner`, ...), unless a row says.
    #[serde(default = "default_channel")]
    pub channel: String,
    /// The country of addresses, documents and national phone numbers, unless a row says.
    #[serde(default)]
    pub country: Option<String>,
    /// Whether the source system verified its e-mail addresses.
    #[serde(default)]
    pub verified_emails: bool,
}

fn default_channel() -> String {
    "partner".into()
}

impl Default for ImportSpec {
    fn default() -> Self {
        ImportSpec { columns: BTreeMap::new(), channel: default_channel(), country: None, verified_emails: false }
    }
}

/// The attributes a column can hold.
pub const TARGETS: [&str; 27] = [
    "record_id",
    "given_name",
    "family_name",
    "middle_name",
    "title",
    "email",
    "email_verified",
    "phone",
    "date_of_birth",
    "nationality",
    "loyalty_number",
    "loyalty_tier",
    "street_number",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "region",
    "country",
    "document_type",
    "document_number",
    "document_country",
    "meal",
    "seat",
    "language",
    "home_airport",
    "channel",
];

/// Usual names of columns in source systems (and in the identity data sets).
const ALIASES: [(&str, &str); 22] = [
    ("rec_id", "record_id"),
    ("id", "record_id"),
    ("given", "given_name"),
    ("first_name", "given_name"),
    ("surname", "family_name"),
    ("last_name", "family_name"),
    ("family", "family_name"),
    ("dob", "date_of_birth"),
    ("birth_date", "date_of_birth"),
    ("address_1", "address_line1"),
    ("address", "address_line1"),
    ("address_2", "address_line2"),
    ("suburb", "city"),
    ("town", "city"),
    ("postcode", "postal_code"),
    ("zip", "postal_code"),
    ("state", "region"),
    ("soc_sec_id", "document_number"),
    ("passport_number", "document_number"),
    ("loyalty", "loyalty_number"),
    ("tier", "loyalty_tier"),
    ("cluster_id", "ignore"),
];

/// The attribute of each column of a header, and the columns nothing maps (ignored, reported).
pub fn columns(header: &[String], spec: &ImportSpec) -> Result<(Vec<Option<&'static str>>, Vec<String>), String> {
    let overrides: BTreeMap<String, &String> = spec.columns.iter().map(|(k, v)| (k.trim().to_lowercase(), v)).collect();
    let mut out = Vec::new();
    let mut ignored = Vec::new();
    for h in header {
        let name = h.trim().to_lowercase();
        let target: Option<&str> = match overrides.get(&name) {
            Some(t) if t.as_str() == "ignore" => None,
            Some(t) => Some(
                TARGETS
                    .iter()
                    .copied()
                    .find(|x| x == &t.as_str())
                    .ok_or_else(|| format!("the mapping names an unknown attribute `{t}`"))?,
            ),
            None => match TARGETS.iter().copied().find(|x| *x == name) {
                Some(t) => Some(t),
                None => ALIASES.iter().find(|(a, _)| *a == name).map(|(_, t)| *t).filter(|t| *t != "ignore"),
            },
        };
        let target = target.and_then(|t| TARGETS.iter().copied().find(|x| *x == t));
        if target.is_none() {
            ignored.push(h.trim().to_owned());
        }
        out.push(target);
    }
    for t in TARGETS {
        if out.iter().filter(|c| **c == Some(t)).count() > 1 {
            return Err(format!("two columns map to `{t}`"));
        }
    }
    if !out.iter().any(|c| matches!(c, Some("email" | "phone" | "loyalty_number" | "document_number"))) {
        return Err("no column holds an identifier (email, phone, loyalty_number or document_number)".into());
    }
    Ok((out, ignored))
}

/// `YYYYMMDD` or `YYYY-MM-DD` as `YYYY-MM-DD`; anything else as given (validation says why).
fn iso_date(v: &str) -> String {
    let d: String = v.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() == 8 && (v.len() == 8 || v.len() == 10) {
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
    } else {
        v.to_owned()
    }
}

/// The `data` of a `customer.profile_observed` event from one row's values, and its record id.
pub fn row_data(cols: &[Option<&str>], values: &[&str], spec: &ImportSpec) -> (Option<String>, Value) {
    let mut f: BTreeMap<&str, String> = BTreeMap::new();
    for (c, v) in cols.iter().zip(values) {
        let v = v.trim();
        if let (Some(c), false) = (c, v.is_empty()) {
            f.insert(c, v.to_owned());
        }
    }
    let get = |k: &str| f.get(k).cloned();
    let country = get("country").or_else(|| spec.country.clone()).map(|c| c.to_uppercase());
    let mut d = Map::new();
    d.insert("channel".into(), json!(get("channel").unwrap_or_else(|| spec.channel.clone())));
    if let (Some(g), Some(fam)) = (get("given_name"), get("family_name")) {
        let mut n = json!({"given": g, "family": fam});
        if let Some(m) = get("middle_name") {
            n["middle"] = json!(m);
        }
        if let Some(t) = get("title") {
            n["title"] = json!(t.to_lowercase().trim_end_matches('.'));
        }
        d.insert("name".into(), n);
    }
    if let Some(e) = get("email") {
        let verified = spec.verified_emails
            || get("email_verified").is_some_and(|v| matches!(v.to_lowercase().as_str(), "true" | "yes" | "1"));
        d.insert("emails".into(), json!([{"address": e, "verified": verified}]));
    }
    if let Some(p) = get("phone") {
        d.insert("phones".into(), json!([{"number": p}]));
    }
    if let Some(dob) = get("date_of_birth") {
        d.insert("date_of_birth".into(), json!(iso_date(&dob)));
    }
    if let Some(n) = get("nationality") {
        d.insert("nationality".into(), json!(n.to_uppercase()));
    }
    if let Some(n) = get("loyalty_number") {
        let mut l = json!({"number": n.to_uppercase()});
        if let Some(t) = get("loyalty_tier") {
            l["tier"] = json!(t.to_lowercase());
        }
        d.insert("loyalty".into(), l);
    }
    let line1 = match (get("street_number"), get("address_line1")) {
        (Some(n), Some(l)) => Some(format!("{n} {l}")),
        (None, l) => l,
        (Some(n), None) => Some(n),
    };
    let lines: Vec<String> = line1.into_iter().chain(get("address_line2")).collect();
    if !lines.is_empty() || get("city").is_some() || get("postal_code").is_some() {
        let mut a = Map::new();
        if !lines.is_empty() {
            a.insert("lines".into(), json!(lines));
        }
        for (k, to) in [("city", "city"), ("postal_code", "postal_code"), ("region", "region")] {
            if let Some(v) = get(k) {
                a.insert(to.into(), json!(v));
            }
        }
        if let Some(c) = &country {
            a.insert("country".into(), json!(c));
        }
        d.insert("address".into(), Value::Object(a));
    }
    if let Some(n) = get("document_number") {
        let number: String = n.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase();
        let mut doc = json!({"type": get("document_type").map(|t| t.to_lowercase()).unwrap_or_else(|| "national_id".into()), "number": number});
        if let Some(c) = get("document_country").map(|c| c.to_uppercase()).or_else(|| country.clone()) {
            doc["issuing_country"] = json!(c);
        }
        d.insert("documents".into(), json!([doc]));
    }
    let mut prefs = Map::new();
    for k in ["meal", "seat", "language", "home_airport"] {
        if let Some(v) = get(k) {
            let v = if k == "seat" { v.to_lowercase() } else { v.to_uppercase() };
            let v = if k == "language" { v.to_lowercase() } else { v };
            prefs.insert(k.into(), json!(v));
        }
    }
    if !prefs.is_empty() {
        d.insert("preferences".into(), Value::Object(prefs));
    }
    (get("record_id"), Value::Object(d))
}

/// A byte range of the file holding whole rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub start: u64,
    pub end: u64,
    /// Row number (1-based, the header not counted) of the first row.
    pub first_row: u64,
    pub rows: u64,
}

/// Finds row boundaries while the file streams through it (CSV by the grammar, quoted line breaks
/// included; JSON Lines by line), and cuts the rows into chunks.
pub struct Planner {
    format: Format,
    rows_per_chunk: u64,
    csv: csv_core::Reader,
    /// Bytes of the file seen so far.
    offset: u64,
    /// Where the row being read started.
    row_start: u64,
    /// Whether the current JSON line has anything but white space.
    line_has_content: bool,
    header: Option<Vec<String>>,
    field: Vec<u8>,
    header_ends: Vec<usize>,
    rows: u64,
    chunks: Vec<Chunk>,
    chunk: Option<Chunk>,
    longest_row: usize,
}

impl Planner {
    pub fn new(format: Format, rows_per_chunk: u64) -> Self {
        Planner {
            format,
            rows_per_chunk: rows_per_chunk.max(1),
            csv: csv_core::Reader::new(),
            offset: 0,
            row_start: 0,
            line_has_content: false,
            header: (format == Format::JsonLines).then(Vec::new),
            field: Vec::new(),
            header_ends: Vec::new(),
            rows: 0,
            chunks: Vec::new(),
            chunk: None,
            longest_row: 0,
        }
    }

    fn row(&mut self, start: u64, end: u64) {
        self.longest_row = self.longest_row.max((end - start) as usize);
        self.rows += 1;
        let c = self.chunk.get_or_insert(Chunk { start, end, first_row: self.rows, rows: 0 });
        c.end = end;
        c.rows += 1;
        if c.rows == self.rows_per_chunk {
            self.chunks.extend(self.chunk.take());
        }
    }

    /// Feeds the next bytes of the file.
    pub fn feed(&mut self, mut input: &[u8]) {
        match self.format {
            Format::JsonLines => {
                for (i, b) in input.iter().enumerate() {
                    let at = self.offset + i as u64;
                    if *b == b'\n' {
                        if self.line_has_content {
                            self.row(self.row_start, at + 1);
                        }
                        self.row_start = at + 1;
                        self.line_has_content = false;
                    } else if !b.is_ascii_whitespace() {
                        self.line_has_content = true;
                    }
                }
                self.offset += input.len() as u64;
            }
            Format::Csv => {
                let mut out = [0u8; 4096];
                let mut ends = [0usize; 64];
                while !input.is_empty() {
                    let (res, nin, nout, nends) = self.csv.read_record(input, &mut out, &mut ends);
                    self.collect_header(&out[..nout], &ends[..nends]);
                    input = &input[nin..];
                    self.offset += nin as u64;
                    self.record_result(res);
                }
            }
        }
    }

    /// While the header is being read: its field bytes and field ends (csv-core gives ends as
    /// positions in the whole row's output, across calls).
    fn collect_header(&mut self, out: &[u8], ends: &[usize]) {
        if self.header.is_none() {
            self.header_ends.extend_from_slice(ends);
            self.field.extend_from_slice(out);
        }
    }

    fn record_result(&mut self, res: csv_core::ReadRecordResult) {
        if res != csv_core::ReadRecordResult::Record {
            return;
        }
        if self.header.is_none() {
            let mut prev = 0;
            let mut fields = Vec::new();
            for e in std::mem::take(&mut self.header_ends) {
                fields.push(String::from_utf8_lossy(&self.field[prev..e]).into_owned());
                prev = e;
            }
            self.header = Some(fields);
            self.field.clear();
        } else {
            self.row(self.row_start, self.offset);
        }
        self.row_start = self.offset;
    }

    /// The header (CSV), the chunks, the rows and the longest row, once the whole file was fed.
    pub fn finish(mut self) -> (Option<Vec<String>>, Vec<Chunk>, u64, usize) {
        match self.format {
            Format::JsonLines => {
                if self.line_has_content {
                    self.row(self.row_start, self.offset);
                }
            }
            Format::Csv => {
                let mut out = [0u8; 4096];
                let mut ends = [0usize; 64];
                loop {
                    let (res, _, nout, nends) = self.csv.read_record(&[], &mut out, &mut ends);
                    self.collect_header(&out[..nout], &ends[..nends]);
                    if res == csv_core::ReadRecordResult::End {
                        break;
                    }
                    self.record_result(res);
                }
            }
        }
        self.chunks.extend(self.chunk.take());
        let header = if self.format == Format::Csv { self.header } else { None };
        (header, self.chunks, self.rows, self.longest_row)
    }
}

/// One chunk of one import: what `import_load` needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkTask {
    pub import_id: String,
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub format: Format,
    /// CSV: the attribute of each column.
    #[serde(default)]
    pub columns: Vec<Option<String>>,
    pub spec: ImportSpec,
    /// The events' `source` and `time`.
    pub source: String,
    pub time: DateTime<Utc>,
    pub chunk: u32,
    pub chunks: u32,
    pub range: Chunk,
}

/// The import's id: derived from where the file is and which version of it.
pub fn import_id(bucket: &str, key: &str, etag: &str) -> String {
    let d = Sha256::digest(format!("{bucket}/{key}#{etag}").as_bytes());
    format!("imp_{}", &crate::domain::ids::hex(&d)[..24])
}

/// The events' `source` for a file: `/imports/<file name>`, characters outside the source grammar
/// replaced.
pub fn source_of(key: &str) -> String {
    let name = key.strip_prefix(PREFIX).unwrap_or(key);
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-' | '/') { c } else { '-' })
        .collect();
    let clean: Vec<&str> = clean.split('/').filter(|s| !s.is_empty()).collect();
    format!("/imports/{}", clean.join("/"))
}

/// A row turned into an event, or why not.
#[derive(Debug, Clone, PartialEq)]
pub struct RowOutcome {
    pub row: u64,
    pub record_id: Option<String>,
    /// The row as it was in the file.
    pub input: String,
    pub event: Result<Value, Vec<FieldError>>,
}

/// The rows of a chunk's bytes as events (validation of the events is the ingest's).
pub fn chunk_rows(task: &ChunkTask, bytes: &[u8]) -> Vec<RowOutcome> {
    let mut out = Vec::new();
    let event = |row: u64, record_id: &Option<String>, data: Value| {
        json!({
            "specversion": "1.0",
            "id": format!("{}:{row}", task.import_id),
            "source": task.source,
            "type": "customer.profile_observed",
            "time": task.time,
            "subject": record_id.clone().unwrap_or_else(|| format!("row-{row}")),
            "data": data,
        })
    };
    match task.format {
        Format::Csv => {
            let cols: Vec<Option<&str>> = task.columns.iter().map(|c| c.as_deref()).collect();
            let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
            let mut rec = csv::ByteRecord::new();
            let mut row = task.range.first_row;
            loop {
                let start = rdr.position().byte() as usize;
                match rdr.read_byte_record(&mut rec) {
                    Ok(false) => break,
                    Ok(true) => {
                        let end = (rdr.position().byte() as usize).min(bytes.len());
                        let input = String::from_utf8_lossy(&bytes[start..end]).trim_end().to_owned();
                        let fields: Vec<std::borrow::Cow<str>> = rec.iter().map(String::from_utf8_lossy).collect();
                        let values: Vec<&str> = fields.iter().map(|f| f.as_ref()).collect();
                        let outcome = if end - start > MAX_ROW_BYTES {
                            RowOutcome {
                                row,
                                record_id: None,
                                input: String::new(),
                                event: Err(vec![FieldError::new(
                                    "row_too_large",
                                    "",
                                    format!("a row may be at most {MAX_ROW_BYTES} bytes"),
                                )]),
                            }
                        } else if values.len() != cols.len() {
                            RowOutcome {
                                row,
                                record_id: None,
                                input,
                                event: Err(vec![FieldError::new(
                                    "column_count",
                                    "",
                                    format!("the row has {} columns, the header {}", values.len(), cols.len()),
                                )]),
                            }
                        } else {
                            let (record_id, data) = row_data(&cols, &values, &task.spec);
                            let e = event(row, &record_id, data);
                            RowOutcome { row, record_id, input, event: Ok(e) }
                        };
                        out.push(outcome);
                        row += 1;
                    }
                    Err(e) => {
                        out.push(RowOutcome {
                            row,
                            record_id: None,
                            input: String::new(),
                            event: Err(vec![FieldError::new("invalid_csv", "", e.to_string())]),
                        });
                        break;
                    }
                }
            }
        }
        Format::JsonLines => {
            let mut row = task.range.first_row;
            for line in bytes.split(|b| *b == b'\n') {
                let text = String::from_utf8_lossy(line);
                if text.trim().is_empty() {
                    continue;
                }
                let outcome = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(mut data)) => {
                        data.entry("channel").or_insert_with(|| json!(task.spec.channel));
                        let record_id = data.remove("record_id").and_then(|v| v.as_str().map(str::to_owned));
                        let e = event(row, &record_id, Value::Object(data));
                        RowOutcome { row, record_id, input: text.trim_end().to_owned(), event: Ok(e) }
                    }
                    Ok(_) => RowOutcome {
                        row,
                        record_id: None,
                        input: text.trim_end().to_owned(),
                        event: Err(vec![FieldError::new("invalid_row", "", "a line must be a JSON object")]),
                    },
                    Err(e) => RowOutcome {
                        row,
                        record_id: None,
                        input: text.trim_end().to_owned(),
                        event: Err(vec![FieldError::new("invalid_json", "", e.to_string())]),
                    },
                };
                out.push(outcome);
                row += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------- ports

/// The imports bucket.
#[async_trait]
pub trait ImportFiles: Send + Sync {
    /// Size, ETag and last modification of an object; `None` when it is gone.
    async fn head(&self, key: &str) -> Result<Option<(u64, String, DateTime<Utc>)>, CmpError>;
    /// Bytes `[start, end)` of an object.
    async fn range(&self, key: &str, start: u64, end: u64) -> Result<Vec<u8>, CmpError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CmpError>;
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), CmpError>;
}

/// The chunk queue.
#[async_trait]
pub trait ChunkQueue: Send + Sync {
    async fn send(&self, tasks: &[ChunkTask]) -> Result<(), CmpError>;
}

/// The state of one import, kept in the profile table (`IMPORT#<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportState {
    pub import_id: String,
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub format: Format,
    pub rows: u64,
    pub chunks: u32,
    pub chunks_done: u32,
    pub accepted: u64,
    pub rejected: u64,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub ignored_columns: Vec<String>,
}

#[async_trait]
pub trait ImportLedger: Send + Sync {
    /// Records a new import; `false` when it was recorded already (a redelivered file event).
    async fn start_import(&self, s: &ImportState) -> Result<bool, CmpError>;
    /// Counts one chunk once; the state after, or `None` when the chunk was counted already.
    async fn chunk_done(
        &self,
        import_id: &str,
        chunk: u32,
        accepted: u64,
        rejected: u64,
    ) -> Result<Option<ImportState>, CmpError>;
    /// The import's state now (a strongly consistent read).
    async fn state(&self, import_id: &str) -> Result<Option<ImportState>, CmpError>;
}

// ---------------------------------------------------------------- the two steps

pub struct Importer {
    files: Arc<dyn ImportFiles>,
    queue: Arc<dyn ChunkQueue>,
    ledger: Arc<dyn ImportLedger>,
    /// Rows to events on the stream: loading only (the planner has none).
    ingest: Option<Arc<crate::ingest::Ingest>>,
    bucket: String,
    rows_per_chunk: u64,
}

/// What planning a file came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    Started(ImportState),
    /// Already planned (a redelivered notification).
    Duplicate,
    /// Not an import file (an output, a sidecar), or gone.
    Skipped,
    /// The file cannot be imported; the summary says why.
    Refused(String),
}

impl Importer {
    pub fn new(
        files: Arc<dyn ImportFiles>,
        queue: Arc<dyn ChunkQueue>,
        ledger: Arc<dyn ImportLedger>,
        ingest: Arc<crate::ingest::Ingest>,
        bucket: impl Into<String>,
    ) -> Self {
        Importer { files, queue, ledger, ingest: Some(ingest), bucket: bucket.into(), rows_per_chunk: ROWS_PER_CHUNK }
    }

    /// An importer that plans files and queues their chunks, and loads none.
    pub fn planner(
        files: Arc<dyn ImportFiles>,
        queue: Arc<dyn ChunkQueue>,
        ledger: Arc<dyn ImportLedger>,
        bucket: impl Into<String>,
    ) -> Self {
        Importer { files, queue, ledger, ingest: None, bucket: bucket.into(), rows_per_chunk: ROWS_PER_CHUNK }
    }

    pub fn with_rows_per_chunk(mut self, n: u64) -> Self {
        self.rows_per_chunk = n.max(1);
        self
    }

    async fn write_json(&self, key: String, v: &Value) -> Result<(), CmpError> {
        let body = serde_json::to_vec_pretty(v).map_err(|e| CmpError::Integrity(e.to_string()))?;
        self.files.put(&key, body, "application/json").await
    }

    /// Plans one file: finds its chunks, records the import, queues the chunks.
    pub async fn plan(&self, key: &str) -> Result<Planned, CmpError> {
        let Some(format) = Format::of(key) else { return Ok(Planned::Skipped) };
        let Some((size, etag, modified)) = self.files.head(key).await? else { return Ok(Planned::Skipped) };
        let import_id = import_id(&self.bucket, key, &etag);
        let refuse = |why: String| self.refuse(key, &import_id, why);
        if size > MAX_FILE_BYTES {
            return refuse(format!("the file is larger than {MAX_FILE_BYTES} bytes")).await;
        }
        let spec = match self.files.get(&format!("{key}.mapping.json")).await? {
            None => ImportSpec::default(),
            Some(b) => match serde_json::from_slice::<ImportSpec>(&b) {
                Ok(s) => s,
                Err(e) => return refuse(format!("the mapping file does not read: {e}")).await,
            },
        };
        let mut planner = Planner::new(format, self.rows_per_chunk);
        let mut at = 0;
        while at < size {
            let end = (at + PLAN_RANGE_BYTES).min(size);
            planner.feed(&self.files.range(key, at, end).await?);
            at = end;
        }
        let (header, chunks, rows, longest) = planner.finish();
        if longest > MAX_ROW_BYTES {
            return refuse(format!("a row is longer than {MAX_ROW_BYTES} bytes")).await;
        }
        let (columns, ignored) = match (format, &header) {
            (Format::Csv, Some(h)) => match columns(h, &spec) {
                Ok((c, i)) => (c.into_iter().map(|x| x.map(str::to_owned)).collect(), i),
                Err(why) => return refuse(why).await,
            },
            (Format::Csv, None) => return refuse("the file is empty".into()).await,
            _ => (vec![], vec![]),
        };
        let now = Utc::now();
        let state = ImportState {
            import_id: import_id.clone(),
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            etag: etag.clone(),
            format,
            rows,
            chunks: chunks.len() as u32,
            chunks_done: 0,
            accepted: 0,
            rejected: 0,
            started_at: now,
            ignored_columns: ignored,
        };
        if !self.ledger.start_import(&state).await? {
            return Ok(Planned::Duplicate);
        }
        self.write_json(format!("{key}.progress.json"), &progress(&state, "running")).await?;
        let tasks: Vec<ChunkTask> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| ChunkTask {
                import_id: import_id.clone(),
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                etag: etag.clone(),
                format,
                columns: columns.clone(),
                spec: spec.clone(),
                source: source_of(key),
                time: modified,
                chunk: i as u32 + 1,
                chunks: chunks.len() as u32,
                range: *c,
            })
            .collect();
        if tasks.is_empty() {
            self.finish(&state).await?;
        }
        for batch in tasks.chunks(10) {
            self.queue.send(batch).await?;
        }
        tracing::info!(import_id, rows, chunks = chunks.len(), "import planned");
        Ok(Planned::Started(state))
    }

    /// A file that cannot be imported: the summary says why.
    async fn refuse(&self, key: &str, import_id: &str, why: String) -> Result<Planned, CmpError> {
        self.write_json(
            format!("{key}.summary.json"),
            &json!({"import_id": import_id, "key": key, "status": "refused", "reason": why, "at": Utc::now()}),
        )
        .await?;
        tracing::warn!(import_id, reason = %why, "import refused");
        Ok(Planned::Refused(why))
    }

    async fn finish(&self, s: &ImportState) -> Result<(), CmpError> {
        let mut summary = progress(s, "completed");
        summary["finished_at"] = json!(Utc::now());
        summary["rejected_rows"] = json!(if s.rejected > 0 { Some(format!("{}.rejected/", s.key)) } else { None });
        self.write_json(format!("{}.progress.json", s.key), &summary).await?;
        self.write_json(format!("{}.summary.json", s.key), &summary).await?;
        tracing::info!(import_id = %s.import_id, accepted = s.accepted, rejected = s.rejected, "import completed");
        Ok(())
    }

    /// Loads one chunk: rows to events on the stream, rejected rows written back with reasons.
    /// `Err` means "retry" (the queue redelivers the chunk).
    pub async fn load(&self, task: &ChunkTask) -> Result<(u64, u64), CmpError> {
        let ingest =
            self.ingest.as_ref().ok_or_else(|| CmpError::Config("this importer plans files and loads none".into()))?;
        let bytes = self.files.range(&task.key, task.range.start, task.range.end).await?;
        let rows = chunk_rows(task, &bytes);
        let mut rejected: Vec<Value> = Vec::new();
        let mut valid: Vec<(usize, Value)> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            match &r.event {
                Ok(e) => valid.push((i, e.clone())),
                Err(errors) => rejected.push(reject_line(r, errors)),
            }
        }
        for batch in valid.chunks(500) {
            let events: Vec<Value> = batch.iter().map(|(_, e)| e.clone()).collect();
            let (refused, not_written) = ingest.submit(&events).await;
            if !not_written.is_empty() {
                return Err(CmpError::Stream(format!("{} rows were not written to the stream", not_written.len())));
            }
            for r in refused {
                let row = &rows[batch[r.index].0];
                let errors: Vec<FieldError> =
                    r.errors.iter().map(|e| FieldError::new(&e.code, e.path.clone(), e.message.clone())).collect();
                rejected.push(reject_line(row, &errors));
            }
        }
        let (n_rejected, n_accepted) = (rejected.len() as u64, rows.len() as u64 - rejected.len() as u64);
        if !rejected.is_empty() {
            let mut body = Vec::new();
            for r in &rejected {
                body.extend(serde_json::to_vec(r).unwrap_or_default());
                body.push(b'\n');
            }
            self.files
                .put(&format!("{}.rejected/chunk-{:05}.jsonl", task.key, task.chunk), body, "application/x-ndjson")
                .await?;
        }
        if let Some(state) = self.ledger.chunk_done(&task.import_id, task.chunk, n_accepted, n_rejected).await? {
            if state.chunks_done >= state.chunks {
                self.finish(&state).await?;
            } else {
                // Chunks load in parallel, so this write may land after the last chunk's final one.
                // Reading the ledger after writing settles it: if the import is complete by now, the
                // final progress is written again; if not, the last chunk counts itself after this
                // read and so writes its progress after this one.
                self.write_json(format!("{}.progress.json", task.key), &progress(&state, "running")).await?;
                if let Some(now) = self.ledger.state(&task.import_id).await? {
                    if now.chunks_done >= now.chunks {
                        let mut done = progress(&now, "completed");
                        done["rejected_rows"] =
                            json!(if now.rejected > 0 { Some(format!("{}.rejected/", now.key)) } else { None });
                        self.write_json(format!("{}.progress.json", task.key), &done).await?;
                    }
                }
            }
        }
        tracing::info!(import_id = %task.import_id, chunk = task.chunk, accepted = n_accepted, rejected = n_rejected, "import chunk loaded");
        Ok((n_accepted, n_rejected))
    }
}

fn reject_line(r: &RowOutcome, errors: &[FieldError]) -> Value {
    json!({"row": r.row, "record_id": r.record_id, "errors": errors, "input": r.input})
}

fn progress(s: &ImportState, status: &str) -> Value {
    json!({
        "import_id": s.import_id, "key": s.key, "etag": s.etag, "format": s.format, "status": status,
        "rows": s.rows, "chunks": s.chunks, "chunks_done": s.chunks_done,
        "accepted": s.accepted, "rejected": s.rejected, "ignored_columns": s.ignored_columns,
        "started_at": s.started_at, "updated_at": Utc::now(),
    })
}

#[cfg(any(test, feature = "testkit"))]
pub mod memory;
#[cfg(test)]
mod tests;
