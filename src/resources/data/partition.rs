//! `data "aws_partition"`: the ARN partition of the provider's region and its
//! DNS names. Computed from the region name, no call.

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use crate::aws::{AwsCtx, ProviderError};
use crate::resources::support::complete;
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

/// An AWS partition as the SDKs' endpoint tables describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub id: &'static str,
    pub dns_suffix: &'static str,
    pub reverse_dns_prefix: &'static str,
}

/// Region name prefixes of the partitions other than `aws`; longest first so
/// `us-isob-` is not taken for `us-iso-`.
const PARTITIONS: &[(&str, Partition)] = &[
    ("us-isob-", Partition { id: "aws-iso-b", dns_suffix: "sc2s.sgov.gov", reverse_dns_prefix: "gov.sgov.sc2s" }),
    ("us-isof-", Partition { id: "aws-iso-f", dns_suffix: "csp.hci.ic.gov", reverse_dns_prefix: "gov.ic.hci.csp" }),
    ("eu-isoe-", Partition { id: "aws-iso-e", dns_suffix: "cloud.adc-e.uk", reverse_dns_prefix: "uk.adc-e.cloud" }),
    ("us-iso-", Partition { id: "aws-iso", dns_suffix: "c2s.ic.gov", reverse_dns_prefix: "gov.ic.c2s" }),
    ("us-gov-", Partition { id: "aws-us-gov", dns_suffix: "amazonaws.com", reverse_dns_prefix: "com.amazonaws" }),
    ("cn-", Partition { id: "aws-cn", dns_suffix: "amazonaws.com.cn", reverse_dns_prefix: "cn.com.amazonaws" }),
];

const AWS: Partition = Partition { id: "aws", dns_suffix: "amazonaws.com", reverse_dns_prefix: "com.amazonaws" };

impl Partition {
    pub fn of_region(region: &str) -> Partition {
        PARTITIONS.iter().find(|(prefix, _)| region.starts_with(prefix)).map(|(_, p)| *p).unwrap_or(AWS)
    }
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        "aws_partition",
        vec![
            Attr::computed("id", Ty::String),
            Attr::computed("partition", Ty::String),
            Attr::computed("dns_suffix", Ty::String),
            Attr::computed("reverse_dns_prefix", Ty::String),
        ],
    )
});

pub struct AwsPartition;

#[async_trait]
impl DataSource for AwsPartition {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, _args: &Attrs) -> Result<Attrs, ProviderError> {
        let p = Partition::of_region(&aws.region);
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(p.id));
        attrs.insert("partition".into(), Value::from(p.id));
        attrs.insert("dns_suffix".into(), Value::from(p.dns_suffix));
        attrs.insert("reverse_dns_prefix".into(), Value::from(p.reverse_dns_prefix));
        Ok(complete(&SCHEMA, attrs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_the_region_prefix() {
        assert_eq!(Partition::of_region("eu-west-1"), AWS);
        assert_eq!(Partition::of_region("cn-north-1").dns_suffix, "amazonaws.com.cn");
        assert_eq!(Partition::of_region("us-gov-west-1").id, "aws-us-gov");
        assert_eq!(Partition::of_region("us-isob-east-1").id, "aws-iso-b");
        assert_eq!(Partition::of_region("us-iso-east-1").id, "aws-iso");
    }
}
