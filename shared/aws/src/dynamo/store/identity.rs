//! DynamoDB adapter of [`IdentityStore`]: partitions, moves between customers, merge records,
//! keep-apart pairs and the review queue, in the profile table.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | merge record | `CUST#<survivor>` | `MERGE#<merged_at>#<loser>` |
//! | keep-apart pair | `PAIR#<a>#<b>` | `PAIR` |
//! | candidate match | `MATCH#<id>` | `MATCH` |
//! | pending review (queue) | `REVIEWQ` | `<created_at>#<id>` |
//! | decided review | `REVIEWED` | `<decided_at>#<id>` |
//! | guarded identifier | `GUARDED` | `IDX#<kind>#<HMAC>` |
use super::*;
use aws_sdk_dynamodb::types::{Delete, Update};
use cmp_app::store::{
    ConsentEntry, IdentityCommit, IdentityStore, IndexRecord, KeepApart, LookupRecord, MatchCandidate, MergeRecord,
    Move, Partition, MOVE_BATCH,
};

#[derive(Serialize, Deserialize)]
struct MergeItem {
    pk: String,
    sk: String,
    entity: String,
    customer_id: String,
    #[serde(flatten)]
    record: MergeRecord,
}

#[derive(Serialize, Deserialize)]
struct PairItem {
    pk: String,
    sk: String,
    entity: String,
    #[serde(flatten)]
    pair: KeepApart,
}

/// Partition of the identifiers the shared-identifier guard stopped counting.
pub(super) const GUARDED_PK: &str = "GUARDED";

#[derive(Serialize, Deserialize)]
pub(super) struct GuardedItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    /// `CUST#<id>` (`ByOwner`): erasing the customer deletes the item.
    pub owner: String,
    #[serde(flatten)]
    pub identifier: cmp_app::store::GuardedIdentifier,
}

#[derive(Serialize, Deserialize)]
struct MatchItem {
    pk: String,
    sk: String,
    entity: String,
    /// The candidate as JSON (scores and explanations hold floats and nested maps).
    doc: String,
}

const QUEUE_PK: &str = "REVIEWQ";
const DECIDED_PK: &str = "REVIEWED";

