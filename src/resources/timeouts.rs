//! The `timeouts { create = "40m" }` block the provider gives types that
//! wait for AWS: each key (create, update, delete, read where the provider
//! has it) is a Go duration, and becomes the limit of that operation's
//! waiter. Changing only a timeout is no change of the object (Terraform
//! keeps timeouts out of the diff too).

use std::time::Duration;

use super::support::single_block;
use super::{Attr, Attrs, BlockSchema, Ty};

/// The block's name, in schemas and in attribute maps.
pub const BLOCK: &str = "timeouts";

/// The block with the keys the provider gives the type.
pub fn block(keys: &[&'static str]) -> BlockSchema {
    BlockSchema::single(BLOCK, keys.iter().map(|k| Attr::optional(k, Ty::String)).collect())
}

/// The limit for `key` (`create`, `update`, `delete`): the configured
/// duration, else the provider's default. A value that does not parse was
/// refused at plan; here it falls back to the default.
pub fn limit(attrs: &Attrs, key: &str, default: Duration) -> Duration {
    single_block(attrs, BLOCK)
        .and_then(|b| b.get(key))
        .and_then(|v| v.as_str())
        .and_then(|s| parse_duration(s).ok())
        .unwrap_or(default)
}

/// The first value of the block that is not a duration, with why.
pub fn problem(attrs: &Attrs) -> Option<String> {
    let block = single_block(attrs, BLOCK)?;
    block.iter().find_map(|(key, value)| {
        let text = value.as_str()?;
        parse_duration(text).err().map(|why| format!("timeouts.{key} = {text:?} is not a duration: {why}"))
    })
}

/// Go's `time.ParseDuration`, which the provider uses: a sequence of
/// decimal numbers, each with an optional fraction and a unit (`ns`, `us`,
/// `µs`, `ms`, `s`, `m`, `h`), such as `30m`, `1h30m` or `1.5h`. Negative
/// durations make no sense as limits and are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const UNITS: &[(&str, f64)] =
        &[("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];
    let body = text.strip_prefix('+').unwrap_or(text);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() || body.starts_with('-') {
        return Err("expected a positive number with a unit, such as 30m or 1h30m".into());
    }
    let mut rest = body;
    let mut seconds = 0.0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let value: f64 = number.parse().map_err(|_| format!("expected a number at {rest:?}"))?;
        // The longest unit that matches (`ms` before `m`).
        let Some((unit, factor)) =
            UNITS.iter().filter(|(u, _)| tail.starts_with(u)).max_by_key(|(u, _)| u.len()).copied()
        else {
            return Err(format!("missing or unknown unit after {number:?} (use ns, us, ms, s, m or h)"));
        };
        seconds += value * factor;
        rest = &tail[unit.len()..];
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "10", "m", "10x", "-5m", "1..5h", "ten minutes"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn limits_come_from_the_block_or_the_default() {
        let default = Duration::from_secs(600);
        let attrs = json!({"timeouts": [{"create": "2m", "delete": null}]}).as_object().cloned().unwrap();
        assert_eq!(limit(&attrs, "create", default), Duration::from_secs(120));
        assert_eq!(limit(&attrs, "delete", default), default);
        assert_eq!(limit(&Attrs::new(), "create", default), default);
    }

    #[test]
    fn a_value_that_is_not_a_duration_is_named() {
        let attrs = json!({"timeouts": [{"create": "2 minutes"}]}).as_object().cloned().unwrap();
        let problem = problem(&attrs).unwrap_or_default();
        assert!(problem.starts_with("timeouts.create = \"2 minutes\" is not a duration"), "{problem}");
        let fine = json!({"timeouts": [{"create": "2m"}]}).as_object().cloned().unwrap();
        assert_eq!(super::problem(&fine), None);
    }
}
