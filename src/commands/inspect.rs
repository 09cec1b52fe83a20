//! Commands that read and need no AWS: validate, output, graph, state,
//! force-unlock.

use super::{load, Exit, Ui};
use crate::addr::InstanceAddr;
use crate::cli::{Global, GraphArgs, OutputArgs, ValidateArgs};
use crate::diag::Diagnostic;
use crate::state::{Backend, State, StateError};
use crate::value::Value;

pub fn validate(global: &Global, ui: &Ui, args: ValidateArgs) -> Exit {
    match load(global, ui) {
        Ok(loaded) => {
            super::warn_about(ui, &loaded.stack);
            if let Err(e) = super::settings(global, ui) {
                return e;
            }
            // Variables are optional here: whatever they don't provide is
            // unknown, and checks skip what they cannot see.
            let tfvars = super::tfvars_path(global, &loaded.stack, &args.vars).ok().flatten();
            let sources = crate::config::vars::VarSources::from_process(tfvars, args.vars.vars.clone());
            let vars = crate::config::vars::resolve(&loaded.stack, &sources).unwrap_or_default();
            let problems = crate::plan::safety::check_stack(&loaded.stack, &loaded.graph, vars);
            if !problems.is_empty() {
                ui.report(&crate::diag::Diagnostics(problems), &loaded.stack.sources);
                return Exit::Failed;
            }
            let n = loaded.stack.resources.len();
            println!(
                "Success! The stack {} is valid ({n} resource block{}, {} variable{}, {} output{}).",
                loaded.stack.name,
                if n == 1 { "" } else { "s" },
                loaded.stack.variables.len(),
                if loaded.stack.variables.len() == 1 { "" } else { "s" },
                loaded.stack.outputs.len(),
                if loaded.stack.outputs.len() == 1 { "" } else { "s" },
            );
            Exit::Ok
        }
        Err(e) => e,
    }
}

pub fn graph(global: &Global, ui: &Ui, args: GraphArgs) -> Exit {
    match load(global, ui) {
        Ok(loaded) => {
            print!("{}", loaded.graph.to_dot(args.all));
            Exit::Ok
        }
        Err(e) => e,
    }
}

/// Reads state without loading the stack's files beyond its name.
pub(super) async fn read_state(global: &Global, ui: &Ui) -> Result<(Box<dyn Backend>, Option<State>), Exit> {
    let backend = super::backend_for(global, ui, &super::stack_name_of(global)).await?;
    match backend.read().await {
        Ok(state) => Ok((backend, state)),
        Err(e) => {
            ui.error(Diagnostic::error(e.to_string()));
            Err(Exit::Failed)
        }
    }
}

