//! `data "aws_ecr_repository"`: a repository by name (ECR
//! DescribeRepositories) and its tags (ListTagsForResource).

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use super::opt;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};
use crate::resources::support::{complete, get_nonempty_str, require_str, tags_to_json};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

const TYPE: &str = "aws_ecr_repository";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("name", Ty::String),
            Attr::optional_computed("registry_id", Ty::String),
            Attr::optional_computed("tags", Ty::MapOfString),
            Attr::computed("arn", Ty::String),
            Attr::computed("image_tag_mutability", Ty::String),
            Attr::computed("repository_url", Ty::String),
        ],
    )
});

pub struct EcrRepository;

#[async_trait]
impl DataSource for EcrRepository {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let name = require_str(args, "name", TYPE)?;
        aws.count_call();
        let out = aws
            .ecr
            .describe_repositories()
            .repository_names(name)
            .set_registry_id(get_nonempty_str(args, "registry_id").map(str::to_string))
            .send()
            .await
            .classify("ecr:DescribeRepositories")?;
        let repo = out
            .repositories()
            .first()
            .ok_or_else(|| ProviderError::empty_response("ecr:DescribeRepositories", "repository"))?;
        let arn = repo.repository_arn().unwrap_or_default();
        aws.count_call();
        let tags: Tags = aws
            .ecr
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .classify("ecr:ListTagsForResource")?
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let mut attrs = args.clone();
        attrs.insert("id".into(), opt(repo.repository_name()));
        attrs.insert("name".into(), opt(repo.repository_name()));
        attrs.insert("arn".into(), Value::from(arn));
        attrs.insert("registry_id".into(), opt(repo.registry_id()));
        attrs.insert("repository_url".into(), opt(repo.repository_uri()));
        attrs.insert("image_tag_mutability".into(), opt(repo.image_tag_mutability().map(|m| m.as_str())));
        attrs.insert("tags".into(), tags_to_json(&tags));
        Ok(complete(&SCHEMA, attrs))
    }
}
