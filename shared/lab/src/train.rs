//! Training the identity-resolution model, and reading labelled CSV files for it: lab code that
//! `cmpctl resolve` and the tests use and no function links.
use cmp_core::resolve::compare::{self, FIELDS};
use cmp_core::resolve::engine::{self, Engine};
use cmp_core::resolve::model::{self, Model, TfTable};
use cmp_core::resolve::normalize::{self, ColumnMap, Person};
use cmp_core::resolve::{block, par_map, threads};
use std::collections::HashMap;

/// Records read from a CSV file.
#[derive(Debug, Default)]
pub struct Dataset {
    pub ids: Vec<String>,
    pub people: Vec<Person>,
    /// The truth column's value per record, when one was named.
    pub truth: Option<Vec<String>>,
}

/// Reads a CSV file with a header through the column mapping, normalising on all cores.
pub fn read_csv<R: std::io::Read>(input: R, map: &ColumnMap, truth: Option<&str>) -> Result<Dataset, String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| format!("no column `{name}` in the input"))
    };
    let id = col(&map.id)?;
    let fields: Vec<Option<usize>> = map.fields().iter().map(|f| f.map(col).transpose()).collect::<Result<_, _>>()?;
    let truth_col = truth.map(col).transpose()?;
    let mut ds = Dataset { truth: truth_col.map(|_| Vec::new()), ..Default::default() };
    const CHUNK: usize = 65_536;
    let mut chunk: Vec<csv::StringRecord> = Vec::with_capacity(CHUNK);
    let mut rec = csv::StringRecord::new();
    let mut done = false;
    while !done {
        chunk.clear();
        while chunk.len() < CHUNK {
            if !rdr.read_record(&mut rec).map_err(|e| e.to_string())? {
                done = true;
                break;
            }
            chunk.push(std::mem::take(&mut rec));
        }
        let people = par_map(&chunk, |r| {
            let get = |c: Option<usize>| c.and_then(|c| r.get(c)).unwrap_or("");
            let mut raw = [""; FIELDS];
            for (x, f) in raw.iter_mut().zip(&fields) {
                *x = get(*f);
            }
            normalize::person(raw)
        });
        ds.people.extend(people);
        for r in &chunk {
            ds.ids.push(r.get(id).unwrap_or("").to_string());
            if let (Some(t), Some(c)) = (ds.truth.as_mut(), truth_col) {
                t.push(r.get(c).unwrap_or("").to_string());
            }
        }
    }
    Ok(ds)
}

/// Training options.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Random pairs for u.
    pub random_pairs: usize,
    pub em_iterations: u32,
    /// Most values per term-frequency table, and the fewest records a value needs to enter it.
    pub tf_max_values: usize,
    pub tf_min_count: u32,
    pub note: String,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            random_pairs: 1_000_000,
            em_iterations: 200,
            tf_max_values: 2000,
            tf_min_count: 10,
            note: String::new(),
        }
    }
}

