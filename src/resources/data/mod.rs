//! Data sources: one file per Terraform data source type, all behind
//! [`DataSource`](super::DataSource), plus what several of them share (EC2
//! `filter` blocks, the `timeouts` block the provider accepts).

use aws_sdk_ec2::types::Filter;

use super::support::{block_items, get_str, get_strings, get_tags};
use super::{Attr, Attrs, BlockSchema, Ty};

mod go_json;
mod policy_model;
mod sdk_set;

pub(super) mod ami;
pub(super) mod availability_zones;
pub(super) mod caller_identity;
pub(super) mod canonical_user_id;
pub(super) mod ecr_repository;
pub(super) mod iam_openid_connect_provider;
pub(super) mod iam_policy;
pub(super) mod iam_policy_document;
pub(super) mod iam_role;
pub(super) mod partition;
pub(super) mod region;
pub(super) mod s3_bucket;
pub(super) mod security_group;
pub(super) mod ssm_parameter;
pub(super) mod subnets;
pub(super) mod vpc;

/// `filter { name = "..." values = [...] }`: an EC2 API filter.
pub(crate) fn filter_block() -> BlockSchema {
    BlockSchema::set("filter", vec![Attr::required("name", Ty::String), Attr::required("values", Ty::SetOfString)])
}

/// `timeouts { read = "20m" }`: accepted for compatibility; gantry's calls
/// are bounded by the SDK's retry settings instead.
pub(crate) fn timeouts_block() -> BlockSchema {
    BlockSchema::single("timeouts", vec![Attr::optional("read", Ty::String)])
}

/// The EC2 filters of the `filter` blocks, then one `tag:KEY` filter per
/// entry of the `tags` argument (when the schema has one), then `extra`
/// (filters the data source derives from its own arguments).
pub(crate) fn ec2_filters(args: &Attrs, extra: &[(&str, &str)]) -> Vec<Filter> {
    let mut filters: Vec<Filter> = block_items(args, "filter")
        .into_iter()
        .map(|f| {
            Filter::builder().name(get_str(f, "name").unwrap_or("")).set_values(Some(get_strings(f, "values"))).build()
        })
        .collect();
    for (k, v) in get_tags(args, "tags") {
        filters.push(Filter::builder().name(format!("tag:{k}")).values(v).build());
    }
    for (attr, filter) in extra {
        if let Some(v) = get_str(args, attr).filter(|v| !v.is_empty()) {
            filters.push(Filter::builder().name(*filter).values(v).build());
        }
    }
    filters
}

/// One object out of a search that must match exactly one, with the
/// provider's words for none and for several.
pub(crate) fn exactly_one<T>(mut found: Vec<T>, what: &str, plural: &str) -> Result<T, crate::aws::ProviderError> {
    match found.len() {
        0 => Err(crate::aws::ProviderError::Invalid(format!("no matching {what} found"))),
        1 => Ok(found.remove(0)),
        _ => Err(crate::aws::ProviderError::Invalid(format!(
            "multiple {plural} matched; use additional constraints to reduce matches to a single {what}"
        ))),
    }
}

