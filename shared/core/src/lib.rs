//! The pure domain of the Customer Management Platform: types and rules that need no AWS service,
//! no async runtime and no Lambda crate. `make test` checks that from `cargo metadata`
//! (`scripts/check_layers.py`): a dependency on an AWS SDK, tokio or a Lambda crate fails it.
//!
//! * [`domain`]: parse-don't-validate identifiers and personal data, the events, the golden
//!   profile and survivorship.
//! * [`resolve`]: the identity-resolution engine (normalisation, comparison, the Fellegi–Sunter
//!   model, blocking, clustering); [`matching`] turns observations and golden profiles into its
//!   records.
//! * [`compensation`]: EU261 / UK261 assessment of a journey and a disruption, with reference data.
//! * [`pci`]: card numbers out of free text.

pub mod compensation;
pub mod domain;
pub mod matching;
pub mod pci;
pub mod resolve;
