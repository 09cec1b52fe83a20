//! Hash and identifier functions: digests of strings (files are in
//! `filesystem`), `uuid`, `uuidv5` and `bcrypt`.

use base64::Engine as _;
use sha2::{Digest, Sha256, Sha512};

use super::{int_arg, str_arg, Cx, FnError, R};
use crate::value::Value;

/// The digest algorithms Terraform offers, shared with the `file*` variants.
#[derive(Clone, Copy)]
pub(super) enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Hash {
    pub(super) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Md5 => <md5::Md5 as md5::Digest>::digest(data).to_vec(),
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

pub(super) fn hex_of(hash: Hash, data: &[u8]) -> Value {
    Value::String(hex::encode(hash.digest(data)))
}

pub(super) fn base64_of(hash: Hash, data: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(hash.digest(data)))
}

pub(super) fn md5(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(hex_of(Hash::Md5, str_arg(&a, 0)?.as_bytes()))
}

pub(super) fn sha1(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(hex_of(Hash::Sha1, str_arg(&a, 0)?.as_bytes()))
}

pub(super) fn sha256(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(hex_of(Hash::Sha256, str_arg(&a, 0)?.as_bytes()))
}

pub(super) fn sha512(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(hex_of(Hash::Sha512, str_arg(&a, 0)?.as_bytes()))
}

pub(super) fn base64sha256(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(base64_of(Hash::Sha256, str_arg(&a, 0)?.as_bytes()))
}

pub(super) fn base64sha512(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(base64_of(Hash::Sha512, str_arg(&a, 0)?.as_bytes()))
}

pub(super) fn uuid(_: &mut Cx, _: Vec<Value>) -> R {
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

pub(super) fn uuidv5(_: &mut Cx, a: Vec<Value>) -> R {
    let ns = str_arg(&a, 0)?;
    let namespace = match ns.as_str() {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other).map_err(|_| {
            FnError::call("the namespace must be \"dns\", \"url\", \"oid\", \"x500\" or a UUID".to_string())
        })?,
    };
    let name = str_arg(&a, 1)?;
    Ok(Value::String(uuid::Uuid::new_v5(&namespace, name.as_bytes()).to_string()))
}

/// bcrypt reads at most this many bytes; Go's implementation, which
/// Terraform uses, refuses longer passwords instead of ignoring the rest.
const BCRYPT_MAX_BYTES: usize = 72;

/// Go's (and so Terraform's) default cost; the bcrypt crate's is 12.
const BCRYPT_DEFAULT_COST: u32 = 10;

pub(super) fn bcrypt(_: &mut Cx, a: Vec<Value>) -> R {
    let password = str_arg(&a, 0)?;
    let cost = if a.len() > 1 { int_arg(&a, 1)? } else { i64::from(BCRYPT_DEFAULT_COST) };
    if cost > 31 {
        return Err(FnError::call(format!("the cost {cost} is outside the allowed range 4 to 31")));
    }
    // As in Go's bcrypt, a cost below the minimum means the default.
    let cost = if cost < 4 { BCRYPT_DEFAULT_COST } else { cost as u32 };
    if password.len() > BCRYPT_MAX_BYTES {
        return Err(FnError::arg(0, format!("bcrypt takes at most {BCRYPT_MAX_BYTES} bytes")));
    }
    let hash = bcrypt::hash_with_result(password.as_bytes(), cost).map_err(|e| FnError::call(e.to_string()))?;
    Ok(Value::String(hash.format_for_version(bcrypt::Version::TwoA)))
}
