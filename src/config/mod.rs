//! Loading a stack: every `*.tf` file of the folder, parsed with hcl-edit (which
//! keeps byte spans, so every problem points at file:line), turned into typed
//! blocks and checked against the resource schemas.
//!
//! Anything outside gantry's subset of Terraform is an error naming what is
//! supported; nothing is silently ignored.

mod blocks;
pub mod deploy_settings;
mod schema_check;
pub mod settings;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;

use crate::addr::ResourceAddr;
use crate::diag::{Diagnostic, Diagnostics, Loc, SourceMap};
use crate::eval::TypeConstraint;
use crate::value::Value;

pub use settings::{BackendSettings, EnvSettings, Settings};

/// A stack folder, loaded and checked.
#[derive(Debug)]
pub struct Stack {
    /// The folder's name: `stacks/vaultsphere` → `vaultsphere`.
    pub name: String,
    pub dir: PathBuf,
    pub sources: SourceMap,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    /// Managed resources and data sources.
    pub resources: BTreeMap<ResourceAddr, ResourceConfig>,
    pub outputs: BTreeMap<String, Output>,
    pub provider: Option<ProviderConfig>,
}

#[derive(Debug)]
pub struct Variable {
    pub name: String,
    pub ty: TypeConstraint,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
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
    pub depends_on: Vec<(ResourceAddr, Loc)>,
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
    pub body: Body,
    pub loc: Loc,
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
}

#[derive(Debug)]
pub struct ResourceConfig {
    pub addr: ResourceAddr,
    pub body: Body,
    pub repetition: Repetition,
    pub depends_on: Vec<(ResourceAddr, Loc)>,
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
    /// Loads and checks every `*.tf` file in `dir`.
    pub fn load(dir: &Path) -> Result<Stack, (SourceMap, Diagnostics)> {
        let mut sources = SourceMap::default();
        let mut diags = Diagnostics::default();
        let name = stack_name(dir);
        let files = match tf_files(dir) {
            Ok(files) => files,
            Err(d) => return Err((sources, d.into())),
        };
        let mut stack = Stack {
            name,
            dir: dir.to_path_buf(),
            sources: SourceMap::default(),
            variables: BTreeMap::new(),
            locals: BTreeMap::new(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            provider: None,
        };
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
                Ok(body) => blocks::collect(&mut stack, file, &sources, body, &mut diags),
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
        if stack.resources.is_empty() && stack.outputs.is_empty() && !diags.has_errors() && sources.files().is_empty() {
            diags.push(
                Diagnostic::error(format!("No stack files in {}", dir.display()))
                    .detail("A stack is a folder of .tf files; pass it with -s/--stack."),
            );
        }
        schema_check::check(&stack, &mut diags);
        stack.sources = sources;
        if diags.has_errors() {
            let sources = std::mem::take(&mut stack.sources);
            return Err((sources, diags));
        }
        Ok(stack)
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

/// A stack's name: its folder's name (`stacks/vaultsphere` → `vaultsphere`).
pub fn stack_name(dir: &Path) -> String {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "stack".to_string())
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
