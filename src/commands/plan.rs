//! `gantry plan`.

use super::{backend, load, resolve_vars, Exit, Ui};
use crate::cli::{Global, PlanArgs};
use crate::diag::Diagnostic;
use crate::plan::walk::{plan as run_plan, PlanInputs, PlanOptions, Planned};
use crate::render;

pub async fn plan(global: &Global, ui: &Ui, args: PlanArgs) -> Exit {
    let options = PlanOptions { refresh: !args.no_refresh, refresh_only: args.refresh_only, destroy: args.destroy };
    let planned = match make_plan(global, ui, &args.vars, &options).await {
        Ok(p) => p,
        Err(e) => return e,
    };
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        if let Err(e) = append(std::path::Path::new(&summary), &render::markdown::render(&planned.plan)) {
            ui.error(Diagnostic::warning(format!("Cannot append the plan to GITHUB_STEP_SUMMARY: {e}")));
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&render::json::render(&planned.plan)).unwrap_or_default());
    } else if args.markdown {
        print!("{}", render::markdown::render(&planned.plan));
    } else {
        print!("{}", render::text::TextRenderer { color: ui.color }.render(&planned.plan));
    }
    tracing::info!(aws_calls = planned.aws.calls(), "plan finished");
    if args.detailed_exitcode
        && (planned.plan.has_changes() || (options.refresh_only && !planned.plan.drift.is_empty()))
    {
        Exit::Changes
    } else {
        Exit::Ok
    }
}

/// Loads everything and plans; shared by plan, apply and destroy.
pub async fn make_plan(
    global: &Global,
    ui: &Ui,
    vars: &crate::cli::VarArgs,
    options: &PlanOptions,
) -> Result<Planned, Exit> {
    let loaded = load(global, ui)?;
    let values = resolve_vars(global, ui, &loaded.stack, vars)?;
    let prior = backend(global, &loaded.stack).read().map_err(|e| {
        ui.error(Diagnostic::error(e.to_string()));
        Exit::Failed
    })?;
    let inputs = PlanInputs { stack: &loaded.stack, graph: &loaded.graph, env: &global.env, vars: values };
    run_plan(inputs, prior, options).await.map_err(|diags| {
        ui.report(&diags, &loaded.stack.sources);
        Exit::Failed
    })
}

fn append(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(file, "{text}")
}
