//! Reference data: airports (IATA code, country, coordinates, time zone) and carrier licences.
//! The tables are compiled in from `shared/data/` (see its README for sources and licences).
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    pub iata: String,
    pub name: String,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    pub tz: String,
    /// How the row fared against the independent source (`agrees`, `corrected_dms`, `replaced`,
    /// `disputed`, `unchecked`; see `shared/data/README.md`).
    pub check: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Licence {
    /// Licensed in an EU member state, an EEA state or Switzerland: a Community carrier for EU261.
    Eu,
    /// Licensed by the UK CAA: a UK carrier for UK261.
    Uk,
    /// Licensed elsewhere (listed in the table with `other`).
    Other,
}

/// A carrier of the reference table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    pub code: String,
    pub name: String,
    pub licence: Licence,
    /// ISO 3166-1 alpha-2 code of the state that granted the operating licence.
    pub licence_country: String,
}

static AIRPORTS: OnceLock<HashMap<String, Airport>> = OnceLock::new();
static CARRIERS: OnceLock<HashMap<String, Carrier>> = OnceLock::new();

/// Splits one CSV line, honouring double quotes.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

pub fn airports() -> &'static HashMap<String, Airport> {
    AIRPORTS.get_or_init(|| {
        include_str!("../../../data/airports.csv")
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f = fields(l);
                if f.len() < 7 {
                    return None;
                }
                Some((
                    f[0].clone(),
                    Airport {
                        iata: f[0].clone(),
                        name: f[1].clone(),
                        country: f[3].clone(),
                        lat: f[4].parse().ok()?,
                        lon: f[5].parse().ok()?,
                        tz: f[6].clone(),
                        check: f.get(7).cloned().unwrap_or_default(),
                    },
                ))
            })
            .collect()
    })
}

pub fn airport(iata: &str) -> Option<&'static Airport> {
    airports().get(iata)
}

pub fn carriers() -> &'static HashMap<String, Carrier> {
    CARRIERS.get_or_init(|| {
        include_str!("../../../data/carriers.csv")
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f = fields(l);
                let licence = match f.get(2).map(String::as_str) {
                    Some("EU") => Licence::Eu,
                    Some("UK") => Licence::Uk,
                    Some("other") => Licence::Other,
                    _ => return None,
                };
                Some((
                    f.first()?.clone(),
                    Carrier { code: f[0].clone(), name: f[1].clone(), licence, licence_country: f.get(3)?.clone() },
                ))
            })
            .collect()
    })
}

/// A carrier of the table; `None` for a code the table does not list (the assessment refuses it).
pub fn carrier(code: &str) -> Option<&'static Carrier> {
    carriers().get(code)
}

/// The licence of a listed carrier; [`Licence::Other`] for a code not listed.
pub fn licence(code: &str) -> Licence {
    carrier(code).map_or(Licence::Other, |c| c.licence)
}

/// Where Regulation (EC) No 261/2004 applies as "the territory of a Member State": the 27 member
/// states including their outermost regions (Art. 349 TFEU: Guadeloupe, French Guiana, Martinique,
/// Réunion, Mayotte, Saint-Martin, the Azores, Madeira, the Canary Islands, which carry their own
/// ISO codes where they have one), plus the EEA states (Iceland, Liechtenstein, Norway) and
/// Switzerland, which apply it by agreement. Not: the Faroe Islands, Greenland, the UK.
pub const EU261_TERRITORY: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", // member states (Azores, Madeira: PT; Canary Islands: ES)
    "GP", "GF", "MQ", "RE", "YT", "MF", // outermost regions with their own codes
    "IS", "LI", "NO", "CH", // EEA and Switzerland
];

pub fn in_eu261_territory(country: &str) -> bool {
    EU261_TERRITORY.contains(&country)
}

/// The territory of the EU member states alone (outermost regions included, EEA states and
/// Switzerland not): what UK261 means by "a Member State", both for the arrivals of its
/// Art. 3(1)(b)(ii) and for the licences of "Community carriers" (its Art. 2(c)).
pub fn in_eu_member_state(country: &str) -> bool {
    in_eu261_territory(country) && !["IS", "LI", "NO", "CH"].contains(&country)
}

pub fn in_uk(country: &str) -> bool {
    country == "GB"
}

/// Great-circle distance in km (haversine, mean Earth radius 6,371 km), as Art. 7(4) prescribes.
pub fn great_circle_km(a: &Airport, b: &Airport) -> f64 {
    let (la1, lo1, la2, lo2) = (a.lat.to_radians(), a.lon.to_radians(), b.lat.to_radians(), b.lon.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}
