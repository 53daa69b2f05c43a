//! In-memory fakes of the import ports (the AWS adapters are in `cmp-aws`: `s3`, `sqs`,
//! `dynamo::imports`).
use super::*;
use std::collections::HashMap;
use std::sync::Mutex;

/// In-memory imports bucket.
#[derive(Default)]
pub struct MemoryFiles {
    pub objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

#[async_trait]
impl ImportFiles for MemoryFiles {
    async fn head(&self, key: &str) -> Result<Option<(u64, String, DateTime<Utc>)>, CmpError> {
        Ok(self.objects.lock().unwrap().get(key).map(|b| {
            let etag = crate::domain::ids::hex(&Sha256::digest(b)[..8]);
            (b.len() as u64, etag, "2026-11-29T08:00:00Z".parse().unwrap())
        }))
    }
    async fn range(&self, key: &str, start: u64, end: u64) -> Result<Vec<u8>, CmpError> {
        let o = self.objects.lock().unwrap();
        let b = o.get(key).ok_or_else(|| CmpError::Export("no such object".into()))?;
        Ok(b[(start as usize).min(b.len())..(end as usize).min(b.len())].to_vec())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CmpError> {
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), CmpError> {
        self.objects.lock().unwrap().insert(key.to_owned(), body);
        Ok(())
    }
}

/// In-memory chunk queue.
#[derive(Default)]
pub struct MemoryQueue {
    pub tasks: Mutex<Vec<ChunkTask>>,
}

#[async_trait]
impl ChunkQueue for MemoryQueue {
    async fn send(&self, tasks: &[ChunkTask]) -> Result<(), CmpError> {
        self.tasks.lock().unwrap().extend(tasks.iter().cloned());
        Ok(())
    }
}

/// In-memory import ledger.
#[derive(Default)]
pub struct MemoryLedger {
    imports: Mutex<HashMap<String, (ImportState, std::collections::BTreeSet<u32>)>>,
}

#[async_trait]
impl ImportLedger for MemoryLedger {
    async fn start_import(&self, s: &ImportState) -> Result<bool, CmpError> {
        let mut m = self.imports.lock().unwrap();
        if m.contains_key(&s.import_id) {
            return Ok(false);
        }
        m.insert(s.import_id.clone(), (s.clone(), Default::default()));
        Ok(true)
    }
    async fn chunk_done(
        &self,
        import_id: &str,
        chunk: u32,
        accepted: u64,
        rejected: u64,
    ) -> Result<Option<ImportState>, CmpError> {
        let mut m = self.imports.lock().unwrap();
        let Some((s, done)) = m.get_mut(import_id) else { return Ok(None) };
        if !done.insert(chunk) {
            return Ok(None);
        }
        s.chunks_done += 1;
        s.accepted += accepted;
        s.rejected += rejected;
        Ok(Some(s.clone()))
    }
    async fn state(&self, import_id: &str) -> Result<Option<ImportState>, CmpError> {
        Ok(self.imports.lock().unwrap().get(import_id).map(|(s, _)| s.clone()))
    }
}
