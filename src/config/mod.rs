//! Loading a stack: every `*.tf` file of the folder, parsed with hcl-edit (which
//! keeps byte spans, so every problem points at file:line), turned into typed
//! blocks and checked against the resource schemas.
//!
//! Anything outside gantry's subset of Terraform is an error naming what is
//! supported; nothing is silently ignored.

mod blocks;
pub mod deploy_settings;
mod modules;
mod schema_check;
pub mod settings;
pub mod vars;
mod version;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;

use crate::addr::ResourceAddr;
use crate::diag::{Diagnostic, Diagnostics, Loc, SourceMap};
use crate::eval::{Reference, TypeConstraint};
use crate::value::Value;

pub use schema_check::unsupported_type;
pub use settings::{BackendSettings, EnvSettings, Settings};

/// A stack folder, loaded and checked: the root module and, through its
/// module calls, every child module.
#[derive(Debug)]
pub struct Stack {
    /// The folder's name: `stacks/vaultsphere` → `vaultsphere`.
    pub name: String,
    pub dir: PathBuf,
    pub sources: SourceMap,
    pub root: Module,
}

/// The blocks of one module: the stack folder itself, or a folder a
/// `module` block names as its source.
#[derive(Debug, Default)]
pub struct Module {
    /// The module's folder.
    pub dir: PathBuf,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    /// Managed resources and data sources, by their address inside the module.
    pub resources: BTreeMap<ResourceAddr, ResourceConfig>,
    pub outputs: BTreeMap<String, Output>,
    pub provider: Option<ProviderConfig>,
    /// `module "NAME" { ... }` blocks, by name.
    pub calls: BTreeMap<String, ModuleCall>,
    /// `moved { from = ... to = ... }` blocks, in source order.
    pub moved: Vec<Moved>,
    /// `check` blocks.
    pub checks: Vec<Check>,
    /// `terraform { backend "TYPE" { ... } }`: gantry never writes to it; it
    /// names where Terraform keeps this stack's state.
    pub backend: Option<TerraformBackend>,
}

/// A Terraform `backend` (or `cloud`) block, its constant settings as text.
#[derive(Debug, Clone)]
pub struct TerraformBackend {
    pub kind: String,
    pub settings: BTreeMap<String, Value>,
    /// Where each setting is, for errors about one of them.
    pub setting_locs: BTreeMap<String, Loc>,
    /// Nested blocks (`endpoints`, `assume_role`), by name: not read.
    pub blocks: Vec<String>,
    pub loc: Loc,
}

/// A `moved` block: state recorded at `from` now belongs at `to`.
#[derive(Debug)]
pub struct Moved {
    pub from: MoveEndpoint,
    pub to: MoveEndpoint,
    pub loc: Loc,
}

/// One side of a `moved` block, relative to the module it is written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveEndpoint {
    /// `module.a` or `module.a[0]`: everything in that module instance.
    Module(crate::addr::ModuleInstance),
    /// `aws_x.a`: every instance of the resource, keys kept.
    Resource(ResourceAddr),
    /// `aws_x.a[0]`, `aws_x.a["k"]`: one instance.
    Instance(crate::addr::InstanceAddr),
}

/// A `module` block: where the child module comes from, its input values,
/// and how many instances it has.
#[derive(Debug)]
pub struct ModuleCall {
    pub name: String,
    /// `source` as written, and where.
    pub source: String,
    pub source_loc: Loc,
    /// Input variables, as arguments of the block.
    pub args: Vec<BodyAttr>,
    pub repetition: Repetition,
    pub depends_on: Vec<(Reference, Loc)>,
    pub loc: Loc,
    /// The child module, loaded from `source`.
    pub module: Module,
}

impl std::ops::Deref for Stack {
    type Target = Module;

    fn deref(&self) -> &Module {
        &self.root
    }
}

impl Stack {
    /// The module configuration at a static path of call names.
    pub fn module(&self, path: &[&str]) -> Option<&Module> {
        let mut module = &self.root;
        for name in path {
            module = &module.calls.get(*name)?.module;
        }
        Some(module)
    }

    /// The block that declares a resource, in whatever module it lives.
    pub fn resource_config(&self, addr: &ResourceAddr) -> Option<&ResourceConfig> {
        self.module(&addr.module.static_path())?.resources.get(&addr.local())
    }

    /// The module call that made a module instance (`None` for the root).
    pub fn call(&self, path: &[&str]) -> Option<&ModuleCall> {
        let (last, parent) = path.split_last()?;
        self.module(parent)?.calls.get(*last)
    }
}

#[derive(Debug)]
pub struct Variable {
    pub name: String,
    pub ty: TypeConstraint,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    /// `ephemeral = true`: gantry treats the value as sensitive.
    pub ephemeral: bool,
    pub validations: Vec<Validation>,
    pub loc: Loc,
}

#[derive(Debug)]
pub struct Validation {
    pub condition: Expression,
    pub error_message: Expression,
    pub loc: Loc,
}

#[derive(Debug)]
pub struct Local {
    pub name: String,
    pub expr: Expression,
    pub loc: Loc,
}

#[derive(Debug)]
pub struct Output {
    pub name: String,
    pub expr: Expression,
    pub sensitive: bool,
    pub description: Option<String>,
    pub depends_on: Vec<(Reference, Loc)>,
    pub loc: Loc,
}

#[derive(Debug)]
pub struct ProviderConfig {
    pub region: Option<(Expression, Loc)>,
    pub default_tags: Option<(Expression, Loc)>,
    pub loc: Loc,
}

/// The arguments of a resource or nested block, in source order.
#[derive(Debug, Default)]
pub struct Body {
    pub attrs: Vec<BodyAttr>,
    pub blocks: Vec<BodyBlock>,
}

