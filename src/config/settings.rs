//! `gantry.hcl`: the settings of a stack that Terraform has no word for, read
//! from the stack folder when it is there. For now: per-environment state
//! backend and protection (format: docs/gantry-hcl.md).
//!
//! Values are constants (no references, no variables): the backend must be
//! known before anything else is evaluated. Like the stack files, anything
//! gantry does not know is an error naming file, line and what is supported.

use std::collections::BTreeMap;
use std::path::Path;

use hcl_edit::structure::{Block, Body as HclBody, Structure};
use hcl_edit::Span;

use super::blocks::{constant_bool, constant_string, unsupported};
pub use super::deploy_settings::{
    BuildSettings, DeploySettings, FrontendSettings, HealthSettings, OutputOr, ProxySettings, SshSettings, SsmPath,
    TransportKind,
};
use crate::contract::ContractKey;
use crate::diag::{Diagnostic, Diagnostics, FileId, Loc, SourceMap};

/// The settings file's name, in the stack folder.
pub const FILE_NAME: &str = "gantry.hcl";

const TOP_LEVEL: &str = "environment, deploy, contract";
const ENVIRONMENT_BODY: &str = "protect, backend, deploy";
const BACKEND_TYPES: &str = "\"s3\", \"local\"";
const S3_ARGUMENTS: &str = "bucket, key, region, lock_table";

/// Everything `gantry.hcl` says; empty when the file does not exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub environments: BTreeMap<String, EnvSettings>,
    pub deploy: DeploySettings,
    /// What the app needs in its environment (see crate::contract).
    pub contract: Vec<ContractKey>,
}

/// One environment's settings. An environment without a block gets the
/// default: local state, no protection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvSettings {
    /// apply and destroy ask for the environment's name instead of "yes".
    pub protect: bool,
    pub backend: BackendSettings,
    /// What this environment's deploys do differently (replaces the
    /// top-level deploy block's settings it names).
    pub deploy: DeploySettings,
}

/// Where an environment's state lives.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum BackendSettings {
    /// `<state dir>/<stack>/<env>.json`.
    #[default]
    Local,
    /// An object in S3, locked by a DynamoDB item or a lock object.
    S3 {
        bucket: String,
        /// Default: `<stack>/<env>.json`.
        key: Option<String>,
        /// Default: the AWS region of the environment (AWS_REGION, profile).
        region: Option<String>,
        /// Without it, the lock is the S3 object `<key>.lock`.
        lock_table: Option<String>,
    },
}

impl BackendSettings {
    /// The S3 key of a stack environment's state.
    pub fn default_key(stack: &str, env: &str) -> String {
        format!("{stack}/{env}.json")
    }
}

impl Settings {
    /// Reads `gantry.hcl` from the stack folder `dir`; no file, no settings.
    pub fn load(dir: &Path) -> Result<Settings, (SourceMap, Diagnostics)> {
        let path = dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Settings::parse(&path, text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => {
                Err((SourceMap::default(), Diagnostic::error(format!("Cannot read {}: {e}", path.display())).into()))
            }
        }
    }

    /// Parses the text of a settings file found at `path`.
    pub fn parse(path: &Path, text: String) -> Result<Settings, (SourceMap, Diagnostics)> {
        let mut sources = SourceMap::default();
        let mut diags = Diagnostics::default();
        let file = sources.add(path.to_path_buf(), text);
        let mut settings = Settings::default();
        match hcl_edit::parser::parse_body(&sources.get(file).text) {
            Ok(body) => collect(&mut settings, file, body, &mut diags),
            Err(e) => {
                let loc = e.location();
                diags.push(
                    Diagnostic::error(format!("Syntax error: {}", e.message()))
                        .in_file(path, loc.line(), loc.column())
                        .detail(format!("{} | {}", loc.line(), e.line().trim_end())),
                );
            }
        }
        if diags.has_errors() {
            return Err((sources, diags));
        }
        Ok(settings)
    }

    /// The settings of one environment (defaults when it has no block).
    pub fn env(&self, name: &str) -> EnvSettings {
        self.environments.get(name).cloned().unwrap_or_default()
    }

    /// The deploy settings of one environment: the top-level block with the
    /// environment's own deploy block laid over it.
    pub fn deploy_for(&self, env: &str) -> DeploySettings {
        self.deploy.clone().overlay(&self.env(env).deploy)
    }
}

