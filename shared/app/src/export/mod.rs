//! Partner exports: for each partner configured in [`PARTNERS`], the customers whose
//! `partner_sharing` consent is in force, without direct identifiers, keyed by a per-partner keyed
//! pseudonym (two partners cannot join their files), quasi-identifiers generalised, and rows of
//! equivalence classes smaller than k suppressed (k-anonymity). Written as gzip JSON Lines and
//! Parquet under `partner=<p>/date=<d>/` with a manifest (row counts, checksums, schema version, k,
//! what was suppressed, and erasure notices for the partner).
use crate::consent::{jurisdiction_of, may_use, ConsentRecord, Purpose};
use crate::crypto::{purpose_context, KeyError, KeyRing, KeyService, WrappedKeyStore};
use crate::domain::CustomerId;
use crate::error::CmpError;
use crate::rights::ExportStore;
use crate::store::{ProfileRecord, ProfileStatus};
use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;

pub mod analytics;
pub mod parquet_file;

/// Version of the row layout and manifest.
pub const SCHEMA_VERSION: u32 = 1;
/// k of the k-anonymity check unless a run says otherwise.
pub const DEFAULT_K: usize = 10;
/// Customers whose fields are decrypted at once (one keys-table read and one KMS call each).
const DECRYPT_CONCURRENCY: usize = 32;
/// How long after an erasure its notice is repeated in every manifest.
pub const ERASURE_NOTICE_DAYS: i64 = 30;

/// A quasi-identifier a partner may receive, always generalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Qi {
    AgeBand,
    Country,
    Tier,
    TravelFrequency,
    HomeRegion,
}

impl Qi {
    pub fn as_str(self) -> &'static str {
        match self {
            Qi::AgeBand => "age_band",
            Qi::Country => "country",
            Qi::Tier => "tier",
            Qi::TravelFrequency => "travel_frequency",
            Qi::HomeRegion => "home_region",
        }
    }
}

/// One partner: what they get and where. The one place partners are configured.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Partner {
    pub id: &'static str,
    pub name: &'static str,
    /// Loyalty tiers exported (empty: every customer, members or not).
    pub tiers: &'static [&'static str],
    /// Segments exported ([`crate::segments`]): a customer in any of them (empty: any customer).
    pub segments: &'static [&'static str],
    pub fields: &'static [Qi],
    /// On which days the scheduled run (daily in the template) exports for them.
    pub schedule: Schedule,
}

/// How often a partner receives a scheduled export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Daily,
    /// Once a week, on this day (UTC date of the run).
    Weekly(chrono::Weekday),
}

impl Schedule {
    /// Whether the scheduled run on `date` exports for the partner.
    pub fn due(self, date: NaiveDate) -> bool {
        match self {
            Schedule::Daily => true,
            Schedule::Weekly(day) => date.weekday() == day,
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Daily => f.write_str("daily"),
            Schedule::Weekly(d) => write!(f, "weekly ({d})"),
        }
    }
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Partner {
    pub fn prefix(&self, date: NaiveDate) -> String {
        format!("partner={}/date={}/", self.id, date.format("%Y-%m-%d"))
    }
    /// Where the partner's pseudonym key is kept (wrapped) in the keys table.
    pub fn key_id(&self) -> String {
        format!("__partner#{}#pseudonym#v1", self.id)
    }
}

pub const PARTNERS: &[Partner] = &[
    Partner {
        id: "aurora-hotels",
        name: "Aurora Hotels",
        tiers: &["silver", "gold", "platinum"],
        segments: &[],
        fields: &[Qi::AgeBand, Qi::Country, Qi::Tier, Qi::TravelFrequency],
        schedule: Schedule::Daily,
    },
    Partner {
        id: "velo-car-rental",
        name: "Velo Car Rental",
        tiers: &[],
        segments: &[],
        fields: &[Qi::AgeBand, Qi::Country, Qi::HomeRegion],
        schedule: Schedule::Daily,
    },
    Partner {
        id: "skyrest-lounges",
        name: "SkyRest Lounges",
        tiers: &[],
        // elite members and frequent flyers of any tier
        segments: &["elite", "frequent_flyer"],
        fields: &[Qi::Tier, Qi::TravelFrequency, Qi::HomeRegion],
        // lounge access lists are refreshed weekly
        schedule: Schedule::Weekly(chrono::Weekday::Mon),
    },
];

pub fn partner(id: &str) -> Option<&'static Partner> {
    PARTNERS.iter().find(|p| p.id == id)
}

/// What a customer looks like to the export, before the partner's selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub customer_id: CustomerId,
    pub tier: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub country: Option<String>,
    pub home_airport: Option<String>,
    pub bookings: u32,
    pub segments: Vec<String>,
}

