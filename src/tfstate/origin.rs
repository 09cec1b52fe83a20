//! The origin gantry records for a state imported from Terraform: its
//! lineage and serial, the Terraform version, and the file it was read from.

use crate::state::Origin;

/// The origin of a state imported from `tf`, read from `source`.
pub fn origin_of(tf: &super::format::TfState, source: &str) -> Origin {
    Origin {
        tool: "terraform".into(),
        source: source.to_string(),
        lineage: tf.lineage.clone(),
        serial: tf.serial,
        tool_version: Some(tf.terraform_version.clone()),
        imported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// How the import names its origin to the user.
pub fn describe(origin: &Origin) -> String {
    format!(
        "Terraform {} state {} (lineage {}, serial {})",
        origin.tool_version.as_deref().unwrap_or("(version unknown)"),
        origin.source,
        origin.lineage,
        origin.serial
    )
}
