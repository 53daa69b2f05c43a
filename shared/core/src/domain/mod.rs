//! Pure domain types: no I/O in here.
pub mod event;
pub mod ids;
pub mod meal;
pub mod money;
pub mod pii;
pub mod profile;

pub use ids::{CustomerId, EventRef};
