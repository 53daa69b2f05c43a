//! Offline identity resolution: which records describe the same person.
//!
//! Records are read through a [`normalize::ColumnMap`], normalised ([`normalize`]), blocked into
//! candidate pairs ([`block`]), compared field by field ([`compare`]), scored by a Fellegi–Sunter
//! model trained on the data itself ([`model`]) and clustered without chaining ([`cluster`]).
//! [`metrics`] scores a clustering against known truth.
pub mod block;
pub mod cluster;
pub mod compare;
pub mod metrics;
pub mod model;
pub mod normalize;

use compare::{compare, Comparison, FIELDS};
use model::{Model, TermFreq};
use normalize::{ColumnMap, Person};

/// Records read from a CSV file.
#[derive(Debug, Default)]
pub struct Dataset {
    pub ids: Vec<String>,
    pub people: Vec<Person>,
    /// The truth column's value per record, when one was named.
    pub truth: Option<Vec<String>>,
}

/// Reads a CSV file with a header through the column mapping.
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
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec).map_err(|e| e.to_string())? {
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("");
        let mut raw = [""; FIELDS];
        for (r, f) in raw.iter_mut().zip(&fields) {
            *r = get(*f);
        }
        ds.ids.push(get(Some(id)).to_string());
        ds.people.push(normalize::person(raw));
        if let (Some(t), Some(c)) = (ds.truth.as_mut(), truth_col) {
            t.push(rec.get(c).unwrap_or("").to_string());
        }
    }
    Ok(ds)
}

fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8)
}

/// Runs `f` over chunks of `items` on all cores, concatenating the results in order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
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

/// Trains a model on unlabelled records: u from random pairs, m and the prior by EM over the
/// candidate pairs. Thresholds are kept from `base`.
pub fn train(people: &[Person], base: Model) -> Model {
    let mut model = base;
    let n = people.len();
    let random = model::random_pairs(n, 300_000.min(n * n.saturating_sub(1) / 2));
    let random_levels = par_map(&random, |&(i, j)| compare(&people[i as usize], &people[j as usize]).levels);
    model.estimate_u(&random_levels);
    let pairs = block::candidate_pairs(people, block::DEFAULT_MAX_BLOCK);
    let comparisons: Vec<[u8; FIELDS]> =
        par_map(&pairs, |&(i, j)| compare(&people[i as usize], &people[j as usize]).levels);
    model.estimate_m_anchored(&comparisons, 16.0, 4);
    model
}

/// The result of resolving a set of records.
#[derive(Debug)]
pub struct Resolution {
    /// Cluster label per record (the index of the cluster's first record).
    pub labels: Vec<u32>,
    pub candidate_pairs: usize,
    pub edges: usize,
    /// The candidate pairs, kept for diagnostics when asked.
    pub pairs: Vec<(u32, u32)>,
}

/// Clusters records with a trained model.
pub fn resolve(people: &[Person], model: &Model, keep_pairs: bool) -> Resolution {
    let tf = TermFreq::new(people);
    let weights = model.weights();
    let pairs = block::candidate_pairs(people, block::DEFAULT_MAX_BLOCK);
    let score = |i: u32, j: u32| {
        let (a, b) = (&people[i as usize], &people[j as usize]);
        let c: Comparison = compare(a, b);
        weights.score(&c, a, b, &tf)
    };
    let mut edges: Vec<(u32, u32, f32)> = par_map(&pairs, |&(i, j)| (i, j, score(i, j) as f32));
    edges.retain(|e| e.2 as f64 >= model.edge_threshold);
    let n_edges = edges.len();
    let labels = cluster::cluster(people.len(), &mut edges, model.edge_threshold, model.link_threshold, score);
    Resolution {
        labels,
        candidate_pairs: pairs.len(),
        edges: n_edges,
        pairs: if keep_pairs { pairs } else { Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: [&str; FIELDS]) -> Person {
        normalize::person(fields)
    }

    #[test]
    fn people_sharing_only_a_surname_are_not_merged() {
        let people = vec![
            rec([
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
            ]),
            rec([
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
            ]),
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
        let res = resolve(&people, &Model::default(), false);
        assert_eq!(res.labels[0], res.labels[1], "identical records merge");
        assert_ne!(res.labels[0], res.labels[2], "a shared surname alone does not merge");
    }

    #[test]
    fn csv_is_read_through_the_column_mapping() {
        let data = "id,first,last,born\nr1,Bill,Jones,19700102\n";
        let map = ColumnMap::default()
            .with_overrides("id=id,given=first,family=last,dob=born,street_number=,address=,city=,postcode=,state=,national_id=,email=,phone=")
            .unwrap();
        let ds = read_csv(data.as_bytes(), &map, None).unwrap();
        assert_eq!(ds.ids, vec!["r1"]);
        assert_eq!(ds.people[0].given_canon, "william");
        assert!(read_csv(data.as_bytes(), &ColumnMap::default(), None).is_err());
    }
}
