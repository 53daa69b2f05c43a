//! Counting AWS calls per service and operation, for benchmarks (an SDK interceptor).
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default, Clone)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Wall time spent in each operation (request sent to response read), in microseconds.
    micros: Arc<Mutex<BTreeMap<String, u64>>>,
    /// A function's name: its calls are also counted as `<label>/<service>.<operation>`.
    label: Option<Arc<str>>,
}

/// When the current call started, and what it is (kept in the call's config bag).
#[derive(Debug, Clone)]
struct Started(std::time::Instant, String);

impl aws_smithy_types::config_bag::Storable for Started {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl CallCounter {
    /// The same counter, also counting this client's calls under `<label>/` (one function's share).
    pub fn labelled(&self, label: &str) -> CallCounter {
        CallCounter { label: Some(label.into()), ..self.clone() }
    }
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap().clone()
    }
    pub fn total(&self, service_prefix: &str) -> u64 {
        self.counts.lock().unwrap().iter().filter(|(k, _)| k.starts_with(service_prefix)).map(|(_, v)| v).sum()
    }
    pub fn reset(&self) {
        self.counts.lock().unwrap().clear();
        self.micros.lock().unwrap().clear();
    }
    /// Mean wall time per call of each operation, in milliseconds.
    pub fn mean_ms(&self) -> BTreeMap<String, f64> {
        let counts = self.counts.lock().unwrap();
        self.micros
            .lock()
            .unwrap()
            .iter()
            .map(|(k, us)| (k.clone(), *us as f64 / 1000.0 / counts.get(k).copied().unwrap_or(1).max(1) as f64))
            .collect()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name =
            cfg.load::<Metadata>().map(|m| format!("{}.{}", m.service(), m.name())).unwrap_or_else(|| "unknown".into());
        {
            let mut counts = self.counts.lock().unwrap();
            *counts.entry(name.clone()).or_insert(0) += 1;
            if let Some(label) = &self.label {
                *counts.entry(format!("{label}/{name}")).or_insert(0) += 1;
            }
        }
        cfg.interceptor_state().store_put(Started(std::time::Instant::now(), name));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Started(at, name)) = cfg.load::<Started>().cloned() {
            *self.micros.lock().unwrap().entry(name).or_insert(0) += at.elapsed().as_micros() as u64;
        }
        Ok(())
    }
}
