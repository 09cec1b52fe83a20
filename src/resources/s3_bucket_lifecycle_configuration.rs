//! `aws_s3_bucket_lifecycle_configuration`: expiration and transition rules
//! of a bucket, the whole configuration put at once. Id: the provider's
//! `BUCKET[,EXPECTED_BUCKET_OWNER]`.
//!
//! A rule without `filter` and without the deprecated `prefix` is sent with
//! an empty prefix filter, which is what S3 accepts for "every object" (the
//! provider does the same). Reads keep state's spelling of values S3 reports
//! differently (see `settle`).

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleAndOperator, LifecycleRuleFilter, NoncurrentVersionExpiration, NoncurrentVersionTransition, Tag,
    Transition, TransitionDefaultMinimumObjectSize, TransitionStorageClass,
};
use aws_smithy_types::date_time::{DateTime, Format};
use futures::future::try_join_all;
use serde_json::{json, Value};

use super::s3_bucket_id::BucketId;
use super::settle::settle;
use super::support::{
    block_items, built, complete, format_date, found, get_bool, get_i64, get_nonempty_str, get_str, get_tags,
    require_str, single_block, tags_to_json,
};
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_lifecycle_configuration";
const CALL: &str = "s3:PutBucketLifecycleConfiguration";
/// GetBucketLifecycleConfiguration's answer for a bucket without one.
const NOT_CONFIGURED: &str = "NoSuchLifecycleConfiguration";
const MIN_SIZE: &str = "transition_default_minimum_object_size";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let num = |name| Attr::optional(name, Ty::Number);
    let sizes =
        || vec![num("object_size_greater_than"), num("object_size_less_than"), Attr::optional("prefix", Ty::String)];
    let mut and = sizes();
    and.push(Attr::optional("tags", Ty::MapOfString));
    let filter = BlockSchema::single("filter", sizes()).nested(vec![
        BlockSchema::single("and", and),
        BlockSchema::single("tag", vec![Attr::required("key", Ty::String), Attr::required("value", Ty::String)]),
    ]);
    let rule = BlockSchema::list(
        "rule",
        vec![
            Attr::required("id", Ty::String),
            Attr::required("status", Ty::String),
            Attr::optional("prefix", Ty::String),
        ],
    )
    .min(1)
    .nested(vec![
        BlockSchema::single("abort_incomplete_multipart_upload", vec![num("days_after_initiation")]),
        BlockSchema::single(
            "expiration",
            vec![
                Attr::optional("date", Ty::String),
                num("days"),
                Attr::optional("expired_object_delete_marker", Ty::Bool),
            ],
        ),
        filter,
        BlockSchema::single(
            "noncurrent_version_expiration",
            vec![num("newer_noncurrent_versions"), Attr::required("noncurrent_days", Ty::Number)],
        ),
        BlockSchema::set(
            "noncurrent_version_transition",
            vec![
                num("newer_noncurrent_versions"),
                Attr::required("noncurrent_days", Ty::Number),
                Attr::required("storage_class", Ty::String),
            ],
        ),
        BlockSchema::set(
            "transition",
            vec![Attr::optional("date", Ty::String), num("days"), Attr::required("storage_class", Ty::String)],
        ),
    ]);
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String).force_new(),
            Attr::optional("expected_bucket_owner", Ty::String).force_new(),
            Attr::optional_computed(MIN_SIZE, Ty::String),
        ],
    )
    .blocks(vec![rule])
    .omit(
        "timeouts",
        "the provider polls after a put until S3's eventually consistent lifecycle reads settle; gantry reads once \
         (moto is consistent at once, so a wait could not be tested)",
    )
});

pub struct S3BucketLifecycleConfiguration;

