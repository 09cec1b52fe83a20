//! Compares gantry's schemas with the Terraform AWS provider's, as recorded
//! by scripts/record-provider-schema.sh under tests/fixtures/provider-schema/
//! (one JSON file per type). Every argument and block the provider has must
//! be taken by gantry or be listed in the type's `omit(..)` list with a
//! reason; gantry must not invent names the provider lacks; what the
//! provider requires gantry requires too.

use std::path::Path;

use serde_json::Value;

use super::{BlockSchema, Presence, Schema};

/// Names of one body (resource or nested block) on gantry's side.
struct Side<'a> {
    attrs: &'a [super::Attr],
    blocks: &'a [BlockSchema],
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// A list or set of objects: `["set", ["object", {...}]]`.
fn is_object_collection(spec: &Value) -> bool {
    let ty = &spec["type"];
    matches!(ty[0].as_str(), Some("list" | "set")) && ty[1][0].as_str() == Some("object")
}

/// Problems found comparing one body, with dotted paths.
fn compare(schema: &Schema, provider: &Value, ours: Side<'_>, path: &str, problems: &mut Vec<String>) {
    let empty = serde_json::Map::new();
    let attrs = provider.get("attributes").and_then(Value::as_object).unwrap_or(&empty);
    let blocks = provider.get("block_types").and_then(Value::as_object).unwrap_or(&empty);
    for (name, spec) in attrs {
        let full = join(path, name);
        // The provider's `id` is settable only for legacy reasons; gantry
        // computes it. `tags_all` is gantry's computed merge of default tags.
        if path.is_empty() && (name == "id" || name == "tags_all") {
            continue;
        }
        // aws_ssm_parameter's `arn` is settable in the provider only for
        // legacy reasons (it is always AWS's); gantry computes it.
        if path.is_empty() && name == "arn" && schema.type_name == "aws_ssm_parameter" {
            continue;
        }
        // An attribute of object type that the provider lets be written as
        // blocks (`ingress { ... }` of aws_security_group): gantry's block.
        if is_object_collection(spec) && ours.blocks.iter().any(|b| b.name == name.as_str()) {
            continue;
        }
        let omitted = schema.omission(&full).is_some();
        match ours.attrs.iter().find(|a| a.name == name.as_str()) {
            Some(_) if omitted => problems.push(format!("{full}: both supported and listed as omitted")),
            Some(attr) => {
                let required = spec.get("required").and_then(Value::as_bool).unwrap_or(false);
                let settable = spec.get("optional").and_then(Value::as_bool).unwrap_or(false) || required;
                if required && attr.presence != Presence::Required {
                    problems.push(format!("{full}: the provider requires it, gantry does not"));
                }
                if !settable && attr.is_settable() {
                    problems.push(format!("{full}: computed by the provider, settable in gantry"));
                }
                if settable && !attr.is_settable() {
                    problems.push(format!("{full}: settable in the provider, computed in gantry"));
                }
            }
            None if omitted => {}
            None => problems.push(format!("{full}: argument neither supported nor listed as omitted")),
        }
    }
    for (name, spec) in blocks {
        let full = join(path, name);
        let omitted = schema.omission(&full).is_some();
        match ours.blocks.iter().find(|b| b.name == name.as_str()) {
            Some(_) if omitted => problems.push(format!("{full}: both supported and listed as omitted")),
            Some(block) => {
                let inner = spec.get("block").unwrap_or(&Value::Null);
                compare(schema, inner, Side { attrs: &block.attrs, blocks: &block.blocks }, &full, problems);
            }
            None if omitted => {}
            None => problems.push(format!("{full}: block neither supported nor listed as omitted")),
        }
    }
    for attr in ours.attrs {
        // Every gantry type has a computed `id` (the state's key), also
        // where the provider's plugin-framework types have none.
        if path.is_empty() && attr.name == "id" {
            continue;
        }
        if !attrs.contains_key(attr.name) {
            problems.push(format!("{}: gantry has an argument the provider lacks", join(path, attr.name)));
        }
    }
    for block in ours.blocks {
        let as_attribute = attrs.get(block.name).is_some_and(is_object_collection);
        if !blocks.contains_key(block.name) && !as_attribute {
            problems.push(format!("{}: gantry has a block the provider lacks", join(path, block.name)));
        }
    }
}

