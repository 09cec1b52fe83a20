//! Turns hcl-edit's syntax tree into the typed blocks of [`Stack`].

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Block, Body as HclBody, Structure};
use hcl_edit::Span;

use super::{
    Body, BodyAttr, BodyBlock, Dynamic, Lifecycle, Local, Module, ModuleCall, Output, ProviderConfig, Repetition,
    ResourceConfig, Validation, Variable,
};
use crate::addr::ResourceAddr;
use crate::diag::{Diagnostic, Diagnostics, FileId, Loc, SourceMap};
use crate::eval::{self, Reference, TypeConstraint};
use crate::value::Value;

const TOP_LEVEL: &str = "variable, locals, resource, data, output, provider, module, moved, check, terraform";

/// Adds the blocks of one file to `stack` (a module); returns its module
/// calls, whose child modules the caller loads.
pub(super) fn collect(
    stack: &mut Module,
    file: FileId,
    sources: &SourceMap,
    body: HclBody,
    diags: &mut Diagnostics,
) -> Vec<ModuleCall> {
    let text = sources.get(file).text.as_str();
    let mut calls = Vec::new();
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => {
                diags.push(
                    Diagnostic::error(format!("Unexpected attribute \"{}\" at the top level", attr.key.as_str()))
                        .at(Loc::new(file, attr.span()))
                        .detail(format!("Stack files hold blocks only: {TOP_LEVEL}.")),
                );
            }
            Structure::Block(block) if block.ident.as_str() == "module" => {
                if let Some(call) = module_call(file, block, diags) {
                    calls.push(call);
                }
            }
            Structure::Block(block) => collect_block(stack, file, text, block, diags),
        }
    }
    calls
}

/// A `module "NAME" { source = "..." ... }` block.
fn module_call(file: FileId, block: Block, diags: &mut Diagnostics) -> Option<ModuleCall> {
    let loc = Loc::new(file, block.span());
    let labels: Vec<String> = block.labels.iter().map(|l| l.as_str().to_string()).collect();
    if labels.len() != 1 {
        diags.push(Diagnostic::error(format!("A module block takes 1 label, found {}", labels.len())).at(loc));
        return None;
    }
    let mut call = ModuleCall {
        name: labels[0].clone(),
        source: String::new(),
        source_loc: loc.clone(),
        args: Vec::new(),
        repetition: Repetition::Single,
        depends_on: Vec::new(),
        loc: loc.clone(),
        module: Module::default(),
    };
    let mut source = None;
    let parts = split(file, block.body);
    for (key, expr, at) in parts.attrs {
        match key.as_str() {
            "source" => {
                source = constant_string(&expr, &at, "module source", diags);
                call.source_loc = at;
            }
            // A version constraint only selects among registry versions,
            // which `terraform get` has already done for vendored modules.
            "version" => {}
            "count" | "for_each" => {
                let rep = if key == "count" { Repetition::Count(expr, at) } else { Repetition::ForEach(expr, at) };
                if !matches!(call.repetition, Repetition::Single) {
                    diags.push(Diagnostic::error("count and for_each cannot both be set").at(loc.clone()));
                } else {
                    call.repetition = rep;
                }
            }
            "depends_on" => call.depends_on = addresses(&expr, &at, diags),
            "providers" => check_providers(&expr, &at, diags),
            _ => call.args.push(BodyAttr { name: key, expr, loc: at }),
        }
    }
    for (kind, _, at) in parts.blocks {
        diags.push(unsupported("block", &kind, "a module block", "no blocks", at));
    }
    match source {
        Some(s) => call.source = s,
        None => {
            diags.push(
                Diagnostic::error(format!("Module \"{}\" has no source", call.name))
                    .at(loc)
                    .detail("Set source = \"./modules/NAME\" (a folder relative to this file's module)."),
            );
            return None;
        }
    }
    Some(call)
}

/// The language version gantry implements, for `required_version`.
pub(super) const LANGUAGE_VERSION: (u64, u64, u64) = (1, 11, 4);

