//! In-memory [`CaseStore`] for unit tests.
use super::*;
use crate::store::StoreError;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryCases {
    cases: Mutex<HashMap<String, Case>>,
}

impl MemoryCases {
    pub fn all(&self) -> Vec<Case> {
        self.cases.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }
}

#[async_trait]
impl CaseStore for MemoryCases {
    async fn get_case(&self, id: &str) -> Result<Option<Case>, CmpError> {
        Ok(self.cases.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned())
    }

    async fn put_case(&self, case: &Case, expected_version: Option<u64>) -> Result<(), CmpError> {
        let mut cases = self.cases.lock().unwrap_or_else(|p| p.into_inner());
        let current = cases.get(&case.id).map(|c| c.version);
        if current != expected_version {
            return Err(StoreError::Conflict.into());
        }
        cases.insert(case.id.clone(), case.clone());
        Ok(())
    }

    async fn list_cases(&self, f: &CaseFilter, limit: usize) -> Result<Vec<Case>, CmpError> {
        let mut out: Vec<Case> = self
            .all()
            .into_iter()
            .filter(|c| f.flight_key.as_ref().is_none_or(|k| &c.flight_key == k))
            .filter(|c| f.queue.as_ref().is_none_or(|q| &c.queue == q))
            .filter(|c| f.status.is_none_or(|s| c.status == s))
            .filter(|c| f.customer.as_ref().is_none_or(|id| &c.customer_id == id))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.truncate(limit);
        Ok(out)
    }

    async fn due_cases(&self, queue: &str, before: DateTime<Utc>) -> Result<Vec<Case>, CmpError> {
        Ok(self
            .all()
            .into_iter()
            .filter(|c| c.queue == queue && c.status != CaseStatus::Closed && c.sla_due_at < before)
            .collect())
    }
}
