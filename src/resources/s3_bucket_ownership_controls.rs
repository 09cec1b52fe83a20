//! `aws_s3_bucket_ownership_controls`: who owns the objects written to a
//! bucket (`BucketOwnerEnforced` turns ACLs off). Id: the bucket name.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule};
use futures::future::try_join_all;
use serde_json::{json, Value};

use super::support::{built, complete, found, get_nonempty_str, require_str, single_block};
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_ownership_controls";
/// GetBucketOwnershipControls' answer for a bucket without them.
const NOT_CONFIGURED: &str = "OwnershipControlsNotFoundError";
const OWNERSHIPS: [&str; 3] = ["BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(TYPE_NAME, vec![Attr::computed("id", Ty::String), Attr::required("bucket", Ty::String).force_new()])
        .blocks(vec![BlockSchema::single("rule", vec![Attr::required("object_ownership", Ty::String)]).min(1)])
});

pub struct S3BucketOwnershipControls;

#[async_trait]
impl ResourceType for S3BucketOwnershipControls {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "bucket").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            ctx.aws.count_call();
            let result = ctx
                .aws
                .s3
                .get_bucket_ownership_controls()
                .bucket(&req.id)
                .send()
                .await
                .classify("s3:GetBucketOwnershipControls");
            let Some(out) = found(result, &[NOT_CONFIGURED])? else { return Ok(None) };
            let ownership = out
                .ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|rule| rule.object_ownership().as_str().to_string());
            Ok::<_, ProviderError>(ownership.map(|o| attrs_for(&req.id, &o)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let ownership = put(aws, bucket, desired).await?;
        Ok(Created { id: bucket.to_string(), attrs: attrs_for(bucket, ownership) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let ownership = put(aws, id, desired).await?;
        Ok(attrs_for(id, ownership))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        aws.count_call();
        let result = aws
            .s3
            .delete_bucket_ownership_controls()
            .bucket(id)
            .send()
            .await
            .classify("s3:DeleteBucketOwnershipControls");
        found(result, &[NOT_CONFIGURED]).map(|_| ())
    }
}

/// The configured `object_ownership`, validated.
fn desired_ownership(desired: &Attrs) -> Result<&str, ProviderError> {
    let rule = single_block(desired, "rule")
        .ok_or_else(|| ProviderError::Invalid(format!("{TYPE_NAME}: a \"rule\" block is required")))?;
    let ownership = require_str(rule, "object_ownership", TYPE_NAME)?;
    if !OWNERSHIPS.contains(&ownership) {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"object_ownership\" must be one of {}, not {ownership:?}",
            OWNERSHIPS.join(", ")
        )));
    }
    Ok(ownership)
}

async fn put<'a>(aws: &AwsCtx, bucket: &str, desired: &'a Attrs) -> Result<&'a str, ProviderError> {
    const CALL: &str = "s3:PutBucketOwnershipControls";
    let ownership = desired_ownership(desired)?;
    let rule =
        built(CALL, OwnershipControlsRule::builder().object_ownership(ObjectOwnership::from(ownership)).build())?;
    let controls = built(CALL, OwnershipControls::builder().rules(rule).build())?;
    aws.count_call();
    aws.s3.put_bucket_ownership_controls().bucket(bucket).ownership_controls(controls).send().await.classify(CALL)?;
    Ok(ownership)
}

fn attrs_for(bucket: &str, ownership: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(bucket));
    attrs.insert("bucket".into(), Value::from(bucket));
    attrs.insert("rule".into(), json!([{ "object_ownership": ownership }]));
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_is_validated() {
        let ok = json!({"rule": [{"object_ownership": "BucketOwnerEnforced"}]});
        assert_eq!(desired_ownership(ok.as_object().unwrap_or(&Attrs::new())).ok(), Some("BucketOwnerEnforced"));
        let bad = json!({"rule": [{"object_ownership": "Mine"}]});
        assert!(desired_ownership(bad.as_object().unwrap_or(&Attrs::new())).is_err());
    }
}
