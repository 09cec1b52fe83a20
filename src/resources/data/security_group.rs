//! `data "aws_security_group"`: one security group by id, name, VPC, tags or
//! filters (EC2 DescribeSecurityGroups).

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use super::partition::Partition;
use super::{ec2_filters, exactly_one, filter_block, opt, timeouts_block};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, ec2_tags, found, get_nonempty_str, tags_to_json};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        "aws_security_group",
        vec![
            Attr::optional_computed("id", Ty::String),
            Attr::optional_computed("name", Ty::String),
            Attr::optional_computed("vpc_id", Ty::String),
            Attr::optional_computed("tags", Ty::MapOfString),
            Attr::computed("arn", Ty::String),
            Attr::computed("description", Ty::String),
        ],
    )
    .blocks(vec![filter_block(), timeouts_block()])
});

pub struct SecurityGroup;

#[async_trait]
impl DataSource for SecurityGroup {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let filters = ec2_filters(args, &[("name", "group-name"), ("vpc_id", "vpc-id")]);
        aws.count_call();
        let result = aws
            .ec2
            .describe_security_groups()
            .set_group_ids(get_nonempty_str(args, "id").map(|id| vec![id.to_string()]))
            .set_filters((!filters.is_empty()).then_some(filters))
            .send()
            .await
            .classify("ec2:DescribeSecurityGroups");
        // An id that does not exist is "no match", in the provider's words.
        let matches =
            found(result, &["InvalidGroup.NotFound"])?.map(|out| out.security_groups().to_vec()).unwrap_or_default();
        let group = exactly_one(matches, "EC2 Security Group", "EC2 Security Groups")?;
        let id = group.group_id().unwrap_or_default();
        let owner = group.owner_id().unwrap_or_default();
        let mut attrs = args.clone();
        attrs.insert("id".into(), Value::from(id));
        attrs.insert(
            "arn".into(),
            Value::from(format!(
                "arn:{}:ec2:{}:{owner}:security-group/{id}",
                Partition::of_region(&aws.region).id,
                aws.region
            )),
        );
        attrs.insert("name".into(), opt(group.group_name()));
        attrs.insert("vpc_id".into(), opt(group.vpc_id()));
        attrs.insert("description".into(), opt(group.description()));
        attrs.insert("tags".into(), tags_to_json(&ec2_tags(group.tags())));
        Ok(complete(&SCHEMA, attrs))
    }
}
