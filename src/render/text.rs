//! The human plan: Terraform's layout, so it reads familiar, with JSON
//! documents (policies) shown as normalized line diffs instead of one changed
//! string. Secrets show as "(sensitive value)", unknowns as "(known after apply)".

use std::fmt::Write as _;

use owo_colors::OwoColorize;
use similar::{ChangeTag, TextDiff};

use crate::desired::AttrValues;
use crate::plan::compare::{canonical, kinds, state_comparable, Kind};
use crate::plan::{Action, Drift, OutputChange, Plan, ResourceChange};
use crate::resources::{self, Ty};
use crate::value::Value;

/// Renders with or without ANSI colors.
pub struct TextRenderer {
    pub color: bool,
}

#[derive(Clone, Copy)]
enum Style {
    Add,
    Change,
    Remove,
    Dim,
    Bold,
}

impl TextRenderer {
    fn paint(&self, text: &str, style: Style) -> String {
        if !self.color {
            return text.to_string();
        }
        match style {
            Style::Add => text.green().to_string(),
            Style::Change => text.yellow().to_string(),
            Style::Remove => text.red().to_string(),
            Style::Dim => text.dimmed().to_string(),
            Style::Bold => text.bold().to_string(),
        }
    }

    fn symbol(&self, action: Action) -> String {
        match action {
            Action::Create => self.paint("  +", Style::Add),
            Action::Update => self.paint("  ~", Style::Change),
            Action::Delete => self.paint("  -", Style::Remove),
            Action::DeleteThenCreate => format!("{}{}", self.paint("-", Style::Remove), self.paint("/+", Style::Add)),
            Action::CreateThenDelete => format!("{}{}", self.paint("+/", Style::Add), self.paint("-", Style::Remove)),
            Action::NoOp => "   ".to_string(),
        }
    }

