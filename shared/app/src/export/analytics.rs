//! The analyst dataset: a daily, pseudonymised snapshot of profiles, bookings and interactions in
//! Parquet, of the customers whose `analytics` consent is in force, laid out for the Glue tables
//! of the template (`infra/template.yaml`, database `cmp_analytics_<env>`) so analysts query it
//! with Athena.
//!
//! What analysts get: a keyed pseudonym per customer (the analytics key, distinct from every
//! partner's, stable between snapshots so that a customer can be followed over time, and the join
//! key of the three tables), generalised attributes (age band, country, home region, tier), and
//! the facts of bookings and interactions without free text, names, contact details, documents,
//! record locators or ticket numbers. [`TABLES`] is the one definition of the columns: the
//! Parquet writer, `schemas/analytics.tables.json` (checked against the template's Glue tables
//! by `scripts/check_schemas.py`) and `docs/exports.md` follow from it.
use super::{generalise, sha256_hex, Candidate, ExportScan, Pseudonymiser, Qi};
use crate::consent::{jurisdiction_of, may_use, ConsentRecord, Purpose};
use crate::crypto::{KeyRing, KeyService, WrappedKeyStore};
use crate::domain::event::TimelineKind;
use crate::domain::profile::Golden;
use crate::error::CmpError;
use crate::merge::timeline_field;
use crate::rights::ExportStore;
use crate::store::{ProfileRecord, ProfileStatus, TimelineRecord};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Version of the tables' layout (a new column or type is a new version).
pub const SCHEMA_VERSION: u32 = 1;
/// The analytics pseudonym key, kept wrapped in the keys table.
pub const KEY_ID: &str = "__analytics#pseudonym#v1";
/// The KMS encryption context purpose of that key.
pub const KEY_PURPOSE: &str = "analytics-pseudonym";
/// The Hive-style partition column of every table (`<table>/snapshot_date=YYYY-MM-DD/`).
pub const PARTITION_KEY: &str = "snapshot_date";
/// Customers decrypted at once.
const DECRYPT_CONCURRENCY: usize = 32;
/// Rows per Parquet row group.
const ROW_GROUP: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Int,
    Double,
    Date,
    Boolean,
}

