//! Publish: the profile table's stream → outbound change events on the outbound Kinesis stream.
//!
//! One event per change that matters to subscribers: `customer.created`, `customer.updated` (which
//! attributes changed, tier and segment changes), `customer.merged`, `customer.erased` and
//! `customer.consent_changed`; none for a write that changed nothing a subscriber can see. Events
//! carry no personal data (customer ids, attribute names, tier, consent purposes); subscribers fetch
//! details through the API with their own role. Each event's id is derived from the table stream
//! record, so a redelivered batch publishes the same ids (consumers de-duplicate by id); the
//! partition key is the customer id, so events of one customer stay in order.
//!
//! Consent is honoured at publication: every event about an active customer carries
//! `contactable`, the marketing purposes in force at that moment ([`ConsentLedger::may_use`]), so a
//! withdrawal shows on the very next event.
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use cmp_app::consent::{purpose_name, ConsentLedger, Purpose};
use cmp_app::domain::CustomerId;
use cmp_app::error::CmpError;
use cmp_app::ingest::{write_ordered, EventSink, OutRecord, RetryPolicy};
use serde_dynamo::{AttributeValue, Item};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The `source` of outbound events.
pub const SOURCE: &str = "/cmp/profiles";

/// What one table change means to subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub customer_id: CustomerId,
    pub event_type: &'static str,
    pub data: Value,
    /// Whether the customer is still active (and `contactable` applies).
    pub active: bool,
}

fn s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    }
}

