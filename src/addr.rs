//! Typed resource addresses: `aws_ssm_parameter.port`, `data.aws_region.current`,
//! `aws_dynamodb_table.t["users"]`, `aws_s3_bucket.b[0]`, and inside modules
//! `module.app["web"].aws_instance.this[0]`, spelled as Terraform spells them.
//!
//! Addresses are value types with a total order so they can key maps and sort
//! output deterministically; they are never compared as strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Managed resources (`resource`) or data sources (`data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Managed,
    Data,
}

/// One step of a module path: the call's name and, under `count` or
/// `for_each`, the instance's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleStep {
    pub name: String,
    pub key: InstanceKey,
}

/// A module instance: the path of calls from the root module
/// (`module.net.module.sg["web"]`); empty for the root module itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleInstance(pub Vec<ModuleStep>);

impl ModuleInstance {
    pub fn root() -> ModuleInstance {
        ModuleInstance(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The instance of the call `name` (with `key`) inside this one.
    pub fn child(&self, name: &str, key: InstanceKey) -> ModuleInstance {
        let mut steps = self.0.clone();
        steps.push(ModuleStep { name: name.to_string(), key });
        ModuleInstance(steps)
    }

    /// The calling module instance; the root's parent is the root.
    pub fn parent(&self) -> ModuleInstance {
        ModuleInstance(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    pub fn last(&self) -> Option<&ModuleStep> {
        self.0.last()
    }

    /// The call names without keys: which module configuration this is.
    pub fn static_path(&self) -> Vec<&str> {
        self.0.iter().map(|s| s.name.as_str()).collect()
    }

    /// Whether `self` is `other` or inside it.
    pub fn starts_with(&self, other: &ModuleInstance) -> bool {
        self.0.starts_with(&other.0)
    }
}

impl fmt::Display for ModuleInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "module.{}{}", step.name, step.key)?;
        }
        Ok(())
    }
}

/// A resource block: `aws_iam_role.app` or `data.aws_region.current`, in a
/// module instance (the root module for most stacks).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddr {
    pub module: ModuleInstance,
    pub mode: Mode,
    pub rtype: String,
    pub name: String,
}

/// The key of one instance of a resource with `count` or `for_each`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    None,
    Index(i64),
    Key(String),
}

/// One instance of a resource: `aws_ssm_parameter.p["PORT"]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceAddr {
    pub resource: ResourceAddr,
    pub key: InstanceKey,
}

impl ResourceAddr {
    pub fn managed(rtype: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceAddr { module: ModuleInstance::root(), mode: Mode::Managed, rtype: rtype.into(), name: name.into() }
    }

    pub fn data(rtype: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceAddr { module: ModuleInstance::root(), mode: Mode::Data, rtype: rtype.into(), name: name.into() }
    }

    /// The same block in another module instance.
    pub fn in_module(&self, module: &ModuleInstance) -> Self {
        ResourceAddr { module: module.clone(), ..self.clone() }
    }

    /// The address as its own module writes it (`aws_s3_bucket.this`).
    pub fn local(&self) -> Self {
        self.in_module(&ModuleInstance::root())
    }

    pub fn instance(&self, key: InstanceKey) -> InstanceAddr {
        InstanceAddr { resource: self.clone(), key }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_root() {
            write!(f, "{}.", self.module)?;
        }
        if self.mode == Mode::Data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.rtype, self.name)
    }
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::None => Ok(()),
            InstanceKey::Index(i) => write!(f, "[{i}]"),
            InstanceKey::Key(k) => write!(f, "[{}]", serde_json::Value::String(k.clone())),
        }
    }
}

impl fmt::Display for InstanceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.resource, self.key)
    }
}

/// Why an address given on the command line could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid address {input:?}: {reason} (expected TYPE.NAME, TYPE.NAME[0], TYPE.NAME[\"key\"] or data.TYPE.NAME, optionally after module.NAME. or module.NAME[KEY].)")]
pub struct AddrParseError {
    pub input: String,
    pub reason: &'static str,
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Reads an `[0]` or `["key"]` at the start of `text`; returns the key and
/// the rest.
fn parse_key(text: &str) -> Result<(InstanceKey, &str), &'static str> {
    let Some(inner) = text.strip_prefix('[') else { return Ok((InstanceKey::None, text)) };
    if inner.starts_with('"') {
        // A JSON string: find its closing quote, honouring escapes.
        let mut escaped = false;
        let mut close = None;
        for (i, c) in inner.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let close = close.ok_or("unterminated string key")?;
        let key: String = serde_json::from_str(&inner[..=close]).map_err(|_| "bad string key")?;
        let rest = inner[close + 1..].strip_prefix(']').ok_or("unterminated index")?;
        Ok((InstanceKey::Key(key), rest))
    } else {
        let close = inner.find(']').ok_or("unterminated index")?;
        let index = inner[..close].parse().map_err(|_| "index must be a number or a quoted string")?;
        Ok((InstanceKey::Index(index), &inner[close + 1..]))
    }
}

