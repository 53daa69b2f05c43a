//! Bulk collection end to end on the local stack: a CSV file dropped under `imports/` of the
//! imports bucket is noticed (S3 → SQS), cut into chunks, loaded row by row onto the inbound stream
//! and resolved by the merge like any other event; rejected rows come back beside it with their
//! reasons, with a progress object while it runs and a summary at the end.
use cmp_tests::*;
use cmpctl::client::encode;
use cmpctl::stack::{LocalStack, StackOptions};
use serde_json::{json, Value};
use std::time::Duration;

const ROWS: usize = 100;

const GIVEN: [&str; 10] = ["Aoife", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas"];
const FAMILY: [&str; 9] =
    ["Byrne", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Pereira", "Rossi", "Schneider"];

/// Person `i` of the file: one of ninety distinct name pairs, born on a day of their own.
fn person(i: usize) -> (&'static str, &'static str, String) {
    let (given, family) = (GIVEN[i % 10], FAMILY[i / 10]);
    (given, family, format!("{}.{}@example.com", given.to_lowercase(), family.to_lowercase()))
}

/// 100 rows: people 0..89 once each, people 0..4 a second time (another source record of the same
/// person: same e-mail), and 5 broken rows.
fn file() -> String {
    let mut csv =
        String::from("rec_id,given_name,surname,dob,street_number,address_1,suburb,postcode,email,phone,cluster_id\n");
    for i in 0..90 {
        let (given, family, email) = person(i);
        csv.push_str(&format!(
            "crm-{i},{given},{family},{}{:02}{:02},{},\"Main Street, Apt {i}\",Cork,T12 X{i:03},{email},,{i}\n",
            1925 + i,
            i % 12 + 1,
            i % 28 + 1,
            i + 1
        ));
    }
    for i in 0..5 {
        let (given, family, email) = person(i);
        csv.push_str(&format!("crm-dup-{i},{given},{family},,,,,,{email},+353 87 {:07},{i}\n", 2_946_100 + i));
    }
    csv.push_str("crm-bad-1,No,Identifier,19800101,,,,,,,x\n");
    csv.push_str("crm-bad-2,Bad,Email,19800101,,,,,not-an-email,,x\n");
    csv.push_str("crm-bad-3,Bad,Date,19801332,,,,,bad.date@example.com,,x\n");
    csv.push_str("crm-bad-4,Too,Few,columns\n");
    csv.push_str("crm-bad-5,Bad,Phone,,,,,,bad.phone@example.com,+353 1,x\n");
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_file_is_validated_resolved_and_loaded() {
    // 40 rows per chunk: the file is three chunks
    let opts = StackOptions { env: vec![("IMPORT_ROWS_PER_CHUNK".into(), "40".into())], ..Default::default() };
    let stack = LocalStack::start(opts).await.expect("the local stack");
    let anonymous = cmpctl::client::ApiClient::new(stack.base_url.clone());
    let agent = anonymous.with_token(stack.token("call_centre_agent", false, None).unwrap());
    let s3 = cmpctl::stack::clients(&stack.sdk, None).s3;
    let bucket = stack.wiring.output("ImportsBucketName").expect("ImportsBucketName output").to_owned();
    let key = "imports/crm export 2026-11.csv";
    let put = |k: String, body: Vec<u8>| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move { s3.put_object().bucket(bucket).key(k).body(body.into()).send().await.unwrap() }
    };
    let get = |k: String| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            match s3.get_object().bucket(bucket).key(k).send().await {
                Ok(o) => Some(o.body.collect().await.unwrap().into_bytes().to_vec()),
                Err(_) => None,
            }
        }
    };
    // the mapping first (it is no import itself), then the file
    let mapping = json!({"channel": "partner", "country": "IE", "columns": {"cluster_id": "ignore"}});
    put(format!("{key}.mapping.json"), mapping.to_string().into_bytes()).await;
    let before = stack.records_done();
    put(key.to_owned(), file().into_bytes()).await;

    let summary: Value = eventually("the import's summary", Duration::from_secs(180), || async {
        get(format!("{key}.summary.json")).await.map(|b| serde_json::from_slice(&b).unwrap())
    })
    .await;
    assert_eq!(summary["status"], "completed", "{summary}");
    assert_eq!((summary["rows"].as_u64(), summary["chunks"].as_u64()), (Some(ROWS as u64), Some(3)), "{summary}");
    assert_eq!((summary["accepted"].as_u64(), summary["rejected"].as_u64()), (Some(95), Some(5)), "{summary}");
    assert_eq!(summary["ignored_columns"], json!(["cluster_id"]));
    // chunks load in parallel: a chunk overtaken by the last one may write its progress after the
    // final one, and corrects it straight after (it reads the ledger once it has written)
    let progress: Value = eventually("the final progress", Duration::from_secs(10), || async {
        let p: Value = serde_json::from_slice(&get(format!("{key}.progress.json")).await?).ok()?;
        (p["status"] == "completed").then_some(p)
    })
    .await;
    assert_eq!(progress["chunks_done"].as_u64(), Some(3), "{progress}");

    // rejected rows, beside the file, each with its reasons and the row as it was
    let mut rejected = Vec::new();
    for chunk in 1..=3 {
        if let Some(b) = get(format!("{key}.rejected/chunk-{chunk:05}.jsonl")).await {
            rejected.extend(String::from_utf8(b).unwrap().lines().map(|l| serde_json::from_str::<Value>(l).unwrap()));
        }
    }
    let reason = |id: &str| -> String {
        let r =
            rejected.iter().find(|r| r["record_id"] == id || r["input"].as_str().is_some_and(|i| i.starts_with(id)));
        r.unwrap_or_else(|| panic!("{id} not rejected: {rejected:?}"))["errors"][0]["code"].as_str().unwrap().to_owned()
    };
    assert_eq!(rejected.len(), 5, "{rejected:?}");
    assert_eq!(reason("crm-bad-1"), "schema_violation");
    assert_eq!(reason("crm-bad-4"), "column_count");
    for id in ["crm-bad-2", "crm-bad-3", "crm-bad-5"] {
        assert!(!reason(id).is_empty());
    }

    // the accepted rows went through the merge: the same person twice is one profile
    drained(&stack, before, 95).await;
    let (status, found) = agent.get(&format!("/v1/profiles?email={}", encode(&person(3).2))).await.unwrap();
    assert_eq!(status, 200, "{found}");
    let p = &found["items"][0];
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!((p["name"]["given"].as_str(), p["name"]["family"].as_str()), (Some("Dmitri"), Some("Byrne")), "{found}");
    assert_eq!(p["phones"][0]["number"], "+353872946103", "the second source record added its phone");
    assert_eq!(p["address"]["city"], "Cork");
    let id = p["id"].as_str().unwrap();
    let (_, page) = agent.get(&format!("/v1/profiles/{id}/timeline")).await.unwrap();
    let sources: Vec<&str> = page["items"].as_array().unwrap().iter().filter_map(|t| t["source"].as_str()).collect();
    assert_eq!(sources, ["/imports/crm-export-2026-11.csv"; 2], "{page}");
    let (_, none) = agent.get(&format!("/v1/profiles?email={}", encode("bad.date@example.com"))).await.unwrap();
    assert_eq!(none["items"], json!([]), "a rejected row creates nothing");

    // dropping the same file again is the same import: nothing is loaded twice
    put(key.to_owned(), file().into_bytes()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again: Value = serde_json::from_slice(&get(format!("{key}.summary.json")).await.unwrap()).unwrap();
    assert_eq!(again["import_id"], summary["import_id"]);
    assert_eq!(again["finished_at"], summary["finished_at"], "not loaded a second time");
    let items = scan_profiles(&stack).await;
    assert_eq!(entity_count(&items, "profile"), 90, "one profile per person");
    stack.stop().await;
}
