//! Pairwise and B-cubed precision, recall and F1 of a clustering against the truth, as defined in
//! the labelled data sets' README.
use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    fn new(precision: f64, recall: f64) -> Self {
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        Prf { precision, recall, f1 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    pub pairwise: Prf,
    pub bcubed: Prf,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub true_positive_pairs: u64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores `predicted[r]` against `truth[r]` (one label per record, same order).
pub fn score<P: Hash + Eq, T: Hash + Eq>(predicted: &[P], truth: &[T]) -> Scores {
    assert_eq!(predicted.len(), truth.len());
    let n = predicted.len();
    if n == 0 {
        return Scores::default();
    }
    let mut p_size: HashMap<&P, u64> = HashMap::new();
    let mut t_size: HashMap<&T, u64> = HashMap::new();
    let mut cell: HashMap<(&P, &T), u64> = HashMap::new();
    for (p, t) in predicted.iter().zip(truth) {
        *p_size.entry(p).or_default() += 1;
        *t_size.entry(t).or_default() += 1;
        *cell.entry((p, t)).or_default() += 1;
    }
    let tp: u64 = cell.values().map(|&c| pairs(c)).sum();
    let pp: u64 = p_size.values().map(|&c| pairs(c)).sum();
    let tt: u64 = t_size.values().map(|&c| pairs(c)).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    // B-cubed: every record of a cell (p, t) has |pred ∩ true| = cell size.
    let (mut bp, mut br) = (0.0, 0.0);
    for (&(p, t), &c) in &cell {
        bp += c as f64 * c as f64 / p_size[p] as f64;
        br += c as f64 * c as f64 / t_size[t] as f64;
    }
    Scores {
        pairwise: Prf::new(ratio(tp, pp), ratio(tp, tt)),
        bcubed: Prf::new(bp / n as f64, br / n as f64),
        predicted_pairs: pp,
        true_pairs: tt,
        true_positive_pairs: tp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_a_hand_made_example() {
        // Truth: {a,b,c} {d,e}. Predicted: {a,b} {c,d,e}.
        let truth = ["x", "x", "x", "y", "y"];
        let pred = [1, 1, 2, 2, 2];
        let s = score(&pred, &truth);
        // Pairs: true ab ac bc de (4); predicted ab cd ce de (4); correct ab de (2).
        assert_eq!((s.true_pairs, s.predicted_pairs, s.true_positive_pairs), (4, 4, 2));
        assert!((s.pairwise.precision - 0.5).abs() < 1e-12);
        assert!((s.pairwise.recall - 0.5).abs() < 1e-12);
        // B-cubed precision: a 1, b 1, c 1/3, d 2/3, e 2/3 → 11/3 / 5.
        assert!((s.bcubed.precision - 11.0 / 15.0).abs() < 1e-12);
        // B-cubed recall: a 2/3, b 2/3, c 1/3, d 1, e 1 → 11/3 / 5.
        assert!((s.bcubed.recall - 11.0 / 15.0).abs() < 1e-12);
        let perfect = score(&truth, &truth);
        assert_eq!(perfect.bcubed.f1, 1.0);
        assert_eq!(perfect.pairwise.f1, 1.0);
    }
}
