//! `cmpctl resolve`: offline identity resolution of a CSV file, with metrics against a truth column.
use crate::BoxError;
use cmp_shared::resolve::{self, metrics, model::Model, normalize::ColumnMap};
use std::path::Path;
use std::time::Instant;

fn column_map(map: Option<&str>) -> Result<ColumnMap, BoxError> {
    Ok(match map {
        Some(spec) => ColumnMap::default().with_overrides(spec)?,
        None => ColumnMap::default(),
    })
}

fn read(input: &Path, map: &ColumnMap, truth: Option<&str>) -> Result<resolve::Dataset, BoxError> {
    let file = std::fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
    Ok(resolve::read_csv(std::io::BufReader::new(file), map, truth).map_err(|e| format!("{}: {e}", input.display()))?)
}

fn load_model(path: &Path) -> Result<Model, BoxError> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let model: Model = serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    model.validate().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(model)
}

/// Peak resident set size of this process in MiB (VmHWM), when the platform reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `cmpctl resolve train`: fits a model on the input and writes it as JSON.
pub fn train(input: &Path, model_out: &Path, map: Option<&str>) -> Result<(), BoxError> {
    let map = column_map(map)?;
    let ds = read(input, &map, None)?;
    let model = resolve::train(&ds.people, Model::default());
    std::fs::write(model_out, serde_json::to_vec_pretty(&model)?)?;
    eprintln!(
        "trained on {} records; prior {:.4}; model written to {}",
        ds.people.len(),
        model.prior,
        model_out.display()
    );
    Ok(())
}

/// `cmpctl resolve`: clusters the input and writes `id,cluster_id`.
pub fn run(
    input: &Path,
    output: &Path,
    truth: Option<&str>,
    model: Option<&Path>,
    map: Option<&str>,
    edge_threshold: Option<f64>,
    link_threshold: Option<f64>,
) -> Result<(), BoxError> {
    let started = Instant::now();
    let map = column_map(map)?;
    let ds = read(input, &map, truth)?;
    let t_read = started.elapsed();
    let mut model = match model {
        Some(p) => load_model(p)?,
        None => resolve::train(&ds.people, Model::default()),
    };
    if let Some(t) = edge_threshold {
        model.edge_threshold = t;
    }
    if let Some(t) = link_threshold {
        model.link_threshold = t;
    }
    let t_train = started.elapsed();
    let res = resolve::resolve(&ds.people, &model, truth.is_some());
    let t_resolve = started.elapsed();
    let mut w = csv::Writer::from_path(output).map_err(|e| format!("{}: {e}", output.display()))?;
    w.write_record([map.id.as_str(), "cluster_id"])?;
    for (id, &l) in ds.ids.iter().zip(&res.labels) {
        w.write_record([id.as_str(), ds.ids[l as usize].as_str()])?;
    }
    w.flush()?;
    let elapsed = started.elapsed();
    let n = ds.people.len();
    let clusters = res.labels.iter().enumerate().filter(|(i, &l)| *i as u32 == l).count();
    println!("records          {n}");
    println!("clusters         {clusters}");
    println!("candidate pairs  {}  (edges above threshold {})", res.candidate_pairs, res.edges);
    println!(
        "time             {:.3}s (read {:.3}s, train {:.3}s, resolve {:.3}s)",
        elapsed.as_secs_f64(),
        t_read.as_secs_f64(),
        (t_train - t_read).as_secs_f64(),
        (t_resolve - t_train).as_secs_f64()
    );
    println!("records/s        {:.0}", n as f64 / elapsed.as_secs_f64());
    if let Some(mb) = peak_rss_mib() {
        println!("peak memory      {mb:.1} MiB (VmHWM)");
    }
    if let Some(t) = &ds.truth {
        let s = metrics::score(&res.labels, t);
        // Blocking recall: true pairs that are candidate pairs.
        let found = res.pairs.iter().filter(|&&(i, j)| t[i as usize] == t[j as usize]).count();
        println!(
            "blocking recall  {:.4} ({found} of {} true pairs are candidates)",
            found as f64 / s.true_pairs.max(1) as f64,
            s.true_pairs
        );
        println!("pairwise         P {:.4}  R {:.4}  F1 {:.4}", s.pairwise.precision, s.pairwise.recall, s.pairwise.f1);
        println!("b-cubed          P {:.4}  R {:.4}  F1 {:.4}", s.bcubed.precision, s.bcubed.recall, s.bcubed.f1);
    }
    Ok(())
}
