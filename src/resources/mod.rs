//! Resource types: one file per Terraform resource type, all behind
//! [`ResourceType`]. The engine never calls the AWS SDK directly; it calls
//! these, which keeps the engine testable and the AWS quirks in one place.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::aws::{AwsCtx, ProviderError, Tags};

pub mod schema;
pub(crate) mod support;

mod cloudwatch_log_group;
mod data;
mod dynamodb_sse;
mod dynamodb_table;
mod ecr_lifecycle_policy;
mod ecr_policy_document;
mod ecr_repository;
mod ecr_repository_policy;
mod eip;
mod eip_association;
mod iam_instance_profile;
mod iam_openid_connect_provider;
mod iam_policy;
mod iam_role;
mod iam_role_exclusive;
mod iam_role_policies_exclusive;
mod iam_role_policy;
mod iam_role_policy_attachment;
mod iam_role_policy_attachments_exclusive;
mod instance;
mod instance_options;
mod key_pair;
pub mod naming;
#[cfg(test)]
mod provider_schema;
#[cfg(test)]
mod provider_schema_ec2;
mod random_id;
mod random_pet;
mod random_string;
mod random_support;
mod s3_bucket;
mod s3_bucket_acl;
mod s3_bucket_cors_configuration;
mod s3_bucket_id;
mod s3_bucket_lifecycle_configuration;
mod s3_bucket_logging;
mod s3_bucket_ownership_controls;
mod s3_bucket_policy;
mod s3_bucket_public_access_block;
mod s3_bucket_server_side_encryption_configuration;
mod s3_bucket_versioning;
mod s3_bucket_website_configuration;
mod s3_grantee;
mod security_group;
mod security_group_rule;
mod settle;
mod sg_rule_support;
mod ssm_parameter;
pub mod timeouts;
mod vpc_security_group_rule;

pub use schema::{Attr, BlockSchema, Omission, Presence, Schema, Ty};

/// Attributes as stored in state: Terraform's attribute names, JSON values,
/// nested blocks as lists of objects.
pub type Attrs = serde_json::Map<String, serde_json::Value>;

/// Everything a read needs besides the resource's id.
pub struct ReadCtx<'a> {
    pub aws: &'a AwsCtx,
    tags: StackTags<'a>,
}

/// Where a read finds live tags by ARN.
enum StackTags<'a> {
    /// Nowhere: every resource reads its own tags.
    None,
    /// The whole stack's tags in one paginated Resource Groups Tagging
    /// `GetResources` read, started once and shared: reads go ahead with
    /// their own calls and wait for it only when they need the tags.
    Stack { stack: &'a str, env: &'a str, cell: tokio::sync::OnceCell<HashMap<String, Tags>> },
}