/// The generalised quasi-identifiers of a candidate.
pub fn generalise(c: &Candidate, today: NaiveDate) -> BTreeMap<Qi, String> {
    let age = c.date_of_birth.map(|d| {
        let mut a = today.year() - d.year();
        if (today.month(), today.day()) < (d.month(), d.day()) {
            a -= 1;
        }
        a
    });
    let age_band = match age {
        None => "unknown",
        Some(a) if a < 18 => "under_18",
        Some(a) if a < 25 => "18-24",
        Some(a) if a < 35 => "25-34",
        Some(a) if a < 45 => "35-44",
        Some(a) if a < 55 => "45-54",
        Some(a) if a < 65 => "55-64",
        Some(_) => "65+",
    };
    let frequency = match c.bookings {
        0 => "0",
        1..=2 => "1-2",
        3..=5 => "3-5",
        _ => "6+",
    };
    let home_region = c
        .home_airport
        .as_deref()
        .and_then(crate::compensation::reference::airport)
        .map(|a| region(&a.country))
        .unwrap_or("unknown");
    BTreeMap::from([
        (Qi::AgeBand, age_band.to_owned()),
        (Qi::Country, c.country.clone().unwrap_or_else(|| "unknown".into())),
        (Qi::Tier, c.tier.clone().unwrap_or_else(|| "none".into())),
        (Qi::TravelFrequency, frequency.to_owned()),
        (Qi::HomeRegion, home_region.to_owned()),
    ])
}

/// A country's region, for the home airport.
pub fn region(country: &str) -> &'static str {
    match country {
        "IE" | "GB" => "british_isles",
        "DK" | "FI" | "IS" | "NO" | "SE" => "nordics",
        "AT" | "CH" | "DE" | "LI" => "dach",
        "BE" | "LU" | "NL" => "benelux",
        "FR" | "MC" => "france",
        "ES" | "PT" | "AD" | "GI" => "iberia",
        "IT" | "MT" | "SM" | "VA" => "italy_malta",
        "CZ" | "HU" | "PL" | "SK" | "SI" => "central_europe",
        "EE" | "LV" | "LT" => "baltics",
        "BG" | "RO" | "GR" | "CY" | "HR" | "RS" | "BA" | "ME" | "MK" | "AL" | "TR" => "south_east_europe",
        _ => "rest_of_world",
    }
}

/// A per-partner keyed pseudonym: HMAC-SHA-256 of the customer id under the partner's own key.
#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

impl Pseudonymiser {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Pseudonymiser { mac: Hmac::new_from_slice(key).expect("HMAC takes any key length") }
    }

    /// The partner's key: unwrapped from the keys table, created on first use.
    pub async fn load(kms: &dyn KeyService, store: &dyn WrappedKeyStore, p: &Partner) -> Result<Self, KeyError> {
        Self::load_keyed(kms, store, &p.key_id(), &format!("partner-pseudonym:{}", p.id)).await
    }

    /// A pseudonym key kept wrapped under `key_id` in the keys table (KMS encryption context
    /// `purpose=<purpose>`), created on first use; a race is settled by a conditional write.
    pub async fn load_keyed(
        kms: &dyn KeyService,
        store: &dyn WrappedKeyStore,
        key_id: &str,
        purpose: &str,
    ) -> Result<Self, KeyError> {
        let ctx = purpose_context(purpose);
        let wrapped = match store.get_wrapped(key_id).await? {
            Some(w) => w,
            None => {
                let (_, wrapped) = kms.generate_data_key(&ctx).await?;
                if store.put_wrapped_if_absent(key_id, &wrapped, purpose).await? {
                    wrapped
                } else {
                    store.get_wrapped(key_id).await?.ok_or(KeyError::Missing)?
                }
            }
        };
        Ok(Pseudonymiser::from_key(&kms.decrypt_data_key(&wrapped, &ctx).await?))
    }

    /// The keyed pseudonym of any value, `<prefix>_` and 32 hex digits.
    pub fn keyed(&self, prefix: &str, value: &str) -> String {
        let mut m = self.mac.clone();
        m.update(value.as_bytes());
        format!("{prefix}_{}", crate::domain::ids::hex(&m.finalize().into_bytes()[..16]))
    }

    pub fn pseudonym(&self, id: &CustomerId) -> String {
        self.keyed("p", id.as_str())
    }
}

/// One exported row: the pseudonym and the partner's generalised fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub pseudonym: String,
    #[serde(flatten)]
    pub fields: BTreeMap<&'static str, String>,
}

