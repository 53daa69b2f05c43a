//! One contract per port, held to the in-memory fake *and* the AWS adapter on the emulator, so a
//! fake the unit tests rely on cannot quietly differ from DynamoDB or S3. Each contract is written
//! once, from what the port's documentation promises, and run against both.
//!
//! Ports covered: the audit log, the wrapped-key store, the case store, the import ledger, the
//! import files and the export store. (The profile store's contract is exercised through the integration tests of the
//! platform, which run the same use cases against DynamoDB that the unit tests run on the fake.)
use aws_sdk_dynamodb::Client as Ddb;
use chrono::{TimeZone, Utc};
use cmp_app::audit::{AuditEntry, AuditLog, ChainHead, MemoryAuditLog};
use cmp_app::cases::{memory::MemoryCases, Case, CaseFilter, CaseStatus, CaseStore};
use cmp_app::crypto::{fake::MemoryKeyStore, WrappedKeyStore};
use cmp_app::error::CmpError;
use cmp_app::import::memory::{MemoryFiles, MemoryLedger};
use cmp_app::import::{Format, ImportFiles, ImportLedger, ImportState};
use cmp_app::rights::{ExportStore, MemoryExports};
use cmp_app::store::StoreError;
use cmp_aws::dynamo::audit::DynamoAuditLog;
use cmp_aws::dynamo::cases::DynamoCases;
use cmp_aws::dynamo::imports::DynamoImportLedger;
use cmp_aws::dynamo::store::DynamoStore;
use cmp_aws::s3::S3ImportFiles;
use cmpctl::emulator::{self, Emulator};
use cmpctl::wiring::StackWiring;
use serde_json::json;

struct Aws {
    emulator: Emulator,
    wiring: StackWiring,
    ddb: Ddb,
    s3: aws_sdk_s3::Client,
}

async fn aws() -> Aws {
    let emulator = Emulator::start(emulator::free_port()).await.expect("the emulator starts (make setup)");
    let wiring = emulator::deploy(&emulator.endpoint, cmpctl::stack::REGION, "cmp-contracts").await.unwrap();
    let sdk = cmpctl::stack::emulator_sdk(&emulator.endpoint).await;
    Aws { ddb: Ddb::new(&sdk), s3: cmpctl::stack::emulator_s3(&sdk), emulator, wiring }
}

impl Aws {
    fn env(&self, binary: &str, var: &str) -> String {
        let f = self.wiring.function_by_binary(binary).unwrap_or_else(|| panic!("{binary} in the template"));
        f.environment.get(var).cloned().unwrap_or_else(|| panic!("{var} set for {binary}"))
    }
}

fn conflict<T: std::fmt::Debug>(r: Result<T, CmpError>) -> bool {
    matches!(r, Err(CmpError::Store(StoreError::Conflict)))
}

// ------------------------------------------------------------------ the audit log

fn entry(n: u32) -> AuditEntry {
    AuditEntry {
        at: Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, n).unwrap(),
        actor: "contract".into(),
        role: "system".into(),
        action: "profile.read".into(),
        customer_id: None,
        fields: vec!["email".into()],
        purpose: "service".into(),
        request_id: format!("req-{n}"),
        outcome: "allowed".into(),
    }
}

async fn audit_log_contract(log: &dyn AuditLog, chain: &str) {
    assert_eq!(log.head(chain).await.unwrap(), ChainHead::default(), "an empty chain has the genesis head");
    let r1 = ChainHead::default().next(chain.into(), entry(1));
    log.append(&r1).await.unwrap();
    assert!(conflict(log.append(&r1).await), "the same sequence number twice is a conflict");
    let skip = ChainHead { seq: 2, hash: r1.hash.clone() }.next(chain.into(), entry(9));
    assert!(conflict(log.append(&skip).await), "a gap in the sequence is a conflict");
    let head = log.head(chain).await.unwrap();
    assert_eq!(head, ChainHead { seq: 1, hash: r1.hash.clone() });
    let r2 = head.next(chain.into(), entry(2));
    log.append(&r2).await.unwrap();
    let (records, head) = log.chain(chain).await.unwrap();
    assert_eq!(records, vec![r1.clone(), r2.clone()], "the chain in sequence order, as appended");
    assert_eq!(head.seq, 2);
    assert!(cmp_app::audit::verify(&records, &head).valid, "the stored chain verifies");
    let (other, _) = log.chain(&format!("{chain}-other")).await.unwrap();
    assert!(other.is_empty(), "chains are independent");
}

#[tokio::test]
async fn the_audit_log_contract_holds_for_the_fake_and_dynamodb() {
    audit_log_contract(&MemoryAuditLog::default(), "CUST#contract").await;
    let aws = aws().await;
    let log = DynamoAuditLog::new(aws.ddb.clone(), aws.env("api", "AUDIT_TABLE"), 30);
    audit_log_contract(&log, "CUST#contract").await;
    aws.emulator.stop().await;
}

