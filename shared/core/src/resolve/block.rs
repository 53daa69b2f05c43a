//! Batch blocking: records sharing a blocking key ([`Engine::for_each_block_key`]) become
//! candidate pairs. Keys shared by more than `max_block` records produce none (too common to
//! discriminate). Each candidate pair is visited exactly once, at the first usable key its two
//! records share, so pairs need neither storing nor de-duplicating: the visitor scores them on
//! the spot, on every core.
use super::engine::{hash_str, Engine, MAX_BLOCK_KEYS};
use super::normalize::Person;
use super::{par_map, threads};

/// What blocking did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BlockStats {
    pub keys: u64,
    pub blocks: u64,
    pub oversized_blocks: u64,
    pub oversized_records: u64,
    pub candidate_pairs: u64,
    /// Seconds: computing the keys, sorting them, and visiting the pairs (scoring included).
    pub seconds_keys: f64,
    pub seconds_sort: f64,
    pub seconds_pairs: f64,
}

/// Each record's usable keys (hashes), sorted: a flat array with offsets.
struct Keys {
    start: Vec<u32>,
    keys: Vec<u64>,
}

impl Keys {
    fn of(&self, i: u32) -> &[u64] {
        &self.keys[self.start[i as usize] as usize..self.start[i as usize + 1] as usize]
    }
}

/// Whether `k` is the first key `a` and `b` have in common (both sorted).
fn first_common(a: &[u64], b: &[u64], k: u64) -> bool {
    let (mut x, mut y) = (0, 0);
    while x < a.len() && y < b.len() {
        match a[x].cmp(&b[y]) {
            std::cmp::Ordering::Less => x += 1,
            std::cmp::Ordering::Greater => y += 1,
            std::cmp::Ordering::Equal => return a[x] == k,
        }
    }
    false
}

