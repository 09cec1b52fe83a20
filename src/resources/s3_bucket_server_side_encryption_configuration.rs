//! `aws_s3_bucket_server_side_encryption_configuration`: a bucket's default
//! encryption (SSE-S3 or SSE-KMS), as Terraform spells it:
//! `rule { apply_server_side_encryption_by_default { sse_algorithm = "AES256" } }`.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use futures::future::try_join_all;
use serde_json::{json, Value};

use super::support::{block_items, built, complete, found, get_bool, get_nonempty_str, require_str, single_block};
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_server_side_encryption_configuration";
/// GetBucketEncryption's answer for a bucket without a configuration.
const NOT_CONFIGURED: &str = "ServerSideEncryptionConfigurationNotFoundError";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String).force_new(),
            Attr::optional("expected_bucket_owner", Ty::String).force_new(),
        ],
    )
    .blocks(vec![BlockSchema::set("rule", vec![Attr::optional_computed("bucket_key_enabled", Ty::Bool)])
        .min(1)
        .nested(vec![BlockSchema::single(
            "apply_server_side_encryption_by_default",
            vec![Attr::required("sse_algorithm", Ty::String), Attr::optional("kms_master_key_id", Ty::String)],
        )])])
});

pub struct S3BucketServerSideEncryptionConfiguration;

#[async_trait]
impl ResourceType for S3BucketServerSideEncryptionConfiguration {
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
                ctx.aws.s3.get_bucket_encryption().bucket(&req.id).send().await.classify("s3:GetBucketEncryption");
            let Some(out) = found(result, &[NOT_CONFIGURED])? else { return Ok(None) };
            let rules: Vec<Value> = out
                .server_side_encryption_configuration()
                .map(|c| c.rules())
                .unwrap_or_default()
                .iter()
                .map(|rule| {
                    let default = rule.apply_server_side_encryption_by_default().map(|d| {
                        json!({
                            "sse_algorithm": d.sse_algorithm().as_str(),
                            "kms_master_key_id": d.kms_master_key_id(),
                        })
                    });
                    json!({
                        "bucket_key_enabled": rule.bucket_key_enabled().unwrap_or(false),
                        "apply_server_side_encryption_by_default": default.into_iter().collect::<Vec<_>>(),
                    })
                })
                .collect();
            let prior_owner = req.prior.get("expected_bucket_owner").cloned().unwrap_or(Value::Null);
            Ok::<_, ProviderError>(Some(attrs_for(&req.id, Value::Array(rules), prior_owner)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        put(aws, bucket, desired).await?;
        Ok(Created { id: bucket.to_string(), attrs: echo(bucket, desired) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        put(aws, id, desired).await?;
        Ok(echo(id, desired))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        aws.count_call();
        let result = aws.s3.delete_bucket_encryption().bucket(id).send().await.classify("s3:DeleteBucketEncryption");
        found(result, &[NOT_CONFIGURED]).map(|_| ())
    }
}

async fn put(aws: &AwsCtx, bucket: &str, desired: &Attrs) -> Result<(), ProviderError> {
    let mut rules = Vec::new();
    for rule in block_items(desired, "rule") {
        let mut builder = ServerSideEncryptionRule::builder();
        if let Some(default) = single_block(rule, "apply_server_side_encryption_by_default") {
            let algorithm = require_str(default, "sse_algorithm", TYPE_NAME)?;
            let by_default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(algorithm))
                .set_kms_master_key_id(get_nonempty_str(default, "kms_master_key_id").map(str::to_string))
                .build();
            builder = builder.apply_server_side_encryption_by_default(built("s3:PutBucketEncryption", by_default)?);
        }
        if let Some(on) = get_bool(rule, "bucket_key_enabled") {
            builder = builder.bucket_key_enabled(on);
        }
        rules.push(builder.build());
    }
    let config =
        built("s3:PutBucketEncryption", ServerSideEncryptionConfiguration::builder().set_rules(Some(rules)).build())?;
    aws.count_call();
    aws.s3
        .put_bucket_encryption()
        .bucket(bucket)
        .set_expected_bucket_owner(get_nonempty_str(desired, "expected_bucket_owner").map(str::to_string))
        .server_side_encryption_configuration(config)
        .send()
        .await
        .classify("s3:PutBucketEncryption")?;
    Ok(())
}

/// What create and update return: the configuration as put, in the shape
/// a read gives (S3 reports an unset bucket key as false).
fn echo(bucket: &str, desired: &Attrs) -> Attrs {
    let rules: Vec<Value> = block_items(desired, "rule")
        .into_iter()
        .map(|rule| {
            let mut rule = rule.clone();
            let enabled = get_bool(&rule, "bucket_key_enabled").unwrap_or(false);
            rule.insert("bucket_key_enabled".into(), Value::Bool(enabled));
            Value::Object(rule)
        })
        .collect();
    let rules = Value::Array(rules);
    attrs_for(bucket, rules, desired.get("expected_bucket_owner").cloned().unwrap_or(Value::Null))
}

fn attrs_for(bucket: &str, rules: Value, expected_owner: Value) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(bucket));
    attrs.insert("bucket".into(), Value::from(bucket));
    attrs.insert("expected_bucket_owner".into(), expected_owner);
    attrs.insert("rule".into(), rules);
    complete(&SCHEMA, attrs)
}