/// An optional SDK string as a JSON value (null when absent).
pub(crate) fn opt(s: Option<&str>) -> serde_json::Value {
    s.map(serde_json::Value::from).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use crate::resources::{data_source, Attr, BlockSchema, Presence, Ty};

    /// Attributes of the provider's schema gantry does not offer: computed
    /// sets of objects its schema types cannot describe, and values that
    /// would cost extra calls on every read for what stacks rarely use.
    /// Reading one is an "unsupported attribute" error, never a wrong value.
    const NOT_OFFERED: &[(&str, &str)] = &[
        ("aws_ami", "block_device_mappings"),
        ("aws_ami", "product_codes"),
        ("aws_ecr_repository", "encryption_configuration"),
        ("aws_ecr_repository", "image_scanning_configuration"),
        ("aws_ecr_repository", "most_recent_image_tags"),
        ("aws_iam_role", "role_last_used"),
        ("aws_vpc", "cidr_block_associations"),
    ];

    fn ty_of(t: &Value) -> Option<Ty> {
        Some(match t {
            Value::String(s) if s == "string" => Ty::String,
            Value::String(s) if s == "number" => Ty::Number,
            Value::String(s) if s == "bool" => Ty::Bool,
            Value::Array(a) if a.len() == 2 && a[1] == "string" => match a[0].as_str()? {
                "list" => Ty::ListOfString,
                "set" => Ty::SetOfString,
                "map" => Ty::MapOfString,
                _ => return None,
            },
            _ => return None,
        })
    }

    fn presence(a: &Value) -> Presence {
        let flag = |k: &str| a[k].as_bool().unwrap_or(false);
        match (flag("required"), flag("optional"), flag("computed")) {
            (true, _, _) => Presence::Required,
            (_, true, true) => Presence::OptionalComputed,
            (_, true, false) => Presence::Optional,
            _ => Presence::Computed,
        }
    }

    fn compare(what: &str, attrs: &[Attr], blocks: &[BlockSchema], provider: &Value, problems: &mut Vec<String>) {
        let type_name = what.split('.').next().unwrap_or(what);
        let mut theirs: BTreeSet<&str> = BTreeSet::new();
        for (name, a) in provider["attributes"].as_object().unwrap() {
            if NOT_OFFERED.contains(&(type_name, name.as_str())) && !what.contains('.') {
                continue;
            }
            theirs.insert(name);
            let Some(ours) = attrs.iter().find(|x| x.name == name) else {
                problems.push(format!("{what}.{name}: missing"));
                continue;
            };
            if Some(ours.ty) != ty_of(&a["type"]) {
                problems.push(format!("{what}.{name}: type {:?} vs {}", ours.ty, a["type"]));
            }
            // The plugin SDK makes every `id` optional+computed; gantry's
            // is computed unless the data source looks objects up by id.
            let expected = presence(a);
            if ours.presence != expected && !(name == "id" && ours.presence == Presence::Computed) {
                problems.push(format!("{what}.{name}: {:?} vs {:?}", ours.presence, expected));
            }
            if ours.sensitive != a["sensitive"].as_bool().unwrap_or(false) {
                problems.push(format!("{what}.{name}: sensitive differs"));
            }
        }
        for ours in attrs {
            if !theirs.contains(ours.name) {
                problems.push(format!("{what}.{}: not in the provider's schema", ours.name));
            }
        }
        let provider_blocks = provider["block_types"].as_object().unwrap();
        for (name, b) in provider_blocks {
            let Some(ours) = blocks.iter().find(|x| x.name == name) else {
                problems.push(format!("{what}.{name}: block missing"));
                continue;
            };
            let mode = b["nesting_mode"].as_str().unwrap();
            let ok = match mode {
                "set" => ours.is_set,
                "list" => !ours.is_set && ours.max_items != Some(1),
                "single" => ours.max_items == Some(1),
                _ => false,
            };
            if !ok {
                problems.push(format!("{what}.{name}: nesting {mode} differs"));
            }
            compare(&format!("{what}.{name}"), &ours.attrs, &ours.blocks, &b["block"], problems);
        }
        for ours in blocks {
            if !provider_blocks.contains_key(ours.name) {
                problems.push(format!("{what}.{}: block not in the provider's schema", ours.name));
            }
        }
    }

    /// gantry's data source schemas against the provider's, recorded by
    /// scripts/record-data-source-schemas.sh.
    #[test]
    fn schemas_match_the_provider() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data_source_schemas.json");
        let recorded: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut problems = Vec::new();
        for (name, provider) in &recorded {
            let ds = data_source(name).unwrap_or_else(|| panic!("{name} is recorded but not implemented"));
            let schema = ds.schema();
            compare(name, &schema.attrs, &schema.blocks, provider, &mut problems);
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert_eq!(recorded.len(), 16);
    }
}
