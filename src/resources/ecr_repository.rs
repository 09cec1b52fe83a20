//! `aws_ecr_repository`. The Resource Groups Tagging API of the emulator
//! does not cover ECR, so reads list each repository's tags themselves when
//! the stack-wide tag map lacks them.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Repository, Tag,
};
use futures::future::try_join_all;
use serde_json::{json, Value};

use super::support::{
    built, complete, copy_attrs, create_tags, describe_many, found, get_bool, get_nonempty_str, get_str, get_tags,
    one_block, prior_or_default, require_str, single_block, tag_changes, tags_to_json, visible_tags,
};
use super::timeouts;
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_ecr_repository";
/// The most names DescribeRepositories takes.
const DESCRIBE_BATCH: usize = 100;

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("name", Ty::String).force_new(),
            Attr::optional("image_tag_mutability", Ty::String).default("MUTABLE"),
            Attr::optional("force_delete", Ty::Bool).default(false),
            Attr::computed("arn", Ty::String),
            Attr::computed("registry_id", Ty::String),
            Attr::computed("repository_url", Ty::String),
        ],
    )
    .blocks(vec![
        BlockSchema::single("image_scanning_configuration", vec![Attr::required("scan_on_push", Ty::Bool)])
            .computed_when_absent(),
        BlockSchema::single(
            "encryption_configuration",
            vec![
                Attr::optional("encryption_type", Ty::String).default("AES256"),
                Attr::optional_computed("kms_key", Ty::String),
            ],
        )
        .computed_when_absent()
        .force_new(),
        // The provider's delete timeout bounds its retries of a delete
        // refused while images are being pushed; DeleteRepository answers at
        // once, so the block is taken and there is nothing to wait for.
        timeouts::block(&["delete"]),
    ])
    .taggable()
});

pub struct EcrRepository;

#[async_trait]
impl ResourceType for EcrRepository {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "name").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let aws = ctx.aws;
        let mut names: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let batches = try_join_all(names.chunks(DESCRIBE_BATCH).map(|batch| describe_batch(aws, batch))).await?;
        let repos: HashMap<String, Repository> = batches
            .into_iter()
            .flatten()
            .filter_map(|repo| Some((repo.repository_name()?.to_string(), repo)))
            .collect();

        let reads = requests.iter().map(|req| {
            let repo = repos.get(&req.id);
            async move {
                let Some(repo) = repo else {
                    return Ok(None);
                };
                let arn = repo.repository_arn().unwrap_or_default();
                let tags = match ctx.tags_by_arn().await.get(arn) {
                    Some(tags) => tags.clone(),
                    None => match found(list_tags(aws, arn).await, &[])? {
                        Some(tags) => tags,
                        None => return Ok(None),
                    },
                };
                Ok::<_, ProviderError>(Some(repo_attrs(repo, &req.prior, visible_tags(&tags))))
            }
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "ecr:CreateRepository";
        let name = require_str(desired, "name", TYPE_NAME)?;
        let mut request = aws.ecr.create_repository().repository_name(name);
        if let Some(mutability) = get_nonempty_str(desired, "image_tag_mutability") {
            request = request.image_tag_mutability(ImageTagMutability::from(mutability));
        }
        if let Some(scan) = single_block(desired, "image_scanning_configuration") {
            request = request.image_scanning_configuration(scanning(scan));
        }
        if let Some(encryption) = single_block(desired, "encryption_configuration") {
            let config = EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::from(
                    get_nonempty_str(encryption, "encryption_type").unwrap_or("AES256"),
                ))
                .set_kms_key(get_nonempty_str(encryption, "kms_key").map(str::to_string))
                .build();
            request = request.encryption_configuration(built(CALL, config)?);
        }
        for (k, v) in create_tags(desired, owner_tags) {
            request = request.tags(built(CALL, Tag::builder().key(k).value(v).build())?);
        }
        aws.count_call();
        let out = request.send().await.classify(CALL)?;
        let repo = out.repository().ok_or_else(|| ProviderError::empty_response(CALL, "repository"))?;
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(Created { id: name.to_string(), attrs: repo_attrs(repo, desired, tags_all) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let mut attrs = prior.clone();
        attrs.retain(|name, _| SCHEMA.attr(name).is_some() || SCHEMA.block(name).is_some());
        if let Some(mutability) = get_nonempty_str(desired, "image_tag_mutability") {
            if Some(mutability) != get_str(prior, "image_tag_mutability") {
                aws.count_call();
                aws.ecr
                    .put_image_tag_mutability()
                    .repository_name(id)
                    .image_tag_mutability(ImageTagMutability::from(mutability))
                    .send()
                    .await
                    .classify("ecr:PutImageTagMutability")?;
            }
            attrs.insert("image_tag_mutability".into(), Value::from(mutability));
        }
        if let Some(scan) = single_block(desired, "image_scanning_configuration") {
            let before = single_block(prior, "image_scanning_configuration").and_then(|b| get_bool(b, "scan_on_push"));
            let after = get_bool(scan, "scan_on_push").unwrap_or(false);
            if before != Some(after) {
                aws.count_call();
                aws.ecr
                    .put_image_scanning_configuration()
                    .repository_name(id)
                    .image_scanning_configuration(scanning(scan))
                    .send()
                    .await
                    .classify("ecr:PutImageScanningConfiguration")?;
            }
            attrs.insert("image_scanning_configuration".into(), one_block(scan_block(after)));
        }

        let arn = get_str(prior, "arn").unwrap_or_default();
        let changes = tag_changes(prior, desired, owner_tags);
        if !changes.set.is_empty() {
            let tags = changes
                .set
                .into_iter()
                .map(|(k, v)| built("ecr:TagResource", Tag::builder().key(k).value(v).build()))
                .collect::<Result<Vec<_>, _>>()?;
            aws.count_call();
            aws.ecr.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.classify("ecr:TagResource")?;
        }
        if !changes.remove.is_empty() {
            aws.count_call();
            aws.ecr
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(changes.remove))
                .send()
                .await
                .classify("ecr:UntagResource")?;
        }

        attrs.insert("force_delete".into(), prior_or_default(&SCHEMA, desired, "force_delete"));
        copy_attrs(&mut attrs, desired, &["tags", timeouts::BLOCK]);
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let force = get_bool(prior, "force_delete").unwrap_or(false);
        aws.count_call();
        let result =
            aws.ecr.delete_repository().repository_name(id).force(force).send().await.classify("ecr:DeleteRepository");
        found(result, &[]).map(|_| ())
    }
}

