use super::*;
use crate::audit::AuditEntry;
use crate::consent::ConsentLedger;
use crate::crypto::fake::FakeKms;
use crate::crypto::{BlindIndexer, CachePolicy};
use crate::merge::Merge;
use crate::rights::MemoryExports;
use crate::schema::EventValidator;
use crate::store::memory::MemoryStore;
use crate::store::PrivacyStore;
use bytes::Bytes;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn cand(i: u32, tier: &str, country: &str, year: i32) -> Candidate {
    Candidate {
        customer_id: format!("cus_{:032x}", i).parse().unwrap(),
        tier: Some(tier.into()),
        date_of_birth: NaiveDate::from_ymd_opt(year, 6, 1),
        country: Some(country.into()),
        home_airport: Some("DUB".into()),
        bookings: i % 4,
        segments: crate::segments::segments(crate::segments::Inputs {
            tier: Some(tier),
            loyalty_member: true,
            bookings: i % 4,
            sources: 1,
        }),
    }
}

#[test]
fn quasi_identifiers_are_generalised() {
    let g = generalise(&cand(1, "gold", "IE", 1990), today());
    assert_eq!(g[&Qi::AgeBand], "35-44");
    assert_eq!(g[&Qi::TravelFrequency], "1-2");
    assert_eq!(g[&Qi::HomeRegion], "british_isles");
    let young = Candidate { date_of_birth: NaiveDate::from_ymd_opt(2008, 11, 24), ..cand(2, "gold", "IE", 0) };
    assert_eq!(generalise(&young, today())[&Qi::AgeBand], "under_18", "17 the day before the birthday");
}

#[test]
fn every_class_has_k_rows_and_pseudonyms_do_not_join_across_partners() {
    // 40 consenting gold customers in IE born in the 1980s, 3 unusual ones, 5 without consent
    let mut cands: Vec<(Candidate, bool)> = (0..40).map(|i| (cand(i, "gold", "IE", 1985), true)).collect();
    cands.push((cand(100, "gold", "MT", 1950), true));
    cands.push((cand(101, "platinum", "IS", 2000), true));
    cands.push((cand(102, "gold", "IE", 1940), true));
    cands.extend((200..205).map(|i| (cand(i, "gold", "IE", 1985), false)));
    let hotels = partner("aurora-hotels").unwrap();
    let lounges = partner("skyrest-lounges").unwrap();
    let (kh, kl) = (Pseudonymiser::from_key(&[1; 32]), Pseudonymiser::from_key(&[2; 32]));
    for k in [5, 10, 20] {
        let sel = select(hotels, &cands, &kh, k, today());
        assert_eq!(sel.without_consent, 5);
        let mut counts: HashMap<Vec<String>, usize> = HashMap::new();
        for r in &sel.rows {
            *counts.entry(r.fields.values().cloned().collect()).or_default() += 1;
        }
        assert!(counts.values().all(|n| *n >= k), "k={k}: {counts:?}");
        assert_eq!(sel.rows.len() + sel.suppressed_rows, 43, "every consenting customer is a row or suppressed");
        assert!(sel.suppressed_rows >= 3, "the three unusual customers stand out");
    }
    let a = select(hotels, &cands, &kh, 5, today());
    let b = select(lounges, &cands, &kl, 5, today());
    let ha: std::collections::HashSet<&str> = a.rows.iter().map(|r| r.pseudonym.as_str()).collect();
    assert!(b.rows.iter().all(|r| !ha.contains(r.pseudonym.as_str())), "two partners' files join");
    // stable between runs for one partner
    assert_eq!(a.rows, select(hotels, &cands, &Pseudonymiser::from_key(&[1; 32]), 5, today()).rows);
    // segments: lounges take elite members and frequent flyers only
    let silver: Vec<(Candidate, bool)> = (0..12).map(|i| (cand(300 + i, "silver", "IE", 1985), true)).collect();
    assert_eq!(select(lounges, &silver, &kl, 5, today()).out_of_segment, 12);
    let frequent: Vec<(Candidate, bool)> = (0..12)
        .map(|i| {
            let mut c = cand(400 + i, "silver", "IE", 1985);
            c.bookings = 6;
            c.segments.push("frequent_flyer".into());
            (c, true)
        })
        .collect();
    let sel = select(lounges, &frequent, &kl, 5, today());
    assert_eq!((sel.out_of_segment, sel.rows.len()), (0, 12), "frequent flyers of any tier");
}

