//! `gantry plan` and `gantry show`.

use super::{backend, load, tfvars_path, Exit, Ui};
use crate::addr::InstanceAddr;
use crate::cli::{Global, PlanArgs, ShowArgs};
use crate::diag::Diagnostic;
use crate::plan::saved::{Inputs, SavedPlan};
use crate::plan::walk::{plan as run_plan, PlanInputs, PlanOptions};
use crate::render;

pub async fn plan(global: &Global, ui: &Ui, args: PlanArgs) -> Exit {
    let targets = match parse_targets(ui, &args.targets) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let replace = match parse_targets(ui, &args.replace) {
        Ok(t) => t,
        Err(e) => return e,
    };
    // Plan writes nothing, so it takes no lock: -lock and -lock-timeout are
    // accepted for Terraform's scripts and have nothing to do.
    let _ = (&args.terraform.lock, &args.terraform.lock_timeout);
    let options = PlanOptions {
        refresh: !args.no_refresh,
        refresh_only: args.refresh_only,
        destroy: args.destroy,
        targets,
        replace,
    };
    let mut loaded = match load(global, ui) {
        Ok(l) => l,
        Err(e) => return e,
    };
    super::warn_about(ui, &loaded.stack);
    let tfvars = match tfvars_path(global, &loaded.stack, &args.vars) {
        Ok(t) => t,
        Err(d) => {
            ui.error(d);
            return Exit::Failed;
        }
    };
    let vars = match super::resolve_vars(global, ui, &loaded.stack, &args.vars) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if let Err(e) = loaded.expand(ui, &vars) {
        return e;
    }
    let backend = match backend(global, ui, &loaded.stack).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    let prior = match backend.read().await {
        Ok(p) => p,
        Err(e) => {
            ui.error(Diagnostic::error(e.to_string()));
            return Exit::Failed;
        }
    };
    let inputs = PlanInputs { stack: &loaded.stack, graph: &loaded.graph, env: &global.env, vars: vars.clone() };
    let planned = match run_plan(inputs, prior.clone(), &options).await {
        Ok(p) => p,
        Err(diags) => {
            ui.report(&diags, &loaded.stack.sources);
            return Exit::Failed;
        }
    };
    ui.report(&planned.warnings, &loaded.stack.sources);
    // The JSON form is as large as the plan: built only when printed or saved.
    let mut json = (args.json || args.out.is_some()).then(|| render::json::render(&planned.plan));
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        if let Err(e) = append(std::path::Path::new(&summary), &render::markdown::render(&planned.plan)) {
            ui.error(Diagnostic::warning(format!("Cannot append the plan to GITHUB_STEP_SUMMARY: {e}")));
        }
    }
    if let Some(json) = json.as_ref().filter(|_| args.json) {
        println!("{}", serde_json::to_string_pretty(json).unwrap_or_default());
    } else if args.markdown {
        print!("{}", render::markdown::render(&planned.plan));
    } else {
        print!("{}", render::text::TextRenderer { color: ui.color }.render(&planned.plan));
    }
    if let Some(out) = &args.out {
        let text = render::text::TextRenderer { color: false }.render(&planned.plan);
        let saved_inputs = Inputs {
            stack: &loaded.stack,
            env: &global.env,
            tfvars: tfvars.as_deref(),
            vars: &vars,
            state: prior.as_ref(),
            options: &options,
        };
        let json = json.take().unwrap_or_else(|| render::json::render(&planned.plan));
        let mut saved = SavedPlan::new(&saved_inputs, &planned.plan, json, text);
        saved.terraform_json = Some(render::terraform_json::render(&planned.plan, &loaded.stack, &vars));
        let secret: Vec<&str> = super::secret_command_line_vars(&loaded.stack, &args.vars).collect();
        saved.var_args = args.vars.vars.iter().filter(|a| !secret.contains(&super::var_arg_name(a))).cloned().collect();
        saved.var_file = args.vars.var_file.as_ref().map(|f| f.display().to_string());
        if let Err(e) = saved.write(out) {
            ui.error(Diagnostic::error(e.to_string()));
            return Exit::Failed;
        }
        // On stderr: stdout may be a PR comment or JSON.
        eprintln!(
            "\nSaved the plan to {}. Apply exactly this plan with: gantry apply {}",
            out.display(),
            out.display()
        );
    }
    tracing::info!(aws_calls = planned.aws.calls(), "plan finished");
    let drift_only = options.refresh_only && !planned.plan.drift.is_empty();
    if args.detailed_exitcode && (planned.plan.has_changes() || drift_only) {
        Exit::Changes
    } else {
        Exit::Ok
    }
}

pub fn show(ui: &Ui, args: ShowArgs) -> Exit {
    match SavedPlan::read(&args.file) {
        Ok(saved) => {
            if args.json {
                let Some(doc) = saved.terraform_json.as_ref() else {
                    ui.error(
                        Diagnostic::error(format!("{} holds no Terraform-format JSON", args.file.display()))
                            .detail("It was saved by an older gantry; run plan --out again."),
                    );
                    return Exit::Failed;
                };
                println!("{}", serde_json::to_string_pretty(doc).unwrap_or_default());
            } else {
                println!(
                    "Saved plan for {}/{}, made {} against {}.\n",
                    saved.stack,
                    saved.environment,
                    saved.created,
                    saved
                        .state
                        .as_ref()
                        .map(|s| format!("state serial {}", s.serial))
                        .unwrap_or_else(|| "an empty state".into())
                );
                print!("{}", saved.text);
            }
            Exit::Ok
        }
        Err(e) => {
            ui.error(Diagnostic::error(e.to_string()));
            Exit::Failed
        }
    }
}

pub fn parse_targets(ui: &Ui, targets: &[String]) -> Result<Vec<InstanceAddr>, Exit> {
    targets
        .iter()
        .map(|t| {
            t.parse::<InstanceAddr>().map_err(|e| {
                ui.error(Diagnostic::error(e.to_string()));
                Exit::Failed
            })
        })
        .collect()
}

fn append(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(file, "{text}")
}