impl ColumnType {
    /// The Glue (Hive DDL) type name.
    pub fn glue(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Int => "int",
            ColumnType::Double => "double",
            ColumnType::Date => "date",
            ColumnType::Boolean => "boolean",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    pub nullable: bool,
    pub comment: &'static str,
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool, comment: &'static str) -> Column {
    Column { name, ty, nullable, comment }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Table {
    pub name: &'static str,
    pub comment: &'static str,
    pub columns: &'static [Column],
}

use ColumnType::{Boolean, Date, Double, Int, String as Str};

pub const PROFILES: Table = Table {
    name: "profiles",
    comment: "One row per customer with analytics consent in force on the snapshot date.",
    columns: &[
        col("customer_key", Str, false, "Keyed pseudonym of the customer; stable between snapshots; joins the tables"),
        col("tier", Str, true, "Loyalty tier (null: not a member)"),
        col("age_band", Str, false, "Age band on the snapshot date (unknown when no date of birth is held)"),
        col("country", Str, false, "Country of residence, else nationality (unknown when neither is held)"),
        col("home_region", Str, false, "Region of the preferred home airport"),
        col("first_seen_month", Str, false, "Month the customer first appeared in any source (YYYY-MM)"),
        col("source_systems", Int, false, "Number of source systems that told us about the customer"),
        col("bookings", Int, false, "Booking passenger records held"),
        col(
            "interactions",
            Int,
            false,
            "Interactions held (calls, e-mails, chats, purchases, check-ins, complaints, feedback)",
        ),
        col(
            "preferred_meal",
            Str,
            true,
            "Meal preference code, ordinary codes only (none revealing religion or health)",
        ),
        col("seat_preference", Str, true, "Seat preference (window, aisle...)"),
        col("preferred_language", Str, true, "Preferred language (BCP 47)"),
        col("needs_assistance", Boolean, false, "Whether any special assistance is on record"),
        col("contactable_email", Boolean, false, "Marketing e-mail consent in force"),
        col("contactable_sms", Boolean, false, "Marketing SMS consent in force"),
    ],
};

pub const BOOKINGS: Table = Table {
    name: "bookings",
    comment: "One row per booked flight segment of a customer (a passenger on a booking).",
    columns: &[
        col("customer_key", Str, false, "Keyed pseudonym of the customer"),
        col("booking_key", Str, false, "Keyed pseudonym of the booking (record locator); shared by its passengers"),
        col("booking_status", Str, false, "Status of the booking when last recorded"),
        col("booking_channel", Str, false, "Channel the booking was made on"),
        col("booked_date", Date, false, "Date the booking was made (UTC)"),
        col("passenger_type", Str, true, "ADT, CHD, INF..."),
        col("passengers_in_booking", Int, false, "Passengers on the booking"),
        col("segment_number", Int, false, "Position of the segment in the itinerary (1-based)"),
        col("flight_number", Str, false, "Marketing flight number"),
        col("operating_carrier", Str, false, "Operating carrier (IATA)"),
        col("origin", Str, false, "Origin airport (IATA)"),
        col("destination", Str, false, "Destination airport (IATA)"),
        col("departure_date", Date, false, "Local departure date"),
        col("cabin", Str, true, "Cabin"),
        col("booking_class", Str, true, "Booking class"),
        col("days_before_departure", Int, false, "Days between booking and departure"),
    ],
};

pub const INTERACTIONS: Table = Table {
    name: "interactions",
    comment: "One row per interaction of a customer; no free text, agent or reference.",
    columns: &[
        col("customer_key", Str, false, "Keyed pseudonym of the customer"),
        col("occurred_date", Date, false, "Date of the interaction (UTC)"),
        col("occurred_hour", Int, false, "Hour of the interaction (UTC, 0-23)"),
        col("kind", Str, false, "call, email, chat, retail_purchase, check_in, complaint, feedback"),
        col("channel", Str, false, "Channel the interaction came through"),
        col("direction", Str, true, "inbound or outbound"),
        col("flight_number", Str, true, "Flight the interaction was about"),
        col("amount", Double, true, "Amount paid (retail purchases), in the currency's major unit"),
        col("currency", Str, true, "ISO 4217 currency of the amount"),
    ],
};

pub const TABLES: [Table; 3] = [PROFILES, BOOKINGS, INTERACTIONS];

/// One value of a row, in the order of its table's columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Str(String),
    Int(i32),
    Double(f64),
    Date(NaiveDate),
    Bool(bool),
    Null,
}

impl Cell {
    fn opt_str(v: Option<&str>) -> Cell {
        v.map_or(Cell::Null, |s| Cell::Str(s.to_owned()))
    }
}

/// The tables' location, relative to the bucket: `<table>/snapshot_date=<d>/part-00000.parquet`.
pub fn object_key(table: &Table, date: NaiveDate) -> String {
    format!("{}/{PARTITION_KEY}={}/part-00000.parquet", table.name, date.format("%Y-%m-%d"))
}

/// Where a snapshot's manifest goes (outside the tables' locations, so Athena does not read it).
pub fn manifest_key(date: NaiveDate) -> String {
    format!("manifests/{PARTITION_KEY}={}.json", date.format("%Y-%m-%d"))
}

/// What the snapshot knows of one consenting customer, decrypted.
#[derive(Debug, Clone)]
pub struct Subject {
    pub record: ProfileRecord,
    pub golden: Golden,
    /// Timeline entries with their decrypted detail.
    pub timeline: Vec<(TimelineRecord, Value)>,
    pub ledger: Vec<ConsentRecord>,
}

/// A snapshot's rows.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub profiles: Vec<Vec<Cell>>,
    pub bookings: Vec<Vec<Cell>>,
    pub interactions: Vec<Vec<Cell>>,
}