struct World {
    store: Arc<MemoryStore>,
    merge: Merge,
    ledger: ConsentLedger,
    exports: Arc<MemoryExports>,
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
    let exporter = Exporter::new(store.clone(), keys, kms, store.clone(), exports.clone());
    World { store, merge, ledger, exports, exporter }
}

fn person(i: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "specversion": "1.0", "id": format!("x{i}"), "source": "/channels/loyalty", "type": "customer.profile_observed",
        "time": "2026-11-20T10:00:00Z", "subject": format!("m{i}"),
        "data": {"channel": "loyalty", "name": {"given": format!("Given{i}"), "family": format!("Family{i}")},
                 "emails": [{"address": format!("person{i}@example.com"), "verified": true}],
                 "phones": [{"number": format!("+353 87 {}", 2_946_100 + i)}],
                 "documents": [{"type": "passport", "number": format!("PX{}", 4_827_100 + i), "issuing_country": "IE"}],
                 "date_of_birth": "1986-03-14", "address": {"lines": ["1 Main St"], "city": "Cork", "country": "IE"},
                 "loyalty": {"number": format!("GA{:08}", 40_000_000 + i), "tier": "gold"},
                 "preferences": {"home_airport": "ORK"}}
    }))
    .unwrap()
}

async fn consent(w: &World, id: &CustomerId, granted: bool, day: u32) {
    let rec = ConsentRecord {
        purpose: Purpose::PartnerSharing,
        granted,
        acted_at: format!("2026-11-{day:02}T10:00:00Z").parse().unwrap(),
        recorded_at: Utc::now(),
        jurisdiction: Some("IE".into()),
        channel: "web".into(),
        legal_basis: "consent".into(),
        notice_version: "privacy-2026-09".into(),
        captured_by: "customer".into(),
        event_id: format!("c-{id}-{day}"),
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

fn rows_of(w: &World, key: &str) -> Vec<Value> {
    let gz = w.exports.objects.lock().unwrap().get(key).cloned().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut text).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn an_export_honours_consent_and_erasure_and_holds_no_personal_data() {
    let w = world();
    for i in 0..14 {
        w.merge.process_record(&person(i), "t").await.unwrap();
    }
    let ids: Vec<CustomerId> = w.store.profiles().into_iter().map(|p| p.id).collect();
    // twelve agree to partner sharing, two never said anything (IE is opt-in: no)
    for id in &ids[..12] {
        consent(&w, id, true, 10).await;
    }
    let hotels = partner("aurora-hotels").unwrap();
    let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    let run1 = w.exporter.run(&[hotels], 5, now).await.unwrap();
    let m = &run1[0].manifest;
    assert_eq!((m["rows"].as_u64(), m["excluded_without_consent"].as_u64()), (Some(12), Some(2)), "{m}");
    let prefix = "partner=aurora-hotels/date=2026-11-23/";
    let rows = rows_of(&w, &format!("{prefix}customers.jsonl.gz"));
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0]["age_band"], "35-44");
    assert_eq!(rows[0]["country"], "IE");
    // no name, e-mail, loyalty number, exact date of birth or customer id in any file
    let objects = w.exports.objects.lock().unwrap().clone();
    for (key, body) in &objects {
        let text = if key.ends_with(".gz") {
            let mut t = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(body.as_slice()), &mut t).unwrap();
            t
        } else {
            String::from_utf8_lossy(body).into_owned()
        };
        let needles =
            ["Given1", "Family1", "person1@", "GA4000000", "1986-03-14", "cus_", "Cork", "2946101", "PX4827101"];
        for needle in needles {
            assert!(!text.contains(needle), "{needle} in {key}");
        }
    }
    // the Parquet file reads back with the Parquet reader, same rows
    let pq = objects.get(&format!("{prefix}customers.parquet")).unwrap().clone();
    let reader = SerializedFileReader::new(Bytes::from(pq)).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 12);
    let first = reader.get_row_iter(None).unwrap().next().unwrap().unwrap();
    assert_eq!(first.get_string(0).unwrap(), rows[0]["pseudonym"].as_str().unwrap());
    // manifest checksums match the files
    for f in m["files"].as_array().unwrap() {
        let body = objects.get(f["key"].as_str().unwrap()).unwrap();
        assert_eq!(f["sha256"].as_str().unwrap(), sha256_hex(body));
    }

    // one withdraws, one is erased: both are gone from the next export, the erasure is announced
    let withdrawn = ids[0].clone();
    consent(&w, &withdrawn, false, 20).await;
    let erased = ids[1].clone();
    let mut tomb = w.store.get_profile_for_test(&erased);
    tomb.status = ProfileStatus::Erased;
    tomb.sealed.clear();
    tomb.erased_at = Some(now - chrono::Duration::days(1));
    w.store.put_profile_for_test(tomb);
    let run2 = w.exporter.run(&[hotels], 5, now + chrono::Duration::days(1)).await.unwrap();
    let rows2 = rows_of(&w, "partner=aurora-hotels/date=2026-11-24/customers.jsonl.gz");
    assert_eq!(rows2.len(), 10);
    let before: Vec<&str> = rows.iter().filter_map(|r| r["pseudonym"].as_str()).collect();
    let after: Vec<&str> = rows2.iter().filter_map(|r| r["pseudonym"].as_str()).collect();
    assert_eq!(before.iter().filter(|p| !after.contains(p)).count(), 2);
    assert!(after.iter().all(|p| before.contains(p)), "pseudonyms are stable between runs");
    let notices = run2[0].manifest["erasure_notices"].as_array().unwrap();
    assert_eq!(notices.len(), 1);
    assert!(before.contains(&notices[0].as_str().unwrap()), "the notice names the pseudonym the partner holds");
    assert!(w.store.consents(&withdrawn).await.unwrap().len() == 2);
}

