//! `random_id` (random provider): `byte_length` random bytes, shown in four
//! encodings. As in the provider, `id` is the unpadded URL-safe base64 of
//! the bytes and the other encodings carry `prefix` in front. Import takes
//! that `id`, or `PREFIX,ID`.

use std::sync::LazyLock;

use async_trait::async_trait;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use serde_json::Value;

use super::random_support::{int_arg, is_refresh, keepers, read_prior, unchanged};
use super::support::{complete, get_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ProviderError, Tags};

const TYPE_NAME: &str = "random_id";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("byte_length", Ty::Number).force_new(),
            Attr::optional("prefix", Ty::String).force_new(),
            keepers(),
            Attr::computed("b64_url", Ty::String),
            Attr::computed("b64_std", Ty::String),
            Attr::computed("hex", Ty::String),
            Attr::computed("dec", Ty::String),
        ],
    )
});

pub struct RandomId;

#[async_trait]
impl ResourceType for RandomId {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    async fn read(&self, _ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        requests
            .iter()
            .map(|req| if is_refresh(req) { Ok(Some(read_prior(&SCHEMA, req))) } else { imported(&req.id).map(Some) })
            .collect()
    }

    async fn create(&self, _aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let length = int_arg(desired, "byte_length", 1, TYPE_NAME)?;
        let mut bytes = vec![0u8; length as usize];
        rand::rng().fill_bytes(&mut bytes);
        let mut attrs = encodings(&bytes, get_str(desired, "prefix").unwrap_or_default());
        for name in ["byte_length", "prefix", "keepers"] {
            attrs.insert(name.into(), desired.get(name).cloned().unwrap_or(Value::Null));
        }
        let id = URL_SAFE_NO_PAD.encode(&bytes);
        Ok(Created { id, attrs: complete(&SCHEMA, attrs) })
    }

    async fn update(
        &self,
        _aws: &AwsCtx,
        _id: &str,
        prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        Ok(unchanged(&SCHEMA, prior, desired))
    }

    async fn delete(&self, _aws: &AwsCtx, _id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// The computed attributes of `bytes`.
fn encodings(bytes: &[u8], prefix: &str) -> Attrs {
    let id = URL_SAFE_NO_PAD.encode(bytes);
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(id.clone()));
    attrs.insert("b64_url".into(), Value::from(format!("{prefix}{id}")));
    attrs.insert("b64_std".into(), Value::from(format!("{prefix}{}", STANDARD.encode(bytes))));
    attrs.insert("hex".into(), Value::from(format!("{prefix}{}", hex::encode(bytes))));
    attrs.insert("dec".into(), Value::from(format!("{prefix}{}", decimal(bytes))));
    attrs
}

/// `ID` or `PREFIX,ID`, as the provider's import takes it.
fn imported(import_id: &str) -> Result<Attrs, ProviderError> {
    let (prefix, id) = match import_id.split_once(',') {
        Some((prefix, id)) => (prefix, id),
        None => ("", import_id),
    };
    let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|e| {
        ProviderError::Invalid(format!(
            "{TYPE_NAME}: the import id must be the b64_url value (unpadded URL-safe base64), \
             optionally after PREFIX and a comma: {e}"
        ))
    })?;
    if bytes.is_empty() {
        return Err(ProviderError::Invalid(format!("{TYPE_NAME}: the import id holds no bytes")));
    }
    let mut attrs = encodings(&bytes, prefix);
    attrs.insert("byte_length".into(), Value::from(bytes.len()));
    attrs.insert("prefix".into(), if prefix.is_empty() { Value::Null } else { Value::from(prefix) });
    Ok(complete(&SCHEMA, attrs))
}

/// The bytes as one big-endian unsigned number in decimal, without
/// leading zeros ("0" for all-zero bytes).
fn decimal(bytes: &[u8]) -> String {
    // Base 10^9 limbs, least significant first: each byte multiplies the
    // number by 256 and adds itself.
    const LIMB: u64 = 1_000_000_000;
    let mut limbs: Vec<u64> = vec![0];
    for &byte in bytes {
        let mut carry = u64::from(byte);
        for limb in limbs.iter_mut() {
            let v = *limb * 256 + carry;
            *limb = v % LIMB;
            carry = v / LIMB;
        }
        while carry > 0 {
            limbs.push(carry % LIMB);
            carry /= LIMB;
        }
    }
    let mut out = limbs.last().map(|l| l.to_string()).unwrap_or_default();
    for limb in limbs.iter().rev().skip(1) {
        out.push_str(&format!("{limb:09}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_the_big_endian_number() {
        assert_eq!(decimal(&[0]), "0");
        assert_eq!(decimal(&[0, 0, 1]), "1");
        assert_eq!(decimal(&[1, 0]), "256");
        assert_eq!(decimal(&[0xff; 8]), u64::MAX.to_string());
        // 2^128 - 1, beyond any machine integer.
        assert_eq!(decimal(&[0xff; 16]), "340282366920938463463374607431768211455");
        assert_eq!(decimal(&[0x3b, 0x9a, 0xca, 0x00]), "1000000000");
    }

    #[test]
    fn encodings_follow_the_provider() {
        let attrs = encodings(&[0xfb, 0xff, 0x00, 0x10], "p-");
        assert_eq!(attrs["id"], "-_8AEA");
        assert_eq!(attrs["b64_url"], "p--_8AEA");
        assert_eq!(attrs["b64_std"], "p-+/8AEA==");
        assert_eq!(attrs["hex"], "p-fbff0010");
        assert_eq!(attrs["dec"], format!("p-{}", 0xfbff0010u32));
    }

    #[test]
    fn import_takes_an_id_with_an_optional_prefix() {
        let plain = imported("-_8AEA").unwrap_or_default();
        assert_eq!(plain["byte_length"], 4);
        assert_eq!(plain["prefix"], Value::Null);
        assert_eq!(plain["hex"], "fbff0010");
        let prefixed = imported("srv-,-_8AEA").unwrap_or_default();
        assert_eq!(prefixed["id"], "-_8AEA");
        assert_eq!(prefixed["prefix"], "srv-");
        assert_eq!(prefixed["hex"], "srv-fbff0010");
        assert!(imported("not base64!").is_err());
        assert!(imported("").is_err());
    }

    #[tokio::test]
    async fn create_makes_byte_length_bytes() {
        let config = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
        // Building clients makes no request; the create makes none either.
        let aws = crate::aws::AwsCtx::from_config(&config);
        let desired: Attrs =
            serde_json::from_value(serde_json::json!({"byte_length": 8.0, "prefix": null})).unwrap_or_default();
        let a = RandomId.create(&aws, &desired, &Tags::new()).await.ok().map(|c| c.attrs).unwrap_or_default();
        let b = RandomId.create(&aws, &desired, &Tags::new()).await.ok().map(|c| c.attrs).unwrap_or_default();
        assert_eq!(a["hex"].as_str().map(str::len), Some(16));
        assert_eq!(a["b64_url"].as_str().map(str::len), Some(11));
        assert_ne!(a["hex"], b["hex"]);
    }
}
