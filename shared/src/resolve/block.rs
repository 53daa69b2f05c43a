//! Blocking: records sharing a key become candidate pairs; oversized blocks are skipped so the
//! number of pairs stays near-linear in the number of records.
use super::normalize::{soundex, Person};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// Blocks larger than this produce no pairs (the key is too common to discriminate).
pub const DEFAULT_MAX_BLOCK: usize = 64;

fn key(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

fn prefix(s: &str, n: usize) -> &str {
    &s[..s.len().min(n)]
}

/// The blocking keys of one record.
pub fn keys(p: &Person, out: &mut Vec<u64>) {
    if p.national_id.len() >= 5 {
        out.push(key(&["nid", &p.national_id]));
    }
    if !p.email.is_empty() {
        out.push(key(&["em", &p.email]));
    }
    if p.email_local.len() >= 5 {
        out.push(key(&["el", &p.email_local]));
    }
    if p.phone.len() >= 6 {
        out.push(key(&["ph", &p.phone]));
    }
    if p.dob.len() >= 7 {
        out.push(key(&["dob", &p.dob]));
    }
    let year = if p.dob.len() >= 4 { &p.dob[..4] } else { "" };
    // Names in either column (given↔family swaps).
    for n in [&p.given_canon, &p.family] {
        if n.len() < 2 {
            continue;
        }
        let sx = soundex(n);
        if !year.is_empty() {
            out.push(key(&["ny", &sx, year]));
        }
        if !p.postcode.is_empty() {
            out.push(key(&["np", prefix(n, 3), &p.postcode]));
        }
        if !p.city.is_empty() {
            out.push(key(&["nc", prefix(n, 3), &p.city]));
        }
    }
    if p.given_canon.len() >= 2 && p.family.len() >= 2 {
        let (a, b) = (prefix(&p.given_canon, 3), prefix(&p.family, 3));
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        out.push(key(&["gf", a, b]));
        let (a, b) = (soundex(&p.given_canon), soundex(&p.family));
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        out.push(key(&["gfs", &a, &b]));
    }
    if !p.address.is_empty() && !p.street_number.is_empty() {
        out.push(key(&["ad", &p.address, &p.street_number]));
    }
}

/// Candidate pairs `(i, j)` with `i < j`, sorted and unique.
pub fn candidate_pairs(people: &[Person], max_block: usize) -> Vec<(u32, u32)> {
    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(people.len() * 16);
    let mut buf = Vec::with_capacity(24);
    for (i, p) in people.iter().enumerate() {
        buf.clear();
        keys(p, &mut buf);
        buf.sort_unstable();
        buf.dedup();
        entries.extend(buf.iter().map(|&k| (k, i as u32)));
    }
    entries.sort_unstable();
    let mut pairs: Vec<u64> = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == entries[start].0 {
            end += 1;
        }
        let block = &entries[start..end];
        if block.len() > 1 && block.len() <= max_block {
            for x in 0..block.len() {
                for y in x + 1..block.len() {
                    let (a, b) = (block[x].1 as u64, block[y].1 as u64);
                    pairs.push(a.min(b) << 32 | a.max(b));
                }
            }
        }
        start = end;
    }
    drop(entries);
    pairs.sort_unstable();
    pairs.dedup();
    pairs.into_iter().map(|p| ((p >> 32) as u32, p as u32)).collect()
}
