//! The personal-data inventory for the privacy office (`GET /v1/privacy/inventory`): each personal
//! field, its classification, where it is stored, how it is protected, its retention and which
//! outputs may carry it. Built from the permission table ([`crate::authz`]) and the retention rules
//! ([`crate::retention`]), so it says what the code does.
use crate::authz::{profile_view, Field, Role};
use crate::retention::{rule, DataClass};
use serde_json::{json, Value};

const SEALED: &str =
    "AES-256-GCM under the customer's own data key (KMS envelope encryption); the key is destroyed on erasure";

fn roles_seeing(field: Field) -> Vec<&'static str> {
    Role::ALL.into_iter().filter(|r| profile_view(*r).contains(&field)).map(Role::as_str).collect()
}

fn retention(class: DataClass) -> Value {
    let r = rule(class);
    json!({"class": r.class, "days": r.days, "mechanism": r.mechanism, "basis": r.basis})
}

fn profile_field(field: Field, classification: &str, note: &str) -> Value {
    json!({
        "field": field.as_str(),
        "classification": classification,
        "stored_in": format!("profiles table, item CUST#<id>/PROFILE, attribute sealed.{}", field.as_str()),
        "encrypted": SEALED,
        "searchable_by": if matches!(field, Field::Emails | Field::Phones | Field::Loyalty | Field::Documents) {
            Value::String("keyed blind index (HMAC-SHA-256, key in KMS): lookup items IDX#<kind>#<digest>".into())
        } else { Value::Null },
        "retention": "while the profile exists; erased with it",
        "outputs": {
            "api_roles": roles_seeing(field),
            "access_export": true,
            "outbound_events": false,
            "partner_exports": false,
            "logs": false,
        },
        "note": note,
    })
}

