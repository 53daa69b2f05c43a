//! An in-memory incremental resolver: records arrive one at a time and go through exactly the
//! calls the streaming path makes — [`Engine::block_keys`] → candidate clusters through a
//! key → clusters index (the stand-in for the HMAC'd lookup items) → [`Engine::decide`] against
//! each candidate's [`ClusterSummary`] → attach ([`ClusterSummary::observe`]) or create; when a
//! record matches two or more clusters, [`Engine::link`] checks each pair of clusters and
//! [`ClusterSummary::absorb`] merges them (the absorbed cluster's id redirects to the survivor,
//! as a merged profile's id does).
//!
//! The shared-identifier guard works the way the stream can apply it: an identifier's lookup
//! entry that already names more than `guard_max_people` clusters marks the value shared
//! ([`Engine::mark_shared`]), after which it neither blocks nor counts.
use cmp_core::resolve::compare::{EMAIL, NATIONAL_ID, PHONE};
use cmp_core::resolve::engine::{hash_str, ClusterSummary, Decision, Engine, FxBuild};
use cmp_core::resolve::normalize::Person;
use std::collections::HashMap;

/// Counts of what the resolver did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncrementalStats {
    pub records: u64,
    pub matched: u64,
    pub matched_by_rule: u64,
    pub review: u64,
    pub new: u64,
    /// Records matching two or more clusters, and the cluster merges that followed (checked).
    pub multi_matches: u64,
    pub merges: u64,
    pub refused_merges: u64,
    /// Identifier values marked shared, and lookup keys found saturated.
    pub shared_marked: u64,
    pub saturated_keys: u64,
}

/// Sentinel of a saturated index entry.
const SATURATED: u32 = u32::MAX;

pub struct Incremental {
    engine: Engine,
    index: HashMap<u64, Vec<u32>, FxBuild>,
    clusters: Vec<ClusterSummary>,
    /// Merged clusters point at their survivor.
    parent: Vec<u32>,
    pub stats: IncrementalStats,
}