impl Snapshot {
    pub fn rows(&self, table: &Table) -> &[Vec<Cell>] {
        match table.name {
            "profiles" => &self.profiles,
            "bookings" => &self.bookings,
            _ => &self.interactions,
        }
    }
}

fn date_of(v: &Value) -> Option<NaiveDate> {
    v.as_str().and_then(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc).date_naive())
            .ok()
            .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    })
}

fn text(v: &Value, pointer: &str) -> Option<std::string::String> {
    v.pointer(pointer).and_then(Value::as_str).map(str::to_owned)
}

/// The rows of one consenting customer.
pub fn subject_rows(s: &Subject, keys: &Pseudonymiser, now: DateTime<Utc>, out: &mut Snapshot) {
    let customer_key = keys.keyed("c", s.record.id.as_str());
    let today = now.date_naive();
    let mut bookings = 0;
    let mut interactions = 0;
    for (t, detail) in &s.timeline {
        match t.kind {
            TimelineKind::ProfileObserved => {}
            TimelineKind::Booking => {
                bookings += 1;
                let locator = text(detail, "/record_locator").unwrap_or_default();
                let booking_key = keys.keyed("b", &locator);
                let booked = detail.get("booked_at").and_then(date_of).unwrap_or(t.occurred_at.date_naive());
                let segments = detail.get("segments").and_then(Value::as_array).cloned().unwrap_or_default();
                for (i, seg) in segments.iter().enumerate() {
                    let Some(departure) = seg.get("departure_date").and_then(date_of) else { continue };
                    out.bookings.push(vec![
                        Cell::Str(customer_key.clone()),
                        Cell::Str(booking_key.clone()),
                        Cell::Str(text(detail, "/status").unwrap_or_else(|| "unknown".into())),
                        Cell::Str(text(detail, "/channel").unwrap_or_else(|| t.channel.as_str().to_owned())),
                        Cell::Date(booked),
                        Cell::opt_str(detail.get("passenger_type").and_then(Value::as_str)),
                        Cell::Int(detail.get("passengers_in_booking").and_then(Value::as_i64).unwrap_or(1) as i32),
                        Cell::Int(i as i32 + 1),
                        Cell::Str(text(seg, "/flight_number").unwrap_or_default()),
                        Cell::Str(text(seg, "/operating_carrier").unwrap_or_default()),
                        Cell::Str(text(seg, "/origin").unwrap_or_default()),
                        Cell::Str(text(seg, "/destination").unwrap_or_default()),
                        Cell::Date(departure),
                        Cell::opt_str(seg.get("cabin").and_then(Value::as_str)),
                        Cell::opt_str(seg.get("booking_class").and_then(Value::as_str)),
                        Cell::Int((departure - booked).num_days() as i32),
                    ]);
                }
            }
            kind => {
                interactions += 1;
                out.interactions.push(vec![
                    Cell::Str(customer_key.clone()),
                    Cell::Date(t.occurred_at.date_naive()),
                    Cell::Int(t.occurred_at.hour() as i32),
                    Cell::Str(kind.as_str().to_owned()),
                    Cell::Str(t.channel.as_str().to_owned()),
                    Cell::opt_str(detail.get("direction").and_then(Value::as_str)),
                    Cell::opt_str(detail.pointer("/flight/number").and_then(Value::as_str)),
                    detail.pointer("/amount/amount").and_then(Value::as_f64).map_or(Cell::Null, Cell::Double),
                    Cell::opt_str(detail.pointer("/amount/currency").and_then(Value::as_str)),
                ]);
            }
        }
    }
    let g = &s.golden;
    let candidate = Candidate {
        customer_id: s.record.id.clone(),
        tier: s.record.tier.clone(),
        date_of_birth: g.date_of_birth.as_ref().map(|d| d.date()),
        country: g
            .address
            .as_ref()
            .map(|a| a.country.as_str().to_owned())
            .or_else(|| g.nationality.as_ref().map(|n| n.as_str().to_owned())),
        home_airport: g.preferences.home_airport.clone(),
        bookings,
        segments: s.record.segments.clone(),
    };
    let q = generalise(&candidate, today);
    let first_seen = s.record.sources.values().min().copied().unwrap_or(s.record.created_at);
    let jurisdiction = jurisdiction_of(&s.ledger);
    let allowed = |p| may_use(&s.ledger, jurisdiction, p, now).allowed;
    out.profiles.push(vec![
        Cell::Str(customer_key),
        Cell::opt_str(s.record.tier.as_deref()),
        Cell::Str(q[&Qi::AgeBand].clone()),
        Cell::Str(q[&Qi::Country].clone()),
        Cell::Str(q[&Qi::HomeRegion].clone()),
        Cell::Str(format!("{:04}-{:02}", first_seen.year(), first_seen.month())),
        Cell::Int(s.record.sources.len().max(1) as i32),
        Cell::Int(bookings as i32),
        Cell::Int(interactions),
        // a meal code revealing religion or health (GDPR Art. 9) never reaches the analysts
        Cell::opt_str(g.preferences.meal.as_deref().filter(|m| !cmp_core::domain::meal::is_special_category(m))),
        Cell::opt_str(g.preferences.seat.as_deref()),
        Cell::opt_str(g.preferences.language.as_deref()),
        Cell::Bool(!g.special_assistance.is_empty()),
        Cell::Bool(allowed(Purpose::MarketingEmail)),
        Cell::Bool(allowed(Purpose::MarketingSms)),
    ]);
}