/// `terraform { required_version, required_providers, backend, cloud }`.
fn terraform_block(module: &mut Module, file: FileId, body: HclBody, diags: &mut Diagnostics) {
    let parts = split(file, body);
    for (key, expr, at) in parts.attrs {
        match key.as_str() {
            "required_version" => {
                if let Some(constraint) = constant_string(&expr, &at, "required_version", diags) {
                    if let Err(why) = super::version::check(&constraint, LANGUAGE_VERSION) {
                        diags.push(
                            Diagnostic::error("Unsupported Terraform version")
                                .at(at)
                                .detail(format!(
                                    "This configuration requires Terraform {constraint}; gantry implements the language of Terraform {}.{}.{} ({why}).",
                                    LANGUAGE_VERSION.0, LANGUAGE_VERSION.1, LANGUAGE_VERSION.2
                                )),
                        );
                    }
                }
            }
            "experiments" => diags.push(
                Diagnostic::error("Terraform language experiments are not supported")
                    .at(at)
                    .detail("Remove the experiments argument."),
            ),
            other => diags.push(unsupported(
                "argument",
                other,
                "a terraform block",
                "required_version, required_providers, backend, cloud",
                at,
            )),
        }
    }
    for (kind, block, at) in parts.blocks {
        match kind.as_str() {
            // Provider versions are Terraform's to resolve; gantry has its
            // own built-in aws (and random) provider.
            "required_providers" | "provider_meta" => {}
            "backend" | "cloud" => {
                let kind_name = if kind == "cloud" {
                    "cloud".to_string()
                } else {
                    block.labels.first().map(|l| l.as_str().to_string()).unwrap_or_default()
                };
                let mut settings = BTreeMap::new();
                let mut setting_locs = BTreeMap::new();
                let parts = split(file, block.body);
                for (name, expr, attr_loc) in parts.attrs {
                    // Backend settings are constants in Terraform too.
                    if let Some(v) = constant(&expr, &attr_loc, "backend setting", diags) {
                        settings.insert(name.clone(), v);
                    }
                    setting_locs.insert(name, attr_loc);
                }
                let blocks = parts.blocks.into_iter().map(|(name, _, _)| name).collect();
                module.backend =
                    Some(super::TerraformBackend { kind: kind_name, settings, setting_locs, blocks, loc: at });
            }
            other => {
                diags.push(unsupported("block", other, "a terraform block", "required_providers, backend, cloud", at))
            }
        }
    }
}

/// `moved { from = ADDR  to = ADDR }`.
fn moved(file: FileId, body: HclBody, loc: Loc, diags: &mut Diagnostics) -> Option<super::Moved> {
    let parts = split(file, body);
    let mut from = None;
    let mut to = None;
    for (key, expr, at) in parts.attrs {
        let endpoint = || -> Option<super::MoveEndpoint> {
            let text = expr.to_string();
            let text: String = text.split_whitespace().collect();
            move_endpoint(&text)
        };
        match key.as_str() {
            "from" | "to" => match endpoint() {
                Some(e) if key == "from" => from = Some(e),
                Some(e) => to = Some(e),
                None => diags.push(
                    Diagnostic::error(format!("Invalid \"{key}\" address in a moved block"))
                        .at(at)
                        .detail("Write a resource (aws_s3_bucket.site), one of its instances (aws_s3_bucket.site[0]), or a module call (module.app, module.app[\"a\"])."),
                ),
            },
            other => diags.push(unsupported("argument", other, "a moved block", "from, to", at)),
        }
    }
    for (kind, _, at) in parts.blocks {
        diags.push(unsupported("block", &kind, "a moved block", "no blocks", at));
    }
    let (Some(from), Some(to)) = (from, to) else {
        diags.push(Diagnostic::error("A moved block needs from and to").at(loc));
        return None;
    };
    let kinds_match = matches!(
        (&from, &to),
        (super::MoveEndpoint::Module(_), super::MoveEndpoint::Module(_))
            | (super::MoveEndpoint::Resource(_), super::MoveEndpoint::Resource(_))
            | (super::MoveEndpoint::Instance(_) | super::MoveEndpoint::Resource(_), super::MoveEndpoint::Instance(_))
            | (super::MoveEndpoint::Instance(_), super::MoveEndpoint::Resource(_))
    );
    if !kinds_match {
        diags.push(
            Diagnostic::error("A moved block cannot move a module to a resource or back")
                .at(loc)
                .detail("Move a module call to another module call, or a resource to another resource."),
        );
        return None;
    }
    Some(super::Moved { from, to, loc })
}

