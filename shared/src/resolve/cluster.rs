//! Clustering without chaining: candidate pairs above the edge threshold are taken strongest
//! first, and two clusters merge only when the average score over *all* their cross pairs (each
//! compared afresh) clears the link threshold, so one weak link cannot pull in a stranger.

/// At most this many cross pairs are compared to decide one merge.
const MAX_LINK_COMPARISONS: usize = 1024;

/// Assigns each of `n` records a cluster label (the smallest record index in its cluster).
///
/// `edges` are `(i, j, score)` candidate pairs; `score(i, j)` scores any pair.
pub fn cluster(
    n: usize,
    edges: &mut Vec<(u32, u32, f32)>,
    edge_threshold: f64,
    link_threshold: f64,
    score: impl Fn(u32, u32) -> f64,
) -> Vec<u32> {
    edges.retain(|e| e.2 as f64 >= edge_threshold);
    edges.sort_unstable_by(|x, y| y.2.total_cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    let mut label: Vec<u32> = (0..n as u32).collect();
    let mut members: Vec<Vec<u32>> = (0..n as u32).map(|i| vec![i]).collect();
    for &(a, b, s) in edges.iter() {
        let (ca, cb) = (label[a as usize], label[b as usize]);
        if ca == cb {
            continue;
        }
        let (ma, mb) = (&members[ca as usize], &members[cb as usize]);
        let ok = if ma.len() == 1 && mb.len() == 1 {
            s as f64 >= link_threshold
        } else {
            // Average over all cross pairs; for very large clusters, over an even sample of them.
            let total = ma.len() * mb.len();
            let step = total.div_ceil(MAX_LINK_COMPARISONS);
            let (mut sum, mut k) = (0.0, 0usize);
            for idx in (0..total).step_by(step) {
                let (x, y) = (ma[idx / mb.len()], mb[idx % mb.len()]);
                sum += if (x, y) == (a, b) || (y, x) == (a, b) { s as f64 } else { score(x, y) };
                k += 1;
            }
            sum / k as f64 >= link_threshold
        };
        if !ok {
            continue;
        }
        let (big, small) = if ma.len() >= mb.len() { (ca, cb) } else { (cb, ca) };
        let moved = std::mem::take(&mut members[small as usize]);
        for &x in &moved {
            label[x as usize] = big;
        }
        members[big as usize].extend(moved);
    }
    // Canonical labels: the smallest member.
    let mut out = vec![0u32; n];
    for m in members.iter().filter(|m| !m.is_empty()) {
        let min = *m.iter().min().expect("non-empty");
        for &x in m {
            out[x as usize] = min;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weak_link_does_not_chain_a_stranger_in() {
        // A~B strong, B~C weak but above the edge threshold, A~C strongly against.
        let score = |x: u32, y: u32| match (x.min(y), x.max(y)) {
            (0, 1) => 30.0,
            (1, 2) => 5.0,
            (0, 2) => -25.0,
            _ => -40.0,
        };
        let mut edges = vec![(0, 1, 30.0), (1, 2, 5.0)];
        let labels = cluster(3, &mut edges, 4.0, 0.0, score);
        assert_eq!(labels[0], labels[1]);
        assert_ne!(labels[1], labels[2]);
    }

    #[test]
    fn consistent_pairs_form_one_cluster() {
        let score = |_: u32, _: u32| 10.0;
        let mut edges = vec![(0, 1, 10.0), (1, 2, 10.0), (3, 4, 2.0)];
        let labels = cluster(5, &mut edges, 4.0, 0.0, score);
        assert_eq!(labels, vec![0, 0, 0, 3, 4]);
    }
}
