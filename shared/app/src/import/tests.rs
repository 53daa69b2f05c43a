use super::memory::{MemoryFiles, MemoryLedger, MemoryQueue};
use super::*;
use crate::crypto::BlindIndexer;
use crate::ingest::{EventSink, Ingest, Limits, OutRecord, RetryPolicy};
use crate::schema::EventValidator;
use std::sync::Mutex;

/// Records what reaches the stream.
#[derive(Default)]
struct Stream {
    got: Mutex<Vec<Value>>,
}

#[async_trait]
impl EventSink for Stream {
    async fn put_records(&self, records: &[OutRecord]) -> Result<Vec<Option<String>>, CmpError> {
        let mut got = self.got.lock().unwrap();
        for r in records {
            got.push(serde_json::from_slice(&r.data).unwrap());
        }
        Ok(vec![None; records.len()])
    }
}

const CSV: &str =
    "rec_id,cluster_id,given_name,surname,dob,street_number,address_1,suburb,postcode,state,soc_sec_id,email,phone\n\
rec-1,1,ines,lefevre,19900709,12,\"rue des lilas\",rennes,35000,BZH,760789021,ines@example.com,\n\
rec-2,1,ines,lefevre,19900907,12,\"rue des\nlilas\",rennes,35000,BZH,,ines@example.com,\n\
rec-3,2,jonas,vogel,19811203,,,,,,,,\n\
rec-4,3,zofia,nowak,19750230,3,\"ul. zlota\",warszawa,00-019,MZ,,zofia@example.org,\n\
rec-5,4,rui,lopes,19920101,,,,,,,not-an-email,\n\
rec-6,5,chiara,romano,19880512,,,,,,551234567,,\n\
rec-7,6,hanna,schmidt,19900101,,,,,,,hanna@example.net,\n";

#[test]
fn the_planner_finds_rows_and_cuts_chunks_whatever_the_read_sizes() {
    for read in [1usize, 7, 64, 4096] {
        let mut p = Planner::new(Format::Csv, 3);
        for part in CSV.as_bytes().chunks(read) {
            p.feed(part);
        }
        let (header, chunks, rows, _) = p.finish();
        let header = header.unwrap();
        assert_eq!(header.len(), 13, "read {read}");
        assert_eq!(header[0], "rec_id");
        assert_eq!(rows, 7, "a quoted line break does not start a row (read {read})");
        assert_eq!(chunks.iter().map(|c| c.rows).collect::<Vec<_>>(), [3, 3, 1]);
        assert_eq!(chunks.iter().map(|c| c.first_row).collect::<Vec<_>>(), [1, 4, 7]);
        // the ranges are contiguous and start right after the header
        assert_eq!(chunks[0].start as usize, CSV.find('\n').unwrap() + 1);
        assert_eq!(chunks[1].start, chunks[0].end);
        assert_eq!(chunks[2].end as usize, CSV.len());
        assert!(CSV[chunks[1].start as usize..].starts_with("rec-4,"), "read {read}");
    }
    let mut j = Planner::new(Format::JsonLines, 2);
    j.feed(b"{\"a\":1}\n\n  \n{\"b\":2}\n{\"c\":3}");
    let (h, chunks, rows, _) = j.finish();
    assert!(h.is_none());
    assert_eq!((rows, chunks.len(), chunks[1].first_row), (3, 2, 3));
}

#[test]
fn columns_map_by_name_alias_or_mapping_and_need_an_identifier() {
    let header: Vec<String> = CSV.lines().next().unwrap().split(',').map(str::to_owned).collect();
    let (cols, ignored) = columns(&header, &ImportSpec::default()).unwrap();
    assert_eq!(cols[0], Some("record_id"));
    assert_eq!(cols[3], Some("family_name"));
    assert_eq!(cols[10], Some("document_number"));
    assert_eq!(cols[1], None, "the truth column is never imported");
    assert!(ignored.contains(&"cluster_id".to_owned()));
    let spec = ImportSpec { columns: BTreeMap::from([("phone".into(), "ignore".into())]), ..Default::default() };
    assert_eq!(columns(&header, &spec).unwrap().0[12], None);
    let bad = ImportSpec { columns: BTreeMap::from([("phone".into(), "shoe_size".into())]), ..Default::default() };
    assert!(columns(&header, &bad).unwrap_err().contains("shoe_size"));
    let no_ids: Vec<String> = ["given_name", "family_name"].map(str::to_owned).to_vec();
    assert!(columns(&no_ids, &ImportSpec::default()).unwrap_err().contains("identifier"));
}