impl<'a> ReadCtx<'a> {
    /// Reads that fetch each resource's tags themselves.
    pub fn new(aws: &'a AwsCtx) -> ReadCtx<'a> {
        ReadCtx { aws, tags: StackTags::None }
    }

    /// Reads that take tags from one read of the stack's tags (see
    /// [`ReadCtx::tags_by_arn`]).
    pub fn with_stack_tags(aws: &'a AwsCtx, stack: &'a str, env: &'a str) -> ReadCtx<'a> {
        ReadCtx { aws, tags: StackTags::Stack { stack, env, cell: tokio::sync::OnceCell::new() } }
    }

    /// Live tags by ARN of the stack's resources. A resource whose ARN is
    /// missing here (ECR, or something imported and not yet tagged, or every
    /// resource when the tagging read failed) reads its tags itself.
    pub async fn tags_by_arn(&self) -> &HashMap<String, Tags> {
        static EMPTY: std::sync::LazyLock<HashMap<String, Tags>> = std::sync::LazyLock::new(HashMap::new);
        match &self.tags {
            StackTags::None => &EMPTY,
            StackTags::Stack { stack, env, cell } => {
                cell.get_or_init(|| async { stack_tags(self.aws, stack, env).await.unwrap_or_default() }).await
            }
        }
    }
}

/// Tags of every resource of this stack and environment, in one paginated
/// `GetResources` call.
async fn stack_tags(aws: &AwsCtx, stack: &str, env: &str) -> Result<HashMap<String, Tags>, ProviderError> {
    use crate::aws::{ClassifyExt, TAG_ENV, TAG_STACK};
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let mut out = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        aws.count_call();
        let resp = aws
            .tagging
            .get_resources()
            .tag_filters(TagFilter::builder().key(TAG_STACK).values(stack).build())
            .tag_filters(TagFilter::builder().key(TAG_ENV).values(env).build())
            // The largest pages the API allows (moto's default pages hold
            // 100 tags, some 20 of gantry's resources).
            .resources_per_page(100)
            .tags_per_page(500)
            .set_pagination_token(token.clone())
            .send()
            .await
            .classify("tagging:GetResources")?;
        for mapping in resp.resource_tag_mapping_list() {
            let Some(arn) = mapping.resource_arn() else { continue };
            let tags: Tags = mapping.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
            out.insert(arn.to_string(), tags);
        }
        token = resp.pagination_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// One resource to read back from AWS.
pub struct ReadRequest {
    pub id: String,
    /// What state last recorded: lets a read skip sub-resources nobody
    /// configured (a table without TTL need not call DescribeTimeToLive).
    pub prior: Attrs,
}

/// The result of a create.
pub struct Created {
    pub id: String,
    pub attrs: Attrs,
}

/// One AWS resource type.
///
/// Attribute maps handed in (`desired`) are complete: every settable
/// attribute of the schema is present (null when unset), with defaults
/// applied, and `tags_all` holds the user's and the provider's default tags.
/// Maps handed back must hold every attribute of the schema, computed ones
/// included. `tags_all` returned by reads excludes `gantry:` tags.
#[async_trait]
pub trait ResourceType: Send + Sync {
    fn schema(&self) -> &Schema;

    /// The id a resource with these arguments will have, when the id is a
    /// name the user chose (parameter name, bucket, table, repository). Used to
    /// adopt what an interrupted create made, and by `import`.
    fn id_from_config(&self, desired: &Attrs) -> Option<String>;

    /// For types whose name the provider generates when the configuration
    /// gives none (`name` omitted, `name_prefix`, `bucket_prefix`): which
    /// arguments hold the name and the prefix. The engine then generates the
    /// name before the create and journals it; the create finds it set.
    fn name_rule(&self) -> Option<naming::NameRule> {
        None
    }

    /// Finds an object an interrupted create made, by its ownership tags
    /// (`gantry:stack`, `gantry:env`, `gantry:address`), for types whose id
    /// is not a name the user chose (EC2 instances). `None` when the type
    /// cannot search by tag or nothing matches.
    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        let _ = (aws, owner_tags);
        Ok(None)
    }

    /// The live tags of an object of this type with the given id (`live`
    /// holds what a read returned), gantry's own tags included: tells whether
    /// an object found after a create of unknown outcome is this stack's.
    /// `None` for types that carry no tags.
    async fn owner_tags_of(&self, aws: &AwsCtx, id: &str, live: &Attrs) -> Result<Option<Tags>, ProviderError> {
        let _ = (aws, id, live);
        Ok(None)
    }

    /// Whether the create call itself attaches the ownership tags. When it
    /// does not (S3 tags a bucket in a second call), the journal records
    /// whether the name was free just before the create, which is then what
    /// proves an object found under that name is ours.
    fn tags_on_create(&self) -> bool {
        true
    }

    /// Reads many resources of this type at once, batching where the API
    /// allows. Returns one entry per request, in order; `None` means gone.
    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError>;

    /// Creates the resource. `owner_tags` (gantry:stack/env/address) must be
    /// attached in the create call itself where the API allows, so that what a
    /// crash leaves behind can be found.
    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError>;

    /// Updates in place. Only called when no force-new attribute changed.
    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError>;

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError>;
}

/// A data source (`data "aws_region" "current" {}`).
#[async_trait]
pub trait DataSource: Send + Sync {
    fn schema(&self) -> &Schema;
    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError>;
}

/// A data source's result as a value of the stack language. Attributes the
/// schema marks sensitive (an SSM parameter's `value`) carry the sensitive
/// mark, so nothing derived from them is ever shown or stored.
pub fn data_value(schema: &Schema, attrs: &Attrs) -> crate::value::Value {
    let value = attrs
        .iter()
        .map(|(k, v)| {
            let sensitive = schema.attr(k).is_some_and(|a| a.sensitive);
            (k.clone(), crate::value::Value::from_json(v).marked_if(sensitive))
        })
        .collect();
    crate::value::Value::Map(value)
}

/// Looks up a resource type by its Terraform name.
pub fn resource_type(name: &str) -> Option<&'static dyn ResourceType> {
    registry::RESOURCES.iter().copied().find(|r| r.schema().type_name == name)
}

/// Looks up a data source by its Terraform name.
pub fn data_source(name: &str) -> Option<&'static dyn DataSource> {
    registry::DATA_SOURCES.iter().copied().find(|r| r.schema().type_name == name)
}

/// Why a resource type that stacks commonly use is refused, and what to use
/// instead; `None` for types gantry has simply not met.
pub fn unsupported_type_hint(name: &str) -> Option<&'static str> {
    match name {
        // Its point is a secret that later plans can still read and pass on.
        // gantry keeps only a keyed hash of secrets in state, so the second
        // plan would have nothing to hand to the resources that use it.
        "random_password" => Some(
            "random_password is not supported: its result would have to be stored in state for later plans to \
             use it, and gantry never stores a secret in state. Generate the secret outside the stack and pass it \
             in as a sensitive variable (TF_VAR_name), for example into an aws_ssm_parameter of type SecureString \
             that the app reads.",
        ),
        _ => None,
    }
}

/// Names of every supported resource type, for error messages.
pub fn resource_type_names() -> Vec<&'static str> {
    registry::RESOURCES.iter().map(|r| r.schema().type_name).collect()
}

pub fn data_source_names() -> Vec<&'static str> {
    registry::DATA_SOURCES.iter().map(|r| r.schema().type_name).collect()
}

mod registry;
