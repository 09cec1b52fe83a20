//! Type constraints against Terraform: every `TYPE ;; VALUE` case of
//! `tests/fixtures/conformance/types/` was converted by Terraform 1.11 (see
//! scripts/record-type-constraints.sh); gantry must give the same value, or
//! fail where Terraform failed with a message that ends as Terraform's does
//! (gantry may put the path to the element in front of it).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value as J;

use super::test_support::scope;

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "type")]
    ty: String,
    value: String,
    json: Option<J>,
    error: Option<String>,
}

fn disagreement(case: &Case) -> Option<String> {
    let ty = hcl_edit::parser::parse_expr(&case.ty).ok().and_then(|e| super::parse_type(&e).ok());
    let Some(ty) = ty else { return Some("the type does not parse".into()) };
    let value = hcl_edit::parser::parse_expr(&case.value).ok().and_then(|e| super::eval(&e, &scope()).ok());
    let Some(value) = value else { return Some("the value does not evaluate".into()) };
    match (ty.convert(value), &case.json, &case.error) {
        (Ok(v), Some(want), _) => {
            // The recording keeps `jsonencode(...)`'s text.
            let want = want.as_str().and_then(|t| serde_json::from_str::<J>(t).ok()).unwrap_or_else(|| want.clone());
            (v.to_json() != want).then(|| format!("got {}", v.to_json()))
        }
        (Err(m), _, Some(want)) => {
            let want = want.trim_end_matches('.');
            (!m.ends_with(want)).then(|| format!("got error {m:?}"))
        }
        (Ok(v), _, _) => Some(format!("got {}", v.to_json())),
        (Err(m), _, _) => Some(format!("got error {m:?}")),
    }
}

#[test]
fn type_constraints_convert_as_terraform_does() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance/types/terraform.json");
    let cases: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON");
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            disagreement(c).map(|got| {
                let want = c.json.as_ref().map(J::to_string).or(c.error.clone()).unwrap_or_default();
                format!("{} ;; {}\n    terraform: {want}\n    gantry:    {got}", c.ty, c.value)
            })
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} disagree:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
