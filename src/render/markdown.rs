//! The plan for a pull-request comment or a GitHub job summary: counts first,
//! destructive changes called out at the top, drift in its own section, the
//! full diff collapsed. Long plans stay under GitHub's comment limit.

use std::fmt::Write as _;

use crate::plan::{Action, Deposed, Plan, ResourceChange};

use super::text::TextRenderer;

/// GitHub rejects comments over 65,536 characters; leave room for the rest.
const DETAILS_BUDGET: usize = 50_000;

/// Up to this many changed resources the table is shown open.
const OPEN_TABLE_ROWS: usize = 25;

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let s = plan.summary();
    let title = if plan.destroy { "gantry destroy plan" } else { "gantry plan" };
    let _ = writeln!(out, "### {title}: `{}` / `{}`\n", plan.stack, plan.env);

    let changes: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.action != Action::NoOp).collect();
    if changes.is_empty() && plan.drift.is_empty() && plan.deposed.is_empty() {
        let outputs = plan.outputs.iter().filter(|o| o.action != Action::NoOp).count();
        if outputs > 0 {
            let _ = writeln!(out, "**No infrastructure changes.** {outputs} output value(s) will be updated.");
        } else {
            let _ = writeln!(out, "**No changes.** The infrastructure matches the configuration.");
        }
        return out;
    }
    let _ = write!(out, "**{} to add, {} to change, {} to destroy**", s.add, s.change, s.destroy);
    if !plan.drift.is_empty() {
        let _ = write!(out, " · {} changed outside gantry", plural(plan.drift.len(), "resource"));
    }
    out.push_str("\n\n");

    let destructive: Vec<&&ResourceChange> = changes.iter().filter(|c| c.action.is_destructive()).collect();
    if !destructive.is_empty() || !plan.deposed.is_empty() {
        out.push_str("> [!CAUTION]\n> **Destructive changes**\n");
        for d in &plan.deposed {
            let _ = writeln!(
                out,
                "> - `{}` (deposed object `{}`, left by an interrupted or failed replace) will be **destroyed**",
                d.addr, d.id
            );
        }
        for c in &destructive {
            let what = match c.action {
                Action::Delete => "will be **destroyed**".to_string(),
                _ if c.replace_paths.is_empty() => "will be **replaced**".to_string(),
                _ => format!(
                    "will be **replaced** (forced by {})",
                    c.replace_paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            let _ = writeln!(out, "> - `{}` {what}", c.addr);
        }
        out.push('\n');
    }

    if !changes.is_empty() || !plan.deposed.is_empty() {
        let rows = changes.len() + plan.deposed.len();
        let table = table(&changes, &plan.deposed);
        if rows > OPEN_TABLE_ROWS {
            let _ = writeln!(
                out,
                "<details><summary>{} changed</summary>\n\n{table}\n</details>\n",
                plural(rows, "resource")
            );
        } else {
            let _ = writeln!(out, "{table}");
        }
    }

    let renderer = TextRenderer { color: false };
    if !plan.drift.is_empty() {
        let text = renderer.render_drift_list(&plan.drift);
        let _ = writeln!(
            out,
            "<details><summary>Drift: {} changed outside gantry</summary>\n\n```diff\n{}```\n</details>\n",
            plural(plan.drift.len(), "resource"),
            as_diff(&text)
        );
    }
    if !changes.is_empty() {
        let mut body = String::new();
        let mut omitted = 0;
        for c in &changes {
            let text = as_diff(&renderer.render_change(c));
            if body.len() + text.len() > DETAILS_BUDGET {
                omitted += 1;
                continue;
            }
            body.push_str(&text);
            body.push('\n');
        }
        let _ = write!(out, "<details><summary>Details</summary>\n\n```diff\n{body}```\n");
        if omitted > 0 {
            let _ = writeln!(
                out,
                "\n{} not shown to stay within GitHub's size limit: run `gantry plan` for the full text.",
                plural(omitted, "resource")
            );
        }
        out.push_str("</details>\n");
    }
    out
}

fn table(changes: &[&ResourceChange], deposed: &[Deposed]) -> String {
    let mut out = String::from("| action | resource |\n|---|---|\n");
    for d in deposed {
        let _ = writeln!(out, "| **destroy** | `{}` (deposed object `{}`) |", d.addr, d.id);
    }
    for c in changes {
        let action = match c.action {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "**destroy**",
            Action::DeleteThenCreate | Action::CreateThenDelete => "**replace**",
            Action::NoOp => continue,
        };
        let _ = writeln!(out, "| {action} | `{}` |", c.addr);
    }
    out
}

/// Plan text with its markers moved to the first column, where GitHub's
/// `diff` highlighting looks for them (`!` for in-place changes).
fn as_diff(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let marker = if trimmed.starts_with("-/+") || trimmed.starts_with("+/-") {
            Some('!')
        } else {
            match trimmed.chars().next() {
                Some('+') if trimmed.chars().nth(1).is_some_and(char::is_whitespace) => Some('+'),
                Some('-') if trimmed.chars().nth(1).is_some_and(char::is_whitespace) => Some('-'),
                Some('~') => Some('!'),
                _ => None,
            }
        };
        match marker {
            Some(m) => {
                let _ = writeln!(out, "{m}{}{}", " ".repeat(indent.saturating_sub(1)), trimmed);
            }
            None if line.starts_with(' ') || line.is_empty() => {
                let _ = writeln!(out, "{line}");
            }
            None => {
                let _ = writeln!(out, " {line}");
            }
        }
    }
    out
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
