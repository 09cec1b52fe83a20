//! Input variables, from the same sources and with the same precedence as
//! Terraform (later wins): defaults, `TF_VAR_name` / `GANTRY_VAR_name`
//! environment variables, `envs/<env>.tfvars`, `-var name=value`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{ConstScope, Stack, Variable};
use crate::addr::ResourceAddr;
use crate::diag::{Diagnostic, Diagnostics};
use crate::eval::{self, Scope, TypeConstraint};
use crate::value::Value;

/// Where variable values come from.
#[derive(Debug, Default, Clone)]
pub struct VarSources {
    /// `envs/<env>.tfvars`, when it exists.
    pub tfvars: Option<PathBuf>,
    /// `-var name=value`, in command-line order.
    pub cli: Vec<String>,
    /// Process environment, as (name, value) pairs.
    pub env: Vec<(String, String)>,
}

impl VarSources {
    pub fn from_process(tfvars: Option<PathBuf>, cli: Vec<String>) -> VarSources {
        VarSources { tfvars, cli, env: std::env::vars().collect() }
    }
}

/// Resolves every declared variable to a value, or reports why not.
pub fn resolve(stack: &Stack, sources: &VarSources) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut raw: BTreeMap<String, Raw> = BTreeMap::new();

    for (key, value) in &sources.env {
        let name = key.strip_prefix("TF_VAR_").or_else(|| key.strip_prefix("GANTRY_VAR_"));
        if let Some(name) = name {
            if stack.variables.contains_key(name) {
                raw.insert(name.to_string(), Raw::Text(value.clone(), format!("environment variable {key}")));
            }
        }
    }
    if let Some(path) = &sources.tfvars {
        match read_tfvars(path) {
            Ok(values) => {
                for (name, value, line) in values {
                    if !stack.variables.contains_key(&name) {
                        diags.push(
                            Diagnostic::error(format!("Value for undeclared variable \"{name}\""))
                                .in_file(path, line, 1)
                                .detail(declared_list(stack)),
                        );
                        continue;
                    }
                    raw.insert(name, Raw::Value(value, format!("{}:{line}", path.display())));
                }
            }
            Err(d) => diags.extend(d),
        }
    }
    for arg in &sources.cli {
        let Some((name, value)) = arg.split_once('=') else {
            diags.push(Diagnostic::error(format!("Invalid -var option {arg:?}")).detail("Write -var NAME=VALUE."));
            continue;
        };
        let name = name.trim();
        if !stack.variables.contains_key(name) {
            diags.push(
                Diagnostic::error(format!("Value for undeclared variable \"{name}\"")).detail(declared_list(stack)),
            );
            continue;
        }
        raw.insert(name.to_string(), Raw::Text(value.to_string(), format!("-var {name}=...")));
    }

    let mut values = BTreeMap::new();
    for (name, var) in &stack.variables {
        let value = match raw.remove(name) {
            Some(raw) => match convert(var, raw) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
            None => match &var.default {
                Some(default) => default.clone(),
                None => {
                    diags.push(
                        Diagnostic::error(format!("No value for required variable \"{name}\""))
                            .at(var.loc.clone())
                            .detail(format!(
                                "Set it in envs/<env>.tfvars, with -var {name}=VALUE, or with the environment variable TF_VAR_{name}{}.",
                                if var.sensitive { " (the safe choice for a secret)" } else { "" }
                            )),
                    );
                    continue;
                }
            },
        };
        // As in Terraform: a null value of a variable declared
        // `nullable = false` takes its default, and is an error without one.
        let value = match (&var.default, value.is_null() && !var.nullable) {
            (Some(default), true) => default.clone(),
            _ => value,
        };
        if value.is_null() && !var.nullable {
            diags.push(Diagnostic::error(format!("Variable \"{name}\" must not be null")).at(var.loc.clone()));
            continue;
        }
        let value = value.marked_if(var.sensitive);
        check_validations(&stack.dir, var, &value, &mut diags);
        values.insert(name.clone(), value);
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(values)
    }
}

enum Raw {
    /// Text from the command line or environment: a plain string for
    /// primitive types, HCL syntax for collections (as Terraform does).
    Text(String, String),
    Value(Value, String),
}