/// A partner's rows after selection and the k-anonymity check, with what was left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Selection {
    pub rows: Vec<Row>,
    pub considered: usize,
    pub without_consent: usize,
    pub out_of_segment: usize,
    pub suppressed_rows: usize,
    pub suppressed_classes: usize,
    pub classes: usize,
}

/// Selects, generalises and k-anonymises the rows of one partner. `consenting` says whether the
/// customer's `partner_sharing` consent is in force.
pub fn select(
    p: &Partner,
    candidates: &[(Candidate, bool)],
    pseudonyms: &Pseudonymiser,
    k: usize,
    today: NaiveDate,
) -> Selection {
    let mut sel = Selection { considered: candidates.len(), ..Default::default() };
    let mut classes: HashMap<Vec<String>, Vec<Row>> = HashMap::new();
    for (c, consenting) in candidates {
        if !consenting {
            sel.without_consent += 1;
            continue;
        }
        let tier_ok = p.tiers.is_empty() || c.tier.as_deref().is_some_and(|t| p.tiers.contains(&t));
        let segment_ok = p.segments.is_empty() || c.segments.iter().any(|s| p.segments.contains(&s.as_str()));
        if !tier_ok || !segment_ok {
            sel.out_of_segment += 1;
            continue;
        }
        let g = generalise(c, today);
        let fields: BTreeMap<&'static str, String> =
            p.fields.iter().map(|q| (q.as_str(), g.get(q).cloned().unwrap_or_default())).collect();
        let class: Vec<String> = fields.values().cloned().collect();
        classes.entry(class).or_default().push(Row { pseudonym: pseudonyms.pseudonym(&c.customer_id), fields });
    }
    sel.classes = classes.len();
    for (_, rows) in classes {
        if rows.len() < k {
            sel.suppressed_rows += rows.len();
            sel.suppressed_classes += 1;
        } else {
            sel.rows.extend(rows);
        }
    }
    sel.rows.sort_by(|a, b| a.pseudonym.cmp(&b.pseudonym));
    sel
}

/// Gzip JSON Lines of the rows.
pub fn jsonl_gz(rows: &[Row]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for r in rows {
        let _ = serde_json::to_writer(&mut gz, r);
        let _ = gz.write_all(b"\n");
    }
    gz.finish().unwrap_or_default()
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    crate::domain::ids::hex(&Sha256::digest(b))
}

/// Everything the export reads: profiles, consent ledgers, booking counts.
#[derive(Debug, Clone, Default)]
pub struct ExportItems {
    pub profiles: Vec<ProfileRecord>,
    pub consents: HashMap<CustomerId, Vec<ConsentRecord>>,
    pub bookings: HashMap<CustomerId, u32>,
    /// Every timeline entry, by customer (only when asked for).
    pub timelines: HashMap<CustomerId, Vec<crate::store::TimelineRecord>>,
}

/// The port the export reads the customer base through.
#[async_trait]
pub trait ExportScan: Send + Sync {
    /// Profiles, consent ledgers and booking counts; with `timelines`, every timeline entry too.
    async fn export_items(&self, timelines: bool) -> Result<ExportItems, CmpError>;
}

/// The report of one partner's export.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerReport {
    pub partner: &'static str,
    pub prefix: String,
    pub manifest: Value,
}

pub struct Exporter {
    scan: Arc<dyn ExportScan>,
    keys: Arc<KeyRing>,
    kms: Arc<dyn KeyService>,
    key_store: Arc<dyn WrappedKeyStore>,
    out: Arc<dyn ExportStore>,
}

impl Exporter {
    pub fn new(
        scan: Arc<dyn ExportScan>,
        keys: Arc<KeyRing>,
        kms: Arc<dyn KeyService>,
        key_store: Arc<dyn WrappedKeyStore>,
        out: Arc<dyn ExportStore>,
    ) -> Self {
        Exporter { scan, keys, kms, key_store, out }
    }

