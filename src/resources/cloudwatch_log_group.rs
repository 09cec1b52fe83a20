//! `aws_cloudwatch_log_group`: a CloudWatch Logs group; the id is its name,
//! which import takes.
//!
//! - `arn` is the group's ARN without the `:*` that DescribeLogGroups adds,
//!   as in the provider.
//! - Retention, the KMS key and tags change in place; the name and the
//!   class replace the group.
//! - `skip_destroy = true` makes a destroy forget the group and keep it.
//! - Without `name`, the engine generates one (from `name_prefix`) and
//!   journals it before the create, so a create cut short is found by that
//!   name; the ownership-tag search (Resource Groups Tagging API) remains
//!   for journals that hold no name.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::{LogGroup, LogGroupClass};
use futures::future::try_join_all;
use serde_json::Value;

use super::naming::NameRule;
use super::support::{
    complete, create_tags, found, get_bool, get_i64, get_nonempty_str, get_str, get_tags, tag_changes, tags_to_json,
    visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_cloudwatch_log_group";
/// CloudWatch Logs takes group names of at most 512 characters.
/// The provider takes prefixes of at most 483 characters.
const NAMING: NameRule = NameRule::new("name", "name_prefix", 512).max_prefix(483);
/// The retention periods CloudWatch Logs accepts, in days (0: never expire).
const RETENTION_DAYS: &[i64] =
    &[0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("name", Ty::String).force_new(),
            Attr::optional_computed("name_prefix", Ty::String).force_new(),
            Attr::optional("retention_in_days", Ty::Number).default(0),
            Attr::optional("kms_key_id", Ty::String),
            Attr::optional_computed("log_group_class", Ty::String).force_new(),
            Attr::optional("skip_destroy", Ty::Bool).default(false),
            Attr::computed("arn", Ty::String),
        ],
    )
    .taggable()
});

pub struct CloudwatchLogGroup;

#[async_trait]
impl ResourceType for CloudwatchLogGroup {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "name").map(str::to_string)
    }

    fn name_rule(&self) -> Option<NameRule> {
        Some(NAMING)
    }

    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        use aws_sdk_resourcegroupstagging::types::TagFilter;
        // No resource type filter: the emulator knows log groups only as
        // "logs:loggroup", AWS as "logs:log-group"; the ARN says which.
        let mut request = aws.tagging.get_resources();
        for (key, value) in owner_tags {
            request = request.tag_filters(TagFilter::builder().key(key).values(value).build());
        }
        aws.count_call();
        let out = request.send().await.classify("tagging:GetResources")?;
        Ok(out
            .resource_tag_mapping_list()
            .iter()
            .filter_map(|m| m.resource_arn())
            .find_map(|arn| arn.split_once(":log-group:").map(|(_, name)| name.trim_end_matches(":*").to_string())))
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let aws = ctx.aws;
        let reads = requests.iter().map(|req| async move {
            let Some(group) = describe(aws, &req.id).await? else { return Ok(None) };
            let arn = group_arn(&group);
            let tags = match ctx.tags_by_arn().await.get(&arn) {
                Some(tags) => tags.clone(),
                None => match found(list_tags(aws, &arn).await, &[])? {
                    Some(tags) => tags,
                    None => return Ok(None),
                },
            };
            Ok::<_, ProviderError>(Some(group_attrs(&group, &req.prior, visible_tags(&tags))))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "logs:CreateLogGroup";
        let retention = retention(desired)?;
        let name = match get_nonempty_str(desired, "name") {
            Some(name) => name.to_string(),
            None => NAMING.generate(desired),
        };
        aws.count_call();
        aws.logs
            .create_log_group()
            .log_group_name(&name)
            .set_kms_key_id(get_nonempty_str(desired, "kms_key_id").map(str::to_string))
            .set_log_group_class(get_nonempty_str(desired, "log_group_class").map(LogGroupClass::from))
            .set_tags(Some(create_tags(desired, owner_tags).into_iter().collect()))
            .send()
            .await
            .classify(CALL)
            .map_err(|e| match e {
                ProviderError::Api { code, message, .. } if code == "ResourceAlreadyExistsException" => {
                    ProviderError::AlreadyExists { call: CALL, code, message }
                }
                other => other,
            })?;
        if retention > 0 {
            put_retention(aws, &name, retention).await?;
        }
        let group = describe(aws, &name).await?.ok_or(ProviderError::NotFound { call: "logs:DescribeLogGroups" })?;
        let attrs = group_attrs(&group, desired, tags_to_json(&get_tags(desired, "tags_all")));
        Ok(Created { id: name, attrs })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let retention = retention(desired)?;
        if get_i64(prior, "retention_in_days").unwrap_or(0) != retention {
            if retention > 0 {
                put_retention(aws, id, retention).await?;
            } else {
                aws.count_call();
                aws.logs
                    .delete_retention_policy()
                    .log_group_name(id)
                    .send()
                    .await
                    .classify("logs:DeleteRetentionPolicy")?;
            }
        }
        let key = get_nonempty_str(desired, "kms_key_id");
        if get_nonempty_str(prior, "kms_key_id") != key {
            aws.count_call();
            match key {
                Some(key) => aws
                    .logs
                    .associate_kms_key()
                    .log_group_name(id)
                    .kms_key_id(key)
                    .send()
                    .await
                    .classify("logs:AssociateKmsKey")
                    .map(|_| ())?,
                None => aws
                    .logs
                    .disassociate_kms_key()
                    .log_group_name(id)
                    .send()
                    .await
                    .classify("logs:DisassociateKmsKey")
                    .map(|_| ())?,
            }
        }
        let group = describe(aws, id).await?.ok_or(ProviderError::NotFound { call: "logs:DescribeLogGroups" })?;
        let arn = group_arn(&group);
        let changes = tag_changes(prior, desired, owner_tags);
        if !changes.set.is_empty() {
            aws.count_call();
            aws.logs
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(changes.set.into_iter().collect()))
                .send()
                .await
                .classify("logs:TagResource")?;
        }
        if !changes.remove.is_empty() {
            aws.count_call();
            aws.logs
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(changes.remove))
                .send()
                .await
                .classify("logs:UntagResource")?;
        }
        Ok(group_attrs(&group, desired, tags_to_json(&get_tags(desired, "tags_all"))))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        if get_bool(prior, "skip_destroy") == Some(true) {
            return Ok(());
        }
        aws.count_call();
        let result = aws.logs.delete_log_group().log_group_name(id).send().await.classify("logs:DeleteLogGroup");
        found(result, &[]).map(|_| ())
    }
}