#[async_trait]
impl ResourceType for S3BucketLifecycleConfiguration {
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
                .get_bucket_lifecycle_configuration()
                .bucket(&id.bucket)
                .set_expected_bucket_owner(id.owner())
                .send()
                .await
                .classify("s3:GetBucketLifecycleConfiguration");
            let Some(out) = found(result, &[NOT_CONFIGURED])? else { return Ok(None) };
            let prior_rules = block_items(&req.prior, "rule");
            let rules: Vec<Value> = out
                .rules()
                .iter()
                .map(|rule| {
                    let prior = prior_rules.iter().find(|p| get_str(p, "id") == rule.id());
                    let mut block = rule_to_block(rule);
                    // A rule state knows without `filter` got S3's "every
                    // object" filter from gantry: not a difference.
                    if prior.is_some_and(|p| block_items(p, "filter").is_empty()) && is_every_object(rule.filter()) {
                        block["filter"] = Value::Array(Vec::new());
                    }
                    settle(block, prior.map(|p| Value::Object((*p).clone())).as_ref())
                })
                .collect();
            let min_size = out.transition_default_minimum_object_size().map(|s| s.as_str().to_string());
            Ok::<_, ProviderError>(Some(attrs_for(&id, Value::Array(rules), min_size.map(Value::from))))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let id = BucketId::from_args(desired).unwrap_or(BucketId { bucket: bucket.to_string(), expected_owner: None });
        put(aws, &id, desired).await?;
        Ok(Created { id: id.to_string(), attrs: settled(aws, &id, desired).await? })
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
        settled(aws, &id, desired).await
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        let id = BucketId::parse(TYPE_NAME, id)?;
        aws.count_call();
        let result = aws
            .s3
            .delete_bucket_lifecycle()
            .bucket(&id.bucket)
            .set_expected_bucket_owner(id.owner())
            .send()
            .await
            .classify("s3:DeleteBucketLifecycle");
        found(result, &[NOT_CONFIGURED]).map(|_| ())
    }
}

async fn put(aws: &AwsCtx, id: &BucketId, desired: &Attrs) -> Result<(), ProviderError> {
    let rules = block_items(desired, "rule").into_iter().map(rule_to_sdk).collect::<Result<Vec<_>, _>>()?;
    let config = built(CALL, BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build())?;
    aws.count_call();
    aws.s3
        .put_bucket_lifecycle_configuration()
        .bucket(&id.bucket)
        .set_expected_bucket_owner(id.owner())
        .set_transition_default_minimum_object_size(
            get_nonempty_str(desired, MIN_SIZE).map(TransitionDefaultMinimumObjectSize::from),
        )
        .lifecycle_configuration(config)
        .send()
        .await
        .classify(CALL)?;
    Ok(())
}

fn int(attrs: &Attrs, name: &str) -> Option<i32> {
    get_i64(attrs, name).and_then(|n| i32::try_from(n).ok())
}

fn date(attrs: &Attrs, name: &str) -> Result<Option<DateTime>, ProviderError> {
    let Some(text) = get_nonempty_str(attrs, name) else { return Ok(None) };
    DateTime::from_str(text, Format::DateTime).map(Some).map_err(|_| {
        ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"{name}\" must be an RFC 3339 date (2030-01-01T00:00:00Z), not {text:?}"
        ))
    })
}

fn text(attrs: &Attrs, name: &str) -> Option<String> {
    get_str(attrs, name).map(str::to_string)
}

fn tag(key: &str, value: &str) -> Result<Tag, ProviderError> {
    built(CALL, Tag::builder().key(key).value(value).build())
}

fn filter_to_sdk(filter: &Attrs) -> Result<LifecycleRuleFilter, ProviderError> {
    let empty = ["prefix", "object_size_greater_than", "object_size_less_than"]
        .iter()
        .all(|name| filter.get(*name).is_none_or(Value::is_null))
        && single_block(filter, "tag").is_none()
        && single_block(filter, "and").is_none();
    // `filter {}` means every object: S3's spelling is an empty prefix.
    let prefix = if empty { Some(String::new()) } else { text(filter, "prefix") };
    let mut builder = LifecycleRuleFilter::builder()
        .set_prefix(prefix)
        .set_object_size_greater_than(get_i64(filter, "object_size_greater_than"))
        .set_object_size_less_than(get_i64(filter, "object_size_less_than"));
    if let Some(t) = single_block(filter, "tag") {
        builder = builder.tag(tag(require_str(t, "key", TYPE_NAME)?, get_str(t, "value").unwrap_or_default())?);
    }
    if let Some(and) = single_block(filter, "and") {
        let tags = get_tags(and, "tags").iter().map(|(k, v)| tag(k, v)).collect::<Result<Vec<_>, _>>()?;
        builder = builder.and(
            LifecycleRuleAndOperator::builder()
                .set_prefix(text(and, "prefix"))
                .set_object_size_greater_than(get_i64(and, "object_size_greater_than"))
                .set_object_size_less_than(get_i64(and, "object_size_less_than"))
                .set_tags((!tags.is_empty()).then_some(tags))
                .build(),
        );
    }
    Ok(builder.build())
}

