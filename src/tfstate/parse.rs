//! Reading a Terraform state file: JSON first (so a truncated or corrupt
//! file is named as such, with line and column), then the version and the
//! fields that tell a Terraform state from anything else, then the shape.

use serde_json::Value;

use super::error::TfStateError;
use super::format::{TfState, FORMAT_VERSION};

/// Parses the text of a Terraform state file named `path`.
pub fn parse(path: &str, text: &str) -> Result<TfState, TfStateError> {
    let path_s = || path.to_string();
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() {
            TfStateError::Truncated { path: path_s(), line: e.line(), column: e.column() }
        } else {
            TfStateError::Corrupt { path: path_s(), line: e.line(), column: e.column(), message: e.to_string() }
        }
    })?;
    let Some(object) = doc.as_object() else { return Err(TfStateError::Foreign { path: path_s() }) };
    if object.contains_key("gantry_version") {
        return Err(TfStateError::GantryState { path: path_s() });
    }
    let Some(version) = object.get("version").and_then(Value::as_u64) else {
        return Err(TfStateError::Foreign { path: path_s() });
    };
    if version > FORMAT_VERSION {
        return Err(TfStateError::Newer { path: path_s(), found: version });
    }
    if version < FORMAT_VERSION {
        return Err(TfStateError::Older { path: path_s(), found: version });
    }
    if !object.contains_key("lineage") || !object.contains_key("terraform_version") {
        return Err(TfStateError::Foreign { path: path_s() });
    }
    // From the text again, so a wrong field is reported where it is.
    serde_json::from_str(text).map_err(|e| TfStateError::Shape {
        path: path_s(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Reads and parses a Terraform state file.
pub fn read(path: &std::path::Path) -> Result<TfState, TfStateError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TfStateError::Read { path: name.clone(), source })?;
    parse(&name, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMALL: &str = include_str!("../../tests/fixtures/tfstate/small/terraform.tfstate");

    #[test]
    fn reads_the_recorded_fixture() {
        let state = parse("t", SMALL).unwrap();
        assert_eq!(state.version, 4);
        assert_eq!(state.terraform_version, "1.11.4");
        assert!(state.resources.iter().any(|r| r.module.as_deref() == Some("module.params[\"web\"]")));
    }

    #[test]
    fn truncated_files_say_so_with_their_position() {
        let cut = &SMALL[..SMALL.len() / 2];
        let err = parse("t.tfstate", cut).unwrap_err();
        assert!(matches!(err, TfStateError::Truncated { line, .. } if line > 1), "{err}");
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn corrupt_files_name_line_and_column() {
        let err = parse("t.tfstate", "{\n  \"version\": 4,\n  lineage\n}").unwrap_err();
        assert!(matches!(err, TfStateError::Corrupt { line: 3, column: 3, .. }), "{err}");
    }

    #[test]
    fn refuses_other_formats_and_foreign_files() {
        let five = SMALL.replacen("\"version\": 4", "\"version\": 5", 1);
        let err = parse("t", &five).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Terraform state t has format 5, which is newer than this gantry reads (format 4, Terraform 0.12 to 1.11)"
        );
        assert!(matches!(parse("t", r#"{"version": 3, "serial": 1}"#), Err(TfStateError::Older { found: 3, .. })));
        assert!(matches!(parse("t", r#"{"a": 1}"#), Err(TfStateError::Foreign { .. })));
        assert!(matches!(parse("t", "[1, 2]"), Err(TfStateError::Foreign { .. })));
        assert!(matches!(
            parse("t", r#"{"version": 1, "gantry_version": "0.1.0", "lineage": "x"}"#),
            Err(TfStateError::GantryState { .. })
        ));
    }

    #[test]
    fn missing_fields_are_named() {
        let text = r#"{"version": 4, "terraform_version": "1.11.4", "lineage": "x", "serial": 1,
            "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": "b", "instances": []}]}"#;
        let err = parse("t", text).unwrap_err();
        assert!(matches!(err, TfStateError::Shape { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("missing field `provider`"), "{err}");
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,300}") {
            let _ = parse("t", &text);
        }

        #[test]
        fn never_panics_on_cut_fixtures(cut in 0usize..24000) {
            let end = (0..=cut.min(SMALL.len())).rev().find(|i| SMALL.is_char_boundary(*i)).unwrap_or(0);
            let _ = parse("t", &SMALL[..end]);
        }
    }
}
