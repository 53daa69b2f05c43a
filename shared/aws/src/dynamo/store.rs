//! DynamoDB adapter of [`ProfileStore`] and [`WrappedKeyStore`].
//!
//! Single-table layout of the profile table (`pk`, `sk`):
//! | item | pk | sk |
//! |---|---|---|
//! | golden profile | `CUST#<id>` | `PROFILE` |
//! | timeline entry | `CUST#<id>` | `TL#<occurred_at>#<marker>` |
//! | identifier lookup (blind index) | `IDX#<kind>#<hmac>` | `IDX` |
//! | processed-event marker | `EVT#<marker>` | `EVT` |
//! | parked (dead-letter) event | `DLQ#<date>` | `<parked_at>#<reference>` |
//! | consent ledger entry | `CUST#<id>` | `CONSENT#<acted_at>#<purpose>#<event ref>` |
//! | legal hold | `CUST#<id>` | `HOLD#<kind>` |
//! | data-subject request | `CUST#<id>` | `DSR#<requested_at>#<request id>` |
//!
//! Lookup items carry `owner` (`CUST#<id>`), the key of the sparse index `ByOwner` that erasure uses
//! to find every lookup of a customer.
//!
//! Items map to and from Rust structs with `serde_dynamo`; ciphertexts are binary attributes.
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, KeysAndAttributes, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use cmp_app::consent::{ConsentRecord, Purpose};
use cmp_app::crypto::{KeyError, WrappedKeyStore};
use cmp_app::domain::event::{Channel, FieldError, TimelineKind};
use cmp_app::domain::profile::Lineage;
use cmp_app::domain::CustomerId;
use cmp_app::error::CmpError;
use cmp_app::store::{
    consent_sort_key, request_sort_key, Commit, CustomerKeys, ErasurePlan, LegalHold, ParkedEvent, Prefetch,
    PrivacyStore, ProfileRecord, ProfileStatus, ProfileStore, RightsRequest, StoreError, TimelinePage, TimelineRecord,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

mod identity;
use identity::{GuardedItem, GUARDED_PK};

pub use cmp_app::store::PROFILE_SK;

pub fn customer_pk(id: &CustomerId) -> String {
    format!("CUST#{id}")
}
pub fn marker_pk(marker: &str) -> String {
    format!("EVT#{marker}")
}

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    profiles_table: String,
    keys_table: String,
    audit: Option<crate::dynamo::audit::DynamoAuditLog>,
}

#[derive(Serialize, Deserialize)]
struct ProfileItem {
    pk: String,
    sk: String,
    entity: String,
    customer_id: String,
    version: u64,
    status: ProfileStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merged_into: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier: Option<String>,
    #[serde(default)]
    bookings: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    segments: Vec<String>,
    sealed: BTreeMap<String, ByteBuf>,
    lineage: BTreeMap<String, Lineage>,
    sources: BTreeMap<String, DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    erased_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    match_summary: Option<ByteBuf>,
}

#[derive(Serialize, Deserialize)]
struct TimelineItem {
    pk: String,
    sk: String,
    entity: String,
    customer_id: String,
    kind: TimelineKind,
    occurred_at: DateTime<Utc>,
    source: String,
    channel: Channel,
    event_id: String,
    payload: ByteBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sighting: Option<ByteBuf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    lookups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolved_via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recorded_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct LookupItem {
    pk: String,
    sk: String,
    entity: String,
    customer_id: String,
    /// `CUST#<id>`: key of the `ByOwner` index.
    owner: String,
    kind: String,
    created_at: DateTime<Utc>,
    /// The marker of the unit that claimed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claimed_by: Option<String>,
    /// The customer it belonged to before a merge moved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct MarkerItem {
    pk: String,
    sk: String,
    entity: String,
    customer_id: String,
    processed_at: DateTime<Utc>,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct ParkedItem {
    pk: String,
    sk: String,
    entity: String,
    reason_code: String,
    reasons: Vec<FieldError>,
    origin: String,
    payload: ByteBuf,
    wrapped_key: ByteBuf,
    parked_at: DateTime<Utc>,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct ConsentItem {
    pk: String,
    sk: String,
    entity: String,
    customer_id: String,
    purpose: Purpose,
    granted: bool,
    acted_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jurisdiction: Option<String>,
    channel: String,
    legal_basis: String,
    notice_version: String,
    captured_by: String,
    event_id: String,
    /// The customer it was recorded for, when a merge moved it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
}

impl ConsentItem {
    fn new(id: &CustomerId, r: &ConsentRecord, origin: Option<&CustomerId>) -> Self {
        ConsentItem {
            pk: customer_pk(id),
            sk: consent_sort_key(r),
            entity: "consent".into(),
            customer_id: id.to_string(),
            purpose: r.purpose,
            granted: r.granted,
            acted_at: r.acted_at,
            recorded_at: r.recorded_at,
            jurisdiction: r.jurisdiction.clone(),
            channel: r.channel.clone(),
            legal_basis: r.legal_basis.clone(),
            notice_version: r.notice_version.clone(),
            captured_by: r.captured_by.clone(),
            event_id: r.event_id.clone(),
            origin: origin.map(|o| o.to_string()),
        }
    }
    fn record(&self) -> ConsentRecord {
        ConsentRecord {
            purpose: self.purpose,
            granted: self.granted,
            acted_at: self.acted_at,
            recorded_at: self.recorded_at,
            jurisdiction: self.jurisdiction.clone(),
            channel: self.channel.clone(),
            legal_basis: self.legal_basis.clone(),
            notice_version: self.notice_version.clone(),
            captured_by: self.captured_by.clone(),
            event_id: self.event_id.clone(),
        }
    }
}

impl TimelineItem {
    fn new(customer: &CustomerId, t: &TimelineRecord) -> Self {
        TimelineItem {
            pk: customer_pk(customer),
            sk: t.sk.clone(),
            entity: "timeline".into(),
            customer_id: customer.to_string(),
            kind: t.kind,
            occurred_at: t.occurred_at,
            source: t.source.clone(),
            channel: t.channel,
            event_id: t.event_id.clone(),
            payload: ByteBuf::from(t.payload.clone()),
            expires_at: t.expires_at,
            sighting: t.sighting.clone().map(ByteBuf::from),
            lookups: t.lookups.clone(),
            origin: t.origin.as_ref().map(|o| o.to_string()),
            resolved_via: t.resolved_via.as_ref().map(|o| o.to_string()),
            recorded_at: t.recorded_at,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct HoldItem {
    pk: String,
    sk: String,
    entity: String,
    customer_id: String,
    #[serde(flatten)]
    hold: LegalHold,
}

#[derive(Serialize, Deserialize)]
struct RequestItem {
    pk: String,
    sk: String,
    entity: String,
    customer_id: String,
    #[serde(flatten)]
    request: RightsRequest,
}

#[derive(Serialize, Deserialize)]
struct KeyItem {
    pk: String,
    wrapped_key: ByteBuf,
    purpose: String,
    created_at: DateTime<Utc>,
}

type Item = HashMap<String, AttributeValue>;

fn to_item<T: Serialize>(v: &T) -> Result<Item, CmpError> {
    serde_dynamo::to_item(v).map_err(|e| StoreError::Corrupt(e.to_string()).into())
}
fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> Result<T, CmpError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()).into())
}

pub(crate) fn unavailable<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> CmpError {
    StoreError::Unavailable(format!("{}", DisplayErrorContext(&e))).into()
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), AttributeValue::S(pk)), ("sk".to_owned(), AttributeValue::S(sk.to_owned()))])
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

