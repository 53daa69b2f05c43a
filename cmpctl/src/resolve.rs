//! `cmpctl resolve`: offline identity resolution of a CSV file with the platform's engine, with
//! metrics against a truth column; `resolve train` fits a model; `resolve generate` makes labelled
//! test data. Nothing here prints a personal value: counts, scores and timings only.
use crate::BoxError;
use cmp_core::resolve::{self, engine::Engine, engine::BUILTIN_MODEL_PATH, model::Model, normalize::ColumnMap};
use cmp_lab::{self as lab, generate, incremental, metrics};
use std::path::Path;
use std::time::Instant;

fn column_map(map: Option<&str>) -> Result<ColumnMap, BoxError> {
    Ok(match map {
        Some(spec) => ColumnMap::default().with_overrides(spec)?,
        None => ColumnMap::default(),
    })
}

fn read(input: &Path, map: &ColumnMap, truth: Option<&str>) -> Result<lab::Dataset, BoxError> {
    let file = std::fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
    Ok(lab::read_csv(std::io::BufReader::with_capacity(1 << 20, file), map, truth)
        .map_err(|e| format!("{}: {e}", input.display()))?)
}

fn load_model(path: &Path) -> Result<Model, BoxError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Model::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// Peak resident set size of this process in MiB (VmHWM), when the platform reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `cmpctl resolve train`: fits a model on the input and writes it as JSON. Thresholds, guard
/// and blocking settings come from `base` (default: the builtin model).
pub fn train(
    input: &Path,
    model_out: &Path,
    map: Option<&str>,
    base: Option<&Path>,
    note: Option<&str>,
    truth: Option<&str>,
) -> Result<(), BoxError> {
    let started = Instant::now();
    let map = column_map(map)?;
    let ds = read(input, &map, truth)?;
    let base = match base {
        Some(p) => load_model(p)?,
        None => Engine::builtin().model().clone(),
    };
    let opts = lab::TrainOptions { note: note.unwrap_or_default().to_string(), ..Default::default() };
    let model = lab::train(&ds.people, base, &opts);
    model.validate()?;
    let mut json = serde_json::to_string_pretty(&model)?;
    json.push('\n');
    std::fs::write(model_out, json)?;
    eprintln!(
        "trained on {} records in {:.1}s: prior {:.5}, {} candidate pairs, EM {} iterations (last change {:.2e}); \
         TF tables {} given / {} family names; written to {}",
        ds.people.len(),
        started.elapsed().as_secs_f64(),
        model.prior,
        model.training.candidate_pairs,
        model.training.em_iterations,
        model.training.em_last_change,
        model.tf.given.values.len(),
        model.tf.family.values.len(),
        model_out.display()
    );
    let labelled = ds.truth.as_ref().map(|t| lab::labelled_m(&ds.people, t, &Engine::new(model.clone())));
    eprintln!(
        "  weights log2(m/u) per level{}",
        if labelled.is_some() { "  [with m measured on the labels]" } else { "" }
    );
    for (i, f) in model.fields.iter().enumerate() {
        let w: Vec<String> = f.m.iter().zip(&f.u).map(|(m, u)| format!("{:+.1}", (m / u).log2())).collect();
        let l = labelled.as_ref().map(|l| {
            let v: Vec<String> = l[i].iter().zip(&f.u).map(|(m, u)| format!("{:+.1}", (m / u).log2())).collect();
            format!("  [{}]", v.join(" "))
        });
        eprintln!("  {:<14} {}{}", f.name, w.join(" "), l.unwrap_or_default());
    }
    Ok(())
}

