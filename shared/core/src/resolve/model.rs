//! The Fellegi–Sunter match model and its versioned JSON file.
//!
//! Per field and comparison level: m = P(level | same person), u = P(level | different people);
//! a level weighs log2(m/u) bits. u is estimated from random pairs of records, m and the match
//! prior by expectation–maximisation over the candidate pairs blocking produces (u held fixed, as
//! Splink does). Exact name agreements are weighed by the value's own frequency instead of u
//! (term-frequency adjustment) from tables of the most common values carried in the file, so the
//! streaming path needs no database-wide counts. The file also carries the decision thresholds,
//! the shared-identifier guard's limit and the blocking cap.
use super::compare::{
    ADDRESS, CITY, EMAIL, FAMILY, FIELDS, GIVEN, LEVELS, LOCATION, MAX_LEVELS, PHONE, POSTCODE, STATE, STREET_NUMBER,
};

/// What the members of one household share.
const HOUSEHOLD: [usize; 8] = [FAMILY, STREET_NUMBER, ADDRESS, CITY, POSTCODE, STATE, EMAIL, PHONE];
use super::compare::DOB;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The model format this build reads and writes.
pub const MODEL_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldModel {
    pub name: String,
    /// Level labels, strongest agreement first (level 0, "missing", is implicit and weighs 0).
    pub levels: Vec<String>,
    pub m: Vec<f64>,
    pub u: Vec<f64>,
}

/// Decision thresholds, in posterior log2-odds (bits).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Thresholds {
    /// At or above: the same person, merged automatically.
    pub upper: f64,
    /// Below: a different person (a new profile). Between `lower` and `upper`: review.
    pub lower: f64,
    /// Cluster consistency: the count-weighted average score over all cross pairs of values of
    /// the two sides (average linkage) must reach this for an automatic merge, so one weak link
    /// cannot chain two people together.
    pub cluster: f64,
}

/// Relative frequencies of the most common values of a name field, and the frequency assumed
/// for any other value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TfTable {
    pub values: BTreeMap<String, f64>,
    pub default: f64,
}

impl TfTable {
    /// Builds the table from value counts: values held by at least `min_count` records (never a
    /// rare, identifying value) up to `max_values` of them; the default is the average frequency
    /// of the values left out.
    pub fn from_counts(counts: &HashMap<String, u32>, max_values: usize, min_count: u32) -> Self {
        let total: f64 = counts.values().map(|&c| c as f64).sum();
        if total == 0.0 {
            return TfTable::default();
        }
        let mut v: Vec<(&String, u32)> = counts.iter().map(|(k, &c)| (k, c)).collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let kept: Vec<_> = v.iter().take(max_values).filter(|(_, c)| *c >= min_count).collect();
        let kept_mass: f64 = kept.iter().map(|(_, c)| *c as f64).sum();
        let rest = (v.len() - kept.len()).max(1) as f64;
        TfTable {
            values: kept.iter().map(|(k, c)| ((*k).clone(), round6(*c as f64 / total))).collect(),
            default: round6(((total - kept_mass) / total / rest).max(1e-7)),
        }
    }

    pub fn freq(&self, v: &str) -> Option<f64> {
        self.values.get(v).copied()
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TermFrequencies {
    /// Formal given names (after nickname mapping).
    pub given: TfTable,
    pub family: TfTable,
    /// Cap, in bits, of the adjustment either way.
    pub max_bits: f64,
}

/// What the model was trained on (for the record; no personal data).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Training {
    pub records: u64,
    pub random_pairs: u64,
    pub candidate_pairs: u64,
    pub em_iterations: u32,
    /// Largest change of any m or of the prior in the last iteration.
    pub em_last_change: f64,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    pub version: u32,
    /// Probability that a candidate pair is a match (EM estimate). The score of a comparison is
    /// the posterior log2-odds: log2(prior/(1-prior)) + the fields' weights.
    pub prior: f64,
    pub fields: Vec<FieldModel>,
    pub thresholds: Thresholds,
    pub tf: TermFrequencies,
    /// Share of the positive weight of the location fields beyond the strongest one that counts
    /// (street, city, postcode and state are not independent: one agreement implies the others).
    pub location_extra: f64,
    /// Share of the (negative) weight of location disagreements that counts (people move).
    pub location_disagreement: f64,
    /// Share of the positive weight of household-level fields that counts when the person-level
    /// fields contradict (see [`Model::field_weights`]).
    pub household_weight: f64,
    /// Shared-identifier guard: an identifier value held by more than this many distinct people
    /// stops counting as evidence.
    pub guard_max_people: u32,
    /// Blocking keys shared by more records than this produce no candidates (batch), and lookup
    /// items holding more clusters than this should be treated as saturated (stream).
    pub max_block: usize,
    /// The explicit block list: identifiers known to stand for no one person (the airline's own
    /// contact details typed in when a customer gave none, a travel agency's mailbox, a corporate
    /// booking desk). Neither evidence nor a key, like the placeholders the engine recognises.
    #[serde(default)]
    pub blocked: BlockList,
    pub training: Training,
}

/// Identifier values that never count as evidence (see [`Model::blocked`]). Values are written as
/// they would arrive (any e-mail case, any phone formatting); the engine normalises them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BlockList {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(default)]
    pub emails: Vec<String>,
    /// Every address at these domains (a travel agency's own domain).
    #[serde(default)]
    pub email_domains: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub documents: Vec<String>,
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
            thresholds: Thresholds { upper: 12.0, lower: 4.0, cluster: 8.0 },
            tf: TermFrequencies { max_bits: 4.0, ..Default::default() },
            location_extra: 0.2,
            location_disagreement: 0.5,
            household_weight: 0.0,
            guard_max_people: 10,
            max_block: 64,
            blocked: BlockList::default(),
            training: Training::default(),
        }
    }
}