/// Writes the analyst snapshot.
pub struct AnalyticsSnapshot {
    scan: Arc<dyn ExportScan>,
    keys: Arc<KeyRing>,
    kms: Arc<dyn KeyService>,
    key_store: Arc<dyn WrappedKeyStore>,
    out: Arc<dyn ExportStore>,
}

/// What a snapshot run did.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotReport {
    pub date: NaiveDate,
    pub manifest_key: String,
    pub manifest: Value,
}

impl AnalyticsSnapshot {
    pub fn new(
        scan: Arc<dyn ExportScan>,
        keys: Arc<KeyRing>,
        kms: Arc<dyn KeyService>,
        key_store: Arc<dyn WrappedKeyStore>,
        out: Arc<dyn ExportStore>,
    ) -> Self {
        AnalyticsSnapshot { scan, keys, kms, key_store, out }
    }

    /// Builds the rows: only active customers whose `analytics` consent is in force are decrypted.
    pub async fn build(&self, now: DateTime<Utc>) -> Result<(Snapshot, Value), CmpError> {
        let mut items = self.scan.export_items(true).await?;
        let pseudonyms =
            Pseudonymiser::load_keyed(self.kms.as_ref(), self.key_store.as_ref(), KEY_ID, KEY_PURPOSE).await?;
        let (mut considered, mut without_consent) = (0usize, 0usize);
        let mut pending = Vec::new();
        for record in std::mem::take(&mut items.profiles) {
            if record.status != ProfileStatus::Active {
                continue;
            }
            considered += 1;
            let ledger = items.consents.remove(&record.id).unwrap_or_default();
            if !may_use(&ledger, jurisdiction_of(&ledger), Purpose::Analytics, now).allowed {
                without_consent += 1;
                continue;
            }
            let timeline = items.timelines.remove(&record.id).unwrap_or_default();
            pending.push((record, ledger, timeline));
        }
        let subjects: Vec<Subject> = futures::stream::iter(pending)
            .map(|(record, ledger, timeline)| {
                let keys = self.keys.clone();
                async move {
                    let key = keys.key_for(&record.id).await?;
                    let golden = crate::merge::open_profile(&key, &record)?;
                    let mut opened = Vec::with_capacity(timeline.len());
                    for t in timeline {
                        let detail: Value = serde_json::from_slice(&key.open(
                            record.id.as_str(),
                            &timeline_field(&t.sk),
                            &t.payload,
                        )?)
                        .map_err(|e| CmpError::Integrity(format!("timeline detail: {e}")))?;
                        opened.push((t, detail));
                    }
                    opened.sort_by(|a, b| a.0.sk.cmp(&b.0.sk));
                    Ok::<_, CmpError>(Subject { record, golden, timeline: opened, ledger })
                }
            })
            .buffered(DECRYPT_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let mut snapshot = Snapshot::default();
        for s in &subjects {
            subject_rows(s, &pseudonyms, now, &mut snapshot);
        }
        // rows in a stable order, whatever order the scan answered in
        for table in [&mut snapshot.profiles, &mut snapshot.bookings, &mut snapshot.interactions] {
            table.sort_by_cached_key(|r| format!("{r:?}"));
        }
        let stats = json!({
            "considered": considered,
            "excluded_without_consent": without_consent,
            "customers": subjects.len(),
        });
        Ok((snapshot, stats))
    }

    /// Builds and writes the day's snapshot: one Parquet file per table, then the manifest.
    /// A second run on the same day replaces the first.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<SnapshotReport, CmpError> {
        let (snapshot, stats) = self.build(now).await?;
        let date = now.date_naive();
        let mut tables = Vec::new();
        for table in &TABLES {
            let rows = snapshot.rows(table);
            let body = write_parquet(table, rows)?;
            let key = object_key(table, date);
            tables.push(json!({
                "table": table.name,
                "key": key,
                "rows": rows.len(),
                "bytes": body.len(),
                "sha256": sha256_hex(&body),
                "columns": table.columns.iter().map(|c| json!({"name": c.name, "type": c.ty.glue()})).collect::<Vec<_>>(),
            }));
            self.out.put(&key, body, "application/vnd.apache.parquet").await?;
        }
        let manifest = json!({
            "dataset": "analytics",
            PARTITION_KEY: date.format("%Y-%m-%d").to_string(),
            "generated_at": now,
            "schema_version": SCHEMA_VERSION,
            "consent_purpose": "analytics",
            "considered": stats["considered"],
            "excluded_without_consent": stats["excluded_without_consent"],
            "customers": stats["customers"],
            "tables": tables,
        });
        let key = manifest_key(date);
        let body = serde_json::to_vec_pretty(&manifest).map_err(|e| CmpError::Integrity(e.to_string()))?;
        self.out.put(&key, body, "application/json").await?;
        tracing::info!(customers = %stats["customers"], "analytics snapshot written");
        Ok(SnapshotReport { date, manifest_key: key, manifest })
    }
}

