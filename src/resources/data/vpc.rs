//! `data "aws_vpc"`: one VPC, by id, by `default = true`, by CIDR, state,
//! tags or filters (EC2 DescribeVpcs).

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;
use serde_json::Value;

use super::partition::Partition;
use super::{ec2_filters, exactly_one, filter_block, opt, timeouts_block};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, ec2_tags, get_bool, get_nonempty_str, tags_to_json};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        "aws_vpc",
        vec![
            Attr::optional_computed("id", Ty::String),
            Attr::optional_computed("default", Ty::Bool),
            Attr::optional_computed("cidr_block", Ty::String),
            Attr::optional_computed("dhcp_options_id", Ty::String),
            Attr::optional_computed("state", Ty::String),
            Attr::optional_computed("tags", Ty::MapOfString),
            Attr::computed("arn", Ty::String),
            Attr::computed("instance_tenancy", Ty::String),
            Attr::computed("ipv6_association_id", Ty::String),
            Attr::computed("ipv6_cidr_block", Ty::String),
            Attr::computed("owner_id", Ty::String),
        ],
    )
    .blocks(vec![filter_block(), timeouts_block()])
});

pub struct Vpc;

#[async_trait]
impl DataSource for Vpc {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let mut filters =
            ec2_filters(args, &[("cidr_block", "cidr"), ("dhcp_options_id", "dhcp-options-id"), ("state", "state")]);
        if let Some(default) = get_bool(args, "default") {
            filters.push(Filter::builder().name("isDefault").values(default.to_string()).build());
        }
        aws.count_call();
        let out = aws
            .ec2
            .describe_vpcs()
            .set_vpc_ids(get_nonempty_str(args, "id").map(|id| vec![id.to_string()]))
            .set_filters((!filters.is_empty()).then_some(filters))
            .send()
            .await
            .classify("ec2:DescribeVpcs")?;
        let vpc = exactly_one(out.vpcs().to_vec(), "EC2 VPC", "EC2 VPCs")?;
        let id = vpc.vpc_id().unwrap_or_default();
        let owner = vpc.owner_id().unwrap_or_default();
        let ipv6 = vpc.ipv6_cidr_block_association_set().first();
        let mut attrs = args.clone();
        attrs.insert("id".into(), Value::from(id));
        attrs.insert(
            "arn".into(),
            Value::from(format!("arn:{}:ec2:{}:{owner}:vpc/{id}", Partition::of_region(&aws.region).id, aws.region)),
        );
        attrs.insert("default".into(), Value::from(vpc.is_default().unwrap_or(false)));
        attrs.insert("cidr_block".into(), opt(vpc.cidr_block()));
        attrs.insert("dhcp_options_id".into(), opt(vpc.dhcp_options_id()));
        attrs.insert("state".into(), opt(vpc.state().map(|s| s.as_str())));
        attrs.insert("instance_tenancy".into(), opt(vpc.instance_tenancy().map(|s| s.as_str())));
        attrs.insert("ipv6_association_id".into(), opt(ipv6.and_then(|a| a.association_id())));
        attrs.insert("ipv6_cidr_block".into(), opt(ipv6.and_then(|a| a.ipv6_cidr_block())));
        attrs.insert("owner_id".into(), Value::from(owner));
        attrs.insert("tags".into(), tags_to_json(&ec2_tags(vpc.tags())));
        Ok(complete(&SCHEMA, attrs))
    }
}
