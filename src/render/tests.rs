//! Snapshot tests of the three plan renderings, on one plan holding every
//! kind of change, plus drift and the no-change case.

use std::collections::BTreeMap;

use crate::desired::AttrValues;
use crate::plan::{Action, Drift, OutputChange, Plan, ResourceChange};
use crate::value::Value;

fn s(v: &str) -> Value {
    Value::string(v)
}

fn attrs(pairs: &[(&str, Value)]) -> AttrValues {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn param(name: &str, value: &str, version: Value) -> AttrValues {
    attrs(&[
        ("name", s(name)),
        ("type", s("String")),
        ("insecure_value", s(value)),
        ("tier", s("Standard")),
        ("data_type", s("text")),
        ("arn", s(&format!("arn:aws:ssm:us-east-1:123456789012:parameter{name}"))),
        ("id", s(name)),
        ("version", version),
        ("tags_all", Value::Map(BTreeMap::from([("app".to_string(), s("vaultsphere"))]))),
    ])
}

fn table(name: &str, hash_key: &str) -> AttrValues {
    attrs(&[
        ("name", s(name)),
        ("hash_key", s(hash_key)),
        ("billing_mode", s("PAY_PER_REQUEST")),
        ("id", s(name)),
        ("arn", s(&format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}"))),
        (
            "attribute",
            Value::List(vec![Value::Map(BTreeMap::from([
                ("name".to_string(), s(hash_key)),
                ("type".to_string(), s("S")),
            ]))]),
        ),
    ])
}

fn sample_plan() -> Plan {
    let created = {
        let mut a = param("/app/prod/PORT", "5001", Value::Unknown);
        a.insert("arn".into(), Value::Unknown);
        a.insert("id".into(), Value::Unknown);
        a
    };
    let mut secret_after = param("/app/prod/SESSION_SECRET", "", Value::Unknown);
    secret_after.remove("insecure_value");
    secret_after.insert("type".into(), s("SecureString"));
    secret_after.insert("value".into(), s("new-secret").mark_sensitive());
    let mut secret_before = secret_after.clone();
    secret_before.insert("value".into(), s("hmac-sha256:00").mark_sensitive());
    secret_before.insert("version".into(), Value::Number(3.0));
    let mut replaced_after = table("users", "username");
    replaced_after.insert("arn".into(), Value::Unknown);
    replaced_after.insert("id".into(), Value::Unknown);
    Plan {
        stack: "vaultsphere".into(),
        env: "prod".into(),
        changes: vec![
            ResourceChange {
                addr: "aws_dynamodb_table.users".parse().unwrap(),
                rtype: "aws_dynamodb_table".into(),
                action: Action::DeleteThenCreate,
                before: Some(table("users", "user_id")),
                after: Some(replaced_after),
                replace_paths: vec!["hash_key".into(), "attribute".into()],
                changed: vec!["hash_key".into(), "attribute".into()],
                reason: None,
            },
            ResourceChange {
                addr: "aws_ssm_parameter.config[\"PORT\"]".parse().unwrap(),
                rtype: "aws_ssm_parameter".into(),
                action: Action::Create,
                before: None,
                after: Some(created),
                replace_paths: vec![],
                changed: vec![],
                reason: None,
            },
            ResourceChange {
                addr: "aws_ssm_parameter.legacy".parse().unwrap(),
                rtype: "aws_ssm_parameter".into(),
                action: Action::Delete,
                before: Some(param("/app/prod/LEGACY", "old", Value::Number(1.0))),
                after: None,
                replace_paths: vec![],
                changed: vec![],
                reason: Some("its resource block was removed from the configuration".into()),
            },
            ResourceChange {
                addr: "aws_ssm_parameter.session_secret".parse().unwrap(),
                rtype: "aws_ssm_parameter".into(),
                action: Action::Update,
                before: Some(secret_before),
                after: Some(secret_after),
                replace_paths: vec![],
                changed: vec!["value".into()],
                reason: None,
            },
            ResourceChange {
                addr: "aws_ssm_parameter.unchanged".parse().unwrap(),
                rtype: "aws_ssm_parameter".into(),
                action: Action::NoOp,
                before: Some(param("/app/prod/SAME", "x", Value::Number(1.0))),
                after: Some(param("/app/prod/SAME", "x", Value::Number(1.0))),
                replace_paths: vec![],
                changed: vec![],
                reason: None,
            },
        ],
        drift: vec![Drift {
            addr: "aws_ssm_parameter.app_env".parse().unwrap(),
            rtype: "aws_ssm_parameter".into(),
            before: param("/app/prod/APP_ENV", "prod", Value::Number(1.0)),
            after: Some(param("/app/prod/APP_ENV", "changed by hand", Value::Number(2.0))),
        }],
        outputs: vec![OutputChange {
            name: "ssm_path".into(),
            action: Action::Create,
            before: None,
            after: s("/app/prod"),
            sensitive: false,
        }],
        destroy: false,
        moves: Vec::new(),
        deposed: vec![],
    }
}

#[test]
fn text() {
    insta::assert_snapshot!(super::text::TextRenderer { color: false }.render(&sample_plan()));
}

#[test]
fn json() {
    insta::assert_json_snapshot!(super::json::render(&sample_plan()));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(super::markdown::render(&sample_plan()));
}

#[test]
fn no_changes() {
    let plan = Plan { stack: "vaultsphere".into(), env: "prod".into(), ..Plan::default() };
    insta::assert_snapshot!(super::text::TextRenderer { color: false }.render(&plan), @"No changes. Your infrastructure matches the configuration.");
    insta::assert_snapshot!(super::markdown::render(&plan), @r"
    ### gantry plan: `vaultsphere` / `prod`

    **No changes.** The infrastructure matches the configuration.
    ");
}

#[test]
fn no_rendering_reveals_a_sensitive_value() {
    let plan = sample_plan();
    let text = super::text::TextRenderer { color: false }.render(&plan);
    let json = super::json::render(&plan).to_string();
    let markdown = super::markdown::render(&plan);
    for out in [text, json, markdown] {
        assert!(!out.contains("new-secret"), "{out}");
    }
}

#[test]
fn an_unchanged_secret_is_not_shown_as_changed() {
    let mut after = param("/app/prod/SESSION_SECRET", "", Value::Number(3.0));
    after.insert("value".into(), s("same-secret").mark_sensitive());
    after.insert("description".into(), s("new"));
    let mut before = after.clone();
    before.insert("value".into(), s("hmac-sha256:00").mark_sensitive());
    before.insert("description".into(), s("old"));
    let change = ResourceChange {
        addr: "aws_ssm_parameter.session_secret".parse().unwrap(),
        rtype: "aws_ssm_parameter".into(),
        action: Action::Update,
        before: Some(before),
        after: Some(after),
        replace_paths: vec![],
        changed: vec!["description".into()],
        reason: None,
    };
    let text = super::text::TextRenderer { color: false }.render_change(&change);
    assert!(text.contains("~ description"), "{text}");
    assert!(!text.contains("value"), "{text}");
}

#[test]
fn a_deposed_object_is_a_destroy_not_no_changes() {
    let plan = Plan {
        stack: "s".into(),
        env: "e".into(),
        deposed: vec![crate::plan::Deposed {
            addr: "aws_instance.app".parse().unwrap(),
            rtype: "aws_instance".into(),
            id: "i-123".into(),
        }],
        ..Plan::default()
    };
    assert!(plan.has_changes());
    let text = super::text::TextRenderer { color: false }.render(&plan);
    assert!(text.contains("aws_instance.app (deposed object i-123) will be destroyed"), "{text}");
    assert!(text.contains("Plan: 0 to add, 0 to change, 1 to destroy."), "{text}");
    assert!(!text.contains("No changes"), "{text}");
}

#[test]
fn a_changed_map_shows_only_the_keys_that_changed() {
    let tags = |pairs: &[(&str, Value)]| Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect());
    let mut before = param("/app/p", "v", Value::Number(1.into()));
    before.insert("tags_all".into(), tags(&[("app", s("vs")), ("env", s("a")), ("old", s("x")), ("t", s("1"))]));
    let mut after = before.clone();
    after.insert(
        "tags_all".into(),
        tags(&[("app", s("vs")), ("env", s("b")), ("new", s("tag-canary").mark_sensitive()), ("t", s("1"))]),
    );
    let change = ResourceChange {
        addr: "aws_ssm_parameter.p".parse().unwrap(),
        rtype: "aws_ssm_parameter".into(),
        action: Action::Update,
        before: Some(before),
        after: Some(after),
        replace_paths: vec![],
        changed: vec!["tags_all".into()],
        reason: None,
    };
    let text = super::text::TextRenderer { color: false }.render_change(&change);
    assert!(text.contains("~ tags_all       = {"), "{text}");
    assert!(text.contains("~ \"env\" = \"a\" -> \"b\""), "{text}");
    assert!(text.contains("+ \"new\" = (sensitive value)"), "{text}");
    assert!(text.contains("- \"old\" = \"x\" -> null"), "{text}");
    assert!(text.contains("# (2 unchanged elements hidden)"), "{text}");
    assert!(!text.contains("tag-canary") && !text.contains("\"app\""), "{text}");
}

#[test]
fn json_and_markdown_list_a_deposed_object_as_a_delete() {
    let mut plan = sample_plan();
    plan.deposed = vec![crate::plan::Deposed {
        addr: "aws_ssm_parameter.legacy".parse().unwrap(),
        rtype: "aws_ssm_parameter".into(),
        id: "/app/prod/LEGACY-old".into(),
    }];
    let json = super::json::render(&plan);
    let changes = json["resource_changes"].as_array().unwrap();
    let at = changes.iter().position(|c| c["deposed"] == "/app/prod/LEGACY-old").expect("the deposed object is listed");
    let entry = &changes[at];
    assert_eq!(entry["address"], "aws_ssm_parameter.legacy");
    assert_eq!(entry["type"], "aws_ssm_parameter");
    assert_eq!(entry["change"]["actions"], serde_json::json!(["delete"]));
    // Right after the current object of its address.
    assert_eq!(changes[at - 1]["address"], "aws_ssm_parameter.legacy");
    assert!(changes[at - 1].get("deposed").is_none());
    assert_eq!(json["summary"]["destroy"], sample_plan().summary().destroy + 1);

    let markdown = super::markdown::render(&plan);
    assert!(markdown.contains("> - `aws_ssm_parameter.legacy` (deposed object `/app/prod/LEGACY-old`"), "{markdown}");
    assert!(markdown.contains("| **destroy** | `aws_ssm_parameter.legacy` (deposed object"), "{markdown}");
}

#[test]
fn a_plan_with_only_a_deposed_object_is_not_no_changes_in_markdown() {
    let plan = Plan {
        stack: "s".into(),
        env: "e".into(),
        deposed: vec![crate::plan::Deposed {
            addr: "aws_instance.app".parse().unwrap(),
            rtype: "aws_instance".into(),
            id: "i-123".into(),
        }],
        ..Plan::default()
    };
    let markdown = super::markdown::render(&plan);
    assert!(!markdown.contains("No changes"), "{markdown}");
    assert!(markdown.contains("**0 to add, 0 to change, 1 to destroy**"), "{markdown}");
    assert!(markdown.contains("`aws_instance.app` (deposed object `i-123`"), "{markdown}");
    let json = super::json::render(&plan);
    assert_eq!(json["has_changes"], true);
    assert_eq!(json["resource_changes"][0]["deposed"], "i-123");
}
