//! The `deploy` and `contract` blocks of `gantry.hcl`: where the app's
//! environment lives in SSM, and what the app needs from it.
//!
//! ```hcl
//! deploy {
//!   ssm_path_output = "ssm_path"    # or: ssm_path = "/vaultsphere/prod"
//! }
//!
//! contract {
//!   key "PORT"           { type = "port" }
//!   key "APP_ENV"        { type = "enum", values = ["dev", "staging", "prod"] }
//!   key "SESSION_SECRET" { secret = true, min_length = 32 }
//!   key "FEATURE_*"      { type = "bool", required = false }
//! }
//! ```

use hcl_edit::structure::{Body as HclBody, Structure};
use hcl_edit::Span;

use super::blocks::{constant_bool, constant_string, unsupported};
use crate::contract::{ContractKey, KeyType};
use crate::diag::{Diagnostic, Diagnostics, FileId, Loc};
use crate::value::Value;

/// Where `gantry exec` and deploys find the app's environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploySettings {
    pub ssm_path: Option<SsmPath>,
}

/// The SSM path of an environment's parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum SsmPath {
    Literal(String),
    /// The name of a state output holding the path (differs per environment).
    Output(String),
}

pub(super) fn deploy(file: FileId, body: HclBody, diags: &mut Diagnostics) -> DeploySettings {
    let mut out = DeploySettings::default();
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => {
                let at = Loc::new(file, attr.span());
                let key = attr.key.as_str().to_string();
                let path = match key.as_str() {
                    "ssm_path" => constant_string(&attr.value, &at, "ssm_path", diags).map(SsmPath::Literal),
                    "ssm_path_output" => {
                        constant_string(&attr.value, &at, "ssm_path_output", diags).map(SsmPath::Output)
                    }
                    other => {
                        diags.push(unsupported("argument", other, "the deploy block", "ssm_path, ssm_path_output", at));
                        continue;
                    }
                };
                if out.ssm_path.is_some() {
                    diags.push(
                        Diagnostic::error("The SSM path is set twice")
                            .at(at)
                            .detail("Set either ssm_path (a literal path) or ssm_path_output (a state output's name)."),
                    );
                    continue;
                }
                out.ssm_path = path;
            }
            Structure::Block(block) => diags.push(unsupported(
                "block",
                block.ident.as_str(),
                "the deploy block",
                "no blocks yet",
                Loc::new(file, block.span()),
            )),
        }
    }
    out
}

pub(super) fn contract(file: FileId, body: HclBody, diags: &mut Diagnostics) -> Vec<ContractKey> {
    let mut keys: Vec<ContractKey> = Vec::new();
    for structure in body.into_iter() {
        let Structure::Block(block) = structure else {
            if let Structure::Attribute(attr) = structure {
                diags.push(
                    Diagnostic::error(format!("Unexpected argument \"{}\" in the contract block", attr.key.as_str()))
                        .at(Loc::new(file, attr.span()))
                        .detail("Declare each variable as key \"NAME\" { type = \"string\" }."),
                );
            }
            continue;
        };
        let at = Loc::new(file, block.span());
        if block.ident.as_str() != "key" {
            diags.push(unsupported("block", block.ident.as_str(), "the contract block", "key \"NAME\" { ... }", at));
            continue;
        }
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        let [pattern] = labels.as_slice() else {
            diags.push(
                Diagnostic::error("A key block takes one label: the variable's name, or a prefix ending in *").at(at),
            );
            continue;
        };
        let pattern = pattern.to_string();
        if keys.iter().any(|k| k.pattern == pattern) {
            diags.push(Diagnostic::error(format!("Duplicate contract key \"{pattern}\"")).at(at));
            continue;
        }
        let mut ty_name = "string".to_string();
        let mut values: Vec<String> = Vec::new();
        let mut required = !pattern.ends_with('*');
        let mut secret = false;
        let mut min_length = None;
        for inner in block.body.into_iter() {
            let Structure::Attribute(attr) = inner else { continue };
            let a = Loc::new(file, attr.span());
            match attr.key.as_str() {
                "type" => ty_name = constant_string(&attr.value, &a, "type", diags).unwrap_or_default(),
                "required" => required = constant_bool(&attr.value, &a, "required flag", diags),
                "secret" => secret = constant_bool(&attr.value, &a, "secret flag", diags),
                "values" => match eval_list(&attr.value) {
                    Some(v) => values = v,
                    None => diags.push(Diagnostic::error("values must be a list of strings").at(a)),
                },
                "min_length" => {
                    match crate::eval::eval(&attr.value, &super::ConstScope).ok().and_then(|v| v.as_f64()) {
                        Some(n) if n >= 0.0 && n.fract() == 0.0 => min_length = Some(n as usize),
                        _ => diags.push(Diagnostic::error("min_length must be a whole number").at(a)),
                    }
                }
                other => diags.push(unsupported(
                    "argument",
                    other,
                    "a contract key",
                    "type, values, required, secret, min_length",
                    a,
                )),
            }
        }
        let Some(ty) = KeyType::parse(&ty_name, values) else {
            diags.push(
                Diagnostic::error(format!("Unknown contract type \"{ty_name}\" for {pattern}"))
                    .at(at)
                    .detail("Types: string, number, bool, port, enum (with values = [...])."),
            );
            continue;
        };
        if matches!(&ty, KeyType::Enum(v) if v.is_empty()) {
            diags.push(Diagnostic::error(format!("The enum key {pattern} needs values = [...]")).at(at));
            continue;
        }
        keys.push(ContractKey { pattern, ty, required, secret, min_length });
    }
    keys
}

fn eval_list(expr: &hcl_edit::expr::Expression) -> Option<Vec<String>> {
    match crate::eval::eval(expr, &super::ConstScope).ok()? {
        Value::List(items) => items.into_iter().map(|v| v.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}
