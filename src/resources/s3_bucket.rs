//! `aws_s3_bucket`: the bucket itself and its tags. Its sub-configurations
//! (versioning, public access block) are separate resource types, and a read
//! fetches nothing a stack did not declare.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, Tag, Tagging};
use futures::future::try_join_all;
use serde_json::Value;

use super::naming::NameRule;
use super::support::{
    built, complete, copy_attrs, create_tags, found, get_bool, get_nonempty_str, get_tags, prior_or_default,
    replacement_tags, require_str, retry_while, tags_to_json, visible_tags,
};
use super::timeouts;
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket";
/// How long a new bucket may take to become visible to its sub-resource calls.
const VISIBLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// GetBucketTagging's answer for a bucket without tags.
const NO_TAG_SET: &str = "NoSuchTagSet";
/// A bucket name has at most 63 characters.
const NAMING: NameRule = NameRule::new("bucket", "bucket_prefix", 63);

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("bucket", Ty::String).force_new(),
            Attr::optional_computed("bucket_prefix", Ty::String).force_new(),
            Attr::optional("force_destroy", Ty::Bool).default(false),
            Attr::computed("arn", Ty::String),
            Attr::computed("bucket_domain_name", Ty::String),
            Attr::computed("bucket_regional_domain_name", Ty::String),
            Attr::computed("region", Ty::String),
        ],
    )
    .blocks(vec![timeouts::block(&["create", "delete", "read", "update"])])
    .omit("acceleration_status", "deprecated by the provider for aws_s3_bucket_accelerate_configuration")
    .omit("acl", "deprecated by the provider: use aws_s3_bucket_acl, which gantry supports")
    .omit("grant", "deprecated by the provider: use aws_s3_bucket_acl, which gantry supports")
    .omit("policy", "deprecated by the provider: use aws_s3_bucket_policy, which gantry supports")
    .omit("request_payer", "deprecated by the provider for aws_s3_bucket_request_payment_configuration")
    .omit("cors_rule", "deprecated by the provider: use aws_s3_bucket_cors_configuration, which gantry supports")
    .omit(
        "lifecycle_rule",
        "deprecated by the provider: use aws_s3_bucket_lifecycle_configuration, which gantry supports",
    )
    .omit("logging", "deprecated by the provider: use aws_s3_bucket_logging, which gantry supports")
    .omit("versioning", "deprecated by the provider: use aws_s3_bucket_versioning, which gantry supports")
    .omit(
        "server_side_encryption_configuration",
        "deprecated by the provider: use aws_s3_bucket_server_side_encryption_configuration, which gantry supports",
    )
    .omit("website", "deprecated by the provider: use aws_s3_bucket_website_configuration, which gantry supports")
    .omit(
        "website_domain",
        "set only by the deprecated `website` block: aws_s3_bucket_website_configuration reports it",
    )
    .omit(
        "website_endpoint",
        "set only by the deprecated `website` block: aws_s3_bucket_website_configuration reports it",
    )
    .omit(
        "replication_configuration",
        "deprecated by the provider for aws_s3_bucket_replication_configuration; replication copies objects to a \
         bucket in another region, and gantry applies a stack in one region",
    )
    .omit(
        "object_lock_configuration",
        "deprecated by the provider for aws_s3_bucket_object_lock_configuration (see object_lock_enabled)",
    )
    .omit_accepting(
        "object_lock_enabled",
        false,
        "object lock makes objects undeletable for their retention period, so neither force_destroy nor a \
         destroy could remove such a bucket; gantry does not create buckets it cannot destroy",
    )
    .omit(
        "hosted_zone_id",
        "the Route 53 zone of S3's website endpoints, for alias records; gantry has no Route 53 types to use it",
    )
    .taggable()
});

pub struct S3Bucket;

