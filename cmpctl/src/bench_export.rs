//! `cmpctl bench export`: seeds N customers straight into the local stack's tables (sealed with
//! their own data keys, with consent ledgers and bookings), then runs the partner exports and
//! measures profiles/s, AWS calls per profile, and the share of rows the k-anonymity check
//! suppresses at k = 5, 10, 20.
use crate::metrics::CallCounter;
use crate::stack::{LocalStack, StackOptions};
use crate::BoxError;
use chrono::{Duration as Days, TimeZone, Utc};
use cmp_app::consent::{ConsentRecord, Purpose};
use cmp_app::domain::event::{Channel, TimelineKind};
use cmp_app::domain::profile::Golden;
use cmp_app::domain::CustomerId;
use cmp_app::export::{select, ExportItems, ExportScan, Exporter, Pseudonymiser, PARTNERS};
use cmp_app::store::{ProfileRecord, ProfileStatus, TimelineRecord};
use cmp_aws::dynamo::store::BulkCustomer;
use cmp_aws::s3::S3Exports;
use futures::stream::{self, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

pub struct Suppression {
    pub partner: &'static str,
    pub k: usize,
    pub rows: usize,
    pub suppressed: usize,
}

pub struct ExportReport {
    pub profiles: usize,
    pub seed_seconds: f64,
    pub export_seconds: f64,
    /// Of `export_seconds`, the table scan (on moto, its paging restarts from the first item on
    /// every page, so this part grows with the square of the table).
    pub scan_seconds: f64,
    pub profiles_per_second: f64,
    pub consenting: usize,
    pub calls: BTreeMap<String, u64>,
    pub suppression: Vec<Suppression>,
}

const COUNTRIES: [(&str, &str, u32); 10] = [
    ("IE", "DUB", 22),
    ("GB", "LHR", 14),
    ("DE", "FRA", 12),
    ("FR", "CDG", 10),
    ("ES", "MAD", 9),
    ("IT", "FCO", 8),
    ("PL", "WAW", 8),
    ("NL", "AMS", 7),
    ("GR", "ATH", 6),
    ("US", "JFK", 4),
];
const TIERS: [(Option<&str>, u32); 5] =
    [(None, 40), (Some("basic"), 20), (Some("silver"), 20), (Some("gold"), 15), (Some("platinum"), 5)];

fn weighted<'a, T>(rng: &mut StdRng, xs: &'a [(T, u32)]) -> &'a T {
    let total: u32 = xs.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (x, w) in xs {
        if r < *w {
            return x;
        }
        r -= w;
    }
    &xs[0].0
}

/// One generated customer, sealed with their own data key.
async fn customer(
    i: usize,
    rng: &mut StdRng,
    keys: &cmp_app::crypto::KeyRing,
) -> Result<(BulkCustomer, bool), BoxError> {
    let id = CustomerId::new();
    let (key, wrapped) = keys.generate_for(&id).await?;
    let (country, airport, _) = COUNTRIES[{
        let w: Vec<((usize, ()), u32)> = COUNTRIES.iter().enumerate().map(|(n, c)| ((n, ()), c.2)).collect();
        weighted(rng, &w).0
    }];
    let tier = *weighted(rng, &TIERS);
    let born = Utc.with_ymd_and_hms(1940, 1, 1, 0, 0, 0).unwrap() + Days::days(rng.random_range(0..(66 * 365)));
    let fields = [
        ("name", json!({"given": format!("Given{i}"), "family": format!("Family{i}")})),
        ("date_of_birth", json!(born.format("%Y-%m-%d").to_string())),
        ("address", json!({"lines": [format!("{i} Main Street")], "city": "Town", "country": country})),
        ("preferences", json!({"home_airport": airport})),
    ];
    let mut golden = Golden::default();
    let mut sealed = BTreeMap::new();
    for (f, v) in fields {
        let bytes = serde_json::to_vec(&v)?;
        golden.set_field_json(f, &bytes)?; // the generated value must be what the profile holds
        sealed.insert(f.to_owned(), key.seal(id.as_str(), f, &bytes));
    }
    let now = Utc::now();
    let granted = rng.random_bool(0.7);
    let consent = ConsentRecord {
        purpose: Purpose::PartnerSharing,
        granted,
        acted_at: now - Days::days(rng.random_range(1..400)),
        recorded_at: now,
        jurisdiction: Some(country.into()),
        channel: "web".into(),
        legal_basis: "consent".into(),
        notice_version: "privacy-2026-09".into(),
        captured_by: "customer".into(),
        event_id: format!("bench-{i}"),
    };
    let bookings: u32 = rng.random_range(0..=7);
    let timeline = (0..bookings)
        .map(|b| {
            let at = now - Days::days(rng.random_range(1..365));
            let sk = TimelineRecord::sort_key(at, &format!("bench{i}x{b}"));
            TimelineRecord {
                payload: key.seal(id.as_str(), &cmp_app::merge::timeline_field(&sk), b"{}"),
                sk,
                kind: TimelineKind::Booking,
                occurred_at: at,
                source: "/systems/pss".into(),
                channel: Channel::Booking,
                event_id: format!("bench-{i}-{b}"),
                expires_at: None,
                sighting: None,
                lookups: vec![],
                origin: None,
                resolved_via: None,
                recorded_at: Some(now),
            }
        })
        .collect();
    let profile = ProfileRecord {
        id,
        version: 1,
        status: ProfileStatus::Active,
        merged_into: None,
        created_at: now,
        updated_at: now,
        tier: tier.map(str::to_owned),
        bookings,
        segments: cmp_app::segments::segments(cmp_app::segments::Inputs {
            tier,
            loyalty_member: tier.is_some(),
            bookings,
            sources: 1,
        }),
        sealed,
        lineage: BTreeMap::new(),
        sources: BTreeMap::new(),
        erased_at: None,
        members: vec![],
        match_summary: None,
    };
    Ok((BulkCustomer { profile, wrapped_key: wrapped, consents: vec![consent], timeline }, granted))
}

