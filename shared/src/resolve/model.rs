//! Fellegi–Sunter match model: m and u probabilities per field level, u from random pairs, m (and
//! the match prior) by EM over candidate pairs, a term-frequency adjustment for exact name matches.
use super::compare::{Comparison, ADDRESS, CITY, FAMILY, FIELDS, GIVEN, LEVELS, POSTCODE, STATE, STREET_NUMBER};

/// The fields that describe where a person lives.
const LOCATION: [usize; 5] = [STREET_NUMBER, ADDRESS, CITY, POSTCODE, STATE];
use super::normalize::Person;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub const MODEL_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldModel {
    pub name: String,
    /// Level labels, strongest agreement first (level 0, "missing", is implicit and weighs 0).
    pub levels: Vec<String>,
    pub m: Vec<f64>,
    pub u: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    pub version: u32,
    /// Probability that a candidate pair is a match (EM estimate).
    pub prior: f64,
    pub fields: Vec<FieldModel>,
    /// Posterior log2-odds above which a candidate pair is an edge for clustering.
    pub edge_threshold: f64,
    /// Average posterior log2-odds over all cross pairs needed to merge two clusters.
    pub link_threshold: f64,
    /// Cap, in bits, of the extra weight a rare exact name can earn over the average exact match.
    pub tf_max_bits: f64,
}

impl Default for Model {
    fn default() -> Self {
        let fields = LEVELS
            .iter()
            .map(|(name, levels)| {
                let n = levels.len();
                let m = (0..n).map(|i| if i == 0 { 0.8 } else { 0.2 / (n - 1) as f64 }).collect();
                let u = (0..n).map(|i| if i + 1 == n { 0.9 } else { 0.1 / (n - 1) as f64 }).collect();
                FieldModel { name: name.to_string(), levels: levels.iter().map(|s| s.to_string()).collect(), m, u }
            })
            .collect();
        Model {
            version: MODEL_VERSION,
            prior: 0.1,
            fields,
            edge_threshold: 16.0,
            link_threshold: 12.0,
            tf_max_bits: 4.0,
        }
    }
}

/// Frequencies of name values in the data being resolved.
#[derive(Debug, Default)]
pub struct TermFreq {
    given: HashMap<String, u32>,
    family: HashMap<String, u32>,
    given_n: f64,
    family_n: f64,
}

impl TermFreq {
    pub fn new(people: &[Person]) -> Self {
        let mut t = TermFreq::default();
        for p in people {
            if !p.given_canon.is_empty() {
                *t.given.entry(p.given_canon.clone()).or_default() += 1;
                t.given_n += 1.0;
            }
            if !p.family.is_empty() {
                *t.family.entry(p.family.clone()).or_default() += 1;
                t.family_n += 1.0;
            }
        }
        t
    }

    fn freq(&self, v: &str, given_table: bool) -> Option<f64> {
        let (t, n) = if given_table { (&self.given, self.given_n) } else { (&self.family, self.family_n) };
        t.get(v).map(|&c| c as f64 / n.max(1.0))
    }