#[async_trait]
impl ResourceType for S3Bucket {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "bucket").map(str::to_string)
    }

    fn name_rule(&self) -> Option<NameRule> {
        Some(NAMING)
    }

    async fn owner_tags_of(&self, aws: &AwsCtx, id: &str, _live: &Attrs) -> Result<Option<Tags>, ProviderError> {
        get_bucket_tags(aws, id).await.map(Some)
    }

    /// CreateBucket takes no tags: they follow in PutBucketTagging.
    fn tags_on_create(&self) -> bool {
        false
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let aws = ctx.aws;
        let buckets = list_buckets(aws).await?;
        let results = requests.iter().map(|req| {
            let region = buckets.get(&req.id);
            async move {
                let Some(region) = region else {
                    return Ok(None);
                };
                let region = region.as_deref().unwrap_or(&aws.region);
                let tags = match ctx.tags_by_arn().await.get(&arn(&req.id)) {
                    Some(tags) => tags.clone(),
                    None => match found(get_bucket_tags(aws, &req.id).await, &[])? {
                        Some(tags) => tags,
                        None => return Ok(None),
                    },
                };
                let mut attrs = computed_attrs(&req.id, region);
                attrs.insert("force_destroy".into(), prior_or_default(&SCHEMA, &req.prior, "force_destroy"));
                attrs.insert("bucket_prefix".into(), NAMING.prefix_to_report(&req.prior, &req.id));
                copy_attrs(&mut attrs, &req.prior, &["tags", timeouts::BLOCK]);
                attrs.insert("tags_all".into(), visible_tags(&tags));
                Ok::<_, ProviderError>(Some(complete(&SCHEMA, attrs)))
            }
        });
        try_join_all(results).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let mut request = aws.s3.create_bucket().bucket(bucket);
        // us-east-1 is the one region that refuses its own name as a constraint.
        if aws.region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(aws.region.as_str()))
                    .build(),
            );
        }
        aws.count_call();
        request.send().await.classify("s3:CreateBucket")?;

        let tags = create_tags(desired, owner_tags);
        if !tags.is_empty() {
            // A new bucket can answer NoSuchBucket for a moment (eventual
            // consistency): wait for it rather than fail a create that worked.
            retry_while(
                timeouts::limit(desired, "create", VISIBLE_TIMEOUT),
                |e| matches!(e, ProviderError::NotFound { .. }),
                || put_bucket_tags(aws, bucket, &tags),
            )
            .await?;
        }
        Ok(Created { id: bucket.to_string(), attrs: result_attrs(bucket, &aws.region, desired) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        // S3 replaces the whole tag set at once; the live set tells which
        // gantry: tags to carry over.
        let live = get_bucket_tags(aws, id).await?;
        let wanted = replacement_tags(&live, desired, owner_tags);
        if wanted != live {
            if wanted.is_empty() {
                aws.count_call();
                aws.s3.delete_bucket_tagging().bucket(id).send().await.classify("s3:DeleteBucketTagging")?;
            } else {
                put_bucket_tags(aws, id, &wanted).await?;
            }
        }
        let region = get_nonempty_str(prior, "region").unwrap_or(&aws.region);
        Ok(result_attrs(id, region, desired))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        if get_bool(prior, "force_destroy") == Some(true) && found(empty_bucket(aws, id).await, &[])?.is_none() {
            return Ok(());
        }
        aws.count_call();
        let result = aws.s3.delete_bucket().bucket(id).send().await.classify("s3:DeleteBucket");
        found(result, &[]).map(|_| ())
    }
}

fn arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn computed_attrs(bucket: &str, region: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(bucket));
    attrs.insert("bucket".into(), Value::from(bucket));
    attrs.insert("arn".into(), Value::from(arn(bucket)));
    attrs.insert("bucket_domain_name".into(), Value::from(format!("{bucket}.s3.amazonaws.com")));
    attrs.insert("bucket_regional_domain_name".into(), Value::from(format!("{bucket}.s3.{region}.amazonaws.com")));
    attrs.insert("region".into(), Value::from(region));
    attrs
}

fn result_attrs(bucket: &str, region: &str, desired: &Attrs) -> Attrs {
    let mut attrs = computed_attrs(bucket, region);
    attrs.insert("force_destroy".into(), prior_or_default(&SCHEMA, desired, "force_destroy"));
    copy_attrs(&mut attrs, desired, &["tags", "bucket_prefix", timeouts::BLOCK]);
    attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
    complete(&SCHEMA, attrs)
}