pub fn inventory() -> Value {
    let mut fields = vec![
        profile_field(Field::Name, "direct_identifier", "given, middle and family names, title"),
        profile_field(Field::Emails, "direct_identifier", "with verification status and source"),
        profile_field(Field::Phones, "direct_identifier", "E.164, with verification status and source"),
        profile_field(Field::DateOfBirth, "direct_identifier", "partner exports carry an age band only"),
        profile_field(Field::Nationality, "quasi_identifier", ""),
        profile_field(Field::Loyalty, "direct_identifier", "membership number and tier"),
        profile_field(Field::Address, "direct_identifier", "partner exports carry the country only"),
        profile_field(Field::Documents, "direct_identifier", "passport and identity card numbers with issuing country"),
        profile_field(
            Field::Preferences,
            "personal",
            "meal, seat and language preferences and home airport; a meal code revealing religion or health is shown only with special_meal",
        ),
        json!({
            "field": Field::SpecialMeal.as_str(),
            "classification": "special_category_religion_or_health",
            "stored_in": "profiles table, item CUST#<id>/PROFILE, attribute sealed.preferences (member meal)",
            "encrypted": SEALED,
            "searchable_by": Value::Null,
            "retention": "while the profile exists; erased with it",
            "codes": cmp_core::domain::meal::MEAL_CODES
                .iter()
                .filter(|(_, c, _)| *c != cmp_core::domain::meal::MealCategory::Ordinary)
                .map(|(code, c, meaning)| json!({"code": code, "category": c, "meaning": meaning}))
                .collect::<Vec<_>>(),
            "outputs": {
                "api_roles": roles_seeing(Field::SpecialMeal),
                "access_export": true,
                "outbound_events": false,
                "partner_exports": false,
                "logs": false,
            },
            "note": "IATA special-meal codes that reveal a religious belief or a health condition (GDPR Art. 9): treated like special assistance; shown only to roles that serve or cater for the passenger, never in marketing or analyst outputs, never a segment criterion; unknown codes count as special",
        }),
        profile_field(
            Field::SpecialAssistance,
            "special_category_health",
            "SSR codes (wheelchair, medical); GDPR Art. 9: shown only to roles that serve the passenger",
        ),
    ];
    // what the partner exports carry of each field: generalised forms only (docs/exports.md)
    for f in fields.iter_mut() {
        let form = match f["field"].as_str() {
            Some("date_of_birth") => "age_band",
            Some("address") | Some("nationality") => "country",
            Some("preferences") => "home_region (of the home airport)",
            _ => continue,
        };
        f["outputs"]["partner_exports"] = json!(form);
    }
    fields.push(json!({
        "field": "tier",
        "classification": "pseudonymous",
        "stored_in": "profiles table, item CUST#<id>/PROFILE, attribute tier (clear, for segmentation and routing)",
        "encrypted": "table encryption at rest (KMS)",
        "retention": "while the profile exists; erased with it",
        "outputs": {"api_roles": roles_seeing(Field::Tier), "access_export": true, "outbound_events": true, "partner_exports": true, "logs": false},
    }));
    fields.push(json!({
        "field": "timeline.detail",
        "classification": "personal_free_text",
        "stored_in": "profiles table, items CUST#<id>/TL#<time>#<event>, attribute payload",
        "encrypted": SEALED,
        "retention": [retention(DataClass::Interaction), retention(DataClass::FreeText), retention(DataClass::Booking), retention(DataClass::ProfileObservation)],
        "outputs": {"api_roles": crate::authz::PERMISSIONS.iter().find(|(a, _)| *a == crate::authz::Action::ReadTimeline).map(|(_, r)| r.iter().map(|x| x.as_str()).collect::<Vec<_>>()).unwrap_or_default(),
                    "access_export": true, "outbound_events": false, "partner_exports": false, "logs": false},
        "note": "card numbers (Luhn-valid 13-19 digits) are redacted from free text before anything is stored or logged (PCI-DSS)",
    }));
    fields.push(json!({
        "field": "consents",
        "classification": "pseudonymous",
        "stored_in": "profiles table, items CUST#<id>/CONSENT#<acted_at>#<purpose>#<event>",
        "encrypted": "table encryption at rest (KMS); holds no direct identifier",
        "retention": retention(DataClass::Consent),
        "outputs": {"api_roles": crate::authz::PERMISSIONS.iter().find(|(a, _)| *a == crate::authz::Action::ReadConsents).map(|(_, r)| r.iter().map(|x| x.as_str()).collect::<Vec<_>>()).unwrap_or_default(),
                    "access_export": true, "outbound_events": "purpose and granted of each change; contactable flags", "partner_exports": false, "logs": false},
    }));
    fields.push(json!({
        "field": "dead_letters",
        "classification": "personal (whole events)",
        "stored_in": "profiles table, items DLQ#<date>/<time>#<reference>, attribute payload",
        "encrypted": "AES-256-GCM under the dead-letter data key (KMS)",
        "retention": retention(DataClass::DeadLetter),
        "outputs": {"api_roles": [], "access_export": false, "outbound_events": false, "partner_exports": false, "logs": false},
    }));
    fields.push(json!({
        "field": "audit_trail",
        "classification": "staff_pseudonymous",
        "stored_in": "audit table (hash-chained), exported to the Object Lock audit bucket",
        "encrypted": "table and bucket encryption at rest (KMS); holds customer ids, staff subject ids, purposes and field names, never values",
        "retention": retention(DataClass::Audit),
        "outputs": {"api_roles": ["privacy_officer"], "access_export": true, "outbound_events": false, "partner_exports": false, "logs": false},
    }));
    fields.push(json!({
        "field": "access_exports",
        "classification": "personal (everything held about one customer)",
        "stored_in": "privacy bucket, access-requests/<id>/<request>.json",
        "encrypted": "bucket encryption at rest (KMS); delivered through a 15-minute pre-signed link",
        "retention": retention(DataClass::AccessExport),
        "outputs": {"api_roles": ["customer", "privacy_officer"], "access_export": false, "outbound_events": false, "partner_exports": false, "logs": false},
    }));
    let case_roles = |a: crate::authz::Action| {
        crate::authz::PERMISSIONS
            .iter()
            .find(|(x, _)| *x == a)
            .map(|(_, r)| r.iter().map(|x| x.as_str()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    fields.push(json!({
        "field": "case.notes",
        "classification": "personal_free_text",
        "stored_in": "cases table, item <case id>, attribute doc.notes[].sealed",
        "encrypted": SEALED,
        "retention": retention(DataClass::CompensationCase),
        "outputs": {"api_roles": case_roles(crate::authz::Action::ReadCases).into_iter().filter(|r| *r != "customer").collect::<Vec<_>>(),
                    "access_export": true, "outbound_events": false, "partner_exports": false, "logs": false},
        "note": "agents' notes on a compensation case; card numbers are redacted before sealing",
    }));
    fields.push(json!({
        "field": "case.payout",
        "classification": "financial",
        "stored_in": "cases table, item <case id>, attribute doc.payout_sealed",
        "encrypted": SEALED,
        "retention": retention(DataClass::CompensationCase),
        "outputs": {"api_roles": [], "access_export": true, "outbound_events": false, "partner_exports": false, "logs": false},
        "note": "IBAN and account holder given by the customer for a compensation payment; never shown by the API after it is given (payout_on_file)",
    }));
    fields.push(json!({
        "field": "case",
        "classification": "pseudonymous",
        "stored_in": "cases table, item <case id> (flight, date, disruption, assessment, status, queue, priority, amount)",
        "encrypted": "table encryption at rest (KMS); holds no direct identifier",
        "retention": retention(DataClass::CompensationCase),
        "outputs": {"api_roles": case_roles(crate::authz::Action::ReadCases), "access_export": true,
                    "outbound_events": "notification.requested: case id, status, eligibility and amount", "partner_exports": false, "logs": false},
    }));
    fields.push(json!({
        "field": "flight_index",
        "classification": "pseudonymous",
        "stored_in": "profiles table, items FLT#<flight>#<date>/PAX#<passenger key> and PAXB#<passenger key>/CURRENT (itinerary, booking status; the passenger key is an HMAC of record locator and passenger id)",
        "encrypted": "table encryption at rest (KMS); holds no direct identifier",
        "retention": retention(DataClass::FlightIndex),
        "outputs": {"api_roles": [], "access_export": false, "outbound_events": false, "partner_exports": false, "logs": false},
    }));
    // what the analyst dataset carries (pseudonymised, analytics consent; docs/exports.md)
    for f in fields.iter_mut() {
        let form = match f["field"].as_str() {
            Some("date_of_birth") => json!("age_band"),
            Some("address") | Some("nationality") => json!("country"),
            Some("preferences") => json!(
                "meal (ordinary codes only), seat and language preferences; home_region (of the home airport)"
            ),
            Some("special_assistance") => json!("needs_assistance (yes/no only)"),
            Some("tier") => json!(true),
            Some("timeline.detail") => json!(
                "booking segments (route, flight, dates, cabin, status, channel) and interaction kind, channel, direction, flight and amount; never free text, references, agents, record locators or ticket numbers"
            ),
            Some("consents") => json!("contactable_email and contactable_sms (marketing consent in force)"),
            _ => json!(false),
        };
        f["outputs"]["analyst_dataset"] = form;
    }
    json!({
        "controller": "Gamma Airways",
        "fields": fields,
        "retention_rules": crate::retention::RULES,
        "consent_purposes": crate::consent::Purpose::ALL,
        "opt_in_jurisdictions": crate::consent::OPT_IN,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_profile_field_with_personal_data_is_listed() {
        let inv = super::inventory();
        let listed: Vec<&str> = inv["fields"].as_array().unwrap().iter().filter_map(|f| f["field"].as_str()).collect();
        for f in crate::domain::profile::FIELDS {
            assert!(listed.contains(&f), "{f} missing from the inventory");
        }
        // every retention class of personal data is some field's
        let text = inv["fields"].to_string();
        for class in ["compensation_case", "flight_index", "free_text", "consent", "dead_letter", "audit"] {
            assert!(text.contains(&format!("\"class\":\"{class}\"")), "no field is kept under {class}");
        }
        let payout = inv["fields"].as_array().unwrap().iter().find(|f| f["field"] == "case.payout").unwrap();
        assert_eq!(payout["outputs"]["api_roles"], serde_json::json!([]), "payout details are never shown");
        let meal = inv["fields"].as_array().unwrap().iter().find(|f| f["field"] == "special_meal").unwrap();
        assert_eq!(meal["classification"], "special_category_religion_or_health");
        assert_eq!(meal["outputs"]["analyst_dataset"], false);
        assert_eq!(meal["outputs"]["partner_exports"], false);
        let seeing = meal["outputs"]["api_roles"].to_string();
        assert!(!seeing.contains("marketing") && !seeing.contains("data_analyst") && seeing.contains("cabin_crew"));
        let codes = meal["codes"].to_string();
        assert!(["KSML", "MOML", "HNML", "DBML", "GFML"].iter().all(|c| codes.contains(c)) && !codes.contains("VGML"));
        let dob = inv["fields"].as_array().unwrap().iter().find(|f| f["field"] == "date_of_birth").unwrap();
        assert_eq!(
            dob["outputs"]["api_roles"],
            serde_json::json!([
                "call_centre_agent",
                "checkin_agent",
                "customer_affairs",
                "privacy_officer",
                "admin",
                "customer"
            ])
        );
    }
}
