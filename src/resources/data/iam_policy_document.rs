//! `data "aws_iam_policy_document"`: builds an IAM policy document from
//! statement blocks and other documents, offline. Its `json` must be the
//! provider's byte for byte, so that a role Terraform created from it plans
//! with no change in gantry.

use std::sync::LazyLock;

use async_trait::async_trait;
use serde_json::Value;

use super::policy_model::{
    conditions_in_set_order, config_strings, parse_document, principals_in_set_order, replace_vars, Condition,
    PolicyDoc, Principal, Statement, Strings,
};
use crate::aws::{AwsCtx, ProviderError};
use crate::resources::support::{block_items, complete, get_str, get_strings};
use crate::resources::{Attr, Attrs, BlockSchema, DataSource, Schema, Ty};

const TYPE: &str = "aws_iam_policy_document";
const VERSIONS: [&str; 2] = ["2008-10-17", "2012-10-17"];

fn principals_block(name: &'static str) -> BlockSchema {
    BlockSchema::set(name, vec![Attr::required("type", Ty::String), Attr::required("identifiers", Ty::SetOfString)])
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE,
        vec![
            Attr::computed("id", Ty::String),
            Attr::computed("json", Ty::String),
            Attr::computed("minified_json", Ty::String),
            Attr::optional("version", Ty::String).default("2012-10-17"),
            Attr::optional("policy_id", Ty::String),
            Attr::optional("source_policy_documents", Ty::ListOfString),
            Attr::optional("override_policy_documents", Ty::ListOfString),
            // Deprecated and "Not used" in provider 5.x: only "" is accepted.
            Attr::optional("source_json", Ty::String),
            Attr::optional("override_json", Ty::String),
        ],
    )
    .blocks(vec![BlockSchema::list(
        "statement",
        vec![
            Attr::optional("sid", Ty::String),
            Attr::optional("effect", Ty::String).default("Allow"),
            Attr::optional("actions", Ty::SetOfString),
            Attr::optional("not_actions", Ty::SetOfString),
            Attr::optional("resources", Ty::SetOfString),
            Attr::optional("not_resources", Ty::SetOfString),
        ],
    )
    .nested(vec![
        principals_block("principals"),
        principals_block("not_principals"),
        BlockSchema::set(
            "condition",
            vec![
                Attr::required("test", Ty::String),
                Attr::required("variable", Ty::String),
                Attr::required("values", Ty::ListOfString),
            ],
        ),
    ])])
});

pub struct IamPolicyDocument;

#[async_trait]
impl DataSource for IamPolicyDocument {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, _aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        build(args).map_err(|e| ProviderError::Invalid(format!("{TYPE}: {e}")))
    }
}

/// The whole computation, without AWS.
pub fn build(args: &Attrs) -> Result<Attrs, String> {
    for name in ["source_json", "override_json"] {
        if get_str(args, name).is_some_and(|s| !s.is_empty()) {
            return Err(format!(
                "\"{name}\" is deprecated and not used: it must be empty (use source_policy_documents or override_policy_documents)"
            ));
        }
    }
    let mut merged = PolicyDoc::default();
    let mut source_sids = std::collections::BTreeSet::new();
    for (index, text) in documents(args, "source_policy_documents").into_iter().enumerate() {
        let doc = parse_document(text).map_err(|e| format!("merging source document {index}: {e}"))?;
        for (stmt_index, s) in doc.statements.iter().enumerate() {
            if !s.sid.is_empty() && !source_sids.insert(s.sid.clone()) {
                return Err(format!(
                    "merging source document {index}: duplicate Sid ({}) in source_policy_documents (statement {stmt_index}). Remove the Sid or ensure Sids are unique.",
                    s.sid
                ));
            }
        }
        merged.merge(doc);
    }
    merged.merge(own_document(args)?);
    for (index, text) in documents(args, "override_policy_documents").into_iter().enumerate() {
        let doc = parse_document(text).map_err(|e| format!("merging override document {index}: {e}"))?;
        merged.merge(doc);
    }

    let json = merged.to_json();
    let indented = json.indented();
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(crc32fast::hash(indented.as_bytes()).to_string()));
    attrs.insert("minified_json".into(), Value::from(json.compact()));
    attrs.insert("json".into(), Value::from(indented));
    for name in ["version", "policy_id", "source_policy_documents", "override_policy_documents", "statement"] {
        attrs.insert(name.into(), args.get(name).cloned().unwrap_or(Value::Null));
    }
    Ok(complete(&SCHEMA, attrs))
}

