//! Retention per data class: how long each kind of data is kept and how the deletion is enforced.
//! The one place these periods are configured; `docs/privacy.md` and `GET /v1/privacy/inventory`
//! list them from here.
//!
//! Items get their expiry when written (DynamoDB TTL on `expires_at`, S3 lifecycle rules declared in
//! the template), so a changed period applies to data written from then on.
use crate::domain::event::TimelineKind;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Calls, e-mails, chats, purchases, check-ins, complaints and feedback without free text.
    Interaction,
    /// Interactions carrying free text (transcripts, e-mail bodies, complaint and feedback text).
    FreeText,
    /// Booking records on the timeline.
    Booking,
    /// Timeline entries recording what a channel said about the profile.
    ProfileObservation,
    /// The consent ledger: evidence of consent for as long as the profile exists.
    Consent,
    /// The audit trail (no personal data; accountability, GDPR Art. 5(2)).
    Audit,
    /// Parked (dead-letter) events, sealed.
    DeadLetter,
    /// Processed-event markers (idempotency).
    EventMarker,
    /// Access exports handed to the customer.
    AccessExport,
    /// The flight index and each passenger's current booking (operational data for finding the
    /// passengers of a disrupted flight).
    FlightIndex,
    /// Compensation cases, counted from their closure (open cases are kept while open).
    CompensationCase,
    /// Partner export files (pseudonymised, generalised).
    PartnerExport,
    /// The analyst snapshots (pseudonymised, generalised).
    AnalyticsSnapshot,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub class: DataClass,
    /// `None`: kept while the profile exists (deleted by erasure).
    pub days: Option<i64>,
    pub mechanism: &'static str,
    pub basis: &'static str,
}

pub const RULES: &[Rule] = &[
    Rule {
        class: DataClass::Interaction,
        days: Some(1095),
        mechanism: "dynamodb_ttl",
        basis: "customer service history: 3 years after the interaction",
    },
    Rule {
        class: DataClass::FreeText,
        days: Some(730),
        mechanism: "dynamodb_ttl",
        basis: "free text is the most sensitive and least structured: 2 years",
    },
    Rule {
        class: DataClass::Booking,
        days: Some(2557),
        mechanism: "dynamodb_ttl",
        basis: "accounting and tax records: 7 years",
    },
    Rule {
        class: DataClass::ProfileObservation,
        days: Some(1095),
        mechanism: "dynamodb_ttl",
        basis: "lineage of profile attributes: 3 years",
    },
    Rule {
        class: DataClass::Consent,
        days: None,
        mechanism: "erasure",
        basis: "proof of consent (Art. 7(1)) for as long as the profile exists",
    },
    Rule {
        class: DataClass::Audit,
        days: Some(2557),
        mechanism: "dynamodb_ttl (AUDIT_RETENTION_DAYS) and S3 Object Lock on the export",
        basis: "accountability (Art. 5(2)); holds no personal data",
    },
    Rule {
        class: DataClass::DeadLetter,
        days: Some(14),
        mechanism: "dynamodb_ttl (DEAD_LETTER_TTL_DAYS)",
        basis: "time to repair and replay a rejected event",
    },
    Rule {
        class: DataClass::EventMarker,
        days: Some(8),
        mechanism: "dynamodb_ttl",
        basis: "longer than the inbound stream's 7-day retention; erased customers' markers are kept as replay guards",
    },
    Rule {
        class: DataClass::AccessExport,
        days: Some(30),
        mechanism: "s3_lifecycle",
        basis: "the customer downloads it; the link itself expires after 15 minutes",
    },
    Rule {
        class: DataClass::FlightIndex,
        days: Some(1098),
        mechanism: "dynamodb_ttl",
        basis:
            "3 years after the flight: disruptions reported late and claims re-opened; the cases keep what was decided",
    },
    Rule {
        class: DataClass::CompensationCase,
        days: Some(2557),
        mechanism: "dynamodb_ttl (from closure)",
        basis: "payments and legal claims: 7 years after the case is closed (limitation periods, accounting)",
    },
    Rule {
        class: DataClass::PartnerExport,
        days: Some(90),
        mechanism: "s3_lifecycle",
        basis: "partners collect the daily files; erased customers leave the next file",
    },
    Rule {
        class: DataClass::AnalyticsSnapshot,
        days: Some(35),
        mechanism: "s3_lifecycle (AnalyticsRetentionDays)",
        basis: "a month of daily snapshots for trends; older analysis reruns on newer snapshots",
    },
];

