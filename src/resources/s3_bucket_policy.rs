//! `aws_s3_bucket_policy`: a bucket's resource policy, id the bucket name as
//! in Terraform. PutBucketPolicy both creates and replaces it. The document
//! is compared normalized (the schema's `Json` type), like IAM policies.

use std::sync::LazyLock;

use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{complete, found, get_nonempty_str, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_policy";
/// GetBucketPolicy's answer for a bucket without a policy.
const NOT_CONFIGURED: &str = "NoSuchBucketPolicy";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String).force_new(),
            Attr::required("policy", Ty::Json),
        ],
    )
});

pub struct S3BucketPolicy;

#[async_trait]
impl ResourceType for S3BucketPolicy {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "bucket").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            ctx.aws.count_call();
            let result = ctx.aws.s3.get_bucket_policy().bucket(&req.id).send().await.classify("s3:GetBucketPolicy");
            let Some(out) = found(result, &[NOT_CONFIGURED])? else { return Ok(None) };
            Ok::<_, ProviderError>(out.policy().map(|policy| attrs_for(&req.id, policy)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let policy = put(aws, bucket, desired).await?;
        Ok(Created { id: bucket.to_string(), attrs: attrs_for(bucket, policy) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let policy = put(aws, id, desired).await?;
        Ok(attrs_for(id, policy))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        aws.count_call();
        let result = aws.s3.delete_bucket_policy().bucket(id).send().await.classify("s3:DeleteBucketPolicy");
        found(result, &[NOT_CONFIGURED]).map(|_| ())
    }
}

/// Puts the policy; returns the document as sent.
async fn put<'a>(aws: &AwsCtx, bucket: &str, desired: &'a Attrs) -> Result<&'a str, ProviderError> {
    let policy = require_str(desired, "policy", TYPE_NAME)?;
    aws.count_call();
    aws.s3.put_bucket_policy().bucket(bucket).policy(policy).send().await.classify("s3:PutBucketPolicy")?;
    Ok(policy)
}

fn attrs_for(bucket: &str, policy: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(bucket));
    attrs.insert("bucket".into(), Value::from(bucket));
    attrs.insert("policy".into(), Value::from(policy));
    complete(&SCHEMA, attrs)
}