/// One DescribeRepositories for many names (each name alone when one is missing).
async fn describe_batch(aws: &AwsCtx, names: &[&str]) -> Result<Vec<Repository>, ProviderError> {
    describe_many(names, |names| async move { describe(aws, &names).await }).await
}

async fn describe(aws: &AwsCtx, names: &[&str]) -> Result<Vec<Repository>, ProviderError> {
    let mut repos = Vec::new();
    let mut token = None;
    loop {
        aws.count_call();
        let out = aws
            .ecr
            .describe_repositories()
            .set_repository_names(Some(names.iter().map(|n| n.to_string()).collect()))
            .set_next_token(token)
            .send()
            .await
            .classify("ecr:DescribeRepositories")?;
        token = out.next_token().map(str::to_string);
        repos.extend(out.repositories.unwrap_or_default());
        if token.is_none() {
            return Ok(repos);
        }
    }
}

async fn list_tags(aws: &AwsCtx, arn: &str) -> Result<Tags, ProviderError> {
    aws.count_call();
    let out = aws.ecr.list_tags_for_resource().resource_arn(arn).send().await.classify("ecr:ListTagsForResource")?;
    Ok(out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

fn scanning(block: &Attrs) -> ImageScanningConfiguration {
    ImageScanningConfiguration::builder().scan_on_push(get_bool(block, "scan_on_push").unwrap_or(false)).build()
}

fn scan_block(scan_on_push: bool) -> Attrs {
    json!({"scan_on_push": scan_on_push}).as_object().cloned().unwrap_or_default()
}

/// The attribute map of a repository as ECR describes it; `args` supplies
/// what ECR does not store (`force_delete`, `tags`).
fn repo_attrs(repo: &Repository, args: &Attrs, tags_all: Value) -> Attrs {
    let name = repo.repository_name().unwrap_or_default();
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(name));
    attrs.insert("name".into(), Value::from(name));
    attrs.insert("arn".into(), Value::from(repo.repository_arn()));
    attrs.insert("registry_id".into(), Value::from(repo.registry_id()));
    attrs.insert("repository_url".into(), Value::from(repo.repository_uri()));
    attrs.insert(
        "image_tag_mutability".into(),
        Value::from(repo.image_tag_mutability().map_or("MUTABLE", |m| m.as_str())),
    );
    let scan_on_push = repo.image_scanning_configuration().is_some_and(|s| s.scan_on_push());
    attrs.insert("image_scanning_configuration".into(), one_block(scan_block(scan_on_push)));
    let encryption = repo.encryption_configuration();
    let mut block = Attrs::new();
    block.insert("encryption_type".into(), Value::from(encryption.map_or("AES256", |e| e.encryption_type().as_str())));
    block.insert("kms_key".into(), Value::from(encryption.and_then(|e| e.kms_key())));
    attrs.insert("encryption_configuration".into(), one_block(block));
    attrs.insert("force_delete".into(), prior_or_default(&SCHEMA, args, "force_delete"));
    copy_attrs(&mut attrs, args, &["tags", timeouts::BLOCK]);
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}