    pub fn render(&self, plan: &Plan) -> String {
        let mut out = String::new();
        if !plan.drift.is_empty() {
            let _ = writeln!(out, "{}\n", self.paint("Note: Objects have changed outside of gantry", Style::Bold));
            let _ =
                writeln!(out, "gantry detected the following changes made outside of gantry since the last apply:\n");
            out.push_str(&self.render_drift_list(&plan.drift));
        }
        for (from, to) in &plan.moves {
            let _ = writeln!(out, "{}", self.paint(&format!("  # {from} has moved to {to}"), Style::Bold));
        }
        if !plan.moves.is_empty() {
            out.push('\n');
        }
        for d in &plan.deposed {
            let _ = writeln!(
                out,
                "  {} {} (deposed object {}) will be destroyed: an interrupted or failed replace left it\n",
                self.symbol(Action::Delete),
                d.addr,
                d.id
            );
        }
        let changes: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.action != Action::NoOp).collect();
        if changes.is_empty() && !plan.deposed.is_empty() {
            let s = plan.summary();
            let _ = writeln!(out, "Plan: {} to add, {} to change, {} to destroy.", s.add, s.change, s.destroy);
            return out;
        }
        if changes.is_empty() && !plan.moves.is_empty() && !plan.outputs.iter().any(|o| o.action != Action::NoOp) {
            let _ = writeln!(
                out,
                "Plan: 0 to add, 0 to change, 0 to destroy, {} moved. Applying records the new addresses in state.",
                plan.moves.len()
            );
            return out;
        }
        if changes.is_empty() {
            let outputs_changed = plan.outputs.iter().any(|o| o.action != Action::NoOp);
            if outputs_changed {
                out.push_str("Changes to Outputs:\n");
                out.push_str(&self.render_outputs(&plan.outputs));
                out.push_str("\nApplying will record the new output values; no infrastructure changes.\n");
            } else if plan.drift.is_empty() {
                let _ = writeln!(
                    out,
                    "{} Your infrastructure matches the configuration.",
                    self.paint("No changes.", Style::Bold)
                );
            } else {
                let _ = writeln!(
                    out,
                    "{} The configuration matches the objects as they are now; applying will record them in state.",
                    self.paint("No changes.", Style::Bold)
                );
            }
            return out;
        }
        let mut symbols: Vec<Action> = changes.iter().map(|c| c.action).collect();
        symbols.sort();
        symbols.dedup();
        out.push_str("Resource actions are indicated with the following symbols:\n");
        for a in symbols {
            let what = match a {
                Action::Create => "create",
                Action::Update => "update in-place",
                Action::Delete => "destroy",
                Action::DeleteThenCreate => "destroy and then create replacement",
                Action::CreateThenDelete => "create replacement and then destroy",
                Action::NoOp => continue,
            };
            let _ = writeln!(out, "{} {what}", self.symbol(a));
        }
        let _ = writeln!(out, "\ngantry will perform the following actions:\n");
        for c in &changes {
            out.push_str(&self.render_change(c));
            out.push('\n');
        }
        let s = plan.summary();
        let _ = writeln!(
            out,
            "{} {} to add, {} to change, {} to destroy.",
            self.paint("Plan:", Style::Bold),
            s.add,
            s.change,
            s.destroy
        );
        if plan.outputs.iter().any(|o| o.action != Action::NoOp) {
            out.push_str("\nChanges to Outputs:\n");
            out.push_str(&self.render_outputs(&plan.outputs));
        }
        out
    }

    fn render_outputs(&self, outputs: &[OutputChange]) -> String {
        let mut out = String::new();
        let width = outputs.iter().map(|o| o.name.len()).max().unwrap_or(0);
        for o in outputs.iter().filter(|o| o.action != Action::NoOp) {
            let after = if o.sensitive { "(sensitive value)".to_string() } else { inline(&o.after) };
            match (&o.before, o.action) {
                (Some(before), Action::Update) => {
                    let before = if o.sensitive { "(sensitive value)".to_string() } else { inline(before) };
                    let _ = writeln!(out, "{} {:width$} = {before} -> {after}", self.symbol(Action::Update), o.name);
                }
                _ => {
                    let _ = writeln!(out, "{} {:width$} = {after}", self.symbol(Action::Create), o.name);
                }
            }
        }
        out
    }

    pub fn render_change(&self, c: &ResourceChange) -> String {
        let mut out = String::new();
        let verb = match c.action {
            Action::Create => "will be created".to_string(),
            Action::Update => "will be updated in-place".to_string(),
            Action::Delete => match &c.reason {
                Some(r) if r != "destroy" => format!("will be destroyed\n  # (because {r})"),
                _ => "will be destroyed".to_string(),
            },
            // Terraform's words for -replace.
            Action::DeleteThenCreate | Action::CreateThenDelete if c.reason.is_some() => {
                "will be replaced, as requested".to_string()
            }
            Action::DeleteThenCreate | Action::CreateThenDelete => "must be replaced".to_string(),
            Action::NoOp => "is unchanged".to_string(),
        };
        let header = format!("  # {} {verb}", c.addr);
        let _ = writeln!(out, "{}", self.paint(&header, Style::Bold));
        let _ = writeln!(out, "{} resource \"{}\" \"{}\" {{", self.symbol(c.action), c.rtype, instance_label(&c.addr));
        let after = c.after.as_ref().map(|after| secrets_unchanged_as_before(c, after));
        out.push_str(&self.render_attrs(&c.rtype, c.action, c.before.as_ref(), after.as_ref(), &c.replace_paths));
        out.push_str("    }\n");
        out
    }

    /// Every drifted resource, one block each.
    pub fn render_drift_list(&self, drift: &[Drift]) -> String {
        drift.iter().map(|d| self.render_drift(d) + "\n").collect()
    }

    fn render_drift(&self, d: &Drift) -> String {
        let mut out = String::new();
        match &d.after {
            None => {
                let _ = writeln!(out, "{}", self.paint(&format!("  # {} has been deleted", d.addr), Style::Bold));
                let _ = writeln!(
                    out,
                    "{} resource \"{}\" \"{}\" {{",
                    self.symbol(Action::Delete),
                    d.rtype,
                    instance_label(&d.addr)
                );
                if let Some(id) = d.before.get("id") {
                    let _ = writeln!(out, "      {} id = {}", self.mark(Action::Delete), inline(id));
                }
                out.push_str("    }\n");
            }
            Some(after) => {
                let _ = writeln!(out, "{}", self.paint(&format!("  # {} has changed", d.addr), Style::Bold));
                let _ = writeln!(
                    out,
                    "{} resource \"{}\" \"{}\" {{",
                    self.symbol(Action::Update),
                    d.rtype,
                    instance_label(&d.addr)
                );
                out.push_str(&self.render_attrs(&d.rtype, Action::Update, Some(&d.before), Some(after), &[]));
                out.push_str("    }\n");
            }
        }
        out
    }

    fn render_attrs(
        &self,
        rtype: &str,
        action: Action,
        before: Option<&AttrValues>,
        after: Option<&AttrValues>,
        replace_paths: &[String],
    ) -> String {
        let mut out = String::new();
        let Some(schema) = resources::resource_type(rtype).map(|r| r.schema()) else { return out };
        let mut kinds = kinds(schema);
        kinds.sort_by_key(|(name, _)| *name);
        self.render_body(&mut out, 1, &kinds, action, before, after, replace_paths);
        out
    }

    /// Attribute lines at nesting `level` (1 = inside the resource block).
    #[allow(clippy::too_many_arguments)]
    fn render_body(
        &self,
        out: &mut String,
        level: usize,
        kinds: &[(&str, Kind<'_>)],
        action: Action,
        before: Option<&AttrValues>,
        after: Option<&AttrValues>,
        replace_paths: &[String],
    ) {
        let null = Value::Null;
        let indent = " ".repeat(4 * level + 2);
        let shown = |name: &str| {
            let b = before.and_then(|m| m.get(name)).unwrap_or(&null);
            let a = after.and_then(|m| m.get(name)).unwrap_or(&null);
            !(is_empty(b) && is_empty(a))
        };
        let width = kinds
            .iter()
            .filter(|(n, k)| matches!(k, Kind::Attr(_)) && shown(n))
            .map(|(n, _)| n.len())
            .max()
            .unwrap_or(0);
        let mut hidden_attrs = 0;
        let mut hidden_blocks = 0;
        // Attributes first, then nested blocks, as Terraform prints them.
        for pass_blocks in [false, true] {
            for (name, kind) in kinds {
                let is_block = matches!(kind, Kind::Block(_));
                if is_block != pass_blocks || !shown(name) {
                    continue;
                }
                let b = before.and_then(|m| m.get(*name)).unwrap_or(&null);
                let a = after.and_then(|m| m.get(*name)).unwrap_or(&null);
                let forces = if replace_paths.iter().any(|p| p == name) {
                    format!(" {}", self.paint("# forces replacement", Style::Remove))
                } else {
                    String::new()
                };
                let line_action = match action {
                    Action::Create | Action::Delete => action,
                    _ => {
                        let same = state_comparable(*kind, b) == state_comparable(*kind, a)
                            || (b.is_sensitive() && a.is_sensitive() && same_sensitive(b, a));
                        if same {
                            if !is_block && (*name == "id" || *name == "name" || *name == "bucket") {
                                let _ = writeln!(out, "{indent}  {name:width$} = {}", inline(b));
                            } else if is_block {
                                hidden_blocks += 1;
                            } else {
                                hidden_attrs += 1;
                            }
                            continue;
                        }
                        if is_empty(b) {
                            Action::Create
                        } else if is_empty(a) {
                            Action::Delete
                        } else {
                            Action::Update
                        }
                    }
                };
                if let Kind::Block(block) = kind {
                    let mut nested = crate::plan::compare::block_kinds(block);
                    nested.sort_by_key(|(name, _)| *name);
                    let items = |v: &Value| match v {
                        Value::List(items) => items.clone(),
                        _ => Vec::new(),
                    };
                    // A changed block shows the old version removed and the new one added.
                    let parts: Vec<(Action, Value)> = match line_action {
                        Action::Create => items(a).into_iter().map(|v| (Action::Create, v)).collect(),
                        Action::Delete => items(b).into_iter().map(|v| (Action::Delete, v)).collect(),
                        _ => items(b)
                            .into_iter()
                            .map(|v| (Action::Delete, v))
                            .chain(items(a).into_iter().map(|v| (Action::Create, v)))
                            .collect(),
                    };
                    for (item_action, item) in parts {
                        let Value::Map(map) = &item else { continue };
                        let _ = writeln!(out, "{indent}{} {name} {{{forces}", self.mark(item_action));
                        let (nb, na) = match item_action {
                            Action::Delete => (Some(map), None),
                            _ => (None, Some(map)),
                        };
                        self.render_body(out, level + 1, &nested, item_action, nb, na, &[]);
                        let _ = writeln!(out, "{}}}", " ".repeat(4 * level + 4));
                    }
                    continue;
                }
                let is_json = matches!(kind, Kind::Attr(Ty::Json));
                let depth = 4 * level + 2;
                let text = match line_action {
                    Action::Create => self.value(a, is_json, depth),
                    Action::Delete => format!("{} -> null", self.value(b, is_json, depth)),
                    _ if is_json && b.is_known() && a.is_known() && !a.is_sensitive() && !b.is_sensitive() => {
                        let _ =
                            writeln!(out, "{indent}{} {name:width$} = jsonencode({forces}", self.mark(Action::Update));
                        out.push_str(&self.json_diff(b, a, depth + 4));
                        let _ = writeln!(out, "{}  )", " ".repeat(depth));
                        continue;
                    }
                    _ => format!("{} -> {}", self.value(b, is_json, depth), self.value(a, is_json, depth)),
                };
                let _ = writeln!(out, "{indent}{} {name:width$} = {text}{forces}", self.mark(line_action));
            }
        }
        let pad = " ".repeat(4 * level + 4);
        if hidden_attrs > 0 {
            let note = format!("{pad}# ({hidden_attrs} unchanged attribute{} hidden)", plural(hidden_attrs));
            let _ = writeln!(out, "{}", self.paint(&note, Style::Dim));
        }
        if hidden_blocks > 0 {
            let note = format!("{pad}# ({hidden_blocks} unchanged block{} hidden)", plural(hidden_blocks));
            let _ = writeln!(out, "{}", self.paint(&note, Style::Dim));
        }
    }

    /// The one-character marker of an attribute line.
    fn mark(&self, action: Action) -> String {
        match action {
            Action::Create => self.paint("+", Style::Add),
            Action::Delete => self.paint("-", Style::Remove),
            Action::NoOp => " ".to_string(),
            _ => self.paint("~", Style::Change),
        }
    }

    /// A value for display, multi-line for JSON documents and collections.
    fn value(&self, v: &Value, is_json: bool, indent: usize) -> String {
        if v.is_sensitive() {
            return "(sensitive value)".to_string();
        }
        if is_json {
            if let Some(doc) = v.as_str().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()) {
                let pretty = serde_json::to_string_pretty(&canonical(&doc)).unwrap_or_default();
                let pad = " ".repeat(indent + 6);
                let body: Vec<String> = pretty.lines().map(|l| format!("{pad}{l}")).collect();
                return format!("jsonencode(\n{}\n{})", body.join("\n"), " ".repeat(indent + 2));
            }
        }
        multiline(v, indent)
    }

    fn json_diff(&self, before: &Value, after: &Value, indent: usize) -> String {
        let pretty = |v: &Value| {
            v.as_str()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                .map(|d| serde_json::to_string_pretty(&canonical(&d)).unwrap_or_default())
                .unwrap_or_else(|| v.to_string())
        };
        let (old, new) = (pretty(before), pretty(after));
        let diff = TextDiff::from_lines(&old, &new);
        let mut out = String::new();
        for change in diff.iter_all_changes() {
            let line = change.value().trim_end_matches('\n');
            let rendered = match change.tag() {
                ChangeTag::Equal => format!("{}  {line}", " ".repeat(indent)),
                ChangeTag::Delete => format!("{}{} {line}", " ".repeat(indent), self.paint("-", Style::Remove)),
                ChangeTag::Insert => format!("{}{} {line}", " ".repeat(indent), self.paint("+", Style::Add)),
            };
            out.push_str(&rendered);
            out.push('\n');
        }
        out
    }
}

