//! Checks resource and data blocks against their type's schema: known type,
//! known attributes and blocks, required ones present, computed ones not set.

use super::{Body, Module, ResourceConfig};
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
        Mode::Managed => match resources::resource_type(rtype) {
            Some(t) => t.schema(),
            None => {
                diags.push(
                    Diagnostic::error(format!("Unsupported resource type \"{rtype}\"")).at(config.loc.clone()).detail(
                        match resources::unsupported_type_hint(rtype) {
                            Some(hint) => hint.to_string(),
                            None => format!("gantry supports: {}.", resources::resource_type_names().join(", ")),
                        },
                    ),
                );
                return;
            }
        },
        Mode::Data => match resources::data_source(rtype) {
            Some(t) => t.schema(),
            None => {
                diags.push(
                    Diagnostic::error(format!("Unsupported data source \"{rtype}\""))
                        .at(config.loc.clone())
                        .detail(format!("gantry supports: {}.", resources::data_source_names().join(", "))),
                );
                return;
            }
        },
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

/// Reports `name` as deliberately not supported, when it is; false otherwise.
fn report_omitted(view: &View<'_>, name: &str, what: &str, loc: &Loc, diags: &mut Diagnostics) -> bool {
    let Some(omission) = view.omission(name) else { return false };
    diags.push(
        Diagnostic::error(format!("\"{name}\" in {what} is not supported by gantry: {}", omission.reason))
            .at(loc.clone()),
    );
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
            None if report_omitted(&view, &attr.name, what, &attr.loc, diags) => {}
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
            None if report_omitted(&view, &block.name, what, &block.loc, diags) => {}
            None => diags.push(
                Diagnostic::error(format!("Unsupported block \"{}\" in {what}", block.name))
                    .at(block.loc.clone())
                    .detail(format!("Arguments and blocks it takes: {}.", settable.join(", "))),
            ),
        }
    }
    for schema in view.blocks {
        let count = body.blocks.iter().filter(|b| b.name == schema.name).count();
        if count < schema.min_items {
            diags.push(
                Diagnostic::error(format!("{what} needs at least {} \"{}\" block(s)", schema.min_items, schema.name))
                    .at(loc.clone()),
            );
        }
        if let Some(max) = schema.max_items {
            if count > max {
                let extra = body.blocks.iter().filter(|b| b.name == schema.name).nth(max).map(|b| b.loc.clone());
                diags.push(
                    Diagnostic::error(format!("{what} takes at most {max} \"{}\" block(s)", schema.name))
                        .at(extra.unwrap_or_else(|| loc.clone())),
                );
            }
        }
    }
}
