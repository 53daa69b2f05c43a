//! `import_plan` Lambda: the imports bucket's object-created notifications (through the
//! import-files queue) → each file's rows cut into chunks, queued for `import_load`. Thin: wiring
//! at cold start, then the shared handler for each batch.
use cmp_lambda::handlers::import::ImportPlanHandler;
use cmp_lambda::wiring::capability::IMPORT_PLAN;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmp_lambda::run::sqs(&IMPORT_PLAN, ImportPlanHandler::new).await
}