pub async fn output(global: &Global, ui: &Ui, args: OutputArgs) -> Exit {
    let (backend, state) = match read_state(global, ui).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    let Some(state) = state else {
        ui.error(
            Diagnostic::error(format!("No state for {}/{} yet", super::stack_name_of(global), global.env))
                .detail(format!("{} does not exist: run gantry apply first.", backend.location())),
        );
        return Exit::Failed;
    };
    if let Some(name) = &args.name {
        let Some(o) = state.outputs.get(name) else {
            let known: Vec<&str> = state.outputs.keys().map(String::as_str).collect();
            ui.error(Diagnostic::error(format!("Output \"{name}\" not found")).detail(format!(
                "Outputs in state: {}.",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
            return Exit::Failed;
        };
        if o.sensitive {
            ui.error(Diagnostic::error(format!("Output \"{name}\" is sensitive"))
                .detail("gantry never stores secret values in state, so it cannot print them. Read the secret from its source (e.g. SSM with `aws ssm get-parameter --with-decryption`)."));
            return Exit::Failed;
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&o.value).unwrap_or_default());
        } else if let serde_json::Value::String(s) = &o.value {
            println!("{s}");
        } else {
            println!("{}", Value::from_json(&o.value));
        }
        return Exit::Ok;
    }
    if args.json {
        let out: serde_json::Map<String, serde_json::Value> = state
            .outputs
            .iter()
            .map(|(k, o)| (k.clone(), serde_json::json!({ "sensitive": o.sensitive, "value": o.value })))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Exit::Ok;
    }
    let width = state.outputs.keys().map(|k| k.len()).max().unwrap_or(0);
    for (name, o) in &state.outputs {
        let shown = if o.sensitive { "<sensitive>".to_string() } else { Value::from_json(&o.value).to_string() };
        println!("{name:width$} = {shown}");
    }
    Exit::Ok
}

pub async fn state_list(global: &Global, ui: &Ui) -> Exit {
    let (_, state) = match read_state(global, ui).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    let state = state.unwrap_or_default();
    // The same state plan refuses: a type this build does not support.
    if let Some(r) = state.resources.iter().find(|r| crate::resources::resource_type(&r.rtype).is_none()) {
        ui.error(
            Diagnostic::error(format!("state holds {} of unsupported resource type {}", r.address, r.rtype)).detail(
                format!(
                "Supported types: {}. A newer gantry may know it; or drop it from state with `gantry state rm '{}'`.",
                crate::resources::resource_type_names().join(", "),
                r.address
            ),
            ),
        );
        return Exit::Failed;
    }
    for r in &state.resources {
        println!("{}", r.address);
    }
    Exit::Ok
}

pub async fn state_show(global: &Global, ui: &Ui, address: &str) -> Exit {
    let (_, state) = match read_state(global, ui).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    let state = state.unwrap_or_default();
    let addr: InstanceAddr = match address.parse() {
        Ok(a) => a,
        Err(e) => {
            ui.error(Diagnostic::error(e.to_string()));
            return Exit::Failed;
        }
    };
    let Some(r) = state.get(&addr) else {
        ui.error(Diagnostic::error(format!("{addr} is not in state")).detail("List what is with `gantry state list`."));
        return Exit::Failed;
    };
    let change = crate::plan::ResourceChange {
        addr: r.address.clone(),
        rtype: r.rtype.clone(),
        action: crate::plan::Action::Create,
        before: None,
        after: Some(crate::plan::compare::state_values(r)),
        replace_paths: Vec::new(),
        changed: Vec::new(),
        reason: None,
    };
    let text = crate::render::text::TextRenderer { color: false }.render_change(&change);
    println!("# {}:", r.address);
    print!("{}", unmarked(&text));
    Exit::Ok
}

/// A rendered create as `terraform state show` lays it out: no "will be
/// created" line, no "+" markers, and every line four columns to the left
/// (the width of "  + "). The plan writes the entries of a map or list value
/// without markers, two columns left of where Terraform has them; they move
/// two columns only, so they sit inside their braces as in Terraform's.
fn unmarked(create: &str) -> String {
    let mut out = String::new();
    // How many map or list values the line is inside.
    let mut open_values = 0usize;
    for line in create.lines().skip(1) {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        let closes = body.starts_with('}') || body.starts_with(']');
        let (indent, body) = match body.strip_prefix("+ ") {
            Some(rest) => (indent.saturating_sub(2), rest),
            None if open_values > 0 && !closes => (indent.saturating_sub(2), body),
            None => (indent.saturating_sub(4), body),
        };
        if closes {
            open_values = open_values.saturating_sub(1);
        }
        if (body.ends_with('{') || body.ends_with('[')) && (open_values > 0 || body.contains(" = ")) {
            open_values += 1;
        }
        out.push_str(&" ".repeat(indent));
        out.push_str(body);
        out.push('\n');
    }
    out
}

pub async fn force_unlock(global: &Global, ui: &Ui, id: &str) -> Exit {
    let backend = match super::backend_for(global, ui, &super::stack_name_of(global)).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    // The id says which lock it is: the state lock's, else the deploy lock's.
    let result = match backend.force_unlock(id).await {
        Err(StateError::NoSuchLock { .. }) => match backend.force_unlock_named("deploy", id).await {
            Ok(info) => Ok(info),
            Err(StateError::NoSuchLock { .. }) => backend.force_unlock(id).await,
            Err(e) => Err(e),
        },
        other => other,
    };
    match result {
        Ok(info) => {
            println!("Lock {id} removed (it was held by {} for {}).", info.who, info.operation);
            Exit::Ok
        }
        Err(e) => {
            ui.error(Diagnostic::error(format!("force-unlock failed: {e}")));
            Exit::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unmarked;

    #[test]
    fn state_show_drops_the_markers_and_keeps_nesting_aligned() {
        let create = concat!(
            "  # aws_x.a will be created\n",
            "  + resource \"aws_x\" \"a\" {\n",
            "      + id   = \"a\"\n",
            "      + list = [\n",
            "          \"one\",\n",
            "        ]\n",
            "      + tags = {\n",
            "          a    = \"1\"\n",
            "          long = {\n",
            "              b = \"2\"\n",
            "            }\n",
            "        }\n",
            "\n",
            "      + block {\n",
            "          + name = \"n\"\n",
            "        }\n",
            "    }\n",
        );
        let want = concat!(
            "resource \"aws_x\" \"a\" {\n",
            "    id   = \"a\"\n",
            "    list = [\n",
            "        \"one\",\n",
            "    ]\n",
            "    tags = {\n",
            "        a    = \"1\"\n",
            "        long = {\n",
            "            b = \"2\"\n",
            "        }\n",
            "    }\n",
            "\n",
            "    block {\n",
            "        name = \"n\"\n",
            "    }\n",
            "}\n",
        );
        assert_eq!(unmarked(create), want);
    }
}
