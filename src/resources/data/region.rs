//! `data "aws_region"`: the region gantry talks to, or the one named.

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use super::partition::Partition;
use crate::aws::{AwsCtx, ProviderError};
use crate::resources::support::{complete, get_nonempty_str};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

static REGION: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        "aws_region",
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("name", Ty::String),
            Attr::computed("description", Ty::String),
            Attr::optional_computed("endpoint", Ty::String),
        ],
    )
});

/// `data "aws_region"`: the region gantry talks to, or the one named.
pub struct Region;

#[async_trait]
impl DataSource for Region {
    fn schema(&self) -> &Schema {
        &REGION
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let name = get_nonempty_str(args, "name").unwrap_or(&aws.region);
        let attrs = region_attrs(name);
        if let Some(wanted) = get_nonempty_str(args, "endpoint") {
            if Some(wanted) != attrs["endpoint"].as_str() {
                return Err(ProviderError::Invalid(format!(
                    "aws_region: no region named {name} has the endpoint {wanted} (its endpoint is {})",
                    attrs["endpoint"]
                )));
            }
        }
        Ok(attrs)
    }
}

/// What the provider says of a region, computed from its name alone.
fn region_attrs(name: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(name));
    attrs.insert("name".into(), Value::from(name));
    attrs.insert("description".into(), Value::from(region_description(name)));
    attrs.insert("endpoint".into(), Value::from(format!("ec2.{name}.{}", Partition::of_region(name).dns_suffix)));
    complete(&REGION, attrs)
}

/// The long names AWS gives its regions, as the Terraform provider reports
/// them (tests/fixtures/regions.json, scripts/record-regions.sh); regions it
/// does not know get none.
fn region_description(name: &str) -> Option<&'static str> {
    const REGIONS: &[(&str, &str)] = &[
        ("af-south-1", "Africa (Cape Town)"),
        ("ap-east-1", "Asia Pacific (Hong Kong)"),
        ("ap-east-2", "Asia Pacific (Taipei)"),
        ("ap-northeast-1", "Asia Pacific (Tokyo)"),
        ("ap-northeast-2", "Asia Pacific (Seoul)"),
        ("ap-northeast-3", "Asia Pacific (Osaka)"),
        ("ap-south-1", "Asia Pacific (Mumbai)"),
        ("ap-south-2", "Asia Pacific (Hyderabad)"),
        ("ap-southeast-1", "Asia Pacific (Singapore)"),
        ("ap-southeast-2", "Asia Pacific (Sydney)"),
        ("ap-southeast-3", "Asia Pacific (Jakarta)"),
        ("ap-southeast-4", "Asia Pacific (Melbourne)"),
        ("ap-southeast-5", "Asia Pacific (Malaysia)"),
        ("ap-southeast-7", "Asia Pacific (Thailand)"),
        ("ca-central-1", "Canada (Central)"),
        ("ca-west-1", "Canada West (Calgary)"),
        ("cn-north-1", "China (Beijing)"),
        ("cn-northwest-1", "China (Ningxia)"),
        ("eu-central-1", "Europe (Frankfurt)"),
        ("eu-central-2", "Europe (Zurich)"),
        ("eu-isoe-west-1", "EU ISOE West"),
        ("eu-north-1", "Europe (Stockholm)"),
        ("eu-south-1", "Europe (Milan)"),
        ("eu-south-2", "Europe (Spain)"),
        ("eu-west-1", "Europe (Ireland)"),
        ("eu-west-2", "Europe (London)"),
        ("eu-west-3", "Europe (Paris)"),
        ("il-central-1", "Israel (Tel Aviv)"),
        ("me-central-1", "Middle East (UAE)"),
        ("me-south-1", "Middle East (Bahrain)"),
        ("mx-central-1", "Mexico (Central)"),
        ("sa-east-1", "South America (Sao Paulo)"),
        ("us-east-1", "US East (N. Virginia)"),
        ("us-east-2", "US East (Ohio)"),
        ("us-gov-east-1", "AWS GovCloud (US-East)"),
        ("us-gov-west-1", "AWS GovCloud (US-West)"),
        ("us-iso-east-1", "US ISO East"),
        ("us-iso-west-1", "US ISO WEST"),
        ("us-isob-east-1", "US ISOB East (Ohio)"),
        ("us-isof-east-1", "US ISOF EAST"),
        ("us-isof-south-1", "US ISOF SOUTH"),
        ("us-west-1", "US West (N. California)"),
        ("us-west-2", "US West (Oregon)"),
    ];
    REGIONS.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Partition, DNS names, description and endpoint of every region
    /// recorded from the provider by scripts/record-regions.sh.
    #[test]
    fn regions_match_the_provider() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/regions.json");
        let recorded: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(recorded.len() > 40);
        for (name, want) in &recorded {
            let ours = region_attrs(name);
            for attr in ["id", "name", "description", "endpoint"] {
                assert_eq!(ours[attr], want["region"][attr], "{name}: {attr}");
            }
            let p = Partition::of_region(name);
            assert_eq!(want["partition"]["partition"], p.id, "{name}");
            assert_eq!(want["partition"]["dns_suffix"], p.dns_suffix, "{name}");
            assert_eq!(want["partition"]["reverse_dns_prefix"], p.reverse_dns_prefix, "{name}");
        }
    }

    #[test]
    fn known_regions_have_descriptions() {
        assert_eq!(region_description("us-east-1"), Some("US East (N. Virginia)"));
        assert_eq!(region_description("xx-nowhere-1"), None);
    }
}
