//! What the AWS provider (5.100.0) expects in a state, per type: recorded by
//! scripts/record-tfstate-fixtures.sh from `terraform providers schema
//! -json` and from states Terraform wrote (provider_shapes.json).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Shapes {
    pub terraform_version: String,
    pub provider: String,
    pub types: BTreeMap<String, Shape>,
}

/// How the provider declares an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Set by the configuration only.
    Argument,
    OptionalComputed,
    Computed,
    Sensitive,
    /// A nested block: a list or set of objects in state.
    Block,
    /// A block that is one object or null in state (`timeouts`).
    SingleBlock,
}

#[derive(Debug, Deserialize)]
pub struct Shape {
    pub schema_version: u64,
    /// Every top-level attribute and block, by name.
    pub attributes: BTreeMap<String, Kind>,
    /// The values Terraform wrote for arguments (defaults) in a recorded
    /// state; only for types the fixtures cover.
    #[serde(default)]
    pub template: BTreeMap<String, serde_json::Value>,
    /// The provider's `private` data as it writes it for a new object:
    /// base64 of JSON holding its default timeouts and schema version.
    #[serde(default)]
    pub private: Option<String>,
}

pub static SHAPES: LazyLock<Shapes> = LazyLock::new(|| {
    serde_json::from_str(include_str!("provider_shapes.json")).expect("provider_shapes.json is valid (unit-tested)")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aws_type_gantry_supports_has_a_shape() {
        for name in crate::resources::resource_type_names() {
            if name.starts_with("aws_") {
                assert!(SHAPES.types.contains_key(name), "no provider shape for {name}");
            }
        }
        assert_eq!(SHAPES.types["aws_instance"].schema_version, 1);
        assert_eq!(SHAPES.types["aws_instance"].attributes["user_data"], Kind::OptionalComputed);
    }
}
