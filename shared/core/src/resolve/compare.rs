//! Comparison levels per field. Level 0 means "a value is missing" (no evidence); level 1 is the
//! strongest agreement, the last level is disagreement.
//!
//! The string similarities are implemented here on ASCII bytes without allocating (normalised
//! values are ASCII), because the batch path compares tens of millions of pairs.
use super::normalize::{canonical_given, day_month_swapped, email_local, parse_ymd, Person};

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

/// Most levels a field has (excluding level 0, "missing").
pub const MAX_LEVELS: usize = 4;

/// Field names and their comparison levels (excluding level 0, "missing").
pub const LEVELS: [(&str, &[&str]); FIELDS] = [
    ("given", &["exact_or_nickname", "jw>=0.92", "jw>=0.80_or_initial", "else"]),
    ("family", &["exact", "jw>=0.92", "jw>=0.80", "else"]),
    ("dob", &["exact", "day_month_swap_or_1_edit", "2_edits", "else"]),
    ("street_number", &["exact", "else"]),
    ("address", &["exact", "jw>=0.88", "else"]),
    ("city", &["exact", "jw>=0.88", "else"]),
    ("postcode", &["exact", "1_edit", "else"]),
    ("state", &["exact", "else"]),
    ("national_id", &["exact", "1_edit", "else"]),
    ("email", &["exact", "2_edits", "same_local_part_not_name", "else"]),
    ("phone", &["exact", "1_edit", "else"]),
];

/// The fields that describe where a person lives (dependent on each other: see the model).
pub const LOCATION: [usize; 5] = [STREET_NUMBER, ADDRESS, CITY, POSTCODE, STATE];

/// The fields that identify one person on their own (subject to the shared-identifier guard).
pub const IDENTIFIERS: [usize; 3] = [NATIONAL_ID, EMAIL, PHONE];

/// The comparison of a record with another record or a cluster: a level per field.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Comparison {
    pub levels: [u8; FIELDS],
    /// Whether the names agreed better given↔family swapped.
    pub swapped: bool,
    /// Term-frequency adjustment (bits) of an exact given / family name agreement; 0 otherwise.
    pub tf_bits: [f32; 2],
}

/// Jaro–Winkler similarity (prefix boost above 0.7, as `strsim`), on bytes, without allocating
/// for strings up to 64 bytes.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return 1.0;
    }
    let (la, lb) = (a.len(), b.len());
    if la == 0 || lb == 0 {
        return 0.0;
    }
    if la > 64 || lb > 64 {
        return strsim::jaro_winkler(&String::from_utf8_lossy(a), &String::from_utf8_lossy(b));
    }
    let range = (la.max(lb) / 2).saturating_sub(1);
    let (mut a_flags, mut b_flags) = (0u64, 0u64);
    let mut m = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = (i + range + 1).min(lb);
        for (j, &cb) in b.iter().enumerate().take(hi).skip(lo) {
            if b_flags & (1 << j) == 0 && ca == cb {
                a_flags |= 1 << i;
                b_flags |= 1 << j;
                m += 1;
                break;
            }
        }
    }
    if m == 0 {
        return 0.0;
    }
    let mut t = 0usize;
    let mut j = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        if a_flags & (1 << i) != 0 {
            while b_flags & (1 << j) == 0 {
                j += 1;
            }
            if ca != b[j] {
                t += 1;
            }
            j += 1;
        }
    }
    let t = t / 2;
    let mf = m as f64;
    let jaro = (mf / la as f64 + mf / lb as f64 + (m - t) as f64 / mf) / 3.0;
    if jaro > 0.7 {
        let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
        jaro + 0.1 * prefix as f64 * (1.0 - jaro)
    } else {
        jaro
    }
}