fn world(rows_per_chunk: u64) -> (Importer, Arc<MemoryFiles>, Arc<MemoryQueue>, Arc<Stream>) {
    let files = Arc::new(MemoryFiles::default());
    let queue = Arc::new(MemoryQueue::default());
    let stream = Arc::new(Stream::default());
    let ingest = Arc::new(Ingest::new(
        stream.clone(),
        Arc::new(BlindIndexer::from_key(&[4u8; 32])),
        Arc::new(EventValidator::new().unwrap()),
        Limits { max_batch_events: 500, max_event_bytes: 131_072, max_request_bytes: 6_000_000 },
        RetryPolicy {
            attempts: 2,
            base: std::time::Duration::from_millis(1),
            cap: std::time::Duration::from_millis(1),
        },
    ));
    let importer =
        Importer::new(files.clone(), queue.clone(), Arc::new(MemoryLedger::default()), ingest, "imports-bucket")
            .with_rows_per_chunk(rows_per_chunk);
    (importer, files, queue, stream)
}

#[tokio::test]
async fn a_file_is_loaded_row_by_row_with_rejections_beside_it_and_a_summary() {
    let (importer, files, queue, stream) = world(3);
    let key = "imports/legacy crm/people.csv";
    files.put(key, CSV.as_bytes().to_vec(), "text/csv").await.unwrap();
    let mapping = json!({"channel": "partner", "country": "FR", "columns": {"state": "ignore"}});
    files.put(&format!("{key}.mapping.json"), mapping.to_string().into_bytes(), "application/json").await.unwrap();

    let planned = importer.plan(key).await.unwrap();
    let Planned::Started(state) = planned else { panic!("{planned:?}") };
    assert_eq!((state.rows, state.chunks), (7, 3));
    assert!(matches!(importer.plan(key).await.unwrap(), Planned::Duplicate), "a redelivered notification");
    let progress: Value =
        serde_json::from_slice(&files.get(&format!("{key}.progress.json")).await.unwrap().unwrap()).unwrap();
    assert_eq!(progress["status"], "running");

    let tasks = queue.tasks.lock().unwrap().clone();
    assert_eq!(tasks.len(), 3);
    for t in &tasks {
        importer.load(t).await.unwrap();
    }
    // a redelivered chunk writes the same events again (the merge ignores them) and counts nothing
    importer.load(&tasks[0]).await.unwrap();

    let summary: Value =
        serde_json::from_slice(&files.get(&format!("{key}.summary.json")).await.unwrap().unwrap()).unwrap();
    assert_eq!(
        (summary["status"].as_str(), summary["accepted"].as_u64(), summary["rejected"].as_u64()),
        (Some("completed"), Some(4), Some(3)),
        "{summary}"
    );
    let events = stream.got.lock().unwrap().clone();
    let ids: std::collections::BTreeSet<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), 4, "four distinct events, the redelivered chunk's written again with the same ids");
    let first = events.iter().find(|e| e["subject"] == "rec-1").unwrap();
    assert_eq!(first["source"], "/imports/legacy-crm/people.csv");
    assert_eq!(first["data"]["date_of_birth"], "1990-07-09");
    assert_eq!(first["data"]["address"]["lines"][0], "12 rue des lilas");
    assert_eq!(first["data"]["documents"][0]["issuing_country"], "FR");
    assert!(first["data"]["address"].get("region").is_none(), "the mapping ignores the state column");
    let second = events.iter().find(|e| e["subject"] == "rec-2").unwrap();
    assert_eq!(second["data"]["address"]["lines"][0], "12 rue des\nlilas", "a quoted line break stays in its field");

    // rejected rows, beside the file, each with why and the row as it was
    let objects = files.objects.lock().unwrap().clone();
    let rejected: Vec<Value> = objects
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{key}.rejected/")))
        .flat_map(|(_, b)| {
            String::from_utf8(b.clone())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect();
    let by_record =
        |r: &str| rejected.iter().find(|x| x["record_id"] == r).unwrap_or_else(|| panic!("{r}: {rejected:?}"));
    assert_eq!(by_record("rec-3")["row"], 3);
    assert_eq!(by_record("rec-5")["errors"][0]["path"], "/data/emails/0/address");
    assert!(by_record("rec-4")["input"].as_str().unwrap().starts_with("rec-4,3,zofia"), "the row as it was");
    assert_eq!(by_record("rec-4")["errors"][0]["path"], "/data/date_of_birth", "30 February");
    assert_eq!(rejected.len(), 3);
}

#[tokio::test]
async fn files_that_cannot_be_imported_are_refused_with_a_reason() {
    let (importer, files, queue, _) = world(3);
    files.put("imports/names.csv", b"given_name,family_name\nines,lefevre\n".to_vec(), "text/csv").await.unwrap();
    let Planned::Refused(why) = importer.plan("imports/names.csv").await.unwrap() else { panic!() };
    assert!(why.contains("identifier"));
    let summary: Value =
        serde_json::from_slice(&files.get("imports/names.csv.summary.json").await.unwrap().unwrap()).unwrap();
    assert_eq!(summary["status"], "refused");
    assert!(queue.tasks.lock().unwrap().is_empty());
    // outputs and sidecars are not imports
    assert!(matches!(importer.plan("imports/names.csv.summary.json").await.unwrap(), Planned::Skipped));
    assert!(matches!(importer.plan("imports/x.csv.rejected/chunk-00001.jsonl").await.unwrap(), Planned::Skipped));
    assert_eq!(Format::of("imports/a.JSONL"), Some(Format::JsonLines));
    assert_eq!(Format::of("elsewhere/a.csv"), None);
}

/// A ledger where, the moment chunk 2 is counted, chunk 3 is counted too and its final progress
/// written: the interleaving of two chunks loading in parallel where the last one finishes first.
struct Overtaken {
    inner: MemoryLedger,
    files: Arc<MemoryFiles>,
    key: String,
}

#[async_trait]
impl ImportLedger for Overtaken {
    async fn start_import(&self, s: &ImportState) -> Result<bool, CmpError> {
        self.inner.start_import(s).await
    }
    async fn chunk_done(&self, id: &str, chunk: u32, a: u64, r: u64) -> Result<Option<ImportState>, CmpError> {
        let stale = self.inner.chunk_done(id, chunk, a, r).await?;
        if chunk == 2 {
            let done = self.inner.chunk_done(id, 3, 1, 0).await?.unwrap();
            let body = serde_json::to_vec(&progress(&done, "completed")).unwrap();
            self.files.put(&format!("{}.progress.json", self.key), body, "application/json").await?;
        }
        Ok(stale)
    }
    async fn state(&self, id: &str) -> Result<Option<ImportState>, CmpError> {
        self.inner.state(id).await
    }
}

#[tokio::test]
async fn a_chunk_overtaken_by_the_last_one_does_not_turn_progress_back() {
    let (plain, files, queue, _) = world(3);
    let key = "imports/people.csv";
    files.put(key, CSV.as_bytes().to_vec(), "text/csv").await.unwrap();
    let ledger = Arc::new(Overtaken { inner: MemoryLedger::default(), files: files.clone(), key: key.into() });
    let importer = Importer::new(
        files.clone(),
        queue.clone(),
        ledger,
        plain.ingest.clone().expect("a loading importer"),
        "imports-bucket",
    )
    .with_rows_per_chunk(3);
    importer.plan(key).await.unwrap();
    let tasks = queue.tasks.lock().unwrap().clone();
    importer.load(&tasks[0]).await.unwrap();
    importer.load(&tasks[1]).await.unwrap();
    let progress: Value =
        serde_json::from_slice(&files.get(&format!("{key}.progress.json")).await.unwrap().unwrap()).unwrap();
    assert_eq!((progress["status"].as_str(), progress["chunks_done"].as_u64()), (Some("completed"), Some(3)));
}