fn rule_to_sdk(rule: &Attrs) -> Result<LifecycleRule, ProviderError> {
    let status = require_str(rule, "status", TYPE_NAME)?;
    if status != "Enabled" && status != "Disabled" {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: rule \"status\" must be Enabled or Disabled, not {status:?}"
        )));
    }
    let prefix = get_str(rule, "prefix");
    let filter = match single_block(rule, "filter") {
        Some(filter) => Some(filter_to_sdk(filter)?),
        None if prefix.is_none() => Some(LifecycleRuleFilter::builder().prefix("").build()),
        None => None,
    };
    let mut builder = LifecycleRule::builder()
        .id(require_str(rule, "id", TYPE_NAME)?)
        .status(ExpirationStatus::from(status))
        .set_filter(filter);
    #[allow(deprecated)]
    {
        builder = builder.set_prefix(prefix.map(str::to_string));
    }
    if let Some(e) = single_block(rule, "expiration") {
        builder = builder.expiration(
            LifecycleExpiration::builder()
                .set_date(date(e, "date")?)
                .set_days(int(e, "days"))
                .set_expired_object_delete_marker(get_bool(e, "expired_object_delete_marker"))
                .build(),
        );
    }
    if let Some(a) = single_block(rule, "abort_incomplete_multipart_upload") {
        builder = builder.abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .set_days_after_initiation(int(a, "days_after_initiation"))
                .build(),
        );
    }
    if let Some(n) = single_block(rule, "noncurrent_version_expiration") {
        builder = builder.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(int(n, "noncurrent_days"))
                .set_newer_noncurrent_versions(int(n, "newer_noncurrent_versions"))
                .build(),
        );
    }
    for n in block_items(rule, "noncurrent_version_transition") {
        builder = builder.noncurrent_version_transitions(
            NoncurrentVersionTransition::builder()
                .set_noncurrent_days(int(n, "noncurrent_days"))
                .set_newer_noncurrent_versions(int(n, "newer_noncurrent_versions"))
                .storage_class(TransitionStorageClass::from(require_str(n, "storage_class", TYPE_NAME)?))
                .build(),
        );
    }
    for t in block_items(rule, "transition") {
        builder = builder.transitions(
            Transition::builder()
                .set_date(date(t, "date")?)
                .set_days(int(t, "days"))
                .storage_class(TransitionStorageClass::from(require_str(t, "storage_class", TYPE_NAME)?))
                .build(),
        );
    }
    built(CALL, builder.build())
}

/// A filter that selects every object (an empty prefix, nothing else).
fn is_every_object(filter: Option<&LifecycleRuleFilter>) -> bool {
    filter.is_some_and(|f| {
        f.prefix().unwrap_or_default().is_empty()
            && f.tag().is_none()
            && f.and().is_none()
            && f.object_size_greater_than().is_none()
            && f.object_size_less_than().is_none()
    })
}

fn sizes(prefix: Option<&str>, greater: Option<i64>, less: Option<i64>) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    out.insert("prefix".into(), Value::from(prefix));
    out.insert("object_size_greater_than".into(), Value::from(greater));
    out.insert("object_size_less_than".into(), Value::from(less));
    out
}

fn filter_to_block(filter: &LifecycleRuleFilter) -> Value {
    let mut out = sizes(filter.prefix(), filter.object_size_greater_than(), filter.object_size_less_than());
    let tag: Vec<Value> = filter.tag().map(|t| json!({"key": t.key(), "value": t.value()})).into_iter().collect();
    out.insert("tag".into(), Value::Array(tag));
    let and: Vec<Value> = filter
        .and()
        .map(|a| {
            let mut and = sizes(a.prefix(), a.object_size_greater_than(), a.object_size_less_than());
            let tags: Tags = a.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
            and.insert("tags".into(), tags_to_json(&tags));
            Value::Object(and)
        })
        .into_iter()
        .collect();
    out.insert("and".into(), Value::Array(and));
    Value::Object(out)
}

fn date_text(date: Option<&DateTime>) -> Value {
    Value::from(date.and_then(format_date))
}