/// The non-null documents of a list argument.
fn documents<'a>(args: &'a Attrs, name: &str) -> Vec<&'a str> {
    args.get(name).and_then(Value::as_array).map(|l| l.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// The document the `statement` blocks describe.
fn own_document(args: &Attrs) -> Result<PolicyDoc, String> {
    let version = get_str(args, "version").unwrap_or("2012-10-17").to_string();
    if !VERSIONS.contains(&version.as_str()) {
        return Err(format!("expected version to be one of {VERSIONS:?}, got {version}"));
    }
    let mut doc = PolicyDoc { id: get_str(args, "policy_id").unwrap_or("").to_string(), ..PolicyDoc::default() };
    let mut sids = std::collections::BTreeSet::new();
    for item in block_items(args, "statement") {
        doc.statements.push(statement(item, &version, &mut sids)?);
    }
    doc.version = version;
    Ok(doc)
}

fn statement(item: &Attrs, version: &str, sids: &mut std::collections::BTreeSet<String>) -> Result<Statement, String> {
    let sid = get_str(item, "sid").unwrap_or("").to_string();
    if !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("invalid sid {sid:?}: must only include alphanumeric characters"));
    }
    if !sid.is_empty() && !sids.insert(sid.clone()) {
        return Err(format!("duplicate Sid ({sid}). Remove the Sid or ensure the Sid is unique."));
    }
    let effect = get_str(item, "effect").unwrap_or("Allow").to_string();
    if effect != "Allow" && effect != "Deny" {
        return Err(format!("expected effect to be one of [\"Allow\" \"Deny\"], got {effect}"));
    }
    let strings = |name: &str| config_strings(&get_strings(item, name));
    let with_vars = |name: &str| -> Result<Option<Strings>, String> {
        strings(name).map(|s| replace_vars(s, version).map_err(|e| format!("reading {name}: {e}"))).transpose()
    };
    Ok(Statement {
        sid,
        effect,
        actions: strings("actions").map(|s| s.to_json()),
        not_actions: strings("not_actions").map(|s| s.to_json()),
        resources: with_vars("resources")?.map(|s| s.to_json()),
        not_resources: with_vars("not_resources")?.map(|s| s.to_json()),
        principals: principals(item, "principals", version)?,
        not_principals: principals(item, "not_principals", version)?,
        conditions: conditions(item, version)?,
    })
}

fn principals(item: &Attrs, name: &str, version: &str) -> Result<Vec<Principal>, String> {
    let blocks = block_items(item, name)
        .into_iter()
        .map(|b| (get_str(b, "type").unwrap_or("").to_string(), get_strings(b, "identifiers")))
        .collect();
    principals_in_set_order(blocks)
        .into_iter()
        .map(|(ty, ids)| {
            let identifiers = config_strings(&ids).unwrap_or(Strings::Many(Vec::new()));
            let identifiers =
                replace_vars(identifiers, version).map_err(|e| format!("reading {name}: reading identifiers: {e}"))?;
            Ok(Principal { ty, identifiers })
        })
        .collect()
}

