//! Comparison levels per field. Level 0 means "a value is missing" (no evidence); level 1 is the
//! strongest agreement, the last level is disagreement.
use super::normalize::{day_month_swapped, Person};
use strsim::{jaro_winkler, osa_distance};

pub const GIVEN: usize = 0;
pub const FAMILY: usize = 1;
pub const DOB: usize = 2;
pub const STREET_NUMBER: usize = 3;
pub const ADDRESS: usize = 4;
pub const CITY: usize = 5;
pub const POSTCODE: usize = 6;
pub const STATE: usize = 7;
pub const NATIONAL_ID: usize = 8;
pub const EMAIL: usize = 9;
pub const PHONE: usize = 10;
pub const FIELDS: usize = 11;

/// Field names and their comparison levels (excluding level 0, "missing").
pub const LEVELS: [(&str, &[&str]); FIELDS] = [
    ("given", &["exact", "jw>=0.92", "jw>=0.80", "else"]),
    ("family", &["exact", "jw>=0.92", "jw>=0.80", "else"]),
    ("dob", &["exact", "swap_or_edit1", "edit2", "else"]),
    ("street_number", &["exact", "else"]),
    ("address", &["exact", "jw>=0.88", "else"]),
    ("city", &["exact", "jw>=0.88", "else"]),
    ("postcode", &["exact", "edit1", "else"]),
    ("state", &["exact", "else"]),
    ("national_id", &["exact", "edit1", "else"]),
    ("email", &["exact", "close", "else"]),
    ("phone", &["exact", "edit1", "else"]),
];

/// The comparison of two records: a level per field, and which names agreed exactly (for the
/// term-frequency adjustment: the value's frequency, 0 when not exact).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub levels: [u8; FIELDS],
    /// Whether the names were compared given↔family swapped.
    pub swapped: bool,
}

fn name_level(a: &str, a_canon: &str, b: &str, b_canon: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    if a == b || a_canon == b_canon {
        return 1;
    }
    let s = jaro_winkler(a, b).max(jaro_winkler(a_canon, b_canon));
    if s >= 0.92 {
        2
    } else if s >= 0.80 {
        3
    } else {
        4
    }
}

fn text_level(a: &str, b: &str, jw: f64) -> u8 {
    if a.is_empty() || b.is_empty() {
        0
    } else if a == b {
        1
    } else if jaro_winkler(a, b) >= jw {
        2
    } else {
        3
    }
}

fn exact_level(a: &str, b: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        0
    } else if a == b {
        1
    } else {
        2
    }
}

fn edit_level(a: &str, b: &str, max: usize) -> u8 {
    if a.is_empty() || b.is_empty() {
        0
    } else if a == b {
        1
    } else if a.len().abs_diff(b.len()) <= max && osa_distance(a, b) <= max {
        2
    } else {
        3
    }
}

fn dob_level(a: &Person, b: &Person) -> u8 {
    if a.dob.is_empty() || b.dob.is_empty() {
        return 0;
    }
    if a.dob == b.dob {
        return 1;
    }
    if day_month_swapped(a.dob_ymd, b.dob_ymd) {
        return 2;
    }
    if a.dob.len().abs_diff(b.dob.len()) > 2 {
        return 4;
    }
    match osa_distance(&a.dob, &b.dob) {
        1 => 2,
        2 => 3,
        _ => 4,
    }
}

fn email_level(a: &Person, b: &Person) -> u8 {
    if a.email.is_empty() || b.email.is_empty() {
        return 0;
    }
    if a.email == b.email {
        return 1;
    }
    let close = (a.email.len().abs_diff(b.email.len()) <= 2 && osa_distance(&a.email, &b.email) <= 2)
        || (a.email_local.len() >= 4 && a.email_local == b.email_local);
    if close {
        2
    } else {
        3
    }
}

/// Compares two records field by field, trying given↔family swapped when that agrees better.
pub fn compare(a: &Person, b: &Person) -> Comparison {
    let mut levels = [0u8; FIELDS];
    let g = name_level(&a.given, &a.given_canon, &b.given, &b.given_canon);
    let f = name_level(&a.family, &a.family, &b.family, &b.family);
    // Swapped: a's given against b's family and a's family against b's given.
    let sg = name_level(&a.given, &a.given_canon, &b.family, &b.family);
    let sf = name_level(&a.family, &a.family, &b.given, &b.given_canon);
    let rank = |l: u8| if l == 0 { 4 } else { l };
    let swapped = (sg != 0 || sf != 0) && rank(sg) + rank(sf) + 1 < rank(g) + rank(f);
    if swapped {
        levels[GIVEN] = sg;
        levels[FAMILY] = sf;
    } else {
        levels[GIVEN] = g;
        levels[FAMILY] = f;
    }
    levels[DOB] = dob_level(a, b);
    levels[STREET_NUMBER] = exact_level(&a.street_number, &b.street_number);
    levels[ADDRESS] = text_level(&a.address, &b.address, 0.88);
    levels[CITY] = text_level(&a.city, &b.city, 0.88);
    levels[POSTCODE] = edit_level(&a.postcode, &b.postcode, 1);
    levels[STATE] = exact_level(&a.state, &b.state);
    levels[NATIONAL_ID] = edit_level(&a.national_id, &b.national_id, 1);
    levels[EMAIL] = email_level(a, b);
    levels[PHONE] = edit_level(&a.phone, &b.phone, 1);
    Comparison { levels, swapped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::normalize::person;

    #[test]
    fn swapped_names_and_damaged_dates_compare_close() {
        let a = person(["james", "mendoza", "19800506", "", "", "", "", "", "", "", ""]);
        let b = person(["mendoza", "james", "19800605", "", "", "", "", "", "", "", ""]);
        let c = compare(&a, &b);
        assert!(c.swapped);
        assert_eq!(c.levels[GIVEN], 1);
        assert_eq!(c.levels[FAMILY], 1);
        assert_eq!(c.levels[DOB], 2);
        let d = person(["jim", "mendoza", "198005006", "", "", "", "", "", "", "", ""]);
        let c = compare(&a, &d);
        assert!(!c.swapped);
        assert_eq!(c.levels[GIVEN], 1, "nickname");
        assert_eq!(c.levels[DOB], 2, "one inserted digit");
        assert_eq!(c.levels[PHONE], 0, "missing");
        // One name present, in the other column.
        let e = person(["", "james", "", "", "", "", "", "", "", "", ""]);
        let c = compare(&a, &e);
        assert!(c.swapped);
        assert_eq!(c.levels[GIVEN], 1);
    }
}