fn rule_to_block(rule: &LifecycleRule) -> Value {
    let storage = |c: Option<&TransitionStorageClass>| Value::from(c.map(|c| c.as_str().to_string()));
    #[allow(deprecated)]
    let prefix = rule.prefix();
    json!({
        "id": rule.id(),
        "status": rule.status().as_str(),
        "prefix": prefix,
        "filter": rule.filter().map(filter_to_block).into_iter().collect::<Vec<_>>(),
        "expiration": rule.expiration().map(|e| json!({
            "date": date_text(e.date()),
            "days": e.days(),
            "expired_object_delete_marker": e.expired_object_delete_marker(),
        })).into_iter().collect::<Vec<_>>(),
        "abort_incomplete_multipart_upload": rule.abort_incomplete_multipart_upload().map(|a| json!({
            "days_after_initiation": a.days_after_initiation(),
        })).into_iter().collect::<Vec<_>>(),
        "noncurrent_version_expiration": rule.noncurrent_version_expiration().map(|n| json!({
            "noncurrent_days": n.noncurrent_days(),
            "newer_noncurrent_versions": n.newer_noncurrent_versions(),
        })).into_iter().collect::<Vec<_>>(),
        "noncurrent_version_transition": rule.noncurrent_version_transitions().iter().map(|n| json!({
            "noncurrent_days": n.noncurrent_days(),
            "newer_noncurrent_versions": n.newer_noncurrent_versions(),
            "storage_class": storage(n.storage_class()),
        })).collect::<Vec<_>>(),
        "transition": rule.transitions().iter().map(|t| json!({
            "date": date_text(t.date()),
            "days": t.days(),
            "storage_class": storage(t.storage_class()),
        })).collect::<Vec<_>>(),
    })
}

/// What create and update return: the arguments as put. When the stack
/// leaves the minimum transition size to S3, S3's choice is read back, so
/// that state holds it and the next plan has nothing to report.
async fn settled(aws: &AwsCtx, id: &BucketId, desired: &Attrs) -> Result<Attrs, ProviderError> {
    let rules = desired.get("rule").cloned().unwrap_or(Value::Array(Vec::new()));
    let min_size = match get_nonempty_str(desired, MIN_SIZE) {
        Some(size) => Some(size.to_string()),
        None => {
            aws.count_call();
            let out = aws
                .s3
                .get_bucket_lifecycle_configuration()
                .bucket(&id.bucket)
                .set_expected_bucket_owner(id.owner())
                .send()
                .await
                .classify("s3:GetBucketLifecycleConfiguration")?;
            out.transition_default_minimum_object_size().map(|s| s.as_str().to_string())
        }
    };
    Ok(attrs_for(id, rules, min_size.map(Value::from)))
}

fn attrs_for(id: &BucketId, rules: Value, min_size: Option<Value>) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(id.to_string()));
    attrs.insert("bucket".into(), Value::from(id.bucket.as_str()));
    attrs.insert("expected_bucket_owner".into(), Value::from(id.expected_owner.as_deref()));
    attrs.insert(MIN_SIZE.into(), min_size.unwrap_or(Value::Null));
    attrs.insert("rule".into(), rules);
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_rule_round_trips_through_the_sdk_types() {
        let rule = attrs(json!({
            "id": "logs", "status": "Enabled", "prefix": null,
            "filter": [{"prefix": null, "object_size_greater_than": null, "object_size_less_than": null, "tag": [],
                        "and": [{"prefix": "logs/", "object_size_greater_than": 100, "object_size_less_than": null,
                                 "tags": {"a": "1"}}]}],
            "expiration": [{"date": null, "days": 90, "expired_object_delete_marker": null}],
            "abort_incomplete_multipart_upload": [{"days_after_initiation": 7}],
            "noncurrent_version_expiration": [{"noncurrent_days": 30, "newer_noncurrent_versions": 2}],
            "noncurrent_version_transition": [{"noncurrent_days": 10, "newer_noncurrent_versions": null, "storage_class": "GLACIER"}],
            "transition": [{"date": "2030-01-01T00:00:00Z", "days": null, "storage_class": "STANDARD_IA"}],
        }));
        let sdk = rule_to_sdk(&rule).unwrap();
        let back = rule_to_block(&sdk);
        assert_eq!(back, Value::Object(rule));
    }

    #[test]
    fn a_rule_without_filter_or_prefix_gets_an_empty_prefix_filter() {
        let rule = attrs(json!({"id": "all", "status": "Enabled", "expiration": [{"days": 1}]}));
        let sdk = rule_to_sdk(&rule).unwrap();
        assert_eq!(sdk.filter().and_then(|f| f.prefix()), Some(""));
        assert!(rule_to_sdk(&attrs(json!({"id": "x", "status": "On"}))).is_err());
        let bad_date = attrs(json!({"id": "x", "status": "Enabled", "expiration": [{"date": "tomorrow"}]}));
        assert!(rule_to_sdk(&bad_date).is_err());
    }
}
