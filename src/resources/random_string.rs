//! `random_string` (random provider): `length` characters drawn from the
//! enabled classes (upper, lower, numeric, special, or `override_special`
//! in place of the default specials). As in the provider, each `min_*`
//! count of its class is drawn first, whether or not the class is enabled,
//! the rest from the enabled classes, and the whole shuffled. `result` is
//! not secret (that is `random_password`, which gantry refuses; see
//! `unsupported_type_hint`). `number` is the provider's deprecated spelling
//! of `numeric`. Import takes the string itself, with every other argument
//! at its default (the provider's documented behaviour).

use std::sync::LazyLock;

use async_trait::async_trait;
use rand::seq::{IndexedRandom, SliceRandom};
use serde_json::Value;

use super::random_support::{int_arg, is_refresh, keepers, read_prior, unchanged};
use super::support::{complete, get_bool, get_i64, get_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ProviderError, Tags};

const TYPE_NAME: &str = "random_string";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const NUMERIC: &str = "0123456789";
/// The provider's default special characters.
const SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";
const MINIMUMS: [&str; 4] = ["min_upper", "min_lower", "min_numeric", "min_special"];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let mut attrs = vec![
        Attr::computed("id", Ty::String),
        Attr::required("length", Ty::Number).force_new(),
        Attr::optional("special", Ty::Bool).default(true).force_new(),
        Attr::optional("upper", Ty::Bool).default(true).force_new(),
        Attr::optional("lower", Ty::Bool).default(true).force_new(),
        Attr::optional("numeric", Ty::Bool).default(true).force_new(),
        Attr::optional("number", Ty::Bool).force_new(),
        Attr::optional("override_special", Ty::String).force_new(),
        keepers(),
        Attr::computed("result", Ty::String),
    ];
    attrs.extend(MINIMUMS.iter().map(|name| Attr::optional(name, Ty::Number).default(0).force_new()));
    Schema::new(TYPE_NAME, attrs)
});

pub struct RandomString;

#[async_trait]
impl ResourceType for RandomString {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    async fn read(&self, _ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        Ok(requests
            .iter()
            .map(|req| Some(if is_refresh(req) { read_prior(&SCHEMA, req) } else { imported(&req.id) }))
            .collect())
    }

