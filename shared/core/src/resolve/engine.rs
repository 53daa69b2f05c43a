//! The matching engine: one implementation for the streaming path (merge function) and the batch
//! path (`cmpctl resolve`).
//!
//! # API the streaming path calls
//!
//! ```text
//! let engine = Engine::builtin();                                   // once per container
//! let p = normalize::person([given, family, dob, street_number, address, city,
//!                            postcode, region, document_number, email, phone]);
//! for key in engine.block_keys(&p) { /* HMAC(key) → lookup item → cluster ids */ }
//! // load each candidate cluster's ClusterSummary (sealed in its profile item), then
//! match engine.decide(&p, &[(cluster_id, &summary), ...]) {
//!     Decision::Match { cluster, explanation, rule, also } => {
//!         summary.observe(&p);                                      // and store it back
//!         for other in also {                                       // the record links two clusters:
//!             if engine.link(&summary, &other_summary).merge {      // cluster-to-cluster check
//!                 summary.absorb(&other_summary);                   // merge the profiles
//!             }
//!         }
//!     }
//!     Decision::Review { cluster, explanation } => { /* new profile + review item */ }
//!     Decision::New => { /* new profile, ClusterSummary::new() + observe(&p) */ }
//! }
//! ```
//!
//! * [`ClusterSummary`]: bounded per-field values (with counts) of one golden profile,
//!   `Serialize + Deserialize`, at most [`SUMMARY_VALUES`] values per field and
//!   [`super::normalize::MAX_VALUE_BYTES`] bytes per value, so its JSON stays under 2 KB.
//! * [`Engine::block_keys`]: at most 12 stable strings such as `ny:S530:1975`, no plaintext value
//!   longer than the key needs; the stream HMACs them into lookup items. Keys whose lookup item
//!   holds more than `model.max_block` clusters are too common to discriminate: skip them.
//! * [`Engine::compare`] / [`Engine::explain`]: the best level per field over the cluster's
//!   values, the posterior log2-odds score and each field's contribution.
//! * [`Engine::deterministic`]: the strong-identifier rules, in priority order.
//! * [`Engine::band`]: `AutoMerge` ≥ upper, `Review` between, `New` < lower.
//! * [`Engine::decide`]: rules, then scores, then the cluster-consistency check (average linkage
//!   ≥ `thresholds.cluster`); several clusters passing → `Match` with `also`.
//! * [`Engine::link`]: the cluster-to-cluster check before merging two clusters.
//! * [`Engine::is_shared_identifier`]: the explicit block list (placeholders) plus values marked
//!   shared ([`Engine::mark_shared`]: the stream marks an identifier whose lookup item already
//!   names more than `model.guard_max_people` clusters; the batch path computes them from the
//!   data with [`Engine::detect_shared`]). Shared values are neither compared nor blocked on.
use super::compare::{
    self, dob_level, email_level, field_level, name_level, Comparison, ADDRESS, CITY, DOB, EMAIL, FAMILY, FIELDS,
    GIVEN, IDENTIFIERS, LEVELS, MAX_LEVELS, NATIONAL_ID, PHONE, POSTCODE, STATE, STREET_NUMBER,
};
use super::model::Model;
use super::normalize::{canonical_given, email_local, soundex_into, Person, MAX_VALUE_BYTES};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// The model committed with the code.
pub const BUILTIN_MODEL: &str = include_str!("../../../models/person-v2.json");
/// Its path in the repository, for messages.
pub const BUILTIN_MODEL_PATH: &str = "shared/models/person-v2.json";

/// Values kept per field in a [`ClusterSummary`].
pub const SUMMARY_VALUES: usize = 4;

/// At most this many blocking keys per record.
pub const MAX_BLOCK_KEYS: usize = 12;

/// A small, fast, deterministic hasher (FxHash) for the engine's internal tables.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ (rest.len() as u64) << 56);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        // A final avalanche so that the low bits are usable for partitioning.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;

/// 64-bit hash of a string (deterministic across runs and builds).
pub fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.finish()
}

fn hash_field_value(field: usize, value: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write_u8(field as u8);
    h.write(value.as_bytes());
    h.finish()
}

/// A deterministic rule on a strong identifier that decides a match before scoring. Variants are
/// listed in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The same document / national identity number (not a shared or placeholder value).
    DocumentNumber,
}

/// The three decision bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    AutoMerge,
    Review,
    New,
}

/// One field's part of a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub field: String,
    /// The comparison level's label (`missing` when either side has no value, `shared` when the
    /// value is a shared identifier).
    pub level: String,
    /// Bits this field adds to the score (term-frequency adjustment and the location-dependence
    /// correction included), so that `prior + Σ weight = score`.
    pub weight: f64,
}

/// Why a record scored what it did against a cluster (no personal data: levels and weights only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Posterior log2-odds that the record belongs to the cluster.
    pub score: f64,
    /// The prior log2-odds the score starts from.
    pub prior: f64,
    pub band: Band,
    /// Whether the names agreed given↔family swapped.
    pub swapped_names: bool,
    pub contributions: Vec<Contribution>,
    /// The count-weighted average score over the cluster's values (the consistency check),
    /// when computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
}

/// What to do with a record given its candidate clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The record belongs to `cluster` (by `rule`, or by score ≥ upper with a consistent
    /// cluster). `also`: other candidate clusters the record matches as strongly; the platform
    /// should check each against `cluster` with [`Engine::link`] and merge when it passes.
    Match { cluster: String, explanation: Explanation, rule: Option<Rule>, also: Vec<String> },
    /// The best candidate is in the review band (or scored ≥ upper but failed the consistency
    /// check): keep the record apart and queue the pair for a person to decide.
    Review { cluster: String, explanation: Explanation },
    /// No candidate is close: a new cluster.
    New,
}

/// The outcome of a cluster-to-cluster check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Score of the best agreement per field over both clusters' values.
    pub best: f64,
    /// Count-weighted average score over all cross pairs of values (average linkage).
    pub average: f64,
    pub rule: Option<Rule>,
    /// Whether the two clusters should be merged.
    pub merge: bool,
}