/// Reads a `moved` endpoint: a module instance, a resource, or an instance.
fn move_endpoint(text: &str) -> Option<super::MoveEndpoint> {
    use crate::addr::{InstanceAddr, InstanceKey, ModuleInstance};
    if let Ok(m) = text.parse::<ModuleInstance>() {
        if !m.is_root() {
            return Some(super::MoveEndpoint::Module(m));
        }
    }
    let instance: InstanceAddr = text.parse().ok()?;
    if instance.resource.mode != crate::addr::Mode::Managed {
        return None;
    }
    Some(if instance.key == InstanceKey::None {
        super::MoveEndpoint::Resource(instance.resource)
    } else {
        super::MoveEndpoint::Instance(instance)
    })
}

/// `providers = { aws = aws }`: gantry has one aws provider, which every
/// module uses; passing it on is accepted, anything else is refused.
fn check_providers(expr: &Expression, loc: &Loc, diags: &mut Diagnostics) {
    let ok = match expr {
        Expression::Object(object) => object.iter().all(|(k, v)| {
            let key = match k {
                hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                hcl_edit::expr::ObjectKey::Expression(e) => e.to_string().trim().to_string(),
            };
            key == "aws" && matches!(v.expr(), Expression::Variable(n) if n.as_str() == "aws")
        }),
        _ => false,
    };
    if !ok {
        diags.push(
            Diagnostic::error("Unsupported providers map")
                .at(loc.clone())
                .detail("gantry has one aws provider, shared by every module: write providers = { aws = aws } or leave it out. Provider aliases are not supported."),
        );
    }
}

fn collect_block(stack: &mut Module, file: FileId, text: &str, block: Block, diags: &mut Diagnostics) {
    let loc = Loc::new(file, block.span());
    let directives = directives_before(text, loc.span.start);
    let kind = block.ident.as_str().to_string();
    let labels: Vec<String> = block.labels.iter().map(|l| l.as_str().to_string()).collect();
    let want_labels = |n: usize, diags: &mut Diagnostics| -> bool {
        if labels.len() != n {
            diags.push(
                Diagnostic::error(format!("A {kind} block takes {n} label(s), found {}", labels.len())).at(loc.clone()),
            );
            return false;
        }
        true
    };
    match kind.as_str() {
        "terraform" if want_labels(0, diags) => terraform_block(stack, file, block.body, diags),
        "variable" if want_labels(1, diags) => {
            let name = labels[0].clone();
            if stack.variables.contains_key(&name) {
                diags.push(Diagnostic::error(format!("Duplicate variable \"{name}\"")).at(loc));
                return;
            }
            if let Some(v) = variable(name.clone(), file, block.body, loc, diags) {
                stack.variables.insert(name, v);
            }
        }
        "locals" if want_labels(0, diags) => {
            for structure in block.body.into_iter() {
                match structure {
                    Structure::Attribute(attr) => {
                        let name = attr.key.as_str().to_string();
                        let loc = Loc::new(file, attr.span());
                        if stack.locals.contains_key(&name) {
                            diags.push(Diagnostic::error(format!("Duplicate local value \"{name}\"")).at(loc));
                            continue;
                        }
                        stack.locals.insert(name.clone(), Local { name, expr: attr.value, loc });
                    }
                    Structure::Block(b) => {
                        diags.push(Diagnostic::error("Blocks are not allowed in locals").at(Loc::new(file, b.span())))
                    }
                }
            }
        }
        "resource" | "data" if want_labels(2, diags) => {
            let addr = if kind == "data" {
                ResourceAddr::data(&labels[0], &labels[1])
            } else {
                ResourceAddr::managed(&labels[0], &labels[1])
            };
            if stack.resources.contains_key(&addr) {
                diags.push(Diagnostic::error(format!("Duplicate {kind} \"{}\" \"{}\"", labels[0], labels[1])).at(loc));
                return;
            }
            if let Some(mut r) = resource(addr.clone(), file, block.body, loc, diags) {
                r.directives = directives;
                stack.resources.insert(addr, r);
            }
        }
        "output" if want_labels(1, diags) => {
            let name = labels[0].clone();
            if stack.outputs.contains_key(&name) {
                diags.push(Diagnostic::error(format!("Duplicate output \"{name}\"")).at(loc));
                return;
            }
            if let Some(o) = output(name.clone(), file, block.body, loc, diags) {
                stack.outputs.insert(name, o);
            }
        }
        "provider" if want_labels(1, diags) => {
            if labels[0] != "aws" {
                diags.push(
                    Diagnostic::error(format!("Unsupported provider \"{}\"", labels[0]))
                        .at(loc)
                        .detail("gantry manages AWS only: use provider \"aws\"."),
                );
                return;
            }
            if stack.provider.is_some() {
                diags.push(
                    Diagnostic::error("Duplicate provider \"aws\" block")
                        .at(loc)
                        .detail("Provider aliases are not supported; declare one provider \"aws\" block."),
                );
                return;
            }
            stack.provider = Some(provider(file, block.body, loc, diags));
        }
        "check" if want_labels(1, diags) => {
            let parts = split(file, block.body);
            for (key, _, at) in parts.attrs {
                diags.push(unsupported("argument", &key, "a check block", "assert blocks", at));
            }
            let mut asserts = Vec::new();
            for (kind, inner, at) in parts.blocks {
                match kind.as_str() {
                    "assert" => asserts.extend(condition(file, inner.body, at, false, diags)),
                    "data" => diags.push(
                        Diagnostic::error("Scoped data sources in check blocks are not supported").at(at).detail(
                            "Declare the data source at the top level of the module and refer to it from the assert.",
                        ),
                    ),
                    other => diags.push(unsupported("block", other, "a check block", "assert", at)),
                }
            }
            stack.checks.push(super::Check { name: labels[0].clone(), asserts, loc });
        }
        "moved" if want_labels(0, diags) => {
            if let Some(m) = moved(file, block.body, loc, diags) {
                stack.moved.push(m);
            }
        }
        "variable" | "locals" | "resource" | "data" | "output" | "provider" | "moved" | "terraform" | "check" => {}
        other => diags.push(
            Diagnostic::error(format!("Unsupported block type \"{other}\""))
                .at(loc)
                .detail(format!("gantry supports these top-level blocks: {TOP_LEVEL}.")),
        ),
    }
}

