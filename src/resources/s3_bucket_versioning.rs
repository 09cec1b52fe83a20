//! `aws_s3_bucket_versioning`: the versioning state of a bucket. S3 cannot
//! turn versioning off once it was on, only suspend it; like the Terraform
//! provider, `Disabled` means "never enabled, or suspended".

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketVersioningStatus, MfaDelete, VersioningConfiguration};
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{complete, copy_attrs, found, get_nonempty_str, get_str, one_block, require_str, single_block};
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_versioning";
const BLOCK: &str = "versioning_configuration";
const ENABLED: &str = "Enabled";
const SUSPENDED: &str = "Suspended";
const DISABLED: &str = "Disabled";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String).force_new(),
            Attr::optional("expected_bucket_owner", Ty::String).force_new(),
        ],
    )
    .blocks(vec![BlockSchema::single(
        BLOCK,
        vec![Attr::required("status", Ty::String), Attr::optional_computed("mfa_delete", Ty::String)],
    )
    .min(1)])
    .omit(
        "mfa",
        "MFA delete needs the bucket owner's MFA device serial and a current one-time code in the request, which \
         an unattended apply cannot give (and moto does not check it)",
    )
});

pub struct S3BucketVersioning;

#[async_trait]
impl ResourceType for S3BucketVersioning {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "bucket").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            let owner = get_nonempty_str(&req.prior, "expected_bucket_owner");
            let Some((live, mfa_delete)) = found(get_versioning(ctx.aws, &req.id, owner).await, &[])? else {
                return Ok(None);
            };
            let prior_status = single_block(&req.prior, BLOCK).and_then(|b| get_str(b, "status"));
            // A `Disabled` stack suspends a bucket that was once versioned;
            // reporting that as `Suspended` would be a diff forever.
            let status = match live {
                None => DISABLED,
                Some(SUSPENDED) if prior_status == Some(DISABLED) => DISABLED,
                Some(status) => status,
            };
            Ok::<_, ProviderError>(Some(attrs_for(&req.id, &req.prior, status, mfa_delete.as_deref())))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let (status, mfa_delete) = desired_config(desired)?;
        let owner = get_nonempty_str(desired, "expected_bucket_owner");
        let was_versioned =
            if status == DISABLED { get_versioning(aws, bucket, owner).await?.0.is_some() } else { false };
        apply(aws, bucket, owner, status, mfa_delete, was_versioned).await?;
        Ok(Created { id: bucket.to_string(), attrs: attrs_for(bucket, desired, status, mfa_delete) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let (status, mfa_delete) = desired_config(desired)?;
        let owner = get_nonempty_str(desired, "expected_bucket_owner");
        let prior_status = single_block(prior, BLOCK).and_then(|b| get_str(b, "status"));
        let was_versioned = prior_status.is_some_and(|s| s != DISABLED);
        apply(aws, id, owner, status, mfa_delete, was_versioned).await?;
        Ok(attrs_for(id, desired, status, mfa_delete))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let prior_status = single_block(prior, BLOCK).and_then(|b| get_str(b, "status"));
        if prior_status != Some(ENABLED) {
            return Ok(());
        }
        let owner = get_nonempty_str(prior, "expected_bucket_owner");
        found(put_versioning(aws, id, owner, SUSPENDED, None).await, &[]).map(|_| ())
    }
}

/// The configured status (validated) and MFA delete setting.
fn desired_config(desired: &Attrs) -> Result<(&str, Option<&str>), ProviderError> {
    let block = single_block(desired, BLOCK)
        .ok_or_else(|| ProviderError::Invalid(format!("{TYPE_NAME}: a \"{BLOCK}\" block is required")))?;
    let status = require_str(block, "status", TYPE_NAME)?;
    if ![ENABLED, SUSPENDED, DISABLED].contains(&status) {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"status\" must be one of {ENABLED}, {SUSPENDED}, {DISABLED}, not {status:?}"
        )));
    }
    Ok((status, get_nonempty_str(block, "mfa_delete")))
}

/// Puts `status`, except that `Disabled` leaves a never-versioned bucket
/// alone and suspends one that was versioned.
async fn apply(
    aws: &AwsCtx,
    bucket: &str,
    owner: Option<&str>,
    status: &str,
    mfa_delete: Option<&str>,
    was_versioned: bool,
) -> Result<(), ProviderError> {
    match status {
        DISABLED if !was_versioned => Ok(()),
        DISABLED => put_versioning(aws, bucket, owner, SUSPENDED, mfa_delete).await,
        status => put_versioning(aws, bucket, owner, status, mfa_delete).await,
    }
}

fn attrs_for(bucket: &str, args: &Attrs, status: &str, mfa_delete: Option<&str>) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(bucket));
    attrs.insert("bucket".into(), Value::from(bucket));
    copy_attrs(&mut attrs, args, &["expected_bucket_owner"]);
    let mut block = Attrs::new();
    block.insert("status".into(), Value::from(status));
    block.insert("mfa_delete".into(), Value::from(mfa_delete));
    attrs.insert(BLOCK.into(), one_block(block));
    complete(&SCHEMA, attrs)
}

/// The live status (`None` when versioning was never enabled) and MFA delete.
async fn get_versioning(
    aws: &AwsCtx,
    bucket: &str,
    owner: Option<&str>,
) -> Result<(Option<&'static str>, Option<String>), ProviderError> {
    aws.count_call();
    let out = aws
        .s3
        .get_bucket_versioning()
        .bucket(bucket)
        .set_expected_bucket_owner(owner.map(str::to_string))
        .send()
        .await
        .classify("s3:GetBucketVersioning")?;
    let status = match out.status() {
        Some(BucketVersioningStatus::Enabled) => Some(ENABLED),
        Some(BucketVersioningStatus::Suspended) => Some(SUSPENDED),
        _ => None,
    };
    Ok((status, out.mfa_delete().map(|m| m.as_str().to_string())))
}

async fn put_versioning(
    aws: &AwsCtx,
    bucket: &str,
    owner: Option<&str>,
    status: &str,
    mfa_delete: Option<&str>,
) -> Result<(), ProviderError> {
    let config = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::from(status))
        .set_mfa_delete(mfa_delete.map(MfaDelete::from))
        .build();
    aws.count_call();
    aws.s3
        .put_bucket_versioning()
        .bucket(bucket)
        .set_expected_bucket_owner(owner.map(str::to_string))
        .versioning_configuration(config)
        .send()
        .await
        .classify("s3:PutBucketVersioning")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_is_validated() {
        let ok = json!({"versioning_configuration": [{"status": "Enabled", "mfa_delete": null}]});
        assert_eq!(desired_config(ok.as_object().unwrap_or(&Attrs::new())).ok(), Some((ENABLED, None)));
        let bad = json!({"versioning_configuration": [{"status": "On"}]});
        assert!(desired_config(bad.as_object().unwrap_or(&Attrs::new())).is_err());
        let missing = json!({"versioning_configuration": []});
        assert!(desired_config(missing.as_object().unwrap_or(&Attrs::new())).is_err());
    }
}
