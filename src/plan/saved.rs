//! Saved plans (`plan --out FILE`, `apply FILE`): what a reviewer saw, bound
//! to everything it was computed from. Applying it re-plans and refuses
//! unless the state, the stack files, the variables and the resulting
//! actions are all exactly as when it was saved.
//!
//! A saved plan holds no secret: the renderings mask sensitive values, and
//! sensitive variables are kept as keyed hashes. Their key is derived from
//! the state's hash key and a random per-plan salt, so the plan file alone
//! (a CI artifact, say) does not let anyone test guesses of a secret. Only a
//! plan of an environment without state yet is keyed by the salt alone.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::addr::InstanceAddr;
use crate::config::Stack;
use crate::state::{SecretHasher, State};
use crate::value::Value;

use super::walk::PlanOptions;
use super::{Action, Plan};

pub const FORMAT: &str = "gantry-plan";
/// 2: the hashes of sensitive variables are keyed with the state's key.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StateRef {
    pub lineage: String,
    pub serial: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SavedOptions {
    pub destroy: bool,
    pub refresh_only: bool,
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    pub version: u32,
    pub gantry_version: String,
    pub stack: String,
    pub environment: String,
    /// The stack folder as given to plan (`-s`), so that `apply FILE` run
    /// from the same place needs no `-s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_dir: Option<String>,
    /// The `-var` arguments plan was given, except those of sensitive
    /// variables, and its `-var-file`: `apply FILE` reuses them when given
    /// none, as Terraform's plan files carry their variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub var_args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var_file: Option<String>,
    pub created: String,
    /// The state the plan was computed against; `None` for a new environment.
    pub state: Option<StateRef>,
    /// SHA-256 of the stack's .tf files and the tfvars file.
    pub config_hash: String,
    /// SHA-256 of the non-sensitive variable values.
    pub variables_hash: String,
    /// Keyed hashes of sensitive variables, by name.
    pub sensitive_inputs: BTreeMap<String, String>,
    salt: String,
    pub options: SavedOptions,
    /// Every planned action other than no-op, by address.
    pub actions: BTreeMap<String, Vec<String>>,
    /// The plan as `plan --json` prints it.
    pub plan: serde_json::Value,
    /// The plan as `plan` prints it (no colors).
    pub text: String,
    /// The plan in Terraform's JSON plan format, for `show -json`. Absent
    /// from plans saved by an older gantry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terraform_json: Option<serde_json::Value>,
}

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read plan file {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} is not a gantry plan file (format {found:?}, version {version})")]
    Format { path: String, found: String, version: u32 },
    #[error("the plan was made for {planned}, not {current}")]
    OtherEnvironment { planned: String, current: String },
    #[error("the stack's files or its tfvars changed since the plan was made; run plan again")]
    ConfigChanged,
    #[error("variable values differ from the plan's ({0}); run plan again with the same values")]
    VariablesChanged(String),
    #[error("the state changed since the plan was made (planned against {planned}, now {current}); run plan again")]
    StateMoved { planned: String, current: String },
    #[error("the infrastructure changed since the plan was made, so the plan is no longer what was reviewed:\n{0}\nRun plan again.")]
    ActionsDiffer(String),
    #[error("cannot write plan file {path}: {message}")]
    Write { path: String, message: String },
}

/// What a plan is computed from.
pub struct Inputs<'a> {
    pub stack: &'a Stack,
    pub env: &'a str,
    pub tfvars: Option<&'a Path>,
    pub vars: &'a BTreeMap<String, Value>,
    pub state: Option<&'a State>,
    pub options: &'a PlanOptions,
}

impl SavedPlan {
    pub fn new(inputs: &Inputs<'_>, plan: &Plan, json: serde_json::Value, text: String) -> SavedPlan {
        use rand::RngCore;
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = hex::encode(salt);
        let (variables_hash, sensitive_inputs) = hash_vars(inputs.vars, &vars_key(&salt, inputs.state));
        SavedPlan {
            format: FORMAT.into(),
            version: VERSION,
            gantry_version: env!("CARGO_PKG_VERSION").into(),
            stack: inputs.stack.name.clone(),
            environment: inputs.env.to_string(),
            stack_dir: Some(inputs.stack.dir.display().to_string()),
            var_args: Vec::new(),
            var_file: None,
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            state: inputs.state.map(|s| StateRef { lineage: s.lineage.clone(), serial: s.serial }),
            config_hash: config_hash(inputs.stack, inputs.tfvars),
            variables_hash,
            sensitive_inputs,
            salt,
            options: SavedOptions {
                destroy: inputs.options.destroy,
                refresh_only: inputs.options.refresh_only,
                targets: inputs.options.targets.iter().map(ToString::to_string).collect(),
                replace: inputs.options.replace.iter().map(ToString::to_string).collect(),
            },
            actions: actions(plan),
            plan: json,
            text,
            terraform_json: None,
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let err =
            |e: std::io::Error| SavedPlanError::Write { path: path.display().to_string(), message: e.to_string() };
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).map_err(err)?;
        file.write_all(text.as_bytes()).map_err(err)
    }

    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let read_err = |message: String| SavedPlanError::Read { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| read_err(e.to_string()))?;
        let found = json.get("format").and_then(|f| f.as_str()).unwrap_or("").to_string();
        let version = json.get("version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
        if found != FORMAT || version != VERSION {
            return Err(SavedPlanError::Format { path: path.display().to_string(), found, version });
        }
        serde_json::from_value(json).map_err(|e| read_err(e.to_string()))
    }

