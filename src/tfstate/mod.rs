//! Terraform's state (format 4): read it into gantry's state, write gantry's
//! state out as one, so a team can move either way without recreating
//! anything and without a secret landing in a gantry file.

mod address;
mod error;
pub mod export;
pub mod format;
pub mod import;
pub mod origin;
pub mod parse;
pub mod reimport;
pub mod remote;
pub mod rules;
pub mod shapes;
pub mod source;
pub mod tflock;

pub use address::{instance_addr, tf_location};
pub use error::TfStateError;
pub use export::{export, Exported};
pub use format::TfState;
pub use import::{import, ConfigView, Imported, LeftOut};
pub use origin::{describe as describe_origin, origin_of};
pub use parse::{parse, read};
pub use source::{Location, S3Location};
pub use tflock::TfLock;
