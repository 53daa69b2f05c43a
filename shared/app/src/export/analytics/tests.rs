use super::*;
use crate::audit::AuditEntry;
use crate::consent::ConsentLedger;
use crate::crypto::fake::FakeKms;
use crate::crypto::{BlindIndexer, CachePolicy};
use crate::domain::CustomerId;
use crate::export::{partner, Exporter};
use crate::merge::Merge;
use crate::rights::MemoryExports;
use crate::schema::EventValidator;
use crate::store::memory::MemoryStore;
use bytes::Bytes;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use std::collections::{BTreeMap, HashMap, HashSet};

struct World {
    store: Arc<MemoryStore>,
    keys: Arc<KeyRing>,
    merge: Merge,
    ledger: ConsentLedger,
    exports: Arc<MemoryExports>,
    snapshot: AnalyticsSnapshot,
    exporter: Exporter,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::default());
    let kms = Arc::new(FakeKms::new());
    let keys = Arc::new(KeyRing::new(kms.clone(), store.clone(), CachePolicy::default()));
    let indexer = Arc::new(BlindIndexer::from_key(&[4; 32]));
    let merge = Merge::new(
        store.clone(),
        keys.clone(),
        kms.clone(),
        indexer.clone(),
        Arc::new(EventValidator::new().unwrap()),
        14,
    );
    let ledger = ConsentLedger::new(store.clone(), store.clone(), indexer);
    let exports = Arc::new(MemoryExports::default());
    let snapshot = AnalyticsSnapshot::new(store.clone(), keys.clone(), kms.clone(), store.clone(), exports.clone());
    let exporter = Exporter::new(store.clone(), keys.clone(), kms, store.clone(), exports.clone());
    World { store, keys, merge, ledger, exports, snapshot, exporter }
}

const BOOKING: &str = include_str!("../../../../../events/booking.recorded.json");
const COMPLAINT: &str = include_str!("../../../../../events/customer.interaction_logged.json");

fn purchase(loyalty: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "specversion": "1.0", "id": "retail-1", "source": "/channels/retail", "type": "customer.interaction_logged",
        "time": "2026-11-22T15:40:00Z", "subject": "receipt-1",
        "data": {"channel": "retail", "kind": "retail_purchase", "customer": {"loyalty_number": loyalty},
                 "amount": {"amount": 42.5, "currency": "EUR"}, "reference": "RCPT-991",
                 "flight": {"number": "GA714", "date": "2026-12-18"},
                 "items": [{"description": "Perfume", "quantity": 1}]}
    }))
    .unwrap()
}

async fn consent(w: &World, id: &CustomerId, purpose: Purpose, granted: bool) {
    let rec = ConsentRecord {
        purpose,
        granted,
        acted_at: if granted { "2026-11-22T10:00:00Z" } else { "2026-11-23T10:00:00Z" }.parse().unwrap(),
        recorded_at: Utc::now(),
        jurisdiction: Some("IE".into()),
        channel: "web".into(),
        legal_basis: "consent".into(),
        notice_version: "privacy-2026-09".into(),
        captured_by: "customer".into(),
        event_id: format!("c-{id}-{purpose:?}-{granted}"),
    };
    let entry = AuditEntry {
        at: Utc::now(),
        actor: "t".into(),
        role: "channel".into(),
        action: "consent_recorded".into(),
        customer_id: Some(id.to_string()),
        fields: vec![],
        purpose: "consent_management".into(),
        request_id: "r".into(),
        outcome: "x".into(),
    };
    w.ledger.append(id, rec, entry).await.unwrap();
}

async fn family_name(w: &World, id: &CustomerId) -> String {
    let record = w.store.get_profile_for_test(id);
    let key = w.keys.key_for(id).await.unwrap();
    crate::merge::open_profile(&key, &record).unwrap().name.map(|n| n.family).unwrap_or_default()
}

/// The rows of a Parquet file, by column name.
fn read(body: &[u8]) -> (Vec<String>, Vec<BTreeMap<String, Field>>) {
    let reader = SerializedFileReader::new(Bytes::from(body.to_vec())).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<String> = schema.columns().iter().map(|c| c.name().to_owned()).collect();
    let rows = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r: Result<Row, _>| r.unwrap().get_column_iter().map(|(n, f)| (n.clone(), f.clone())).collect())
        .collect();
    (names, rows)
}