fn collect(settings: &mut Settings, file: FileId, body: HclBody, diags: &mut Diagnostics) {
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => diags.push(
                Diagnostic::error(format!(
                    "Unexpected attribute \"{}\" at the top level of gantry.hcl",
                    attr.key.as_str()
                ))
                .at(Loc::new(file, attr.span()))
                .detail(format!("gantry.hcl holds blocks only: {TOP_LEVEL}.")),
            ),
            Structure::Block(block) => {
                let loc = Loc::new(file, block.span());
                let kind = block.ident.as_str().to_string();
                if kind == "deploy" {
                    settings.deploy = super::deploy_settings::deploy(file, block.body, diags);
                    continue;
                }
                if kind == "contract" {
                    settings.contract = super::deploy_settings::contract(file, block.body, diags);
                    continue;
                }
                if kind != "environment" {
                    diags.push(
                        Diagnostic::error(format!("Unsupported block type \"{kind}\" in gantry.hcl"))
                            .at(loc)
                            .detail(format!("gantry.hcl supports these top-level blocks: {TOP_LEVEL}.")),
                    );
                    continue;
                }
                let Some(name) =
                    one_label(&block, "An environment block", "the environment's name, as in -e NAME", &loc, diags)
                else {
                    continue;
                };
                if settings.environments.contains_key(&name) {
                    diags.push(Diagnostic::error(format!("Duplicate environment \"{name}\"")).at(loc));
                    continue;
                }
                let env = environment(file, block.body, diags);
                settings.environments.insert(name, env);
            }
        }
    }
}

/// The single label of a block, reported when missing or extra.
fn one_label(block: &Block, what: &str, meaning: &str, loc: &Loc, diags: &mut Diagnostics) -> Option<String> {
    let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
    match labels.as_slice() {
        [label] if !label.is_empty() => Some(label.to_string()),
        _ => {
            diags.push(
                Diagnostic::error(format!("{what} takes one label, found {}", labels.len()))
                    .at(loc.clone())
                    .detail(format!("The label is {meaning}.")),
            );
            None
        }
    }
}

fn environment(file: FileId, body: HclBody, diags: &mut Diagnostics) -> EnvSettings {
    let mut env = EnvSettings::default();
    let mut seen_protect = false;
    let mut seen_backend: Option<Loc> = None;
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => {
                let at = Loc::new(file, attr.span());
                let key = attr.key.as_str();
                if key != "protect" {
                    diags.push(unsupported("argument", key, "an environment block", ENVIRONMENT_BODY, at));
                    continue;
                }
                if std::mem::replace(&mut seen_protect, true) {
                    diags.push(Diagnostic::error("Duplicate argument \"protect\"").at(at));
                    continue;
                }
                env.protect = constant_bool(&attr.value, &at, "protect flag", diags);
            }
            Structure::Block(block) => {
                let at = Loc::new(file, block.span());
                let kind = block.ident.as_str().to_string();
                if kind == "deploy" {
                    env.deploy = super::deploy_settings::deploy(file, block.body, diags);
                    continue;
                }
                if kind != "backend" {
                    diags.push(unsupported("block", &kind, "an environment block", "backend, deploy", at));
                    continue;
                }
                if seen_backend.is_some() {
                    diags.push(
                        Diagnostic::error("Duplicate backend block")
                            .at(at)
                            .detail("An environment keeps its state in one place."),
                    );
                    continue;
                }
                seen_backend = Some(at.clone());
                let Some(kind) = one_label(
                    &block,
                    "A backend block",
                    format!("the backend type: {BACKEND_TYPES}").as_str(),
                    &at,
                    diags,
                ) else {
                    continue;
                };
                match kind.as_str() {
                    "s3" => {
                        if let Some(b) = s3_backend(file, block.body, &at, diags) {
                            env.backend = b;
                        }
                    }
                    "local" => {
                        for structure in block.body.into_iter() {
                            let (name, loc) = match &structure {
                                Structure::Attribute(a) => (a.key.as_str().to_string(), Loc::new(file, a.span())),
                                Structure::Block(b) => (b.ident.as_str().to_string(), Loc::new(file, b.span())),
                            };
                            diags.push(
                                Diagnostic::error(format!("Unsupported argument \"{name}\" in a local backend"))
                                    .at(loc)
                                    .detail("The local backend takes no arguments: its files live under --state-dir (state/<stack>/<env>.json)."),
                            );
                        }
                    }
                    other => diags.push(
                        Diagnostic::error(format!("Unsupported backend type \"{other}\""))
                            .at(at)
                            .detail(format!("Supported backend types: {BACKEND_TYPES}.")),
                    ),
                }
            }
        }
    }
    env
}