/// A secret's before-value is a hash and its after-value the secret itself,
/// so the two never compare equal here: the diff, which compared hashes,
/// says whether it changed. Unchanged ones are shown as their before-value,
/// so they are hidden like any unchanged attribute.
fn secrets_unchanged_as_before(c: &ResourceChange, after: &AttrValues) -> AttrValues {
    let Some(before) = &c.before else { return after.clone() };
    if !matches!(c.action, Action::Update | Action::DeleteThenCreate | Action::CreateThenDelete) {
        return after.clone();
    }
    after
        .iter()
        .map(|(k, v)| {
            let unchanged_secret = v.is_sensitive()
                && v.is_known()
                && !c.changed.iter().any(|n| n == k)
                && before.get(k).is_some_and(Value::is_sensitive);
            (k.clone(), if unchanged_secret { before[k].clone() } else { v.clone() })
        })
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Null, or an empty string, list or map: nothing to show.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::List(items) => items.is_empty(),
        Value::Map(map) => map.is_empty(),
        _ => false,
    }
}

fn same_sensitive(a: &Value, b: &Value) -> bool {
    a.peel() == b.peel()
}

/// The block label: the resource name; the instance key is in the comment above.
fn instance_label(addr: &crate::addr::InstanceAddr) -> &str {
    &addr.resource.name
}