/// Comparison patterns (with counts) of the pairs of records sharing `key`, blocks larger than
/// `cap` skipped.
fn session_patterns(
    engine: &Engine,
    people: &[Person],
    aux: &[engine::RecordAux],
    cap: usize,
    key: impl Fn(&Person) -> Option<u64> + Sync,
) -> Vec<([u8; FIELDS], u64)> {
    let keyed: Vec<Option<u64>> = par_map(people, key);
    let mut entries: Vec<(u64, u32)> = keyed.iter().enumerate().filter_map(|(i, k)| k.map(|k| (k, i as u32))).collect();
    entries.sort_unstable();
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut s = 0;
    while s < entries.len() {
        let mut t = s + 1;
        while t < entries.len() && entries[t].0 == entries[s].0 {
            t += 1;
        }
        if t - s > 1 && t - s <= cap {
            blocks.push((s, t));
        }
        s = t;
    }
    let chunk = blocks.len().div_ceil(threads()).max(1);
    let maps: Vec<HashMap<[u8; FIELDS], u64>> = std::thread::scope(|sc| {
        let handles: Vec<_> = blocks
            .chunks(chunk)
            .map(|bs| {
                let entries = &entries;
                sc.spawn(move || {
                    let mut m: HashMap<[u8; FIELDS], u64> = HashMap::new();
                    for &(s, t) in bs {
                        for x in s..t {
                            for y in x + 1..t {
                                let (i, j) = (entries[x].1 as usize, entries[y].1 as usize);
                                let c = engine.compare_pair(&people[i], &aux[i], &people[j], &aux[j]);
                                *m.entry(c.levels).or_default() += 1;
                            }
                        }
                    }
                    m
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("training worker panicked")).collect()
    });
    let mut all: HashMap<[u8; FIELDS], u64> = HashMap::new();
    for m in maps {
        for (k, v) in m {
            *all.entry(k).or_default() += v;
        }
    }
    let mut v: Vec<_> = all.into_iter().collect();
    v.sort_unstable();
    v
}

/// Trains a model on unlabelled records:
/// * term-frequency tables from the names' counts;
/// * u from random pairs;
/// * m by expectation–maximisation in two sessions, as Splink does: pairs sharing a date of birth
///   (m of every field but the date), and pairs sharing the Soundex codes of both names (m of
///   every field but the names); a field estimated in both sessions takes the mean;
/// * the prior (share of matches among the candidate pairs blocking produces) by EM with m and u
///   fixed.
///
/// Thresholds, guard and blocking settings are kept from `base`.
pub fn train(people: &[Person], base: Model, opts: &TrainOptions) -> Model {
    use compare::{DOB, FAMILY, GIVEN};
    let mut model = base;
    // EM starts from the same point whatever the base: m strongly diagonal, prior 0.1.
    let init = Model::default();
    for (f, i) in model.fields.iter_mut().zip(&init.fields) {
        f.m.clone_from(&i.m);
    }
    model.prior = init.prior;
    // Term frequencies.
    let mut given: HashMap<String, u32> = HashMap::new();
    let mut family: HashMap<String, u32> = HashMap::new();
    for p in people {
        if !p.given_canon().is_empty() {
            *given.entry(p.given_canon().to_string()).or_default() += 1;
        }
        if !p.family().is_empty() {
            *family.entry(p.family().to_string()).or_default() += 1;
        }
    }
    model.tf.given = TfTable::from_counts(&given, opts.tf_max_values, opts.tf_min_count);
    model.tf.family = TfTable::from_counts(&family, opts.tf_max_values, opts.tf_min_count);
    // u from random pairs.
    let n = people.len();
    let samples = opts.random_pairs.min(n * n.saturating_sub(1) / 2);
    let random = model::random_pairs(n, samples);
    let random_levels = par_map(&random, |&(i, j)| compare::compare(&people[i as usize], &people[j as usize]).levels);
    model.estimate_u(&random_levels);
    drop(random_levels);
    // m by EM, one session per blocking rule.
    let mut engine = Engine::new(model.clone());
    engine.detect_shared(people);
    let aux: Vec<_> = par_map(people, |p| engine.aux(p));
    let cap = 200;
    let by_dob = session_patterns(&engine, people, &aux, cap, |p| {
        (p.dob().len() >= 7 && !engine.is_shared_identifier(DOB, p.dob())).then(|| engine::hash_str(p.dob()))
    });
    let by_names = session_patterns(&engine, people, &aux, cap, |p| {
        let (a, b) = (normalize::soundex(p.given_canon()), normalize::soundex(p.family()));
        (!a.is_empty() && !b.is_empty())
            .then(|| engine::hash_str(&if a <= b { format!("{a}{b}") } else { format!("{b}{a}") }))
    });
    let mut m_dob = model.clone();
    let (it1, ch1, _) = m_dob.estimate_m_em(&by_dob, &[DOB], opts.em_iterations);
    let mut m_names = model.clone();
    let (it2, ch2, _) = m_names.estimate_m_em(&by_names, &[GIVEN, FAMILY], opts.em_iterations);
    for f in 0..FIELDS {
        let (a, b) = (&m_dob.fields[f].m, &m_names.fields[f].m);
        model.fields[f].m = match f {
            DOB => b.clone(),
            GIVEN | FAMILY => a.clone(),
            _ => a.iter().zip(b).map(|(x, y)| (x + y) / 2.0).collect(),
        };
    }
    // The prior over the candidate pairs of the full blocking.
    let engine = {
        let mut e = Engine::new(model.clone());
        e.detect_shared(people);
        e
    };
    let (states, stats) = block::for_each_candidate_pair(
        &engine,
        people,
        model.max_block,
        HashMap::<[u8; FIELDS], u64>::new,
        |m, i, j| {
            let c = engine.compare_pair(&people[i as usize], &aux[i as usize], &people[j as usize], &aux[j as usize]);
            *m.entry(c.levels).or_default() += 1;
        },
    );
    let mut patterns: HashMap<[u8; FIELDS], u64> = HashMap::new();
    for s in states {
        for (k, v) in s {
            *patterns.entry(k).or_default() += v;
        }
    }
    let patterns: Vec<([u8; FIELDS], u64)> = patterns.into_iter().collect();
    model.estimate_prior(&patterns);
    for f in model.fields.iter_mut() {
        for x in f.m.iter_mut().chain(f.u.iter_mut()) {
            *x = ((*x * 1e9).round() / 1e9).max(1e-9);
        }
    }
    model.prior = (model.prior * 1e9).round() / 1e9;
    model.training = model::Training {
        records: n as u64,
        random_pairs: samples as u64,
        candidate_pairs: stats.candidate_pairs,
        em_iterations: it1.max(it2),
        em_last_change: ch1.max(ch2),
        note: opts.note.clone(),
    };
    model
}

/// Diagnostics: m per field and level measured on the true matches among the candidate pairs
/// (labels known), to compare with what EM estimated without them.
pub fn labelled_m(people: &[Person], truth: &[String], engine: &Engine) -> Vec<Vec<f64>> {
    let aux: Vec<_> = par_map(people, |p| engine.aux(p));
    let (states, _) = block::for_each_candidate_pair(
        engine,
        people,
        engine.model().max_block,
        || [[0u64; compare::MAX_LEVELS + 1]; FIELDS],
        |acc, i, j| {
            if truth[i as usize] == truth[j as usize] {
                let c =
                    engine.compare_pair(&people[i as usize], &aux[i as usize], &people[j as usize], &aux[j as usize]);
                for (f, &l) in c.levels.iter().enumerate() {
                    acc[f][l as usize] += 1;
                }
            }
        },
    );
    let mut acc = [[0u64; compare::MAX_LEVELS + 1]; FIELDS];
    for s in states {
        for f in 0..FIELDS {
            for l in 0..=compare::MAX_LEVELS {
                acc[f][l] += s[f][l];
            }
        }
    }
    (0..FIELDS)
        .map(|f| {
            let k = compare::LEVELS[f].1.len();
            let total: u64 = acc[f][1..=k].iter().sum();
            (1..=k).map(|l| (acc[f][l] as f64 + 0.5) / (total as f64 + 0.5 * k as f64)).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate;

    #[test]
    fn csv_is_read_through_the_column_mapping() {
        let data = "id,first,last,born\nr1,Bill,Jones,19700102\n";
        let map = ColumnMap::default()
            .with_overrides("id=id,given=first,family=last,dob=born,street_number=,address=,city=,postcode=,state=,national_id=,email=,phone=")
            .unwrap();
        let ds = read_csv(data.as_bytes(), &map, None).unwrap();
        assert_eq!(ds.ids, vec!["r1"]);
        assert_eq!(ds.people[0].given_canon(), "william");
        assert!(read_csv(data.as_bytes(), &ColumnMap::default(), None).is_err());
    }

    #[test]
    fn training_on_generated_people_learns_that_agreement_is_evidence() {
        let g = generate::generate(&generate::Options { people: 1500, seed: 11, ..Default::default() });
        let people: Vec<Person> = g.rows.iter().map(|r| normalize::person(r.fields())).collect();
        let model = train(&people, Model::default(), &TrainOptions { random_pairs: 50_000, ..Default::default() });
        model.validate().unwrap();
        let w = model.level_weights();
        for (f, wf) in w.iter().enumerate() {
            assert!(wf[1] > 2.0, "exact agreement on {} is evidence: {wf:?}", compare::LEVELS[f].0);
            let last = model.fields[f].m.len();
            assert!(wf[last] < 0.0, "disagreement on {} is evidence against: {wf:?}", compare::LEVELS[f].0);
        }
        assert!(model.prior > 0.0 && model.prior < 0.9);
        assert!(!model.tf.family.values.is_empty());
    }
}
