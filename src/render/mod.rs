//! Plan renderings: text for people at a terminal, JSON for machines,
//! Markdown for pull requests.

pub mod json;
pub mod markdown;
pub mod terraform_json;
pub mod text;

#[cfg(test)]
mod tests;
