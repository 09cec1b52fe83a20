//! Command-line definitions (clap). The commands themselves live in
//! `commands/`, one function each.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gantry",
    version,
    about = "Plan, apply and deploy the AWS infrastructure a small web app needs",
    long_about = "gantry reads a stack (a folder of Terraform-syntax .tf files plus envs/<env>.tfvars), \
plans the AWS changes it needs against stored state, and applies them.\n\n\
Typical session:\n  \
gantry validate -s stacks/vaultsphere\n  \
gantry plan     -s stacks/vaultsphere -e staging\n  \
gantry apply    -s stacks/vaultsphere -e staging\n  \
gantry output   -s stacks/vaultsphere -e staging\n\n\
AWS access uses the standard SDK environment: AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
AWS_REGION (unless the stack's provider block sets region) and AWS_ENDPOINT_URL for emulators.\n\
Secrets go in through the environment (TF_VAR_name or GANTRY_VAR_name), never on the command line.",
    after_help = "Exit codes: 0 success, 1 error, 2 changes present (plan --detailed-exitcode)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// The stack folder (its .tf files, envs/<env>.tfvars)
    #[arg(short = 's', long = "stack", global = true, default_value = ".", env = "GANTRY_STACK")]
    pub stack: PathBuf,
    /// The environment: selects envs/<ENV>.tfvars, and state/<stack>/<ENV>.json
    /// or the backend gantry.hcl configures for it
    #[arg(short = 'e', long = "env", global = true, default_value = "default", env = "GANTRY_ENV")]
    pub env: String,
    /// Where local state files live: <DIR>/<stack>/<env>.json
    #[arg(long = "state-dir", global = true, default_value = "state", env = "GANTRY_STATE_DIR")]
    pub state_dir: PathBuf,
    /// Disable colors (also when NO_COLOR is set or output is not a terminal)
    #[arg(long = "no-color", global = true)]
    pub no_color: bool,
    /// More detail on stderr (-v: info, -vv: debug); RUST_LOG works too
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Switch to DIR before anything else, as `terraform -chdir=DIR` does:
    /// every other path is then relative to DIR
    #[arg(long = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Whether -s/--stack was given (otherwise `apply PLAN_FILE` takes the
    /// stack from the plan)
    #[arg(skip)]
    pub stack_given: bool,
    /// Whether -e/--env was given
    #[arg(skip)]
    pub env_given: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the stack's files: syntax, resource types and attributes, references, cycles, trust policies
    Validate(ValidateArgs),
    /// Show what apply would change
    Plan(PlanArgs),
    /// Show the plan, ask, and make the changes
    Apply(ApplyArgs),
    /// Delete everything the environment's state holds
    Destroy(ApplyArgs),
    /// Print a saved plan (from plan --out)
    Show(ShowArgs),
    /// Read live state from AWS and record it, changing no infrastructure
    Refresh(RefreshArgs),
    /// Adopt an existing AWS object into state: gantry import ADDR ID
    Import(ImportArgs),
    /// Prepare an environment: state bucket and lock table, GitHub OIDC roles for CI, a workflow
    Bootstrap(BootstrapArgs),
    /// Run a command with the environment's SSM parameters in its environment: gantry exec -e prod -- CMD
    Exec(ExecArgs),
    /// Release the app onto the environment's hosts: image check, contract, compose up, health check, rollback
    #[command(
        after_help = "Steps: deploy lock, tag (git HEAD, 12 chars, or --tag), image check in ECR (--build builds and pushes \
first), environment contract against SSM, then on each host: registry login, env file (0600, deleted after), compose pull \
and up -d, health check. A failed release is rolled back to the last healthy one.
Exit status: 0 when the release is healthy, 1 otherwise (also after a good rollback).

Examples:
  gantry deploy -s stacks/vaultsphere -e staging                  # tag = git HEAD (12 chars)
  gantry deploy -s stacks/vaultsphere -e staging --tag v1.4.2
  gantry deploy -s stacks/vaultsphere -e staging --build          # build and push first
  gantry deploy -s stacks/vaultsphere -e prod --lock-timeout 5m   # wait for a running deploy

The deploy block of gantry.hcl says how: docs/deploy.md."
    )]
    Deploy(DeployArgs),
    /// List the environment's releases, newest first
    Releases(ReleasesArgs),
    /// Put the previous healthy release (or --to TAG) back on the hosts
    Rollback(RollbackArgs),
    /// Print the environment's outputs
    Output(OutputArgs),
    /// Print the dependency graph in Graphviz DOT
    Graph(GraphArgs),
    /// Inspect the environment's state
    #[command(subcommand)]
    State(StateCommand),
    /// Remove a lock left by a crashed run (the ID is printed by the run that found it)
    ForceUnlock {
        /// The lock ID
        id: String,
    },
    /// Print a shell completion script
    #[command(after_help = "Install:\n  \