fn retention(desired: &Attrs) -> Result<i64, ProviderError> {
    let days = get_i64(desired, "retention_in_days").unwrap_or(0);
    if RETENTION_DAYS.contains(&days) {
        Ok(days)
    } else {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(i64::to_string).collect();
        Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"retention_in_days\" must be one of {}, not {days}",
            allowed.join(", ")
        )))
    }
}

async fn put_retention(aws: &AwsCtx, name: &str, days: i64) -> Result<(), ProviderError> {
    aws.count_call();
    aws.logs
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days as i32)
        .send()
        .await
        .classify("logs:PutRetentionPolicy")?;
    Ok(())
}

/// The group named exactly `name` (DescribeLogGroups matches by prefix).
async fn describe(aws: &AwsCtx, name: &str) -> Result<Option<LogGroup>, ProviderError> {
    let mut token = None;
    loop {
        aws.count_call();
        let out = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .set_next_token(token)
            .send()
            .await
            .classify("logs:DescribeLogGroups")?;
        if let Some(group) = out.log_groups().iter().find(|g| g.log_group_name() == Some(name)) {
            return Ok(Some(group.clone()));
        }
        token = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            return Ok(None);
        }
    }
}

async fn list_tags(aws: &AwsCtx, arn: &str) -> Result<Tags, ProviderError> {
    aws.count_call();
    let out = aws.logs.list_tags_for_resource().resource_arn(arn).send().await.classify("logs:ListTagsForResource")?;
    Ok(out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default())
}

/// The ARN without the `:*` suffix DescribeLogGroups puts on `arn`.
fn group_arn(group: &LogGroup) -> String {
    match group.log_group_arn() {
        Some(arn) if !arn.is_empty() => arn.to_string(),
        _ => group.arn().unwrap_or_default().trim_end_matches(":*").to_string(),
    }
}

/// The attribute map of a live group; `args` supplies what AWS does not
/// store (`name_prefix`, `skip_destroy`, `tags`) and the class when the
/// answer lacks it (the emulator never reports one).
fn group_attrs(group: &LogGroup, args: &Attrs, tags_all: Value) -> Attrs {
    let name = group.log_group_name().unwrap_or_default();
    let class = match group.log_group_class() {
        Some(class) => Value::from(class.as_str()),
        None => match get_str(args, "log_group_class") {
            Some(class) => Value::from(class),
            None => Value::from("STANDARD"),
        },
    };
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(name));
    attrs.insert("name".into(), Value::from(name));
    attrs.insert("name_prefix".into(), NAMING.prefix_to_report(args, name));
    attrs.insert("retention_in_days".into(), Value::from(group.retention_in_days().unwrap_or(0)));
    attrs.insert("kms_key_id".into(), Value::from(group.kms_key_id().filter(|k| !k.is_empty())));
    attrs.insert("log_group_class".into(), class);
    attrs.insert("skip_destroy".into(), args.get("skip_destroy").cloned().unwrap_or(Value::Bool(false)));
    attrs.insert("arn".into(), Value::from(group_arn(group)));
    attrs.insert("tags".into(), args.get("tags").cloned().unwrap_or(Value::Null));
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_takes_only_what_cloudwatch_accepts() {
        let attrs = |days: i64| {
            let mut a = Attrs::new();
            a.insert("retention_in_days".into(), Value::from(days));
            a
        };
        assert_eq!(retention(&attrs(14)).ok(), Some(14));
        assert_eq!(retention(&Attrs::new()).ok(), Some(0));
        assert!(retention(&attrs(10)).is_err());
    }

    #[test]
    fn arns_lose_the_stream_wildcard() {
        let group = LogGroup::builder().arn("arn:aws:logs:us-east-1:1:log-group:/app:*").build();
        assert_eq!(group_arn(&group), "arn:aws:logs:us-east-1:1:log-group:/app");
    }
}
