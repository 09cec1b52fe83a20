//! Checks resource and data blocks against their type's schema: known type,
//! known attributes and blocks, required ones present, computed ones not set.

use super::{Body, Module, Repetition, ResourceConfig};
use crate::addr::Mode;
use crate::diag::{Diagnostic, Diagnostics, Loc};
use crate::resources::{self, BlockSchema, Omission, Presence, Schema};

pub(super) fn check(stack: &Module, diags: &mut Diagnostics) {
    for config in stack.resources.values() {
        check_resource(config, diags);
    }
}

fn check_resource(config: &ResourceConfig, diags: &mut Diagnostics) {
    let rtype = &config.addr.rtype;
    let schema = match config.addr.mode {
        Mode::Managed => resources::resource_type(rtype).map(|t| t.schema()),
        Mode::Data => resources::data_source(rtype).map(|t| t.schema()),
    };
    let Some(schema) = schema else {
        // Modules carry optional features as blocks with `count = 0` or an
        // empty `for_each`; such a block is accepted, and the walk refuses
        // it once it has an instance (node_eval::unsupported_type).
        if matches!(config.repetition, Repetition::Single) {
            diags.push(unsupported_type(config, None));
        }
        return;
    };
    check_body(&config.body, schema_view(schema, ""), &format!("{}", config.addr), &config.loc, diags);
    for name in &config.lifecycle.ignore_changes {
        if schema.attr(name).is_none() && schema.block(name).is_none() {
            diags.push(
                Diagnostic::error(format!("ignore_changes names unknown attribute \"{name}\""))
                    .at(config.loc.clone())
                    .detail(format!("{} has: {}.", schema.type_name, schema.settable_names().join(", "))),
            );
        }
    }
}

/// The error for a resource or data block of a type gantry does not
/// support; `instances` is how many its `count`/`for_each` gave, when known.
pub fn unsupported_type(config: &ResourceConfig, instances: Option<usize>) -> Diagnostic {
    let rtype = &config.addr.rtype;
    let (what, names) = match config.addr.mode {
        Mode::Managed => ("resource type", resources::resource_type_names()),
        Mode::Data => ("data source", resources::data_source_names()),
    };
    let mut detail = match resources::unsupported_type_hint(rtype) {
        Some(hint) => hint.to_string(),
        None => {
            let near =
                crate::diag::did_you_mean(rtype, &names).map(|n| format!(" The nearest is {n}.")).unwrap_or_default();
            format!("gantry supports: {}.{near}", names.join(", "))
        }
    };
    if let Some(n) = instances {
        detail = format!(
            "Its count/for_each gives {n} instance{}; gantry accepts a block of a type it does not support only while it has none. {detail}",
            if n == 1 { "" } else { "s" }
        );
    }
    Diagnostic::error(format!("Unsupported {what} \"{rtype}\"")).at(config.loc.clone()).detail(detail)
}

/// The attribute and block lists of a resource or of a nested block, with
/// the resource's deliberate omissions and the dotted path to this body.
struct View<'a> {
    attrs: &'a [resources::Attr],
    blocks: &'a [BlockSchema],
    omitted: &'a [Omission],
    path: &'a str,
}

fn schema_view<'a>(schema: &'a Schema, path: &'a str) -> View<'a> {
    View { attrs: &schema.attrs, blocks: &schema.blocks, omitted: &schema.omitted, path }
}

impl View<'_> {
    fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// Why gantry leaves out `name`, when it does so on purpose.
    fn omission(&self, name: &str) -> Option<&Omission> {
        let path = self.path_of(name);
        self.omitted.iter().find(|o| o.path == path)
    }
}

/// Handles `name` when gantry leaves it out on purpose (true), else false.
/// Modules pass their optional inputs through to every argument, so such
/// an argument is refused here only when its value is a constant that would
/// do something; one that depends on variables is checked once evaluated
/// (desired::evaluate), where null or the provider's default is accepted.
fn report_omitted(
    view: &View<'_>,
    name: &str,
    body: Option<&Body>,
    what: &str,
    loc: &Loc,
    diags: &mut Diagnostics,
) -> bool {
    let Some(omission) = view.omission(name) else { return false };
    let refuse = |diags: &mut Diagnostics| {
        diags.push(
            Diagnostic::error(format!("\"{name}\" in {what} is not supported by gantry: {}", omission.reason))
                .at(loc.clone()),
        )
    };
    // A static block: refused when one of its arguments is a constant that
    // is neither null nor its default.
    if let Some(body) = body {
        let inner = view.path_of(name);
        let active = body.attrs.iter().any(|a| {
            let default = view.omitted.iter().find(|o| o.path == format!("{inner}.{}", a.name));
            super::constant(&a.expr).is_some_and(|v| !v.is_null() && !default.is_some_and(|o| o.is_inert(&v)))
        });
        if active {
            refuse(diags);
        }
    }
    true
}

