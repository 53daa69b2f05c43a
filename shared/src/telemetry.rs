//! Structured JSON logs through `tracing`. Log event ids, types, codes and counts; never values of
//! personal fields (the domain types redact themselves in `Debug` as a second line of defence).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .without_time()
        .try_init();
}