/// Visits every candidate pair `(i, j)`, `i < j`, once, in parallel: `init` makes one state per
/// worker, `visit` is called with it. Returns the workers' states and the statistics.
pub fn for_each_candidate_pair<S: Send>(
    engine: &Engine,
    people: &[Person],
    max_block: usize,
    init: impl Fn() -> S + Sync,
    visit: impl Fn(&mut S, u32, u32) + Sync,
) -> (Vec<S>, BlockStats) {
    let mut stats = BlockStats::default();
    let t0 = std::time::Instant::now();
    // 1. Keys per record.
    let per_record: Vec<([u64; MAX_BLOCK_KEYS], u8)> = par_map(people, |p| {
        let mut out = [0u64; MAX_BLOCK_KEYS];
        let mut n = 0usize;
        engine.for_each_block_key(p, |k| {
            if n < MAX_BLOCK_KEYS {
                out[n] = hash_str(k);
                n += 1;
            }
        });
        out[..n].sort_unstable();
        let mut m = 0;
        for i in 0..n {
            if m == 0 || out[i] != out[m - 1] {
                out[m] = out[i];
                m += 1;
            }
        }
        (out, m as u8)
    });
    stats.seconds_keys = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    // 2. (key, record) entries, partitioned by the key's top bits, each partition sorted on its
    //    own core.
    let parts = threads().next_power_of_two();
    let shift = 64 - parts.trailing_zeros();
    let mut entries: Vec<Vec<(u64, u32)>> = (0..parts).map(|_| Vec::new()).collect();
    let total: usize = per_record.iter().map(|r| r.1 as usize).sum();
    stats.keys = total as u64;
    for e in entries.iter_mut() {
        e.reserve(total / parts + total / (parts * 8) + 16);
    }
    for (i, (ks, n)) in per_record.iter().enumerate() {
        for &k in &ks[..*n as usize] {
            let part = if parts == 1 { 0 } else { (k >> shift) as usize };
            entries[part].push((k, i as u32));
        }
    }
    std::thread::scope(|s| {
        for e in entries.iter_mut() {
            s.spawn(move || e.sort_unstable());
        }
    });
    // 3. Oversized blocks: their keys are dropped from the records' key lists.
    let mut oversized: Vec<u64> = Vec::new();
    for e in &entries {
        let mut s = 0;
        while s < e.len() {
            let mut t = s + 1;
            while t < e.len() && e[t].0 == e[s].0 {
                t += 1;
            }
            if t - s > 1 {
                stats.blocks += 1;
            }
            if t - s > max_block {
                oversized.push(e[s].0);
                stats.oversized_blocks += 1;
                stats.oversized_records += (t - s) as u64;
            }
            s = t;
        }
    }
    oversized.sort_unstable();
    let mut keys = Keys { start: Vec::with_capacity(people.len() + 1), keys: Vec::with_capacity(total) };
    keys.start.push(0);
    for (ks, n) in &per_record {
        for &k in &ks[..*n as usize] {
            if oversized.binary_search(&k).is_err() {
                keys.keys.push(k);
            }
        }
        keys.start.push(keys.keys.len() as u32);
    }
    drop(per_record);
    stats.seconds_sort = t1.elapsed().as_secs_f64();
    let t2 = std::time::Instant::now();
    // 4. Pairs, each partition of blocks on its own core.
    let keys = &keys;
    let (init, visit) = (&init, &visit);
    let results: Vec<(S, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = entries
            .iter()
            .map(|e| {
                s.spawn(move || {
                    let mut state = init();
                    let mut pairs = 0u64;
                    let mut st = 0;
                    while st < e.len() {
                        let mut t = st + 1;
                        while t < e.len() && e[t].0 == e[st].0 {
                            t += 1;
                        }
                        if t - st > 1 && t - st <= max_block {
                            let k = e[st].0;
                            let block = &e[st..t];
                            for x in 0..block.len() {
                                let a = block[x].1;
                                let ka = keys.of(a);
                                for y in &block[x + 1..] {
                                    let b = y.1;
                                    if first_common(ka, keys.of(b), k) {
                                        pairs += 1;
                                        visit(&mut state, a.min(b), a.max(b));
                                    }
                                }
                            }
                        }
                        st = t;
                    }
                    (state, pairs)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("blocking worker panicked")).collect()
    });
    stats.seconds_pairs = t2.elapsed().as_secs_f64();
    let mut states = Vec::with_capacity(results.len());
    for (s, p) in results {
        stats.candidate_pairs += p;
        states.push(s);
    }
    (states, stats)
}

/// All candidate pairs, sorted (for diagnostics and tests; the batch path never stores them).
pub fn candidate_pairs(engine: &Engine, people: &[Person], max_block: usize) -> Vec<(u32, u32)> {
    let (states, _) =
        for_each_candidate_pair(engine, people, max_block, Vec::new, |v: &mut Vec<(u32, u32)>, i, j| v.push((i, j)));
    let mut all: Vec<(u32, u32)> = states.into_iter().flatten().collect();
    all.sort_unstable();
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::normalize::person;

    #[test]
    fn pairs_are_visited_once_and_common_keys_are_skipped() {
        let e = Engine::builtin();
        let mut people = vec![
            person(["anna", "smith", "19800101", "1", "elm st", "x", "12345", "IL", "", "anna@x.com", "5550001111"]),
            person(["anna", "smith", "19800101", "1", "elm st", "x", "12345", "IL", "", "anna@x.com", "5550001111"]),
            person(["smith", "anna", "19800101", "", "", "", "", "", "", "", ""]),
            person(["bob", "jones", "19620917", "", "", "", "", "", "", "", ""]),
        ];
        let pairs = candidate_pairs(&e, &people, 64);
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2)], "shared keys produce one visit per pair");
        // A key held by more than max_block records produces no pair.
        for _ in 0..5 {
            people.push(person(["", "", "", "", "", "", "", "", "", "", "5559876543"]));
        }
        let pairs = candidate_pairs(&e, &people, 4);
        assert!(pairs.iter().all(|&(i, _)| i < 4), "{pairs:?}");
        let pairs = candidate_pairs(&e, &people, 64);
        assert_eq!(pairs.iter().filter(|&&(i, _)| i >= 4).count(), 10);
    }
}
