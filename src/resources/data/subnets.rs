//! `data "aws_subnets"`: the ids of the subnets matching filters and tags
//! (EC2 DescribeSubnets, all pages). No match is an empty list, not an error.

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use super::{ec2_filters, filter_block, timeouts_block};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::complete;
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        "aws_subnets",
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("tags", Ty::MapOfString),
            Attr::computed("ids", Ty::ListOfString),
        ],
    )
    .blocks(vec![filter_block(), timeouts_block()])
});

pub struct Subnets;

#[async_trait]
impl DataSource for Subnets {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let filters = ec2_filters(args, &[]);
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            aws.count_call();
            let out = aws
                .ec2
                .describe_subnets()
                .set_filters((!filters.is_empty()).then(|| filters.clone()))
                .set_next_token(token)
                .send()
                .await
                .classify("ec2:DescribeSubnets")?;
            ids.extend(out.subnets().iter().filter_map(|s| s.subnet_id()).map(str::to_string));
            token = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut attrs = args.clone();
        attrs.insert("id".into(), Value::from(aws.region.as_str()));
        attrs.insert("ids".into(), Value::from(ids));
        Ok(complete(&SCHEMA, attrs))
    }
}