    pub fn plan_options(&self) -> Result<PlanOptions, SavedPlanError> {
        let parse = |addrs: &[String]| {
            addrs
                .iter()
                .map(|t| t.parse::<InstanceAddr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SavedPlanError::Read { path: "plan".into(), message: e.to_string() })
        };
        Ok(PlanOptions {
            refresh: true,
            refresh_only: self.options.refresh_only,
            destroy: self.options.destroy,
            targets: parse(&self.options.targets)?,
            replace: parse(&self.options.replace)?,
        })
    }

    /// Refuses when anything the plan was computed from has changed.
    pub fn check_inputs(&self, inputs: &Inputs<'_>) -> Result<(), SavedPlanError> {
        if self.stack != inputs.stack.name || self.environment != inputs.env {
            return Err(SavedPlanError::OtherEnvironment {
                planned: format!("{}/{}", self.stack, self.environment),
                current: format!("{}/{}", inputs.stack.name, inputs.env),
            });
        }
        if self.config_hash != config_hash(inputs.stack, inputs.tfvars) {
            return Err(SavedPlanError::ConfigChanged);
        }
        // Keyed as when planned: with the state's key only if there was a
        // state then (a state that appeared since is refused below).
        let state = inputs.state.filter(|_| self.state.is_some());
        let (variables_hash, sensitive) = hash_vars(inputs.vars, &vars_key(&self.salt, state));
        let mut differing: Vec<String> = Vec::new();
        if variables_hash != self.variables_hash {
            differing.push("non-sensitive variables".into());
        }
        let names: std::collections::BTreeSet<&String> = sensitive.keys().chain(self.sensitive_inputs.keys()).collect();
        for name in names {
            if sensitive.get(name) != self.sensitive_inputs.get(name) {
                differing.push(format!("sensitive variable {name}"));
            }
        }
        if !differing.is_empty() {
            return Err(SavedPlanError::VariablesChanged(differing.join(", ")));
        }
        let current = inputs.state.map(|s| StateRef { lineage: s.lineage.clone(), serial: s.serial });
        if current != self.state {
            let show = |s: &Option<StateRef>| match s {
                Some(s) => format!("lineage {} serial {}", s.lineage, s.serial),
                None => "no state".to_string(),
            };
            return Err(SavedPlanError::StateMoved { planned: show(&self.state), current: show(&current) });
        }
        Ok(())
    }

    /// Refuses when re-planning now gives different actions.
    pub fn check_actions(&self, plan: &Plan) -> Result<(), SavedPlanError> {
        let now = actions(plan);
        if now == self.actions {
            return Ok(());
        }
        let mut lines = Vec::new();
        let addrs: std::collections::BTreeSet<&String> = now.keys().chain(self.actions.keys()).collect();
        for addr in addrs {
            let show = |a: Option<&Vec<String>>| a.map(|a| a.join("+")).unwrap_or_else(|| "no-op".into());
            let (before, after) = (self.actions.get(addr), now.get(addr));
            if before != after {
                lines.push(format!("  {addr}: planned {}, now {}", show(before), show(after)));
            }
        }
        Err(SavedPlanError::ActionsDiffer(lines.join("\n")))
    }
}

fn actions(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.addr.to_string(), c.action.json_actions().iter().map(|a| a.to_string()).collect()))
        .collect()
}

/// SHA-256 over every stack file (name and content) and the tfvars file.
pub fn config_hash(stack: &Stack, tfvars: Option<&Path>) -> String {
    let mut hasher = Sha256::new();
    for file in stack.sources.files() {
        hasher.update(file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default().as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    if let Some(path) = tfvars {
        hasher.update(b"tfvars\0");
        hasher.update(std::fs::read(path).unwrap_or_default());
    }
    hex::encode(hasher.finalize())
}

/// The key of the hashes of sensitive variables: the salt keyed with the
/// state's hash key when there is a state.
fn vars_key(salt: &str, state: Option<&State>) -> String {
    match state {
        Some(state) => state.hasher().hash(&serde_json::Value::String(salt.to_string())),
        None => salt.to_string(),
    }
}

fn hash_vars(vars: &BTreeMap<String, Value>, salt: &str) -> (String, BTreeMap<String, String>) {
    let keyed = SecretHasher::new(salt);
    let mut plain = serde_json::Map::new();
    let mut sensitive = BTreeMap::new();
    for (name, value) in vars {
        if value.is_sensitive() {
            sensitive.insert(name.clone(), keyed.hash(&value.to_json()));
        } else {
            plain.insert(name.clone(), value.to_json());
        }
    }
    let digest = Sha256::digest(serde_json::Value::Object(plain).to_string().as_bytes());
    (hex::encode(digest), sensitive)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With a state, the file's salt alone does not reproduce the hashes:
    /// guessing a secret from a plan artifact needs the state's key too.
    #[test]
    fn sensitive_inputs_are_keyed_with_the_states_key() {
        let vars = BTreeMap::from([("secret".to_string(), Value::string("canary").mark_sensitive())]);
        let state = State::new();
        let (_, with_state) = hash_vars(&vars, &vars_key("00ff", Some(&state)));
        let (_, salt_only) = hash_vars(&vars, &vars_key("00ff", None));
        assert_ne!(with_state["secret"], salt_only["secret"]);
        let (_, again) = hash_vars(&vars, &vars_key("00ff", Some(&state)));
        assert_eq!(with_state, again, "the same state key and salt give the same hashes");
        assert_ne!(hash_vars(&vars, &vars_key("00ff", Some(&State::new()))).1, with_state, "another state's key");
    }
}
