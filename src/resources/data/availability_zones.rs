//! `data "aws_availability_zones"`: the zones of the region (EC2
//! DescribeAvailabilityZones), sorted by name as the provider sorts them.

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use super::{ec2_filters, filter_block, timeouts_block};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, get_bool, get_strings};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        "aws_availability_zones",
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional("all_availability_zones", Ty::Bool),
            Attr::optional("exclude_names", Ty::SetOfString),
            Attr::optional("exclude_zone_ids", Ty::SetOfString),
            Attr::optional("state", Ty::String),
            Attr::computed("names", Ty::ListOfString),
            Attr::computed("zone_ids", Ty::ListOfString),
            Attr::computed("group_names", Ty::SetOfString),
        ],
    )
    .blocks(vec![filter_block(), timeouts_block()])
});

pub struct AvailabilityZones;

#[async_trait]
impl DataSource for AvailabilityZones {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let filters = ec2_filters(args, &[("state", "state")]);
        aws.count_call();
        let out = aws
            .ec2
            .describe_availability_zones()
            .set_all_availability_zones(get_bool(args, "all_availability_zones"))
            .set_filters((!filters.is_empty()).then_some(filters))
            .send()
            .await
            .classify("ec2:DescribeAvailabilityZones")?;
        let exclude_names = get_strings(args, "exclude_names");
        let exclude_ids = get_strings(args, "exclude_zone_ids");
        let mut zones: Vec<_> = out
            .availability_zones()
            .iter()
            .filter(|z| !exclude_names.iter().any(|n| Some(n.as_str()) == z.zone_name()))
            .filter(|z| !exclude_ids.iter().any(|n| Some(n.as_str()) == z.zone_id()))
            .collect();
        zones.sort_by(|a, b| a.zone_name().cmp(&b.zone_name()));
        let mut groups: Vec<&str> = zones.iter().filter_map(|z| z.group_name()).collect();
        groups.sort_unstable();
        groups.dedup();

        let mut attrs = args.clone();
        attrs.insert("id".into(), Value::from(aws.region.as_str()));
        attrs.insert("names".into(), zones.iter().filter_map(|z| z.zone_name()).collect());
        attrs.insert("zone_ids".into(), zones.iter().filter_map(|z| z.zone_id()).collect());
        attrs.insert("group_names".into(), groups.into_iter().collect());
        Ok(complete(&SCHEMA, attrs))
    }
}
