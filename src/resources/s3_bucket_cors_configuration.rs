//! `aws_s3_bucket_cors_configuration`: the CORS rules of a bucket, put as a
//! whole. Id: the provider's `BUCKET[,EXPECTED_BUCKET_OWNER]`.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use futures::future::try_join_all;
use serde_json::{json, Value};

use super::s3_bucket_id::BucketId;
use super::support::{block_items, built, complete, found, get_i64, get_nonempty_str, get_strings, require_str};
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_cors_configuration";
const CALL: &str = "s3:PutBucketCors";
/// GetBucketCors' answer for a bucket without CORS rules.
const NOT_CONFIGURED: &str = "NoSuchCORSConfiguration";
/// S3 takes at most 100 rules.
const MAX_RULES: usize = 100;

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let mut rule = BlockSchema::set(
        "cors_rule",
        vec![
            Attr::optional("allowed_headers", Ty::SetOfString),
            Attr::required("allowed_methods", Ty::SetOfString),
            Attr::required("allowed_origins", Ty::SetOfString),
            Attr::optional("expose_headers", Ty::SetOfString),
            Attr::optional("id", Ty::String),
            Attr::optional("max_age_seconds", Ty::Number),
        ],
    )
    .min(1);
    rule.max_items = Some(MAX_RULES);
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String).force_new(),
            Attr::optional("expected_bucket_owner", Ty::String).force_new(),
        ],
    )
    .blocks(vec![rule])
});

pub struct S3BucketCorsConfiguration;

#[async_trait]
impl ResourceType for S3BucketCorsConfiguration {
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
                .get_bucket_cors()
                .bucket(&id.bucket)
                .set_expected_bucket_owner(id.owner())
                .send()
                .await
                .classify("s3:GetBucketCors");
            let Some(out) = found(result, &[NOT_CONFIGURED])? else { return Ok(None) };
            let rules: Vec<Value> = out
                .cors_rules()
                .iter()
                .map(|r| {
                    json!({
                        "allowed_headers": r.allowed_headers(),
                        "allowed_methods": r.allowed_methods(),
                        "allowed_origins": r.allowed_origins(),
                        "expose_headers": r.expose_headers(),
                        "id": r.id(),
                        "max_age_seconds": r.max_age_seconds(),
                    })
                })
                .collect();
            Ok::<_, ProviderError>(Some(attrs_for(&id, Value::Array(rules))))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let id = BucketId::from_args(desired).unwrap_or(BucketId { bucket: bucket.to_string(), expected_owner: None });
        put(aws, &id, desired).await?;
        Ok(Created { id: id.to_string(), attrs: attrs_for(&id, rules_of(desired)) })
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
        put(aws, &id, desired).await?;
        Ok(attrs_for(&id, rules_of(desired)))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        let id = BucketId::parse(TYPE_NAME, id)?;
        aws.count_call();
        let result = aws
            .s3
            .delete_bucket_cors()
            .bucket(&id.bucket)
            .set_expected_bucket_owner(id.owner())
            .send()
            .await
            .classify("s3:DeleteBucketCors");
        found(result, &[NOT_CONFIGURED]).map(|_| ())
    }
}

fn rules_of(desired: &Attrs) -> Value {
    desired.get("cors_rule").cloned().unwrap_or(Value::Array(Vec::new()))
}

fn rule_to_sdk(rule: &Attrs) -> Result<CorsRule, ProviderError> {
    let list = |name| {
        let items = get_strings(rule, name);
        (!items.is_empty()).then_some(items)
    };
    let max_age = get_i64(rule, "max_age_seconds")
        .map(i32::try_from)
        .transpose()
        .map_err(|_| ProviderError::Invalid(format!("{TYPE_NAME}: \"max_age_seconds\" is out of range")))?;
    built(
        CALL,
        CorsRule::builder()
            .set_id(get_nonempty_str(rule, "id").map(str::to_string))
            .set_allowed_headers(list("allowed_headers"))
            .set_allowed_methods(list("allowed_methods"))
            .set_allowed_origins(list("allowed_origins"))
            .set_expose_headers(list("expose_headers"))
            .set_max_age_seconds(max_age)
            .build(),
    )
}

async fn put(aws: &AwsCtx, id: &BucketId, desired: &Attrs) -> Result<(), ProviderError> {
    let rules = block_items(desired, "cors_rule").into_iter().map(rule_to_sdk).collect::<Result<Vec<_>, _>>()?;
    let config = built(CALL, CorsConfiguration::builder().set_cors_rules(Some(rules)).build())?;
    aws.count_call();
    aws.s3
        .put_bucket_cors()
        .bucket(&id.bucket)
        .set_expected_bucket_owner(id.owner())
        .cors_configuration(config)
        .send()
        .await
        .classify(CALL)?;
    Ok(())
}

fn attrs_for(id: &BucketId, rules: Value) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(id.to_string()));
    attrs.insert("bucket".into(), Value::from(id.bucket.as_str()));
    attrs.insert("expected_bucket_owner".into(), Value::from(id.expected_owner.as_deref()));
    attrs.insert("cors_rule".into(), rules);
    complete(&SCHEMA, attrs)
}