/// What the platform knows of one cluster (one golden profile): per field up to
/// [`SUMMARY_VALUES`] normalised values with the number of records that held each, most
/// recent last; when a new value arrives to a full field, the least frequent value (the oldest
/// among equals) makes room. Small enough to be sealed in the profile item (a few hundred bytes of
/// JSON typically, under 2 KB in the worst case).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// Records observed (absorbed clusters included).
    #[serde(rename = "n")]
    records: u32,
    /// Per field in [`compare::LEVELS`] order: (value, records holding it).
    #[serde(rename = "v")]
    values: [Vec<(String, u32)>; compare::FIELDS],
}

impl std::fmt::Debug for ClusterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept: Vec<usize> = self.values.iter().map(Vec::len).collect();
        write!(f, "ClusterSummary(<redacted>, {} records, values kept per field {kept:?})", self.records)
    }
}

impl ClusterSummary {
    pub fn new() -> Self {
        Self::default()
    }

    /// The summary of one record.
    pub fn of(p: &Person) -> Self {
        let mut s = Self::new();
        s.observe(p);
        s
    }

    /// Adds a record's values.
    pub fn observe(&mut self, p: &Person) {
        self.records += 1;
        for f in 0..FIELDS {
            let v = p.field(f);
            if !v.is_empty() {
                add_value(&mut self.values[f], v, 1);
            }
        }
    }

    /// Merges another cluster's summary into this one.
    pub fn absorb(&mut self, other: &ClusterSummary) {
        self.records += other.records;
        for f in 0..FIELDS {
            for (v, n) in &other.values[f] {
                add_value(&mut self.values[f], v, *n);
            }
        }
    }

    pub fn records(&self) -> u32 {
        self.records
    }

    /// The kept values of a field with their counts, most recent last.
    pub fn values(&self, field: usize) -> &[(String, u32)] {
        &self.values[field]
    }

    /// Checks a deserialised summary against the bounds.
    pub fn validate(&self) -> Result<(), String> {
        for vals in &self.values {
            if vals.len() > SUMMARY_VALUES || vals.iter().any(|(v, n)| v.len() > MAX_VALUE_BYTES || *n == 0) {
                return Err("cluster summary exceeds its bounds".into());
            }
        }
        Ok(())
    }
}

fn add_value(vals: &mut Vec<(String, u32)>, v: &str, n: u32) {
    if let Some(pos) = vals.iter().position(|x| x.0 == v) {
        let mut e = vals.remove(pos);
        e.1 += n;
        vals.push(e);
        return;
    }
    if vals.len() >= SUMMARY_VALUES {
        let evict = vals.iter().enumerate().min_by_key(|(i, x)| (x.1, *i)).map(|(i, _)| i).expect("full");
        vals.remove(evict);
    }
    vals.push((v.to_string(), n));
}

/// Per-record values the batch path precomputes once instead of once per pair: the
/// term-frequency bits of its names and which of its identifiers are shared.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordAux {
    /// TF bits: given (given table), family (family table), given and family read in either table
    /// (for swapped names).
    tf: [f32; 4],
    /// Bit `i` set: `IDENTIFIERS[i]` is shared (or a placeholder); bit 3: the dob is a placeholder.
    shared: u8,
}

/// The matching engine: a validated model, its precomputed weights, and the shared-identifier
/// guard.
#[derive(Debug, Clone)]
pub struct Engine {
    model: Model,
    w: [[f64; MAX_LEVELS + 1]; FIELDS],
    prior_bits: f64,
    tf_given: HashMap<String, f64, FxBuild>,
    tf_family: HashMap<String, f64, FxBuild>,
    shared: HashSet<u64, FxBuild>,
    /// The model's explicit block list, normalised: values as field hashes, and e-mail domains.
    blocked: HashSet<u64, FxBuild>,
    blocked_domains: Vec<String>,
}

/// How many identifier values the guard neutralised, per field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SharedReport {
    /// (field name, values neutralised, records holding them).
    pub fields: Vec<(String, usize, usize)>,
}

impl Engine {
    pub fn new(model: Model) -> Self {
        let w = model.level_weights();
        let prior_bits = model.prior_bits();
        let tf_given = model.tf.given.values.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let tf_family = model.tf.family.values.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut blocked = HashSet::default();
        let b = &model.blocked;
        for (field, values) in [(EMAIL, &b.emails), (PHONE, &b.phones), (NATIONAL_ID, &b.documents)] {
            for v in values {
                let mut raw = [""; 11];
                raw[field] = v.as_str(); // raw fields come in field order
                let p = super::normalize::person(raw);
                if !p.field(field).is_empty() {
                    blocked.insert(hash_field_value(field, p.field(field)));
                }
            }
        }
        let blocked_domains = b.email_domains.iter().map(|d| d.trim().trim_start_matches('@').to_lowercase()).collect();
        Engine { w, prior_bits, tf_given, tf_family, shared: HashSet::default(), blocked, blocked_domains, model }
    }

