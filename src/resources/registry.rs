//! The list of supported resource types and data sources.

use super::cloudwatch_log_group::CloudwatchLogGroup;
use super::data::{
    ami, availability_zones, caller_identity, canonical_user_id, ecr_repository, iam_openid_connect_provider,
    iam_policy, iam_policy_document, iam_role, partition, region, s3_bucket, security_group, ssm_parameter, subnets,
    vpc,
};
use super::dynamodb_table::DynamodbTable;
use super::ecr_lifecycle_policy::ECR_LIFECYCLE_POLICY;
use super::ecr_repository::EcrRepository;
use super::ecr_repository_policy::ECR_REPOSITORY_POLICY;
use super::eip::Eip;
use super::eip_association::EipAssociation;
use super::iam_instance_profile::IamInstanceProfile;
use super::iam_openid_connect_provider::IamOpenidConnectProvider;
use super::iam_policy::IamPolicy;
use super::iam_role::IamRole;
use super::iam_role_policies_exclusive::IAM_ROLE_POLICIES_EXCLUSIVE;
use super::iam_role_policy::IamRolePolicy;
use super::iam_role_policy_attachment::IamRolePolicyAttachment;
use super::iam_role_policy_attachments_exclusive::IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE;
use super::instance::Instance;
use super::key_pair::KeyPair;
use super::random_id::RandomId;
use super::random_pet::RandomPet;
use super::random_string::RandomString;
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
use super::security_group_rule::SecurityGroupRuleType;
use super::ssm_parameter::SsmParameter;
use super::vpc_security_group_rule;
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
    &ECR_LIFECYCLE_POLICY,
    &ECR_REPOSITORY_POLICY,
    &IamOpenidConnectProvider,
    &IamRole,
    &IamPolicy,
    &IamRolePolicy,
    &IamRolePolicyAttachment,
    &IAM_ROLE_POLICIES_EXCLUSIVE,
    &IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
    &IamInstanceProfile,
    &SecurityGroup,
    &SecurityGroupRuleType,
    &vpc_security_group_rule::INGRESS,
    &vpc_security_group_rule::EGRESS,
    &Instance,
    &Eip,
    &EipAssociation,
    &KeyPair,
    &CloudwatchLogGroup,
    &RandomId,
    &RandomPet,
    &RandomString,
];

pub(super) static DATA_SOURCES: &[&(dyn DataSource + 'static)] = &[
    &caller_identity::CallerIdentity,
    &region::Region,
    &partition::AwsPartition,
    &iam_policy_document::IamPolicyDocument,
    &availability_zones::AvailabilityZones,
    &ami::Ami,
    &vpc::Vpc,
    &subnets::Subnets,
    &ssm_parameter::SsmParameter,
    &iam_policy::IamPolicy,
    &iam_role::IamRole,
    &ecr_repository::EcrRepository,
    &s3_bucket::S3Bucket,
    &canonical_user_id::CanonicalUserId,
    &security_group::SecurityGroup,
    &iam_openid_connect_provider::IamOpenidConnectProvider,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Presence;

    #[test]
    fn every_schema_has_a_computed_id_and_a_unique_name() {
        fn assert_unique(mut names: Vec<&str>) {
            let count = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), count);
        }
        for schema in RESOURCES.iter().map(|r| r.schema()) {
            let id = schema.attr("id").map(|a| a.presence);
            assert_eq!(id, Some(Presence::Computed), "{}", schema.type_name);
        }
        // Some data sources look an object up by its id (`data "aws_vpc"`).
        for schema in DATA_SOURCES.iter().map(|d| d.schema()) {
            let id = schema.attr("id").map(|a| a.presence);
            assert!(matches!(id, Some(Presence::Computed | Presence::OptionalComputed)), "{}", schema.type_name);
        }
        // A data source may share its name with a resource type (aws_iam_role).
        assert_unique(RESOURCES.iter().map(|r| r.schema().type_name).collect());
        assert_unique(DATA_SOURCES.iter().map(|d| d.schema().type_name).collect());
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