/// Reads the `module.NAME[KEY].` steps at the start of an address.
fn parse_module_prefix(mut text: &str) -> Result<(ModuleInstance, &str), &'static str> {
    let mut steps = Vec::new();
    while let Some(rest) = text.strip_prefix("module.") {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let name = &rest[..end];
        if !is_ident(name) {
            return Err("module names must be identifiers");
        }
        let (key, rest) = parse_key(&rest[end..])?;
        steps.push(ModuleStep { name: name.to_string(), key });
        text = match rest.strip_prefix('.') {
            Some(r) => r,
            None if rest.is_empty() => "",
            None => return Err("expected '.' after a module step"),
        };
    }
    Ok((ModuleInstance(steps), text))
}

impl FromStr for ModuleInstance {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError { input: input.to_string(), reason };
        let (module, rest) = parse_module_prefix(input).map_err(err)?;
        if !rest.is_empty() || input.ends_with('.') {
            return Err(err("a module address is module.NAME, module.NAME[KEY], ..."));
        }
        Ok(module)
    }
}

impl FromStr for ResourceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError { input: input.to_string(), reason };
        let (module, rest) = parse_module_prefix(input).map_err(err)?;
        let (mode, rest) = match rest.strip_prefix("data.") {
            Some(rest) => (Mode::Data, rest),
            None => (Mode::Managed, rest),
        };
        let (rtype, name) = rest.split_once('.').ok_or_else(|| err("missing resource name"))?;
        if !is_ident(rtype) || !is_ident(name) {
            return Err(err("type and name must be identifiers"));
        }
        Ok(ResourceAddr { module, mode, rtype: rtype.to_string(), name: name.to_string() })
    }
}

impl FromStr for InstanceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError { input: input.to_string(), reason };
        let (module, rest) = parse_module_prefix(input).map_err(err)?;
        let (base, key) = match rest.find('[') {
            None => (rest, InstanceKey::None),
            Some(open) => {
                let (key, tail) = parse_key(&rest[open..]).map_err(err)?;
                if !tail.is_empty() {
                    return Err(err("unexpected text after the index"));
                }
                (&rest[..open], key)
            }
        };
        let resource = base.parse::<ResourceAddr>().map_err(|e| err(e.reason))?;
        if !resource.module.is_root() {
            return Err(err("module steps must come first"));
        }
        Ok(InstanceAddr { resource: resource.in_module(&module), key })
    }
}

impl Serialize for InstanceAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for InstanceAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for ResourceAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_display() {
        for s in [
            "aws_ssm_parameter.port",
            "data.aws_region.current",
            "aws_s3_bucket.b[0]",
            "aws_dynamodb_table.t[\"users\"]",
            "module.app.aws_instance.this",
            "module.app[0].aws_instance.this[1]",
            "module.net[\"a.b]\"].module.sg.aws_security_group.this[\"x\"]",
            "module.x.data.aws_region.current",
        ] {
            let addr: InstanceAddr = s.parse().unwrap();
            assert_eq!(addr.to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for s in ["aws_ssm_parameter", "a.b[", "a.b[x]", "1a.b", "", "module.x", "module.x[", "module.1.a.b", "a.b[0]x"]
        {
            assert!(s.parse::<InstanceAddr>().is_err(), "{s}");
        }
    }

    #[test]
    fn orders_by_type_then_name_then_key() {
        let a: InstanceAddr = "aws_a.x[1]".parse().unwrap();
        let b: InstanceAddr = "aws_a.x[2]".parse().unwrap();
        let c: InstanceAddr = "aws_b.a".parse().unwrap();
        assert!(a < b && b < c);
        let m: InstanceAddr = "module.m.aws_a.x".parse().unwrap();
        assert!(c < m, "root resources come before module ones");
    }

    #[test]
    fn module_instances_parse_and_print() {
        let m: ModuleInstance = "module.a[\"k\"].module.b".parse().unwrap();
        assert_eq!(m.static_path(), vec!["a", "b"]);
        assert_eq!(m.to_string(), "module.a[\"k\"].module.b");
        assert_eq!(m.parent().to_string(), "module.a[\"k\"]");
        assert!("module.a.".parse::<ModuleInstance>().is_err());
    }
}