/// Every omission names something the provider has.
fn omissions_exist(schema: &Schema, provider: &Value, problems: &mut Vec<String>) {
    for omission in &schema.omitted {
        let mut node = provider;
        let mut parts = omission.path.split('.').peekable();
        let mut ok = true;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                ok = node.pointer(&format!("/attributes/{part}")).is_some()
                    || node.pointer(&format!("/block_types/{part}")).is_some();
            } else {
                match node.pointer(&format!("/block_types/{part}/block")) {
                    Some(inner) => node = inner,
                    None => ok = false,
                }
            }
        }
        if !ok {
            problems.push(format!("{}: listed as omitted, but the provider has no such name", omission.path));
        }
        if omission.reason.trim().is_empty() {
            problems.push(format!("{}: omitted without a reason", omission.path));
        }
    }
}

/// Problems of one recorded type; empty when gantry covers it.
pub(crate) fn problems(schema: &Schema, recorded: &Value) -> Vec<String> {
    let block = recorded.get("block").unwrap_or(&Value::Null);
    let mut problems = Vec::new();
    compare(schema, block, Side { attrs: &schema.attrs, blocks: &schema.blocks }, "", &mut problems);
    omissions_exist(schema, block, &mut problems);
    problems
}

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/provider-schema")
}

#[test]
fn every_recorded_type_is_covered_or_omitted_with_a_reason() {
    let mut checked = 0;
    let mut report = Vec::new();
    let entries = std::fs::read_dir(fixture_dir()).expect("tests/fixtures/provider-schema exists");
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let recorded: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let type_name = recorded["type"].as_str().expect("fixture names its type");
        // A recorded type gantry does not take yet is not checked: the
        // fixture may be recorded ahead of the implementation.
        let Some(rt) = super::resource_type(type_name) else { continue };
        checked += 1;
        for problem in problems(rt.schema(), &recorded) {
            report.push(format!("{type_name}.{problem}"));
        }
    }
    assert!(checked > 0, "no recorded type is implemented");
    assert!(report.is_empty(), "gantry's schemas differ from the provider's:\n{}", report.join("\n"));
}

/// The design's resource types: each must have a recorded schema, so that
/// every argument of theirs is checked (scripts/record-provider-schema.sh
/// --design records them).
const DESIGN_TYPES: &[&str] = &[
    "aws_iam_openid_connect_provider",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_instance_profile",
    "aws_ecr_repository",
    "aws_security_group",
    "aws_instance",
    "aws_ssm_parameter",
    "aws_dynamodb_table",
    "aws_s3_bucket",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
];

#[test]
fn the_design_types_are_recorded_and_supported() {
    for type_name in DESIGN_TYPES {
        assert!(fixture_dir().join(format!("{type_name}.json")).is_file(), "{type_name} has no recorded schema");
        assert!(super::resource_type(type_name).is_some(), "{type_name} is not supported");
    }
}

#[test]
fn a_missing_argument_is_reported() {
    use super::{Attr, Ty};
    let recorded = serde_json::json!({"block": {
        "attributes": {"bucket": {"required": true, "type": "string"}, "extra": {"optional": true, "type": "string"}},
        "block_types": {"timeouts": {"nesting_mode": "single", "block": {}}}
    }});
    let schema = Schema::new("t", vec![Attr::optional("bucket", Ty::String)]);
    let found = problems(&schema, &recorded);
    assert!(found.iter().any(|p| p.starts_with("bucket: the provider requires it")), "{found:?}");
    assert!(found.iter().any(|p| p.starts_with("extra: argument neither")), "{found:?}");
    assert!(found.iter().any(|p| p.starts_with("timeouts: block neither")), "{found:?}");
    let schema = Schema::new("t", vec![Attr::required("bucket", Ty::String)])
        .omit("extra", "a reason")
        .omit("timeouts", "a reason")
        .omit("nothing", "a reason");
    let found = problems(&schema, &recorded);
    assert_eq!(found, vec!["nothing: listed as omitted, but the provider has no such name".to_string()]);
}