fn check_body(body: &Body, view: View<'_>, what: &str, loc: &Loc, diags: &mut Diagnostics) {
    let settable: Vec<&str> = view
        .attrs
        .iter()
        .filter(|a| a.is_settable())
        .map(|a| a.name)
        .chain(view.blocks.iter().map(|b| b.name))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for attr in &body.attrs {
        if !seen.insert(attr.name.as_str()) {
            diags.push(
                Diagnostic::error(format!("Attribute \"{}\" is set twice in {what}", attr.name)).at(attr.loc.clone()),
            );
        }
        match view.attrs.iter().find(|a| a.name == attr.name) {
            Some(a) if a.presence == Presence::Computed => diags.push(
                Diagnostic::error(format!("\"{}\" cannot be set in {what}", attr.name))
                    .at(attr.loc.clone())
                    .detail("It is computed by AWS; you can read it from the resource, not set it."),
            ),
            Some(_) => {}
            None if view.omission(&attr.name).is_some() => {
                let omission = view.omission(&attr.name).expect("checked");
                if super::constant(&attr.expr).is_some_and(|v| !omission.is_inert(&v)) {
                    diags.push(
                        Diagnostic::error(format!(
                            "\"{}\" in {what} is not supported by gantry: {}",
                            attr.name, omission.reason
                        ))
                        .at(attr.loc.clone()),
                    );
                }
            }
            None if view.blocks.iter().any(|b| b.name == attr.name) => diags.push(
                Diagnostic::error(format!("\"{}\" is a block in {what}, not an argument", attr.name))
                    .at(attr.loc.clone())
                    .detail(format!("Write it as {} {{ ... }}.", attr.name)),
            ),
            None => diags.push(
                Diagnostic::error(format!("Unsupported argument \"{}\" in {what}", attr.name))
                    .at(attr.loc.clone())
                    .detail(format!("Arguments and blocks it takes: {}.", settable.join(", "))),
            ),
        }
    }
    for required in view.attrs.iter().filter(|a| a.presence == Presence::Required) {
        if !body.attrs.iter().any(|a| a.name == required.name) {
            diags.push(
                Diagnostic::error(format!("Missing required argument \"{}\" in {what}", required.name)).at(loc.clone()),
            );
        }
    }
    for block in &body.blocks {
        match view.blocks.iter().find(|b| b.name == block.name) {
            Some(schema) => check_body(
                &block.body,
                View {
                    attrs: &schema.attrs,
                    blocks: &schema.blocks,
                    omitted: view.omitted,
                    path: &view.path_of(&block.name),
                },
                &format!("the {} block of {what}", block.name),
                &block.loc,
                diags,
            ),
            None if report_omitted(
                &view,
                &block.name,
                block.dynamic.is_none().then_some(&block.body),
                what,
                &block.loc,
                diags,
            ) => {}
            None => diags.push(
                Diagnostic::error(format!("Unsupported block \"{}\" in {what}", block.name))
                    .at(block.loc.clone())
                    .detail(format!("Arguments and blocks it takes: {}.", settable.join(", "))),
            ),
        }
    }
    for schema in view.blocks {
        // A `dynamic` block stands for as many blocks as its for_each gives:
        // only static blocks count here, and the evaluation checks the
        // number once the dynamic ones are expanded (desired::evaluate).
        let count = body.blocks.iter().filter(|b| b.name == schema.name && b.dynamic.is_none()).count();
        let has_dynamic = body.blocks.iter().any(|b| b.name == schema.name && b.dynamic.is_some());
        if count < schema.min_items && !has_dynamic {
            diags.push(
                Diagnostic::error(format!("{what} needs at least {} \"{}\" block(s)", schema.min_items, schema.name))
                    .at(loc.clone()),
            );
        }
        if let Some(max) = schema.max_items {
            if count > max {
                let extra = body
                    .blocks
                    .iter()
                    .filter(|b| b.name == schema.name && b.dynamic.is_none())
                    .nth(max)
                    .map(|b| b.loc.clone());
                diags.push(
                    Diagnostic::error(format!("{what} takes at most {max} \"{}\" block(s)", schema.name))
                        .at(extra.unwrap_or_else(|| loc.clone())),
                );
            }
        }
    }
}
