//! `aws_s3_bucket_public_access_block`: the four public-access switches of a
//! bucket.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{complete, found, get_bool, get_nonempty_str, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_public_access_block";
/// GetPublicAccessBlock's answer for a bucket without the configuration.
const NOT_CONFIGURED: &str = "NoSuchPublicAccessBlockConfiguration";
const SWITCHES: [&str; 4] =
    ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let mut attrs = vec![Attr::computed("id", Ty::String), Attr::required("bucket", Ty::String).force_new()];
    attrs.extend(SWITCHES.iter().map(|name| Attr::optional(name, Ty::Bool).default(false)));
    Schema::new(TYPE_NAME, attrs)
});

pub struct S3BucketPublicAccessBlock;

#[async_trait]
impl ResourceType for S3BucketPublicAccessBlock {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "bucket").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            ctx.aws.count_call();
            let result =
                ctx.aws.s3.get_public_access_block().bucket(&req.id).send().await.classify("s3:GetPublicAccessBlock");
            let Some(out) = found(result, &[NOT_CONFIGURED])? else {
                return Ok(None);
            };
            let config = out.public_access_block_configuration();
            let switches = [
                config.and_then(|c| c.block_public_acls()),
                config.and_then(|c| c.block_public_policy()),
                config.and_then(|c| c.ignore_public_acls()),
                config.and_then(|c| c.restrict_public_buckets()),
            ]
            .map(|v| v.unwrap_or(false));
            Ok::<_, ProviderError>(Some(attrs_for(&req.id, switches)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let switches = put(aws, bucket, desired).await?;
        Ok(Created { id: bucket.to_string(), attrs: attrs_for(bucket, switches) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let switches = put(aws, id, desired).await?;
        Ok(attrs_for(id, switches))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        aws.count_call();
        let result = aws.s3.delete_public_access_block().bucket(id).send().await.classify("s3:DeletePublicAccessBlock");
        found(result, &[NOT_CONFIGURED]).map(|_| ())
    }
}

/// Puts the configuration and returns the switches as set.
async fn put(aws: &AwsCtx, bucket: &str, desired: &Attrs) -> Result<[bool; 4], ProviderError> {
    let switches = SWITCHES.map(|name| get_bool(desired, name).unwrap_or(false));
    let [block_acls, block_policy, ignore_acls, restrict] = switches;
    let config = PublicAccessBlockConfiguration::builder()
        .block_public_acls(block_acls)
        .block_public_policy(block_policy)
        .ignore_public_acls(ignore_acls)
        .restrict_public_buckets(restrict)
        .build();
    aws.count_call();
    aws.s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(config)
        .send()
        .await
        .classify("s3:PutPublicAccessBlock")?;
    Ok(switches)
}

fn attrs_for(bucket: &str, switches: [bool; 4]) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(bucket));
    attrs.insert("bucket".into(), Value::from(bucket));
    for (name, on) in SWITCHES.iter().zip(switches) {
        attrs.insert((*name).into(), Value::from(on));
    }
    complete(&SCHEMA, attrs)
}
