//! Keeps what state last recorded where AWS answers with a different
//! spelling of the same thing, so that a read only differs from state when
//! AWS really holds something else: an unset flag read back as `false`, an
//! unset number as `0`, an empty `filter {}` block as no block, a date
//! `2030-01-01T00:00:00Z` read back as `2030-01-01T00:00:00.000Z`.

use serde_json::Value;

/// Null, false, 0, "", or a collection of nothing but such values.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(is_zero),
        Value::Object(map) => map.values().all(is_zero),
    }
}

/// The same instant written two ways (RFC 3339).
fn same_date(a: &str, b: &str) -> bool {
    use aws_smithy_types::date_time::{DateTime, Format};
    match (DateTime::from_str(a, Format::DateTime), DateTime::from_str(b, Format::DateTime)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `live`, except where `prior` says the same thing in other words: there
/// the prior's value is kept. Objects are settled key by key, lists item by
/// item (blocks are lists of objects).
pub fn settle(live: Value, prior: Option<&Value>) -> Value {
    let Some(prior) = prior else { return live };
    if is_zero(&live) && is_zero(prior) {
        return prior.clone();
    }
    match (live, prior) {
        (Value::String(a), Value::String(b)) if same_date(&a, b) => Value::String(b.clone()),
        (Value::Object(live), Value::Object(prior)) => Value::Object(
            live.into_iter()
                .map(|(k, v)| {
                    let p = prior.get(&k);
                    (k, settle(v, p))
                })
                .collect(),
        ),
        (Value::Array(live), Value::Array(prior)) => {
            Value::Array(live.into_iter().enumerate().map(|(i, v)| settle(v, prior.get(i))).collect())
        }
        (live, _) => live,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equivalent_spellings_keep_the_prior_value() {
        let live = json!({"filter": [{"prefix": ""}], "days": 0, "flag": false, "date": "2030-01-01T00:00:00.000Z"});
        let prior = json!({"filter": [], "days": null, "flag": null, "date": "2030-01-01T00:00:00Z"});
        assert_eq!(settle(live, Some(&prior)), prior);
    }

    #[test]
    fn real_differences_stay() {
        let live = json!({"days": 30, "prefix": "logs/", "date": "2031-01-01T00:00:00Z", "flag": true});
        let prior = json!({"days": 7, "prefix": null, "date": "2030-01-01T00:00:00Z", "flag": null});
        assert_eq!(settle(live.clone(), Some(&prior)), live);
        assert_eq!(settle(live.clone(), None), live);
    }
}