    /// The candidates with their `partner_sharing` decision; personal fields are decrypted only
    /// for customers whose consent is in force. Also the customers erased recently.
    pub async fn candidates(&self, now: DateTime<Utc>) -> Result<(Vec<(Candidate, bool)>, Vec<CustomerId>), CmpError> {
        let items = self.scan.export_items(false).await?;
        let mut erased = Vec::new();
        let mut pending = Vec::new();
        for p in &items.profiles {
            match p.status {
                ProfileStatus::Erased => {
                    if p.erased_at.is_some_and(|e| now - e < chrono::Duration::days(ERASURE_NOTICE_DAYS)) {
                        erased.push(p.id.clone());
                    }
                    continue;
                }
                ProfileStatus::Merged => continue,
                ProfileStatus::Active => {}
            }
            let ledger = items.consents.get(&p.id).map(Vec::as_slice).unwrap_or_default();
            let consenting = may_use(ledger, jurisdiction_of(ledger), Purpose::PartnerSharing, now).allowed;
            let bookings = items.bookings.get(&p.id).copied().unwrap_or(0);
            pending.push((p.clone(), consenting, bookings));
        }
        // personal fields are decrypted (a data key each) only for consenting customers, many at once
        let out: Vec<(Candidate, bool)> = futures::stream::iter(pending)
            .map(|(p, consenting, bookings)| {
                let keys = self.keys.clone();
                async move {
                    let mut c = Candidate {
                        customer_id: p.id.clone(),
                        tier: p.tier.clone(),
                        date_of_birth: None,
                        country: None,
                        home_airport: None,
                        bookings,
                        segments: p.segments.clone(),
                    };
                    if consenting {
                        let key = keys.key_for(&p.id).await?;
                        let g = crate::merge::open_profile(&key, &p)?;
                        c.date_of_birth = g.date_of_birth.as_ref().map(|d| d.date());
                        c.country = g
                            .address
                            .as_ref()
                            .map(|a| a.country.as_str().to_owned())
                            .or_else(|| g.nationality.as_ref().map(|n| n.as_str().to_owned()));
                        c.home_airport = g.preferences.home_airport.clone();
                    }
                    Ok::<_, CmpError>((c, consenting))
                }
            })
            .buffered(DECRYPT_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        Ok((out, erased))
    }

    /// Exports for `partners`; answers one report per partner.
    pub async fn run(
        &self,
        partners: &[&'static Partner],
        k: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<PartnerReport>, CmpError> {
        let (candidates, erased) = self.candidates(now).await?;
        self.write(partners, k, now, &candidates, &erased).await
    }

    /// Writes the partners' files from candidates read before.
    pub async fn write(
        &self,
        partners: &[&'static Partner],
        k: usize,
        now: DateTime<Utc>,
        candidates: &[(Candidate, bool)],
        erased: &[CustomerId],
    ) -> Result<Vec<PartnerReport>, CmpError> {
        let today = now.date_naive();
        let mut reports = Vec::new();
        for p in partners {
            let pseudonyms = Pseudonymiser::load(self.kms.as_ref(), self.key_store.as_ref(), p).await?;
            let sel = select(p, candidates, &pseudonyms, k, today);
            let prefix = p.prefix(today);
            let jsonl = jsonl_gz(&sel.rows);
            let columns: Vec<&'static str> = p.fields.iter().map(|q| q.as_str()).collect();
            let parquet = parquet_file::write(&columns, &sel.rows)?;
            let mut files = Vec::new();
            for (name, body, ct) in [
                ("customers.jsonl.gz", jsonl, "application/gzip"),
                ("customers.parquet", parquet, "application/vnd.apache.parquet"),
            ] {
                files.push(json!({"key": format!("{prefix}{name}"), "bytes": body.len(), "sha256": sha256_hex(&body), "rows": sel.rows.len()}));
                self.out.put(&format!("{prefix}{name}"), body, ct).await?;
            }
            let manifest = json!({
                "partner": p.id,
                "date": today.format("%Y-%m-%d").to_string(),
                "generated_at": now,
                "schema_version": SCHEMA_VERSION,
                "k": k,
                "columns": std::iter::once("pseudonym").chain(columns.iter().copied()).collect::<Vec<_>>(),
                "rows": sel.rows.len(),
                "considered": sel.considered,
                "excluded_without_consent": sel.without_consent,
                "excluded_out_of_segment": sel.out_of_segment,
                "suppressed_rows": sel.suppressed_rows,
                "suppressed_classes": sel.suppressed_classes,
                "classes": sel.classes,
                "files": files,
                // customers erased recently: the partner deletes whatever it holds under these
                "erasure_notices": erased.iter().map(|id| pseudonyms.pseudonym(id)).collect::<Vec<_>>(),
            });
            let body = serde_json::to_vec_pretty(&manifest).map_err(|e| CmpError::Integrity(e.to_string()))?;
            // the manifest last: its arrival (the S3 event to the partner's topic) means the files are complete
            self.out.put(&format!("{prefix}manifest.json"), body, "application/json").await?;
            tracing::info!(
                partner = p.id,
                rows = sel.rows.len(),
                suppressed = sel.suppressed_rows,
                "partner export written"
            );
            reports.push(PartnerReport { partner: p.id, prefix, manifest });
        }
        Ok(reports)
    }
}

#[cfg(test)]
mod tests;
