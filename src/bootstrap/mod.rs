//! `gantry bootstrap`: what a new environment needs before its stack can run
//! from CI. The pieces are generated here as text; the command applies them
//! with the ordinary engine, so a re-run is a no-op plan and the result can
//! be inspected and destroyed like any stack.

use std::path::Path;

/// The bootstrap stack (one `main.tf`).
pub const STACK_TF: &str = include_str!("stack.tf");

mod workflow;

pub use workflow::{Workflow, SETUP_GANTRY_DIR, SETUP_GANTRY_FILES};

/// Everything the generated files are made from.
pub struct Params<'a> {
    pub stack: &'a str,
    /// The stack folder as the workflow should name it (relative to the repo).
    pub stack_dir: &'a Path,
    pub env: &'a str,
    pub region: &'a str,
    pub state_bucket: &'a str,
    pub lock_table: &'a str,
    pub github_repository: &'a str,
    pub branch: &'a str,
    pub github_environment: &'a str,
}

impl Params<'_> {
    /// The subject of the protected job that applies: GitHub gives jobs that
    /// name an environment the subject `repo:ORG/REPO:environment:NAME`.
    pub fn apply_subject(&self) -> String {
        format!("repo:{}:environment:{}", self.github_repository, self.github_environment)
    }

    /// The subject of pull-request workflows.
    pub fn plan_subject(&self) -> String {
        format!("repo:{}:pull_request", self.github_repository)
    }

    /// `envs/<env>.tfvars` of the bootstrap stack.
    pub fn tfvars(&self) -> String {
        let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        format!(
            "# Written by `gantry bootstrap`; re-running it rewrites this file.\n\
             region            = {}\nstack             = {}\nenv               = {}\nstate_bucket      = {}\n\
             lock_table        = {}\ngithub_repository = {}\napply_subject     = {}\nplan_subject      = {}\n",
            q(self.region),
            q(self.stack),
            q(self.env),
            q(self.state_bucket),
            q(self.lock_table),
            q(self.github_repository),
            q(&self.apply_subject()),
            q(&self.plan_subject()),
        )
    }

    /// The `gantry.hcl` block that points the environment at the new state.
    pub fn environment_block(&self) -> String {
        format!(
            "\n# Written by `gantry bootstrap`.\nenvironment \"{env}\" {{\n  backend \"s3\" {{\n    bucket     = \"{bucket}\"\n    key        = \"{stack}/{env}.json\"\n    region     = \"{region}\"\n    lock_table = \"{table}\"\n  }}\n}}\n",
            env = self.env,
            bucket = self.state_bucket,
            stack = self.stack,
            region = self.region,
            table = self.lock_table,
        )
    }
}

/// `ORG/REPO` with no wildcard: the trust policies pin exactly it.
pub fn valid_repository(repo: &str) -> bool {
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    matches!(repo.split_once('/'), Some((owner, name)) if ok(owner) && ok(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params<'static> {
        Params {
            stack: "vaultsphere",
            stack_dir: Path::new("stacks/vaultsphere"),
            env: "prod",
            region: "us-east-1",
            state_bucket: "b",
            lock_table: "t",
            github_repository: "acme/vaultsphere",
            branch: "main",
            github_environment: "prod",
        }
    }

    #[test]
    fn repository_must_be_exact() {
        assert!(valid_repository("acme/vaultsphere"));
        for bad in ["acme/*", "*", "acme", "acme/", "/x", "a/b/c"] {
            assert!(!valid_repository(bad), "{bad}");
        }
    }

    #[test]
    fn subjects_pin_repository_and_environment() {
        assert_eq!(params().apply_subject(), "repo:acme/vaultsphere:environment:prod");
        assert_eq!(params().plan_subject(), "repo:acme/vaultsphere:pull_request");
    }
}
