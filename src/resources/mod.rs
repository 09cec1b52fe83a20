//! Resource types: one file per Terraform resource type, all behind
//! [`ResourceType`]. The engine never calls the AWS SDK directly; it calls
//! these, which keeps the engine testable and the AWS quirks in one place.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::aws::{AwsCtx, ProviderError, Tags};

pub mod schema;
pub(crate) mod support;

mod data_sources;
mod dynamodb_table;
mod ecr_repository;
mod iam_instance_profile;
mod iam_openid_connect_provider;
mod iam_role;
mod iam_role_policy;
mod iam_role_policy_attachment;
mod instance;
mod s3_bucket;
mod s3_bucket_public_access_block;
mod s3_bucket_server_side_encryption_configuration;
mod s3_bucket_versioning;
mod security_group;
mod ssm_parameter;

pub use schema::{Attr, BlockSchema, Presence, Schema, Ty};

/// Attributes as stored in state: Terraform's attribute names, JSON values,
/// nested blocks as lists of objects.
pub type Attrs = serde_json::Map<String, serde_json::Value>;

/// Everything a read needs besides the resource's id.
pub struct ReadCtx<'a> {
    pub aws: &'a AwsCtx,
    /// Live tags by ARN, fetched for the whole stack in one paginated
    /// Resource Groups Tagging `GetResources` call. A resource whose ARN is
    /// missing here (ECR, or something imported and not yet tagged) reads its
    /// tags itself.
    pub tags_by_arn: &'a HashMap<String, Tags>,
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

/// Looks up a resource type by its Terraform name.
pub fn resource_type(name: &str) -> Option<&'static dyn ResourceType> {
    registry::RESOURCES.iter().copied().find(|r| r.schema().type_name == name)
}

/// Looks up a data source by its Terraform name.
pub fn data_source(name: &str) -> Option<&'static dyn DataSource> {
    registry::DATA_SOURCES.iter().copied().find(|r| r.schema().type_name == name)
}

/// Names of every supported resource type, for error messages.
pub fn resource_type_names() -> Vec<&'static str> {
    registry::RESOURCES.iter().map(|r| r.schema().type_name).collect()
}

pub fn data_source_names() -> Vec<&'static str> {
    registry::DATA_SOURCES.iter().map(|r| r.schema().type_name).collect()
}

mod registry;