/// Attributes and blocks of a body, each with its location, checked against
/// the names a block accepts.
struct Parts {
    attrs: Vec<(String, Expression, Loc)>,
    blocks: Vec<(String, Block, Loc)>,
}

fn split(file: FileId, body: HclBody) -> Parts {
    let mut parts = Parts { attrs: Vec::new(), blocks: Vec::new() };
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => {
                let loc = Loc::new(file, attr.span());
                parts.attrs.push((attr.key.as_str().to_string(), attr.value, loc));
            }
            Structure::Block(block) => {
                let loc = Loc::new(file, block.span());
                parts.blocks.push((block.ident.as_str().to_string(), block, loc));
            }
        }
    }
    parts
}

pub(super) fn unsupported(what: &str, name: &str, in_block: &str, allowed: &str, loc: Loc) -> Diagnostic {
    Diagnostic::error(format!("Unsupported {what} \"{name}\" in {in_block}"))
        .at(loc)
        .detail(format!("Supported here: {allowed}."))
}

/// Evaluates an expression that may only use literals (defaults, flags).
fn constant(expr: &Expression, loc: &Loc, what: &str, diags: &mut Diagnostics) -> Option<Value> {
    match eval::eval(expr, &super::ConstScope) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("Invalid {what}"))
                    .at(loc.narrow(e.span.clone()))
                    .detail(format!("{} ({what} must be a constant: no references)", e.message)),
            );
            None
        }
    }
}

pub(super) fn constant_bool(expr: &Expression, loc: &Loc, what: &str, diags: &mut Diagnostics) -> bool {
    match constant(expr, loc, what, diags) {
        Some(Value::Bool(b)) => b,
        Some(other) => {
            diags.push(
                Diagnostic::error(format!("Invalid {what}: expected true or false, found {}", other.type_name()))
                    .at(loc.clone()),
            );
            false
        }
        None => false,
    }
}

