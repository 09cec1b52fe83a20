//! gantry's schemas of the EC2-neighbour types against the Terraform AWS
//! provider's, recorded by scripts/record-provider-schema-ec2.sh in
//! tests/fixtures/provider-schema-ec2/aws.json. Every argument and block of
//! the provider is supported, or listed in [`OMITTED`] with the AWS or
//! emulator behaviour that makes leaving it out the right call.

use serde_json::Value;

use super::{resource_type, Presence};

const FIXTURE: &str = include_str!("../../tests/fixtures/provider-schema-ec2/aws.json");

/// (type, argument or block, why gantry leaves it out).
const OMITTED: &[(&str, &str, &str)] = &[
    (
        "aws_security_group_rule",
        "timeouts",
        "AuthorizeSecurityGroupIngress/Egress take effect when they return; there is nothing to wait for",
    ),
    (
        "aws_eip",
        "timeouts",
        "AllocateAddress, AssociateAddress and ReleaseAddress are synchronous; the one wait (an instance \
         letting go of the address) has a fixed limit",
    ),
    (
        "aws_eip",
        "vpc",
        "deprecated by the provider for `domain`; AWS retired EC2-Classic in 2023, so every address is \
         domain = \"vpc\"",
    ),
    (
        "aws_eip",
        "customer_owned_ipv4_pool",
        "customer-owned IP pools exist only on AWS Outposts, which the emulator does not model",
    ),
    (
        "aws_eip",
        "ipam_pool_id",
        "allocating from an IPAM pool needs a provisioned public IPv4 IPAM pool; moto's AllocateAddress \
         ignores IpamPoolId, so the path could not be tested",
    ),
];

fn provider_types() -> serde_json::Map<String, Value> {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap_or_default();
    fixture["resource_schemas"].as_object().cloned().unwrap_or_default()
}

fn omitted(type_name: &str, name: &str) -> bool {
    OMITTED.iter().any(|(t, n, _)| *t == type_name && *n == name)
}

#[test]
fn every_recorded_type_is_supported() {
    let types = provider_types();
    assert!(types.len() >= 7, "the fixture lists {} types", types.len());
    for name in types.keys() {
        assert!(resource_type(name).is_some(), "{name} is recorded but not supported");
    }
}

#[test]
fn every_provider_argument_and_block_is_supported_or_omitted_on_purpose() {
    for (type_name, block) in provider_types() {
        let Some(rt) = resource_type(&type_name) else { continue };
        let schema = rt.schema();
        let attrs = block["attributes"].as_object().cloned().unwrap_or_default();
        for (name, spec) in &attrs {
            if omitted(&type_name, name) {
                assert!(schema.attr(name).is_none(), "{type_name}.{name} is both supported and omitted");
                continue;
            }
            let Some(ours) = schema.attr(name) else {
                panic!("{type_name}.{name} is neither supported nor in OMITTED");
            };
            let flag = |f: &str| spec[f].as_bool().unwrap_or(false);
            if flag("required") {
                assert_eq!(ours.presence, Presence::Required, "{type_name}.{name} is required by the provider");
            }
            if flag("computed") && !flag("optional") {
                assert_eq!(ours.presence, Presence::Computed, "{type_name}.{name} is computed only");
            }
            if !flag("computed") && flag("optional") {
                assert_eq!(ours.presence, Presence::Optional, "{type_name}.{name} is optional, not computed");
            }
            assert_eq!(ours.sensitive, flag("sensitive"), "{type_name}.{name} sensitivity");
        }
        let blocks = block["block_types"].as_object().cloned().unwrap_or_default();
        for name in blocks.keys() {
            assert!(
                schema.block(name).is_some() || omitted(&type_name, name),
                "block {type_name}.{name} is neither supported nor in OMITTED"
            );
        }
        // Nothing of ours that the provider lacks (a typo would pass validate
        // here and fail `terraform validate`).
        for ours in &schema.attrs {
            assert!(attrs.contains_key(ours.name), "{type_name}.{} is not an attribute of the provider", ours.name);
        }
    }
}

#[test]
fn omissions_name_recorded_arguments() {
    let types = provider_types();
    for (type_name, name, why) in OMITTED {
        let block = &types[*type_name];
        let known = block["attributes"].get(*name).is_some() || block["block_types"].get(*name).is_some();
        assert!(known, "{type_name}.{name} is omitted but the provider has no such argument");
        assert!(!why.is_empty());
    }
}