fn at_key(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn match_item(pk: String, sk: String, m: &MatchCandidate) -> Result<Item, CmpError> {
    let doc = serde_json::to_string(m).map_err(|e| CmpError::Integrity(e.to_string()))?;
    to_item(&MatchItem { pk, sk, entity: "match".into(), doc })
}

fn match_from(item: Item) -> Result<MatchCandidate, CmpError> {
    let m: MatchItem = from_item(item)?;
    serde_json::from_str(&m.doc).map_err(|e| StoreError::Corrupt(format!("match: {e}")).into())
}

fn opt_id(v: Option<&AttributeValue>) -> Option<CustomerId> {
    v.and_then(|v| v.as_s().ok()).and_then(|s| s.parse().ok())
}

fn text(i: &Item, k: &str) -> Option<String> {
    i.get(k).and_then(|v| v.as_s().ok()).cloned()
}

impl DynamoStore {
    fn delete(&self, pk: String, sk: &str) -> Result<TransactWriteItem, CmpError> {
        let d = Delete::builder()
            .table_name(&self.profiles_table)
            .set_key(Some(key(pk, sk)))
            .build()
            .map_err(|e| CmpError::Integrity(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(d).build())
    }

    /// Re-points an owned item (lookup, flight index, current booking) to `to`, while it still
    /// points at `from`.
    fn repoint(
        &self,
        pk: &str,
        sk: &str,
        from: &CustomerId,
        to: &CustomerId,
        origin: &Option<CustomerId>,
    ) -> Result<TransactWriteItem, CmpError> {
        let mut u = Update::builder()
            .table_name(&self.profiles_table)
            .set_key(Some(key(pk.to_owned(), sk)))
            .condition_expression("customer_id = :from")
            .expression_attribute_values(":from", s(from.to_string()))
            .expression_attribute_values(":to", s(to.to_string()))
            .expression_attribute_values(":owner", s(customer_pk(to)))
            .expression_attribute_names("#o", "owner");
        u = match origin {
            Some(o) => u
                .update_expression("SET customer_id = :to, #o = :owner, origin = :origin")
                .expression_attribute_values(":origin", s(o.to_string())),
            None => u.update_expression("SET customer_id = :to, #o = :owner REMOVE origin"),
        };
        let u = u.build().map_err(|e| CmpError::Integrity(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(u).build())
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), CmpError> {
        if items.is_empty() {
            return Ok(());
        }
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Err(StoreError::Conflict.into()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Full items by key (BatchGetItem), for what an index query answers with keys only.
    pub(super) async fn get_items(&self, keys: Vec<Item>) -> Result<Vec<Item>, CmpError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
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
                out.extend(resp.responses.and_then(|mut r| r.remove(&self.profiles_table)).unwrap_or_default());
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
}

#[async_trait]
impl IdentityStore for DynamoStore {
    async fn partition(&self, id: &CustomerId) -> Result<Partition, CmpError> {
        let mut p = Partition::default();
        for item in self.query_all(None, "pk = :pk", &[(":pk", customer_pk(id))], &[]).await? {
            let sk = text(&item, "sk").unwrap_or_default();
            if sk.starts_with("TL#") {
                p.timeline.push(timeline_from(from_item(item)?));
            } else if sk.starts_with("CONSENT#") {
                let c: ConsentItem = from_item(item)?;
                let origin = c.origin.as_deref().and_then(|o| o.parse().ok());
                p.consents.push(ConsentEntry { record: c.record(), origin });
            } else if sk.starts_with("HOLD#") {
                let h: HoldItem = from_item(item)?;
                p.holds.push(h.hold);
            }
        }
        let owned = self
            .query_all(Some("ByOwner"), "#o = :o", &[(":o", customer_pk(id))], &[("#o", "owner")])
            .await?
            .into_iter()
            .filter_map(|i| Some(key(text(&i, "pk")?, &text(&i, "sk")?)))
            .collect();
        for item in self.get_items(owned).await? {
            if text(&item, "customer_id").as_deref() != Some(id.as_str()) {
                continue;
            }
            let (pk, sk) = (text(&item, "pk").unwrap_or_default(), text(&item, "sk").unwrap_or_default());
            if sk == "IDX" {
                p.lookups.push(LookupRecord {
                    key: pk,
                    customer_id: id.clone(),
                    origin: opt_id(item.get("origin")),
                    claimed_by: text(&item, "claimed_by"),
                    created_at: text(&item, "created_at").and_then(|t| t.parse().ok()).unwrap_or_default(),
                });
            } else {
                p.index.push(IndexRecord { pk, sk, origin: opt_id(item.get("origin")), marker: text(&item, "marker") });
            }
        }
        Ok(p)
    }

    async fn move_items(&self, from: &CustomerId, to: &CustomerId, moves: &[Move]) -> Result<(), CmpError> {
        if moves.len() > MOVE_BATCH {
            return Err(CmpError::Integrity("move batch too large".into()));
        }
        let mut items = Vec::new();
        for m in moves {
            match m {
                Move::Timeline(t) => {
                    items.push(self.put(&self.profiles_table, to_item(&TimelineItem::new(to, t))?, None)?);
                    items.push(self.delete(customer_pk(from), &t.sk)?);
                }
                Move::Consent(c) => {
                    let item = ConsentItem::new(to, &c.record, c.origin.as_ref());
                    let sk = item.sk.clone();
                    items.push(self.put(&self.profiles_table, to_item(&item)?, None)?);
                    items.push(self.delete(customer_pk(from), &sk)?);
                }
                Move::Hold(h) => {
                    let item = HoldItem {
                        pk: customer_pk(to),
                        sk: format!("HOLD#{}", h.kind),
                        entity: "legal_hold".into(),
                        customer_id: to.to_string(),
                        hold: h.clone(),
                    };
                    items.push(self.put(&self.profiles_table, to_item(&item)?, None)?);
                }
                Move::Lookup { key: k, origin } => items.push(self.repoint(k, "IDX", from, to, origin)?),
                Move::Index { pk, sk, origin } => items.push(self.repoint(pk, sk, from, to, origin)?),
            }
        }
        self.transact(items).await
    }

    async fn merges(&self, survivor: &CustomerId) -> Result<Vec<MergeRecord>, CmpError> {
        self.query_prefix(survivor, "MERGE#")
            .await?
            .into_iter()
            .map(|i| Ok(from_item::<MergeItem>(i)?.record))
            .collect()
    }

    async fn commit_identity(&self, c: &IdentityCommit) -> Result<(), CmpError> {
        let mut items = Vec::new();
        for (p, v) in &c.profiles {
            let put = Put::builder()
                .table_name(&self.profiles_table)
                .set_item(Some(to_item(&Self::profile_item(p))?))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string()))
                .build()
                .map_err(|e| CmpError::Integrity(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        if let Some(m) = &c.merge {
            let item = MergeItem {
                pk: customer_pk(&m.survivor),
                sk: m.sort_key(),
                entity: "merge".into(),
                customer_id: m.survivor.to_string(),
                record: m.clone(),
            };
            items.push(self.put(&self.profiles_table, to_item(&item)?, None)?);
        }
        if let Some(k) = &c.keep_apart {
            let item = PairItem {
                pk: KeepApart::key(&k.a, &k.b),
                sk: "PAIR".into(),
                entity: "keep_apart".into(),
                pair: k.clone(),
            };
            items.push(self.put(&self.profiles_table, to_item(&item)?, None)?);
        }
        if let Some(d) = &c.decided {
            let put = Put::builder()
                .table_name(&self.profiles_table)
                .set_item(Some(match_item(format!("MATCH#{}", d.id), "MATCH".into(), d)?))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(|e| CmpError::Integrity(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(put).build());
            let queued = Delete::builder()
                .table_name(&self.profiles_table)
                .set_key(Some(key(QUEUE_PK.into(), &format!("{}#{}", at_key(d.created_at), d.id))))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(|e| CmpError::Integrity(e.to_string()))?;
            items.push(TransactWriteItem::builder().delete(queued).build());
            let at = d.decided_at.unwrap_or_else(Utc::now);
            items.push(self.put(
                &self.profiles_table,
                match_item(DECIDED_PK.into(), format!("{}#{}", at_key(at), d.id), d)?,
                None,
            )?);
        }
        if !c.audit.is_empty() {
            let log = self.audit.as_ref().ok_or_else(|| CmpError::Config("no audit table configured".into()))?;
            for a in &c.audit {
                items.extend(log.append_items(a)?);
            }
        }
        self.transact(items).await
    }

    async fn kept_apart(&self, x: &CustomerId, y: &CustomerId) -> Result<bool, CmpError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.profiles_table)
            .set_key(Some(key(KeepApart::key(x, y), "PAIR")))
            .consistent_read(true)
            .projection_expression("pk")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(resp.item.is_some())
    }

    async fn put_match(&self, m: &MatchCandidate) -> Result<bool, CmpError> {
        let items = vec![
            self.put(
                &self.profiles_table,
                match_item(format!("MATCH#{}", m.id), "MATCH".into(), m)?,
                Some("attribute_not_exists(pk)"),
            )?,
            self.put(
                &self.profiles_table,
                match_item(QUEUE_PK.into(), format!("{}#{}", at_key(m.created_at), m.id), m)?,
                None,
            )?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(CmpError::Store(StoreError::Conflict)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get_match(&self, id: &str) -> Result<Option<MatchCandidate>, CmpError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.profiles_table)
            .set_key(Some(key(format!("MATCH#{id}"), "MATCH")))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        resp.item.map(match_from).transpose()
    }

    async fn pending_matches(&self, limit: usize) -> Result<Vec<MatchCandidate>, CmpError> {
        self.page(QUEUE_PK, true, limit).await
    }

    async fn decided_matches(&self, limit: usize) -> Result<Vec<MatchCandidate>, CmpError> {
        self.page(DECIDED_PK, false, limit).await
    }

    async fn forget_matches(&self, matches: &[MatchCandidate]) -> Result<(), CmpError> {
        for m in matches {
            let mut keys = vec![
                key(format!("MATCH#{}", m.id), "MATCH"),
                key(QUEUE_PK.into(), &format!("{}#{}", at_key(m.created_at), m.id)),
            ];
            if let Some(at) = m.decided_at {
                keys.push(key(DECIDED_PK.into(), &format!("{}#{}", at_key(at), m.id)));
            }
            for k in keys {
                self.client
                    .delete_item()
                    .table_name(&self.profiles_table)
                    .set_key(Some(k))
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
        }
        Ok(())
    }

    async fn guarded_identifiers(&self, limit: usize) -> Result<Vec<cmp_app::store::GuardedIdentifier>, CmpError> {
        // keyed by lookup (a guard reached twice is one item); few enough to sort here
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.profiles_table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(GUARDED_PK))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for i in resp.items.unwrap_or_default() {
                out.push(from_item::<GuardedItem>(i)?.identifier);
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.sort_by_key(|g| std::cmp::Reverse(g.reached_at));
        out.truncate(limit);
        Ok(out)
    }
}

impl DynamoStore {
    /// Up to `limit` matches of a queue partition, in sort-key order (`forward`) or reversed.
    async fn page(&self, pk: &str, forward: bool, limit: usize) -> Result<Vec<MatchCandidate>, CmpError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < limit {
            let resp = self
                .client
                .query()
                .table_name(&self.profiles_table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .scan_index_forward(forward)
                .limit((limit - out.len()).min(100) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for i in resp.items.unwrap_or_default() {
                out.push(match_from(i)?);
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(out)
    }
}
