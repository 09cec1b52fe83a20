//! Names the provider makes up when the configuration gives none: `name`
//! omitted, or `name_prefix`/`bucket_prefix`. The engine generates the name
//! before the create and journals it, so that a create cut short is found
//! again by that name (or, for types whose id is not the name, by tags).
//!
//! The shape is the provider's (its `id.PrefixedUniqueId`): the prefix
//! (`terraform-` by default), the UTC time to a ten-thousandth of a second
//! as 18 digits, and a per-process counter as 8 hex digits: 26 characters
//! after the prefix, sorting in the order the names were made.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

use super::support::get_nonempty_str;
use super::Attrs;

/// The provider's prefix when the configuration gives none.
pub const DEFAULT_PREFIX: &str = "terraform-";
/// Characters a generated name adds after its prefix.
pub const SUFFIX_LEN: usize = 26;

/// A type whose name the provider generates when it is not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameRule {
    /// The argument holding the name (`name`, `bucket`, `key_name`).
    pub name: &'static str,
    /// The argument holding a prefix (`name_prefix`, `bucket_prefix`).
    pub prefix: &'static str,
    /// The longest name AWS takes.
    pub max_len: usize,
    /// The longest prefix the provider takes: `max_len` minus
    /// [`SUFFIX_LEN`] unless the provider says otherwise.
    max_prefix: usize,
}

impl NameRule {
    pub const fn new(name: &'static str, prefix: &'static str, max_len: usize) -> NameRule {
        NameRule { name, prefix, max_len, max_prefix: max_len.saturating_sub(SUFFIX_LEN) }
    }

    /// A provider limit on the prefix below what the name's length allows
    /// (log groups: 483, checked with `terraform validate`).
    pub const fn max_prefix(mut self, max: usize) -> NameRule {
        self.max_prefix = max;
        self
    }

    /// The longest prefix the provider takes.
    pub fn max_prefix_len(&self) -> usize {
        self.max_prefix
    }

    /// Why the configured name or prefix cannot be used, if it cannot.
    pub fn check(&self, desired: &Attrs) -> Option<String> {
        if let Some(name) = get_nonempty_str(desired, self.name) {
            if get_nonempty_str(desired, self.prefix).is_some() {
                return Some(format!("`{}` and `{}` conflict: set one of them", self.name, self.prefix));
            }
            if name.len() > self.max_len {
                return Some(format!(
                    "`{}` is {} characters long; AWS takes at most {}",
                    self.name,
                    name.len(),
                    self.max_len
                ));
            }
        } else if let Some(prefix) = get_nonempty_str(desired, self.prefix) {
            if prefix.len() > self.max_prefix_len() {
                return Some(format!(
                    "`{}` is {} characters long; at most {} leave room for the {SUFFIX_LEN} characters of the generated suffix",
                    self.prefix,
                    prefix.len(),
                    self.max_prefix_len()
                ));
            }
        }
        None
    }

    /// Whether the configuration leaves the name to be generated.
    pub fn needs_name(&self, desired: &Attrs) -> bool {
        get_nonempty_str(desired, self.name).is_none()
    }

    /// A fresh name from the configured prefix (or the default one).
    pub fn generate(&self, desired: &Attrs) -> String {
        unique_name(get_nonempty_str(desired, self.prefix).unwrap_or(DEFAULT_PREFIX))
    }

    /// The prefix a read reports: the one state recorded, or for an import
    /// (nothing recorded) the one the name shows it was made from, as the
    /// provider does.
    pub fn prefix_to_report(&self, prior: &Attrs, name: &str) -> Value {
        if prior.contains_key(self.name) || prior.contains_key(self.prefix) {
            return prior.get(self.prefix).cloned().unwrap_or(Value::Null);
        }
        prefix_of(name).map(Value::from).unwrap_or(Value::Null)
    }
}

/// `prefix` followed by the provider's time-ordered unique suffix.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    let now = chrono::Utc::now();
    let ten_thousandths = now.timestamp_subsec_nanos() / 100_000;
    format!("{prefix}{}{:04}{n:08x}", now.format("%Y%m%d%H%M%S"), ten_thousandths.min(9999))
}

/// The prefix a generated name was made from; `None` when the name does
/// not end in a generated suffix (or is nothing but one).
pub fn prefix_of(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(SUFFIX_LEN).filter(|n| *n > 0)?;
    let (prefix, suffix) = (name.get(..cut)?, name.get(cut..)?);
    let (stamp, counter) = suffix.split_at(18);
    (stamp.bytes().all(|b| b.is_ascii_digit()) && counter.bytes().all(|b| b.is_ascii_hexdigit())).then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn names_have_the_providers_shape_and_order() {
        let a = unique_name("web-");
        let b = unique_name("web-");
        assert_eq!(a.len(), "web-".len() + SUFFIX_LEN, "{a}");
        assert!(a.starts_with("web-20"), "{a}");
        assert!(a["web-".len()..].bytes().take(18).all(|c| c.is_ascii_digit()), "{a}");
        assert!(a < b, "{a} then {b}");
        assert_eq!(prefix_of(&a), Some("web-"));
        assert_eq!(prefix_of("my-bucket"), None);
        assert_eq!(prefix_of(&unique_name("")), None);
    }

    #[test]
    fn a_rule_generates_from_the_prefix_or_the_default() {
        let rule = NameRule::new("bucket", "bucket_prefix", 63);
        let prefixed = attrs(json!({"bucket": null, "bucket_prefix": "logs-"}));
        assert!(rule.needs_name(&prefixed));
        assert!(rule.generate(&prefixed).starts_with("logs-2"));
        let bare = attrs(json!({"bucket": null, "bucket_prefix": null}));
        assert!(rule.generate(&bare).starts_with("terraform-2"));
        assert!(!rule.needs_name(&attrs(json!({"bucket": "b"}))));
    }

    #[test]
    fn prefixes_must_leave_room_for_the_suffix() {
        let rule = NameRule::new("bucket", "bucket_prefix", 63);
        assert_eq!(rule.max_prefix_len(), 37);
        assert!(rule.check(&attrs(json!({"bucket_prefix": "a".repeat(37)}))).is_none());
        let err = rule.check(&attrs(json!({"bucket_prefix": "a".repeat(38)}))).unwrap_or_default();
        assert!(err.contains("at most 37"), "{err}");
        let err = rule.check(&attrs(json!({"bucket": "a".repeat(64)}))).unwrap_or_default();
        assert!(err.contains("at most 63"), "{err}");
        let logs = NameRule::new("name", "name_prefix", 512).max_prefix(483);
        assert!(logs.check(&attrs(json!({"name_prefix": "a".repeat(483)}))).is_none());
        assert!(logs.check(&attrs(json!({"name_prefix": "a".repeat(484)}))).is_some());
        let err = rule.check(&attrs(json!({"bucket": "b", "bucket_prefix": "p"}))).unwrap_or_default();
        assert!(err.contains("conflict"), "{err}");
    }

    #[test]
    fn reads_report_the_recorded_prefix_or_the_one_the_name_shows() {
        let rule = NameRule::new("name", "name_prefix", 64);
        let name = unique_name("app-");
        let recorded = attrs(json!({"name": name, "name_prefix": null}));
        assert_eq!(rule.prefix_to_report(&recorded, &name), Value::Null);
        assert_eq!(rule.prefix_to_report(&Attrs::new(), &name), json!("app-"));
        assert_eq!(rule.prefix_to_report(&Attrs::new(), "plain"), Value::Null);
    }
}
