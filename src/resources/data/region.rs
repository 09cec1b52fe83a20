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
        let endpoint = format!("ec2.{name}.{}", Partition::of_region(name).dns_suffix);
        if let Some(wanted) = get_nonempty_str(args, "endpoint") {
            if wanted != endpoint {
                return Err(ProviderError::Invalid(format!(
                    "aws_region: no region named {name} has the endpoint {wanted} (its endpoint is {endpoint})"
                )));
            }
        }
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(name));
        attrs.insert("name".into(), Value::from(name));
        attrs.insert("description".into(), Value::from(region_description(name)));
        attrs.insert("endpoint".into(), Value::from(endpoint));
        Ok(complete(&REGION, attrs))
    }
}

/// The long names AWS gives its commercial regions (as the Terraform
/// provider reports them); other regions get none.
fn region_description(name: &str) -> Option<&'static str> {
    const REGIONS: &[(&str, &str)] = &[
        ("af-south-1", "Africa (Cape Town)"),
        ("ap-east-1", "Asia Pacific (Hong Kong)"),
        ("ap-northeast-1", "Asia Pacific (Tokyo)"),
        ("ap-northeast-2", "Asia Pacific (Seoul)"),
        ("ap-northeast-3", "Asia Pacific (Osaka)"),
        ("ap-south-1", "Asia Pacific (Mumbai)"),
        ("ap-south-2", "Asia Pacific (Hyderabad)"),
        ("ap-southeast-1", "Asia Pacific (Singapore)"),
        ("ap-southeast-2", "Asia Pacific (Sydney)"),
        ("ap-southeast-3", "Asia Pacific (Jakarta)"),
        ("ap-southeast-4", "Asia Pacific (Melbourne)"),
        ("ca-central-1", "Canada (Central)"),
        ("ca-west-1", "Canada West (Calgary)"),
        ("eu-central-1", "Europe (Frankfurt)"),
        ("eu-central-2", "Europe (Zurich)"),
        ("eu-north-1", "Europe (Stockholm)"),
        ("eu-south-1", "Europe (Milan)"),
        ("eu-south-2", "Europe (Spain)"),
        ("eu-west-1", "Europe (Ireland)"),
        ("eu-west-2", "Europe (London)"),
        ("eu-west-3", "Europe (Paris)"),
        ("il-central-1", "Israel (Tel Aviv)"),
        ("me-central-1", "Middle East (UAE)"),
        ("me-south-1", "Middle East (Bahrain)"),
        ("sa-east-1", "South America (Sao Paulo)"),
        ("us-east-1", "US East (N. Virginia)"),
        ("us-east-2", "US East (Ohio)"),
        ("us-west-1", "US West (N. California)"),
        ("us-west-2", "US West (Oregon)"),
    ];
    REGIONS.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_have_descriptions() {
        assert_eq!(region_description("us-east-1"), Some("US East (N. Virginia)"));
        assert_eq!(region_description("xx-nowhere-1"), None);
    }
}
