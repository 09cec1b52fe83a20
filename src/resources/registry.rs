//! The list of supported resource types and data sources.

use super::{DataSource, ResourceType};

pub(super) static RESOURCES: &[&(dyn ResourceType + 'static)] = &[];

pub(super) static DATA_SOURCES: &[&(dyn DataSource + 'static)] = &[];