// ------------------------------------------------------------------ wrapped keys

async fn key_store_contract(keys: &dyn WrappedKeyStore) {
    assert_eq!(keys.get_wrapped("cus_contract").await.unwrap(), None);
    assert!(keys.put_wrapped_if_absent("cus_contract", b"wrapped-1", "customer").await.unwrap());
    assert!(
        !keys.put_wrapped_if_absent("cus_contract", b"wrapped-2", "customer").await.unwrap(),
        "a second key for the same id is refused"
    );
    assert_eq!(keys.get_wrapped("cus_contract").await.unwrap().as_deref(), Some(&b"wrapped-1"[..]), "the first stays");
    assert!(keys.delete_wrapped("cus_contract").await.unwrap(), "crypto-shredding deletes it");
    assert!(!keys.delete_wrapped("cus_contract").await.unwrap(), "deleting again finds none");
    assert_eq!(keys.get_wrapped("cus_contract").await.unwrap(), None, "a shredded key is gone");
}

#[tokio::test]
async fn the_wrapped_key_store_contract_holds_for_the_fake_and_dynamodb() {
    key_store_contract(&MemoryKeyStore::default()).await;
    let aws = aws().await;
    let store = DynamoStore::new(aws.ddb.clone(), aws.env("api", "PROFILES_TABLE"), aws.env("api", "KEYS_TABLE"));
    key_store_contract(&store).await;
    aws.emulator.stop().await;
}

// ------------------------------------------------------------------ cases

fn case(id: &str, queue: &str, flight_key: &str, sla_hour: u32) -> Case {
    let at = Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap();
    serde_json::from_value(json!({
        "id": id, "customer_id": "cus_0000000000000000000000000000000a", "passenger_key": "p1",
        "flight_key": flight_key, "flight": "GA123", "date": "2026-12-02", "disruption": "cancellation",
        "disruption_event": "evt-1", "disruption_time": at, "status": "open", "queue": queue, "priority": 2,
        "priority_reasons": [], "assignee": null, "assessment": {}, "request": {}, "eligible": true,
        "amount": 400, "currency": "EUR", "provisional": false, "missed_connection": false,
        "final_arrival": null, "resolution": null, "voucher_agreed_at": null, "notes": [], "history": [],
        "outcome": null, "created_at": at, "updated_at": at,
        "sla_due_at": Utc.with_ymd_and_hms(2026, 12, 2, sla_hour, 0, 0).unwrap(),
        "escalated_at": null, "effects_done": true, "version": 1
    }))
    .expect("a case")
}

async fn case_store_contract(cases: &dyn CaseStore) {
    let a = case("case_a", "eu261-standard", "GA123#2026-12-02", 12);
    let b = case("case_b", "eu261-standard", "GA123#2026-12-02", 20);
    let c = case("case_c", "eu261-priority", "GA999#2026-12-02", 11);
    assert_eq!(cases.get_case("case_a").await.unwrap(), None);
    for x in [&a, &b, &c] {
        cases.put_case(x, None).await.unwrap();
    }
    assert!(conflict(cases.put_case(&a, None).await), "creating an existing case is a conflict");
    assert_eq!(cases.get_case("case_a").await.unwrap().as_ref(), Some(&a));
    let mut a2 = a.clone();
    a2.status = CaseStatus::Closed;
    a2.version = 2;
    assert!(conflict(cases.put_case(&a2, Some(7)).await), "a stale version is a conflict");
    cases.put_case(&a2, Some(1)).await.unwrap();
    assert_eq!(cases.get_case("case_a").await.unwrap().unwrap().status, CaseStatus::Closed);
    let by_flight = CaseFilter { flight_key: Some("GA123#2026-12-02".into()), ..Default::default() };
    let mut ids: Vec<String> = cases.list_cases(&by_flight, 10).await.unwrap().into_iter().map(|c| c.id).collect();
    ids.sort();
    assert_eq!(ids, vec!["case_a", "case_b"]);
    let open =
        CaseFilter { queue: Some("eu261-standard".into()), status: Some(CaseStatus::Open), ..Default::default() };
    let ids: Vec<String> = cases.list_cases(&open, 10).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, vec!["case_b"], "filters combine");
    assert_eq!(cases.list_cases(&by_flight, 1).await.unwrap().len(), 1, "the limit holds");
    let due: Vec<String> = cases
        .due_cases("eu261-standard", Utc.with_ymd_and_hms(2026, 12, 2, 23, 0, 0).unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(due, vec!["case_b"], "a closed case is never due");
    let none = cases.due_cases("eu261-standard", Utc.with_ymd_and_hms(2026, 12, 2, 13, 0, 0).unwrap()).await.unwrap();
    assert!(none.is_empty(), "a case due later is not due yet");
}