fn s(f: &Field) -> &str {
    match f {
        Field::Str(s) => s,
        other => panic!("not a string: {other:?}"),
    }
}

#[tokio::test]
async fn the_snapshot_holds_consenting_customers_only_pseudonymised_and_joinable() {
    let w = world();
    w.merge.process_record(BOOKING.as_bytes(), "t").await.unwrap();
    w.merge.process_record(COMPLAINT.as_bytes(), "t").await.unwrap();
    w.merge.process_record(&purchase("GA61829304"), "t").await.unwrap();
    let ids: Vec<CustomerId> = w.store.profiles().into_iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), 3, "Siobhán (booking and purchase), Inès (booking), Łukasz (complaint)");
    let mut by_name = HashMap::new();
    for id in &ids {
        by_name.insert(family_name(&w, id).await, id.clone());
    }
    let (siobhan, ines, lukasz) = (&by_name["Ó Briain"], &by_name["Lefèvre"], &by_name["Wiśniewski"]);
    consent(&w, siobhan, Purpose::Analytics, true).await;
    consent(&w, siobhan, Purpose::MarketingEmail, true).await;
    consent(&w, ines, Purpose::Analytics, true).await;
    // Łukasz never said anything: IE-less and opt-in by default, so he is left out
    consent(&w, lukasz, Purpose::MarketingEmail, true).await;

    let now: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
    let report = w.snapshot.run(now).await.unwrap();
    let m = &report.manifest;
    assert_eq!(report.manifest_key, "manifests/snapshot_date=2026-11-23.json");
    assert_eq!((m["considered"].as_u64(), m["excluded_without_consent"].as_u64()), (Some(3), Some(1)), "{m}");
    let objects = w.exports.objects.lock().unwrap().clone();

    // every table reads back with a standard Parquet reader, with exactly the declared columns
    let mut tables = HashMap::new();
    for t in &TABLES {
        let key = object_key(t, now.date_naive());
        assert_eq!(key, format!("{}/snapshot_date=2026-11-23/part-00000.parquet", t.name));
        let body = objects.get(&key).unwrap_or_else(|| panic!("{key} missing"));
        let entry = m["tables"].as_array().unwrap().iter().find(|e| e["table"] == t.name).unwrap();
        assert_eq!(entry["sha256"].as_str().unwrap(), sha256_hex(body));
        let (names, rows) = read(body);
        assert_eq!(names, t.columns.iter().map(|c| c.name).collect::<Vec<_>>());
        assert_eq!(entry["rows"].as_u64(), Some(rows.len() as u64));
        tables.insert(t.name, rows);
    }
    let profiles = &tables["profiles"];
    assert_eq!(profiles.len(), 2);
    // 2 passengers x 2 segments; the complaint is Łukasz's and stays out, the purchase is in
    assert_eq!(tables["bookings"].len(), 4);
    assert_eq!(tables["interactions"].len(), 1);
    let purchase = &tables["interactions"][0];
    assert_eq!(s(&purchase["kind"]), "retail_purchase");
    assert_eq!(purchase["amount"], Field::Double(42.5));
    assert_eq!(purchase["direction"], Field::Null);
    assert_eq!(purchase["occurred_hour"], Field::Int(15));

    // the customer key joins the three tables; the booking key is shared by the two passengers
    let keys: HashSet<&str> = profiles.iter().map(|r| s(&r["customer_key"])).collect();
    assert!(tables["bookings"].iter().all(|r| keys.contains(s(&r["customer_key"]))));
    assert!(keys.contains(s(&purchase["customer_key"])));
    let bookings: HashSet<&str> = tables["bookings"].iter().map(|r| s(&r["booking_key"])).collect();
    assert_eq!(bookings.len(), 1);
    let buyer = profiles.iter().find(|r| s(&r["customer_key"]) == s(&purchase["customer_key"])).unwrap();
    assert_eq!(buyer["bookings"], Field::Int(1));
    assert_eq!(buyer["interactions"], Field::Int(1));
    assert_eq!(buyer["contactable_email"], Field::Bool(true));
    assert_eq!(s(&buyer["age_band"]), "35-44");
    assert_eq!(s(&buyer["seat_preference"]), "aisle");
    // Inès asked for a gluten-free meal (GFML: health, GDPR Art. 9): never in the analysts' dataset
    assert!(profiles.iter().all(|r| r["preferred_meal"] == Field::Null), "a special-category meal code is exported");
    let first_leg = tables["bookings"].iter().find(|r| r["segment_number"] == Field::Int(1)).unwrap();
    assert_eq!((s(&first_leg["origin"]), s(&first_leg["destination"])), ("DUB", "FRA"));
    assert_eq!(first_leg["days_before_departure"], Field::Int(27));

    // nothing that identifies a person, no free text
    for (key, body) in &objects {
        let text = String::from_utf8_lossy(body);
        for needle in [
            "Briain",
            "Siobh",
            "Lef",
            "Wi\u{15b}niewski",
            "example.net",
            "example.org",
            "GA61829304",
            "GA52077193",
            "9622183645021",
            "PX4827163",
            "21CK48307",
            "1991-02-26",
            "K7QX2M",
            "RCPT-991",
            "Perfume",
            "cus_",
            "+353",
            "87 294",
            "GFML",
        ] {
            assert!(!text.contains(needle), "{needle} in {key}");
        }
    }

    // the analytics key is not a partner's: the customer keys never equal partner pseudonyms
    consent(&w, siobhan, Purpose::PartnerSharing, true).await;
    consent(&w, ines, Purpose::PartnerSharing, true).await;
    let partner_rows = w.exporter.run(&[partner("velo-car-rental").unwrap()], 1, now).await.unwrap();
    assert_eq!(partner_rows[0].manifest["rows"], 2);
    let velo = w.exports.objects.lock().unwrap()["partner=velo-car-rental/date=2026-11-23/customers.parquet"].clone();
    let (_, velo_rows) = read(&velo);
    let velo_hex: HashSet<&str> = velo_rows.iter().map(|r| s(&r["pseudonym"]).trim_start_matches("p_")).collect();
    assert_eq!(velo_hex.len(), 2);
    assert!(keys.iter().all(|k| !velo_hex.contains(k.trim_start_matches("c_"))), "analytics and partner keys agree");

    // stable between snapshots; a withdrawal takes the customer out of the next one
    consent(&w, ines, Purpose::Analytics, false).await;
    let next = now + chrono::Duration::days(1);
    let report2 = w.snapshot.run(next).await.unwrap();
    assert_eq!(report2.manifest["customers"], 1);
    let (_, rows2) = read(&w.exports.objects.lock().unwrap()[&object_key(&PROFILES, next.date_naive())].clone());
    assert_eq!(rows2.len(), 1);
    assert!(keys.contains(s(&rows2[0]["customer_key"])), "the same customer keeps the same key");
}

