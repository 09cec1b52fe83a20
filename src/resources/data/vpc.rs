//! `data "aws_vpc"`: one VPC, by id, by `default = true`, by CIDR, state,
//! tags or filters (EC2 DescribeVpcs).

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use serde_json::Value;

use super::partition::Partition;
use super::{ec2_filters, exactly_one, filter_block, opt, timeouts_block};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, ec2_tags, found, get_bool, get_nonempty_str, tags_to_json};
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
            Attr::computed("enable_dns_support", Ty::Bool),
            Attr::computed("enable_dns_hostnames", Ty::Bool),
            Attr::computed("enable_network_address_usage_metrics", Ty::Bool),
            Attr::computed("main_route_table_id", Ty::String),
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
        let result = aws
            .ec2
            .describe_vpcs()
            .set_vpc_ids(get_nonempty_str(args, "id").map(|id| vec![id.to_string()]))
            .set_filters((!filters.is_empty()).then_some(filters))
            .send()
            .await
            .classify("ec2:DescribeVpcs");
        // An id that does not exist is "no match", in the provider's words.
        let matches = found(result, &["InvalidVpcID.NotFound"])?.map(|out| out.vpcs().to_vec()).unwrap_or_default();
        let vpc = exactly_one(matches, "EC2 VPC", "EC2 VPCs")?;
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
        // What DescribeVpcs does not say, read at once.
        let (dns_support, dns_hostnames, usage_metrics, main_table) = futures::try_join!(
            vpc_attribute(aws, id, VpcAttributeName::EnableDnsSupport),
            vpc_attribute(aws, id, VpcAttributeName::EnableDnsHostnames),
            vpc_attribute(aws, id, VpcAttributeName::EnableNetworkAddressUsageMetrics),
            main_route_table(aws, id),
        )?;
        attrs.insert("enable_dns_support".into(), opt_bool(dns_support));
        attrs.insert("enable_dns_hostnames".into(), opt_bool(dns_hostnames));
        attrs.insert("enable_network_address_usage_metrics".into(), opt_bool(usage_metrics));
        attrs.insert("main_route_table_id".into(), opt(main_table.as_deref()));
        Ok(complete(&SCHEMA, attrs))
    }
}

fn opt_bool(b: Option<bool>) -> Value {
    b.map(Value::from).unwrap_or(Value::Null)
}

/// One boolean attribute of a VPC (EC2 DescribeVpcAttribute).
async fn vpc_attribute(aws: &AwsCtx, id: &str, name: VpcAttributeName) -> Result<Option<bool>, ProviderError> {
    aws.count_call();
    let out = aws
        .ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(name.clone())
        .send()
        .await
        .classify("ec2:DescribeVpcAttribute")?;
    let value = match name {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
        _ => out.enable_network_address_usage_metrics(),
    };
    Ok(value.and_then(|v| v.value()))
}

/// The VPC's main route table (EC2 DescribeRouteTables).
async fn main_route_table(aws: &AwsCtx, id: &str) -> Result<Option<String>, ProviderError> {
    aws.count_call();
    let out = aws
        .ec2
        .describe_route_tables()
        .filters(Filter::builder().name("vpc-id").values(id).build())
        .filters(Filter::builder().name("association.main").values("true").build())
        .send()
        .await
        .classify("ec2:DescribeRouteTables")?;
    Ok(out.route_tables().first().and_then(|t| t.route_table_id()).map(str::to_string))
}
