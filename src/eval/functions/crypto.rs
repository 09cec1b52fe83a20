//! Hash functions.

use super::{str_arg, Cx, R};
use crate::value::Value;
use base64::Engine as _;
use sha2::{Digest, Sha256};

pub(super) fn sha256(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(hex::encode(Sha256::digest(str_arg(&a, 0)?.as_bytes()))))
}

pub(super) fn base64sha256(_: &mut Cx, a: Vec<Value>) -> R {
    let digest = Sha256::digest(str_arg(&a, 0)?.as_bytes());
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(digest)))
}
