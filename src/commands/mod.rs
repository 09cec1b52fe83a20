//! One function per subcommand, and what they share: loading the stack,
//! rendering diagnostics, exit codes.

mod apply;
mod bootstrap;
mod deploy;
mod exec;
mod inspect;
mod plan;
mod state_edit;
mod tfstate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::aws::AwsCtx;
use crate::cli::{Cli, Command, Global, VarArgs};
use crate::config::{vars, BackendSettings, EnvSettings, Settings, Stack};
use crate::diag::{Diagnostic, Diagnostics, SourceMap};
use crate::graph::Graph;
use crate::state::{Backend, LocalBackend, RefuseUnmigrated, S3Backend};

/// How a command ended.
pub enum Exit {
    Ok,
    /// `--detailed-exitcode` and the plan has changes.
    Changes,
    /// Already reported to the user.
    Failed,
    /// A command run by `exec` ended with this code.
    Child(i32),
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        match e {
            Exit::Ok => ExitCode::SUCCESS,
            Exit::Changes => ExitCode::from(2),
            Exit::Failed => ExitCode::FAILURE,
            Exit::Child(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        }
    }
}

/// Terminal settings for one run.
#[derive(Clone)]
pub struct Ui {
    pub color: bool,
    pub color_err: bool,
}

impl Ui {
    pub fn new(global: &Global) -> Ui {
        let allowed = !global.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Ui { color: allowed && std::io::stdout().is_terminal(), color_err: allowed && std::io::stderr().is_terminal() }
    }

    pub fn report(&self, diags: &Diagnostics, sources: &SourceMap) {
        if !diags.is_empty() {
            eprintln!("{}", diags.render(sources, self.color_err));
        }
    }

    pub fn error(&self, d: Diagnostic) {
        self.report(&d.into(), &SourceMap::default());
    }
}

pub async fn run(cli: Cli) -> Exit {
    let ui = Ui::new(&cli.global);
    if let Some(dir) = &cli.global.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            ui.error(Diagnostic::error(format!("Cannot switch to -chdir={}: {e}", dir.display())));
            return Exit::Failed;
        }
    }
    let g = &cli.global;
    match cli.command {
        Command::Validate(args) => inspect::validate(g, &ui, args),
        Command::Plan(args) => plan::plan(g, &ui, args).await,
        Command::Apply(args) => apply::apply(g, &ui, args, false).await,
        Command::Destroy(args) => apply::apply(g, &ui, args, true).await,
        Command::Show(args) => plan::show(&ui, args),
        Command::Refresh(args) => {
            let args = crate::cli::ApplyArgs { vars: args.vars, refresh_only: true, ..Default::default() };
            apply::apply(g, &ui, args, false).await
        }
        Command::Import(args) => state_edit::import(g, &ui, args).await,
        Command::Bootstrap(args) => bootstrap::bootstrap(g, &ui, args).await,
        Command::Exec(args) => exec::exec(g, &ui, args).await,
        Command::Deploy(args) => deploy::deploy(g, &ui, args).await,
        Command::Releases(args) => deploy::releases(g, &ui, args).await,
        Command::Rollback(args) => deploy::rollback(g, &ui, args).await,
        Command::Output(args) => inspect::output(g, &ui, args).await,
        Command::Graph(args) => inspect::graph(g, &ui, args),
        Command::State(crate::cli::StateCommand::Rm { addresses }) => state_edit::rm(g, &ui, &addresses).await,
        Command::State(crate::cli::StateCommand::Mv { from, to }) => state_edit::mv(g, &ui, &from, &to).await,
        Command::State(crate::cli::StateCommand::List) => inspect::state_list(g, &ui).await,
        Command::State(crate::cli::StateCommand::Show { address }) => inspect::state_show(g, &ui, &address).await,
        Command::State(crate::cli::StateCommand::Migrate) => state_edit::migrate(g, &ui).await,
        Command::State(crate::cli::StateCommand::ImportTerraform(args)) => {
            tfstate::import_terraform(g, &ui, args).await
        }
        Command::State(crate::cli::StateCommand::ExportTerraform { out }) => {
            tfstate::export_terraform(g, &ui, out.as_deref()).await
        }
        Command::ForceUnlock { id } => inspect::force_unlock(g, &ui, &id).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "gantry", &mut std::io::stdout());
            Exit::Ok
        }
    }
}

/// A loaded, checked stack with its graph.
pub struct Loaded {
    pub stack: Stack,
    pub graph: Graph,
}

impl Loaded {
    /// Rebuilds the graph with module calls expanded by their count and
    /// for_each, evaluated from the environment's variables.
    pub fn expand(
        &mut self,
        ui: &Ui,
        vars: &std::collections::BTreeMap<String, crate::value::Value>,
    ) -> Result<(), Exit> {
        self.graph = Graph::build_expanded(&self.stack, vars).map_err(|diags| {
            ui.report(&diags, &self.stack.sources);
            Exit::Failed
        })?;
        Ok(())
    }
}

pub fn load(global: &Global, ui: &Ui) -> Result<Loaded, Exit> {
    let stack = Stack::load(&global.stack).map_err(|(sources, diags)| {
        ui.report(&diags, &sources);
        Exit::Failed
    })?;
    let graph = Graph::build(&stack).map_err(|diags| {
        ui.report(&diags, &stack.sources);
        Exit::Failed
    })?;
    Ok(Loaded { stack, graph })
}

