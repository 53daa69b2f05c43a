//! Validation of raw events against the published JSON Schemas in `schemas/` (compiled into the
//! binary, so the contract and the code cannot drift apart between deployments).
use crate::domain::event::FieldError;
use serde_json::Value;

/// `($id, file contents)` of every schema; the envelope references the others by `$id`.
pub const SCHEMAS: [(&str, &str); 7] = [
    ("envelope", include_str!("../../../schemas/envelope.schema.json")),
    ("common", include_str!("../../../schemas/common.schema.json")),
    ("customer.profile_observed", include_str!("../../../schemas/customer.profile_observed.schema.json")),
    ("customer.interaction_logged", include_str!("../../../schemas/customer.interaction_logged.schema.json")),
    ("booking.recorded", include_str!("../../../schemas/booking.recorded.schema.json")),
    ("customer.consent_changed", include_str!("../../../schemas/customer.consent_changed.schema.json")),
    ("flight.disrupted", include_str!("../../../schemas/flight.disrupted.schema.json")),
];

pub struct EventValidator {
    validator: jsonschema::Validator,
}

/// At most this many errors are reported per event.
const MAX_ERRORS: usize = 20;

impl EventValidator {
    /// Compiles the schemas. They are part of the binary, so failure here is a build defect.
    pub fn new() -> Result<Self, String> {
        let mut builder = jsonschema::Registry::new();
        let mut envelope = None;
        for (name, text) in SCHEMAS {
            let schema: Value = serde_json::from_str(text).map_err(|e| format!("schema {name}: {e}"))?;
            let id = schema
                .get("$id")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("schema {name} has no $id"))?
                .to_owned();
            if name == "envelope" {
                envelope = Some(schema.clone());
            }
            builder = builder.add(id, schema).map_err(|e| format!("schema {name}: {e}"))?;
        }
        let registry = builder.prepare().map_err(|e| format!("schema registry: {e}"))?;
        let envelope = envelope.ok_or("no envelope schema")?;
        let validator = jsonschema::options()
            .with_registry(&registry)
            .should_validate_formats(true)
            .build(&envelope)
            .map_err(|e| format!("envelope schema: {e}"))?;
        Ok(EventValidator { validator })
    }

    /// All schema violations of one event, with JSON pointers; messages never quote submitted values.
    pub fn validate(&self, event: &Value) -> Vec<FieldError> {
        let mut out: Vec<FieldError> = Vec::new();
        for e in self.validator.iter_errors(event) {
            let path = e.instance_path().to_string();
            let mut message = e.to_string();
            let instance = e.instance();
            if !instance.is_object() && !instance.is_array() {
                let shown = instance.to_string();
                if !shown.is_empty() {
                    message = message.replace(&shown, "the value");
                }
            } else if message.len() > 300 {
                message = "the value does not match the schema".into();
            }
            let message: String = message.chars().take(300).collect();
            let err = FieldError::new("schema_violation", path, message);
            if !out.contains(&err) {
                out.push(err);
            }
            if out.len() >= MAX_ERRORS {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "specversion": "1.0",
            "id": "evt-1",
            "source": "/channels/web",
            "type": "customer.profile_observed",
            "time": "2026-11-20T10:00:00Z",
            "subject": "web-account-42",
            "data": {
                "channel": "web",
                "name": {"given": "Zoë", "family": "Müller"},
                "emails": [{"address": "zoe.mueller@example.com", "verified": true}]
            }
        })
    }

    #[test]
    fn valid_events_pass() {
        let v = EventValidator::new().unwrap();
        assert_eq!(v.validate(&event()), vec![]);
    }

    #[test]
    fn errors_point_at_the_field_and_hide_the_value() {
        let v = EventValidator::new().unwrap();
        let mut e = event();
        e["data"]["emails"][0]["address"] = json!("zoe.mueller-at-example");
        let errs = v.validate(&e);
        assert!(!errs.is_empty());
        assert!(errs.iter().any(|x| x.path == "/data/emails/0/address"), "{errs:?}");
        assert!(errs.iter().all(|x| !x.message.contains("zoe.mueller")), "{errs:?}");

        let mut e = event();
        e["data"]["shoe_size"] = json!(44);
        assert!(!v.validate(&e).is_empty(), "unknown fields are rejected");

        let mut e = event();
        e.as_object_mut().unwrap().remove("id");
        assert!(!v.validate(&e).is_empty());

        let mut e = event();
        e["type"] = json!("customer.teleported");
        assert!(!v.validate(&e).is_empty());
    }
}
