//! What identity resolution compares, built from what the platform holds: the record of one
//! unit (its observation) and the record of a golden profile, in the shape of the engine's
//! [`Person`] (the same normalisation the batch path applies to a file's columns).
use crate::domain::event::Observation;
use crate::domain::profile::Golden;
use crate::resolve::engine::Engine;
use crate::resolve::normalize::{person, Person};

/// The engine of this process: the builtin model, read once.
pub fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(Engine::builtin)
}

/// An address's first line split into a house number and the rest (`12 rue des Lilas` →
/// `12`, `rue des Lilas`), as the data sets keep them apart.
fn split_number(line: &str) -> (String, String) {
    let line = line.trim();
    match line.split_once(' ') {
        Some((n, rest)) if n.chars().next().is_some_and(|c| c.is_ascii_digit()) && n.len() <= 6 => {
            (n.to_owned(), rest.to_owned())
        }
        _ => (String::new(), line.to_owned()),
    }
}

struct Raw {
    given: String,
    family: String,
    dob: String,
    street_number: String,
    address: String,
    city: String,
    postcode: String,
    region: String,
    document: String,
    email: String,
    phone: String,
}

impl Raw {
    fn person(&self) -> Person {
        person([
            &self.given,
            &self.family,
            &self.dob,
            &self.street_number,
            &self.address,
            &self.city,
            &self.postcode,
            &self.region,
            &self.document,
            &self.email,
            &self.phone,
        ])
    }
}

/// The record one unit of an event says of the person (its first e-mail, phone and document).
pub fn person_of_observation(o: &Observation) -> Person {
    let (street_number, address) =
        o.address.as_ref().and_then(|a| a.lines.first()).map(|l| split_number(l)).unwrap_or_default();
    Raw {
        given: o.name.as_ref().map(|n| n.given.clone()).unwrap_or_default(),
        family: o.name.as_ref().map(|n| n.family.clone()).unwrap_or_default(),
        dob: o.date_of_birth.as_ref().map(|d| d.date().format("%Y%m%d").to_string()).unwrap_or_default(),
        street_number,
        address,
        city: o.address.as_ref().and_then(|a| a.city.clone()).unwrap_or_default(),
        postcode: o.address.as_ref().and_then(|a| a.postal_code.clone()).unwrap_or_default(),
        region: o.address.as_ref().and_then(|a| a.region.clone()).unwrap_or_default(),
        document: o.documents.first().map(|d| d.number.as_str().to_owned()).unwrap_or_default(),
        email: o.emails.first().map(|e| e.address.as_str().to_owned()).unwrap_or_default(),
        phone: o.phones.first().map(|p| p.number.as_str().to_owned()).unwrap_or_default(),
    }
    .person()
}

/// The records a golden profile stands for: one per e-mail (with the first phone and document),
/// and one per further phone and document, so that a profile's summary holds every identifier it
/// knows (a profile created before summaries existed gets its summary from these).
pub fn persons_of_golden(g: &Golden) -> Vec<Person> {
    let (street_number, address) =
        g.address.as_ref().and_then(|a| a.lines.first()).map(|l| split_number(l)).unwrap_or_default();
    let base = Raw {
        given: g.name.as_ref().map(|n| n.given.clone()).unwrap_or_default(),
        family: g.name.as_ref().map(|n| n.family.clone()).unwrap_or_default(),
        dob: g.date_of_birth.as_ref().map(|d| d.date().format("%Y%m%d").to_string()).unwrap_or_default(),
        street_number,
        address,
        city: g.address.as_ref().and_then(|a| a.city.clone()).unwrap_or_default(),
        postcode: g.address.as_ref().and_then(|a| a.postal_code.clone()).unwrap_or_default(),
        region: g.address.as_ref().and_then(|a| a.region.clone()).unwrap_or_default(),
        document: g.documents.first().map(|d| d.document.number.as_str().to_owned()).unwrap_or_default(),
        email: g.emails.first().map(|e| e.value.as_str().to_owned()).unwrap_or_default(),
        phone: g.phones.first().map(|p| p.value.as_str().to_owned()).unwrap_or_default(),
    };
    let mut out = vec![base.person()];
    let only = |email: &str, phone: &str, document: &str| {
        Raw {
            given: String::new(),
            family: String::new(),
            dob: String::new(),
            street_number: String::new(),
            address: String::new(),
            city: String::new(),
            postcode: String::new(),
            region: String::new(),
            document: document.to_owned(),
            email: email.to_owned(),
            phone: phone.to_owned(),
        }
        .person()
    };
    for e in g.emails.iter().skip(1) {
        out.push(only(e.value.as_str(), "", ""));
    }
    for p in g.phones.iter().skip(1) {
        out.push(only("", p.value.as_str(), ""));
    }
    for d in g.documents.iter().skip(1) {
        out.push(only("", "", d.document.number.as_str()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lines_split_into_number_and_street() {
        assert_eq!(split_number("12 rue des Lilas"), ("12".into(), "rue des Lilas".into()));
        assert_eq!(split_number("ul. Złota 44"), (String::new(), "ul. Złota 44".into()));
        assert_eq!(split_number("Flat 3, Main St"), (String::new(), "Flat 3, Main St".into()));
    }
}