/// Warnings about a loaded stack that do not stop it (on stderr): rules of
/// one security group managed in two places.
pub fn warn_about(ui: &Ui, stack: &Stack) {
    ui.report(&crate::diag::Diagnostics(crate::plan::sg_overlap::warnings(stack)), &stack.sources);
}

/// The tfvars file of the environment: `--var-file`, else `envs/<env>.tfvars`.
pub(crate) fn tfvars_path(global: &Global, stack: &Stack, args: &VarArgs) -> Result<Option<PathBuf>, Diagnostic> {
    if let Some(path) = &args.var_file {
        return Ok(Some(path.clone()));
    }
    let envs = stack.dir.join("envs");
    let path = envs.join(format!("{}.tfvars", global.env));
    if path.is_file() {
        return Ok(Some(path));
    }
    if envs.is_dir() && global.env != "default" {
        let mut known: Vec<String> = std::fs::read_dir(&envs)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".tfvars")).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        known.sort();
        return Err(Diagnostic::error(format!("Unknown environment \"{}\"", global.env)).detail(format!(
            "{} does not exist. Environments of this stack: {}.",
            path.display(),
            known.join(", ")
        )));
    }
    Ok(None)
}

pub fn resolve_vars(
    global: &Global,
    ui: &Ui,
    stack: &Stack,
    args: &VarArgs,
) -> Result<std::collections::BTreeMap<String, crate::value::Value>, Exit> {
    let tfvars = tfvars_path(global, stack, args).map_err(|d| {
        ui.error(d);
        Exit::Failed
    })?;
    for name in secret_command_line_vars(stack, args) {
        ui.error(Diagnostic::warning(format!("The sensitive variable {name} was given with -var")).detail(format!(
            "Command lines are visible to other users of this machine (ps) and kept in shell history and CI logs. \
             Pass it through the environment instead: TF_VAR_{name}=... (gantry never prints it)."
        )));
    }
    vars::resolve(stack, &vars::VarSources::from_process(tfvars, args.vars.clone())).map_err(|diags| {
        ui.report(&diags, &stack.sources);
        Exit::Failed
    })
}

/// Names of sensitive variables given with `-var NAME=VALUE`.
pub fn secret_command_line_vars<'a>(stack: &'a Stack, args: &'a VarArgs) -> impl Iterator<Item = &'a str> {
    args.vars
        .iter()
        .filter_map(|arg| stack.variables.get(var_arg_name(arg)).filter(|v| v.sensitive).map(|v| v.name.as_str()))
}

/// The variable a `-var NAME=VALUE` argument sets.
pub fn var_arg_name(arg: &str) -> &str {
    arg.split_once('=').map_or(arg, |(n, _)| n).trim()
}

/// The stack folder's `gantry.hcl` (defaults when there is none). A bad file
/// is reported with file and line.
pub fn settings(global: &Global, ui: &Ui) -> Result<Settings, Exit> {
    Settings::load(&global.stack).map_err(|(sources, diags)| {
        ui.report(&diags, &sources);
        Exit::Failed
    })
}

/// The environment's state backend, as `gantry.hcl` configures it.
pub async fn backend(global: &Global, ui: &Ui, stack: &Stack) -> Result<Box<dyn Backend>, Exit> {
    backend_for(global, ui, &stack.name).await
}

/// The backend of a stack known by name only (commands that load no `.tf`
/// files); `gantry.hcl` is read from the stack folder all the same.
pub async fn backend_for(global: &Global, ui: &Ui, stack_name: &str) -> Result<Box<dyn Backend>, Exit> {
    let settings = settings(global, ui)?;
    Ok(backend_with(global, stack_name, &settings.env(&global.env)).await)
}

/// The backend of an environment with the given settings: local, or S3
/// guarded against starting empty while a local state file still exists.
pub async fn backend_with(global: &Global, stack_name: &str, env: &EnvSettings) -> Box<dyn Backend> {
    let local = LocalBackend::new(&global.state_dir, stack_name, &global.env);
    match s3_backend(global, stack_name, env).await {
        None => Box::new(local),
        Some(remote) => {
            let command = format!("gantry state migrate -s {} -e {}", global.stack.display(), global.env);
            Box::new(RefuseUnmigrated::new(Box::new(remote), local, command))
        }
    }
}

/// The S3 backend of an environment, when it has one. Its clients use the
/// backend's region, else the environment's (AWS_REGION, profile).
pub async fn s3_backend(global: &Global, stack_name: &str, env: &EnvSettings) -> Option<S3Backend> {
    let BackendSettings::S3 { bucket, key, region, lock_table } = &env.backend else { return None };
    let aws = AwsCtx::load(region.clone()).await;
    let key = key.clone().unwrap_or_else(|| BackendSettings::default_key(stack_name, &global.env));
    Some(S3Backend::new(&aws, bucket, &key, lock_table.as_deref()))
}

/// The stack's name from its folder, for commands that need no stack files.
pub(crate) fn stack_name_of(global: &Global) -> String {
    crate::config::stack_name(&global.stack)
}