pub(super) fn constant_string(expr: &Expression, loc: &Loc, what: &str, diags: &mut Diagnostics) -> Option<String> {
    match constant(expr, loc, what, diags)? {
        Value::String(s) => Some(s),
        other => {
            diags.push(
                Diagnostic::error(format!("Invalid {what}: expected a string, found {}", other.type_name()))
                    .at(loc.clone()),
            );
            None
        }
    }
}

fn variable(name: String, file: FileId, body: HclBody, loc: Loc, diags: &mut Diagnostics) -> Option<Variable> {
    let parts = split(file, body);
    let mut v = Variable {
        name,
        ty: TypeConstraint::Any,
        default: None,
        description: None,
        sensitive: false,
        nullable: true,
        ephemeral: false,
        validations: Vec::new(),
        loc,
    };
    let mut default_loc = None;
    for (key, expr, at) in parts.attrs {
        match key.as_str() {
            "type" => match eval::parse_type(&expr) {
                Ok(ty) => v.ty = ty,
                Err(e) => {
                    diags.push(Diagnostic::error("Invalid type constraint").at(at.narrow(e.span)).detail(e.message))
                }
            },
            "default" => {
                v.default = constant(&expr, &at, "default value", diags);
                default_loc = Some(at);
            }
            "description" => v.description = constant_string(&expr, &at, "description", diags),
            "sensitive" => v.sensitive = constant_bool(&expr, &at, "sensitive flag", diags),
            "nullable" => v.nullable = constant_bool(&expr, &at, "nullable flag", diags),
            "ephemeral" => v.ephemeral = constant_bool(&expr, &at, "ephemeral flag", diags),
            other => diags.push(unsupported(
                "argument",
                other,
                "a variable block",
                "type, default, description, sensitive, nullable, ephemeral, validation",
                at,
            )),
        }
    }
    for (kind, block, at) in parts.blocks {
        if kind != "validation" {
            diags.push(unsupported("block", &kind, "a variable block", "validation", at));
            continue;
        }
        let inner = split(file, block.body);
        let mut condition = None;
        let mut error_message = None;
        for (key, expr, attr_loc) in inner.attrs {
            match key.as_str() {
                "condition" => condition = Some(expr),
                "error_message" => error_message = Some(expr),
                other => diags.push(unsupported(
                    "argument",
                    other,
                    "a validation block",
                    "condition, error_message",
                    attr_loc,
                )),
            }
        }
        match (condition, error_message) {
            (Some(condition), Some(error_message)) => {
                v.validations.push(Validation { condition, error_message, loc: at })
            }
            _ => diags.push(Diagnostic::error("A validation block needs condition and error_message").at(at)),
        }
    }
    // gantry has no ephemeral values of its own: an ephemeral variable is
    // kept as a secret (never in state, plan files or output).
    v.sensitive |= v.ephemeral;
    // The default must satisfy the declared type.
    if let (Some(default), Some(at)) = (v.default.take(), default_loc) {
        match v.ty.convert(default) {
            Ok(d) => v.default = Some(d),
            Err(e) => diags.push(
                Diagnostic::error(format!("Invalid default value for variable \"{}\"", v.name))
                    .at(at)
                    .detail(format!("The default does not match type {}: {e}", v.ty)),
            ),
        }
    }
    Some(v)
}

fn output(name: String, file: FileId, body: HclBody, loc: Loc, diags: &mut Diagnostics) -> Option<Output> {
    let parts = split(file, body);
    let mut value = None;
    let mut sensitive = false;
    let mut description = None;
    let mut depends_on = Vec::new();
    for (key, expr, at) in parts.attrs {
        match key.as_str() {
            "value" => value = Some(expr),
            "sensitive" => sensitive = constant_bool(&expr, &at, "sensitive flag", diags),
            "description" => description = constant_string(&expr, &at, "description", diags),
            "depends_on" => depends_on = addresses(&expr, &at, diags),
            other => diags.push(unsupported(
                "argument",
                other,
                "an output block",
                "value, sensitive, description, depends_on",
                at,
            )),
        }
    }
    for (kind, _, at) in parts.blocks {
        diags.push(unsupported("block", &kind, "an output block", "no blocks", at));
    }
    match value {
        Some(expr) => Some(Output { name, expr, sensitive, description, depends_on, loc }),
        None => {
            diags.push(Diagnostic::error(format!("Output \"{name}\" has no value")).at(loc));
            None
        }
    }
}

