//! `data "aws_s3_bucket"`: an existing bucket's names and region (S3
//! HeadBucket, whose answer names the bucket's region).

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use super::partition::Partition;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, found, require_str};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

const TYPE: &str = "aws_s3_bucket";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String),
            Attr::computed("arn", Ty::String),
            Attr::computed("bucket_domain_name", Ty::String),
            Attr::computed("bucket_regional_domain_name", Ty::String),
            Attr::computed("hosted_zone_id", Ty::String),
            Attr::computed("region", Ty::String),
            Attr::computed("website_domain", Ty::String),
            Attr::computed("website_endpoint", Ty::String),
        ],
    )
});

pub struct S3Bucket;

#[async_trait]
impl DataSource for S3Bucket {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let bucket = require_str(args, "bucket", TYPE)?;
        aws.count_call();
        let out = aws.s3.head_bucket().bucket(bucket).send().await.classify("s3:HeadBucket")?;
        let region = out.bucket_region().unwrap_or(&aws.region).to_string();
        let partition = Partition::of_region(&region);
        let mut attrs = args.clone();
        attrs.insert("id".into(), Value::from(bucket));
        attrs.insert("arn".into(), Value::from(format!("arn:{}:s3:::{bucket}", partition.id)));
        attrs.insert("bucket_domain_name".into(), Value::from(format!("{bucket}.s3.{}", partition.dns_suffix)));
        attrs.insert(
            "bucket_regional_domain_name".into(),
            Value::from(format!("{bucket}.s3.{region}.{}", partition.dns_suffix)),
        );
        attrs.insert("hosted_zone_id".into(), hosted_zone_id(&region).map(Value::from).unwrap_or(Value::Null));
        aws.count_call();
        let website = aws.s3.get_bucket_website().bucket(bucket).send().await.classify("s3:GetBucketWebsite");
        // A bucket that is no website has neither attribute.
        if found(website, &["NoSuchWebsiteConfiguration"])?.is_some() {
            let domain = website_domain(&region, partition);
            attrs.insert("website_endpoint".into(), Value::from(format!("{bucket}.{domain}")));
            attrs.insert("website_domain".into(), Value::from(domain));
        }
        attrs.insert("region".into(), Value::from(region));
        Ok(complete(&SCHEMA, attrs))
    }
}

/// S3's website domain in a region: the older regions spell it with a dash.
fn website_domain(region: &str, partition: Partition) -> String {
    const DASHED: &[&str] = &[
        "ap-northeast-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "eu-west-1",
        "sa-east-1",
        "us-east-1",
        "us-gov-west-1",
        "us-west-1",
        "us-west-2",
    ];
    if DASHED.contains(&region) {
        format!("s3-website-{region}.{}", partition.dns_suffix)
    } else {
        format!("s3-website.{region}.{}", partition.dns_suffix)
    }
}

/// The Route 53 hosted zone of S3's website endpoints in a region (AWS's
/// published table), for alias records.
fn hosted_zone_id(region: &str) -> Option<&'static str> {
    const ZONES: &[(&str, &str)] = &[
        ("af-south-1", "Z83WF9RJE8B12"),
        ("ap-east-1", "ZNB98KWMFR0R6"),
        ("ap-northeast-1", "Z2M4EHUR26P7ZW"),
        ("ap-northeast-2", "Z3W03O7B5YMIYP"),
        ("ap-northeast-3", "Z2YQB5RD63NC85"),
        ("ap-south-1", "Z11RGJOFQNVJUP"),
        ("ap-southeast-1", "Z3O0J2DXBE1FTB"),
        ("ap-southeast-2", "Z1WCIGYICN2BYD"),
        ("ca-central-1", "Z1QDHH18159H29"),
        ("eu-central-1", "Z21DNDUVLTQW6Q"),
        ("eu-north-1", "Z3BAZG2TWCNX0D"),
        ("eu-south-1", "Z30OZKI7KPW7MI"),
        ("eu-west-1", "Z1BKCTXD74EZPE"),
        ("eu-west-2", "Z3GKZC51ZF0DB4"),
        ("eu-west-3", "Z3R1K369G5AVDG"),
        ("me-south-1", "Z1MPMWCPA7YB62"),
        ("sa-east-1", "Z7KQH4QJS55SO"),
        ("us-east-1", "Z3AQBSTGFYJSTF"),
        ("us-east-2", "Z2O1EMRO9K5GLX"),
        ("us-west-1", "Z2F56UZL2M1ACD"),
        ("us-west-2", "Z3BJ6K6RIION7M"),
    ];
    ZONES.iter().find(|(r, _)| *r == region).map(|(_, z)| *z)
}
