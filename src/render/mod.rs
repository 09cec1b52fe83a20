//! Plan renderings: text for people at a terminal, JSON for machines.

pub mod json;
pub mod text;
