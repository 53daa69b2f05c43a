//! Kinesis batch of `flight.disrupted` events → [`cmp_app::cases::service::Compensator`], with
//! partial batch failure reporting; and the scheduled SLA escalation →
//! [`cmp_app::cases::service::CaseDesk::escalate`].
use super::stream::{process_batch, KinesisHandler};
use super::Wiring;
use async_trait::async_trait;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use chrono::{Duration, Utc};
use cmp_app::cases::service::{CaseDesk, CompensateOutcome, Compensator};
use cmp_app::deadletter::DeadLetters;
use cmp_app::error::CmpError;

pub struct CompensateHandler {
    compensator: Compensator,
}

impl CompensateHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        Ok(Self::from_compensator(Compensator::new(
            w.case_ports()?,
            w.indexer()?,
            w.validator()?,
            DeadLetters::new(w.store()?, w.kms()?, w.config.dead_letter_ttl_days),
        )))
    }

    pub fn from_compensator(compensator: Compensator) -> Self {
        CompensateHandler { compensator }
    }

    pub async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        process_batch(event, self.compensator.dead_letters(), |data, origin| async move {
            match self.compensator.process_record(&data, &origin).await? {
                CompensateOutcome::Applied(t) => tracing::info!(
                    origin,
                    passengers = t.passengers,
                    created = t.created,
                    updated = t.updated,
                    unchanged = t.unchanged,
                    skipped = t.skipped,
                    "disruption processed"
                ),
                CompensateOutcome::Parked { reason_code } => tracing::warn!(%reason_code, origin, "record parked"),
                CompensateOutcome::NotMine => tracing::debug!(origin, "record of another function's type skipped"),
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl KinesisHandler for CompensateHandler {
    async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        CompensateHandler::handle(self, event).await
    }
}

/// How long before its SLA ends a case is escalated.
pub const ESCALATION_MARGIN_MINUTES: i64 = 60;

pub struct EscalateHandler {
    desk: CaseDesk,
}

impl EscalateHandler {
    pub fn new(w: &Wiring) -> Result<Self, CmpError> {
        Ok(EscalateHandler { desk: CaseDesk::new(w.case_ports()?) })
    }

    /// One scheduled run: answers the ids escalated.
    pub async fn handle(&self) -> Result<serde_json::Value, CmpError> {
        let ids = self.desk.escalate(Utc::now(), Duration::minutes(ESCALATION_MARGIN_MINUTES)).await?;
        Ok(serde_json::json!({"escalated": ids.len(), "cases": ids}))
    }
}