    async fn create(&self, _aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let result = generate(&Rules::from(desired)?)?;
        let mut attrs = Attrs::new();
        for attr in SCHEMA.attrs.iter().filter(|a| a.is_settable()) {
            attrs.insert(attr.name.into(), desired.get(attr.name).cloned().unwrap_or(Value::Null));
        }
        attrs.insert("id".into(), Value::from(result.clone()));
        attrs.insert("result".into(), Value::from(result.clone()));
        Ok(Created { id: result, attrs: complete(&SCHEMA, attrs) })
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

/// What a string must be made of.
#[derive(Debug)]
struct Rules {
    length: usize,
    /// The characters the rest is drawn from.
    pool: Vec<char>,
    /// (class, how many of it at least).
    minimums: Vec<(Vec<char>, usize)>,
}

impl Rules {
    fn from(desired: &Attrs) -> Result<Rules, ProviderError> {
        let length = int_arg(desired, "length", 1, TYPE_NAME)? as usize;
        let flag = |name: &str| get_bool(desired, name).unwrap_or(true);
        // `numeric` always arrives set (its default is true), so an explicit
        // `number` cannot be told from a clash with it: the old spelling,
        // when written, decides.
        let numeric = get_bool(desired, "number").or(get_bool(desired, "numeric")).unwrap_or(true);
        let special: Vec<char> = match get_str(desired, "override_special").filter(|s| !s.is_empty()) {
            Some(chars) => chars.chars().collect(),
            None => SPECIAL.chars().collect(),
        };
        let classes = [
            (flag("upper"), UPPER.chars().collect::<Vec<_>>()),
            (flag("lower"), LOWER.chars().collect()),
            (numeric, NUMERIC.chars().collect()),
            (flag("special"), special),
        ];
        let mut pool = Vec::new();
        let mut minimums = Vec::new();
        for ((enabled, chars), min_name) in classes.into_iter().zip(MINIMUMS) {
            let min = match get_i64(desired, min_name) {
                Some(n) if n >= 0 => n as usize,
                None => 0,
                Some(n) => {
                    return Err(ProviderError::Invalid(format!("{TYPE_NAME}: \"{min_name}\" cannot be negative ({n})")))
                }
            };
            if enabled {
                pool.extend(chars.iter().copied());
            }
            if min > 0 {
                minimums.push((chars, min));
            }
        }
        let required: usize = minimums.iter().map(|(_, n)| n).sum();
        if required > length {
            return Err(ProviderError::Invalid(format!(
                "{TYPE_NAME}: \"length\" ({length}) is less than the sum of the min_* arguments ({required})"
            )));
        }
        if pool.is_empty() && required < length {
            return Err(ProviderError::Invalid(format!(
                "{TYPE_NAME}: upper, lower, numeric and special are all false: there is nothing to draw from"
            )));
        }
        Ok(Rules { length, pool, minimums })
    }
}

fn generate(rules: &Rules) -> Result<String, ProviderError> {
    let mut rng = rand::rng();
    let mut chars: Vec<char> = Vec::with_capacity(rules.length);
    for (class, n) in &rules.minimums {
        chars.extend((0..*n).filter_map(|_| class.choose(&mut rng).copied()));
    }
    while chars.len() < rules.length {
        let Some(c) = rules.pool.choose(&mut rng) else {
            return Err(ProviderError::Invalid(format!("{TYPE_NAME}: no characters to draw from")));
        };
        chars.push(*c);
    }
    chars.shuffle(&mut rng);
    Ok(chars.into_iter().collect())
}

/// An imported string: the arguments at their defaults, `length` its length.
fn imported(result: &str) -> Attrs {
    let mut attrs = Attrs::new();
    for attr in SCHEMA.attrs.iter().filter(|a| a.is_settable()) {
        attrs.insert(attr.name.into(), attr.default.clone().unwrap_or(Value::Null));
    }
    attrs.insert("length".into(), Value::from(result.chars().count()));
    attrs.insert("id".into(), Value::from(result));
    attrs.insert("result".into(), Value::from(result));
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(v: Value) -> Result<Rules, ProviderError> {
        Rules::from(&v.as_object().cloned().unwrap_or_default())
    }

    fn count(s: &str, class: &str) -> usize {
        s.chars().filter(|c| class.contains(*c)).count()
    }

    #[test]
    fn strings_have_the_length_and_the_alphabet_asked_for() {
        let r = rules(json!({"length": 40, "special": false, "upper": false})).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..20 {
            let s = generate(&r).unwrap_or_default();
            assert_eq!(s.chars().count(), 40);
            assert!(s.chars().all(|c| LOWER.contains(c) || NUMERIC.contains(c)), "{s}");
        }
    }

    #[test]
    fn minimums_are_met_even_for_disabled_classes() {
        let r = rules(json!({"length": 12, "min_upper": 3, "min_numeric": 4, "min_special": 2, "upper": false}))
            .unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..50 {
            let s = generate(&r).unwrap_or_default();
            assert!(count(&s, UPPER) >= 3, "{s}");
            assert!(count(&s, NUMERIC) >= 4, "{s}");
            assert!(count(&s, SPECIAL) >= 2, "{s}");
        }
    }

    #[test]
    fn override_special_replaces_the_default_specials() {
        let r =
            rules(json!({"length": 30, "upper": false, "lower": false, "numeric": false, "override_special": "/£"}))
                .unwrap_or_else(|e| panic!("{e}"));
        let s = generate(&r).unwrap_or_default();
        assert_eq!(s.chars().count(), 30);
        assert!(s.chars().all(|c| c == '/' || c == '£'), "{s}");
    }

    #[test]
    fn impossible_rules_are_refused() {
        assert!(rules(json!({"length": 3, "min_upper": 2, "min_lower": 2})).is_err());
        assert!(rules(json!({"length": 0})).is_err());
        assert!(
            rules(json!({"length": 4, "upper": false, "lower": false, "numeric": false, "special": false})).is_err()
        );
        // Minimums alone may fill the string.
        assert!(rules(
            json!({"length": 2, "min_upper": 2, "upper": false, "lower": false, "numeric": false, "special": false})
        )
        .is_ok());
    }

    #[test]
    fn number_is_the_old_spelling_of_numeric() {
        // As the engine hands it over: `numeric` at its default.
        let r = rules(json!({"length": 30, "number": false, "numeric": true, "special": false}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count(&r.pool.iter().collect::<String>(), NUMERIC), 0);
    }

    #[test]
    fn import_keeps_the_string_and_takes_defaults() {
        let attrs = imported("añb1");
        assert_eq!(attrs["result"], "añb1");
        assert_eq!(attrs["length"], 4);
        assert_eq!(attrs["special"], true);
        assert_eq!(attrs["min_upper"], 0);
        assert_eq!(attrs["keepers"], Value::Null);
    }
}
