//! Terraform conformance: every expression in `tests/fixtures/conformance/`
//! was evaluated by `terraform console` (see scripts/record-conformance.sh);
//! gantry's evaluator must give the same value, or fail where it failed.
//! `pending.json` holds the expressions gantry is known to get wrong: the
//! test asserts they still disagree, so fixing one fails it until the
//! expression moves to its family's file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value as J;

use super::test_support::scope;

#[derive(Deserialize)]
struct Case {
    expr: String,
    /// Terraform's `jsonencode` of the value.
    json: Option<String>,
    /// Terraform's error summary: the value is an error.
    error: Option<String>,
    /// Terraform said "(known after apply)".
    #[serde(default)]
    unknown: bool,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

fn load(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `None` when gantry agrees with Terraform, else what gantry said.
fn disagreement(case: &Case) -> Option<String> {
    let mut sc = scope();
    sc.dir = fixtures().join("files");
    let expr = match hcl_edit::parser::parse_expr(&case.expr) {
        Ok(e) => e,
        Err(e) => return Some(format!("does not parse: {e}")),
    };
    let got = super::eval(&expr, &sc);
    match (&got, case) {
        (Err(_), Case { error: Some(_), .. }) => None,
        (Ok(v), Case { unknown: true, .. }) if !v.is_known() => None,
        (Ok(v), Case { json: Some(want), .. }) if v.is_known() => {
            let want: J = serde_json::from_str(want).expect("fixture JSON");
            (!same(&want, &v.to_json())).then(|| format!("got {}", v.to_json()))
        }
        (Ok(v), _) => Some(format!("got {}", if v.is_known() { v.to_json().to_string() } else { "unknown".into() })),
        (Err(e), _) => Some(format!("got error: {}", e.message)),
    }
}

/// JSON equality where numbers compare as numbers: an integer Terraform
/// printed exactly must be that integer, other numbers must be equal as f64.
fn same(want: &J, got: &J) -> bool {
    match (want, got) {
        (J::Number(w), J::Number(g)) => match (w.as_i64().map(i128::from).or(w.as_u64().map(i128::from)), g.as_f64()) {
            (Some(w), Some(g)) => g.fract() == 0.0 && g.abs() < 1e38 && g as i128 == w,
            _ => w.as_f64() == g.as_f64(),
        },
        (J::Array(w), J::Array(g)) => w.len() == g.len() && w.iter().zip(g).all(|(w, g)| same(w, g)),
        (J::Object(w), J::Object(g)) => {
            w.len() == g.len() && w.iter().all(|(k, w)| g.get(k).is_some_and(|g| same(w, g)))
        }
        _ => want == got,
    }
}

fn want(case: &Case) -> String {
    match (&case.json, &case.error) {
        (Some(j), _) => j.clone(),
        (_, Some(e)) => format!("error ({e})"),
        _ => "unknown".into(),
    }
}

#[test]
fn gantry_agrees_with_terraform() {
    let mut total = 0;
    let mut failures = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("pending.json"))
        .collect();
    files.sort();
    for file in &files {
        for case in load(file) {
            total += 1;
            if let Some(got) = disagreement(&case) {
                let family = file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                failures.push(format!(
                    "[{family}] {}\n    terraform: {}\n    gantry:    {got}",
                    case.expr,
                    want(&case)
                ));
            }
        }
    }
    assert!(total >= 400, "only {total} conformance expressions");
    assert!(failures.is_empty(), "{} of {total} expressions disagree:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn pending_expressions_still_disagree() {
    let agreeing: Vec<String> = load(&fixtures().join("pending.json"))
        .into_iter()
        .filter(|case| disagreement(case).is_none())
        .map(|case| case.expr)
        .collect();
    assert!(agreeing.is_empty(), "now agree with Terraform; move them to their family's file: {agreeing:#?}");
}