bash: gantry completions bash > ~/.local/share/bash-completion/completions/gantry\n  \
zsh:  gantry completions zsh > \"${fpath[1]}/_gantry\"\n  \
fish: gantry completions fish > ~/.config/fish/completions/gantry.fish")]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct VarArgs {
    /// Set a variable: -var name=value (repeatable). Prefer TF_VAR_name for secrets.
    #[arg(long = "var", short = 'V', value_name = "NAME=VALUE", alias = "variable")]
    pub vars: Vec<String>,
    /// A .tfvars file to use instead of envs/<env>.tfvars
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_file: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ValidateArgs {
    /// Variable values, used to check what depends on them (optional)
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PlanArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    /// Print the plan as JSON (schema: docs/plan-json.md)
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the plan as Markdown for a pull-request comment. In GitHub
    /// Actions (GITHUB_STEP_SUMMARY set) the Markdown is always appended to
    /// the job summary.
    #[arg(long)]
    pub markdown: bool,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// Plan the deletion of everything in state
    #[arg(long)]
    pub destroy: bool,
    /// Only report changes made outside gantry
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// Skip reading live state from AWS (faster, may miss drift)
    #[arg(long = "no-refresh")]
    pub no_refresh: bool,
    /// Limit the plan to this address and what it depends on; with --destroy, to it and what depends on it (repeatable)
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Save the plan to FILE for `gantry apply FILE` (it holds no secrets)
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Plan to replace this resource instance even if nothing changed (repeatable)
    #[arg(long = "replace", value_name = "ADDR")]
    pub replace: Vec<String>,
    /// Accepted as Terraform's plan takes it; plan's reads are batched by type
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    #[command(flatten)]
    pub terraform: TerraformFlags,
}

/// Flags Terraform's plan and apply take, accepted so that existing scripts
/// run unchanged.
#[derive(Debug, Args, Clone)]
pub struct TerraformFlags {
    /// Ask for input (gantry never asks for variables; with false, an apply
    /// that would ask for approval fails instead, as in CI)
    #[arg(long = "input", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub input: bool,
    /// Take the state lock (false skips it: only when you know nothing else runs)
    #[arg(long = "lock", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub lock: bool,
    /// How long to wait for the state lock, e.g. 30s, 5m (default: fail at once, naming the holder)
    #[arg(long = "lock-timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
}

impl Default for TerraformFlags {
    fn default() -> Self {
        TerraformFlags { input: true, lock: true, lock_timeout: None }
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`: apply exactly it, without asking
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Limit to this address and what it depends on; with destroy, to it and what depends on it (repeatable)
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Only record changes made outside gantry in state
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// Apply without asking (for CI)
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// How many AWS operations may run at once
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
    /// Skip reading live state from AWS first
    #[arg(long = "no-refresh")]
    pub no_refresh: bool,
    /// Replace this resource instance even if nothing changed (repeatable)
    #[arg(long = "replace", value_name = "ADDR")]
    pub replace: Vec<String>,
    #[command(flatten)]
    pub terraform: TerraformFlags,
}

#[derive(Debug, Args, Clone)]
pub struct BootstrapArgs {
    /// The GitHub repository (ORG/REPO) whose workflows may plan and apply
    #[arg(long = "github-repo", value_name = "ORG/REPO")]
    pub github_repo: String,
    /// The branch whose pushes apply
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// The GitHub environment guarding the apply job (default: the gantry environment's name)
    #[arg(long = "github-environment", value_name = "NAME")]
    pub github_environment: Option<String>,
    /// State bucket name (default: gantry-state-<account>-<region>)
    #[arg(long = "state-bucket", value_name = "NAME")]
    pub state_bucket: Option<String>,
    /// DynamoDB lock table name
    #[arg(long = "lock-table", value_name = "NAME", default_value = "gantry-locks")]
    pub lock_table: String,
    /// Region of the state bucket and lock table (default: the AWS environment's)
    #[arg(long)]
    pub region: Option<String>,
    /// Where to write the GitHub Actions workflow
    #[arg(long, value_name = "PATH", default_value = ".github/workflows/gantry.yml")]
    pub workflow: PathBuf,
    /// Do not write a workflow
    #[arg(long = "no-workflow")]
    pub no_workflow: bool,
    /// Apply the bootstrap stack without asking
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ExecArgs {
    /// Fail when a key the contract requires is missing (otherwise a warning)
    #[arg(long)]
    pub strict: bool,
    /// The command and its arguments, after --
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DeployArgs {
    /// The image tag to release (default: the git commit of the working directory, 12 characters)
    #[arg(long)]
    pub tag: Option<String>,
    /// Build the image (linux/amd64) from the deploy block's build context and push TAG and latest first
    #[arg(long)]
    pub build: bool,
    /// With --build: the build context, instead of gantry.hcl's build.context
    #[arg(long, value_name = "DIR", requires = "build")]
    pub build_context: Option<PathBuf>,
    /// Only sync the frontend folder to its bucket
    #[arg(long, conflicts_with_all = ["build", "skip_frontend"])]
    pub frontend_only: bool,
    /// Do not sync the frontend folder
    #[arg(long)]
    pub skip_frontend: bool,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub struct LockArgs {
    /// How long to wait for another deploy's lock, e.g. 30s, 5m (default: fail at once, naming the holder)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::config::deploy_settings::parse_duration(text)
        .ok_or_else(|| format!("\"{text}\" is not a duration such as 30s, 500ms or 5m"))
}

#[derive(Debug, Args, Clone, Default)]
pub struct ReleasesArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RollbackArgs {
    /// The release to put back (must have been healthy here once); default: the one before the live release
    #[arg(long, value_name = "TAG")]
    pub to: Option<String>,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ShowArgs {
    /// The plan file
    pub file: PathBuf,
    /// Print the plan in Terraform's JSON plan format (as `terraform show -json`;
    /// sensitive values are null and marked in the *_sensitive masks), for OPA,
    /// conftest, infracost and other plan-JSON tools
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    /// Where the object goes, e.g. aws_s3_bucket.assets or aws_ssm_parameter.config["PORT"]
    pub address: String,
    /// The object's id as AWS knows it (bucket name, parameter name, table name, ...)
    pub id: String,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// One output's name (prints its raw value)
    pub name: Option<String>,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct GraphArgs {
    /// Include variables, locals, outputs and the provider
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in state
    List,
    /// Show one resource's attributes from state (secrets are never stored)
    Show {
        /// e.g. aws_ssm_parameter.port or aws_dynamodb_table.t["users"]
        address: String,
    },
    /// Forget resources without deleting them in AWS (they keep existing)
    Rm {
        /// Instance addresses, or a resource address for all its instances
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// Move a resource to another address (after a rename, or into count/for_each)
    Mv { from: String, to: String },
    /// Move the environment's local state file to the backend gantry.hcl now
    /// configures for it (keeps lineage and serial; the local file is renamed
    /// to <env>.json.migrated, never deleted)
    Migrate,
    /// Start the environment's state from a Terraform state file (format 4):
    /// same addresses and ids, secrets sealed, the Terraform file untouched
    ImportTerraform(ImportTerraformArgs),
    /// Write the environment's state as a Terraform state (format 4) for
    /// the same .tf files; sensitive values are left for Terraform to read
    ExportTerraform {
        /// The file to write (refused if it exists); standard output without it
        #[arg(long = "out")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ImportTerraformArgs {
    /// The Terraform state: a local terraform.tfstate or s3://BUCKET/KEY;
    /// without it, where the stack's `backend` block says
    pub source: Option<String>,
    /// Read the state where the stack's Terraform `backend "s3"` (or
    /// "local") block says (the default when SOURCE is not given)
    #[arg(long = "from-backend", conflicts_with = "source")]
    pub from_backend: bool,
    /// The Terraform workspace (default: TF_WORKSPACE, else the one
    /// `terraform workspace select` chose in the stack folder, else default)
    #[arg(long = "workspace", value_name = "NAME")]
    pub workspace: Option<String>,
    /// For s3://BUCKET/KEY: the DynamoDB table of Terraform's lock
    #[arg(long = "dynamodb-table", value_name = "TABLE")]
    pub dynamodb_table: Option<String>,
    /// For s3://BUCKET/KEY: Terraform's lock is the `<KEY>.tflock` object
    #[arg(long = "use-lockfile")]
    pub use_lockfile: bool,
    /// How long to wait for Terraform's state lock, e.g. 30s, 5m (default:
    /// fail at once, naming Terraform's holder)
    #[arg(long = "lock-timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
    /// Import even when some objects would be left unmanaged (types gantry
    /// does not support, objects the stack does not declare); they are listed
    #[arg(long = "allow-partial")]
    pub allow_partial: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Terraform spells long options with one dash (`-var`, `-auto-approve`,
/// `-target=ADDR`, `-chdir=DIR`); gantry takes that spelling too, so muscle
/// memory and existing scripts work. The rule, applied before clap parses:
/// a single-dash word whose name (up to `=`) is one of gantry's long
/// options becomes that long option; `-refresh=false` is `--no-refresh`; a
/// single-dash word that does not start with one of the short flags
/// (`-s`, `-e`, `-v`, `-V`) becomes a long option too, so that clap can say
/// "did you mean" for a typo such as `-auto-aprove`. Everything else is left
/// alone: `-s DIR`, `-eprod`, `-vv`. No long option is spelled with short
/// flags only (a unit test checks it), so the rule is never ambiguous.
/// Words after `--` (a command for `exec`) are never touched.
pub fn normalize_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let longs = long_option_names();
    let shorts = short_option_chars();
    let mut out = Vec::new();
    let mut rest_is_positional = false;
    for arg in args {
        let text = match arg.to_str() {
            Some(t) if !rest_is_positional => t.to_string(),
            _ => {
                out.push(arg);
                continue;
            }
        };
        if text == "--" {
            rest_is_positional = true;
            out.push(arg);
            continue;
        }
        let Some(word) = text.strip_prefix('-').filter(|w| !w.starts_with('-') && w.len() > 1) else {
            out.push(arg);
            continue;
        };
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
        if name == "refresh" {
            match value {
                Some("false") => out.push("--no-refresh".into()),
                Some("true") => {}
                _ => out.push(format!("-{text}").into()),
            }
            continue;
        }
        let starts_with_short = name.chars().next().is_some_and(|c| shorts.contains(&c));
        if longs.contains(name) || !starts_with_short {
            out.push(format!("-{text}").into());
        } else {
            out.push(arg);
        }
    }
    out
}

/// Every long option name (and alias) of every subcommand.
fn long_option_names() -> std::collections::BTreeSet<String> {
    every_argument(|arg| {
        let aliases = arg.get_all_aliases().unwrap_or_default().into_iter().map(str::to_string);
        arg.get_long().map(str::to_string).into_iter().chain(aliases).collect()
    })
}

/// Every short flag of every subcommand, and `-h`.
fn short_option_chars() -> std::collections::BTreeSet<char> {
    let mut chars = every_argument(|arg| arg.get_short().into_iter().collect());
    chars.insert('h');
    chars
}

/// What `each` picks from every argument of the command and its subcommands.
fn every_argument<T: Ord>(each: impl Fn(&clap::Arg) -> Vec<T>) -> std::collections::BTreeSet<T> {
    fn walk<T: Ord>(
        cmd: &clap::Command,
        each: &impl Fn(&clap::Arg) -> Vec<T>,
        out: &mut std::collections::BTreeSet<T>,
    ) {
        for arg in cmd.get_arguments() {
            out.extend(each(arg));
        }
        for sub in cmd.get_subcommands() {
            walk(sub, each, out);
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(&<Cli as clap::CommandFactory>::command(), &each, &mut out);
    out
}

/// Parses the command line (after [`normalize_args`]), noting which of the
/// stack and environment were given.
pub fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(normalize_args(args))?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    let given = |id: &str| {
        let top = matches.value_source(id);
        let sub = matches.subcommand().and_then(|(_, m)| m.value_source(id));
        [top, sub].into_iter().flatten().any(|s| s == clap::parser::ValueSource::CommandLine)
    };
    cli.global.stack_given = given("stack");
    cli.global.env_given = given("env");
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(std::ffi::OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn terraform_spellings_become_long_options() {
        assert_eq!(
            normalized(&["gantry", "-chdir=x", "apply", "-target=aws_s3_bucket.b", "-auto-approve", "-var", "a=b"]),
            ["gantry", "--chdir=x", "apply", "--target=aws_s3_bucket.b", "--auto-approve", "--var", "a=b"]
        );
        assert_eq!(normalized(&["gantry", "plan", "-refresh=false"]), ["gantry", "plan", "--no-refresh"]);
        assert_eq!(normalized(&["gantry", "plan", "-refresh=true"]), ["gantry", "plan"]);
        assert_eq!(
            normalized(&["gantry", "plan", "-lock=false", "-lock-timeout=5s", "-input=false", "-out=p.json"]),
            ["gantry", "plan", "--lock=false", "--lock-timeout=5s", "--input=false", "--out=p.json"]
        );
    }

    #[test]
    fn short_flags_and_commands_are_left_alone() {
        assert_eq!(
            normalized(&["gantry", "plan", "-s", "st", "-eprod", "-vv"]),
            ["gantry", "plan", "-s", "st", "-eprod", "-vv"]
        );
        assert_eq!(
            normalized(&["gantry", "exec", "--", "sh", "-c", "-var"]),
            ["gantry", "exec", "--", "sh", "-c", "-var"]
        );
        // A typo becomes a long option, for clap's suggestion.
        assert_eq!(normalized(&["gantry", "apply", "-auto-aprove"]), ["gantry", "apply", "--auto-aprove"]);
    }

    #[test]
    fn no_long_option_is_spelled_with_short_flags_alone() {
        let shorts = short_option_chars();
        for long in long_option_names() {
            assert!(!long.chars().all(|c| shorts.contains(&c)), "--{long} could be read as short flags");
        }
    }

    #[test]
    fn every_spelling_parses() {
        for line in [
            "gantry plan -target=aws_s3_bucket.b -out=p.json -var-file=f.tfvars -replace=aws_s3_bucket.b -input=false -lock=false -lock-timeout=30s -parallelism=3",
            "gantry apply --target aws_s3_bucket.b --replace aws_s3_bucket.b --input false --lock false --lock-timeout 30s --parallelism 3",
            "gantry -chdir=stacks apply -auto-approve -refresh=false",
        ] {
            let args: Vec<std::ffi::OsString> = line.split(' ').map(Into::into).collect();
            if let Err(e) = parse(args) {
                panic!("{line}: {e}");
            }
        }
        let cli = parse(["gantry", "apply", "p.json"].map(Into::into)).unwrap();
        assert!(!cli.global.stack_given && !cli.global.env_given);
        let cli = parse(["gantry", "apply", "-s", "x", "p.json", "-e", "prod"].map(Into::into)).unwrap();
        assert!(cli.global.stack_given && cli.global.env_given);
        let err = parse(["gantry", "apply", "-auto-aprove"].map(Into::into)).unwrap_err().to_string();
        assert!(err.contains("--auto-approve"), "{err}");
    }
}