fn s3_backend(file: FileId, body: HclBody, loc: &Loc, diags: &mut Diagnostics) -> Option<BackendSettings> {
    let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
    let errors_before = diags.0.len();
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => {
                let at = Loc::new(file, attr.span());
                let key = attr.key.as_str();
                let Some(name) = ["bucket", "key", "region", "lock_table"].into_iter().find(|n| *n == key) else {
                    let hint = match key {
                        "dynamodb_table" => "\n(gantry names Terraform's dynamodb_table lock_table.)",
                        "encrypt" | "kms_key_id" => {
                            "\n(The state object gets the bucket's default encryption, which gantry bootstrap sets.)"
                        }
                        "profile" | "access_key" | "secret_key" | "endpoint" | "endpoints" | "role_arn" => {
                            "\n(Credentials and endpoints come from the standard AWS environment, never from files.)"
                        }
                        _ => "",
                    };
                    diags.push(
                        Diagnostic::error(format!("Unsupported argument \"{key}\" in an s3 backend"))
                            .at(at)
                            .detail(format!("Supported here: {S3_ARGUMENTS}.{hint}")),
                    );
                    continue;
                };
                if values.contains_key(name) {
                    diags.push(Diagnostic::error(format!("Duplicate argument \"{name}\"")).at(at));
                    continue;
                }
                let Some(value) = constant_string(&attr.value, &at, name, diags) else { continue };
                if let Err(problem) = check(name, &value) {
                    diags.push(Diagnostic::error(format!("Invalid {name} \"{value}\"")).at(at).detail(problem));
                    continue;
                }
                values.insert(name, value);
            }
            Structure::Block(block) => diags.push(unsupported(
                "block",
                block.ident.as_str(),
                "an s3 backend",
                "no blocks",
                Loc::new(file, block.span()),
            )),
        }
    }
    let Some(bucket) = values.remove("bucket") else {
        if diags.0.len() == errors_before {
            diags.push(
                Diagnostic::error("The s3 backend needs a bucket")
                    .at(loc.clone())
                    .detail("Add bucket = \"NAME\": the bucket that holds the state (gantry bootstrap creates it)."),
            );
        }
        return None;
    };
    Some(BackendSettings::S3 {
        bucket,
        key: values.remove("key"),
        region: values.remove("region"),
        lock_table: values.remove("lock_table"),
    })
}

