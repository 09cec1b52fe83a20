//! `data "aws_caller_identity"`: who the credentials belong to (STS GetCallerIdentity).

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::complete;
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

static CALLER_IDENTITY: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        "aws_caller_identity",
        vec![
            Attr::computed("id", Ty::String),
            Attr::computed("account_id", Ty::String),
            Attr::computed("arn", Ty::String),
            Attr::computed("user_id", Ty::String),
        ],
    )
});

pub struct CallerIdentity;

#[async_trait]
impl DataSource for CallerIdentity {
    fn schema(&self) -> &Schema {
        &CALLER_IDENTITY
    }

    async fn read(&self, aws: &AwsCtx, _args: &Attrs) -> Result<Attrs, ProviderError> {
        aws.count_call();
        let out = aws.sts.get_caller_identity().send().await.classify("sts:GetCallerIdentity")?;
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(out.account()));
        attrs.insert("account_id".into(), Value::from(out.account()));
        attrs.insert("arn".into(), Value::from(out.arn()));
        attrs.insert("user_id".into(), Value::from(out.user_id()));
        Ok(complete(&CALLER_IDENTITY, attrs))
    }
}