#[test]
fn schedules_say_which_days_a_partner_is_exported() {
    let monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let lounges = partner("skyrest-lounges").unwrap();
    assert!(lounges.schedule.due(monday) && !lounges.schedule.due(monday.succ_opt().unwrap()));
    assert!(partner("velo-car-rental").unwrap().schedule.due(monday.succ_opt().unwrap()));
    assert_eq!(serde_json::to_value(lounges.schedule).unwrap(), "weekly (Mon)");
}

/// The template declares, for each partner of `PARTNERS` (and no other), its topic, its manifest
/// notification, its topic policy and its read grant, at its index in `ExportPartnerPrincipals`.
#[test]
fn the_template_declares_every_partner() {
    let template = include_str!("../../../../infra/template.yaml");
    for (i, p) in PARTNERS.iter().enumerate() {
        let camel: String = p.id.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
        for needle in [
            format!("  {camel}ExportTopic:\n    Type: AWS::SNS::Topic"),
            format!("  {camel}TopicPolicy:\n    Type: AWS::SNS::TopicPolicy"),
            format!("Topic: !Ref {camel}ExportTopic\n            Filter:\n              S3Key:\n                Rules:\n                  - {{ Name: prefix, Value: partner={}/ }}", p.id),
            format!("AWS: !Select [{i}, !Ref ExportPartnerPrincipals]\n              Action: s3:GetObject\n              Resource: !Sub '${{ExportsBucket.Arn}}/partner={}/*'", p.id),
            format!("AWS: !Select [{i}, !Ref ExportPartnerPrincipals]\n              Action: sns:Subscribe\n              Resource: !Ref {camel}ExportTopic"),
        ] {
            assert!(template.contains(&needle), "{}: the template lacks\n{needle}", p.id);
        }
    }
    assert_eq!(
        template.matches("ExportTopic:\n    Type: AWS::SNS::Topic").count(),
        PARTNERS.len(),
        "a topic of no partner"
    );
    assert_eq!(
        template.matches("Action: s3:GetObject\n              Resource: !Sub '${ExportsBucket.Arn}/partner=").count(),
        PARTNERS.len()
    );
}