#[tokio::test]
async fn the_case_store_contract_holds_for_the_fake_and_dynamodb() {
    case_store_contract(&MemoryCases::default()).await;
    let aws = aws().await;
    case_store_contract(&DynamoCases::new(aws.ddb.clone(), aws.env("api", "CASES_TABLE"))).await;
    aws.emulator.stop().await;
}

// ------------------------------------------------------------------ bulk import

fn import(id: &str) -> ImportState {
    ImportState {
        import_id: id.into(),
        bucket: "imports".into(),
        key: "imports/contract.csv".into(),
        etag: "etag-1".into(),
        format: Format::Csv,
        rows: 30,
        chunks: 3,
        chunks_done: 0,
        accepted: 0,
        rejected: 0,
        started_at: Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
        ignored_columns: vec![],
    }
}

async fn import_ledger_contract(ledger: &dyn ImportLedger) {
    assert_eq!(ledger.state("imp_contract").await.unwrap(), None);
    assert!(ledger.start_import(&import("imp_contract")).await.unwrap());
    assert!(!ledger.start_import(&import("imp_contract")).await.unwrap(), "a redelivered file starts nothing");
    let s = ledger.chunk_done("imp_contract", 0, 9, 1).await.unwrap().expect("the first count");
    assert_eq!((s.chunks_done, s.accepted, s.rejected), (1, 9, 1));
    assert_eq!(ledger.chunk_done("imp_contract", 0, 9, 1).await.unwrap(), None, "a chunk counts once");
    let s = ledger.chunk_done("imp_contract", 2, 10, 0).await.unwrap().unwrap();
    assert_eq!((s.chunks_done, s.accepted, s.rejected), (2, 19, 1));
    let now = ledger.state("imp_contract").await.unwrap().unwrap();
    assert_eq!((now.chunks_done, now.accepted, now.rejected, now.rows), (2, 19, 1, 30));
}

#[tokio::test]
async fn the_import_ledger_contract_holds_for_the_fake_and_dynamodb() {
    import_ledger_contract(&MemoryLedger::default()).await;
    let aws = aws().await;
    import_ledger_contract(&DynamoImportLedger::new(aws.ddb.clone(), aws.env("import_load", "PROFILES_TABLE"))).await;
    aws.emulator.stop().await;
}

async fn import_files_contract(files: &dyn ImportFiles) {
    let key = "imports/contract/people.csv";
    assert_eq!(files.head(key).await.unwrap(), None, "a missing file has no head");
    assert_eq!(files.get(key).await.unwrap(), None);
    files.put(key, b"id,name\n1,Ada\n2,Grace\n".to_vec(), "text/csv").await.unwrap();
    let (size, etag, _) = files.head(key).await.unwrap().expect("a head");
    assert_eq!(size, 22);
    assert!(!etag.is_empty());
    assert_eq!(files.range(key, 8, 14).await.unwrap(), b"1,Ada\n", "bytes [start, end)");
    assert_eq!(files.get(key).await.unwrap().unwrap().len(), 22);
    files.put(key, b"id\n".to_vec(), "text/csv").await.unwrap();
    let (_, etag2, _) = files.head(key).await.unwrap().unwrap();
    assert_ne!(etag, etag2, "a new version has a new ETag");
}

#[tokio::test]
async fn the_import_files_contract_holds_for_the_fake_and_s3() {
    import_files_contract(&MemoryFiles::default()).await;
    let aws = aws().await;
    import_files_contract(&S3ImportFiles::new(aws.s3.clone(), aws.env("import_load", "IMPORTS_BUCKET"))).await;
    aws.emulator.stop().await;
}

// ------------------------------------------------------------------ exports

async fn export_store_contract(exports: &dyn ExportStore) {
    let ttl = std::time::Duration::from_secs(300);
    for key in
        ["access-requests/contract/a/1.json", "access-requests/contract/a/2.json", "access-requests/contract/b/1.json"]
    {
        exports.put(key, b"{}".to_vec(), "application/json").await.unwrap();
    }
    let link = exports.link("access-requests/contract/a/1.json", ttl).await.unwrap();
    assert!(link.contains("access-requests/contract/a/1.json"), "a link names the object: {link}");
    assert_eq!(exports.delete_prefix("access-requests/contract/a/").await.unwrap(), 2, "both objects under the prefix");
    assert_eq!(exports.delete_prefix("access-requests/contract/a/").await.unwrap(), 0, "nothing left to delete");
    assert_eq!(exports.delete_prefix("access-requests/contract/").await.unwrap(), 1, "the other prefix was kept");
}

#[tokio::test]
async fn the_export_store_contract_holds_for_the_fake_and_s3() {
    export_store_contract(&MemoryExports::default()).await;
    let aws = aws().await;
    export_store_contract(&cmp_aws::s3::S3Exports::new(aws.s3.clone(), aws.env("api", "PRIVACY_BUCKET"))).await;
    aws.emulator.stop().await;
}