/// AWS's naming rules, checked here so a typo is reported at its line rather
/// than as an API error later.
fn check(name: &str, value: &str) -> Result<(), String> {
    let chars_ok = |allowed: &dyn Fn(char) -> bool| value.chars().all(allowed);
    match name {
        "bucket" => {
            let ok = (3..=63).contains(&value.len())
                && chars_ok(&|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
                && value.starts_with(|c: char| c.is_ascii_alphanumeric())
                && value.ends_with(|c: char| c.is_ascii_alphanumeric());
            if ok {
                Ok(())
            } else {
                Err("S3 bucket names have 3 to 63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.".into())
            }
        }
        "key" => {
            if value.is_empty() || value.starts_with('/') || value.ends_with('/') {
                Err("The key is the object's path in the bucket, like \"vaultsphere/prod.json\": not empty, no leading or trailing slash.".into())
            } else {
                Ok(())
            }
        }
        "region" => {
            if !value.is_empty() && chars_ok(&|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                Ok(())
            } else {
                Err("A region is a name like \"us-east-1\".".into())
            }
        }
        "lock_table" => {
            let ok = (3..=255).contains(&value.len())
                && chars_ok(&|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
            if ok {
                Ok(())
            } else {
                Err("DynamoDB table names have 3 to 255 characters: letters, digits, '_', '-' and '.'.".into())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        Settings::parse(Path::new("stack/gantry.hcl"), text.to_string())
            .map_err(|(sources, diags)| diags.render(&sources, false))
    }

    #[test]
    fn reads_environments_with_backends_and_protection() {
        let settings = parse(
            r#"
environment "prod" {
  protect = true
  backend "s3" {
    bucket     = "acme-gantry-state"
    key        = "vaultsphere/prod.json"
    region     = "eu-west-1"
    lock_table = "gantry-locks"
  }
}

environment "staging" {
  backend "s3" {
    bucket = "acme-gantry-state"
  }
}

environment "dev" {
  backend "local" {}
}
"#,
        )
        .unwrap();
        assert_eq!(
            settings.env("prod"),
            EnvSettings {
                protect: true,
                backend: BackendSettings::S3 {
                    bucket: "acme-gantry-state".into(),
                    key: Some("vaultsphere/prod.json".into()),
                    region: Some("eu-west-1".into()),
                    lock_table: Some("gantry-locks".into()),
                },
                deploy: Default::default(),
            }
        );
        assert_eq!(
            settings.env("staging").backend,
            BackendSettings::S3 { bucket: "acme-gantry-state".into(), key: None, region: None, lock_table: None }
        );
        assert_eq!(settings.env("dev"), EnvSettings::default());
        assert_eq!(settings.env("unlisted"), EnvSettings::default());
    }

    #[test]
    fn reads_the_proxy_block_and_singletons() {
        let settings = parse(
            r#"
deploy {
  service   = "shop"
  singleton = ["worker", "db"]
  proxy {
    ports = [8001, 8002]
    drain = "2s"
  }
}

environment "local" {
  deploy {
    proxy {
      enabled = false
    }
  }
}
"#,
        )
        .unwrap();
        let proxy = settings.deploy_for("prod").proxy.unwrap();
        assert_eq!(
            proxy,
            ProxySettings {
                upstream_file: None,
                reload: super::super::deploy_settings::DEFAULT_PROXY_RELOAD.to_string(),
                ports: [8001, 8002],
                drain: std::time::Duration::from_secs(2),
                enabled: true,
            }
        );
        assert_eq!(settings.deploy_for("prod").singleton, Some(vec!["worker".to_string(), "db".to_string()]));
        assert!(!settings.deploy_for("local").proxy.unwrap().enabled);

        for (text, said) in [
            ("deploy {\n  proxy {\n  }\n}\n", "The proxy block needs ports"),
            ("deploy {\n  proxy {\n    ports = [8001, 8001]\n  }\n}\n", "two different port numbers"),
            ("deploy {\n  proxy {\n    ports = [8001, 70000]\n  }\n}\n", "two different port numbers"),
            ("deploy {\n  singleton = \"db\"\n}\n", "singleton must be a list"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(said), "{text}: {err}");
        }
    }

    #[test]
    fn a_missing_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), Settings::default());
    }

    #[test]
    fn unknown_things_are_errors_with_file_and_line() {
        let cases = [
            ("module {\n}\n", "Unsupported block type \"module\"", "gantry.hcl:1:1", "environment, deploy, contract"),
            ("x = 1\n", "Unexpected attribute \"x\"", "gantry.hcl:1:1", "blocks only"),
            (
                "environment \"p\" {\n  protekt = true\n}\n",
                "Unsupported argument \"protekt\"",
                "gantry.hcl:2:3",
                "protect, backend",
            ),
            (
                "environment \"p\" {\n  backend \"s3\" {\n    bucket = \"b-b-b\"\n    dynamodb_table = \"t\"\n  }\n}\n",
                "Unsupported argument \"dynamodb_table\"",
                "gantry.hcl:4:5",
                "lock_table",
            ),
            (
                "environment \"p\" {\n  backend \"gcs\" {}\n}\n",
                "Unsupported backend type \"gcs\"",
                "gantry.hcl:2:3",
                "\"s3\"",
            ),
            ("environment \"p\" {\n  backend \"s3\" {}\n}\n", "needs a bucket", "gantry.hcl:2:3", "bucket ="),
            (
                "environment \"p\" {\n  backend \"s3\" {\n    bucket = var.b\n  }\n}\n",
                "Invalid bucket",
                "gantry.hcl:3:",
                "constant",
            ),
            (
                "environment \"p\" {\n  backend \"s3\" {\n    bucket = \"Bad_Bucket\"\n  }\n}\n",
                "Invalid bucket \"Bad_Bucket\"",
                "gantry.hcl:3:5",
                "lowercase",
            ),
            ("environment \"p\" {\n  protect = \"yes\"\n}\n", "expected true or false", "gantry.hcl:2:3", ""),
            ("environment \"p\" {}\nenvironment \"p\" {}\n", "Duplicate environment \"p\"", "gantry.hcl:2:1", ""),
            ("environment {}\n", "takes one label", "gantry.hcl:1:1", ""),
            (
                "environment \"p\" {\n  backend \"local\" {}\n  backend \"local\" {}\n}\n",
                "Duplicate backend",
                "gantry.hcl:3:3",
                "",
            ),
            (
                "environment \"p\" {\n  backend \"local\" {\n    path = \"x\"\n  }\n}\n",
                "in a local backend",
                "gantry.hcl:3:5",
                "",
            ),
            ("environment \"p\" {\n", "Syntax error", "gantry.hcl:1:19", ""),
        ];
        for (text, summary, place, detail) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.contains(summary), "{text:?}: {err}");
            assert!(err.contains(place), "{text:?}: {err}");
            assert!(err.contains(detail), "{text:?}: {err}");
        }
    }
}
