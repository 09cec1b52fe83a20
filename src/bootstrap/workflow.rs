//! The GitHub Actions workflow `gantry bootstrap` writes, and the
//! setup-gantry action it uses, which bootstrap copies into the repository
//! beside it (`./.github/actions/setup-gantry`: a local action needs no pin,
//! and the repository's reviewers see exactly what runs).

use std::path::{Component, Path, PathBuf};

use super::Params;

const TEMPLATE: &str = include_str!("workflow.yml");

/// The actions the workflow uses, pinned to the commit their release tag
/// pointed at (read from the actions' repositories): a tag can be moved to
/// other code, a commit cannot. The tag stays in a comment for updaters.
const PINS: [(&str, &str, &str); 4] = [
    ("{{CHECKOUT}}", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    ("{{UPLOAD_ARTIFACT}}", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    ("{{DOWNLOAD_ARTIFACT}}", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    ("{{CONFIGURE_AWS_CREDENTIALS}}", "e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
];

/// Where the setup-gantry action goes, relative to the repository root.
pub const SETUP_GANTRY_DIR: &str = ".github/actions/setup-gantry";

/// The setup-gantry action's files: gantry's own copy is the one shipped.
pub const SETUP_GANTRY_FILES: [(&str, &str); 3] = [
    ("action.yml", include_str!("../../.github/actions/setup-gantry/action.yml")),
    ("install.sh", include_str!("../../.github/actions/setup-gantry/install.sh")),
    ("pr.py", include_str!("../../.github/actions/setup-gantry/pr.py")),
];

/// The workflow of one stack and environment.
pub struct Workflow<'a> {
    pub params: &'a Params<'a>,
    /// Where the workflow is written, relative to the repository root.
    pub path: &'a Path,
    pub apply_role_arn: &'a str,
    pub plan_role_arn: &'a str,
    /// Required sensitive variables of the stack: each comes from a GitHub
    /// secret as `TF_VAR_<name>`.
    pub sensitive_variables: Vec<String>,
    /// Folders of local modules outside the stack folder: a change there
    /// changes the plan too.
    pub module_dirs: Vec<PathBuf>,
    /// Where gantry releases live (see setup-gantry's `release-url`).
    pub release_url: String,
    /// The gantry release CI installs.
    pub version: &'a str,
}

impl Workflow<'_> {
    pub fn render(&self) -> String {
        let p = self.params;
        let secret_lines: Vec<String> = self
            .sensitive_variables
            .iter()
            .map(|v| format!("          TF_VAR_{v}: ${{{{ secrets.{} }}}}", self.secret_name(v)))
            .collect();
        // Each placeholder stands on a line of its own; with no secrets the
        // line goes, newline and all.
        let (secret_env, secret_lines) = if secret_lines.is_empty() {
            (String::new(), String::new())
        } else {
            let lines = secret_lines.join("\n") + "\n";
            (format!("        env:\n{lines}"), lines)
        };
        let paths: Vec<String> = self.paths().iter().map(|p| format!("      - {}", quote(p))).collect();
        let mut text = TEMPLATE.to_string();
        for (placeholder, commit, tag) in PINS {
            text = text.replace(placeholder, &format!("{commit} # {tag}"));
        }
        text.replace("{{PATHS}}", &paths.join("\n"))
            .replace("{{SECRET_ENV}}\n", &secret_env)
            .replace("{{SECRET_LINES}}\n", &secret_lines)
            .replace("GANTRY_STACK: {{STACK_DIR}}", &format!("GANTRY_STACK: {}", quote(&slash(p.stack_dir))))
            .replace("GANTRY_ENV: {{ENV}}", &format!("GANTRY_ENV: {}", quote(p.env)))
            .replace("branches: [{{BRANCH}}]", &format!("branches: [{}]", quote(p.branch)))
            .replace("environment: {{GITHUB_ENV}}", &format!("environment: {}", quote(p.github_environment)))
            .replace("{{STACK_DIR}}", &slash(p.stack_dir))
            .replace("{{STACK}}", p.stack)
            .replace("{{ENV}}", p.env)
            .replace("{{REGION}}", p.region)
            .replace("{{BRANCH}}", p.branch)
            .replace("{{GITHUB_ENV}}", p.github_environment)
            .replace("{{APPLY_ROLE_ARN}}", self.apply_role_arn)
            .replace("{{PLAN_ROLE_ARN}}", self.plan_role_arn)
            .replace("{{VERSION}}", self.version)
            .replace("{{RELEASE_URL}}", &self.release_url)
    }

    /// The GitHub secret a sensitive variable comes from: named after the
    /// environment too, so staging and prod keep different values.
    pub fn secret_name(&self, variable: &str) -> String {
        let name: String = format!("{}_{variable}", self.params.env)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
            .collect();
        // GitHub refuses names that start with a digit or with GITHUB_.
        if name.starts_with(|c: char| c.is_ascii_digit()) || name.starts_with("GITHUB_") {
            format!("GANTRY_{name}")
        } else {
            name
        }
    }

    /// What a change must touch to plan or apply: the stack folder (its
    /// .tf files, tfvars and gantry.hcl), local modules outside it, this
    /// workflow and the setup-gantry action.
    fn paths(&self) -> Vec<String> {
        let mut paths = vec![format!("{}/**", slash(self.params.stack_dir))];
        let stack = normalize(self.params.stack_dir);
        for dir in &self.module_dirs {
            let dir = normalize(dir);
            if !dir.starts_with(&stack) {
                paths.push(format!("{}/**", slash(&dir)));
            }
        }
        paths.push(slash(self.path));
        paths.push(format!("{SETUP_GANTRY_DIR}/**"));
        paths.dedup();
        paths
    }
}

/// A path as the workflow names it: relative, with `/`.
fn slash(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").unwrap_or(&text).trim_end_matches('/').to_string()
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A YAML single-quoted scalar: nothing in it is read as YAML syntax.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workflow of the guide (docs/github-actions.md), kept as a file
    /// that CI lints with zizmor and actionlint (scripts/lint-workflows.sh).
    const GOLDEN: &str = "docs/examples/gantry.yml";

    fn params() -> Params<'static> {
        Params {
            stack: "vaultsphere",
            stack_dir: Path::new("stacks/vaultsphere"),
            env: "prod",
            region: "us-east-1",
            state_bucket: "gantry-state-123456789012-us-east-1",
            lock_table: "gantry-locks",
            github_repository: "acme/vaultsphere",
            branch: "main",
            github_environment: "prod",
        }
    }

    fn workflow<'a>(params: &'a Params<'a>, secrets: &[&str]) -> Workflow<'a> {
        Workflow {
            params,
            path: Path::new(".github/workflows/gantry.yml"),
            apply_role_arn: "arn:aws:iam::123456789012:role/gantry-vaultsphere-prod-apply",
            plan_role_arn: "arn:aws:iam::123456789012:role/gantry-vaultsphere-prod-plan",
            sensitive_variables: secrets.iter().map(|s| s.to_string()).collect(),
            module_dirs: vec![
                PathBuf::from("stacks/vaultsphere/modules/x"),
                PathBuf::from("stacks/vaultsphere/../shared"),
            ],
            release_url: "${{ github.server_url }}/acme/gantry/releases/download".into(),
            version: "0.1.0",
        }
    }

    #[test]
    fn rendered_workflow_matches_the_linted_golden_copy() {
        let p = params();
        let text = workflow(&p, &["session_secret"]).render();
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if std::env::var_os("GANTRY_BLESS").is_some() {
            std::fs::write(&golden, &text).unwrap();
        }
        let kept = std::fs::read_to_string(&golden).unwrap_or_default();
        assert!(
            kept == text,
            "{GOLDEN} differs from what bootstrap writes; GANTRY_BLESS=1 cargo test --lib bootstrap rewrites it"
        );
    }

    #[test]
    fn every_placeholder_is_filled_and_every_action_pinned() {
        let p = params();
        // `${{ ... }}` is GitHub's own syntax; ours are `{{UPPERCASE}}`.
        let ours = regex::Regex::new(r"(^|[^$])\{\{ ?[A-Z_]+ ?\}\}").unwrap();
        let pin = regex::Regex::new(r"uses: [\w-]+/[\w-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$").unwrap();
        for secrets in [&[][..], &["session_secret", "db_password"][..]] {
            let text = workflow(&p, secrets).render();
            assert!(!ours.is_match(&text), "{text}");
            assert!(!text.contains("\n\n\n") && !text.contains("env:\n        run:"), "{text}");
            for line in text.lines().filter(|l| l.contains("uses:") && !l.contains("uses: ./")) {
                assert!(pin.is_match(line.trim_start_matches(' ').trim_start_matches("- ")), "{line}");
            }
        }
        let text = workflow(&p, &["session_secret"]).render();
        assert_eq!(text.matches("TF_VAR_session_secret: ${{ secrets.PROD_SESSION_SECRET }}").count(), 4);
        assert!(text.contains("role-to-assume: arn:aws:iam::123456789012:role/gantry-vaultsphere-prod-apply"));
        assert!(text.contains("environment: 'prod'"));
        assert_eq!(text.matches("persist-credentials: false").count(), 3);
    }

    #[test]
    fn paths_cover_the_stack_its_outside_modules_and_the_workflow() {
        let p = params();
        let w = workflow(&p, &[]);
        assert_eq!(
            w.paths(),
            [
                "stacks/vaultsphere/**",
                "stacks/shared/**",
                ".github/workflows/gantry.yml",
                ".github/actions/setup-gantry/**"
            ]
        );
    }

    #[test]
    fn secret_names_are_valid_github_secret_names() {
        let p = params();
        assert_eq!(workflow(&p, &[]).secret_name("session_secret"), "PROD_SESSION_SECRET");
        let odd = Params { env: "1-eu", ..params() };
        assert_eq!(workflow(&odd, &[]).secret_name("db.pw"), "GANTRY_1_EU_DB_PW");
    }
}