/// `cmpctl resolve generate`.
pub fn generate(people: usize, output: &Path, seed: u64, damage: f64) -> Result<(), BoxError> {
    let started = Instant::now();
    let g = generate::generate(&generate::Options { people, seed, damage, shuffle: true });
    let file = std::fs::File::create(output).map_err(|e| format!("{}: {e}", output.display()))?;
    generate::write_csv(std::io::BufWriter::with_capacity(1 << 20, file), &g.rows)?;
    eprintln!(
        "{} people, {} records (seed {seed}) written to {} in {:.1}s",
        g.people,
        g.rows.len(),
        output.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Options of `cmpctl resolve`.
pub struct RunOptions<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub truth: Option<&'a str>,
    pub model: Option<&'a Path>,
    pub map: Option<&'a str>,
    pub upper: Option<f64>,
    pub lower: Option<f64>,
    pub cluster: Option<f64>,
    pub incremental: bool,
    pub seed: u64,
}

fn print_scores(label: &str, s: &metrics::Scores) {
    println!(
        "{label:<18} pairwise P {:.4} R {:.4} F1 {:.4}   b-cubed P {:.4} R {:.4} F1 {:.4}",
        s.pairwise.precision, s.pairwise.recall, s.pairwise.f1, s.bcubed.precision, s.bcubed.recall, s.bcubed.f1
    );
}

/// `cmpctl resolve`: clusters the input and writes `id,cluster_id`.
pub fn run(o: RunOptions) -> Result<(), BoxError> {
    let started = Instant::now();
    let mut model = match o.model {
        Some(p) => load_model(p)?,
        None => Engine::builtin().model().clone(),
    };
    if let Some(t) = o.upper {
        model.thresholds.upper = t;
    }
    if let Some(t) = o.lower {
        model.thresholds.lower = t;
    }
    if let Some(t) = o.cluster {
        model.thresholds.cluster = t;
    }
    model.validate()?;
    let map = column_map(o.map)?;
    let ds = read(o.input, &map, o.truth)?;
    let t_read = started.elapsed();
    let mut engine = Engine::new(model.clone());
    let res = resolve::resolve(&ds.people, &mut engine);
    let t_resolve = started.elapsed();
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_path(o.output)
        .map_err(|e| format!("{}: {e}", o.output.display()))?;
    w.write_record([map.id.as_str(), "cluster_id"])?;
    for (id, &l) in ds.ids.iter().zip(&res.labels) {
        w.write_record([id.as_str(), ds.ids[l as usize].as_str()])?;
    }
    w.flush()?;
    drop(w);
    let elapsed = started.elapsed();
    let n = ds.people.len();
    println!(
        "model            {} (version {}, upper {} / lower {} / cluster {} bits)",
        o.model.map(|p| p.display().to_string()).unwrap_or_else(|| format!("builtin {BUILTIN_MODEL_PATH}")),
        model.version,
        model.thresholds.upper,
        model.thresholds.lower,
        model.thresholds.cluster
    );
    println!("records          {n}");
    println!("clusters         {}", res.clusters());
    let b = &res.blocking;
    println!(
        "blocking         {} keys, {} blocks, {} over {} records skipped ({} records in them); {} candidate pairs ({:.1} per record)",
        b.keys,
        b.blocks,
        b.oversized_blocks,
        model.max_block,
        b.oversized_records,
        b.candidate_pairs,
        b.candidate_pairs as f64 / n.max(1) as f64
    );
    println!(
        "decisions        {} match edges ({} by rule), {} pairs in the review band; {} merges, {} refused by the cluster check ({} checks)",
        res.edges, res.rule_edges, res.review_pairs, res.cluster.merges, res.cluster.refused, res.cluster.checks
    );
    let shared: Vec<String> =
        res.shared.fields.iter().map(|(f, v, r)| format!("{f} {v} values ({r} records)")).collect();
    println!("shared guard     neutralised: {}", shared.join(", "));
    println!(
        "time             {:.3}s (read + normalise {:.3}s, resolve {:.3}s, write {:.3}s)",
        elapsed.as_secs_f64(),
        t_read.as_secs_f64(),
        (t_resolve - t_read).as_secs_f64(),
        (elapsed - t_resolve).as_secs_f64()
    );
    let stages: Vec<String> = res.timings.iter().map(|(s, t)| format!("{s} {t:.3}s")).collect();
    println!(
        "resolve stages   {} (block keys {:.3}s, sort {:.3}s, pairs {:.3}s)",
        stages.join(", "),
        b.seconds_keys,
        b.seconds_sort,
        b.seconds_pairs
    );
    println!("records/s        {:.0}", n as f64 / elapsed.as_secs_f64());
    if let Some(mb) = peak_rss_mib() {
        println!("peak memory      {mb:.1} MiB (VmHWM)");
    }
    let truth = ds.truth.as_ref();
    if let Some(t) = truth {
        print_scores("batch vs truth", &metrics::score(&res.labels, t));
    }
    if o.incremental {
        incremental_run(&ds, &res, &model, o.seed, truth.map(|t| t.as_slice()));
    }
    // The process ends here: leave the records to the operating system rather than free them
    // one by one.
    std::mem::forget(ds);
    std::mem::forget(res);
    Ok(())
}

fn incremental_run(ds: &lab::Dataset, res: &resolve::Resolution, model: &Model, seed: u64, truth: Option<&[String]>) {
    let n = ds.people.len();
    {
        let order = incremental::shuffled(n, seed);
        let t0 = Instant::now();
        let mut inc = incremental::Incremental::new(Engine::new(model.clone()));
        let labels = inc.resolve_in_order(&ds.people, &order);
        let secs = t0.elapsed().as_secs_f64();
        let s = &inc.stats;
        println!(
            "incremental      {n} records in shuffled order (seed {}) in {secs:.3}s ({:.0} records/s): {} matched ({} by rule), {} review, {} new; {} matched several clusters → {} merges, {} refused; {} identifiers marked shared, {} keys saturated",
            seed,
            n as f64 / secs,
            s.matched,
            s.matched_by_rule,
            s.review,
            s.new,
            s.multi_matches,
            s.merges,
            s.refused_merges,
            s.shared_marked,
            s.saturated_keys
        );
        print_scores("incremental/batch", &metrics::score(&labels, &res.labels));
        if let Some(t) = truth {
            print_scores("incremental/truth", &metrics::score(&labels, t));
        }
    }
}
