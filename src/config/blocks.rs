//! Turns hcl-edit's syntax tree into the typed blocks of [`Stack`].

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Block, Body as HclBody, Structure};
use hcl_edit::Span;

use super::{
    Body, BodyAttr, BodyBlock, Lifecycle, Local, Output, ProviderConfig, Repetition, ResourceConfig, Stack, Validation,
    Variable,
};
use crate::addr::ResourceAddr;
use crate::diag::{Diagnostic, Diagnostics, FileId, Loc, SourceMap};
use crate::eval::{self, TypeConstraint};
use crate::value::Value;

const TOP_LEVEL: &str = "variable, locals, resource, data, output, provider, terraform";

pub(super) fn collect(stack: &mut Stack, file: FileId, sources: &SourceMap, body: HclBody, diags: &mut Diagnostics) {
    let text = sources.get(file).text.as_str();
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => {
                diags.push(
                    Diagnostic::error(format!("Unexpected attribute \"{}\" at the top level", attr.key.as_str()))
                        .at(Loc::new(file, attr.span()))
                        .detail(format!("Stack files hold blocks only: {TOP_LEVEL}.")),
                );
            }
            Structure::Block(block) => collect_block(stack, file, text, block, diags),
        }
    }
}

fn collect_block(stack: &mut Stack, file: FileId, text: &str, block: Block, diags: &mut Diagnostics) {
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
        "terraform" => {}
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
        "variable" | "locals" | "resource" | "data" | "output" | "provider" => {}
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
            other => diags.push(unsupported(
                "argument",
                other,
                "a variable block",
                "type, default, description, sensitive, nullable, validation",
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
            other => diags.push(unsupported("argument", other, "the aws provider", "region, default_tags", at)),
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
            "dynamic" => diags.push(
                Diagnostic::error("dynamic blocks are not supported")
                    .at(at)
                    .detail("Write the nested blocks out, or use for_each on the resource."),
            ),
            "provisioner" | "connection" => diags.push(
                Diagnostic::error(format!("{kind} blocks are not supported"))
                    .at(at)
                    .detail("Use `gantry deploy` to put software on hosts."),
            ),
            _ => {
                let body = nested_body(file, block.body, diags);
                config.body.blocks.push(BodyBlock { name: kind, body, loc: at });
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
            diags.push(Diagnostic::error("dynamic blocks are not supported").at(loc));
            continue;
        }
        let body = nested_body(file, block.body, diags);
        out.blocks.push(BodyBlock { name, body, loc });
    }
    out
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
                "prevent_destroy, create_before_destroy, ignore_changes",
                at,
            )),
        }
    }
    for (kind, _, at) in parts.blocks {
        diags.push(unsupported("block", &kind, "a lifecycle block", "no blocks", at));
    }
    lc
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

/// `depends_on = [aws_x.y, data.aws_z.w]`.
fn addresses(expr: &Expression, loc: &Loc, diags: &mut Diagnostics) -> Vec<(ResourceAddr, Loc)> {
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
                    .detail("Each entry must name a resource, like aws_s3_bucket.site or data.aws_region.current."),
            ),
        }
    }
    out
}

fn reference_addr(expr: &Expression) -> Option<ResourceAddr> {
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
        ("data", [rtype, name, ..]) => Some(ResourceAddr::data(*rtype, *name)),
        ("var" | "local" | "each" | "count" | "path", _) => None,
        (rtype, [name, ..]) => Some(ResourceAddr::managed(rtype, *name)),
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