    /// Relative frequency of a name value, in whichever table knows it better (names are swapped).
    fn name_freq(&self, v: &str, given_first: bool) -> Option<f64> {
        let a = self.freq(v, given_first);
        let b = self.freq(v, !given_first);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Model {
    pub fn validate(&self) -> Result<(), String> {
        if self.version != MODEL_VERSION {
            return Err(format!("model version {} (this build reads version {MODEL_VERSION})", self.version));
        }
        if self.fields.len() != FIELDS {
            return Err(format!("model has {} fields, expected {FIELDS}", self.fields.len()));
        }
        for (f, (name, levels)) in self.fields.iter().zip(LEVELS.iter()) {
            if f.name != *name || f.m.len() != levels.len() || f.u.len() != levels.len() {
                return Err(format!("model field `{}` does not match this build's `{name}` levels", f.name));
            }
        }
        Ok(())
    }

    /// log2(m/u) per field and level (index 0: missing = 0).
    pub fn weights(&self) -> Weights<'_> {
        let w = self.level_weights();
        Weights { w, prior_bits: (self.prior / (1.0 - self.prior)).log2(), tf_max_bits: self.tf_max_bits, model: self }
    }

    /// Estimates u from the comparison levels of random pairs (see [`random_pairs`]).
    pub fn estimate_u(&mut self, random_levels: &[[u8; FIELDS]]) {
        let mut counts = [[0u64; 5]; FIELDS];
        for levels in random_levels {
            for (f, &l) in levels.iter().enumerate() {
                counts[f][l as usize] += 1;
            }
        }
        for (f, fm) in self.fields.iter_mut().enumerate() {
            let k = fm.u.len();
            let total: u64 = counts[f][1..=k].iter().sum();
            for l in 0..k {
                fm.u[l] = (counts[f][l + 1] as f64 + 0.5) / (total as f64 + 0.5 * k as f64);
            }
        }
    }

    /// Estimates m without labels from "anchor" pairs: for each field, the candidate pairs whose
    /// evidence from the *other* fields alone is overwhelming (≥ `anchor_bits`) are taken as
    /// matches and the field's level frequencies among them are its m. Leaving the field out
    /// avoids the selection bias of blocking and of EM's tendency to absorb near-duplicates of
    /// other people. Then the prior is fitted by EM with m and u fixed.
    pub fn estimate_m_anchored(&mut self, comparisons: &[[u8; FIELDS]], anchor_bits: f64, rounds: usize) {
        let mut patterns: HashMap<[u8; FIELDS], f64> = HashMap::new();
        for c in comparisons {
            *patterns.entry(*c).or_default() += 1.0;
        }
        let patterns: Vec<([u8; FIELDS], f64)> = patterns.into_iter().collect();
        if patterns.is_empty() {
            return;
        }
        for _ in 0..rounds {
            let w = self.level_weights();
            let mut acc = [[0.0f64; 5]; FIELDS];
            for (levels, count) in &patterns {
                let total: f64 = levels.iter().enumerate().map(|(f, &l)| w[f][l as usize]).sum();
                for (f, &l) in levels.iter().enumerate() {
                    if l > 0 && total - w[f][l as usize] >= anchor_bits {
                        acc[f][l as usize] += count;
                    }
                }
            }
            for (f, fm) in self.fields.iter_mut().enumerate() {
                let k = fm.m.len();
                let s: f64 = acc[f][1..=k].iter().sum();
                if s < 20.0 {
                    continue;
                }
                for l in 0..k {
                    fm.m[l] = ((acc[f][l + 1] + 0.5) / (s + 0.5 * k as f64)).clamp(1e-6, 1.0);
                }
            }
        }
        // The prior: EM on the mixing weight only.
        let w = self.level_weights();
        let bits: Vec<(f64, f64)> =
            patterns.iter().map(|(l, c)| (l.iter().enumerate().map(|(f, &x)| w[f][x as usize]).sum(), *c)).collect();
        let total: f64 = bits.iter().map(|b| b.1).sum();
        for _ in 0..50 {
            let odds = self.prior / (1.0 - self.prior);
            let p: f64 = bits.iter().map(|&(b, c)| c / (1.0 + 1.0 / (odds * b.exp2()))).sum();
            self.prior = (p / total).clamp(1e-6, 0.999);
        }
    }

    fn level_weights(&self) -> [[f64; 5]; FIELDS] {
        let mut w = [[0.0f64; 5]; FIELDS];
        for (i, f) in self.fields.iter().enumerate() {
            for l in 0..f.m.len() {
                w[i][l + 1] = (f.m[l] / f.u[l]).log2();
            }
        }
        w
    }
}

/// Precomputed level weights of a model.
pub struct Weights<'a> {
    w: [[f64; 5]; FIELDS],
    prior_bits: f64,
    tf_max_bits: f64,
    model: &'a Model,
}

impl Weights<'_> {
    /// Posterior log2-odds that `a` and `b` are the same person.
    pub fn score(&self, c: &Comparison, a: &Person, b: &Person, tf: &TermFreq) -> f64 {
        let mut s = self.prior_bits;
        // Location fields are strongly dependent (a street implies its city, postcode and
        // state; households share them), so they count as one piece of evidence: the strongest
        // agreement plus a fifth of the others; disagreements (people move) count half.
        let (mut loc_max, mut loc_pos, mut loc_neg) = (0.0f64, 0.0f64, 0.0f64);
        for (f, &l) in c.levels.iter().enumerate() {
            let w = self.w[f][l as usize];
            if LOCATION.contains(&f) {
                if w > 0.0 {
                    loc_pos += w;
                    loc_max = loc_max.max(w);
                } else {
                    loc_neg += w;
                }
            } else {
                s += w;
            }
        }
        s += if loc_pos > 0.0 { loc_max + 0.2 * (loc_pos - loc_max) } else { 0.5 * loc_neg };
        // Term-frequency adjustment of exact name matches: the value's own frequency as u.
        for (field, value, given_table) in [(GIVEN, &a.given_canon, !c.swapped), (FAMILY, &a.family, c.swapped)] {
            if c.levels[field] == 1 {
                let u_avg = self.model.fields[field].u[0];
                let value =
                    if field == GIVEN && !c.swapped && a.given_canon != b.given_canon { &a.given } else { value };
                if let Some(freq) = tf.name_freq(value, given_table) {
                    let adj = (u_avg / freq).log2().min(self.tf_max_bits);
                    s += adj;
                }
            }
        }
        s
    }
}

/// `samples` distinct-index random pairs of `n` records (deterministic xorshift).
pub fn random_pairs(n: usize, samples: usize) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(samples);
    if n < 2 {
        return out;
    }
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    while out.len() < samples {
        let i = (next() % n as u64) as u32;
        let j = (next() % n as u64) as u32;
        if i != j {
            out.push((i, j));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_round_trips_as_versioned_json() {
        let m = Model::default();
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"version\":1"));
        let back: Model = serde_json::from_str(&json).unwrap();
        back.validate().unwrap();
        assert_eq!(back, m);
    }
}
