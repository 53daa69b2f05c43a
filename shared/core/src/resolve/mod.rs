//! Identity resolution: which records describe the same person.
//!
//! One engine ([`engine::Engine`]) serves the streaming path (record by record against cluster
//! summaries) and the batch path ([`resolve`]: all records of a file at once). Records are read
//! through a [`normalize::ColumnMap`], normalised ([`normalize`]), blocked into candidate pairs
//! ([`block`]), compared field by field ([`compare`]), scored by the Fellegi–Sunter model
//! ([`model`]) and clustered without chaining ([`cluster`]).
//! Training, the data generator, metrics and the incremental check are the identity-resolution
//! lab (`shared/lab`, crate `cmp-lab`): no function links them.
//! `docs/identity-resolution.md` explains the whole.
pub mod block;
pub mod cluster;
pub mod compare;
pub mod engine;
pub mod model;
pub mod normalize;

use engine::{Engine, SharedReport};
use normalize::Person;

/// Worker threads for the batch stages: the machine's parallelism, at most 8.
pub fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8)
}

/// Runs `f` over chunks of `items` on all cores, concatenating the results in order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads();
    if n <= 1 || items.len() < 4096 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker panicked")).collect()
    })
}

/// The result of resolving a set of records.
#[derive(Debug)]
pub struct Resolution {
    /// Cluster label per record (the index of one of the cluster's records).
    pub labels: Vec<u32>,
    pub blocking: block::BlockStats,
    /// Candidate pairs deciding a match (rule or score ≥ upper), and of those by rule.
    pub edges: u64,
    pub rule_edges: u64,
    /// Candidate pairs in the review band (lower ≤ score < upper).
    pub review_pairs: u64,
    pub cluster: cluster::ClusterStats,
    pub shared: SharedReport,
    /// Seconds per stage: guard, blocking and scoring, clustering.
    pub timings: Vec<(&'static str, f64)>,
}

impl Resolution {
    pub fn clusters(&self) -> usize {
        self.labels.iter().enumerate().filter(|(i, &l)| *i as u32 == l).count()
    }
}

/// Clusters records with the engine's model. The shared-identifier guard is computed from the
/// records first (the engine keeps what it found).
pub fn resolve(people: &[Person], engine: &mut Engine) -> Resolution {
    // The records are laid out in memory by name (Soundex of the family and the given name), so
    // that most blocks' records are neighbours and pairs compare from the cache rather than from
    // all over memory; labels are mapped back to the input order at the end.
    let t0 = std::time::Instant::now();
    let mut perm: Vec<(u64, u32)> = par_map(&(0..people.len() as u32).collect::<Vec<_>>(), |&i| {
        let p = &people[i as usize];
        let (mut f, mut g) = ([0u8; 4], [0u8; 4]);
        normalize::soundex_into(p.family(), &mut f);
        normalize::soundex_into(p.given_canon(), &mut g);
        ((u32::from_be_bytes(f) as u64) << 32 | u32::from_be_bytes(g) as u64, i)
    });
    perm.sort_unstable();
    let perm: Vec<u32> = perm.into_iter().map(|(_, i)| i).collect();
    let local: Vec<Person> = par_map(&perm, |&i| people[i as usize].clone());
    let mut res = resolve_in_place(&local, engine);
    let mut labels = vec![0u32; people.len()];
    for (k, &i) in perm.iter().enumerate() {
        labels[i as usize] = perm[res.labels[k] as usize];
    }
    res.labels = labels;
    res.timings.insert(0, ("layout", t0.elapsed().as_secs_f64() - res.timings.iter().map(|t| t.1).sum::<f64>()));
    res
}

/// [`resolve`] on records in their given memory order.
fn resolve_in_place(people: &[Person], engine: &mut Engine) -> Resolution {
    let t0 = std::time::Instant::now();
    let shared = engine.detect_shared(people);
    let engine = &*engine;
    let aux: Vec<_> = par_map(people, |p| engine.aux(p));
    let t1 = std::time::Instant::now();
    let t = engine.model().thresholds.clone();
    #[derive(Default)]
    struct Acc {
        edges: Vec<cluster::Edge>,
        rules: u64,
        review: u64,
    }
    let (states, blocking) =
        block::for_each_candidate_pair(engine, people, engine.model().max_block, Acc::default, |acc, i, j| {
            let (a, b) = (&people[i as usize], &people[j as usize]);
            let c = engine.compare_pair(a, &aux[i as usize], b, &aux[j as usize]);
            let score = engine.score(&c);
            let rule = engine.deterministic_pair(a, b, &c).is_some();
            if rule || score >= t.upper {
                acc.rules += rule as u64;
                acc.edges.push(cluster::Edge { a: i, b: j, score: score as f32, rule });
            } else if score >= t.lower {
                acc.review += 1;
            }
        });
    drop(aux);
    let mut edges = Vec::with_capacity(states.iter().map(|s| s.edges.len()).sum());
    let (mut rule_edges, mut review_pairs) = (0, 0);
    for s in states {
        edges.extend(s.edges);
        rule_edges += s.rules;
        review_pairs += s.review;
    }
    let n_edges = edges.len() as u64;
    let t2 = std::time::Instant::now();
    let (labels, cstats) = cluster::cluster(engine, people, &mut edges);
    let timings = vec![
        ("guard", (t1 - t0).as_secs_f64()),
        ("block+score", (t2 - t1).as_secs_f64()),
        ("cluster", t2.elapsed().as_secs_f64()),
    ];
    Resolution { labels, blocking, edges: n_edges, rule_edges, review_pairs, cluster: cstats, shared, timings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::compare::FIELDS;

    fn rec(fields: [&str; FIELDS]) -> Person {
        normalize::person(fields)
    }

    #[test]
    fn people_sharing_only_a_surname_are_not_merged() {
        let anna = [
            "Anna",
            "Smith",
            "19800101",
            "1",
            "elm street",
            "springfield",
            "12345",
            "IL",
            "111223333",
            "anna@x.com",
            "5550001111",
        ];
        let people = vec![
            rec(anna),
            rec(anna),
            rec([
                "Brian",
                "Smith",
                "19620917",
                "77",
                "oak avenue",
                "shelbyville",
                "98765",
                "TX",
                "999887777",
                "bri@y.org",
                "5559998888",
            ]),
        ];
        let res = resolve(&people, &mut Engine::builtin());
        assert_eq!(res.labels[0], res.labels[1], "identical records merge");
        assert_ne!(res.labels[0], res.labels[2], "a shared surname alone does not merge");
    }
}
