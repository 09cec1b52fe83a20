//! Why a Terraform state file could not be used. Every variant says which
//! file and leaves it untouched; none carries an attribute value.

/// Errors reading or mapping a Terraform state.
#[derive(Debug, thiserror::Error)]
pub enum TfStateError {
    #[error("cannot read Terraform state {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("Terraform state {path} ends early (line {line}, column {column}): the file is truncated")]
    Truncated { path: String, line: usize, column: usize },
    #[error("Terraform state {path} is not valid JSON (line {line}, column {column}: {message})")]
    Corrupt { path: String, line: usize, column: usize, message: String },
    #[error("Terraform state {path} is not in state format 4 (line {line}, column {column}: {message})")]
    Shape { path: String, line: usize, column: usize, message: String },
    #[error("Terraform state {path} has format {found}, which is newer than this gantry reads (format 4, Terraform 0.12 to 1.11)")]
    Newer { path: String, found: u64 },
    #[error("Terraform state {path} has format {found}, written by Terraform before 0.12; run `terraform apply` with Terraform 1.x once to upgrade it (gantry reads format 4)")]
    Older { path: String, found: u64 },
    #[error("{path} is a gantry state file, not a Terraform state")]
    GantryState { path: String },
    #[error("{path} is not a Terraform state: it has no \"version\", \"lineage\" and \"terraform_version\"")]
    Foreign { path: String },
    #[error("Terraform state {path}: resource {address:?}: {reason}")]
    Address { path: String, address: String, reason: String },
    #[error("Terraform state {location}: {source}")]
    Remote { location: String, source: crate::aws::ProviderError },
    #[error("there is no Terraform state at {location} (no such object)")]
    NoObject { location: String },
    #[error(
        "Terraform state {location} does not match the digest Terraform recorded for it (DynamoDB table {table}, item {item}): \
         it is being written, or S3 answered with an older copy"
    )]
    Digest { location: String, table: String, item: String },
    #[error("Terraform's state lock is held ({0})")]
    Locked(Box<super::tflock::Holder>),
}