fn conditions(item: &Attrs, version: &str) -> Result<Vec<Condition>, String> {
    let blocks = block_items(item, "condition")
        .into_iter()
        .map(|b| {
            let values = b
                .get("values")
                .and_then(Value::as_array)
                .map(|l| l.iter().map(|v| v.as_str().unwrap_or("").to_string()).collect())
                .unwrap_or_default();
            (get_str(b, "test").unwrap_or("").to_string(), get_str(b, "variable").unwrap_or("").to_string(), values)
        })
        .collect();
    conditions_in_set_order(blocks)
        .into_iter()
        .map(|(test, variable, values)| {
            let values = replace_vars(Strings::Many(values), version)
                .map_err(|e| format!("reading condition: reading values: {e}"))?;
            let values = match values {
                Strings::Many(mut v) if v.len() == 1 => Strings::One(v.remove(0)),
                other => other,
            };
            Ok(Condition { test, variable, values })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::config::Stack;
    use crate::scope::Values;

    fn args(value: serde_json::Value) -> Attrs {
        value.as_object().unwrap().clone()
    }

    /// Every case of tests/fixtures/policy_documents/cases.tf, evaluated by
    /// gantry, gives the bytes AWS provider 5.100.0 gave (recorded by
    /// scripts/record-policy-documents.sh into expected.json).
    #[test]
    fn matches_the_provider_byte_for_byte() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy_documents");
        let stack = Stack::load(&dir).unwrap_or_else(|(_, d)| panic!("{d:?}"));
        let expected: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        let mut configs: Vec<_> = stack.resources.values().collect();
        // Blocks refer only to blocks above them.
        configs.sort_by_key(|c| c.loc.span.start);
        let mut values = Values::new(&dir, BTreeMap::new());
        let mut checked = 0;
        for config in configs {
            let name = &config.addr.name;
            let evaluated =
                crate::desired::evaluate(&SCHEMA, &config.body, &values.scope(), &crate::value::Value::Null, name)
                    .unwrap_or_else(|d| panic!("{name}: {d:?}"));
            let json: Attrs = evaluated.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            let out = build(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
            let want = &expected[name.as_str()];
            for attr in ["json", "minified_json", "id"] {
                assert_eq!(out[attr], want[attr], "{name}.{attr}");
            }
            let value = crate::value::Value::Map(
                out.iter().map(|(k, v)| (k.clone(), crate::value::Value::from_json(v))).collect(),
            );
            values.resources.insert(config.addr.clone(), value);
            checked += 1;
        }
        assert_eq!(checked, expected.len(), "every recorded case has its block");
        assert!(checked >= 25);
    }

    #[test]
    fn duplicate_sids_are_refused_as_the_provider_words_it() {
        let err = build(&args(serde_json::json!({
            "statement": [{"sid": "A", "actions": ["a:B"]}, {"sid": "A", "actions": ["a:C"]}]
        })))
        .unwrap_err();
        assert_eq!(err, "duplicate Sid (A). Remove the Sid or ensure the Sid is unique.");
        let doc = r#"{"Statement":[{"Sid":"S","Effect":"Allow"}]}"#;
        let err = build(&args(serde_json::json!({"source_policy_documents": [doc, doc]}))).unwrap_err();
        assert!(err.contains("duplicate Sid (S) in source_policy_documents (statement 0)"), "{err}");
    }

    #[test]
    fn bad_documents_and_arguments_are_errors() {
        let bad = |v: serde_json::Value| build(&args(v)).unwrap_err();
        assert!(bad(serde_json::json!({"source_policy_documents": ["{"]})).starts_with("merging source document 0"));
        assert!(bad(serde_json::json!({"override_policy_documents": [r#"{"Statement":{"Sid":"x"}}"#]}))
            .starts_with("merging override document 0"));
        assert!(bad(serde_json::json!({"version": "2010-01-01"})).contains("expected version"));
        assert!(bad(serde_json::json!({"statement": [{"effect": "Maybe"}]})).contains("expected effect"));
        assert!(bad(serde_json::json!({"statement": [{"sid": "no-dash"}]})).contains("alphanumeric"));
        let err =
            bad(serde_json::json!({"version": "2008-10-17", "statement": [{"resources": ["a/&{aws:username}"]}]}));
        assert!(err.contains("not supported in document version 2008-10-17"), "{err}");
        assert!(bad(serde_json::json!({"source_json": "{}"})).contains("deprecated"));
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i32>().prop_map(serde_json::Value::from),
            "[A-Za-z*:&{}<> ]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            let keys = prop_oneof![
                Just("Statement".to_string()),
                Just("Principal".to_string()),
                Just("Condition".to_string()),
                Just("Action".to_string()),
                Just("Sid".to_string()),
                Just("AWS".to_string()),
                "[a-z]{1,4}".prop_map(String::from),
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::vec((keys, inner), 0..4)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any source or override document gives a document or an error, never a panic.
        #[test]
        fn arbitrary_documents_never_panic(doc in json_value(), text in ".{0,40}") {
            let _ = build(&args(serde_json::json!({"source_policy_documents": [doc.to_string()]})));
            let _ = build(&args(serde_json::json!({"override_policy_documents": [doc.to_string(), text]})));
        }
    }
}
