//! `data "aws_canonical_user_id"`: the S3 canonical user of the credentials'
//! account, the owner S3 ListBuckets reports.

use std::sync::LazyLock;

use async_trait::async_trait;

use super::opt;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::complete;
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        "aws_canonical_user_id",
        vec![Attr::computed("id", Ty::String), Attr::computed("display_name", Ty::String)],
    )
});

pub struct CanonicalUserId;

#[async_trait]
impl DataSource for CanonicalUserId {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, _args: &Attrs) -> Result<Attrs, ProviderError> {
        aws.count_call();
        // One bucket is enough to learn the owner; the owner comes with an empty list too.
        let out = aws.s3.list_buckets().max_buckets(1).send().await.classify("s3:ListBuckets")?;
        let owner = out.owner().ok_or_else(|| ProviderError::empty_response("s3:ListBuckets", "owner"))?;
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), opt(owner.id()));
        attrs.insert("display_name".into(), opt(owner.display_name()));
        Ok(complete(&SCHEMA, attrs))
    }
}
