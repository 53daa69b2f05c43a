//! Personal identifiers, parsed once at the edge into types that can only hold valid, normalised values.
//!
//! Each type keeps the value as it should be displayed and offers `match_key()`, the canonical form the
//! blind indexes are computed from (so that `Anna.Nowak@Example.COM ` and `anna.nowak@example.com`
//! find the same customer).
use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    #[error("not a valid e-mail address")]
    InvalidEmail,
    #[error("not a valid phone number (use E.164, e.g. +353861234567, or give the customer's country)")]
    InvalidPhone,
    #[error("not a valid loyalty number (6 to 16 letters or digits)")]
    InvalidLoyaltyNumber,
    #[error("not a valid country code (ISO 3166-1 alpha-2)")]
    InvalidCountry,
    #[error("not a plausible date of birth")]
    InvalidDateOfBirth,
    #[error("not a valid document number")]
    InvalidDocumentNumber,
    #[error("a name part must not be empty")]
    EmptyName,
}

/// An e-mail address: trimmed, at most 254 characters, one `@`, a dotted domain. The domain is
/// lower-cased; the local part is kept as given for display and lower-cased for matching.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, PiiError> {
        let s = raw.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(PiiError::InvalidEmail);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(PiiError::InvalidEmail)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(PiiError::InvalidEmail);
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return Err(PiiError::InvalidEmail);
        }
        Ok(Email(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Canonical form for matching: lower-cased. (Provider-specific rules such as dropping dots or
    /// `+tags` are deliberately not applied here: they would merge different people at some providers.)
    pub fn match_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for Email {
    type Error = PiiError;
    fn try_from(s: String) -> Result<Self, PiiError> {
        Email::parse(&s)
    }
}
impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

/// A phone number in E.164 (`+` and up to 15 digits), validated against the numbering plan of its
/// country with the `phonenumber` crate (libphonenumber's metadata).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Parses a number written in international form, or in national form when the customer's
    /// country is known (`default_country`, ISO alpha-2).
    pub fn parse(raw: &str, default_country: Option<&CountryCode>) -> Result<Self, PiiError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 32 {
            return Err(PiiError::InvalidPhone);
        }
        let region = default_country.and_then(|c| c.as_str().parse::<phonenumber::country::Id>().ok());
        let international = raw.starts_with('+') || raw.starts_with("00");
        let normalised;
        let input = if let Some(rest) = raw.strip_prefix("00") {
            normalised = format!("+{rest}");
            normalised.as_str()
        } else {
            raw
        };
        if !international && region.is_none() {
            return Err(PiiError::InvalidPhone);
        }
        let number = phonenumber::parse(region, input).map_err(|_| PiiError::InvalidPhone)?;
        if !phonenumber::is_valid(&number) {
            return Err(PiiError::InvalidPhone);
        }
        Ok(PhoneE164(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn match_key(&self) -> String {
        self.0.clone()
    }
}

impl TryFrom<String> for PhoneE164 {
    type Error = PiiError;
    fn try_from(s: String) -> Result<Self, PiiError> {
        if !s.starts_with('+') {
            return Err(PiiError::InvalidPhone);
        }
        PhoneE164::parse(&s, None)
    }
}
impl From<PhoneE164> for String {
    fn from(p: PhoneE164) -> String {
        p.0
    }
}
impl fmt::Debug for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneE164(<redacted>)")
    }
}

/// A Gamma Airways loyalty number: 6 to 16 ASCII letters or digits, upper-cased, spaces and dashes
/// removed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LoyaltyNumber(String);

impl LoyaltyNumber {
    pub fn parse(raw: &str) -> Result<Self, PiiError> {
        let s: String = raw.trim().chars().filter(|c| *c != ' ' && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
        if (6..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(LoyaltyNumber(s))
        } else {
            Err(PiiError::InvalidLoyaltyNumber)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn match_key(&self) -> String {
        self.0.clone()
    }
}
impl TryFrom<String> for LoyaltyNumber {
    type Error = PiiError;
    fn try_from(s: String) -> Result<Self, PiiError> {
        LoyaltyNumber::parse(&s)
    }
}
impl From<LoyaltyNumber> for String {
    fn from(p: LoyaltyNumber) -> String {
        p.0
    }
}
impl fmt::Debug for LoyaltyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoyaltyNumber(<redacted>)")
    }
}

/// ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, PiiError> {
        let s = raw.trim().to_ascii_uppercase();
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(CountryCode(s))
        } else {
            Err(PiiError::InvalidCountry)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for CountryCode {
    type Error = PiiError;
    fn try_from(s: String) -> Result<Self, PiiError> {
        CountryCode::parse(&s)
    }
}
impl From<CountryCode> for String {
    fn from(p: CountryCode) -> String {
        p.0
    }
}

/// A date of birth: a real calendar date, not in the future, not more than 130 years ago.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NaiveDate", into = "NaiveDate")]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    pub fn new(date: NaiveDate) -> Result<Self, PiiError> {
        let today = Utc::now().date_naive();
        if date > today || today.year() - date.year() > 130 {
            return Err(PiiError::InvalidDateOfBirth);
        }
        Ok(DateOfBirth(date))
    }
    pub fn parse(raw: &str) -> Result<Self, PiiError> {
        let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| PiiError::InvalidDateOfBirth)?;
        DateOfBirth::new(date)
    }
    pub fn date(&self) -> NaiveDate {
        self.0
    }
}
impl TryFrom<NaiveDate> for DateOfBirth {
    type Error = PiiError;
    fn try_from(d: NaiveDate) -> Result<Self, PiiError> {
        DateOfBirth::new(d)
    }
}
impl From<DateOfBirth> for NaiveDate {
    fn from(d: DateOfBirth) -> NaiveDate {
        d.0
    }
}
impl fmt::Debug for DateOfBirth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DateOfBirth(<redacted>)")
    }
}