impl Incremental {
    pub fn new(engine: Engine) -> Self {
        Incremental {
            engine,
            index: HashMap::default(),
            clusters: Vec::new(),
            parent: Vec::new(),
            stats: IncrementalStats::default(),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The surviving cluster of a cluster id.
    pub fn find(&self, mut c: u32) -> u32 {
        while self.parent[c as usize] != c {
            c = self.parent[c as usize];
        }
        c
    }

    /// Resolves one record; returns the cluster it joined or created (which may later be merged
    /// into another: see [`Incremental::find`]).
    pub fn add(&mut self, p: &Person) -> u32 {
        self.stats.records += 1;
        let max_block = self.engine.model().max_block;
        let guard = self.engine.model().guard_max_people as usize;
        let keys = self.engine.block_keys(p);
        let mut hashes: Vec<(u64, Option<usize>)> = Vec::with_capacity(keys.len());
        for k in &keys {
            let field = match k.get(..3) {
                Some("id:") => Some(NATIONAL_ID),
                Some("em:") => Some(EMAIL),
                Some("ph:") => Some(PHONE),
                _ => None,
            };
            hashes.push((hash_str(k), field));
        }
        // Candidate clusters from the index.
        let mut cands: Vec<u32> = Vec::new();
        let mut marked = false;
        for &(h, field) in &hashes {
            let Some(entry) = self.index.get(&h) else { continue };
            if entry.first() == Some(&SATURATED) {
                continue;
            }
            if let Some(f) = field {
                let mut live: Vec<u32> = entry.iter().map(|&c| self.find(c)).collect();
                live.sort_unstable();
                live.dedup();
                if live.len() >= guard {
                    // This record would make it more than `guard` people: shared.
                    self.engine.mark_shared(f, p.field(f));
                    self.stats.shared_marked += 1;
                    marked = true;
                    continue;
                }
            }
            cands.extend(entry.iter().map(|&c| self.find(c)));
        }
        if marked {
            // Keys of a now-shared identifier are no longer produced.
            hashes = self.engine.block_keys(p).iter().map(|k| (hash_str(k), None)).collect();
        }
        cands.sort_unstable();
        cands.dedup();
        let ids: Vec<String> = cands.iter().map(|c| c.to_string()).collect();
        let list: Vec<(String, &ClusterSummary)> =
            ids.iter().zip(&cands).map(|(id, &c)| (id.clone(), &self.clusters[c as usize])).collect();
        let decision = self.engine.decide(p, &list);
        drop(list);
        let target = match decision {
            Decision::Match { cluster, rule, also, .. } => {
                self.stats.matched += 1;
                self.stats.matched_by_rule += rule.is_some() as u64;
                let target: u32 = cluster.parse().expect("our id");
                self.clusters[target as usize].observe(p);
                if !also.is_empty() {
                    self.stats.multi_matches += 1;
                }
                for other in also {
                    let o = self.find(other.parse().expect("our id"));
                    let t = self.find(target);
                    if o == t {
                        continue;
                    }
                    let link = self.engine.link(&self.clusters[t as usize], &self.clusters[o as usize]);
                    if link.merge {
                        let absorbed = std::mem::take(&mut self.clusters[o as usize]);
                        self.clusters[t as usize].absorb(&absorbed);
                        self.parent[o as usize] = t;
                        self.stats.merges += 1;
                    } else {
                        self.stats.refused_merges += 1;
                    }
                }
                self.find(target)
            }
            Decision::Review { .. } | Decision::New => {
                if matches!(decision, Decision::Review { .. }) {
                    self.stats.review += 1;
                } else {
                    self.stats.new += 1;
                }
                let id = self.clusters.len() as u32;
                self.clusters.push(ClusterSummary::of(p));
                self.parent.push(id);
                id
            }
        };
        // Index the record's keys under its cluster.
        for (h, _) in hashes {
            let entry = self.index.entry(h).or_default();
            if entry.first() == Some(&SATURATED) || entry.contains(&target) {
                continue;
            }
            entry.push(target);
            if entry.len() > max_block {
                entry.clear();
                entry.push(SATURATED);
                entry.shrink_to_fit();
                self.stats.saturated_keys += 1;
            }
        }
        target
    }

    /// Resolves records in the given order; returns each record's final cluster, by position in
    /// `people`.
    pub fn resolve_in_order(&mut self, people: &[Person], order: &[usize]) -> Vec<u32> {
        let mut assigned = vec![0u32; people.len()];
        for &i in order {
            assigned[i] = self.add(&people[i]);
        }
        assigned.iter().map(|&c| self.find(c)).collect()
    }
}

/// A seeded shuffle of `0..n` (Fisher–Yates with SplitMix64).
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = crate::generate::Rng::new(seed);
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{generate, metrics};
    use cmp_core::resolve::{normalize, resolve};

    #[test]
    fn incremental_in_random_order_agrees_with_batch() {
        let g = generate::generate(&generate::Options { people: 2500, seed: 3, ..Default::default() });
        let people: Vec<Person> = g.rows.iter().map(|r| normalize::person(r.fields())).collect();
        let truth: Vec<&str> = g.rows.iter().map(|r| r.cluster_id.as_str()).collect();
        let batch = resolve(&people, &mut Engine::builtin()).labels;
        let mut inc = Incremental::new(Engine::builtin());
        let labels = inc.resolve_in_order(&people, &shuffled(people.len(), 42));
        let agreement = metrics::score(&labels, &batch).bcubed.f1;
        let batch_f1 = metrics::score(&batch, &truth).bcubed.f1;
        let inc_f1 = metrics::score(&labels, &truth).bcubed.f1;
        assert!(agreement >= 0.98, "incremental vs batch B-cubed F1 {agreement:.4}");
        assert!(batch_f1 >= 0.95 && inc_f1 >= 0.95, "vs truth: batch {batch_f1:.4}, incremental {inc_f1:.4}");
        assert_eq!(inc.stats.records as usize, people.len());
        // A different order gives (nearly) the same clusters too.
        let mut inc2 = Incremental::new(Engine::builtin());
        let labels2 = inc2.resolve_in_order(&people, &shuffled(people.len(), 7));
        assert!(metrics::score(&labels2, &labels).bcubed.f1 >= 0.98);
    }

    #[test]
    fn a_record_linking_two_clusters_merges_them_after_the_check() {
        let e = Engine::builtin();
        let mut inc = Incremental::new(e);
        let a = normalize::person(["jennifer", "watkins", "", "", "", "", "", "", "", "jw@mail.com", ""]);
        let b = normalize::person(["j", "watkins", "", "", "", "", "", "", "", "", "6006535946"]);
        let both =
            normalize::person(["jennifer", "watkins", "19730422", "", "", "", "", "", "", "jw@mail.com", "6006535946"]);
        let ca = inc.add(&a);
        let cb = inc.add(&b);
        assert_ne!(inc.find(ca), inc.find(cb), "names alone do not match");
        let c = inc.add(&both);
        assert_eq!(inc.find(ca), inc.find(cb), "{:?}", inc.stats);
        assert_eq!(inc.find(c), inc.find(ca));
        assert_eq!((inc.stats.multi_matches, inc.stats.merges), (1, 1));
        let stranger = normalize::person(["maria", "lopez", "19621130", "", "", "", "", "", "", "ml@x.org", ""]);
        let cs = inc.add(&stranger);
        assert_ne!(inc.find(cs), inc.find(ca));
    }
}
