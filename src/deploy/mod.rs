//! `gantry deploy`: from an applied environment to a running, health-checked
//! app, with rollback to the last healthy release. See docs/deploy.md.

pub mod frontend;
pub mod transport;
