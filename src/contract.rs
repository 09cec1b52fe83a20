//! The app's environment contract: which variables the app needs, of what
//! type, and which are secrets. Checked against the SSM parameters of an
//! environment before anything runs (`gantry exec`, and deploys), so a
//! missing or malformed setting stops the rollout instead of the app.
//!
//! Problems name keys and what is wrong, never values: a value may be a secret.

use std::collections::BTreeMap;

/// The type of one environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyType {
    String,
    Number,
    /// "true" or "false" (FEATURE_* flags).
    Bool,
    /// A TCP port, 1 to 65535.
    Port,
    /// One of the listed values.
    Enum(Vec<String>),
}

impl KeyType {
    pub fn parse(name: &str, values: Vec<String>) -> Option<KeyType> {
        Some(match name {
            "string" => KeyType::String,
            "number" => KeyType::Number,
            "bool" => KeyType::Bool,
            "port" => KeyType::Port,
            "enum" => KeyType::Enum(values),
            _ => return None,
        })
    }

    fn accepts(&self, value: &str) -> bool {
        match self {
            KeyType::String => true,
            KeyType::Number => value.trim().parse::<f64>().is_ok_and(f64::is_finite),
            KeyType::Bool => value == "true" || value == "false",
            KeyType::Port => value.parse::<u16>().is_ok_and(|p| p > 0),
            KeyType::Enum(values) => values.iter().any(|v| v == value),
        }
    }

    fn describe(&self) -> String {
        match self {
            KeyType::String => "a string".into(),
            KeyType::Number => "a number".into(),
            KeyType::Bool => "true or false".into(),
            KeyType::Port => "a port number (1-65535)".into(),
            KeyType::Enum(values) => format!("one of {}", values.join(", ")),
        }
    }
}

/// One entry of the contract: a key, or a pattern ending in `*`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractKey {
    pub pattern: String,
    pub ty: KeyType,
    /// Must be present (patterns are never required).
    pub required: bool,
    /// Its value must come from a SecureString parameter.
    pub secret: bool,
    pub min_length: Option<usize>,
}

impl ContractKey {
    pub fn matches(&self, key: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == self.pattern,
        }
    }
}

/// A parameter as the contract sees it.
#[derive(Debug, Clone)]
pub struct Setting {
    pub value: String,
    /// Stored as a SecureString.
    pub encrypted: bool,
    /// SSM's version of the parameter (0 where unknown).
    pub version: i64,
}

/// What is wrong with an environment's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Checks settings against the contract. Keys the contract does not mention
/// are not problems (the app may read more than it declares).
pub fn check(contract: &[ContractKey], settings: &BTreeMap<String, Setting>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for entry in contract.iter().filter(|c| c.required && !c.pattern.ends_with('*')) {
        if !settings.contains_key(&entry.pattern) {
            problems.push(Problem { key: entry.pattern.clone(), message: "is required but not set".into() });
        }
    }
    for (key, setting) in settings {
        let Some(entry) = contract.iter().find(|c| c.matches(key)) else { continue };
        if !entry.ty.accepts(&setting.value) {
            problems.push(Problem { key: key.clone(), message: format!("must be {}", entry.ty.describe()) });
        }
        if let Some(min) = entry.min_length {
            if setting.value.chars().count() < min {
                problems.push(Problem { key: key.clone(), message: format!("must be at least {min} characters long") });
            }
        }
        if entry.secret && !setting.encrypted {
            problems.push(Problem {
                key: key.clone(),
                message: "is a secret but stored as plain text: make it a SecureString".into(),
            });
        }
    }
    problems.sort_by(|a, b| a.key.cmp(&b.key));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pattern: &str, ty: KeyType) -> ContractKey {
        ContractKey { pattern: pattern.into(), ty, required: true, secret: false, min_length: None }
    }

    fn settings(pairs: &[(&str, &str, bool)]) -> BTreeMap<String, Setting> {
        pairs
            .iter()
            .map(|(k, v, e)| (k.to_string(), Setting { value: v.to_string(), encrypted: *e, version: 1 }))
            .collect()
    }

    #[test]
    fn reports_missing_wrongly_typed_and_unencrypted_keys_without_values() {
        let contract = vec![
            key("PORT", KeyType::Port),
            key("APP_ENV", KeyType::Enum(vec!["dev".into(), "staging".into(), "prod".into()])),
            ContractKey { secret: true, min_length: Some(32), ..key("SESSION_SECRET", KeyType::String) },
            ContractKey { required: false, ..key("FEATURE_*", KeyType::Bool) },
            key("DYNAMODB_USERS_TABLE", KeyType::String),
        ];
        let problems = check(
            &contract,
            &settings(&[
                ("PORT", "http", false),
                ("APP_ENV", "production", false),
                ("SESSION_SECRET", "short-canary", false),
                ("FEATURE_2FA", "yes", false),
                ("EXTRA", "whatever", false),
            ]),
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["APP_ENV", "DYNAMODB_USERS_TABLE", "FEATURE_2FA", "PORT", "SESSION_SECRET", "SESSION_SECRET"]
        );
        assert!(problems.iter().all(|p| !p.message.contains("canary") && !p.message.contains("production")));
    }

    #[test]
    fn a_complete_environment_passes() {
        let contract =
            vec![key("PORT", KeyType::Port), ContractKey { required: false, ..key("FEATURE_*", KeyType::Bool) }];
        assert!(check(&contract, &settings(&[("PORT", "5001", false), ("FEATURE_X", "true", false)])).is_empty());
    }
}
