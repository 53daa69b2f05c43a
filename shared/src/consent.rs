//! Consent: an append-only ledger per customer, the current state derived from it, and the one
//! question every output path asks: may we use this customer's data for purpose P now?
//!
//! The state of a purpose is decided by the customer's latest act (the time they acted, not the
//! time we heard of it), ties broken by the event id, so duplicates and out-of-order delivery give
//! the same answer. Without any record, the answer is the default of the customer's jurisdiction
//! (opt-in regimes say no).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    MarketingEmail,
    MarketingSms,
    MarketingPush,
    Personalisation,
    PartnerSharing,
    Analytics,
    Profiling,
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Purpose::MarketingEmail,
        Purpose::MarketingSms,
        Purpose::MarketingPush,
        Purpose::Personalisation,
        Purpose::PartnerSharing,
        Purpose::Analytics,
        Purpose::Profiling,
    ];
}

/// How a jurisdiction treats the absence of a consent record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// GDPR and ePrivacy (EU/EEA), UK GDPR and PECR, Swiss FADP: nothing without consent.
    OptIn,
    /// Regimes where direct marketing and first-party analytics may proceed until the customer
    /// objects (e.g. the US under CAN-SPAM); sharing and profiling still need consent.
    OptOut,
}

/// Countries (ISO 3166-1 alpha-2) with an opt-in regime. Every other country is opt-out.
/// The one place these defaults are configured; `docs/consent.md` lists them.
pub const OPT_IN: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "GB", "CH", "GP", "GF", "MQ", "RE", "YT", "MF",
];

pub fn regime(jurisdiction: Option<&str>) -> Regime {
    match jurisdiction {
        // unknown jurisdiction: treated as the strictest
        None => Regime::OptIn,
        Some(c) if OPT_IN.contains(&c) => Regime::OptIn,
        Some(_) => Regime::OptOut,
    }
}

/// What "no record" means for a purpose under a regime.
pub fn default_for(regime: Regime, purpose: Purpose) -> bool {
    match regime {
        Regime::OptIn => false,
        Regime::OptOut => matches!(
            purpose,
            Purpose::MarketingEmail | Purpose::MarketingPush | Purpose::Personalisation | Purpose::Analytics
        ),
    }
}

/// One act of the customer, as recorded by a channel. Contains no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub purpose: Purpose,
    pub granted: bool,
    /// When the customer acted.
    pub acted_at: DateTime<Utc>,
    /// When the platform received it.
    pub recorded_at: DateTime<Utc>,
    pub jurisdiction: Option<String>,
    pub channel: String,
    pub legal_basis: String,
    pub notice_version: String,
    /// Who captured it: the customer themselves, or an agent's subject id.
    pub captured_by: String,
    pub event_id: String,
}

/// The answer to "may we use the data for this purpose", with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub purpose: Purpose,
    pub allowed: bool,
    /// The record that decided it, if any; otherwise the jurisdiction's default applied.
    pub evidence: Option<ConsentRecord>,
    pub regime: Regime,
}

/// The record in force for `purpose`: the latest act, ties broken by event id (deterministic).
pub fn in_force(ledger: &[ConsentRecord], purpose: Purpose, now: DateTime<Utc>) -> Option<&ConsentRecord> {
    ledger
        .iter()
        .filter(|r| r.purpose == purpose && r.acted_at <= now)
        .max_by(|a, b| a.acted_at.cmp(&b.acted_at).then_with(|| a.event_id.cmp(&b.event_id)))
}

/// May the customer's data be used for `purpose` now? The single function every output path calls.
pub fn may_use(ledger: &[ConsentRecord], jurisdiction: Option<&str>, purpose: Purpose, now: DateTime<Utc>) -> Decision {
    let regime = regime(jurisdiction);
    match in_force(ledger, purpose, now) {
        Some(r) => Decision { purpose, allowed: r.granted, evidence: Some(r.clone()), regime },
        None => Decision { purpose, allowed: default_for(regime, purpose), evidence: None, regime },
    }
}

/// The current state of every purpose.
pub fn current_state(ledger: &[ConsentRecord], jurisdiction: Option<&str>, now: DateTime<Utc>) -> Vec<Decision> {
    Purpose::ALL.iter().map(|p| may_use(ledger, jurisdiction, *p, now)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rec(purpose: Purpose, granted: bool, day: u32, id: &str) -> ConsentRecord {
        ConsentRecord {
            purpose,
            granted,
            acted_at: Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap(),
            recorded_at: Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap(),
            jurisdiction: Some("IE".into()),
            channel: "web".into(),
            legal_basis: "consent".into(),
            notice_version: "privacy-2026-09".into(),
            captured_by: "customer".into(),
            event_id: id.into(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
    }

    #[test]
    fn the_latest_act_decides_whatever_the_arrival_order() {
        let grant = rec(Purpose::MarketingEmail, true, 1, "a");
        let withdraw = rec(Purpose::MarketingEmail, false, 5, "b");
        for ledger in [
            vec![grant.clone(), withdraw.clone()],
            vec![withdraw.clone(), grant.clone()],
            vec![withdraw.clone(), grant.clone(), withdraw.clone()],
        ] {
            let d = may_use(&ledger, Some("IE"), Purpose::MarketingEmail, now());
            assert!(!d.allowed);
            assert_eq!(d.evidence.as_ref().map(|e| e.event_id.as_str()), Some("b"));
        }
        // same instant: the event id breaks the tie, the same way every time
        let a = rec(Purpose::Analytics, true, 3, "x1");
        let b = rec(Purpose::Analytics, false, 3, "x2");
        assert_eq!(
            may_use(&[a.clone(), b.clone()], Some("IE"), Purpose::Analytics, now()),
            may_use(&[b, a], Some("IE"), Purpose::Analytics, now())
        );
    }

    #[test]
    fn no_record_means_the_jurisdictions_default() {
        assert!(!may_use(&[], Some("DE"), Purpose::MarketingEmail, now()).allowed, "opt-in");
        assert!(!may_use(&[], Some("GB"), Purpose::Analytics, now()).allowed);
        assert!(!may_use(&[], None, Purpose::MarketingEmail, now()).allowed, "unknown: strictest");
        assert!(may_use(&[], Some("US"), Purpose::MarketingEmail, now()).allowed, "opt-out");
        assert!(!may_use(&[], Some("US"), Purpose::PartnerSharing, now()).allowed, "sharing always needs consent");
        assert!(!may_use(&[], Some("US"), Purpose::Profiling, now()).allowed);
    }

    #[test]
    fn an_act_in_the_future_is_not_yet_in_force() {
        let later = rec(Purpose::MarketingSms, true, 29, "f");
        let d =
            may_use(&[later], Some("IE"), Purpose::MarketingSms, Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap());
        assert!(!d.allowed && d.evidence.is_none());
        assert_eq!(current_state(&[], Some("IE"), now()).len(), Purpose::ALL.len());
    }
}