/// A one-line rendering.
pub fn inline(v: &Value) -> String {
    v.to_string()
}

/// Lists and maps on several lines, as Terraform prints them.
fn multiline(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent + 4);
    let close = " ".repeat(indent + 2);
    match v {
        Value::List(items) if !items.is_empty() && items.iter().any(|i| matches!(i, Value::Map(_))) => {
            let body: Vec<String> = items.iter().map(|i| format!("{pad}{},", multiline(i, indent + 4))).collect();
            format!("[\n{}\n{close}]", body.join("\n"))
        }
        Value::List(items) if items.len() > 1 => {
            let body: Vec<String> = items.iter().map(|i| format!("{pad}{},", inline(i))).collect();
            format!("[\n{}\n{close}]", body.join("\n"))
        }
        Value::Map(map) if !map.is_empty() => {
            let width = map.keys().map(|k| k.len()).max().unwrap_or(0);
            let body: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{pad}{:width$} = {}", quote_key(k), multiline(v, indent + 4)))
                .collect();
            format!("{{\n{}\n{close}}}", body.join("\n"))
        }
        other => inline(other),
    }
}

fn quote_key(k: &str) -> String {
    if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && !k.is_empty() {
        k.to_string()
    } else {
        serde_json::Value::String(k.to_string()).to_string()
    }
}