/// An upper bound of [`jaro_winkler`] from the strings' common characters (ignoring order and
/// the matching window) and common prefix: cheap, and enough to rule out most dissimilar pairs.
pub fn jaro_winkler_bound(a: &str, b: &str) -> f64 {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.is_empty() || b.is_empty() || a.len() > 255 || b.len() > 255 {
        return 1.0;
    }
    let mut h = [0u8; 64];
    for &c in a {
        h[(c & 63) as usize] += 1;
    }
    let mut common = 0usize;
    for &c in b {
        let x = &mut h[(c & 63) as usize];
        if *x > 0 {
            *x -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let c = common as f64;
    let jaro = (c / a.len() as f64 + c / b.len() as f64 + 1.0) / 3.0;
    if jaro > 0.7 {
        let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
        jaro + 0.1 * prefix as f64 * (1.0 - jaro)
    } else {
        jaro
    }
}

/// [`jaro_winkler`] when it may reach `min` (else 0): the bound is checked first.
pub fn jaro_winkler_min(a: &str, b: &str, min: f64) -> f64 {
    if jaro_winkler_bound(a, b) < min {
        0.0
    } else {
        jaro_winkler(a, b)
    }
}

/// Whether two byte strings are within one edit (insert, delete, substitute, swap adjacent).
fn within_one(a: &[u8], b: &[u8]) -> Option<usize> {
    let (s, l) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let i = s.iter().zip(l).take_while(|(x, y)| x == y).count();
    if s.len() == l.len() {
        if i == s.len() {
            return Some(0);
        }
        if s[i + 1..] == l[i + 1..] {
            return Some(1);
        }
        let swapped = i + 1 < s.len() && s[i] == l[i + 1] && s[i + 1] == l[i] && s[i + 2..] == l[i + 2..];
        return swapped.then_some(1);
    }
    (l.len() == s.len() + 1 && s[i..] == l[i + 1..]).then_some(1)
}

/// Optimal string alignment distance (edits: insert, delete, substitute, swap adjacent) when it
/// is at most `max`, on bytes; `None` when it is larger.
pub fn osa_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    if a == b {
        return Some(0);
    }
    if max == 0 {
        return None;
    }
    if max == 1 {
        return within_one(a, b);
    }
    // Each edit changes the character histogram's L1 norm by at most 2: a quick lower bound.
    let mut h = [0i8; 64];
    if a.len() <= 100 && b.len() <= 100 {
        for &c in a {
            h[(c & 63) as usize] += 1;
        }
        for &c in b {
            h[(c & 63) as usize] -= 1;
        }
        let l1: usize = h.iter().map(|x| x.unsigned_abs() as usize).sum();
        if l1 > 2 * max {
            return None;
        }
    }
    if a.len() > 40 || b.len() > 40 {
        let d = strsim::osa_distance(&String::from_utf8_lossy(a), &String::from_utf8_lossy(b));
        return (d <= max).then_some(d);
    }
    let lb = b.len();
    let mut prev2 = [0usize; 41];
    let mut prev = [0usize; 41];
    let mut cur = [0usize; 41];
    for (j, p) in prev.iter_mut().enumerate().take(lb + 1) {
        *p = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=lb {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        prev2 = prev;
        prev = cur;
    }
    let d = prev[lb];
    (d <= max).then_some(d)
}

/// Names: exact (or the same formal name), Jaro–Winkler ≥ 0.92, ≥ 0.80 (or one is the other's
/// initial), else. `a_canon`/`b_canon` are the formal forms (the name itself for family names).
pub fn name_level(a: &str, a_canon: &str, b: &str, b_canon: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    if a == b || a_canon == b_canon {
        return 1;
    }
    if (a.len() == 1 || b.len() == 1) && a.as_bytes()[0] == b.as_bytes()[0] {
        return 3;
    }
    let mut s = jaro_winkler_min(a, b, 0.80);
    if s < 0.92 && (a_canon != a || b_canon != b) {
        s = s.max(jaro_winkler_min(a_canon, b_canon, 0.80));
    }
    if s >= 0.92 {
        2
    } else if s >= 0.80 {
        3
    } else {
        4
    }
}

/// Free text (address line, city): exact, Jaro–Winkler ≥ `jw`, else.
pub fn text_level(a: &str, b: &str, jw: f64) -> u8 {
    if a.is_empty() || b.is_empty() {
        0
    } else if a == b {
        1
    } else if jaro_winkler_min(a, b, jw) >= jw {
        2
    } else {
        3
    }
}

pub fn exact_level(a: &str, b: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        0
    } else if a == b {
        1
    } else {
        2
    }
}

/// Exact, within `max` edits, else.
pub fn edit_level(a: &str, b: &str, max: usize) -> u8 {
    if a.is_empty() || b.is_empty() {
        0
    } else if a == b {
        1
    } else if osa_within(a, b, max).is_some() {
        2
    } else {
        3
    }
}

/// Dates of birth (digits): exact; day and month swapped or one edit; two edits; else.
pub fn dob_level(a: &str, b: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    if a == b {
        return 1;
    }
    match osa_within(a, b, 2) {
        Some(1) => 2,
        _ if day_month_swapped(parse_ymd(a), parse_ymd(b)) => 2,
        Some(_) => 3,
        None => 4,
    }
}

/// E-mails: exact; within two edits (a typo); the same local part (≥ 4 characters) at another
/// provider, unless the local part is just the person's name (`frank.smith`: at another provider
/// that is as likely a namesake, and the names are already counted); else. `given`/`family`
/// are the names of the record whose e-mail is `a`.
pub fn email_level(a: &str, b: &str, given: &str, family: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    if a == b {
        return 1;
    }
    if osa_within(a, b, 2).is_some() {
        return 2;
    }
    let la = email_local(a);
    if la.len() >= 4 && la == email_local(b) && !name_derived(la, given, family) {
        3
    } else {
        4
    }
}

/// Whether an e-mail's local part is made of the names only (punctuation aside; digits make it
/// the person's own: `frank.smith73`).
pub fn name_derived(local: &str, given: &str, family: &str) -> bool {
    if local.bytes().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let letters: String = local.chars().filter(|c| c.is_ascii_lowercase()).collect();
    if letters.is_empty() {
        return true;
    }
    let g0 = given.get(..1).unwrap_or("");
    let f0 = family.get(..1).unwrap_or("");
    let forms = [
        format!("{given}{family}"),
        format!("{family}{given}"),
        given.to_string(),
        family.to_string(),
        format!("{g0}{family}"),
        format!("{family}{g0}"),
        format!("{given}{f0}"),
    ];
    forms.iter().any(|f| !f.is_empty() && *f == letters)
}

/// The level of one non-name field between two values.
pub fn field_level(field: usize, a: &str, b: &str) -> u8 {
    match field {
        GIVEN => name_level(a, canonical_given(a), b, canonical_given(b)),
        FAMILY => name_level(a, a, b, b),
        DOB => dob_level(a, b),
        STREET_NUMBER | STATE => exact_level(a, b),
        ADDRESS | CITY => text_level(a, b, 0.88),
        POSTCODE | NATIONAL_ID => edit_level(a, b, 1),
        EMAIL => email_level(a, b, "", ""),
        PHONE => edit_level(a, b, 1),
        _ => 0,
    }
}

/// The names' levels (given, family) and whether they agree better swapped.
pub fn names(
    a_given: &str,
    a_canon: &str,
    a_family: &str,
    b_given: &str,
    b_canon: &str,
    b_family: &str,
) -> (u8, u8, bool) {
    let g = name_level(a_given, a_canon, b_given, b_canon);
    let f = name_level(a_family, a_family, b_family, b_family);
    let rank = |l: u8| if l == 0 { 4 } else { l };
    // A swap wins only when it is better by more than one rank: impossible below 4.
    if rank(g) + rank(f) <= 3 {
        return (g, f, false);
    }
    // Swapped: a's given against b's family and a's family against b's given.
    let sg = name_level(a_given, a_canon, b_family, b_family);
    if rank(sg) + 2 >= rank(g) + rank(f) {
        return (g, f, false);
    }
    let sf = name_level(a_family, a_family, b_given, b_canon);
    if (sg != 0 || sf != 0) && rank(sg) + rank(sf) + 1 < rank(g) + rank(f) {
        (sg, sf, true)
    } else {
        (g, f, false)
    }
}

/// Compares two records field by field, trying given↔family swapped when that agrees better.
/// Term-frequency bits are left at 0 (the engine adds them).
pub fn compare(a: &Person, b: &Person) -> Comparison {
    let mut levels = [0u8; FIELDS];
    let (g, f, swapped) = names(a.given(), a.given_canon(), a.family(), b.given(), b.given_canon(), b.family());
    levels[GIVEN] = g;
    levels[FAMILY] = f;
    levels[DOB] = dob_level(a.dob(), b.dob());
    levels[STREET_NUMBER] = exact_level(a.street_number(), b.street_number());
    levels[ADDRESS] = text_level(a.address(), b.address(), 0.88);
    levels[CITY] = text_level(a.city(), b.city(), 0.88);
    levels[POSTCODE] = edit_level(a.postcode(), b.postcode(), 1);
    levels[STATE] = exact_level(a.state(), b.state());
    levels[NATIONAL_ID] = edit_level(a.national_id(), b.national_id(), 1);
    levels[EMAIL] = email_level(a.email(), b.email(), a.given(), a.family());
    levels[PHONE] = edit_level(a.phone(), b.phone(), 1);
    Comparison { levels, swapped, tf_bits: [0.0; 2] }
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
        assert_eq!(c.levels[DOB], 2, "day/month swap");
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
        // Different people.
        let f = person(["maria", "lopez", "19621130", "", "", "", "", "", "", "", ""]);
        let c = compare(&a, &f);
        assert_eq!((c.levels[GIVEN], c.levels[FAMILY], c.levels[DOB]), (4, 4, 4));
    }

    #[test]
    fn jaro_winkler_agrees_with_strsim() {
        let words = [
            "", "a", "martha", "marhta", "dwayne", "duane", "dixon", "dicksonx", "jennifer", "jen", "watkins", "wakins",
        ];
        for a in words {
            for b in words {
                let ours = jaro_winkler(a, b);
                let theirs = if a == b { 1.0 } else { strsim::jaro_winkler(a, b) };
                assert!((ours - theirs).abs() < 1e-12, "{a} {b}: {ours} vs {theirs}");
            }
        }
    }

    #[test]
    fn the_jaro_winkler_bound_is_an_upper_bound() {
        let words = [
            "a",
            "martha",
            "marhta",
            "dwayne",
            "duane",
            "dixon",
            "dicksonx",
            "jennifer",
            "jen",
            "watkins",
            "wakins",
            "mullaly crst",
            "mulally cres",
            "x9",
            "9x",
        ];
        for a in words {
            for b in words {
                assert!(jaro_winkler_bound(a, b) + 1e-12 >= jaro_winkler(a, b), "{a} {b}");
            }
        }
        assert!(jaro_winkler_bound("james", "ortiz") < 0.8);
        assert_eq!(jaro_winkler_min("james", "ortiz", 0.8), 0.0);
    }

    #[test]
    fn osa_agrees_with_strsim_within_the_bound() {
        let words = [
            "",
            "1",
            "19451110",
            "194531110",
            "19451011",
            "19541110",
            "6006535946",
            "600635946",
            "6006539546",
            "ca",
            "abc",
            "acb",
            "ab",
            "bca",
        ];
        for a in words {
            for b in words {
                let d = strsim::osa_distance(a, b);
                for max in 0..3 {
                    assert_eq!(osa_within(a, b, max), (d <= max).then_some(d), "{a} {b} {max}");
                }
            }
        }
    }

    #[test]
    fn field_levels() {
        assert_eq!(email_level("natali_andrews73@mail.com", "natali_andrews73@yahoo.com", "natali", "andrews"), 3);
        assert_eq!(email_level("smith.frank@aol.com", "smith.frank@yahoo.com", "frank", "smith"), 4, "a namesake");
        assert_eq!(email_level("jenniferwatkins@mail.com", "jenniferwtakins@mairl.com", "", ""), 2);
        assert_eq!(email_level("a@x.com", "zz@y.org", "", ""), 4);
        assert_eq!(name_level("j", "j", "jennifer", "jennifer"), 3, "initial");
        assert_eq!(field_level(GIVEN, "bill", "william"), 1);
        assert_eq!(dob_level("19730422", "19732204"), 4, "not a date swap");
        assert_eq!(dob_level("19730405", "19730504"), 2);
        assert_eq!(dob_level("19730405", "19730415"), 2);
        assert_eq!(dob_level("19730405", "19830415"), 3);
        assert_eq!(dob_level("19730911", "19731109"), 2, "a swap four digits apart");
    }
}