    /// The committed model ([`BUILTIN_MODEL_PATH`]).
    pub fn builtin() -> Self {
        Engine::new(Model::from_json(BUILTIN_MODEL).expect("the builtin model is valid"))
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    // ---------------------------------------------------------------- shared identifiers

    /// Whether a value of `field` (index as in [`compare::LEVELS`]) must not count as evidence:
    /// a placeholder from the explicit block list, or a value marked shared.
    pub fn is_shared_identifier(&self, field: usize, value: &str) -> bool {
        self.is_blocked(field, value)
            || (!self.shared.is_empty() && self.shared.contains(&hash_field_value(field, value)))
    }

    /// Whether a (normalised) value is a placeholder or on the model's explicit block list.
    pub fn is_blocked(&self, field: usize, value: &str) -> bool {
        placeholder(field, value)
            || (!self.blocked.is_empty() && self.blocked.contains(&hash_field_value(field, value)))
            || (field == EMAIL
                && !self.blocked_domains.is_empty()
                && value.rsplit_once('@').is_some_and(|(_, d)| self.blocked_domains.iter().any(|b| b == d)))
    }

    /// Marks a value as shared by several people (the stream: its lookup item names more than
    /// `model.guard_max_people` clusters).
    pub fn mark_shared(&mut self, field: usize, value: &str) {
        self.shared.insert(hash_field_value(field, value));
    }

    /// Batch: marks every identifier value (document number, e-mail, phone) held by records of
    /// more than `guard_max_people` distinct people, people told apart by their names (Soundex
    /// of both names) and year of birth. Returns what was neutralised (counts only).
    pub fn detect_shared(&mut self, people: &[Person]) -> SharedReport {
        let mut report = SharedReport::default();
        for (i, &field) in IDENTIFIERS.iter().enumerate() {
            let mut v: Vec<(u64, u64)> = people
                .iter()
                .filter(|p| !p.field(field).is_empty() && !self.is_blocked(field, p.field(field)))
                .map(|p| (hash_field_value(field, p.field(field)), person_key(p)))
                .collect();
            v.sort_unstable();
            let (mut values, mut records) = (0, 0);
            let mut s = 0;
            while s < v.len() {
                let mut e = s + 1;
                let mut distinct = 1;
                while e < v.len() && v[e].0 == v[s].0 {
                    if v[e].1 != v[e - 1].1 {
                        distinct += 1;
                    }
                    e += 1;
                }
                if distinct > self.model.guard_max_people as usize {
                    self.shared.insert(v[s].0);
                    values += 1;
                    records += e - s;
                }
                s = e;
            }
            let _ = i;
            report.fields.push((LEVELS[field].0.to_string(), values, records));
        }
        report
    }

    fn shared_mask(&self, p: &Person) -> u8 {
        let mut m = 0u8;
        for (i, &f) in IDENTIFIERS.iter().enumerate() {
            let v = p.field(f);
            if !v.is_empty() && self.is_shared_identifier(f, v) {
                m |= 1 << i;
            }
        }
        if !p.dob().is_empty() && placeholder(DOB, p.dob()) {
            m |= 1 << 3;
        }
        m
    }

    // ---------------------------------------------------------------- blocking

    /// The record's blocking keys (at most [`MAX_BLOCK_KEYS`]): stable strings such as
    /// `ny:S530:1975`. Shared identifiers and placeholders produce none.
    pub fn block_keys(&self, p: &Person) -> Vec<String> {
        let mut out = Vec::with_capacity(MAX_BLOCK_KEYS);
        self.for_each_block_key(p, |k| out.push(k.to_string()));
        out
    }

    /// Calls `f` with each blocking key (the same keys as [`Engine::block_keys`], without
    /// allocating one string per key).
    pub fn for_each_block_key(&self, p: &Person, mut f: impl FnMut(&str)) {
        use std::fmt::Write;
        let mut k = String::with_capacity(64);
        let mask = self.shared_mask(p);
        let mut emit = |k: &mut String| {
            f(k);
            k.clear();
        };
        if p.national_id().len() >= 5 && mask & 1 == 0 {
            let _ = write!(k, "id:{}", p.national_id());
            emit(&mut k);
        }
        if !p.email().is_empty() && mask & 2 == 0 {
            let _ = write!(k, "em:{}", p.email());
            emit(&mut k);
            let local = p.email_local();
            if local.len() >= 6 {
                let _ = write!(k, "el:{local}");
                emit(&mut k);
            }
        }
        if p.phone().len() >= 7 && mask & 4 == 0 {
            let _ = write!(k, "ph:{}", p.phone());
            emit(&mut k);
        }
        let dob_ok = mask & 8 == 0;
        let year = if dob_ok && p.dob().len() >= 4 && (p.dob().starts_with("19") || p.dob().starts_with("20")) {
            &p.dob()[..4]
        } else {
            ""
        };
        let mut sx_g = [0u8; 4];
        let mut sx_f = [0u8; 4];
        let ng = soundex_into(p.given_canon(), &mut sx_g);
        let nf = soundex_into(p.family(), &mut sx_f);
        let sx = |b: &[u8; 4]| String::from_utf8_lossy(b).into_owned();
        let (sg, sf) = (sx(&sx_g), sx(&sx_f));
        // The first two characters of a Soundex code: the initial and the next consonant class.
        let (sg2, sf2) = (&sg[..ng.min(2)], &sf[..nf.min(2)]);
        if !year.is_empty() && ng == 4 && nf == 4 {
            // Soundex of one name, year of birth, start of the other's (both ways: swaps meet).
            for (a, b) in [(&sf, sg2), (&sg, sf2)] {
                let _ = write!(k, "ny:{a}:{year}:{b}");
                emit(&mut k);
            }
        }
        if ng == 4 && nf == 4 {
            let (a, b) = if sg <= sf { (&sg, &sf) } else { (&sf, &sg) };
            let _ = write!(k, "nn:{a}:{b}");
            emit(&mut k);
        }
        if dob_ok && p.dob().len() >= 7 {
            // Date of birth and the start of either name's Soundex code.
            let g2 = Some(sg2).filter(|g| !g.is_empty() && *g != sf2);
            for i in [Some(sf2).filter(|f| !f.is_empty()), g2].into_iter().flatten() {
                let _ = write!(k, "nd:{}:{i}", p.dob());
                emit(&mut k);
            }
        }
        if !p.postcode().is_empty() {
            let pre = |s: &str| s[..s.len().min(3)].to_string();
            let fam = pre(p.family());
            let giv = pre(p.given_canon());
            for n in [&fam, &giv] {
                if n.len() >= 2 {
                    let _ = write!(k, "np:{n}:{}", p.postcode());
                    emit(&mut k);
                }
                if fam == giv {
                    break;
                }
            }
        }
        if !p.address().is_empty() && !p.street_number().is_empty() {
            let _ = write!(k, "ad:{}:{}", p.street_number(), p.address());
            emit(&mut k);
        }
    }

    // ---------------------------------------------------------------- scoring

    /// TF bits of an exact name agreement on `value` (given table, family table, or either).
    fn tf_bits(&self, field: usize, value: &str, either: bool) -> f64 {
        let t = &self.model.tf;
        let lookup = |table: &HashMap<String, f64, FxBuild>, default: f64| table.get(value).copied().unwrap_or(default);
        let freq = if either {
            lookup(&self.tf_given, 0.0).max(lookup(&self.tf_family, 0.0)).max(t.given.default.min(t.family.default))
        } else if field == GIVEN {
            lookup(&self.tf_given, t.given.default)
        } else {
            lookup(&self.tf_family, t.family.default)
        };
        if freq <= 0.0 {
            return 0.0;
        }
        let u = self.model.fields[field].u[0];
        (u / freq).log2().clamp(-self.model.tf.max_bits, self.model.tf.max_bits)
    }

    /// Precomputes a record's TF bits and shared-identifier mask (batch path).
    pub fn aux(&self, p: &Person) -> RecordAux {
        let tf = if self.model.tf.max_bits > 0.0 {
            [
                self.tf_bits(GIVEN, p.given_canon(), false) as f32,
                self.tf_bits(FAMILY, p.family(), false) as f32,
                self.tf_bits(GIVEN, p.given_canon(), true) as f32,
                self.tf_bits(FAMILY, p.family(), true) as f32,
            ]
        } else {
            [0.0; 4]
        };
        RecordAux { tf, shared: self.shared_mask(p) }
    }

    /// Compares two records with precomputed [`RecordAux`] (batch path): the comparison with
    /// TF bits and shared identifiers masked.
    pub fn compare_pair(&self, a: &Person, xa: &RecordAux, b: &Person, xb: &RecordAux) -> Comparison {
        let mut c = compare::compare(a, b);
        let shared = xa.shared | xb.shared;
        if shared != 0 {
            for (i, &f) in IDENTIFIERS.iter().enumerate() {
                if shared & (1 << i) != 0 {
                    c.levels[f] = 0;
                }
            }
            if shared & 8 != 0 {
                c.levels[DOB] = 0;
            }
        }
        if c.levels[GIVEN] == 1 {
            c.tf_bits[0] = if c.swapped { xa.tf[2] } else { xa.tf[0] };
        }
        if c.levels[FAMILY] == 1 {
            c.tf_bits[1] = if c.swapped { xa.tf[3] } else { xa.tf[1] };
        }
        c
    }

    /// Posterior log2-odds of a comparison.
    pub fn score(&self, c: &Comparison) -> f64 {
        self.prior_bits + self.field_weights(c).iter().sum::<f64>()
    }

    /// Each field's effective weight in a comparison ([`Model::field_weights`]).
    pub fn field_weights(&self, c: &Comparison) -> [f64; FIELDS] {
        self.model.field_weights(&c.levels, &self.w, [c.tf_bits[0] as f64, c.tf_bits[1] as f64])
    }

    fn combine_location(&self, max: f64, pos: f64, neg: f64) -> f64 {
        if pos > 0.0 {
            max + self.model.location_extra * (pos - max)
        } else {
            self.model.location_disagreement * neg
        }
    }

    /// Compares a record with a cluster: the best level per field over the cluster's values
    /// (names also tried given↔family swapped), shared identifiers and placeholders ignored, the
    /// TF bits of the best exact name agreement.
    pub fn compare(&self, p: &Person, c: &ClusterSummary) -> Comparison {
        let mut levels = [0u8; FIELDS];
        let best = |field: usize, v: &str, f: &dyn Fn(&str, &str) -> u8| -> u8 {
            if v.is_empty() {
                return 0;
            }
            c.values[field].iter().map(|(x, _)| f(v, x)).filter(|&l| l > 0).min().unwrap_or(0)
        };
        // Names, straight and swapped.
        let (g, f, sg, sf) = {
            let gl = |v: &str, x: &str| name_level(v, p.given_canon(), x, canonical_given(x));
            let fl = |v: &str, x: &str| name_level(v, v, x, x);
            let g = best(GIVEN, p.given(), &gl);
            let f = best(FAMILY, p.family(), &fl);
            if g == 1 && f == 1 {
                (g, f, 0, 0)
            } else {
                let sg = best(FAMILY, p.given(), &|v: &str, x: &str| name_level(v, p.given_canon(), x, x));
                let sf = best(GIVEN, p.family(), &|v: &str, x: &str| name_level(v, v, x, canonical_given(x)));
                (g, f, sg, sf)
            }
        };
        let rank = |l: u8| if l == 0 { 4 } else { l };
        let swapped = (sg != 0 || sf != 0) && rank(sg) + rank(sf) + 1 < rank(g) + rank(f);
        (levels[GIVEN], levels[FAMILY]) = if swapped { (sg, sf) } else { (g, f) };
        for (field, level) in levels.iter_mut().enumerate().skip(DOB) {
            let v = p.field(field);
            if v.is_empty() || ((IDENTIFIERS.contains(&field) || field == DOB) && self.is_shared_identifier(field, v)) {
                continue;
            }
            *level =
                c.values[field]
                    .iter()
                    .filter(|(x, _)| {
                        !(IDENTIFIERS.contains(&field) || field == DOB) || !self.is_shared_identifier(field, x)
                    })
                    .map(|(x, _)| {
                        if field == EMAIL {
                            email_level(v, x, p.given(), p.family())
                        } else {
                            field_level(field, v, x)
                        }
                    })
                    .filter(|&l| l > 0)
                    .min()
                    .unwrap_or(0);
        }
        let mut tf_bits = [0.0f32; 2];
        if self.model.tf.max_bits > 0.0 {
            if levels[GIVEN] == 1 {
                tf_bits[0] = self.tf_bits(GIVEN, p.given_canon(), swapped) as f32;
            }
            if levels[FAMILY] == 1 {
                tf_bits[1] = self.tf_bits(FAMILY, p.family(), swapped) as f32;
            }
        }
        Comparison { levels, swapped, tf_bits }
    }

    /// The explanation of a comparison: score, band and each field's contribution.
    pub fn explain_comparison(&self, c: &Comparison) -> Explanation {
        let weights = self.field_weights(c);
        let score = self.prior_bits + weights.iter().sum::<f64>();
        let contributions = (0..FIELDS)
            .map(|f| {
                let l = c.levels[f] as usize;
                let level = if l == 0 { "missing".to_string() } else { LEVELS[f].1[l - 1].to_string() };
                Contribution { field: LEVELS[f].0.to_string(), level, weight: round3(weights[f]) }
            })
            .collect();
        Explanation {
            score: round3(score),
            prior: round3(self.prior_bits),
            band: self.band(score),
            swapped_names: c.swapped,
            contributions,
            average: None,
        }
    }

    /// Score and per-field contributions of a record against a cluster.
    pub fn explain(&self, p: &Person, c: &ClusterSummary) -> Explanation {
        let mut e = self.explain_comparison(&self.compare(p, c));
        e.average = Some(round3(self.average_record(p, c)));
        e
    }

    /// The band of a score.
    pub fn band(&self, score: f64) -> Band {
        let t = &self.model.thresholds;
        if score >= t.upper {
            Band::AutoMerge
        } else if score >= t.lower {
            Band::Review
        } else {
            Band::New
        }
    }

    /// The strong-identifier rules, highest priority first: the same document number (neither a
    /// placeholder nor shared) decides a match unless contradicted — the dates of birth differ
    /// (beyond two edits or a day/month swap) and neither name agrees closely.
    pub fn deterministic(&self, p: &Person, c: &ClusterSummary) -> Option<Rule> {
        let id = p.national_id();
        if id.len() < 5 || self.is_shared_identifier(NATIONAL_ID, id) {
            return None;
        }
        if !c.values[NATIONAL_ID].iter().any(|(v, _)| v == id) {
            return None;
        }
        let dob_far = !p.dob().is_empty()
            && !c.values[DOB].is_empty()
            && c.values[DOB].iter().all(|(v, _)| dob_level(p.dob(), v) == 4);
        if dob_far {
            let cmp = self.compare(p, c);
            let name_close = [GIVEN, FAMILY].iter().any(|&f| (1..=2).contains(&cmp.levels[f]));
            if !name_close {
                return None;
            }
        }
        Some(Rule::DocumentNumber)
    }

    /// The rule between two records (batch path), given their comparison.
    pub fn deterministic_pair(&self, a: &Person, b: &Person, c: &Comparison) -> Option<Rule> {
        if c.levels[NATIONAL_ID] == 1 && a.national_id().len() >= 5 && a.national_id() == b.national_id() {
            let contradicted =
                c.levels[DOB] == 4 && !(1..=2).contains(&c.levels[GIVEN]) && !(1..=2).contains(&c.levels[FAMILY]);
            if !contradicted {
                return Some(Rule::DocumentNumber);
            }
        }
        None
    }

    /// The count-weighted average score of a record against every value of a cluster (each
    /// field's weight averaged over the cluster's records, missing and evicted values counting
    /// 0): how well the record fits the cluster as a whole, not just its closest record.
    pub fn average_record(&self, p: &Person, c: &ClusterSummary) -> f64 {
        let n = c.records.max(1) as f64;
        let mut avg = [0.0f64; FIELDS];
        for (field, a) in avg.iter_mut().enumerate() {
            let v = p.field(field);
            if v.is_empty() {
                continue;
            }
            let mut sum = 0.0;
            for (x, k) in &c.values[field] {
                sum += *k as f64 * self.value_weight(field, p, v, x);
            }
            *a = sum / n;
        }
        self.combine_average(&avg)
    }

    /// The weight of one field between a record's value and another value. Names are compared
    /// with either of the other side's names (swaps), shared identifiers weigh 0.
    fn value_weight(&self, field: usize, p: &Person, v: &str, x: &str) -> f64 {
        match field {
            GIVEN | FAMILY => {
                let canon = if field == GIVEN { p.given_canon() } else { v };
                let lx = name_level(v, canon, x, canonical_given(x));
                let lx = if lx == 1 {
                    lx
                } else {
                    let other = if field == GIVEN { p.family() } else { p.given() };
                    let lo = name_level(other, other, x, canonical_given(x));
                    if lo == 1 {
                        return self.w[field][1] + self.tf_bits(field, x, true);
                    }
                    lx
                };
                let tf = if lx == 1 { self.tf_bits(field, canon, false) } else { 0.0 };
                self.w[field][lx as usize] + tf
            }
            _ => {
                let guarded = IDENTIFIERS.contains(&field) || field == DOB;
                if guarded && (self.is_shared_identifier(field, v) || self.is_shared_identifier(field, x)) {
                    return 0.0;
                }
                let l = match field {
                    EMAIL => email_level(v, x, p.given(), p.family()),
                    _ => field_level(field, v, x),
                };
                self.w[field][l as usize]
            }
        }
    }

    fn combine_average(&self, avg: &[f64; FIELDS]) -> f64 {
        let mut s = self.prior_bits;
        let (mut loc_max, mut loc_pos, mut loc_neg) = (0.0f64, 0.0f64, 0.0f64);
        for (f, &w) in avg.iter().enumerate() {
            if is_location(f) {
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
        s + self.combine_location(loc_max, loc_pos, loc_neg)
    }

    /// Average linkage between two clusters from their summaries: the count-weighted average
    /// over all cross pairs of values, per field.
    pub fn average_clusters(&self, a: &ClusterSummary, b: &ClusterSummary) -> f64 {
        let n = (a.records.max(1) as f64) * (b.records.max(1) as f64);
        let mut avg = [0.0f64; FIELDS];
        for (field, slot) in avg.iter_mut().enumerate() {
            let mut sum = 0.0;
            for (v, ka) in &a.values[field] {
                // A stand-in record holding this value (and, for names, the cluster's most
                // frequent other name, for swaps).
                let tmp = match field {
                    GIVEN => Person::with_names(v, top(&a.values[FAMILY])),
                    FAMILY => Person::with_names(top(&a.values[GIVEN]), v),
                    _ => Person::default(),
                };
                for (x, kb) in &b.values[field] {
                    sum += (*ka as f64) * (*kb as f64) * self.value_weight(field, &tmp, v, x);
                }
            }
            *slot = sum / n;
        }
        self.combine_average(&avg)
    }

    /// The best agreement per field between two clusters (a stand-in record per value of `a`
    /// against `b`, best per field).
    fn best_clusters(&self, a: &ClusterSummary, b: &ClusterSummary) -> Comparison {
        let mut best = Comparison::default();
        let mut best_score = f64::NEG_INFINITY;
        // Names decide swaps; try each pairing of a's names with b.
        let gs: Vec<&str> = a.values[GIVEN].iter().map(|x| x.0.as_str()).chain(std::iter::once("")).collect();
        let fs: Vec<&str> = a.values[FAMILY].iter().map(|x| x.0.as_str()).chain(std::iter::once("")).collect();
        for g in &gs {
            for f in &fs {
                if g.is_empty() && f.is_empty() && (gs.len() > 1 || fs.len() > 1) {
                    continue;
                }
                let p = Person::with_names(g, f);
                let c = self.compare(&p, b);
                let s = self.score(&c);
                if s > best_score {
                    best_score = s;
                    best = c;
                }
            }
        }
        for field in DOB..FIELDS {
            let mut lv = 0u8;
            for (v, _) in &a.values[field] {
                let guarded = IDENTIFIERS.contains(&field) || field == DOB;
                if guarded && self.is_shared_identifier(field, v) {
                    continue;
                }
                for (x, _) in &b.values[field] {
                    if guarded && self.is_shared_identifier(field, x) {
                        continue;
                    }
                    let l = if field == EMAIL {
                        email_level(v, x, top(&a.values[GIVEN]), top(&a.values[FAMILY]))
                    } else {
                        field_level(field, v, x)
                    };
                    if l > 0 && (lv == 0 || l < lv) {
                        lv = l;
                    }
                }
            }
            best.levels[field] = lv;
        }
        best
    }

    /// The cluster-to-cluster check: merge when a strong-identifier rule holds (not
    /// contradicted), or when the best agreement reaches `upper` and the average linkage
    /// reaches `thresholds.cluster`.
    pub fn link(&self, a: &ClusterSummary, b: &ClusterSummary) -> Link {
        self.link_explained(a, b).0
    }

    /// [`Engine::link`] with the explanation of its best agreement (score, per-field
    /// contributions, average linkage), compared once.
    pub fn link_explained(&self, a: &ClusterSummary, b: &ClusterSummary) -> (Link, Explanation) {
        let best_c = self.best_clusters(a, b);
        let mut why = self.explain_comparison(&best_c);
        let best = self.score(&best_c);
        let average = self.average_clusters(a, b);
        let shared_id = a.values[NATIONAL_ID].iter().any(|(v, _)| {
            v.len() >= 5
                && !self.is_shared_identifier(NATIONAL_ID, v)
                && b.values[NATIONAL_ID].iter().any(|(x, _)| x == v)
        });
        let contradicted = best_c.levels[DOB] == 4
            && !(1..=2).contains(&best_c.levels[GIVEN])
            && !(1..=2).contains(&best_c.levels[FAMILY]);
        let rule = (shared_id && !contradicted).then_some(Rule::DocumentNumber);
        let t = &self.model.thresholds;
        let merge = rule.is_some() || (best >= t.upper && average >= t.cluster);
        why.average = Some(round3(average));
        (Link { best, average, rule, merge }, why)
    }

    /// Decides where a record belongs among its candidate clusters: a strong-identifier rule
    /// first (highest priority, then best score), else the best score ≥ upper with the cluster
    /// consistency check (average ≥ `thresholds.cluster`); then review (≥ lower) or new.
    pub fn decide(&self, p: &Person, candidates: &[(String, &ClusterSummary)]) -> Decision {
        struct Cand<'a> {
            id: &'a str,
            rule: Option<Rule>,
            exp: Explanation,
            ok: bool,
        }
        let t = &self.model.thresholds;
        let mut cands: Vec<Cand> = candidates
            .iter()
            .map(|(id, c)| {
                let rule = self.deterministic(p, c);
                let mut exp = self.explain_comparison(&self.compare(p, c));
                let ok = if rule.is_some() {
                    true
                } else if exp.score >= t.upper {
                    let avg = self.average_record(p, c);
                    exp.average = Some(round3(avg));
                    avg >= t.cluster
                } else {
                    false
                };
                Cand { id: id.as_str(), rule, exp, ok }
            })
            .collect();
        // Best first: passing, rule priority, score, then id for determinism.
        cands.sort_by(|a, b| {
            b.ok.cmp(&a.ok)
                .then_with(|| match (a.rule, b.rule) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then_with(|| b.exp.score.total_cmp(&a.exp.score))
                .then_with(|| a.id.cmp(b.id))
        });
        let mut it = cands.into_iter();
        let Some(first) = it.next() else { return Decision::New };
        if first.ok {
            let also = it.filter(|c| c.ok).map(|c| c.id.to_string()).collect();
            let mut explanation = first.exp;
            if first.rule.is_some() {
                explanation.band = Band::AutoMerge;
            }
            return Decision::Match { cluster: first.id.to_string(), explanation, rule: first.rule, also };
        }
        if first.exp.score >= t.lower {
            let mut explanation = first.exp;
            explanation.band = Band::Review;
            return Decision::Review { cluster: first.id.to_string(), explanation };
        }
        Decision::New
    }
}

fn top(vals: &[(String, u32)]) -> &str {
    vals.iter().enumerate().max_by_key(|(i, x)| (x.1, *i)).map(|(_, x)| x.0.as_str()).unwrap_or("")
}

fn is_location(f: usize) -> bool {
    matches!(f, STREET_NUMBER | ADDRESS | CITY | POSTCODE | STATE)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A key telling people apart for the shared-identifier guard: Soundex of both names (in
/// either order) and the year of birth.
fn person_key(p: &Person) -> u64 {
    let mut a = [0u8; 4];
    let mut b = [0u8; 4];
    soundex_into(p.given_canon(), &mut a);
    soundex_into(p.family(), &mut b);
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    let mut h = FxHasher::default();
    h.write(&a);
    h.write(&b);
    h.write(p.dob().get(..4).unwrap_or("").as_bytes());
    h.finish()
}

/// Placeholders: values that identify nobody (`noemail@…`, `0000000`, `19000101`), recognised by
/// pattern; the model's explicit block list comes on top ([`Engine::is_blocked`]).
pub fn placeholder(field: usize, v: &str) -> bool {
    if v.is_empty() {
        return false;
    }
    let all_same = |s: &str| s.bytes().all(|c| c == s.as_bytes()[0]);
    let sequence = |s: &str| {
        let b = s.as_bytes();
        b.windows(2).all(|w| w[1] == w[0] + 1) || b.windows(2).all(|w| w[0] == w[1] + 1)
    };
    match field {
        EMAIL => {
            const LOCALS: &[&str] = &[
                "noemail",
                "nomail",
                "none",
                "no",
                "na",
                "nil",
                "null",
                "unknown",
                "test",
                "testing",
                "noreply",
                "no-reply",
                "donotreply",
                "do-not-reply",
                "dummy",
                "fake",
                "invalid",
                "x",
                "xx",
                "xxx",
                "abc",
                "asdf",
                "email",
                "noname",
                "notprovided",
                "not-provided",
                "declined",
                "optout",
            ];
            const DOMAINS: &[&str] =
                &["test.com", "noemail.com", "nomail.com", "none.com", "invalid", "email.invalid", "localhost"];
            let local = email_local(v);
            let domain = v.rsplit_once('@').map(|x| x.1).unwrap_or("");
            LOCALS.contains(&local) || DOMAINS.contains(&domain) || all_same(local)
        }
        PHONE => {
            v.len() < 7
                || all_same(v)
                || sequence(v)
                || matches!(v, "1234567890" | "0987654321")
                || all_same(&v[v.len().saturating_sub(7)..])
        }
        NATIONAL_ID => v.len() < 4 || all_same(v) || sequence(v),
        DOB => matches!(v, "19000101" | "18991231" | "18000101" | "19010101" | "11111111" | "99999999"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::normalize::person;

    fn p(fields: [&str; 11]) -> Person {
        person(fields)
    }

    fn jennifer() -> Person {
        p([
            "Jennifer",
            "Watkins",
            "19730422",
            "2",
            "mullaly crest",
            "caffreyberg",
            "84524",
            "IN",
            "347924772",
            "jenniferwatkins@mail.com",
            "6006535946",
        ])
    }

    #[test]
    fn builtin_model_loads_and_is_the_committed_version() {
        let e = Engine::builtin();
        assert_eq!(e.model().version, crate::resolve::model::MODEL_VERSION);
        assert!(e.model().thresholds.lower < e.model().thresholds.upper);
        assert!(!e.model().tf.family.values.is_empty(), "the file carries a TF table");
    }

    #[test]
    fn summaries_stay_bounded_and_small() {
        let mut s = ClusterSummary::new();
        let long = "x".repeat(200);
        for i in 0..50 {
            let v = format!("{long}{i}");
            s.observe(&p([
                &v,
                &v,
                &format!("1970{:04}", 101 + i),
                &v,
                &v,
                &v,
                &v,
                &v,
                &v,
                &format!("{v}@{v}.com"),
                &v,
            ]));
        }
        s.validate().unwrap();
        assert_eq!(s.records(), 50);
        for f in 0..FIELDS {
            assert!(s.values(f).len() <= SUMMARY_VALUES);
        }
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.len() <= 2048, "worst case {} bytes", json.len());
        let back: ClusterSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        // A typical profile: a few hundred bytes.
        let typical = serde_json::to_string(&ClusterSummary::of(&jennifer())).unwrap();
        assert!(typical.len() < 400, "{typical}");
    }

    #[test]
    fn summaries_keep_frequent_and_recent_values() {
        let mut s = ClusterSummary::new();
        for g in ["anna", "anna", "anna", "ann", "anne", "annie", "hanna"] {
            s.observe(&p([g, "", "", "", "", "", "", "", "", "", ""]));
        }
        let vals: Vec<&str> = s.values(GIVEN).iter().map(|x| x.0.as_str()).collect();
        assert!(vals.contains(&"anna"), "the most frequent value stays");
        assert_eq!(vals.last(), Some(&"hanna"), "the most recent value is kept");
        assert_eq!(s.values(GIVEN).iter().find(|x| x.0 == "anna").unwrap().1, 3);
        let mut t = ClusterSummary::of(&p(["anna", "", "", "", "", "", "", "", "", "", ""]));
        t.absorb(&s);
        assert_eq!(t.records(), 8);
        assert_eq!(t.values(GIVEN).iter().find(|x| x.0 == "anna").unwrap().1, 4);
    }

    #[test]
    fn a_duplicate_matches_and_a_namesake_does_not() {
        let e = Engine::builtin();
        let c = ClusterSummary::of(&jennifer());
        let dup =
            p(["jen", "wakins", "19730422", "", "mullaly crescent", "caffreyberg", "84524", "IN", "", "", "600635946"]);
        let exp = e.explain(&dup, &c);
        assert_eq!(exp.band, Band::AutoMerge, "{exp:?}");
        assert!((exp.prior + exp.contributions.iter().map(|c| c.weight).sum::<f64>() - exp.score).abs() < 0.02);
        let namesake = p([
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
        ]);
        assert_eq!(e.band(e.explain(&namesake, &c).score), Band::New);
        match e.decide(&dup, &[("c1".into(), &c)]) {
            Decision::Match { cluster, rule, also, .. } => {
                assert_eq!(cluster, "c1");
                assert_eq!(rule, None);
                assert!(also.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.decide(&namesake, &[("c1".into(), &c)]), Decision::New);
        assert_eq!(e.decide(&dup, &[]), Decision::New);
    }

    #[test]
    fn document_number_rule_decides_unless_contradicted() {
        let e = Engine::builtin();
        let c = ClusterSummary::of(&jennifer());
        let same_doc = p(["j", "watkins", "", "", "", "", "", "", "347924772", "", ""]);
        assert_eq!(e.deterministic(&same_doc, &c), Some(Rule::DocumentNumber));
        assert!(matches!(
            e.decide(&same_doc, &[("c".into(), &c)]),
            Decision::Match { rule: Some(Rule::DocumentNumber), .. }
        ));
        let contradicted = p(["bob", "kowalski", "19510101", "", "", "", "", "", "347924772", "", ""]);
        assert_eq!(e.deterministic(&contradicted, &c), None);
        let placeholder_doc = p(["x", "y", "", "", "", "", "", "", "000000000", "", ""]);
        let c0 = ClusterSummary::of(&p(["a", "b", "", "", "", "", "", "", "000000000", "", ""]));
        assert_eq!(e.deterministic(&placeholder_doc, &c0), None);
    }

    #[test]
    fn rare_surnames_count_for_more_than_common_ones() {
        let e = Engine::builtin();
        let common = e.model().tf.family.values.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0.clone();
        let a = p(["", &common, "", "", "", "", "", "", "", "", ""]);
        let b = p(["", "zqxvorthy", "", "", "", "", "", "", "", "", ""]);
        let sa = e.explain(&a, &ClusterSummary::of(&a)).score;
        let sb = e.explain(&b, &ClusterSummary::of(&b)).score;
        assert!(sb > sa + 1.0, "rare {sb} vs common {sa}");
    }

    #[test]
    fn the_models_block_list_is_no_evidence_and_no_key() {
        let mut m = Model::from_json(BUILTIN_MODEL).unwrap();
        m.blocked = crate::resolve::model::BlockList {
            emails: vec!["Groups@GammaAirways.com".into()],
            email_domains: vec!["@bookings.sunway-travel.example".into()],
            phones: vec!["+353 (0)1 886-6000".into(), "+353 1 886 6000".into()],
            documents: vec!["X-1234567".into()],
            ..Default::default()
        };
        let e = Engine::new(m);
        let booked = p([
            "mairead",
            "kelly",
            "19880312",
            "",
            "",
            "",
            "",
            "",
            "x1234567",
            "groups@gammaairways.com",
            "35318866000",
        ]);
        assert!(e.is_shared_identifier(EMAIL, booked.email()), "written in any case");
        assert!(e.is_shared_identifier(PHONE, booked.phone()));
        assert!(e.is_shared_identifier(NATIONAL_ID, booked.national_id()));
        assert!(e.is_shared_identifier(EMAIL, "desk4@bookings.sunway-travel.example"), "every address of the domain");
        assert!(!e.is_shared_identifier(EMAIL, "mairead.kelly@example.ie"));
        assert!(!e.is_shared_identifier(EMAIL, "desk4@sunway-travel.example"), "only that domain");
        let keys = e.block_keys(&booked);
        assert!(!keys.iter().any(|k| k.starts_with("em:") || k.starts_with("ph:") || k.starts_with("id:")), "{keys:?}");
        // the builtin model blocks the airline's own contact details
        let builtin = Engine::builtin();
        assert!(builtin.is_shared_identifier(PHONE, booked.phone()));
        assert!(builtin.is_shared_identifier(EMAIL, "customer.care@gammaairways.com"));
    }

    #[test]
    fn block_keys_are_few_stable_and_shared_by_duplicates() {
        let e = Engine::builtin();
        let a = jennifer();
        let keys = e.block_keys(&a);
        assert!(keys.len() <= MAX_BLOCK_KEYS, "{keys:?}");
        assert!(keys.contains(&"ny:W325:1973:J5".to_string()), "{keys:?}");
        assert!(keys.contains(&"nd:19730422:W3".to_string()), "{keys:?}");
        assert_eq!(keys, e.block_keys(&a.clone()));
        let swapped = p(["watkins", "jennifer", "19730422", "", "", "", "", "", "", "", ""]);
        assert!(e.block_keys(&swapped).iter().any(|k| keys.contains(k)), "swapped names still meet");
        let placeholder = p(["", "", "", "", "", "", "", "", "", "noemail@gamma.com", "0000000000"]);
        assert!(e.block_keys(&placeholder).is_empty());
    }

    #[test]
    fn shared_identifiers_are_detected_and_stop_counting() {
        let mut e = Engine::builtin();
        assert!(e.is_shared_identifier(EMAIL, "noemail@x.com"));
        assert!(e.is_shared_identifier(EMAIL, "test@test.com"));
        assert!(e.is_shared_identifier(PHONE, "1234567890"));
        assert!(e.is_shared_identifier(NATIONAL_ID, "0000000"));
        assert!(!e.is_shared_identifier(EMAIL, "jenniferwatkins@mail.com"));
        let names = ["ann", "bob", "cyd", "dan", "eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lou"];
        let people: Vec<Person> = names
            .iter()
            .map(|g| p([g, &format!("{g}son"), "19700101", "", "", "", "", "", "", "bookings@agency.com", ""]))
            .collect();
        let report = e.detect_shared(&people);
        assert_eq!(report.fields.iter().find(|f| f.0 == "email").unwrap().1, 1);
        assert!(e.is_shared_identifier(EMAIL, "bookings@agency.com"));
        let c = ClusterSummary::of(&people[0]);
        assert_eq!(e.compare(&people[1], &c).levels[EMAIL], 0, "a shared e-mail is no evidence");
        // A family e-mail (three people) stays evidence.
        let mut e2 = Engine::builtin();
        e2.detect_shared(&people[..3].iter().map(|x| x.with_field(EMAIL, "family@home.org")).collect::<Vec<_>>());
        assert!(!e2.is_shared_identifier(EMAIL, "family@home.org"));
    }

    #[test]
    fn cluster_link_refuses_two_people_chained_by_one_record() {
        let e = Engine::builtin();
        // Cluster A: Jennifer Watkins; cluster B: her namesake with another dob, address, phone.
        let mut a = ClusterSummary::new();
        for _ in 0..3 {
            a.observe(&jennifer());
        }
        let other = p([
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
        ]);
        let mut b = ClusterSummary::new();
        for _ in 0..3 {
            b.observe(&other);
        }
        // One ambiguous record (name and state only) joins B.
        b.observe(&p(["jennifer", "watkins", "", "", "", "", "", "IN", "", "", ""]));
        let link = e.link(&a, &b);
        assert!(!link.merge, "{link:?}");
        let mut a2 = ClusterSummary::new();
        a2.observe(&p(["jen", "watkins", "19730422", "2", "mullaly crst", "", "84524", "IN", "", "", ""]));
        let link = e.link(&a, &a2);
        assert!(link.merge, "{link:?}");
    }

    #[test]
    fn a_record_matching_two_clusters_says_so() {
        let e = Engine::builtin();
        let a = ClusterSummary::of(&p([
            "jennifer",
            "watkins",
            "19730422",
            "",
            "",
            "",
            "",
            "",
            "",
            "jenniferwatkins@mail.com",
            "",
        ]));
        let b = ClusterSummary::of(&p(["jennifer", "watkins", "19730422", "", "", "", "", "", "", "", "6006535946"]));
        match e.decide(&jennifer(), &[("a".into(), &a), ("b".into(), &b)]) {
            Decision::Match { also, .. } => assert_eq!(also.len(), 1),
            other => panic!("{other:?}"),
        }
        assert!(e.link(&a, &b).merge);
    }

    #[test]
    fn explanations_serialise_without_values() {
        let e = Engine::builtin();
        let j = jennifer();
        let exp = e.explain(&j, &ClusterSummary::of(&j));
        let json = serde_json::to_string(&exp).unwrap();
        assert!(json.contains("\"field\":\"family\""));
        assert!(!json.contains("watkins") && !json.contains("6006535946"));
    }
}
