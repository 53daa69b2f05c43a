//! Batch clustering without chaining. Edges (candidate pairs deciding a match: a
//! strong-identifier rule, or a score ≥ upper) are taken rules first, then strongest first. Two
//! single records joined by an edge merge; as soon as either side is a cluster, the merge must
//! pass the same check the streaming path applies — record against cluster summary
//! ([`Engine::decide`]'s rule: best agreement ≥ upper and average linkage ≥ `thresholds.cluster`)
//! or cluster against cluster ([`Engine::link`]) — so one weak link cannot pull in a stranger.
use super::engine::{ClusterSummary, Engine, FxBuild};
use super::normalize::Person;
use std::collections::HashMap;

/// A candidate pair that decides a match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    pub score: f32,
    /// Decided by a strong-identifier rule.
    pub rule: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterStats {
    pub merges: u64,
    /// Merges refused by the cluster check.
    pub refused: u64,
    /// Cluster checks computed (the rest were decided by the two records alone).
    pub checks: u64,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

/// Clusters `people` along `edges` (sorted here); returns a label per record (a member's index,
/// the same for every member) and statistics.
pub fn cluster(engine: &Engine, people: &[Person], edges: &mut [Edge]) -> (Vec<u32>, ClusterStats) {
    edges.sort_unstable_by(|x, y| {
        y.rule.cmp(&x.rule).then(y.score.total_cmp(&x.score)).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b))
    });
    let n = people.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut size: Vec<u32> = vec![1; n];
    // The summary of each cluster of two or more records, by root.
    let mut summary: Vec<Option<Box<ClusterSummary>>> = (0..n).map(|_| None).collect();
    // Refused (root, root) → their sizes then: retried only when either has grown since.
    let mut refused: HashMap<(u32, u32), (u32, u32), FxBuild> = HashMap::default();
    let mut stats = ClusterStats::default();
    let t = &engine.model().thresholds;
    for e in edges.iter() {
        let (ra, rb) = (find(&mut parent, e.a), find(&mut parent, e.b));
        if ra == rb {
            continue;
        }
        let (sa, sb) = (size[ra as usize], size[rb as usize]);
        let key = (ra.min(rb), ra.max(rb));
        let sizes = if ra < rb { (sa, sb) } else { (sb, sa) };
        if refused.get(&key) == Some(&sizes) {
            continue;
        }
        let ok = if sa == 1 && sb == 1 {
            true
        } else {
            stats.checks += 1;
            if sa == 1 || sb == 1 {
                let (single, root) = if sa == 1 { (ra, rb) } else { (rb, ra) };
                let p = &people[single as usize];
                let c = summary[root as usize].as_deref().expect("a cluster has a summary");
                engine.deterministic(p, c).is_some() || {
                    let best = engine.score(&engine.compare(p, c));
                    best >= t.upper && engine.average_record(p, c) >= t.cluster
                }
            } else {
                let (a, b) = (summary[ra as usize].as_deref(), summary[rb as usize].as_deref());
                engine.link(a.expect("summary"), b.expect("summary")).merge
            }
        };
        if !ok {
            stats.refused += 1;
            refused.insert(key, sizes);
            continue;
        }
        stats.merges += 1;
        let (big, small) = if sa >= sb { (ra, rb) } else { (rb, ra) };
        let small_summary = summary[small as usize].take();
        let target = summary[big as usize].get_or_insert_with(|| Box::new(ClusterSummary::of(&people[big as usize])));
        match small_summary {
            Some(s) => target.absorb(&s),
            None => target.observe(&people[small as usize]),
        }
        parent[small as usize] = big;
        size[big as usize] += size[small as usize];
    }
    let labels = (0..n as u32).map(|i| find(&mut parent, i)).collect();
    (labels, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::normalize::person;

    #[test]
    fn a_weak_link_does_not_chain_a_stranger_in() {
        let e = Engine::builtin();
        let j = [
            "jennifer",
            "watkins",
            "19730422",
            "2",
            "mullaly crest",
            "caffreyberg",
            "84524",
            "IN",
            "",
            "jw@mail.com",
            "6006535946",
        ];
        let k = [
            "jennifer",
            "watkins",
            "19880917",
            "41",
            "oak avenue",
            "lake john",
            "10020",
            "NY",
            "",
            "jw88@aol.com",
            "2125550199",
        ];
        let people = vec![
            person(j),
            person(j),
            person(j),
            person(k),
            person(k),
            person(k),
            // Matches both: names, the first one's e-mail and the second one's phone.
            person(["jennifer", "watkins", "", "", "", "", "", "", "", "jw@mail.com", "2125550199"]),
        ];
        let mut edges = vec![
            Edge { a: 0, b: 1, score: 40.0, rule: false },
            Edge { a: 1, b: 2, score: 40.0, rule: false },
            Edge { a: 3, b: 4, score: 40.0, rule: false },
            Edge { a: 4, b: 5, score: 40.0, rule: false },
            Edge { a: 0, b: 6, score: 20.0, rule: false },
            Edge { a: 3, b: 6, score: 20.0, rule: false },
        ];
        let (labels, stats) = cluster(&e, &people, &mut edges);
        assert_eq!(labels[0], labels[2]);
        assert_eq!(labels[3], labels[5]);
        assert_ne!(labels[0], labels[3], "the two people stay apart");
        assert!(stats.refused >= 1);
    }
}
