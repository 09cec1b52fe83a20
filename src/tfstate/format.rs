//! Terraform's state file, format version 4 (Terraform 0.12 to 1.11 and
//! OpenTofu write it): the parts gantry reads and writes. Unknown fields
//! (`check_results`, `create_before_destroy`, ...) are skipped on read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The only format this gantry reads and writes.
pub const FORMAT_VERSION: u64 = 4;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TfState {
    pub version: u64,
    pub terraform_version: String,
    pub serial: u64,
    pub lineage: String,
    #[serde(default)]
    pub outputs: BTreeMap<String, TfOutput>,
    #[serde(default)]
    pub resources: Vec<TfResource>,
    /// Terraform writes `null` when no check ran; kept so a written file has
    /// every top-level field Terraform's own files have.
    #[serde(default)]
    pub check_results: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TfOutput {
    pub value: serde_json::Value,
    #[serde(rename = "type")]
    pub ty: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TfResource {
    /// `module.a["x"].module.b`; absent for the root module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// `managed` or `data`.
    pub mode: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub name: String,
    pub provider: String,
    pub instances: Vec<TfInstance>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TfInstance {
    /// A number under `count`, a string under `for_each`, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_key: Option<serde_json::Value>,
    /// `tainted` when Terraform would replace the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Set on an object a create_before_destroy replace left behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    pub schema_version: u64,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Paths of sensitive values: Terraform 1.11 writes a list of paths,
    /// each a list of steps (`{"type": "get_attr", "value": "value"}`).
    #[serde(default)]
    pub sensitive_attributes: serde_json::Value,
    /// The provider's opaque per-object data (base64 of JSON: timeouts,
    /// schema migration markers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
}

impl TfInstance {
    /// Top-level attribute names Terraform marks sensitive.
    pub fn sensitive_names(&self) -> Vec<String> {
        let Some(paths) = self.sensitive_attributes.as_array() else { return Vec::new() };
        let mut names: Vec<String> = paths
            .iter()
            .filter_map(|path| path.as_array()?.first()?.get("value")?.as_str().map(str::to_string))
            .collect();
        names.sort();
        names.dedup();
        names
    }
}