fn convert(var: &Variable, raw: Raw) -> Result<Value, Diagnostic> {
    let (value, origin) = match raw {
        Raw::Value(v, origin) => (v, origin),
        Raw::Text(text, origin) => {
            if var.ty.is_primitive() {
                (Value::String(text), origin)
            } else {
                let parsed = hcl_edit::parser::parse_expr(&text)
                    .map_err(|e| e.message().to_string())
                    .and_then(|expr| eval::eval(&expr, &ConstScope).map_err(|e| e.message));
                match parsed {
                    Ok(v) => (v, origin),
                    Err(e) => {
                        let e =
                            if var.sensitive { "the value is sensitive, so it is not shown".to_string() } else { e };
                        return Err(Diagnostic::error(format!(
                            "Invalid value for variable \"{}\" from {origin}",
                            var.name
                        ))
                        .at(var.loc.clone())
                        .detail(format!("Expected {} written in HCL syntax: {e}", var.ty)));
                    }
                }
            }
        }
    };
    var.ty.convert(value).map_err(|e| {
        // A conversion message may quote the value: never for a secret.
        let detail = if var.sensitive {
            format!("Expected {} (the value is sensitive, so it is not shown).", var.ty)
        } else {
            format!("Expected {}: {e}", var.ty)
        };
        Diagnostic::error(format!("Invalid value for variable \"{}\" from {origin}", var.name))
            .at(var.loc.clone())
            .detail(detail)
    })
}

/// Runs a variable's validation blocks on its value.
pub(crate) fn check_validations(dir: &Path, var: &Variable, value: &Value, diags: &mut Diagnostics) {
    let scope = OneVar { name: &var.name, value, dir };
    for validation in &var.validations {
        let result = eval::eval(&validation.condition, &scope);
        match result.as_ref().map(Value::peel) {
            Ok(Value::Bool(true)) | Ok(Value::Unknown) => {}
            Ok(Value::Bool(false)) => {
                let message = eval::eval(&validation.error_message, &scope)
                    .ok()
                    .and_then(|m| if m.is_sensitive() { None } else { m.as_str().map(str::to_string) })
                    .unwrap_or_else(|| "The value is not valid.".to_string());
                diags.push(
                    Diagnostic::error(format!("Invalid value for variable \"{}\"", var.name))
                        .at(validation.loc.clone())
                        .detail(message),
                );
            }
            Ok(other) => diags.push(
                Diagnostic::error("Invalid validation condition")
                    .at(validation.loc.clone())
                    .detail(format!("The condition must be true or false, found {}.", other.type_name())),
            ),
            Err(e) => diags.push(
                Diagnostic::error("Invalid validation condition")
                    .at(validation.loc.narrow(e.span.clone()))
                    .detail(e.message.clone()),
            ),
        }
    }
}

/// A validation condition sees only its own variable.
struct OneVar<'a> {
    name: &'a str,
    value: &'a Value,
    dir: &'a Path,
}

impl Scope for OneVar<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        (name == self.name).then(|| self.value.clone())
    }
    fn local(&self, _: &str) -> Option<Value> {
        None
    }
    fn resource(&self, _: &ResourceAddr) -> Option<Value> {
        None
    }
    fn count_index(&self) -> Option<Value> {
        None
    }
    fn each(&self) -> Option<(Value, Value)> {
        None
    }
    fn module_dir(&self) -> &Path {
        self.dir
    }
}

fn declared_list(stack: &Stack) -> String {
    let names: Vec<&str> = stack.variables.keys().map(String::as_str).collect();
    if names.is_empty() {
        "The stack declares no variables.".to_string()
    } else {
        format!("Declared variables: {}.", names.join(", "))
    }
}

/// Reads a `.tfvars` file: `name = value` lines with constant values.
fn read_tfvars(path: &Path) -> Result<Vec<(String, Value, usize)>, Diagnostics> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostics::from(Diagnostic::error(format!("Cannot read {}: {e}", path.display()))))?;
    let body = hcl_edit::parser::parse_body(&text).map_err(|e| {
        let loc = e.location();
        Diagnostics::from(Diagnostic::error(format!("Syntax error: {}", e.message())).in_file(
            path,
            loc.line(),
            loc.column(),
        ))
    })?;
    let file = crate::diag::SourceFile::new(path.to_path_buf(), text.clone());
    let mut out = Vec::new();
    let mut diags = Diagnostics::default();
    for structure in body.into_iter() {
        use hcl_edit::Span;
        let offset = structure.span().map(|s| s.start).unwrap_or(0);
        let (line, col) = file.line_col(offset);
        match structure {
            hcl_edit::structure::Structure::Attribute(attr) => match eval::eval(&attr.value, &ConstScope) {
                Ok(value) => out.push((attr.key.as_str().to_string(), value, line)),
                Err(e) => diags.push(
                    Diagnostic::error(format!("Invalid value for \"{}\"", attr.key.as_str()))
                        .in_file(path, line, col)
                        .detail(format!("{} (tfvars values are constants)", e.message)),
                ),
            },
            hcl_edit::structure::Structure::Block(_) => {
                diags.push(Diagnostic::error("tfvars files hold only name = value lines").in_file(path, line, col))
            }
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

impl TypeConstraint {
    /// Primitive types take command-line text as a plain string.
    pub fn is_primitive(&self) -> bool {
        matches!(self, TypeConstraint::String | TypeConstraint::Number | TypeConstraint::Bool | TypeConstraint::Any)
    }
}
