//! The list of supported resource types and data sources.

use super::data_sources::{CallerIdentity, Region};
use super::dynamodb_table::DynamodbTable;
use super::ecr_lifecycle_policy::EcrLifecyclePolicy;
use super::ecr_repository::EcrRepository;
use super::ecr_repository_policy::EcrRepositoryPolicy;
use super::iam_instance_profile::IamInstanceProfile;
use super::iam_openid_connect_provider::IamOpenidConnectProvider;
use super::iam_policy::IamPolicy;
use super::iam_role::IamRole;
use super::iam_role_policies_exclusive::IamRolePoliciesExclusive;
use super::iam_role_policy::IamRolePolicy;
use super::iam_role_policy_attachment::IamRolePolicyAttachment;
use super::iam_role_policy_attachments_exclusive::IamRolePolicyAttachmentsExclusive;
use super::instance::Instance;
use super::s3_bucket::S3Bucket;
use super::s3_bucket_acl::S3BucketAcl;
use super::s3_bucket_cors_configuration::S3BucketCorsConfiguration;
use super::s3_bucket_lifecycle_configuration::S3BucketLifecycleConfiguration;
use super::s3_bucket_logging::S3BucketLogging;
use super::s3_bucket_ownership_controls::S3BucketOwnershipControls;
use super::s3_bucket_policy::S3BucketPolicy;
use super::s3_bucket_public_access_block::S3BucketPublicAccessBlock;
use super::s3_bucket_server_side_encryption_configuration::S3BucketServerSideEncryptionConfiguration;
use super::s3_bucket_versioning::S3BucketVersioning;
use super::s3_bucket_website_configuration::S3BucketWebsiteConfiguration;
use super::security_group::SecurityGroup;
use super::ssm_parameter::SsmParameter;
use super::{DataSource, ResourceType};

pub(super) static RESOURCES: &[&(dyn ResourceType + 'static)] = &[
    &SsmParameter,
    &S3Bucket,
    &S3BucketVersioning,
    &S3BucketPublicAccessBlock,
    &S3BucketServerSideEncryptionConfiguration,
    &S3BucketPolicy,
    &S3BucketOwnershipControls,
    &S3BucketAcl,
    &S3BucketLifecycleConfiguration,
    &S3BucketLogging,
    &S3BucketCorsConfiguration,
    &S3BucketWebsiteConfiguration,
    &DynamodbTable,
    &EcrRepository,
    &EcrLifecyclePolicy,
    &EcrRepositoryPolicy,
    &IamOpenidConnectProvider,
    &IamRole,
    &IamPolicy,
    &IamRolePolicy,
    &IamRolePolicyAttachment,
    &IamRolePoliciesExclusive,
    &IamRolePolicyAttachmentsExclusive,
    &IamInstanceProfile,
    &SecurityGroup,
    &Instance,
];

pub(super) static DATA_SOURCES: &[&(dyn DataSource + 'static)] = &[&CallerIdentity, &Region];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Presence;

    #[test]
    fn every_schema_has_a_computed_id_and_a_unique_name() {
        let mut names = Vec::new();
        let schemas = RESOURCES.iter().map(|r| r.schema()).chain(DATA_SOURCES.iter().map(|d| d.schema()));
        for schema in schemas {
            let id = schema.attr("id").map(|a| a.presence);
            assert_eq!(id, Some(Presence::Computed), "{}", schema.type_name);
            names.push(schema.type_name);
        }
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn only_optional_attributes_have_defaults() {
        for schema in RESOURCES.iter().map(|r| r.schema()) {
            let nested = schema.blocks.iter().flat_map(|b| b.attrs.iter());
            for attr in schema.attrs.iter().chain(nested) {
                if attr.default.is_some() {
                    assert_eq!(attr.presence, Presence::Optional, "{}.{}", schema.type_name, attr.name);
                }
            }
        }
    }
}
