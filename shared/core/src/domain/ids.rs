//! Identifiers the platform mints or receives.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A customer id minted by the platform: `cus_` followed by 32 lowercase hex digits (a UUIDv7, so ids
/// sort roughly by creation time). Anything else, including path tricks such as `../`, is rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a customer id is `cus_` followed by 32 lowercase hex digits")]
pub struct InvalidCustomerId;

impl CustomerId {
    pub const PREFIX: &'static str = "cus_";

    pub fn new() -> Self {
        CustomerId(format!("{}{}", Self::PREFIX, uuid::Uuid::now_v7().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for CustomerId {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for CustomerId {
    type Err = InvalidCustomerId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix(Self::PREFIX).ok_or(InvalidCustomerId)?;
        if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(CustomerId(s.to_owned()))
        } else {
            Err(InvalidCustomerId)
        }
    }
}

impl TryFrom<String> for CustomerId {
    type Error = InvalidCustomerId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CustomerId> for String {
    fn from(c: CustomerId) -> String {
        c.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity of an inbound event for idempotency: CloudEvents makes `source` + `id` unique.
/// Rendered as a fixed-length digest so that marker keys are bounded and carry nothing a producer sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventRef(String);

impl EventRef {
    pub fn new(source: &str, id: &str) -> Self {
        let mut h = Sha256::new();
        h.update(source.as_bytes());
        h.update([0u8]);
        h.update(id.as_bytes());
        let digest = h.finalize();
        EventRef(hex(&digest[..16]))
    }

    /// The marker of one unit of work of an event (a booking touches each passenger separately).
    pub fn part(&self, part: &str) -> String {
        if part.is_empty() {
            self.0.clone()
        } else {
            format!("{}#{}", self.0, part)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_parse_back() {
        let id = CustomerId::new();
        assert_eq!(id.as_str().parse::<CustomerId>().unwrap(), id);
        assert_eq!(id.as_str().len(), 36);
    }

    #[test]
    fn hostile_ids_are_rejected() {
        for bad in [
            "",
            "cus_",
            "../etc/passwd",
            "cus_../../0000000000000000000000000",
            "cus_0192F1A3C4D57E8F9A0B1C2D3E4F5A6B",
            "cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6",
            "cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6bb",
            "CUS_0192f1a3c4d57e8f9a0b1c2d3e4f5a6b",
            "cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6%",
        ] {
            assert!(bad.parse::<CustomerId>().is_err(), "{bad} accepted");
        }
        assert!("cus_0192f1a3c4d57e8f9a0b1c2d3e4f5a6b".parse::<CustomerId>().is_ok());
    }

    proptest::proptest! {
        #[test]
        fn only_well_formed_ids_parse(s in "\\PC{0,50}") {
            let ok = s.parse::<CustomerId>().is_ok();
            let well_formed = s.len() == 36 && s.starts_with("cus_") && s[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            proptest::prop_assert_eq!(ok, well_formed);
        }
    }

    #[test]
    fn event_refs_depend_on_source_and_id() {
        let a = EventRef::new("/channels/web", "e1");
        assert_eq!(a, EventRef::new("/channels/web", "e1"));
        assert_ne!(a, EventRef::new("/channels/app", "e1"));
        assert_ne!(a, EventRef::new("/channels/web", "e2"));
        // no ambiguity between ("ab","c") and ("a","bc")
        assert_ne!(EventRef::new("ab", "c"), EventRef::new("a", "bc"));
        assert_eq!(a.part("P1"), format!("{}#P1", a.as_str()));
    }
}
