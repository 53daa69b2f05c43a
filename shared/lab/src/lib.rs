//! The identity-resolution lab: what researchers and operators use to build and judge the matching
//! engine of [`cmp_core::resolve`], and what no Lambda function links.
//!
//! * [`train`]: reading labelled CSV files, training the Fellegi–Sunter model (EM), diagnostics;
//! * [`generate`]: seeded generator of labelled person records with realistic damage;
//! * [`metrics`]: pairwise and B-cubed precision, recall and F1 of a clustering against truth;
//! * [`incremental`]: resolving records one at a time through the streaming API, to compare with
//!   the batch answer.

pub mod generate;
pub mod incremental;
pub mod metrics;
pub mod train;

pub use train::{labelled_m, read_csv, train, Dataset, TrainOptions};