impl Model {
    /// Parses and validates a model file.
    pub fn from_json(text: &str) -> Result<Model, String> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let v: Version = serde_json::from_str(text).map_err(|e| format!("model file: {e}"))?;
        if v.version != MODEL_VERSION {
            return Err(format!("model version {} (this build reads version {MODEL_VERSION})", v.version));
        }
        let m: Model = serde_json::from_str(text).map_err(|e| format!("model file: {e}"))?;
        m.validate()?;
        Ok(m)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.version != MODEL_VERSION {
            return Err(format!("model version {} (this build reads version {MODEL_VERSION})", self.version));
        }
        if self.fields.len() != FIELDS {
            return Err(format!("model has {} fields, expected {FIELDS}", self.fields.len()));
        }
        for (f, (name, levels)) in self.fields.iter().zip(LEVELS.iter()) {
            if f.name != *name
                || f.m.len() != levels.len()
                || f.u.len() != levels.len()
                || f.levels.len() != levels.len()
            {
                return Err(format!("model field `{}` does not match this build's `{name}` levels", f.name));
            }
            if f.m.iter().chain(&f.u).any(|&p| !(p > 0.0 && p <= 1.0)) {
                return Err(format!("model field `{name}`: probabilities must be in (0, 1]"));
            }
        }
        if !(self.prior > 0.0 && self.prior < 1.0) {
            return Err("model prior must be in (0, 1)".into());
        }
        let t = &self.thresholds;
        if t.lower.partial_cmp(&t.upper) == Some(std::cmp::Ordering::Greater)
            || t.lower.is_nan()
            || t.upper.is_nan()
            || !t.cluster.is_finite()
        {
            return Err("model thresholds: lower must not exceed upper".into());
        }
        if !(0.0..=1.0).contains(&self.household_weight)
            || !(0.0..=1.0).contains(&self.location_extra)
            || !(0.0..=1.0).contains(&self.location_disagreement)
        {
            return Err("model: household_weight, location_extra and location_disagreement must be in [0, 1]".into());
        }
        if self.max_block < 2 || self.guard_max_people < 1 {
            return Err("model: max_block must be ≥ 2 and guard_max_people ≥ 1".into());
        }
        Ok(())
    }

    /// Each field's effective weight in a comparison, so that the score is the prior plus their
    /// sum. Two dependence corrections apply to the plain log2(m/u) (plus the term-frequency bits
    /// `tf` of exact name agreements):
    /// * household: when the person-level fields contradict — the dates of birth or the given
    ///   names disagree (twins share a date of birth, parents and children sometimes a name) — what
    ///   a household shares (family name, address, city, postcode, state, e-mail, phone) is what
    ///   two members of one household would show too, so only `household_weight` of its positive
    ///   weight counts;
    /// * location: street number, address, city, postcode and state are one piece of evidence —
    ///   the strongest agreement plus `location_extra` of the others, or `location_disagreement`
    ///   of their disagreements when none agrees (people move).
    ///
    /// EM's E-step uses the same weights as scoring, so neither households nor streets are taken
    /// for one person while the model learns.
    pub fn field_weights(
        &self,
        levels: &[u8; FIELDS],
        w: &[[f64; MAX_LEVELS + 1]; FIELDS],
        tf: [f64; 2],
    ) -> [f64; FIELDS] {
        let mut out = [0.0f64; FIELDS];
        for (f, o) in out.iter_mut().enumerate() {
            *o = w[f][levels[f] as usize];
        }
        if levels[GIVEN] == 1 {
            out[GIVEN] += tf[0];
        }
        if levels[FAMILY] == 1 {
            out[FAMILY] += tf[1];
        }
        let worst = |f: usize| self.fields[f].m.len() as u8;
        let (g, d) = (levels[GIVEN], levels[DOB]);
        if d == worst(DOB) || g == worst(GIVEN) {
            for f in HOUSEHOLD {
                if out[f] > 0.0 {
                    out[f] *= self.household_weight;
                }
            }
        }
        let mut best: Option<usize> = None;
        for f in LOCATION {
            if out[f] > 0.0 && best.is_none_or(|b| out[f] > out[b]) {
                best = Some(f);
            }
        }
        for f in LOCATION {
            out[f] = match best {
                Some(b) if b == f => out[f],
                Some(_) if out[f] > 0.0 => self.location_extra * out[f],
                Some(_) => 0.0,
                None => self.location_disagreement * out[f],
            };
        }
        out
    }

    /// The weight of a comparison pattern without prior or term frequencies (for EM).
    pub fn combined_bits(&self, levels: &[u8; FIELDS], w: &[[f64; MAX_LEVELS + 1]; FIELDS]) -> f64 {
        self.field_weights(levels, w, [0.0; 2]).iter().sum()
    }

    /// log2(m/u) per field and level (index 0: missing = 0).
    pub fn level_weights(&self) -> [[f64; MAX_LEVELS + 1]; FIELDS] {
        let mut w = [[0.0f64; MAX_LEVELS + 1]; FIELDS];
        for (i, f) in self.fields.iter().enumerate() {
            for l in 0..f.m.len() {
                w[i][l + 1] = (f.m[l] / f.u[l]).log2();
            }
        }
        w
    }

    pub fn prior_bits(&self) -> f64 {
        (self.prior / (1.0 - self.prior)).log2()
    }

    /// Estimates u from the comparison levels of random pairs (see [`random_pairs`]).
    pub fn estimate_u(&mut self, random_levels: &[[u8; FIELDS]]) {
        let mut counts = [[0u64; MAX_LEVELS + 1]; FIELDS];
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

    /// Expectation–maximisation of m and the prior over comparison patterns (with counts) of the
    /// pairs one blocking rule produced, u fixed. The fields the rule blocked on are left out of
    /// the E-step and keep their m (their agreement is what selected the pairs, so it says nothing
    /// about whether a pair is a match); their levels are not estimated. Returns
    /// (iterations, last change, the session's prior).
    pub fn estimate_m_em(
        &mut self,
        patterns: &[([u8; FIELDS], u64)],
        excluded: &[usize],
        max_iterations: u32,
    ) -> (u32, f64, f64) {
        let total: f64 = patterns.iter().map(|p| p.1 as f64).sum();
        if total == 0.0 {
            return (0, 0.0, self.prior);
        }
        let patterns: Vec<([u8; FIELDS], f64)> = patterns
            .iter()
            .map(|(l, c)| {
                let mut l = *l;
                for &f in excluded {
                    l[f] = 0;
                }
                (l, *c as f64)
            })
            .collect();
        let mut prior = 0.1f64;
        let mut change = f64::INFINITY;
        let mut it = 0;
        while it < max_iterations && change > 1e-7 {
            it += 1;
            let w = self.level_weights();
            let prior_bits = (prior / (1.0 - prior)).log2();
            let mut acc = [[0.0f64; MAX_LEVELS + 1]; FIELDS];
            let mut matched = 0.0;
            for (levels, count) in &patterns {
                let bits = prior_bits + self.combined_bits(levels, &w);
                let p = 1.0 / (1.0 + (-bits).exp2());
                let pc = p * count;
                matched += pc;
                for (f, &l) in levels.iter().enumerate() {
                    acc[f][l as usize] += pc;
                }
            }
            change = 0.0;
            for (f, fm) in self.fields.iter_mut().enumerate() {
                if excluded.contains(&f) {
                    continue;
                }
                let k = fm.m.len();
                let s: f64 = acc[f][1..=k].iter().sum();
                if s < 1.0 {
                    continue;
                }
                for l in 0..k {
                    let m = ((acc[f][l + 1] + 0.01) / (s + 0.01 * k as f64)).clamp(1e-6, 1.0);
                    change = change.max((m - fm.m[l]).abs());
                    fm.m[l] = m;
                }
            }
            let p = (matched / total).clamp(1e-6, 0.999);
            change = change.max((p - prior).abs());
            prior = p;
        }
        (it, change, prior)
    }

    /// The prior over candidate pairs by EM on the mixing weight only (m and u fixed).
    pub fn estimate_prior(&mut self, patterns: &[([u8; FIELDS], u64)]) {
        let w = self.level_weights();
        let bits: Vec<(f64, f64)> = patterns.iter().map(|(l, c)| (self.combined_bits(l, &w), *c as f64)).collect();
        let total: f64 = bits.iter().map(|b| b.1).sum();
        if total == 0.0 {
            return;
        }
        for _ in 0..200 {
            let odds = self.prior / (1.0 - self.prior);
            let p: f64 = bits.iter().map(|&(b, c)| c / (1.0 + 1.0 / (odds * b.exp2()))).sum();
            let next = (p / total).clamp(1e-6, 0.999);
            if (next - self.prior).abs() < 1e-9 {
                self.prior = next;
                break;
            }
            self.prior = next;
        }
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
    fn model_round_trips_as_versioned_json_and_other_versions_are_refused() {
        let m = Model::default();
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(&format!("\"version\":{MODEL_VERSION}")));
        let back = Model::from_json(&json).unwrap();
        assert_eq!(back, m);
        let old = json.replace(&format!("\"version\":{MODEL_VERSION}"), "\"version\":1");
        assert!(Model::from_json(&old).unwrap_err().contains("version 1"));
        let mut bad = m.clone();
        bad.fields[0].m[0] = 0.0;
        assert!(bad.validate().is_err());
    }

    #[test]
    fn tf_table_keeps_only_common_values() {
        let mut counts = HashMap::new();
        counts.insert("smith".to_string(), 50u32);
        counts.insert("jones".to_string(), 30);
        counts.insert("zabriskie".to_string(), 1);
        counts.insert("quill".to_string(), 1);
        let t = TfTable::from_counts(&counts, 10, 5);
        assert_eq!(t.values.len(), 2);
        assert!(t.freq("zabriskie").is_none(), "rare values never enter the file");
        assert!((t.freq("smith").unwrap() - 50.0 / 82.0).abs() < 1e-6);
        assert!((t.default - 1.0 / 82.0).abs() < 1e-6);
    }

    #[test]
    fn em_recovers_m_and_the_prior_from_a_mixture() {
        // Two fields with two levels each (exact, else) plus a third: a synthetic mixture of 30 %
        // matches (m = 0.9 exact) and 70 % non-matches (u = 0.05 exact).
        let mut model = Model::default();
        for f in model.fields.iter_mut() {
            let k = f.u.len();
            f.u = (0..k).map(|l| if l == 0 { 0.05 } else { 0.95 / (k - 1) as f64 }).collect();
            f.m = (0..k).map(|l| if l == 0 { 0.6 } else { 0.4 / (k - 1) as f64 }).collect();
        }
        model.prior = 0.5;
        // Enumerate patterns of 3 binary fields (exact = level 1, else = last level), others missing.
        // Fields outside the household and location corrections: document number, e-mail, phone.
        let fields = [8usize, 9, 10];
        let mut patterns = Vec::new();
        for mask in 0..8u32 {
            let mut levels = [0u8; FIELDS];
            let (mut pm, mut pu) = (0.3, 0.7);
            for (i, &f) in fields.iter().enumerate() {
                let exact = mask & (1 << i) != 0;
                levels[f] = if exact { 1 } else { LEVELS[f].1.len() as u8 };
                pm *= if exact { 0.9 } else { 0.1 };
                pu *= if exact { 0.05 } else { 0.95 };
            }
            patterns.push((levels, ((pm + pu) * 1e6) as u64));
        }
        // u of the "else" level is what the synthetic data says.
        for &f in &fields {
            let k = model.fields[f].u.len();
            model.fields[f].u = (0..k)
                .map(|l| {
                    if l == 0 {
                        0.05
                    } else if l + 1 == k {
                        0.95
                    } else {
                        1e-6
                    }
                })
                .collect();
        }
        let (_, _, prior) = model.estimate_m_em(&patterns, &[], 500);
        assert!((prior - 0.3).abs() < 0.01, "prior {prior}");
        model.estimate_prior(&patterns);
        assert!((model.prior - 0.3).abs() < 0.01, "prior {}", model.prior);
        for &f in &fields {
            assert!((model.fields[f].m[0] - 0.9).abs() < 0.01, "m {}", model.fields[f].m[0]);
        }
    }
}