/// The Parquet file of a table: the columns in their order and types, nullable ones OPTIONAL.
pub fn write_parquet(table: &Table, rows: &[Vec<Cell>]) -> Result<Vec<u8>, CmpError> {
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let err = |e: &dyn std::fmt::Display| CmpError::Export(format!("parquet {}: {e}", table.name));
    let mut message = format!("message {} {{\n", table.name);
    for c in table.columns {
        let repetition = if c.nullable { "OPTIONAL" } else { "REQUIRED" };
        let physical = match c.ty {
            ColumnType::String => "BYTE_ARRAY",
            ColumnType::Int | ColumnType::Date => "INT32",
            ColumnType::Double => "DOUBLE",
            ColumnType::Boolean => "BOOLEAN",
        };
        let logical = match c.ty {
            ColumnType::String => " (UTF8)",
            ColumnType::Date => " (DATE)",
            _ => "",
        };
        message.push_str(&format!("  {repetition} {physical} {}{logical};\n", c.name));
    }
    message.push('}');
    for (i, r) in rows.iter().enumerate() {
        if r.len() != table.columns.len() {
            return Err(err(&format!("row {i} has {} values for {} columns", r.len(), table.columns.len())));
        }
    }
    let schema = Arc::new(parse_message_type(&message).map_err(|e| err(&e))?);
    let props = Arc::new(WriterProperties::builder().set_created_by("gamma-airways-cmp".into()).build());
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let mut buf = Vec::new();
    {
        let mut writer = SerializedFileWriter::new(&mut buf, schema, props).map_err(|e| err(&e))?;
        // an empty table still gets one (empty) row group, so readers see its schema
        let chunks: Vec<&[Vec<Cell>]> = if rows.is_empty() { vec![rows] } else { rows.chunks(ROW_GROUP).collect() };
        for chunk in chunks {
            let mut group = writer.next_row_group().map_err(|e| err(&e))?;
            let mut index = 0;
            while let Some(mut w) = group.next_column().map_err(|e| err(&e))? {
                let c = table.columns[index];
                let defs: Vec<i16> = chunk.iter().map(|r| i16::from(r[index] != Cell::Null)).collect();
                let defs = c.nullable.then_some(defs.as_slice());
                let mismatch = |r: &Cell| err(&format!("column {}: {r:?} is not a {}", c.name, c.ty.glue()));
                let present = chunk.iter().map(|r| &r[index]).filter(|v| **v != Cell::Null || !c.nullable);
                match c.ty {
                    ColumnType::String => {
                        let v: Vec<ByteArray> = present
                            .map(|x| match x {
                                Cell::Str(s) => Ok(ByteArray::from(s.as_str())),
                                o => Err(mismatch(o)),
                            })
                            .collect::<Result<_, _>>()?;
                        w.typed::<ByteArrayType>().write_batch(&v, defs, None).map_err(|e| err(&e))?;
                    }
                    ColumnType::Int | ColumnType::Date => {
                        let v: Vec<i32> = present
                            .map(|x| match (c.ty, x) {
                                (ColumnType::Int, Cell::Int(n)) => Ok(*n),
                                (ColumnType::Date, Cell::Date(d)) => Ok((*d - epoch).num_days() as i32),
                                (_, o) => Err(mismatch(o)),
                            })
                            .collect::<Result<_, _>>()?;
                        w.typed::<Int32Type>().write_batch(&v, defs, None).map_err(|e| err(&e))?;
                    }
                    ColumnType::Double => {
                        let v: Vec<f64> = present
                            .map(|x| match x {
                                Cell::Double(n) => Ok(*n),
                                o => Err(mismatch(o)),
                            })
                            .collect::<Result<_, _>>()?;
                        w.typed::<DoubleType>().write_batch(&v, defs, None).map_err(|e| err(&e))?;
                    }
                    ColumnType::Boolean => {
                        let v: Vec<bool> = present
                            .map(|x| match x {
                                Cell::Bool(b) => Ok(*b),
                                o => Err(mismatch(o)),
                            })
                            .collect::<Result<_, _>>()?;
                        w.typed::<BoolType>().write_batch(&v, defs, None).map_err(|e| err(&e))?;
                    }
                }
                w.close().map_err(|e| err(&e))?;
                index += 1;
            }
            group.close().map_err(|e| err(&e))?;
        }
        writer.close().map_err(|e| err(&e))?;
    }
    Ok(buf)
}

/// The tables as JSON (`schemas/analytics.tables.json`), for the template check and the docs.
pub fn tables_json() -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "partition_key": {"name": PARTITION_KEY, "type": "string", "format": "YYYY-MM-DD"},
        "tables": TABLES.iter().map(|t| json!({
            "name": t.name,
            "comment": t.comment,
            "columns": t.columns.iter().map(|c| json!({"name": c.name, "type": c.ty.glue(), "nullable": c.nullable, "comment": c.comment})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests;
