//! Names the provider generates when a configuration leaves them out:
//! `name`, else `name_prefix` + a unique suffix, else `terraform-` + one.

use std::sync::atomic::{AtomicU32, Ordering};

use super::support::get_nonempty_str;
use super::Attrs;

/// The provider's start of a generated name when no prefix is given.
pub const DEFAULT_PREFIX: &str = "terraform-";

/// `prefix` + UTC time to the microsecond + a counter, like the provider's
/// unique names: distinct within one process and sorted by creation.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    format!("{prefix}{}{n:08x}", chrono::Utc::now().format("%Y%m%d%H%M%S%6f"))
}

/// The name a create uses: the `name` argument, else one generated from the
/// `name_prefix` argument, else from [`DEFAULT_PREFIX`].
pub fn name_or_generated(desired: &Attrs, name: &str, prefix: &str) -> String {
    match (get_nonempty_str(desired, name), get_nonempty_str(desired, prefix)) {
        (Some(name), _) => name.to_string(),
        (None, Some(prefix)) => unique_name(prefix),
        (None, None) => unique_name(DEFAULT_PREFIX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_name_wins_then_the_prefix_then_the_default() {
        let args = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert_eq!(name_or_generated(&args(json!({"name": "app", "name_prefix": "x-"})), "name", "name_prefix"), "app");
        let prefixed = name_or_generated(&args(json!({"name": null, "name_prefix": "web-"})), "name", "name_prefix");
        assert!(prefixed.starts_with("web-") && prefixed.len() == "web-".len() + 20 + 8, "{prefixed}");
        let default = name_or_generated(&args(json!({})), "name", "name_prefix");
        assert!(default.starts_with("terraform-"), "{default}");
        assert_ne!(unique_name("a-"), unique_name("a-"));
    }
}