#[test]
fn cells_must_match_their_columns() {
    let good = vec![vec![
        Cell::Str("c_1".into()),
        Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()),
        Cell::Int(9),
        Cell::Str("call".into()),
        Cell::Str("call_centre".into()),
        Cell::Null,
        Cell::Null,
        Cell::Null,
        Cell::Null,
    ]];
    let (_, rows) = read(&write_parquet(&INTERACTIONS, &good).unwrap());
    assert_eq!(rows[0]["occurred_date"], Field::Date(20455));
    let mut wrong_type = good.clone();
    wrong_type[0][2] = Cell::Str("nine".into());
    assert!(write_parquet(&INTERACTIONS, &wrong_type).unwrap_err().to_string().contains("occurred_hour"));
    let mut null_required = good.clone();
    null_required[0][0] = Cell::Null;
    assert!(write_parquet(&INTERACTIONS, &null_required).is_err());
    assert!(write_parquet(&INTERACTIONS, &[vec![Cell::Null]]).is_err());
    // an empty table is still a readable file with its schema
    let (names, rows) = read(&write_parquet(&BOOKINGS, &[]).unwrap());
    assert_eq!((names.len(), rows.len()), (BOOKINGS.columns.len(), 0));
}

/// `schemas/analytics.tables.json` is what the code writes; `scripts/check_schemas.py` holds the
/// template's Glue tables to it. `UPDATE_DOCS=1 cargo test -p cmp-app analytics_tables` rewrites it.
#[test]
fn analytics_tables_file_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/analytics.tables.json");
    let want = format!("{}\n", serde_json::to_string_pretty(&tables_json()).unwrap());
    if std::env::var("UPDATE_DOCS").is_ok() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "schemas/analytics.tables.json is stale: run UPDATE_DOCS=1 cargo test -p cmp-app analytics_tables"
    );
}
