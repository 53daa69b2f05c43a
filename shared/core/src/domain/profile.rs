//! The golden profile and its survivorship rules.
//!
//! Every attribute of the golden record is chosen from all observations by a total order, so the
//! result does not depend on the order in which events arrive:
//! * identity attributes (name, date of birth, nationality, loyalty) prefer the most trusted channel,
//!   then the most recent observation;
//! * contact and preference attributes (address, meal, seat, language, home airport, special
//!   assistance) prefer the most recent observation, then the most trusted channel;
//! * lists (e-mails, phones, documents) are the union of what was seen, each entry with its own
//!   first/last seen and verification.
//!
//! Each chosen value keeps its lineage (source, channel, event, time), stored without personal data.
use super::event::{Address, Channel, Document, Loyalty, Observation, PersonName, Tier};
use super::pii::{CountryCode, DateOfBirth, Email, PhoneE164};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Where a value came from. Contains no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    pub source: String,
    pub channel: Channel,
    pub event_id: String,
    pub observed_at: DateTime<Utc>,
}

impl Lineage {
    fn identity_rank(&self) -> (u8, DateTime<Utc>, &str) {
        (self.channel.trust(), self.observed_at, &self.event_id)
    }
    fn recency_rank(&self) -> (DateTime<Utc>, u8, &str) {
        (self.observed_at, self.channel.trust(), &self.event_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEntry<T> {
    pub value: T,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentEntry {
    pub document: Document,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldenPreferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_airport: Option<String>,
}

/// The decrypted content of a golden profile. Each top-level field is stored as its own ciphertext.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Golden {
    pub name: Option<PersonName>,
    pub emails: Vec<ContactEntry<Email>>,
    pub phones: Vec<ContactEntry<PhoneE164>>,
    pub date_of_birth: Option<DateOfBirth>,
    pub nationality: Option<CountryCode>,
    pub loyalty: Option<Loyalty>,
    pub address: Option<Address>,
    pub documents: Vec<DocumentEntry>,
    pub preferences: GoldenPreferences,
    pub special_assistance: Vec<String>,
}

/// The names of the encrypted fields of a profile, in storage order.
pub const FIELDS: [&str; 10] = [
    "name",
    "emails",
    "phones",
    "date_of_birth",
    "nationality",
    "loyalty",
    "address",
    "documents",
    "preferences",
    "special_assistance",
];

/// At most this many e-mails, phones or documents are kept per profile (the least recently seen,
/// unverified ones go first).
pub const MAX_LIST: usize = 10;

impl Golden {
    /// Serialises one field for encryption.
    pub fn field_json(&self, field: &str) -> Option<Vec<u8>> {
        let v = match field {
            "name" => serde_json::to_vec(&self.name),
            "emails" => serde_json::to_vec(&self.emails),
            "phones" => serde_json::to_vec(&self.phones),
            "date_of_birth" => serde_json::to_vec(&self.date_of_birth),
            "nationality" => serde_json::to_vec(&self.nationality),
            "loyalty" => serde_json::to_vec(&self.loyalty),
            "address" => serde_json::to_vec(&self.address),
            "documents" => serde_json::to_vec(&self.documents),
            "preferences" => serde_json::to_vec(&self.preferences),
            "special_assistance" => serde_json::to_vec(&self.special_assistance),
            _ => return None,
        };
        v.ok()
    }

    /// Restores one field from its decrypted JSON.
    pub fn set_field_json(&mut self, field: &str, json: &[u8]) -> Result<(), serde_json::Error> {
        match field {
            "name" => self.name = serde_json::from_slice(json)?,
            "emails" => self.emails = serde_json::from_slice(json)?,
            "phones" => self.phones = serde_json::from_slice(json)?,
            "date_of_birth" => self.date_of_birth = serde_json::from_slice(json)?,
            "nationality" => self.nationality = serde_json::from_slice(json)?,
            "loyalty" => self.loyalty = serde_json::from_slice(json)?,
            "address" => self.address = serde_json::from_slice(json)?,
            "documents" => self.documents = serde_json::from_slice(json)?,
            "preferences" => self.preferences = serde_json::from_slice(json)?,
            "special_assistance" => self.special_assistance = serde_json::from_slice(json)?,
            _ => {}
        }
        Ok(())
    }

    pub fn tier(&self) -> Option<Tier> {
        self.loyalty.as_ref().and_then(|l| l.tier)
    }

    /// Folds one observation into the golden record. Returns the top-level fields that changed.
    pub fn apply(
        &mut self,
        lineage: &mut BTreeMap<String, Lineage>,
        obs: &Observation,
        from: &Lineage,
    ) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if let Some(n) = &obs.name {
            if scalar(&mut self.name, lineage, "name", n, from, Rank::Identity) {
                changed.push("name");
            }
        }
        if let Some(d) = &obs.date_of_birth {
            if scalar(&mut self.date_of_birth, lineage, "date_of_birth", d, from, Rank::Identity) {
                changed.push("date_of_birth");
            }
        }
        if let Some(n) = &obs.nationality {
            if scalar(&mut self.nationality, lineage, "nationality", n, from, Rank::Identity) {
                changed.push("nationality");
            }
        }
        if let Some(l) = &obs.loyalty {
            // a sighting without a tier must not erase the tier the loyalty system reported
            let mut merged = l.clone();
            if merged.tier.is_none() {
                merged.tier = self.loyalty.as_ref().filter(|c| c.number == l.number).and_then(|c| c.tier);
            }
            if scalar(&mut self.loyalty, lineage, "loyalty", &merged, from, Rank::Identity) {
                changed.push("loyalty");
            }
        }
        if let Some(a) = &obs.address {
            if scalar(&mut self.address, lineage, "address", a, from, Rank::Recency) {
                changed.push("address");
            }
        }
        if !obs.special_assistance.is_empty()
            && scalar_vec(&mut self.special_assistance, lineage, "special_assistance", &obs.special_assistance, from)
        {
            changed.push("special_assistance");
        }
        let p = &obs.preferences;
        let mut prefs_changed = false;
        for (key, val, slot) in [
            ("preferences.meal", &p.meal, &mut self.preferences.meal),
            ("preferences.seat", &p.seat, &mut self.preferences.seat),
            ("preferences.language", &p.language, &mut self.preferences.language),
            ("preferences.home_airport", &p.home_airport, &mut self.preferences.home_airport),
        ] {
            if let Some(v) = val {
                prefs_changed |= scalar(slot, lineage, key, v, from, Rank::Recency);
            }
        }
        if prefs_changed {
            changed.push("preferences");
        }
        let emails: Vec<_> = obs.emails.iter().map(|e| (e.address.clone(), e.verified, e.kind.clone())).collect();
        if merge_contacts(&mut self.emails, &emails, from, |e| e.match_key()) {
            changed.push("emails");
        }
        let phones: Vec<_> = obs.phones.iter().map(|p| (p.number.clone(), p.verified, p.kind.clone())).collect();
        if merge_contacts(&mut self.phones, &phones, from, |p| p.match_key()) {
            changed.push("phones");
        }
        if merge_documents(&mut self.documents, &obs.documents, from) {
            changed.push("documents");
        }
        changed
    }
}

impl Golden {
    /// Folds another golden record into this one, as if the observations behind each of its
    /// values (named by `other_lineage`) had been applied here: scalars by the survivorship order,
    /// lists as unions keeping first and last seen and verification. Used when two profiles merge;
    /// the result does not depend on which of the two absorbs the other. Returns the fields that
    /// changed.
    pub fn absorb(
        &mut self,
        lineage: &mut BTreeMap<String, Lineage>,
        other: &Golden,
        other_lineage: &BTreeMap<String, Lineage>,
    ) -> Vec<&'static str> {
        let fallback = Lineage {
            source: String::new(),
            channel: Channel::Social,
            event_id: String::new(),
            observed_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let from = |k: &str| other_lineage.get(k).unwrap_or(&fallback);
        let mut changed = Vec::new();
        if let Some(v) = &other.name {
            if scalar(&mut self.name, lineage, "name", v, from("name"), Rank::Identity) {
                changed.push("name");
            }
        }
        if let Some(v) = &other.date_of_birth {
            if scalar(&mut self.date_of_birth, lineage, "date_of_birth", v, from("date_of_birth"), Rank::Identity) {
                changed.push("date_of_birth");
            }
        }
        if let Some(v) = &other.nationality {
            if scalar(&mut self.nationality, lineage, "nationality", v, from("nationality"), Rank::Identity) {
                changed.push("nationality");
            }
        }
        if let Some(v) = &other.loyalty {
            if scalar(&mut self.loyalty, lineage, "loyalty", v, from("loyalty"), Rank::Identity) {
                changed.push("loyalty");
            }
        }
        if let Some(v) = &other.address {
            if scalar(&mut self.address, lineage, "address", v, from("address"), Rank::Recency) {
                changed.push("address");
            }
        }
        if !other.special_assistance.is_empty()
            && scalar_vec(
                &mut self.special_assistance,
                lineage,
                "special_assistance",
                &other.special_assistance,
                from("special_assistance"),
            )
        {
            changed.push("special_assistance");
        }
        let o = &other.preferences;
        let mut prefs_changed = false;
        for (key, val, slot) in [
            ("preferences.meal", &o.meal, &mut self.preferences.meal),
            ("preferences.seat", &o.seat, &mut self.preferences.seat),
            ("preferences.language", &o.language, &mut self.preferences.language),
            ("preferences.home_airport", &o.home_airport, &mut self.preferences.home_airport),
        ] {
            if let Some(v) = val {
                prefs_changed |= scalar(slot, lineage, key, v, from(key), Rank::Recency);
            }
        }
        if prefs_changed {
            changed.push("preferences");
        }
        if absorb_contacts(&mut self.emails, &other.emails, |e| e.match_key()) {
            changed.push("emails");
        }
        if absorb_contacts(&mut self.phones, &other.phones, |p| p.match_key()) {
            changed.push("phones");
        }
        let before = self.documents.clone();
        for d in &other.documents {
            let seen = Lineage { source: d.source.clone(), observed_at: d.first_seen, ..fallback.clone() };
            merge_documents(&mut self.documents, std::slice::from_ref(&d.document), &seen);
            let last = Lineage { source: d.source.clone(), observed_at: d.last_seen, ..fallback.clone() };
            merge_documents(&mut self.documents, std::slice::from_ref(&d.document), &last);
        }
        if self.documents != before {
            changed.push("documents");
        }
        changed
    }
}

/// Unions two contact lists: one entry per value, verified if either was, first and last seen the
/// extremes, the value as last seen.
fn absorb_contacts<T: Clone + PartialEq>(
    list: &mut Vec<ContactEntry<T>>,
    other: &[ContactEntry<T>],
    key: impl Fn(&T) -> String,
) -> bool {
    if other.is_empty() {
        return false;
    }
    let before = list.clone();
    for o in other {
        let k = key(&o.value);
        match list.iter_mut().find(|e| key(&e.value) == k) {
            Some(e) => {
                e.verified |= o.verified;
                e.first_seen = e.first_seen.min(o.first_seen);
                if o.last_seen > e.last_seen {
                    e.last_seen = o.last_seen;
                    e.source = o.source.clone();
                    e.value = o.value.clone();
                    if o.kind.is_some() {
                        e.kind = o.kind.clone();
                    }
                }
            }
            None => list.push(o.clone()),
        }
    }
    list.sort_by(|a, b| {
        b.verified.cmp(&a.verified).then(b.last_seen.cmp(&a.last_seen)).then_with(|| key(&a.value).cmp(&key(&b.value)))
    });
    list.truncate(MAX_LIST);
    *list != before
}

#[derive(Clone, Copy)]
enum Rank {
    Identity,
    Recency,
}

fn beats(new: &Lineage, old: Option<&Lineage>, rank: Rank) -> bool {
    match old {
        None => true,
        Some(old) => match rank {
            Rank::Identity => new.identity_rank() >= old.identity_rank(),
            Rank::Recency => new.recency_rank() >= old.recency_rank(),
        },
    }
}

fn scalar<T: Clone + PartialEq>(
    slot: &mut Option<T>,
    lineage: &mut BTreeMap<String, Lineage>,
    key: &str,
    value: &T,
    from: &Lineage,
    rank: Rank,
) -> bool {
    if slot.is_some() && !beats(from, lineage.get(key), rank) {
        return false;
    }
    let changed = slot.as_ref() != Some(value);
    *slot = Some(value.clone());
    // the same value confirmed by an equally ranked observation keeps its lineage (no rewrite)
    let same_rank = lineage
        .get(key)
        .is_some_and(|l| l.channel.trust() == from.channel.trust() && l.observed_at == from.observed_at);
    if changed || !same_rank {
        lineage.insert(key.to_owned(), from.clone());
    }
    changed
}

fn scalar_vec(
    slot: &mut Vec<String>,
    lineage: &mut BTreeMap<String, Lineage>,
    key: &str,
    value: &[String],
    from: &Lineage,
) -> bool {
    if !slot.is_empty() && !beats(from, lineage.get(key), Rank::Recency) {
        return false;
    }
    let mut v = value.to_vec();
    v.sort();
    v.dedup();
    let changed = *slot != v;
    *slot = v;
    lineage.insert(key.to_owned(), from.clone());
    changed
}

fn merge_contacts<T: Clone + PartialEq>(
    list: &mut Vec<ContactEntry<T>>,
    seen: &[(T, bool, Option<String>)],
    from: &Lineage,
    key: impl Fn(&T) -> String,
) -> bool {
    if seen.is_empty() {
        return false;
    }
    let before = list.clone();
    for (value, verified, kind) in seen {
        let k = key(value);
        match list.iter_mut().find(|e| key(&e.value) == k) {
            Some(e) => {
                e.verified |= *verified;
                if from.observed_at < e.first_seen {
                    e.first_seen = from.observed_at;
                }
                if from.observed_at >= e.last_seen {
                    e.last_seen = from.observed_at;
                    e.source = from.source.clone();
                    e.value = value.clone();
                    if kind.is_some() {
                        e.kind = kind.clone();
                    }
                }
            }
            None => list.push(ContactEntry {
                value: value.clone(),
                verified: *verified,
                kind: kind.clone(),
                first_seen: from.observed_at,
                last_seen: from.observed_at,
                source: from.source.clone(),
            }),
        }
    }
    list.sort_by(|a, b| {
        b.verified.cmp(&a.verified).then(b.last_seen.cmp(&a.last_seen)).then_with(|| key(&a.value).cmp(&key(&b.value)))
    });
    list.truncate(MAX_LIST);
    *list != before
}

fn merge_documents(list: &mut Vec<DocumentEntry>, seen: &[Document], from: &Lineage) -> bool {
    if seen.is_empty() {
        return false;
    }
    let before = list.clone();
    let same = |a: &Document, b: &Document| {
        a.doc_type == b.doc_type && a.issuing_country == b.issuing_country && a.number == b.number
    };
    for d in seen {
        match list.iter_mut().find(|e| same(&e.document, d)) {
            Some(e) => {
                if from.observed_at < e.first_seen {
                    e.first_seen = from.observed_at;
                }
                if from.observed_at >= e.last_seen {
                    e.last_seen = from.observed_at;
                    e.source = from.source.clone();
                    if d.expires_on.is_some() {
                        e.document.expires_on = d.expires_on;
                    }
                    if d.nationality.is_some() {
                        e.document.nationality = d.nationality.clone();
                    }
                }
            }
            None => list.push(DocumentEntry {
                document: d.clone(),
                first_seen: from.observed_at,
                last_seen: from.observed_at,
                source: from.source.clone(),
            }),
        }
    }
    list.sort_by(|a, b| match b.last_seen.cmp(&a.last_seen) {
        Ordering::Equal => a.document.number.as_str().cmp(b.document.number.as_str()),
        o => o,
    });
    list.truncate(MAX_LIST);
    *list != before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{EmailObs, Preferences};
    use chrono::TimeZone;

    fn lin(channel: Channel, day: u32, id: &str) -> Lineage {
        Lineage {
            source: format!("/channels/{channel:?}"),
            channel,
            event_id: id.into(),
            observed_at: Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap(),
        }
    }

    fn obs(given: &str, email: &str, city: &str) -> Observation {
        Observation {
            name: Some(PersonName { given: given.into(), family: "Nowak".into(), middle: None, title: None }),
            emails: vec![EmailObs { address: Email::parse(email).unwrap(), verified: false, kind: None }],
            address: Some(Address {
                lines: vec![],
                city: Some(city.into()),
                postal_code: None,
                region: None,
                country: CountryCode::parse("PL").unwrap(),
            }),
            preferences: Preferences { meal: Some("VGML".into()), ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn result_does_not_depend_on_arrival_order() {
        let events = [
            (obs("Anna", "anna@example.com", "Kraków"), lin(Channel::CheckIn, 2, "e1")),
            (obs("Ania", "ania@example.com", "Warszawa"), lin(Channel::Web, 9, "e2")),
            (obs("Anna", "anna@example.com", "Gdańsk"), lin(Channel::CallCentre, 5, "e3")),
        ];
        let orders = [[0, 1, 2], [2, 1, 0], [1, 0, 2], [1, 2, 0]];
        let mut results = Vec::new();
        for order in orders {
            let mut g = Golden::default();
            let mut l = BTreeMap::new();
            for i in order {
                g.apply(&mut l, &events[i].0, &events[i].1);
            }
            results.push((g, l));
        }
        for r in &results[1..] {
            assert_eq!(r, &results[0]);
        }
        let (g, _) = &results[0];
        // identity: the check-in desk (most trusted) wins the name
        assert_eq!(g.name.as_ref().unwrap().given, "Anna");
        // contact: the most recent address wins
        assert_eq!(g.address.as_ref().unwrap().city.as_deref(), Some("Warszawa"));
        // both e-mails kept, most recently seen first
        assert_eq!(g.emails.len(), 2);
        assert_eq!(g.emails[0].value.as_str(), "ania@example.com");
    }

    #[test]
    fn reapplying_the_same_observation_changes_nothing() {
        let o = obs("Anna", "anna@example.com", "Kraków");
        let from = lin(Channel::Web, 3, "e1");
        let mut g = Golden::default();
        let mut l = BTreeMap::new();
        let first = g.apply(&mut l, &o, &from);
        assert!(first.contains(&"name") && first.contains(&"emails") && first.contains(&"preferences"));
        let snapshot = (g.clone(), l.clone());
        assert!(g.apply(&mut l, &o, &from).is_empty());
        assert_eq!((g, l), snapshot);
    }

    #[test]
    fn fields_round_trip_through_json() {
        let mut g = Golden::default();
        let mut l = BTreeMap::new();
        g.apply(&mut l, &obs("Zoë", "zoe@example.com", "Köln"), &lin(Channel::Web, 1, "e"));
        let mut back = Golden::default();
        for f in FIELDS {
            back.set_field_json(f, &g.field_json(f).unwrap()).unwrap();
        }
        assert_eq!(back, g);
    }
}