/// A travel document number: upper-cased, spaces removed, 5 to 20 of `A-Z 0-9 <`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentNumber(String);

impl DocumentNumber {
    pub fn parse(raw: &str) -> Result<Self, PiiError> {
        let s: String = raw.trim().chars().filter(|c| *c != ' ').map(|c| c.to_ascii_uppercase()).collect();
        if (5..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'<') {
            Ok(DocumentNumber(s))
        } else {
            Err(PiiError::InvalidDocumentNumber)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for DocumentNumber {
    type Error = PiiError;
    fn try_from(s: String) -> Result<Self, PiiError> {
        DocumentNumber::parse(&s)
    }
}
impl From<DocumentNumber> for String {
    fn from(p: DocumentNumber) -> String {
        p.0
    }
}
impl fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DocumentNumber(<redacted>)")
    }
}

/// Folds a name for comparison: Unicode transliterated to ASCII (`Müller` → `muller`, `Łukasz` →
/// `lukasz`, `Ørjan` → `orjan`), lower-cased, punctuation turned into single spaces.
pub fn fold_name(raw: &str) -> String {
    let ascii = deunicode::deunicode(raw).to_lowercase();
    let mut out = String::with_capacity(ascii.len());
    let mut space = true;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Normalises a human-entered string: Unicode NFC (so `e` + combining grave and `è` are the same
/// letter, whichever keyboard or system produced them), white space trimmed and collapsed; letters
/// and diacritics stay as written.
pub fn clean_text(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    raw.nfc().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_canonicalised() {
        let e = Email::parse("  Anna.Nowak@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Anna.Nowak@example.com");
        assert_eq!(e.match_key(), "anna.nowak@example.com");
        for bad in ["", "anna", "anna@", "@example.com", "anna@example", "an na@example.com", "a@b@c.com", "a@-x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse("zoë@exämple.de").is_ok());
    }

    #[test]
    fn phones_become_e164() {
        let ie = CountryCode::parse("IE").unwrap();
        assert_eq!(PhoneE164::parse("086 123 4567", Some(&ie)).unwrap().as_str(), "+353861234567");
        assert_eq!(PhoneE164::parse("+353 86 123 4567", None).unwrap().as_str(), "+353861234567");
        assert_eq!(PhoneE164::parse("0049 30 901820", None).unwrap().as_str(), "+4930901820");
        let pl = CountryCode::parse("pl").unwrap();
        assert_eq!(PhoneE164::parse("512 345 678", Some(&pl)).unwrap().as_str(), "+48512345678");
        assert!(PhoneE164::parse("086 123 4567", None).is_err(), "national number without a country");
        assert!(PhoneE164::parse("+353 12", None).is_err());
        assert!(PhoneE164::parse("hello", Some(&ie)).is_err());
    }

    #[test]
    fn names_fold_diacritics() {
        assert_eq!(fold_name("Zoë Müller-Schäfer"), "zoe muller schafer");
        assert_eq!(fold_name("Łukasz  Wiśniewski"), "lukasz wisniewski");
        assert_eq!(fold_name("Ørjan Håland"), "orjan haland");
        assert_eq!(fold_name("Siobhán Ó Briain"), "siobhan o briain");
        assert_eq!(fold_name("Straße"), "strasse");
        assert_eq!(clean_text("  Inès   Lefèvre "), "Inès Lefèvre");
        assert_eq!(clean_text("Ine\u{300}s Lefe\u{300}vre"), "Inès Lefèvre", "decomposed diacritics are composed");
        assert_eq!(fold_name("Ine\u{300}s"), fold_name("Inès"));
    }

    #[test]
    fn dates_of_birth_must_be_plausible() {
        assert!(DateOfBirth::parse("1984-02-29").is_ok());
        assert!(DateOfBirth::parse("1983-02-29").is_err());
        assert!(DateOfBirth::parse("2999-01-01").is_err());
        assert!(DateOfBirth::parse("1800-01-01").is_err());
    }

    #[test]
    fn loyalty_and_documents_normalise() {
        assert_eq!(LoyaltyNumber::parse("ga 123-456 78").unwrap().as_str(), "GA12345678");
        assert!(LoyaltyNumber::parse("12345").is_err());
        assert!(LoyaltyNumber::parse("GA12345678é").is_err());
        assert_eq!(DocumentNumber::parse("x1234 5678").unwrap().as_str(), "X12345678");
    }

    #[test]
    fn debug_output_never_shows_the_value() {
        let e = Email::parse("anna@example.com").unwrap();
        assert!(!format!("{e:?}").contains("anna"));
        let p = PhoneE164::parse("+353861234567", None).unwrap();
        assert!(!format!("{p:?}").contains("353"));
    }
}