fn provider(file: FileId, body: HclBody, loc: Loc, diags: &mut Diagnostics) -> ProviderConfig {
    let parts = split(file, body);
    let mut p = ProviderConfig { region: None, default_tags: None, loc };
    for (key, expr, at) in parts.attrs {
        match key.as_str() {
            "region" => p.region = Some((expr, at)),
            // Credentials and endpoints come from the environment (the SDK's
            // standard chain), never from stack files.
            "profile" | "access_key" | "secret_key" | "endpoints" | "shared_credentials_files" => diags.push(
                Diagnostic::error(format!("\"{key}\" is not set in stack files"))
                    .at(at)
                    .detail("gantry takes credentials and endpoints from the standard AWS environment (AWS_PROFILE, AWS_ENDPOINT_URL, ...)."),
            ),
            // Switches for the Terraform provider's own start-up checks
            // (STS GetCallerIdentity, the EC2 metadata endpoint, the region
            // list) that gantry does not make; and path-style S3 addressing,
            // which gantry uses whenever an endpoint is overridden. Accepted,
            // so configurations written for emulators run unchanged.
            "skip_credentials_validation"
            | "skip_metadata_api_check"
            | "skip_region_validation"
            | "skip_requesting_account_id"
            | "s3_use_path_style" => {}
            other => diags.push(unsupported(
                "argument",
                other,
                "the aws provider",
                "region, default_tags, skip_credentials_validation, skip_metadata_api_check, skip_region_validation, \
                 skip_requesting_account_id, s3_use_path_style",
                at,
            )),
        }
    }
    for (kind, block, at) in parts.blocks {
        if kind != "default_tags" {
            diags.push(unsupported("block", &kind, "the aws provider", "default_tags", at));
            continue;
        }
        for (key, expr, attr_loc) in split(file, block.body).attrs {
            if key == "tags" {
                p.default_tags = Some((expr, attr_loc));
            } else {
                diags.push(unsupported("argument", &key, "default_tags", "tags", attr_loc));
            }
        }
    }
    p
}

fn resource(
    addr: ResourceAddr,
    file: FileId,
    body: HclBody,
    loc: Loc,
    diags: &mut Diagnostics,
) -> Option<ResourceConfig> {
    let mut config = ResourceConfig {
        addr,
        body: Body::default(),
        repetition: Repetition::Single,
        depends_on: Vec::new(),
        lifecycle: Lifecycle::default(),
        directives: Vec::new(),
        loc,
    };
    let parts = split(file, body);
    for (key, expr, at) in parts.attrs {
        match key.as_str() {
            "count" => set_repetition(&mut config, Repetition::Count(expr, at), diags),
            "for_each" => set_repetition(&mut config, Repetition::ForEach(expr, at), diags),
            "depends_on" => config.depends_on = addresses(&expr, &at, diags),
            "provider" => diags.push(
                Diagnostic::error("The provider meta-argument is not supported")
                    .at(at)
                    .detail("gantry uses one aws provider per stack."),
            ),
            _ => config.body.attrs.push(BodyAttr { name: key, expr, loc: at }),
        }
    }
    for (kind, block, at) in parts.blocks {
        match kind.as_str() {
            "lifecycle" => config.lifecycle = lifecycle(file, block.body, diags),
            "dynamic" => {
                if let Some(b) = dynamic_block(file, block, at, diags) {
                    config.body.blocks.push(b);
                }
            }
            "provisioner" | "connection" => diags.push(
                Diagnostic::error(format!("{kind} blocks are not supported"))
                    .at(at)
                    .detail("Use `gantry deploy` to put software on hosts."),
            ),
            _ => {
                let body = nested_body(file, block.body, diags);
                config.body.blocks.push(BodyBlock { name: kind, body, loc: at, dynamic: None });
            }
        }
    }
    Some(config)
}