impl DynamoStore {
    pub fn new(client: Client, profiles_table: impl Into<String>, keys_table: impl Into<String>) -> Self {
        DynamoStore { client, profiles_table: profiles_table.into(), keys_table: keys_table.into(), audit: None }
    }

    /// Audit records of changes are appended through this log's table, in the change's transaction.
    pub fn with_audit(mut self, audit: crate::dynamo::audit::DynamoAuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    fn profile_item(p: &ProfileRecord) -> ProfileItem {
        ProfileItem {
            pk: customer_pk(&p.id),
            sk: PROFILE_SK.into(),
            entity: "profile".into(),
            customer_id: p.id.to_string(),
            version: p.version,
            status: p.status,
            merged_into: p.merged_into.as_ref().map(|m| m.to_string()),
            created_at: p.created_at,
            updated_at: p.updated_at,
            tier: p.tier.clone(),
            bookings: p.bookings,
            segments: p.segments.clone(),
            sealed: p.sealed.iter().map(|(k, v)| (k.clone(), ByteBuf::from(v.clone()))).collect(),
            lineage: p.lineage.clone(),
            sources: p.sources.clone(),
            erased_at: p.erased_at,
            members: p.members.iter().map(|m| m.to_string()).collect(),
            match_summary: p.match_summary.clone().map(ByteBuf::from),
        }
    }

    fn put(&self, table: &str, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, CmpError> {
        let mut put = Put::builder().table_name(table).set_item(Some(item));
        if let Some(c) = condition {
            put = put.condition_expression(c);
        }
        let put = put.build().map_err(|e| CmpError::Integrity(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn commit_items(&self, c: &Commit) -> Result<Vec<TransactWriteItem>, CmpError> {
        let mut items = Vec::new();
        let now = c.profile.updated_at;
        items.push(self.put(
            &self.profiles_table,
            to_item(&MarkerItem {
                pk: marker_pk(&c.marker),
                sk: "EVT".into(),
                entity: "marker".into(),
                customer_id: c.profile.id.to_string(),
                processed_at: now,
                expires_at: c.marker_expires_at,
            })?,
            Some("attribute_not_exists(pk)"),
        )?);
        match c.expected_version {
            None => items.push(self.put(
                &self.profiles_table,
                to_item(&Self::profile_item(&c.profile))?,
                Some("attribute_not_exists(pk)"),
            )?),
            Some(v) if c.profile_changed => {
                let put = Put::builder()
                    .table_name(&self.profiles_table)
                    .set_item(Some(to_item(&Self::profile_item(&c.profile))?))
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":v", AttributeValue::N(v.to_string()));
                items.push(
                    TransactWriteItem::builder()
                        .put(put.build().map_err(|e| CmpError::Integrity(e.to_string()))?)
                        .build(),
                );
            }
            Some(v) => {
                let check = ConditionCheck::builder()
                    .table_name(&self.profiles_table)
                    .set_key(Some(key(customer_pk(&c.profile.id), PROFILE_SK)))
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":v", AttributeValue::N(v.to_string()))
                    .build()
                    .map_err(|e| CmpError::Integrity(e.to_string()))?;
                items.push(TransactWriteItem::builder().condition_check(check).build());
            }
        }
        if let Some(w) = &c.new_wrapped_key {
            items.push(self.put(
                &self.keys_table,
                to_item(&KeyItem {
                    pk: c.profile.id.to_string(),
                    wrapped_key: ByteBuf::from(w.clone()),
                    purpose: "customer".into(),
                    created_at: now,
                })?,
                Some("attribute_not_exists(pk)"),
            )?);
        }
        for l in &c.claim_lookups {
            let kind = l.split('#').nth(1).unwrap_or_default().to_owned();
            items.push(self.put(
                &self.profiles_table,
                to_item(&LookupItem {
                    pk: l.clone(),
                    sk: "IDX".into(),
                    entity: "lookup".into(),
                    customer_id: c.profile.id.to_string(),
                    owner: customer_pk(&c.profile.id),
                    kind,
                    created_at: now,
                    claimed_by: Some(c.marker.clone()),
                    origin: None,
                })?,
                Some("attribute_not_exists(pk)"),
            )?);
        }
        if let Some(a) = &c.audit {
            let log = self.audit.as_ref().ok_or_else(|| CmpError::Config("no audit table configured".into()))?;
            items.extend(log.append_items(a)?);
        }
        if let Some(t) = &c.timeline {
            items.push(self.put(&self.profiles_table, to_item(&TimelineItem::new(&c.profile.id, t))?, None)?);
        }
        for f in &c.flight_index {
            items.push(self.put(&self.profiles_table, flight_item(f, Some(&c.marker))?, None)?);
        }
        for b in &c.block_adds {
            let u = aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.profiles_table)
                .set_key(Some(key(b.clone(), "BLK")))
                .update_expression("ADD members :m SET entity = :e")
                .expression_attribute_values(":m", AttributeValue::Ss(vec![c.profile.id.to_string()]))
                .expression_attribute_values(":e", s("block"))
                .build()
                .map_err(|e| CmpError::Integrity(e.to_string()))?;
            items.push(TransactWriteItem::builder().update(u).build());
        }
        for (l, seen) in &c.contest {
            // optimistic: the count is still the one read, else the unit re-reads and retries
            let mut u = aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.profiles_table)
                .set_key(Some(key(l.clone(), "IDX")))
                .update_expression("ADD contested :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()));
            u = if *seen == 0 {
                u.condition_expression("attribute_exists(pk) AND attribute_not_exists(contested)")
            } else {
                u.condition_expression("attribute_exists(pk) AND contested = :seen")
                    .expression_attribute_values(":seen", AttributeValue::N(seen.to_string()))
            };
            let u = u.build().map_err(|e| CmpError::Integrity(e.to_string()))?;
            items.push(TransactWriteItem::builder().update(u).build());
        }
        for g in &c.guarded {
            let item = to_item(&GuardedItem {
                pk: GUARDED_PK.into(),
                sk: g.lookup.clone(),
                entity: "guarded_identifier".into(),
                owner: customer_pk(&g.owner),
                identifier: g.clone(),
            })?;
            items.push(self.put(&self.profiles_table, item, None)?);
        }
        if let Some(b) = &c.booking_current {
            // the current booking lives as long as the flight-index items it vouches for
            let expires_at = match c.flight_index.first() {
                Some(f) => flight_index_expiry(&f.itinerary, f.recorded_at),
                None => flight_index_expiry(&[], b.recorded_at),
            };
            items.push(self.put(&self.profiles_table, booking_current_item(b, expires_at, Some(&c.marker))?, None)?);
        }
        Ok(items)
    }
}

/// When a passenger's flight-index items expire: the retention period of the flight index after
/// the last flight of the itinerary (claims are brought within national limitation periods; the
/// cases keep what was decided).
fn flight_index_expiry(itinerary: &[cmp_app::cases::IndexedLeg], recorded_at: DateTime<Utc>) -> Option<i64> {
    let last = itinerary.iter().map(|l| l.scheduled_departure.with_timezone(&Utc)).max().unwrap_or(recorded_at);
    cmp_app::retention::expiry(cmp_app::retention::DataClass::FlightIndex, last.max(recorded_at))
}

fn flight_item(f: &cmp_app::cases::FlightPassenger, marker: Option<&str>) -> Result<Item, CmpError> {
    to_item(&serde_json::json!({
        "pk": f.flight_key, "sk": format!("PAX#{}", f.passenger_key), "entity": "flight_passenger",
        "customer_id": f.customer_id, "owner": customer_pk(&f.customer_id), "passenger_key": f.passenger_key,
        "itinerary": serde_json::to_string(&f.itinerary).map_err(|e| CmpError::Integrity(e.to_string()))?,
        "leg": f.leg, "booking_status": f.booking_status, "recorded_at": f.recorded_at,
        "expires_at": flight_index_expiry(&f.itinerary, f.recorded_at),
        "marker": marker,
    }))
}

fn booking_current_item(
    b: &cmp_app::cases::BookingCurrent,
    expires_at: Option<i64>,
    marker: Option<&str>,
) -> Result<Item, CmpError> {
    to_item(&serde_json::json!({
        "pk": format!("PAXB#{}", b.passenger_key), "sk": "CURRENT", "entity": "booking_current",
        "customer_id": b.customer_id, "owner": customer_pk(&b.customer_id), "passenger_key": b.passenger_key,
        "flight_keys": b.flight_keys, "status": b.status, "recorded_at": b.recorded_at,
        "expires_at": expires_at,
        "marker": marker,
    }))
}

fn flight_from(item: &Item) -> Result<cmp_app::cases::FlightPassenger, CmpError> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let corrupt = |what: &str| CmpError::from(StoreError::Corrupt(format!("flight index item: {what}")));
    Ok(cmp_app::cases::FlightPassenger {
        flight_key: text("pk"),
        passenger_key: text("passenger_key"),
        customer_id: text("customer_id").parse().map_err(|_| corrupt("customer id"))?,
        itinerary: serde_json::from_str(&text("itinerary")).map_err(|_| corrupt("itinerary"))?,
        leg: item.get("leg").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).ok_or_else(|| corrupt("leg"))?,
        booking_status: text("booking_status"),
        recorded_at: text("recorded_at").parse().map_err(|_| corrupt("recorded_at"))?,
    })
}

