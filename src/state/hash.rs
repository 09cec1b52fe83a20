//! Keyed hashes of sensitive values. State and saved plans keep only these:
//! comparing hashes of the live and the desired value detects a change without
//! storing either. The key is random per state lineage, so equal secrets in
//! two environments hash differently and precomputed tables are useless.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "hmac-sha256:";

#[derive(Clone)]
pub struct SecretHasher {
    key: Vec<u8>,
}

impl SecretHasher {
    pub fn new(hex_key: &str) -> SecretHasher {
        SecretHasher { key: hex::decode(hex_key).unwrap_or_else(|_| hex_key.as_bytes().to_vec()) }
    }

    /// Hash of a JSON value (canonical text: serde_json writes object keys in
    /// insertion order, so callers pass values built the same way each time).
    pub fn hash(&self, value: &serde_json::Value) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this arm is unreachable in practice.
            Err(_) => return format!("{PREFIX}invalid-key"),
        };
        mac.update(value.to_string().as_bytes());
        format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_hash_different_key_different_hash() {
        let a = SecretHasher::new("00ff");
        let b = SecretHasher::new("01ff");
        let v = serde_json::json!("canary");
        assert_eq!(a.hash(&v), a.hash(&v));
        assert_ne!(a.hash(&v), b.hash(&v));
        assert!(!a.hash(&v).contains("canary"));
    }
}