fn nested_body(file: FileId, body: HclBody, diags: &mut Diagnostics) -> Body {
    let parts = split(file, body);
    let mut out = Body::default();
    for (name, expr, loc) in parts.attrs {
        out.attrs.push(BodyAttr { name, expr, loc });
    }
    for (name, block, loc) in parts.blocks {
        if name == "dynamic" {
            if let Some(b) = dynamic_block(file, block, loc, diags) {
                out.blocks.push(b);
            }
            continue;
        }
        let body = nested_body(file, block.body, diags);
        out.blocks.push(BodyBlock { name, body, loc, dynamic: None });
    }
    out
}

/// `dynamic "NAME" { for_each = X  iterator = I  content { ... } }`.
fn dynamic_block(file: FileId, block: Block, loc: Loc, diags: &mut Diagnostics) -> Option<BodyBlock> {
    let labels: Vec<String> = block.labels.iter().map(|l| l.as_str().to_string()).collect();
    let [name] = labels.as_slice() else {
        diags.push(
            Diagnostic::error(format!("A dynamic block takes 1 label, found {}", labels.len()))
                .at(loc)
                .detail("Name the nested block it generates: dynamic \"ingress\" { ... }."),
        );
        return None;
    };
    let parts = split(file, block.body);
    let mut for_each = None;
    let mut iterator = name.clone();
    for (key, expr, at) in parts.attrs {
        match key.as_str() {
            "for_each" => for_each = Some((expr, at)),
            "iterator" => match &expr {
                Expression::Variable(v) => iterator = v.as_str().to_string(),
                _ => diags.push(
                    Diagnostic::error("Invalid dynamic iterator name")
                        .at(at)
                        .detail("iterator takes a bare name, like iterator = rule."),
                ),
            },
            // Labels of the generated blocks: the blocks gantry's resource
            // types take have none.
            other => diags.push(unsupported("argument", other, "a dynamic block", "for_each, iterator, content", at)),
        }
    }
    let mut content = None;
    for (kind, inner, at) in parts.blocks {
        match kind.as_str() {
            "content" if content.is_none() => content = Some(nested_body(file, inner.body, diags)),
            "content" => diags.push(Diagnostic::error("A dynamic block takes one content block").at(at)),
            other => diags.push(unsupported("block", other, "a dynamic block", "content", at)),
        }
    }
    let Some((for_each, for_each_loc)) = for_each else {
        diags.push(Diagnostic::error(format!("dynamic \"{name}\" has no for_each")).at(loc));
        return None;
    };
    let Some(body) = content else {
        diags.push(Diagnostic::error(format!("dynamic \"{name}\" has no content block")).at(loc));
        return None;
    };
    Some(BodyBlock { name: name.clone(), body, loc, dynamic: Some(Dynamic { for_each, for_each_loc, iterator }) })
}

fn set_repetition(config: &mut ResourceConfig, rep: Repetition, diags: &mut Diagnostics) {
    if !matches!(config.repetition, Repetition::Single) {
        let loc = match &rep {
            Repetition::Count(_, l) | Repetition::ForEach(_, l) => l.clone(),
            Repetition::Single => config.loc.clone(),
        };
        diags.push(Diagnostic::error("count and for_each cannot both be set").at(loc));
        return;
    }
    config.repetition = rep;
}

fn lifecycle(file: FileId, body: HclBody, diags: &mut Diagnostics) -> Lifecycle {
    let mut lc = Lifecycle::default();
    let parts = split(file, body);
    for (key, expr, at) in parts.attrs {
        match key.as_str() {
            "prevent_destroy" => lc.prevent_destroy = constant_bool(&expr, &at, "prevent_destroy", diags),
            "create_before_destroy" => {
                lc.create_before_destroy = constant_bool(&expr, &at, "create_before_destroy", diags)
            }
            "ignore_changes" => match &expr {
                Expression::Variable(v) if v.as_str() == "all" => lc.ignore_all_changes = true,
                Expression::Array(items) => {
                    for item in items.iter() {
                        match attribute_name(item) {
                            Some(name) => lc.ignore_changes.push(name),
                            None => diags.push(
                                Diagnostic::error("ignore_changes takes attribute names")
                                    .at(at.narrow(item.span()))
                                    .detail("Write e.g. ignore_changes = [tags, description] or ignore_changes = all."),
                            ),
                        }
                    }
                }
                _ => diags
                    .push(Diagnostic::error("ignore_changes takes a list of attribute names or `all`").at(at.clone())),
            },
            other => diags.push(unsupported(
                "argument",
                other,
                "a lifecycle block",
                "prevent_destroy, create_before_destroy, ignore_changes, precondition, postcondition",
                at,
            )),
        }
    }
    for (kind, block, at) in parts.blocks {
        match kind.as_str() {
            "precondition" | "postcondition" => {
                lc.conditions.extend(condition(file, block.body, at, kind == "postcondition", diags))
            }
            other => diags.push(unsupported("block", other, "a lifecycle block", "precondition, postcondition", at)),
        }
    }
    lc
}

