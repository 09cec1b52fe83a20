//! Where an imported state came from: Terraform's lineage and serial, and
//! the file or bucket it was read from. Kept here until `State` has a field
//! for it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TerraformOrigin {
    pub lineage: String,
    pub serial: u64,
    pub terraform_version: String,
    /// The path or `s3://bucket/key` read.
    pub source: String,
    pub imported_at: String,
}

impl TerraformOrigin {
    pub fn of(tf: &super::format::TfState, source: &str) -> TerraformOrigin {
        TerraformOrigin {
            lineage: tf.lineage.clone(),
            serial: tf.serial,
            terraform_version: tf.terraform_version.clone(),
            source: source.to_string(),
            imported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

impl std::fmt::Display for TerraformOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Terraform {} state {} (lineage {}, serial {})",
            self.terraform_version, self.source, self.lineage, self.serial
        )
    }
}