/// The export's scan port, timed.
struct TimedScan {
    inner: Arc<dyn ExportScan>,
    seconds: std::sync::Mutex<f64>,
}

#[async_trait::async_trait]
impl ExportScan for TimedScan {
    async fn export_items(&self, timelines: bool) -> Result<ExportItems, cmp_app::error::CmpError> {
        let started = Instant::now();
        let items = self.inner.export_items(timelines).await;
        *self.seconds.lock().expect("not poisoned") += started.elapsed().as_secs_f64();
        items
    }
}

pub async fn export(profiles: usize, seed: u64) -> Result<ExportReport, BoxError> {
    let stack = LocalStack::start(StackOptions { table_streams: false, ..StackOptions::default() }).await?;
    let result = run(&stack, profiles, seed).await;
    stack.stop().await;
    result
}

async fn run(stack: &LocalStack, profiles: usize, seed: u64) -> Result<ExportReport, BoxError> {
    let export_fn = stack.wiring.function_by_binary("export").ok_or("no export function")?.clone();
    let spec = &cmp_lambda::wiring::capability::EXPORT;
    let config = cmp_lambda::wiring::config_for(spec, &|k| export_fn.environment.get(k).cloned())?;
    let bucket = config.exports_bucket.clone().ok_or("EXPORTS_BUCKET is not set")?;
    let counter = CallCounter::default();
    let clients = crate::stack::clients(&stack.sdk, Some(&counter));
    let w =
        cmp_lambda::handlers::Wiring::build(spec, config, cmp_lambda::wiring::ServiceClients::select(&clients, spec))
            .await?;

    let (keys, store) = (w.keys()?, w.store()?);
    // seed, in chunks of 250 customers, four chunks at a time
    let started = Instant::now();
    let chunks: Vec<(usize, usize)> = (0..profiles).step_by(250).map(|s| (s, (s + 250).min(profiles))).collect();
    let consenting: Vec<usize> = stream::iter(chunks)
        .map(|(from, to)| {
            let (keys, store) = (keys.clone(), store.clone());
            async move {
                let mut rng = StdRng::seed_from_u64(seed ^ from as u64);
                let mut batch = Vec::new();
                let mut yes = 0;
                for i in from..to {
                    let (c, granted) = customer(i, &mut rng, &keys).await?;
                    yes += usize::from(granted);
                    batch.push(c);
                }
                store.bulk_load(&batch).await?;
                keys.clear_cache();
                Ok::<_, BoxError>(yes)
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let seed_seconds = started.elapsed().as_secs_f64();
    eprintln!("seeded {profiles} customers in {seed_seconds:.1} s");

    // the export, as the scheduled function runs it (a cold key cache, every partner, k = 10)
    w.keys()?.clear_cache();
    counter.reset();
    let scan = Arc::new(TimedScan { inner: w.store()?, seconds: std::sync::Mutex::new(0.0) });
    let exporter = Exporter::new(
        scan.clone(),
        w.keys()?,
        w.kms()?,
        w.store()?,
        Arc::new(S3Exports::new(clients.s3.clone(), bucket)),
    );
    let partners: Vec<_> = PARTNERS.iter().collect();
    let started = Instant::now();
    let now = Utc::now();
    let (candidates, erased) = exporter.candidates(now).await?;
    exporter.write(&partners, 10, now, &candidates, &erased).await?;
    let export_seconds = started.elapsed().as_secs_f64();
    let scan_seconds = *scan.seconds.lock().expect("not poisoned");
    let calls = counter.snapshot();

    // suppression at k = 5, 10, 20 over the same candidates
    let mut suppression = Vec::new();
    for p in PARTNERS {
        let pseudonyms = Pseudonymiser::load(w.kms()?.as_ref(), w.store()?.as_ref(), p).await?;
        for k in [5, 10, 20] {
            let sel = select(p, &candidates, &pseudonyms, k, Utc::now().date_naive());
            suppression.push(Suppression { partner: p.id, k, rows: sel.rows.len(), suppressed: sel.suppressed_rows });
        }
    }
    Ok(ExportReport {
        profiles,
        seed_seconds,
        export_seconds,
        scan_seconds,
        profiles_per_second: profiles as f64 / export_seconds,
        consenting: consenting.iter().sum(),
        calls,
        suppression,
    })
}