#[derive(Debug)]
pub struct BodyAttr {
    pub name: String,
    pub expr: Expression,
    pub loc: Loc,
}

#[derive(Debug)]
pub struct BodyBlock {
    pub name: String,
    /// The block's arguments; for a `dynamic` block, its `content`.
    pub body: Body,
    pub loc: Loc,
    /// Set for `dynamic "NAME" { for_each = ... content { ... } }`: the
    /// body is repeated once per element.
    pub dynamic: Option<Dynamic>,
}

/// What repeats a `dynamic` block.
#[derive(Debug)]
pub struct Dynamic {
    pub for_each: Expression,
    pub for_each_loc: Loc,
    /// The name the content uses for the element (`NAME.key`,
    /// `NAME.value`): `iterator`, else the block's name.
    pub iterator: String,
}

/// How many instances a resource has.
#[derive(Debug)]
pub enum Repetition {
    Single,
    Count(Expression, Loc),
    ForEach(Expression, Loc),
}

#[derive(Debug, Default, Clone)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    /// Attribute names whose changes are ignored; `all` ignores every one.
    pub ignore_changes: Vec<String>,
    pub ignore_all_changes: bool,
    /// `precondition` and `postcondition` blocks.
    pub conditions: Vec<Condition>,
}

/// A `precondition`/`postcondition` of a resource, or an `assert` of a
/// `check` block.
#[derive(Debug, Clone)]
pub struct Condition {
    /// Postconditions see the resource's own values as `self`.
    pub post: bool,
    pub condition: Expression,
    pub error_message: Expression,
    pub loc: Loc,
}

/// A `check "NAME" { assert { ... } }` block: its failures are warnings.
#[derive(Debug)]
pub struct Check {
    pub name: String,
    pub asserts: Vec<Condition>,
    pub loc: Loc,
}

#[derive(Debug)]
pub struct ResourceConfig {
    pub addr: ResourceAddr,
    pub body: Body,
    pub repetition: Repetition,
    pub depends_on: Vec<(Reference, Loc)>,
    pub lifecycle: Lifecycle,
    /// `# gantry:NAME` comments right above the block (opt-outs of checks).
    pub directives: Vec<String>,
    pub loc: Loc,
}

impl ResourceConfig {
    pub fn has_directive(&self, name: &str) -> bool {
        self.directives.iter().any(|d| d == name)
    }
}

impl Stack {
    /// Loads and checks every `*.tf` file in `dir`, and the modules they call.
    pub fn load(dir: &Path) -> Result<Stack, (SourceMap, Diagnostics)> {
        let mut sources = SourceMap::default();
        let mut diags = Diagnostics::default();
        let name = stack_name(dir);
        if let Err(d) = tf_files(dir) {
            return Err((sources, d.into()));
        }
        let root = modules::load_root(dir, &mut sources, &mut diags);
        if root.resources.is_empty() && root.outputs.is_empty() && !diags.has_errors() && sources.files().is_empty() {
            diags.push(
                Diagnostic::error(format!("No stack files in {}", dir.display()))
                    .detail("A stack is a folder of .tf files; pass it with -s/--stack."),
            );
        }
        check_module(&root, &mut diags);
        if diags.has_errors() {
            return Err((sources, diags));
        }
        Ok(Stack { name, dir: dir.to_path_buf(), sources, root })
    }

    pub fn describe(&self, loc: &Loc) -> String {
        self.sources.describe(loc)
    }
}

/// The scope of constants (defaults, flags, tfvars): no names resolve.
pub(crate) struct ConstScope;

impl crate::eval::Scope for ConstScope {
    fn variable(&self, _: &str) -> Option<Value> {
        None
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
        Path::new(".")
    }
}

/// An expression's value when it is a constant (a literal, or functions of
/// literals): what Terraform calls a constant. `None` when it refers to
/// anything or does not evaluate.
pub fn constant(expr: &hcl_edit::expr::Expression) -> Option<Value> {
    crate::eval::eval(expr, &ConstScope).ok().filter(Value::is_known)
}

/// A stack's name: its folder's name (`stacks/vaultsphere` → `vaultsphere`).
pub fn stack_name(dir: &Path) -> String {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "stack".to_string())
}

/// Schema checks of a module and its children.
fn check_module(module: &Module, diags: &mut Diagnostics) {
    schema_check::check(module, diags);
    for call in module.calls.values() {
        check_module(&call.module, diags);
    }
}

/// Parses the `.tf` files of one module folder into `module`.
fn parse_files(
    module: &mut Module,
    files: Vec<PathBuf>,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Vec<ModuleCall> {
    let mut calls = Vec::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                diags.push(Diagnostic::error(format!("Cannot read {}: {e}", path.display())));
                continue;
            }
        };
        let file = sources.add(path.clone(), text);
        match hcl_edit::parser::parse_body(&sources.get(file).text) {
            Ok(body) => calls.extend(blocks::collect(module, file, sources, body, diags)),
            Err(e) => {
                let loc = e.location();
                diags.push(
                    Diagnostic::error(format!("Syntax error: {}", e.message()))
                        .in_file(&path, loc.line(), loc.column())
                        .detail(format!("{} | {}", loc.line(), e.line().trim_end())),
                );
            }
        }
    }
    calls
}

fn tf_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::error(format!("Cannot read stack folder {}: {e}", dir.display()))
            .detail("Pass the folder holding the stack's .tf files with -s/--stack.")
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "tf") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Diagnostic::error(format!("No .tf files in {}", dir.display()))
            .detail("A stack is a folder of .tf files; pass it with -s/--stack."));
    }
    Ok(files)
}
