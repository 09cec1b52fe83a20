//! `gantry exec -e ENV -- CMD`: runs CMD with the environment's SSM
//! parameters in its environment, after checking them against the contract.
//! Nothing is written to disk and no value is printed.

use std::collections::BTreeMap;

use super::{settings, Exit, Ui};
use crate::aws::{AwsCtx, ClassifyExt};
use crate::cli::{ExecArgs, Global};
use crate::config::settings::SsmPath;
use crate::contract::{self, Setting};
use crate::diag::Diagnostic;

pub async fn exec(global: &Global, ui: &Ui, args: ExecArgs) -> Exit {
    let settings = match settings(global, ui) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let path = match &settings.deploy_for(&global.env).ssm_path {
        Some(SsmPath::Literal(p)) => p.clone(),
        Some(SsmPath::Output(name)) => match output(global, ui, name).await {
            Some(p) => p,
            None => return Exit::Failed,
        },
        None => {
            ui.error(
                Diagnostic::error("No SSM path for the app's environment")
                    .detail("Add to the stack's gantry.hcl:\n\ndeploy {\n  ssm_path_output = \"ssm_path\"   # a state output holding the path\n}"),
            );
            return Exit::Failed;
        }
    };
    let aws = AwsCtx::load(None).await;
    let params = match read_path(&aws, &path).await {
        Ok(p) => p,
        Err(e) => {
            ui.error(Diagnostic::error(format!("Reading the parameters under {path} failed: {e}")));
            return Exit::Failed;
        }
    };
    let problems = contract::check(&settings.contract, &params);
    let (missing, invalid): (Vec<_>, Vec<_>) = problems.iter().partition(|p| p.message.contains("not set"));
    let blocking = !invalid.is_empty() || (args.strict && !missing.is_empty());
    for p in invalid.iter().chain(missing.iter()) {
        let severity = if blocking || !p.message.contains("not set") { "error" } else { "warning" };
        eprintln!("{severity}: {} {}", p.key, p.message);
    }
    if blocking {
        ui.error(
            Diagnostic::error(format!("The environment under {path} does not meet the app's contract"))
                .detail("Nothing was run. Fix the parameters (aws ssm put-parameter ...) and try again."),
        );
        return Exit::Failed;
    }
    let Some((program, rest)) = args.command.split_first() else { return Exit::Failed };
    let env: BTreeMap<&String, &String> = params.iter().map(|(k, s)| (k, &s.value)).collect();
    match std::process::Command::new(program).args(rest).envs(env).status() {
        Ok(status) => match status.code() {
            Some(0) => Exit::Ok,
            Some(code) => Exit::Child(code),
            None => Exit::Failed,
        },
        Err(e) => {
            ui.error(Diagnostic::error(format!("Cannot run {program}: {e}")));
            Exit::Failed
        }
    }
}

/// A string output of the environment's state.
async fn output(global: &Global, ui: &Ui, name: &str) -> Option<String> {
    let backend = super::backend_for(global, ui, &super::stack_name_of(global)).await.ok()?;
    let state = match backend.read().await {
        Ok(Some(s)) => s,
        Ok(None) => {
            ui.error(Diagnostic::error("The environment has no state yet: apply it first"));
            return None;
        }
        Err(e) => {
            ui.error(Diagnostic::error(e.to_string()));
            return None;
        }
    };
    match state.outputs.get(name).and_then(|o| o.value.as_str()) {
        Some(p) => Some(p.to_string()),
        None => {
            ui.error(Diagnostic::error(format!(
                "The state has no string output \"{name}\" (gantry.hcl: ssm_path_output)"
            )));
            None
        }
    }
}

/// The parameters directly under `path`, by their last path segment.
pub(crate) async fn read_path(
    aws: &AwsCtx,
    path: &str,
) -> Result<BTreeMap<String, Setting>, crate::aws::ProviderError> {
    let mut out = BTreeMap::new();
    let mut token = None;
    loop {
        aws.count_call();
        let page = aws
            .ssm
            .get_parameters_by_path()
            .path(path)
            .recursive(false)
            .with_decryption(true)
            .set_next_token(token)
            .send()
            .await
            .classify("ssm:GetParametersByPath")?;
        for p in page.parameters() {
            let (Some(name), Some(value)) = (p.name(), p.value()) else { continue };
            let key = name.rsplit('/').next().unwrap_or(name).to_string();
            let encrypted = p.r#type().is_some_and(|t| t.as_str() == "SecureString");
            out.insert(key, Setting { value: value.to_string(), encrypted, version: p.version() });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The parameters under `path` at the versions given (key -> version),
/// read by `NAME:VERSION` with GetParameters, 10 names a call. Keys whose
/// version SSM no longer holds (it keeps the last 100) are returned apart.
pub(crate) async fn read_versions(
    aws: &AwsCtx,
    path: &str,
    versions: &BTreeMap<String, i64>,
) -> Result<(BTreeMap<String, Setting>, Vec<String>), crate::aws::ProviderError> {
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    let names: Vec<(String, String)> = versions
        .iter()
        .map(|(key, version)| (key.clone(), format!("{}/{key}:{version}", path.trim_end_matches('/'))))
        .collect();
    for chunk in names.chunks(10) {
        aws.count_call();
        let page = aws
            .ssm
            .get_parameters()
            .set_names(Some(chunk.iter().map(|(_, n)| n.clone()).collect()))
            .with_decryption(true)
            .send()
            .await
            .classify("ssm:GetParameters")?;
        for p in page.parameters() {
            let (Some(name), Some(value)) = (p.name(), p.value()) else { continue };
            let key = name.rsplit('/').next().unwrap_or(name).to_string();
            let encrypted = p.r#type().is_some_and(|t| t.as_str() == "SecureString");
            out.insert(key, Setting { value: value.to_string(), encrypted, version: p.version() });
        }
        for bad in page.invalid_parameters() {
            if let Some((key, _)) = chunk.iter().find(|(_, n)| n == bad) {
                missing.push(key.clone());
            }
        }
    }
    Ok((out, missing))
}
