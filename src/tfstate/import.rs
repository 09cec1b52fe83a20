//! A Terraform state, mapped to gantry's: each managed instance of a type
//! gantry supports becomes a resource in state under the same address, with
//! the attributes of gantry's schema, sensitive values sealed (keyed hash
//! only) and its dependencies. What cannot be carried over is listed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::addr::{InstanceAddr, Mode, ResourceAddr};
use crate::plan::compare::seal;
use crate::resources::{self, Attrs};
use crate::state::{OutputState, ResourceState, SecretHasher};

use super::address::instance_addr;
use super::error::TfStateError;
use super::format::{TfInstance, TfState};
use super::rules::{rules_of, Rule};

/// What the stack's configuration says about an address.
pub trait ConfigView {
    /// Whether the stack declares this instance (its resource block, and a
    /// key matching its count/for_each).
    fn declares(&self, addr: &InstanceAddr) -> bool;
    /// Attributes the configuration sets from a sensitive variable.
    fn sensitive_attrs(&self, addr: &InstanceAddr) -> Vec<String>;
    /// What the resource references in the configuration.
    fn dependencies(&self, addr: &InstanceAddr) -> Option<Vec<ResourceAddr>>;
}

/// Something in the Terraform state that is not imported.
#[derive(Debug, Clone, PartialEq)]
pub struct LeftOut {
    pub address: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Imported {
    pub resources: Vec<ResourceState>,
    pub outputs: BTreeMap<String, OutputState>,
    /// How many values were replaced by their keyed hash.
    pub sealed: usize,
    /// Managed objects gantry would not manage: refused unless partial.
    pub unmanaged: Vec<LeftOut>,
    /// Data sources: gantry reads them again on every plan.
    pub data_sources: Vec<String>,
    /// Notes on what was imported (a tainted object).
    pub notes: Vec<String>,
}

/// Hash kept for an attribute whose value gantry's first refresh reads
/// from AWS and seals (an instance's secret user_data): never a real hash,
/// so a plan without refresh shows a change rather than hiding one.
pub const UNREAD_PLACEHOLDER: &str = "unread: sealed on the first refresh";

/// Maps a whole Terraform state. `path` names the file in errors.
pub fn import(
    tf: &TfState,
    path: &str,
    hasher: &SecretHasher,
    config: &dyn ConfigView,
) -> Result<Imported, TfStateError> {
    let mut out = Imported::default();
    for resource in &tf.resources {
        for instance in &resource.instances {
            let addr =
                instance_addr(resource, instance.index_key.as_ref()).map_err(|reason| TfStateError::Address {
                    path: path.to_string(),
                    address: format!("{}.{}", resource.rtype, resource.name),
                    reason,
                })?;
            if addr.resource.mode == Mode::Data {
                out.data_sources.push(addr.to_string());
                continue;
            }
            let Some(rt) = resources::resource_type(&resource.rtype) else {
                let reason = match resources::unsupported_type_hint(&resource.rtype) {
                    Some(_) => format!("gantry does not support {} (it would keep a secret in state)", resource.rtype),
                    None => format!("gantry does not support {}", resource.rtype),
                };
                out.unmanaged.push(LeftOut { address: addr.to_string(), reason });
                continue;
            };
            if let Some(key) = &instance.deposed {
                out.unmanaged.push(LeftOut {
                    address: format!("{addr} (deposed object {key})"),
                    reason: "an old object a create_before_destroy replace left behind; let Terraform delete it first"
                        .into(),
                });
                continue;
            }
            if !config.declares(&addr) {
                out.unmanaged.push(LeftOut {
                    address: addr.to_string(),
                    reason: "the stack's .tf files do not declare it; a gantry plan would destroy it".into(),
                });
                continue;
            }
            if instance.status.as_deref() == Some("tainted") {
                out.notes.push(format!(
                    "{addr} is tainted in Terraform; gantry imports it as it is and will not replace it"
                ));
            }
            let (state, sealed) = resource_state(rt.schema(), &addr, instance, hasher, config, path)?;
            out.sealed += sealed;
            out.resources.push(state);
        }
    }
    for (name, output) in &tf.outputs {
        let state = if output.sensitive {
            out.sealed += 1;
            OutputState { value: Value::Null, sensitive: true, hash: Some(hasher.hash(&output.value)) }
        } else {
            OutputState { value: output.value.clone(), sensitive: false, hash: None }
        };
        out.outputs.insert(name.clone(), state);
    }
    Ok(out)
}

/// One managed instance; returns it with the number of values sealed.
fn resource_state(
    schema: &crate::resources::Schema,
    addr: &InstanceAddr,
    instance: &TfInstance,
    hasher: &SecretHasher,
    config: &dyn ConfigView,
    path: &str,
) -> Result<(ResourceState, usize), TfStateError> {
    // Only what gantry's schema knows: the provider's other attributes
    // (timeouts, name_prefix, arguments gantry does not take) are null or
    // computed in a state gantry's stacks can produce.
    let mut attrs: Attrs = instance
        .attributes
        .iter()
        .filter(|(name, _)| schema.attr(name).is_some() || schema.block(name).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut sensitive: Vec<String> = instance.sensitive_names();
    sensitive.extend(config.sensitive_attrs(addr));
    let mut placeholders = BTreeMap::new();
    for (name, rule) in rules_of(schema.type_name) {
        match rule {
            Rule::Sha1Digest => {
                attrs.remove(name);
                if sensitive.iter().any(|s| s == name) {
                    placeholders.insert(name.to_string(), UNREAD_PLACEHOLDER.to_string());
                }
            }
        }
    }
    let mut hashes = seal(schema, &mut attrs, sensitive, hasher);
    let sealed = hashes.len();
    for (name, placeholder) in placeholders {
        hashes.entry(name).or_insert(placeholder);
    }
    let id = attrs.get("id").and_then(Value::as_str).map(str::to_string).ok_or_else(|| TfStateError::Address {
        path: path.to_string(),
        address: addr.to_string(),
        reason: "its attributes have no \"id\"".into(),
    })?;
    let dependencies = match config.dependencies(addr) {
        Some(deps) => deps,
        None => instance
            .dependencies
            .iter()
            .map(|d| {
                d.parse::<ResourceAddr>().map_err(|e| TfStateError::Address {
                    path: path.to_string(),
                    address: addr.to_string(),
                    reason: format!("dependency {d:?}: {e}"),
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let state = ResourceState {
        address: addr.clone(),
        rtype: schema.type_name.to_string(),
        id,
        attributes: attrs,
        sensitive_attributes: hashes,
        dependencies,
    };
    Ok((state, sealed))
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A configuration that declares everything and marks nothing.
    pub struct Everything;
    impl ConfigView for Everything {
        fn declares(&self, _: &InstanceAddr) -> bool {
            true
        }
        fn sensitive_attrs(&self, _: &InstanceAddr) -> Vec<String> {
            Vec::new()
        }
        fn dependencies(&self, _: &InstanceAddr) -> Option<Vec<ResourceAddr>> {
            None
        }
    }

    pub fn everything() -> Everything {
        Everything
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfstate::parse::parse;

    const SMALL: &str = include_str!("../../tests/fixtures/tfstate/small/terraform.tfstate");
    const CANARY: &str = "tfimport-canary-5e1f0c7a";

    use super::tests_support::Everything;

    fn imported() -> Imported {
        let tf = parse("t", SMALL).unwrap();
        import(&tf, "t", &SecretHasher::new("00ff"), &Everything).unwrap()
    }

    #[test]
    fn every_managed_instance_keeps_its_address_and_id() {
        let out = imported();
        let addrs: Vec<String> = out.resources.iter().map(|r| r.address.to_string()).collect();
        assert_eq!(addrs.len(), 14, "{addrs:?}");
        for a in [
            "aws_instance.app",
            "aws_vpc_security_group_ingress_rule.http",
            "module.params[\"web\"].aws_ssm_parameter.slot[1]",
            "module.params[\"worker\"].aws_ssm_parameter.slot[0]",
        ] {
            assert!(addrs.contains(&a.to_string()), "{a} missing from {addrs:?}");
        }
        let policy = out.resources.iter().find(|r| r.rtype == "aws_iam_role_policy").unwrap();
        assert_eq!(policy.id, "tfimport-app:read-params");
        assert_eq!(policy.dependencies, vec!["aws_iam_role.app".parse().unwrap()]);
        assert_eq!(out.data_sources, vec!["data.aws_region.current"]);
        assert!(out.unmanaged.is_empty());
    }

    #[test]
    fn secrets_are_sealed_and_never_kept() {
        let out = imported();
        let text = serde_json::to_string(&out.resources).unwrap();
        assert!(!text.contains(CANARY));
        let secret = out.resources.iter().find(|r| r.id == "/tfimport/session_secret").unwrap();
        assert_eq!(secret.attributes["value"], Value::Null);
        let hasher = SecretHasher::new("00ff");
        assert_eq!(secret.sensitive_attributes["value"], hasher.hash(&Value::from(CANARY)));
        // Five parameter values; the outputs are not sensitive.
        assert_eq!(out.sealed, 5);
    }

    #[test]
    fn user_data_digest_is_left_for_the_first_refresh() {
        let out = imported();
        let instance = out.resources.iter().find(|r| r.rtype == "aws_instance").unwrap();
        assert!(!instance.attributes.contains_key("user_data"));
        assert!(instance.sensitive_attributes.is_empty());
        assert!(!instance.attributes.contains_key("user_data_replace_on_change"), "not in gantry's schema");
    }

    #[test]
    fn unsupported_deposed_and_undeclared_instances_are_listed() {
        let mut tf = parse("t", SMALL).unwrap();
        let mut extra = tf.resources[0].clone();
        extra.mode = "managed".into();
        extra.rtype = "random_password".into();
        extra.name = "db".into();
        tf.resources.push(extra);
        tf.resources[1].instances[0].deposed = Some("00000001".into());
        struct NoBucket;
        impl ConfigView for NoBucket {
            fn declares(&self, addr: &InstanceAddr) -> bool {
                addr.resource.rtype != "aws_s3_bucket"
            }
            fn sensitive_attrs(&self, _: &InstanceAddr) -> Vec<String> {
                Vec::new()
            }
            fn dependencies(&self, _: &InstanceAddr) -> Option<Vec<ResourceAddr>> {
                None
            }
        }
        let out = import(&tf, "t", &SecretHasher::new("00"), &NoBucket).unwrap();
        let listed: Vec<&str> = out.unmanaged.iter().map(|l| l.address.as_str()).collect();
        assert_eq!(listed.len(), 3, "{listed:?}");
        assert!(listed.contains(&"random_password.db"));
        assert!(listed.contains(&"aws_s3_bucket.assets"));
        assert!(listed.iter().any(|l| l.contains("deposed object 00000001")));
    }

    #[test]
    fn secret_user_data_waits_for_refresh_under_a_placeholder() {
        struct SecretUserData;
        impl ConfigView for SecretUserData {
            fn declares(&self, _: &InstanceAddr) -> bool {
                true
            }
            fn sensitive_attrs(&self, addr: &InstanceAddr) -> Vec<String> {
                if addr.resource.rtype == "aws_instance" {
                    vec!["user_data".into()]
                } else {
                    Vec::new()
                }
            }
            fn dependencies(&self, _: &InstanceAddr) -> Option<Vec<ResourceAddr>> {
                None
            }
        }
        let tf = parse("t", SMALL).unwrap();
        let out = import(&tf, "t", &SecretHasher::new("00"), &SecretUserData).unwrap();
        let instance = out.resources.iter().find(|r| r.rtype == "aws_instance").unwrap();
        assert_eq!(instance.sensitive_attributes["user_data"], UNREAD_PLACEHOLDER);
        assert!(!instance.attributes.contains_key("user_data"));
    }
}
