//! `aws_s3_bucket_logging`: server access logging of a bucket into a target
//! bucket. Id: the provider's `BUCKET[,EXPECTED_BUCKET_OWNER]`. Deleting it
//! puts an empty logging status, which is how S3 turns logging off.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLoggingStatus, BucketLogsPermission, LoggingEnabled, PartitionDateSource, PartitionedPrefix, SimplePrefix,
    TargetGrant, TargetObjectKeyFormat,
};
use futures::future::try_join_all;
use serde_json::{json, Value};

use super::s3_bucket_id::BucketId;
use super::s3_grantee;
use super::support::{block_items, built, complete, found, require_str, single_block};
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_logging";
const CALL: &str = "s3:PutBucketLogging";
const KEY_FORMAT: &str = "target_object_key_format";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String).force_new(),
            Attr::optional("expected_bucket_owner", Ty::String).force_new(),
            Attr::required("target_bucket", Ty::String),
            Attr::required("target_prefix", Ty::String),
        ],
    )
    .blocks(vec![
        BlockSchema::set("target_grant", vec![Attr::required("permission", Ty::String)])
            .nested(vec![s3_grantee::block()]),
        BlockSchema::single(KEY_FORMAT, vec![]).nested(vec![
            BlockSchema::single("partitioned_prefix", vec![Attr::required("partition_date_source", Ty::String)]),
            BlockSchema::single("simple_prefix", vec![]),
        ]),
    ])
});

pub struct S3BucketLogging;

#[async_trait]
impl ResourceType for S3BucketLogging {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        BucketId::from_args(desired).map(|id| id.to_string())
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            let id = BucketId::parse(TYPE_NAME, &req.id)?;
            ctx.aws.count_call();
            let result = ctx
                .aws
                .s3
                .get_bucket_logging()
                .bucket(&id.bucket)
                .set_expected_bucket_owner(id.owner())
                .send()
                .await
                .classify("s3:GetBucketLogging");
            let Some(out) = found(result, &[])? else { return Ok(None) };
            let Some(logging) = out.logging_enabled() else { return Ok(None) };
            Ok::<_, ProviderError>(Some(live_attrs(&id, logging)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let id = BucketId::from_args(desired).unwrap_or(BucketId { bucket: bucket.to_string(), expected_owner: None });
        put(aws, &id, Some(logging_to_sdk(desired)?)).await?;
        Ok(Created { id: id.to_string(), attrs: echo(&id, desired) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let id = BucketId::parse(TYPE_NAME, id)?;
        put(aws, &id, Some(logging_to_sdk(desired)?)).await?;
        Ok(echo(&id, desired))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        let id = BucketId::parse(TYPE_NAME, id)?;
        found(put(aws, &id, None).await, &[]).map(|_| ())
    }
}

async fn put(aws: &AwsCtx, id: &BucketId, logging: Option<LoggingEnabled>) -> Result<(), ProviderError> {
    let status = BucketLoggingStatus::builder().set_logging_enabled(logging).build();
    aws.count_call();
    aws.s3
        .put_bucket_logging()
        .bucket(&id.bucket)
        .set_expected_bucket_owner(id.owner())
        .bucket_logging_status(status)
        .send()
        .await
        .classify(CALL)?;
    Ok(())
}

fn logging_to_sdk(desired: &Attrs) -> Result<LoggingEnabled, ProviderError> {
    let mut builder = LoggingEnabled::builder()
        .target_bucket(require_str(desired, "target_bucket", TYPE_NAME)?)
        // An empty prefix is allowed (logs at the top of the target bucket).
        .target_prefix(desired.get("target_prefix").and_then(Value::as_str).unwrap_or_default());
    for grant in block_items(desired, "target_grant") {
        let permission = require_str(grant, "permission", TYPE_NAME)?;
        let grantee = s3_grantee::to_sdk(TYPE_NAME, CALL, grant)?;
        builder = builder.target_grants(
            TargetGrant::builder().grantee(grantee).permission(BucketLogsPermission::from(permission)).build(),
        );
    }
    if let Some(format) = single_block(desired, KEY_FORMAT) {
        let mut key_format = TargetObjectKeyFormat::builder();
        if let Some(partitioned) = single_block(format, "partitioned_prefix") {
            let source = require_str(partitioned, "partition_date_source", TYPE_NAME)?;
            key_format = key_format.partitioned_prefix(
                PartitionedPrefix::builder().partition_date_source(PartitionDateSource::from(source)).build(),
            );
        }
        if single_block(format, "simple_prefix").is_some() {
            key_format = key_format.simple_prefix(SimplePrefix::builder().build());
        }
        builder = builder.target_object_key_format(key_format.build());
    }
    built(CALL, builder.build())
}

fn live_attrs(id: &BucketId, logging: &LoggingEnabled) -> Attrs {
    let grants: Vec<Value> = logging
        .target_grants()
        .iter()
        .map(|g| {
            json!({
                "permission": g.permission().map(|p| p.as_str()),
                "grantee": g.grantee().map(s3_grantee::to_block).unwrap_or_else(|| json!([])),
            })
        })
        .collect();
    let format: Vec<Value> = logging
        .target_object_key_format()
        .map(|f| {
            let partitioned: Vec<Value> = f
                .partitioned_prefix()
                .map(|p| json!({"partition_date_source": p.partition_date_source().map(|s| s.as_str())}))
                .into_iter()
                .collect();
            let simple: Vec<Value> = f.simple_prefix().map(|_| json!({})).into_iter().collect();
            json!({"partitioned_prefix": partitioned, "simple_prefix": simple})
        })
        .into_iter()
        .collect();
    let mut attrs = base(id);
    attrs.insert("target_bucket".into(), Value::from(logging.target_bucket()));
    attrs.insert("target_prefix".into(), Value::from(logging.target_prefix()));
    attrs.insert("target_grant".into(), Value::Array(grants));
    attrs.insert(KEY_FORMAT.into(), Value::Array(format));
    complete(&SCHEMA, attrs)
}

fn base(id: &BucketId) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(id.to_string()));
    attrs.insert("bucket".into(), Value::from(id.bucket.as_str()));
    attrs.insert("expected_bucket_owner".into(), Value::from(id.expected_owner.as_deref()));
    attrs
}

/// What create and update return: the arguments as put.
fn echo(id: &BucketId, desired: &Attrs) -> Attrs {
    let mut attrs = base(id);
    for name in ["target_bucket", "target_prefix", "target_grant", KEY_FORMAT] {
        attrs.insert(name.into(), desired.get(name).cloned().unwrap_or(Value::Null));
    }
    complete(&SCHEMA, attrs)
}
