//! The id of the S3 bucket sub-resources that take `expected_bucket_owner`
//! (ACL, lifecycle, logging, CORS, website): the provider's `BUCKET` or
//! `BUCKET,EXPECTED_BUCKET_OWNER`, so that `import` works with the ids
//! Terraform users already have. Bucket names cannot contain a comma.

use super::support::get_nonempty_str;
use super::Attrs;
use crate::aws::ProviderError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketId {
    pub bucket: String,
    pub expected_owner: Option<String>,
}

impl BucketId {
    pub fn parse(type_name: &str, id: &str) -> Result<BucketId, ProviderError> {
        let mut parts = id.split(',');
        let bucket = parts.next().unwrap_or_default();
        let owner = parts.next();
        if bucket.is_empty() || owner.is_some_and(str::is_empty) || parts.next().is_some() {
            return Err(ProviderError::Invalid(format!(
                "{type_name}: id {id:?} is not of the form BUCKET or BUCKET,EXPECTED_BUCKET_OWNER"
            )));
        }
        Ok(BucketId { bucket: bucket.to_string(), expected_owner: owner.map(str::to_string) })
    }

    /// From the `bucket` and `expected_bucket_owner` arguments.
    pub fn from_args(args: &Attrs) -> Option<BucketId> {
        let bucket = get_nonempty_str(args, "bucket")?;
        let owner = get_nonempty_str(args, "expected_bucket_owner");
        Some(BucketId { bucket: bucket.to_string(), expected_owner: owner.map(str::to_string) })
    }

    pub fn owner(&self) -> Option<String> {
        self.expected_owner.clone()
    }
}

impl std::fmt::Display for BucketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.expected_owner {
            Some(owner) => write!(f, "{},{owner}", self.bucket),
            None => f.write_str(&self.bucket),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_with_and_without_owner() {
        let plain = BucketId::parse("t", "logs").ok();
        assert_eq!(plain, Some(BucketId { bucket: "logs".into(), expected_owner: None }));
        let owned = BucketId::parse("t", "logs,123456789012").ok();
        assert_eq!(owned.as_ref().map(|i| i.to_string()).as_deref(), Some("logs,123456789012"));
        assert!(BucketId::parse("t", "").is_err());
        assert!(BucketId::parse("t", "a,").is_err());
        assert!(BucketId::parse("t", "a,b,c").is_err());
    }
}
