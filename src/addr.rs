//! Typed resource addresses: `aws_ssm_parameter.port`, `data.aws_region.current`,
//! `aws_dynamodb_table.t["users"]`, `aws_s3_bucket.b[0]`.
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

/// A resource block: `aws_iam_role.app` or `data.aws_region.current`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddr {
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
        ResourceAddr { mode: Mode::Managed, rtype: rtype.into(), name: name.into() }
    }

    pub fn data(rtype: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceAddr { mode: Mode::Data, rtype: rtype.into(), name: name.into() }
    }

    pub fn instance(&self, key: InstanceKey) -> InstanceAddr {
        InstanceAddr { resource: self.clone(), key }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
#[error("invalid address {input:?}: {reason} (expected TYPE.NAME, TYPE.NAME[0], TYPE.NAME[\"key\"] or data.TYPE.NAME)")]
pub struct AddrParseError {
    pub input: String,
    pub reason: &'static str,
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl FromStr for ResourceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError { input: input.to_string(), reason };
        let (mode, rest) = match input.strip_prefix("data.") {
            Some(rest) => (Mode::Data, rest),
            None => (Mode::Managed, input),
        };
        let (rtype, name) = rest.split_once('.').ok_or_else(|| err("missing resource name"))?;
        if !is_ident(rtype) || !is_ident(name) {
            return Err(err("type and name must be identifiers"));
        }
        Ok(ResourceAddr { mode, rtype: rtype.to_string(), name: name.to_string() })
    }
}

impl FromStr for InstanceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError { input: input.to_string(), reason };
        let (base, key) = match input.find('[') {
            None => (input, InstanceKey::None),
            Some(open) => {
                let inner = input[open..]
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .ok_or_else(|| err("unterminated index"))?;
                let key = if inner.starts_with('"') {
                    let key: String = serde_json::from_str(inner).map_err(|_| err("bad string key"))?;
                    InstanceKey::Key(key)
                } else {
                    InstanceKey::Index(inner.parse().map_err(|_| err("index must be a number or a quoted string"))?)
                };
                (&input[..open], key)
            }
        };
        let resource =
            base.parse::<ResourceAddr>().map_err(|e| AddrParseError { input: input.to_string(), reason: e.reason })?;
        Ok(InstanceAddr { resource, key })
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
        ] {
            let addr: InstanceAddr = s.parse().unwrap();
            assert_eq!(addr.to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for s in ["aws_ssm_parameter", "a.b[", "a.b[x]", "1a.b", ""] {
            assert!(s.parse::<InstanceAddr>().is_err(), "{s}");
        }
    }

    #[test]
    fn orders_by_type_then_name_then_key() {
        let a: InstanceAddr = "aws_a.x[1]".parse().unwrap();
        let b: InstanceAddr = "aws_a.x[2]".parse().unwrap();
        let c: InstanceAddr = "aws_b.a".parse().unwrap();
        assert!(a < b && b < c);
    }
}