/// Every bucket the account owns, with its region when S3 reports it: one
/// call answers existence for all the buckets a stack declares.
async fn list_buckets(aws: &AwsCtx) -> Result<HashMap<String, Option<String>>, ProviderError> {
    let mut buckets = HashMap::new();
    let mut token = None;
    loop {
        aws.count_call();
        let out = aws.s3.list_buckets().set_continuation_token(token).send().await.classify("s3:ListBuckets")?;
        for bucket in out.buckets() {
            if let Some(name) = bucket.name() {
                buckets.insert(name.to_string(), bucket.bucket_region().map(str::to_string));
            }
        }
        token = out.continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(buckets);
        }
    }
}

/// The bucket's tags, gantry's included; a bucket without tags has none.
pub(super) async fn get_bucket_tags(aws: &AwsCtx, bucket: &str) -> Result<Tags, ProviderError> {
    aws.count_call();
    match aws.s3.get_bucket_tagging().bucket(bucket).send().await.classify("s3:GetBucketTagging") {
        Ok(out) => Ok(out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()),
        Err(e) if e.code() == Some(NO_TAG_SET) => Ok(Tags::new()),
        Err(e) => Err(e),
    }
}

async fn put_bucket_tags(aws: &AwsCtx, bucket: &str, tags: &Tags) -> Result<(), ProviderError> {
    const CALL: &str = "s3:PutBucketTagging";
    let tag_set =
        tags.iter().map(|(k, v)| built(CALL, Tag::builder().key(k).value(v).build())).collect::<Result<Vec<_>, _>>()?;
    let tagging = built(CALL, Tagging::builder().set_tag_set(Some(tag_set)).build())?;
    aws.count_call();
    aws.s3.put_bucket_tagging().bucket(bucket).tagging(tagging).send().await.classify(CALL)?;
    Ok(())
}

/// Deletes every object version and delete marker, a page (at most 1000
/// keys, DeleteObjects' limit) at a time.
async fn empty_bucket(aws: &AwsCtx, bucket: &str) -> Result<(), ProviderError> {
    const CALL: &str = "s3:DeleteObjects";
    let mut key_marker = None;
    let mut version_marker = None;
    loop {
        aws.count_call();
        let page = aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send()
            .await
            .classify("s3:ListObjectVersions")?;
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page.delete_markers().iter().map(|m| (m.key(), m.version_id()));
        let objects = versions
            .chain(markers)
            .filter_map(|(key, version)| Some((key?, version)))
            .map(|(key, version)| {
                built(CALL, ObjectIdentifier::builder().key(key).set_version_id(version.map(str::to_string)).build())
            })
            .collect::<Result<Vec<_>, _>>()?;
        for batch in objects.chunks(1000) {
            let delete = built(CALL, Delete::builder().set_objects(Some(batch.to_vec())).quiet(true).build())?;
            aws.count_call();
            let out = aws.s3.delete_objects().bucket(bucket).delete(delete).send().await.classify(CALL)?;
            if let Some(err) = out.errors().first() {
                return Err(ProviderError::Api {
                    call: CALL,
                    code: err.code().unwrap_or("Unknown").to_string(),
                    message: format!(
                        "{} object(s) not deleted, first {:?}: {}",
                        out.errors().len(),
                        err.key().unwrap_or_default(),
                        err.message().unwrap_or_default()
                    ),
                    request_id: None,
                    retryable: false,
                });
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(());
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
        if key_marker.is_none() && version_marker.is_none() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn computed_names_follow_the_terraform_provider() {
        let attrs = computed_attrs("b1", "eu-west-1");
        assert_eq!(attrs["arn"], json!("arn:aws:s3:::b1"));
        assert_eq!(attrs["bucket_domain_name"], json!("b1.s3.amazonaws.com"));
        assert_eq!(attrs["bucket_regional_domain_name"], json!("b1.s3.eu-west-1.amazonaws.com"));
    }
}
