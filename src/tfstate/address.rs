//! Terraform's way of naming an instance (module path string, mode, type,
//! name, index_key) to gantry's typed addresses, and back.

use serde_json::Value;

use crate::addr::{InstanceAddr, InstanceKey, Mode, ModuleInstance, ResourceAddr};

use super::format::TfResource;

/// The gantry address of one instance of a Terraform resource.
pub fn instance_addr(resource: &TfResource, index_key: Option<&Value>) -> Result<InstanceAddr, String> {
    let module: ModuleInstance = match resource.module.as_deref() {
        None | Some("") => ModuleInstance::root(),
        Some(text) => text.parse().map_err(|e: crate::addr::AddrParseError| e.to_string())?,
    };
    let mode = match resource.mode.as_str() {
        "managed" => Mode::Managed,
        "data" => Mode::Data,
        other => return Err(format!("unknown mode {other:?} (expected managed or data)")),
    };
    let key = match index_key {
        None | Some(Value::Null) => InstanceKey::None,
        Some(Value::String(k)) => InstanceKey::Key(k.clone()),
        Some(Value::Number(n)) => {
            InstanceKey::Index(n.as_i64().ok_or_else(|| format!("index_key {n} is not a whole number"))?)
        }
        Some(other) => return Err(format!("index_key {other} is neither a number nor a string")),
    };
    // Through the parser, so the type and name are checked as identifiers.
    let local: ResourceAddr = format!("{}.{}", resource.rtype, resource.name)
        .parse()
        .map_err(|e: crate::addr::AddrParseError| e.to_string())?;
    Ok(ResourceAddr { module, mode, ..local }.instance(key))
}

/// Terraform's fields for a gantry instance address: module path string
/// (None for the root module) and index_key.
pub fn tf_location(addr: &InstanceAddr) -> (Option<String>, Option<Value>) {
    let module = (!addr.resource.module.is_root()).then(|| addr.resource.module.to_string());
    let key = match &addr.key {
        InstanceKey::None => None,
        InstanceKey::Index(i) => Some(Value::from(*i)),
        InstanceKey::Key(k) => Some(Value::from(k.clone())),
    };
    (module, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(module: Option<&str>, mode: &str) -> TfResource {
        TfResource {
            module: module.map(str::to_string),
            mode: mode.into(),
            rtype: "aws_ssm_parameter".into(),
            name: "slot".into(),
            provider: "provider[\"registry.terraform.io/hashicorp/aws\"]".into(),
            instances: vec![],
        }
    }

    #[test]
    fn maps_modules_keys_and_modes() {
        let r = resource(Some("module.params[\"web\"]"), "managed");
        let a = instance_addr(&r, Some(&Value::from(1))).unwrap();
        assert_eq!(a.to_string(), "module.params[\"web\"].aws_ssm_parameter.slot[1]");
        assert_eq!(tf_location(&a), (Some("module.params[\"web\"]".into()), Some(Value::from(1))));
        let d = instance_addr(&resource(None, "data"), None).unwrap();
        assert_eq!(d.to_string(), "data.aws_ssm_parameter.slot");
        let k = instance_addr(&resource(None, "managed"), Some(&Value::from("a.b"))).unwrap();
        assert_eq!(k.to_string(), "aws_ssm_parameter.slot[\"a.b\"]");
    }

    #[test]
    fn refuses_what_is_no_address() {
        assert!(instance_addr(&resource(Some("module."), "managed"), None).is_err());
        assert!(instance_addr(&resource(None, "other"), None).is_err());
        assert!(instance_addr(&resource(None, "managed"), Some(&Value::from(1.5))).is_err());
        assert!(instance_addr(&resource(None, "managed"), Some(&serde_json::json!([1]))).is_err());
    }
}