/// `{ condition = ...  error_message = ... }` of a precondition,
/// postcondition or check assert.
fn condition(file: FileId, body: HclBody, loc: Loc, post: bool, diags: &mut Diagnostics) -> Option<super::Condition> {
    let mut cond = None;
    let mut message = None;
    for (key, expr, at) in split(file, body).attrs {
        match key.as_str() {
            "condition" => cond = Some(expr),
            "error_message" => message = Some(expr),
            other => diags.push(unsupported("argument", other, "a condition block", "condition, error_message", at)),
        }
    }
    match (cond, message) {
        (Some(condition), Some(error_message)) => Some(super::Condition { post, condition, error_message, loc }),
        _ => {
            diags.push(Diagnostic::error("A condition block needs condition and error_message").at(loc));
            None
        }
    }
}

/// `tags` or `tags["x"]` → the top-level attribute name.
fn attribute_name(expr: &Expression) -> Option<String> {
    match expr {
        Expression::Variable(v) => Some(v.as_str().to_string()),
        Expression::Traversal(t) => attribute_name(&t.expr),
        Expression::String(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

/// `depends_on = [aws_x.y, data.aws_z.w, module.m]`.
fn addresses(expr: &Expression, loc: &Loc, diags: &mut Diagnostics) -> Vec<(Reference, Loc)> {
    let Expression::Array(items) = expr else {
        diags.push(Diagnostic::error("depends_on takes a list of resource references").at(loc.clone()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items.iter() {
        let at = loc.narrow(item.span());
        match reference_addr(item) {
            Some(addr) => out.push((addr, at)),
            None => diags.push(
                Diagnostic::error("Invalid depends_on entry")
                    .at(at)
                    .detail("Each entry must name a resource or a module, like aws_s3_bucket.site, data.aws_region.current or module.app."),
            ),
        }
    }
    out
}

fn reference_addr(expr: &Expression) -> Option<Reference> {
    let Expression::Traversal(t) = expr else { return None };
    let Expression::Variable(root) = &t.expr else { return None };
    let names: Vec<&str> = t
        .operators
        .iter()
        .map_while(|op| match op.value() {
            TraversalOperator::GetAttr(ident) => Some(ident.as_str()),
            _ => None,
        })
        .collect();
    match (root.as_str(), names.as_slice()) {
        ("data", [rtype, name, ..]) => Some(Reference::Resource(ResourceAddr::data(*rtype, *name))),
        ("module", [name]) => Some(Reference::Module { call: name.to_string(), output: None }),
        ("var" | "local" | "each" | "count" | "path" | "module" | "terraform" | "self", _) => None,
        (rtype, [name, ..]) => Some(Reference::Resource(ResourceAddr::managed(rtype, *name))),
        _ => None,
    }
}

/// `gantry:` directives in the comment lines right above a block, e.g.
/// `# gantry:allow-wildcard-subject`. Comments keep the stack valid Terraform.
fn directives_before(text: &str, start: usize) -> Vec<String> {
    let before = text.get(..start).unwrap_or("");
    let mut out = Vec::new();
    for line in before.lines().rev().skip_while(|l| l.trim().is_empty()) {
        let line = line.trim();
        let Some(comment) = line.strip_prefix('#').or_else(|| line.strip_prefix("//")) else { break };
        if let Some(directive) = comment.trim().strip_prefix("gantry:") {
            out.push(directive.split_whitespace().next().unwrap_or("").to_string());
        }
    }
    out
}