pub fn rule(class: DataClass) -> &'static Rule {
    RULES.iter().find(|r| r.class == class).unwrap_or(&RULES[0])
}

/// The period of a class, in days (`None`: kept while the profile exists).
pub fn days(class: DataClass) -> Option<i64> {
    rule(class).days
}

/// When an item of `class` that dates from `from` expires (epoch seconds).
pub fn expiry(class: DataClass, from: DateTime<Utc>) -> Option<i64> {
    days(class).map(|d| (from + chrono::Duration::days(d)).timestamp())
}

/// The class of a timeline entry.
pub fn timeline_class(kind: TimelineKind, detail: &serde_json::Value) -> DataClass {
    match kind {
        // disruptions and compensation cases are kept like the bookings they are about
        TimelineKind::Booking | TimelineKind::Disruption | TimelineKind::Case => DataClass::Booking,
        TimelineKind::ProfileObserved => DataClass::ProfileObservation,
        _ if detail.get("text").is_some_and(|t| !t.is_null()) => DataClass::FreeText,
        _ => DataClass::Interaction,
    }
}

/// When a timeline entry expires (epoch seconds), counted from when it happened.
pub fn timeline_expiry(kind: TimelineKind, detail: &serde_json::Value, occurred_at: DateTime<Utc>) -> Option<i64> {
    expiry(timeline_class(kind, detail), occurred_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn every_class_has_one_rule() {
        for r in RULES {
            assert_eq!(RULES.iter().filter(|x| x.class == r.class).count(), 1, "{:?}", r.class);
        }
    }

    /// The periods the template enforces by itself (S3 lifecycle rules, parameters, function
    /// environment) are the ones listed here.
    #[test]
    fn the_template_enforces_these_periods() {
        let template = include_str!("../../../infra/template.yaml");
        // the lines of one top-level resource or parameter (indented by two spaces) of the template
        let block = |name: &str| -> String {
            let head = format!("  {name}:");
            let mut lines = template.lines().skip_while(|l| *l != head);
            let first = lines.next().unwrap_or_else(|| panic!("{name} is not in the template"));
            let body = lines.take_while(|l| l.is_empty() || l.starts_with("   ") || l.starts_with("  #"));
            std::iter::once(first).chain(body).collect::<Vec<_>>().join("\n")
        };
        let days = |c| days(c).unwrap();
        assert!(block("ExportsBucket").contains(&format!("ExpirationInDays: {}", days(DataClass::PartnerExport))));
        assert!(block("PrivacyBucket").contains(&format!("ExpirationInDays: {}", days(DataClass::AccessExport))));
        assert!(block("AnalyticsRetentionDays").contains(&format!("Default: {}", days(DataClass::AnalyticsSnapshot))));
        assert!(block("AuditRetentionDays").contains(&format!("Default: {}", days(DataClass::Audit))));
        let audit_bucket = block("AuditBucket");
        assert!(
            audit_bucket.contains("ExpirationInDays: !Ref AuditRetentionDays"),
            "audit objects expire after the lock"
        );
        assert!(block("CasesTable").contains("AttributeName: expires_at"), "closed cases expire");
        let dead_letter = format!("DEAD_LETTER_TTL_DAYS: '{}'", days(DataClass::DeadLetter));
        assert_eq!(
            template.matches("DEAD_LETTER_TTL_DAYS:").count(),
            template.matches(&dead_letter).count(),
            "every function parks dead letters for the listed period"
        );
    }

    #[test]
    fn the_configuration_defaults_are_these_periods() {
        let c = crate::config::Config::from_lookup(|k| {
            matches!(k, "PROFILES_TABLE" | "KEYS_TABLE" | "KMS_KEY_ID" | "AUDIT_TABLE").then(|| "x".to_owned())
        })
        .unwrap();
        assert_eq!(Some(c.dead_letter_ttl_days), days(DataClass::DeadLetter));
        assert_eq!(Some(c.audit_retention_days), days(DataClass::Audit));
    }

    #[test]
    fn free_text_expires_before_the_rest_of_the_timeline() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let chat = timeline_expiry(TimelineKind::Chat, &json!({"text": "hello"}), at).unwrap();
        let call = timeline_expiry(TimelineKind::Call, &json!({"summary": "rebooked"}), at).unwrap();
        let booking = timeline_expiry(TimelineKind::Booking, &json!({"record_locator": "K7PX2Q"}), at).unwrap();
        assert_eq!(chat, Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap().timestamp());
        assert!(chat < call && call < booking);
    }
}