fn n(item: &Item, k: &str) -> Option<u64> {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// A list of strings (`segments`); absent is empty.
fn strings(item: &Item, k: &str) -> Vec<String> {
    match item.get(k) {
        Some(AttributeValue::L(l)) => l
            .iter()
            .filter_map(|v| match v {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

fn sealed(item: &Item) -> Option<&std::collections::HashMap<String, AttributeValue>> {
    match item.get("sealed") {
        Some(AttributeValue::M(m)) => Some(m),
        _ => None,
    }
}

/// The attributes whose sealed value differs between two profile images.
fn changed_attributes(old: &Item, new: &Item) -> Vec<String> {
    let (o, n) = (sealed(old), sealed(new));
    let keys: BTreeSet<&String> =
        o.into_iter().flat_map(|m| m.keys()).chain(n.into_iter().flat_map(|m| m.keys())).collect();
    keys.into_iter().filter(|k| o.and_then(|m| m.get(*k)) != n.and_then(|m| m.get(*k))).map(|k| k.to_string()).collect()
}

/// The change a table stream record stands for, if subscribers care.
pub fn derive(r: &EventRecord) -> Option<Change> {
    let (old, new) = (&r.change.old_image, &r.change.new_image);
    if r.event_name == "REMOVE" {
        return None;
    }
    let entity = s(new, "entity")?;
    let customer_id: CustomerId = s(new, "customer_id")?.parse().ok()?;
    let version = n(new, "version");
    match (entity, r.event_name.as_str()) {
        ("profile", "INSERT") => {
            let attributes: BTreeSet<&String> = sealed(new).into_iter().flat_map(|m| m.keys()).collect();
            Some(Change {
                customer_id,
                event_type: "customer.created",
                data: json!({"version": version, "tier": s(new, "tier"), "attributes": attributes, "segments": strings(new, "segments")}),
                active: true,
            })
        }
        ("profile", "MODIFY") => {
            let (was, is) = (s(old, "status"), s(new, "status"));
            if was != is {
                return match is {
                    Some("erased") => Some(Change {
                        customer_id,
                        event_type: "customer.erased",
                        data: json!({"erased_at": s(new, "erased_at")}),
                        active: false,
                    }),
                    Some("merged") => Some(Change {
                        customer_id,
                        event_type: "customer.merged",
                        data: json!({"merged_into": s(new, "merged_into"), "version": version}),
                        active: false,
                    }),
                    Some("active") => Some(Change {
                        customer_id,
                        event_type: "customer.unmerged",
                        data: json!({"version": version}),
                        active: true,
                    }),
                    _ => None,
                };
            }
            if is != Some("active") {
                return None;
            }
            let changed = changed_attributes(old, new);
            let (tier_was, tier_is) = (s(old, "tier"), s(new, "tier"));
            let (added, removed) = cmp_app::segments::diff(&strings(old, "segments"), &strings(new, "segments"));
            if changed.is_empty() && tier_was == tier_is && added.is_empty() && removed.is_empty() {
                return None;
            }
            let mut data = json!({"version": version, "changed": changed});
            if tier_was != tier_is {
                data["tier"] = json!({"from": tier_was, "to": tier_is});
            }
            if !added.is_empty() || !removed.is_empty() {
                data["segments"] = json!({"added": added, "removed": removed});
            }
            Some(Change { customer_id, event_type: "customer.updated", data, active: true })
        }
        ("consent", "INSERT") => Some(Change {
            customer_id,
            event_type: "customer.consent_changed",
            data: json!({
                "purpose": s(new, "purpose"),
                "granted": matches!(new.get("granted"), Some(AttributeValue::Bool(true))),
                "acted_at": s(new, "acted_at"),
                "channel": s(new, "channel"),
            }),
            active: true,
        }),
        _ => None,
    }
}

/// The outbound envelope of a change (CloudEvents 1.0 attributes).
pub fn envelope(r: &EventRecord, change: &Change, contactable: Option<Value>) -> Value {
    let stream_id = r.event_id.as_str();
    let id = format!("evt_{}", cmp_app::domain::ids::hex(&Sha256::digest(stream_id.as_bytes())[..16]));
    let time: DateTime<Utc> = r.change.approximate_creation_date_time;
    let mut data = change.data.clone();
    data["customer_id"] = json!(change.customer_id);
    if let Some(c) = contactable {
        data["contactable"] = c;
    }
    json!({
        "specversion": "1.0",
        "id": id,
        "source": SOURCE,
        "type": change.event_type,
        "time": time,
        "subject": change.customer_id,
        "datacontenttype": "application/json",
        "data": data,
    })
}

pub struct Publisher {
    ledger: Arc<ConsentLedger>,
    sink: Arc<dyn EventSink>,
    retry: RetryPolicy,
}

const MARKETING: [Purpose; 3] = [Purpose::MarketingEmail, Purpose::MarketingSms, Purpose::MarketingPush];

impl Publisher {
    pub fn new(ledger: Arc<ConsentLedger>, sink: Arc<dyn EventSink>, retry: RetryPolicy) -> Self {
        Publisher { ledger, sink, retry }
    }

    /// The marketing purposes in force for an active customer now.
    async fn contactable(&self, id: &CustomerId) -> Result<Value, CmpError> {
        // one read of the ledger for the three purposes
        let state = self.ledger.state(id).await?;
        let mut out = serde_json::Map::new();
        for p in MARKETING {
            let allowed = state.iter().find(|d| d.purpose == p).is_some_and(|d| d.allowed);
            out.insert(purpose_name(p).into(), json!(allowed));
        }
        Ok(Value::Object(out))
    }

    /// Publishes a batch of table stream records; reports the first record not published (the
    /// batch is retried from it; what was published after it is published again with the same ids).
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let mut out: Vec<(usize, OutRecord)> = Vec::new();
        let mut first_failed: Option<usize> = None;
        for (pos, r) in event.records.iter().enumerate() {
            let Some(change) = derive(r) else { continue };
            let contactable = if change.active {
                match self.contactable(&change.customer_id).await {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::warn!(error_code = e.code(), "consent state unavailable; batch retried from here");
                        first_failed = Some(pos);
                        break;
                    }
                }
            } else {
                None
            };
            let data = serde_json::to_vec(&envelope(r, &change, contactable)).unwrap_or_default();
            out.push((pos, OutRecord { partition_key: change.customer_id.to_string(), data }));
        }
        let records: Vec<OutRecord> = out.iter().map(|(_, r)| r.clone()).collect();
        let (_, failed) = write_ordered(self.sink.as_ref(), &records, self.retry).await;
        if let Some(f) = failed.first() {
            let pos = out[*f].0;
            first_failed = Some(first_failed.map_or(pos, |p| p.min(pos)));
        }
        let published = records.len() - failed.len();
        tracing::info!(published, records = event.records.len(), "change events published");
        let mut resp = DynamoDbEventResponse::default();
        if let Some(pos) = first_failed {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = event.records[pos].change.sequence_number.clone();
            resp.batch_item_failures.push(f);
        }
        resp
    }
}

#[cfg(test)]
mod tests;