#[async_trait]
impl cmp_app::cases::FlightIndex for DynamoStore {
    async fn flight_passengers(&self, flight_key: &str) -> Result<Vec<cmp_app::cases::FlightPassenger>, CmpError> {
        let items = self
            .query_all(
                None,
                "pk = :pk AND begins_with(sk, :p)",
                &[(":pk", flight_key.to_owned()), (":p", "PAX#".into())],
                &[],
            )
            .await?;
        items.iter().map(flight_from).collect()
    }

    async fn current_bookings(
        &self,
        passenger_keys: &[String],
    ) -> Result<HashMap<String, cmp_app::cases::BookingCurrent>, CmpError> {
        let mut out = HashMap::new();
        let mut unique = passenger_keys.to_vec();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut pending: Vec<Item> = chunk.iter().map(|k| key(format!("PAXB#{k}"), "CURRENT")).collect();
            for attempt in 0..cmp_app::retry::Backoff::BATCH.attempts {
                if pending.is_empty() {
                    break;
                }
                if attempt > 0 {
                    cmp_app::retry::Backoff::BATCH.pause(attempt - 1).await;
                }
                let ka = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| CmpError::Integrity(e.to_string()))?;
                let resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.profiles_table, ka)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in resp.responses.and_then(|mut r| r.remove(&self.profiles_table)).unwrap_or_default() {
                    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    let b = cmp_app::cases::BookingCurrent {
                        passenger_key: text("passenger_key"),
                        customer_id: text("customer_id")
                            .parse()
                            .map_err(|_| StoreError::Corrupt("booking item: customer id".into()))?,
                        flight_keys: item
                            .get("flight_keys")
                            .and_then(|v| v.as_l().ok())
                            .map(|l| l.iter().filter_map(|x| x.as_s().ok().cloned()).collect())
                            .unwrap_or_default(),
                        status: text("status"),
                        recorded_at: text("recorded_at")
                            .parse()
                            .map_err(|_| StoreError::Corrupt("booking item: recorded_at".into()))?,
                    };
                    out.insert(b.passenger_key.clone(), b);
                }
                pending = resp
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.profiles_table))
                    .and_then(|k| k.keys().to_vec().into())
                    .unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable("booking reads left unprocessed".into()).into());
            }
        }
        Ok(out)
    }

    async fn put_timeline(&self, customer: &CustomerId, t: &TimelineRecord) -> Result<(), CmpError> {
        self.client
            .put_item()
            .table_name(&self.profiles_table)
            .set_item(Some(to_item(&TimelineItem::new(customer, t))?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn profile_from(item: ProfileItem) -> Result<ProfileRecord, CmpError> {
    let id: CustomerId =
        item.customer_id.parse().map_err(|_| StoreError::Corrupt("profile with an invalid customer id".into()))?;
    Ok(ProfileRecord {
        id,
        version: item.version,
        status: item.status,
        merged_into: item.merged_into.and_then(|m| m.parse().ok()),
        created_at: item.created_at,
        updated_at: item.updated_at,
        tier: item.tier,
        bookings: item.bookings,
        segments: item.segments,
        sealed: item.sealed.into_iter().map(|(k, v)| (k, v.into_vec())).collect(),
        lineage: item.lineage,
        sources: item.sources,
        erased_at: item.erased_at,
        members: item.members.iter().filter_map(|m| m.parse().ok()).collect(),
        match_summary: item.match_summary.map(|b| b.into_vec()),
    })
}

fn timeline_from(item: TimelineItem) -> TimelineRecord {
    TimelineRecord {
        sk: item.sk,
        kind: item.kind,
        occurred_at: item.occurred_at,
        source: item.source,
        channel: item.channel,
        event_id: item.event_id,
        payload: item.payload.into_vec(),
        expires_at: item.expires_at,
        sighting: item.sighting.map(|b| b.into_vec()),
        lookups: item.lookups,
        origin: item.origin.and_then(|o| o.parse().ok()),
        resolved_via: item.resolved_via.and_then(|o| o.parse().ok()),
        recorded_at: item.recorded_at,
    }
}

#[async_trait]
impl ProfileStore for DynamoStore {
    async fn prefetch(&self, markers: &[String], lookups: &[String]) -> Result<Prefetch, CmpError> {
        let mut keys: Vec<Item> = markers.iter().map(|m| key(marker_pk(m), "EVT")).collect();
        // identifier lookups (`IDX#…`/`IDX`) and blocking items (`BLK#…`/`BLK`)
        keys.extend(lookups.iter().map(|l| key(l.clone(), if l.starts_with("BLK#") { "BLK" } else { "IDX" })));
        let mut out = Prefetch::default();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .projection_expression("pk, customer_id, origin, members, contested")
                    .build()
                    .map_err(|e| CmpError::Integrity(e.to_string()))?,
            );
            let mut attempt = 0u32;
            while let Some(req) = pending.take() {
                let resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.profiles_table, req)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in resp.responses.and_then(|mut r| r.remove(&self.profiles_table)).unwrap_or_default() {
                    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    if let Some(m) = pk.strip_prefix("EVT#") {
                        out.processed_markers.insert(m.to_owned());
                    } else if pk.starts_with("BLK#") {
                        let members = item.get("members").and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default();
                        out.blocks.insert(pk, members.iter().filter_map(|m| m.parse().ok()).collect());
                    } else if let Some(c) = item.get("customer_id").and_then(|v| v.as_s().ok()) {
                        let id =
                            c.parse().map_err(|_| StoreError::Corrupt("lookup with invalid customer id".into()))?;
                        if let Some(o) = item.get("origin").and_then(|v| v.as_s().ok()).and_then(|o| o.parse().ok()) {
                            out.origins.insert(pk.clone(), o);
                        }
                        if let Some(n) = item.get("contested").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
                        {
                            out.contested.insert(pk.clone(), n);
                        }
                        out.owners.insert(pk, id);
                    }
                }
                pending = resp.unprocessed_keys.and_then(|mut u| u.remove(&self.profiles_table));
                if pending.is_some() {
                    if !cmp_app::retry::Backoff::BATCH.again(attempt) {
                        return Err(StoreError::Unavailable("unprocessed keys after retries".into()).into());
                    }
                    cmp_app::retry::Backoff::BATCH.pause(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(out)
    }

    async fn get_profile(&self, id: &CustomerId) -> Result<Option<ProfileRecord>, CmpError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.profiles_table)
            .set_key(Some(key(customer_pk(id), PROFILE_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match resp.item {
            None => Ok(None),
            Some(item) => Ok(Some(profile_from(from_item(item)?)?)),
        }
    }

    async fn get_profiles(&self, ids: &[CustomerId]) -> Result<Vec<ProfileRecord>, CmpError> {
        let mut ids: Vec<&CustomerId> = ids.iter().collect();
        ids.sort();
        ids.dedup();
        let keys = ids.into_iter().map(|id| key(customer_pk(id), PROFILE_SK)).collect();
        self.get_items(keys).await?.into_iter().map(|item| profile_from(from_item(item)?)).collect()
    }

    async fn get_profile_and_audit_head(
        &self,
        id: &CustomerId,
    ) -> Result<(Option<ProfileRecord>, cmp_app::audit::ChainHead), CmpError> {
        use crate::dynamo::audit::DynamoAuditLog;
        let Some(log) = &self.audit else {
            return Ok((self.get_profile(id).await?, cmp_app::audit::ChainHead::default()));
        };
        let chain = cmp_app::audit::chain_of(Some(id), Utc::now());
        let mut profile_req = Some(
            KeysAndAttributes::builder()
                .keys(key(customer_pk(id), PROFILE_SK))
                .consistent_read(true)
                .build()
                .map_err(|e| CmpError::Integrity(e.to_string()))?,
        );
        let mut head_req = Some(
            KeysAndAttributes::builder()
                .keys(DynamoAuditLog::head_key(&chain))
                .consistent_read(true)
                .build()
                .map_err(|e| CmpError::Integrity(e.to_string()))?,
        );
        let mut profile = None;
        let mut head = cmp_app::audit::ChainHead::default();
        for attempt in 0..cmp_app::retry::Backoff::BATCH.attempts {
            let mut req = self.client.batch_get_item();
            if let Some(p) = profile_req.take() {
                req = req.request_items(&self.profiles_table, p);
            }
            if let Some(h) = head_req.take() {
                req = req.request_items(log.table(), h);
            }
            let mut out = req.send().await.map_err(unavailable)?;
            let mut responses = out.responses.take().unwrap_or_default();
            if let Some(item) = responses.remove(&self.profiles_table).and_then(|mut v| v.pop()) {
                profile = Some(profile_from(from_item(item)?)?);
            }
            if let Some(items) = responses.remove(log.table()) {
                head = DynamoAuditLog::head_from_item(items.first());
            }
            let mut unprocessed = out.unprocessed_keys.unwrap_or_default();
            profile_req = unprocessed.remove(&self.profiles_table);
            head_req = unprocessed.remove(log.table());
            if profile_req.is_none() && head_req.is_none() {
                return Ok((profile, head));
            }
            cmp_app::retry::Backoff::BATCH.pause(attempt).await;
        }
        Err(StoreError::Unavailable("unprocessed keys after retries".into()).into())
    }

    async fn commit(&self, c: &Commit) -> Result<(), CmpError> {
        let items = self.commit_items(c)?;
        let token = {
            let mut h = Sha256::new();
            h.update(c.marker.as_bytes());
            h.update(c.expected_version.unwrap_or(0).to_be_bytes());
            cmp_app::domain::ids::hex(&h.finalize()[..18])
        };
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err().code(),
                    Some("TransactionCanceledException")
                        | Some("TransactionConflictException")
                        | Some("ConditionalCheckFailedException")
                        | Some("IdempotentParameterMismatchException")
                ) =>
            {
                Err(StoreError::Conflict.into())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn owner_of(&self, lookup: &str) -> Result<Option<CustomerId>, CmpError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.profiles_table)
            .set_key(Some(key(lookup.to_owned(), "IDX")))
            .projection_expression("customer_id")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(resp.item.and_then(|i| i.get("customer_id").and_then(|v| v.as_s().ok()).and_then(|c| c.parse().ok())))
    }

    async fn timeline(
        &self,
        id: &CustomerId,
        kind: Option<TimelineKind>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<TimelinePage, CmpError> {
        // read one entry beyond the page to know whether another page exists
        let want = limit + 1;
        let mut items: Vec<TimelineRecord> = Vec::new();
        let mut start: Option<Item> = after.map(|a| key(customer_pk(id), a));
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.profiles_table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :tl)")
                .expression_attribute_values(":pk", s(customer_pk(id)))
                .expression_attribute_values(":tl", s("TL#"))
                .scan_index_forward(false)
                .limit((want - items.len()) as i32 + if kind.is_some() { 25 } else { 0 })
                .set_exclusive_start_key(start.take());
            if let Some(k) = kind {
                q = q
                    .filter_expression("#kind = :kind")
                    .expression_attribute_names("#kind", "kind")
                    .expression_attribute_values(":kind", s(k.as_str()));
            }
            let resp = q.send().await.map_err(unavailable)?;
            for item in resp.items.unwrap_or_default() {
                if items.len() < want {
                    items.push(timeline_from(from_item(item)?));
                }
            }
            match resp.last_evaluated_key {
                Some(k) if items.len() < want => start = Some(k),
                _ => break,
            }
        }
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|t| t.sk.clone())
        } else {
            None
        };
        Ok(TimelinePage { items, next })
    }

    async fn park(&self, p: &ParkedEvent) -> Result<(), CmpError> {
        let item = to_item(&ParkedItem {
            pk: format!("DLQ#{}", p.parked_at.format("%Y-%m-%d")),
            sk: format!("{}#{}", p.parked_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), p.reference),
            entity: "dead_letter".into(),
            reason_code: p.reason_code.clone(),
            reasons: p.reasons.clone(),
            origin: p.origin.clone(),
            payload: ByteBuf::from(p.payload.clone()),
            wrapped_key: ByteBuf::from(p.wrapped_key.clone()),
            parked_at: p.parked_at,
            expires_at: p.expires_at,
        })?;
        self.client
            .put_item()
            .table_name(&self.profiles_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn is_conflict<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::ServiceError(e) => matches!(
            e.err().code(),
            Some("TransactionCanceledException")
                | Some("TransactionConflictException")
                | Some("ConditionalCheckFailedException")
        ),
        _ => false,
    }
}

impl DynamoStore {
    /// Every item of a query, following pagination.
    async fn query_all(
        &self,
        index: Option<&str>,
        condition: &str,
        values: &[(&str, String)],
        names: &[(&str, &str)],
    ) -> Result<Vec<Item>, CmpError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.profiles_table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(condition)
                .set_exclusive_start_key(start.take());
            if index.is_none() {
                q = q.consistent_read(true);
            }
            for (k, v) in values {
                q = q.expression_attribute_values(*k, s(v.clone()));
            }
            for (k, v) in names {
                q = q.expression_attribute_names(*k, *v);
            }
            let resp = q.send().await.map_err(unavailable)?;
            out.extend(resp.items.unwrap_or_default());
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn query_prefix(&self, id: &CustomerId, prefix: &str) -> Result<Vec<Item>, CmpError> {
        self.query_all(
            None,
            "pk = :pk AND begins_with(sk, :p)",
            &[(":pk", customer_pk(id)), (":p", prefix.to_owned())],
            &[],
        )
        .await
    }

    /// Deletes items by key in batches of 25, retrying what DynamoDB leaves unprocessed.
    async fn delete_keys(&self, keys: Vec<Item>) -> Result<(), CmpError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        for chunk in keys.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(k.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(|e| CmpError::Integrity(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for attempt in 0..cmp_app::retry::Backoff::BATCH.attempts {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    cmp_app::retry::Backoff::BATCH.pause(attempt - 1).await;
                }
                let resp = self
                    .client
                    .batch_write_item()
                    .request_items(&self.profiles_table, requests.clone())
                    .send()
                    .await
                    .map_err(unavailable)?;
                requests = resp.unprocessed_items.and_then(|mut u| u.remove(&self.profiles_table)).unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(StoreError::Unavailable("deletes left unprocessed".into()).into());
            }
        }
        Ok(())
    }
}

#[async_trait]
impl PrivacyStore for DynamoStore {
    async fn consents(&self, id: &CustomerId) -> Result<Vec<ConsentRecord>, CmpError> {
        self.query_prefix(id, "CONSENT#")
            .await?
            .into_iter()
            .map(|i| Ok(from_item::<ConsentItem>(i)?.record()))
            .collect()
    }

    async fn append_consent(
        &self,
        id: &CustomerId,
        r: &ConsentRecord,
        audit: &cmp_app::audit::AuditRecord,
    ) -> Result<(), CmpError> {
        let item = to_item(&ConsentItem::new(id, r, None))?;
        let mut items = vec![self.put(&self.profiles_table, item, Some("attribute_not_exists(pk)"))?];
        // only an active profile takes new consents (not a merged or erased one)
        let check = ConditionCheck::builder()
            .table_name(&self.profiles_table)
            .set_key(Some(key(customer_pk(id), PROFILE_SK)))
            .condition_expression("#s = :active")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(|e| CmpError::Integrity(e.to_string()))?;
        items.push(TransactWriteItem::builder().condition_check(check).build());
        let log = self.audit.as_ref().ok_or_else(|| CmpError::Config("no audit table configured".into()))?;
        items.extend(log.append_items(audit)?);
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Err(StoreError::Conflict.into()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn holds(&self, id: &CustomerId) -> Result<Vec<LegalHold>, CmpError> {
        self.query_prefix(id, "HOLD#").await?.into_iter().map(|i| from_item::<HoldItem>(i).map(|h| h.hold)).collect()
    }

    async fn put_hold(&self, id: &CustomerId, hold: &LegalHold) -> Result<(), CmpError> {
        let item = to_item(&HoldItem {
            pk: customer_pk(id),
            sk: format!("HOLD#{}", hold.kind),
            entity: "legal_hold".into(),
            customer_id: id.to_string(),
            hold: hold.clone(),
        })?;
        self.client
            .put_item()
            .table_name(&self.profiles_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn release_hold(&self, id: &CustomerId, kind: &str) -> Result<bool, CmpError> {
        let resp = self
            .client
            .delete_item()
            .table_name(&self.profiles_table)
            .set_key(Some(key(customer_pk(id), &format!("HOLD#{kind}"))))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(resp.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn requests(&self, id: &CustomerId) -> Result<Vec<RightsRequest>, CmpError> {
        self.query_prefix(id, "DSR#")
            .await?
            .into_iter()
            .map(|i| from_item::<RequestItem>(i).map(|r| r.request))
            .collect()
    }

    async fn put_request(&self, id: &CustomerId, request: &RightsRequest) -> Result<(), CmpError> {
        let item = to_item(&RequestItem {
            pk: customer_pk(id),
            sk: request_sort_key(request),
            entity: "rights_request".into(),
            customer_id: id.to_string(),
            request: request.clone(),
        })?;
        self.client
            .put_item()
            .table_name(&self.profiles_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn customer_keys(&self, id: &CustomerId) -> Result<CustomerKeys, CmpError> {
        let own = self.query_all(None, "pk = :pk", &[(":pk", customer_pk(id))], &[]).await?;
        let sort_keys = own.iter().filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned()).collect::<Vec<_>>();
        let lookups = self
            .query_all(Some("ByOwner"), "#o = :o", &[(":o", customer_pk(id))], &[("#o", "owner")])
            .await?
            .iter()
            .filter_map(|i| {
                let pk = i.get("pk").and_then(|v| v.as_s().ok())?;
                match i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                    // lookup items answer by their pk; other owned items (flight index) by pk and sk
                    Some("IDX") | None => Some(pk.clone()),
                    Some(sk) => Some(format!("{pk}\n{sk}")),
                }
            })
            .collect();
        Ok(CustomerKeys { sort_keys, lookups })
    }

    async fn erase(&self, plan: &ErasurePlan) -> Result<(), CmpError> {
        let id = &plan.tombstone.id;
        // 1. the tombstone and the audit record, if nobody changed the profile meanwhile
        let put = Put::builder()
            .table_name(&self.profiles_table)
            .set_item(Some(to_item(&Self::profile_item(&plan.tombstone))?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", AttributeValue::N(plan.expected_version.to_string()))
            .build()
            .map_err(|e| CmpError::Integrity(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        let log = self.audit.as_ref().ok_or_else(|| CmpError::Config("no audit table configured".into()))?;
        items.extend(log.append_items(&plan.audit)?);
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => {}
            Err(e) if is_conflict(&e) => return Err(StoreError::Conflict.into()),
            Err(e) => return Err(unavailable(e)),
        }
        // 2. replay guards: the markers of every event that contributed, without expiry
        let now = Utc::now();
        for m in &plan.replay_guards {
            let item = to_item(&serde_json::json!({
                "pk": marker_pk(m), "sk": "EVT", "entity": "replay_guard", "customer_id": id.to_string(),
                "processed_at": now,
            }))?;
            self.client
                .put_item()
                .table_name(&self.profiles_table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(unavailable)?;
        }
        // 3. lookups, each only while it still points at this customer
        for l in &plan.delete_lookups {
            let (pk, sk) = l.split_once('\n').unwrap_or((l.as_str(), "IDX"));
            match self
                .client
                .delete_item()
                .table_name(&self.profiles_table)
                .set_key(Some(key(pk.to_owned(), sk)))
                .condition_expression("customer_id = :c")
                .expression_attribute_values(":c", s(id.to_string()))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_conflict(&e) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        // 4. the customer out of the blocking items it joined (nothing links the id to the person)
        for b in &plan.leave_blocks {
            match self
                .client
                .update_item()
                .table_name(&self.profiles_table)
                .set_key(Some(key(b.clone(), "BLK")))
                .update_expression("DELETE members :m")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":m", AttributeValue::Ss(vec![id.to_string()]))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_conflict(&e) => {} // no such block: nothing to leave
                Err(e) => return Err(unavailable(e)),
            }
        }
        // 5. everything else under the customer
        self.delete_keys(plan.delete_sort_keys.iter().map(|sk| key(customer_pk(id), sk)).collect()).await
    }
}

/// What a bulk load writes for one customer.
#[derive(Debug, Clone)]
pub struct BulkCustomer {
    pub profile: ProfileRecord,
    pub wrapped_key: Vec<u8>,
    pub consents: Vec<ConsentRecord>,
    pub timeline: Vec<TimelineRecord>,
}

impl DynamoStore {
    /// Loads customers with BatchWriteItem (25 items a call, unprocessed items retried), without
    /// transactions, markers or audit records: for seeding benchmarks and for bulk imports whose
    /// rows were resolved and checked beforehand. Existing items with the same keys are overwritten.
    pub async fn bulk_load(&self, customers: &[BulkCustomer]) -> Result<(), CmpError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut profiles: Vec<Item> = Vec::new();
        let mut keys: Vec<Item> = Vec::new();
        for c in customers {
            let id = &c.profile.id;
            profiles.push(to_item(&Self::profile_item(&c.profile))?);
            keys.push(to_item(&KeyItem {
                pk: id.to_string(),
                wrapped_key: ByteBuf::from(c.wrapped_key.clone()),
                purpose: "customer".into(),
                created_at: c.profile.created_at,
            })?);
            for r in &c.consents {
                profiles.push(to_item(&ConsentItem::new(id, r, None))?);
            }
            for t in &c.timeline {
                profiles.push(to_item(&TimelineItem::new(id, t))?);
            }
        }
        for (table, items) in [(&self.keys_table, keys), (&self.profiles_table, profiles)] {
            for chunk in items.chunks(25) {
                let mut requests: Vec<WriteRequest> = chunk
                    .iter()
                    .map(|i| {
                        PutRequest::builder()
                            .set_item(Some(i.clone()))
                            .build()
                            .map(|p| WriteRequest::builder().put_request(p).build())
                            .map_err(|e| CmpError::Integrity(e.to_string()))
                    })
                    .collect::<Result<_, _>>()?;
                for attempt in 0..cmp_app::retry::Backoff::BATCH.attempts {
                    if requests.is_empty() {
                        break;
                    }
                    if attempt > 0 {
                        cmp_app::retry::Backoff::BATCH.pause(attempt - 1).await;
                    }
                    let resp = self
                        .client
                        .batch_write_item()
                        .request_items(table, requests.clone())
                        .send()
                        .await
                        .map_err(unavailable)?;
                    requests = resp.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
                }
                if !requests.is_empty() {
                    return Err(StoreError::Unavailable("writes left unprocessed".into()).into());
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl cmp_app::export::ExportScan for DynamoStore {
    /// A parallel scan (4 segments) of profiles, consent-ledger items and booking timeline entries
    /// (every timeline entry with `timelines`).
    async fn export_items(&self, timelines: bool) -> Result<cmp_app::export::ExportItems, CmpError> {
        const SEGMENTS: i32 = 4;
        let scans = (0..SEGMENTS).map(|segment| async move {
            let mut items: Vec<Item> = Vec::new();
            let mut start: Option<Item> = None;
            loop {
                let scan = self
                    .client
                    .scan()
                    .table_name(&self.profiles_table)
                    .segment(segment)
                    .total_segments(SEGMENTS)
                    .expression_attribute_values(":p", s("profile"))
                    .expression_attribute_values(":c", s("consent"))
                    .expression_attribute_values(":t", s("timeline"));
                let scan = if timelines {
                    scan.filter_expression("entity IN (:p, :c, :t)")
                } else {
                    scan.filter_expression("entity IN (:p, :c) OR (entity = :t AND #k = :b)")
                        .expression_attribute_names("#k", "kind")
                        .expression_attribute_values(":b", s("booking"))
                };
                let resp = scan.set_exclusive_start_key(start.take()).send().await.map_err(unavailable)?;
                items.extend(resp.items.unwrap_or_default());
                match resp.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => return Ok::<_, CmpError>(items),
                }
            }
        });
        let mut out = cmp_app::export::ExportItems::default();
        for items in futures::future::try_join_all(scans).await? {
            for item in items {
                match item.get("entity").and_then(|v| v.as_s().ok()).map(String::as_str) {
                    Some("profile") => out.profiles.push(profile_from(from_item(item)?)?),
                    Some("consent") => {
                        let c: ConsentItem = from_item(item)?;
                        let Ok(id) = c.customer_id.parse::<CustomerId>() else { continue };
                        out.consents.entry(id).or_default().push(c.record());
                    }
                    Some("timeline") => {
                        let t: TimelineItem = from_item(item)?;
                        let Ok(id) = t.customer_id.parse::<CustomerId>() else { continue };
                        if t.kind == TimelineKind::Booking {
                            *out.bookings.entry(id.clone()).or_insert(0) += 1;
                        }
                        if timelines {
                            out.timelines.entry(id).or_default().push(timeline_from(t));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

fn key_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> KeyError {
    KeyError::Unavailable(format!("keys table: {}", DisplayErrorContext(&e)))
}

#[async_trait]
impl WrappedKeyStore for DynamoStore {
    async fn get_wrapped(&self, key_id: &str) -> Result<Option<Vec<u8>>, KeyError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.keys_table)
            .key("pk", s(key_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(key_error)?;
        Ok(resp.item.and_then(|mut i| match i.remove("wrapped_key") {
            Some(AttributeValue::B(b)) => Some(b.into_inner()),
            _ => None,
        }))
    }

    async fn put_wrapped_if_absent(&self, key_id: &str, wrapped: &[u8], purpose: &str) -> Result<bool, KeyError> {
        let item = serde_dynamo::to_item(&KeyItem {
            pk: key_id.to_owned(),
            wrapped_key: ByteBuf::from(wrapped.to_vec()),
            purpose: purpose.to_owned(),
            created_at: Utc::now(),
        })
        .map_err(|e| KeyError::Refused(e.to_string()))?;
        match self
            .client
            .put_item()
            .table_name(&self.keys_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(key_error(e)),
        }
    }

    async fn delete_wrapped(&self, key_id: &str) -> Result<bool, KeyError> {
        let resp = self
            .client
            .delete_item()
            .table_name(&self.keys_table)
            .key("pk", s(key_id))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(key_error)?;
        Ok(resp.attributes.is_some_and(|a| !a.is_empty()))
    }
}
