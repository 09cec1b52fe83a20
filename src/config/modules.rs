//! Module calls: finding the folder a `module` block's `source` names and
//! loading it as a child module, recursively.
//!
//! gantry reads modules from disk only. Local sources (`./x`, `../x`) are
//! folders relative to the calling module, as in Terraform. Anything else (a
//! registry address, git, an archive URL) is read from where `terraform get`
//! vendors it, `.terraform/modules/` of the stack, through the
//! `modules.json` manifest Terraform writes there; gantry never downloads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{parse_files, tf_files, Module, ModuleCall};
use crate::diag::{Diagnostic, Diagnostics, Loc, SourceMap};

/// Deeper nesting than this is taken for a runaway recursion.
const MAX_DEPTH: usize = 16;

/// What loading needs besides the folder at hand.
struct Loader<'a> {
    root_dir: &'a Path,
    /// `Key` (dotted call path) → folder, from `.terraform/modules/modules.json`.
    manifest: BTreeMap<String, PathBuf>,
}

/// Loads the root module of a stack and every module it calls.
pub(super) fn load_root(dir: &Path, sources: &mut SourceMap, diags: &mut Diagnostics) -> Module {
    let loader = Loader { root_dir: dir, manifest: read_manifest(dir) };
    let mut chain = vec![canonical(dir)];
    load(&loader, dir, &[], &mut chain, sources, diags)
}

fn load(
    loader: &Loader<'_>,
    dir: &Path,
    call_path: &[String],
    chain: &mut Vec<PathBuf>,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Module {
    let mut module = Module { dir: dir.to_path_buf(), ..Module::default() };
    let files = match tf_files(dir) {
        Ok(files) => files,
        Err(d) => {
            diags.push(d);
            return module;
        }
    };
    let calls = parse_files(&mut module, files, sources, diags);
    for mut call in calls {
        if module.calls.contains_key(&call.name) {
            diags.push(Diagnostic::error(format!("Duplicate module call \"{}\"", call.name)).at(call.loc.clone()));
            continue;
        }
        let mut path = call_path.to_vec();
        path.push(call.name.clone());
        if path.len() > MAX_DEPTH {
            diags.push(
                Diagnostic::error(format!("Module calls nest deeper than {MAX_DEPTH} levels"))
                    .at(call.loc.clone())
                    .detail("Check the module sources for a module that calls itself."),
            );
            continue;
        }
        match resolve(loader, dir, &path, &call.source, &call.source_loc) {
            Ok(child_dir) => {
                let key = canonical(&child_dir);
                if chain.contains(&key) {
                    diags.push(
                        Diagnostic::error(format!("Module cycle: module \"{}\" calls {}", call.name, call.source))
                            .at(call.source_loc.clone())
                            .detail(format!(
                                "{} is already being loaded by a calling module; a module cannot call itself, directly or through others.",
                                child_dir.display()
                            )),
                    );
                    continue;
                }
                chain.push(key);
                call.module = load(loader, &child_dir, &path, chain, sources, diags);
                chain.pop();
                check_arguments(&call, diags);
            }
            Err(d) => {
                diags.push(d);
                continue;
            }
        }
        module.calls.insert(call.name.clone(), call);
    }
    module
}

/// A call's arguments are the module's input variables: each must be
/// declared, and each variable without a default must be given.
fn check_arguments(call: &ModuleCall, diags: &mut Diagnostics) {
    let declared: Vec<&str> = call.module.variables.keys().map(String::as_str).collect();
    for arg in &call.args {
        if !call.module.variables.contains_key(&arg.name) {
            let hint = match crate::diag::did_you_mean(&arg.name, &declared) {
                Some(near) => format!(" Did you mean \"{near}\"?"),
                None if declared.is_empty() => " The module declares no input variables.".to_string(),
                None => format!(" Its inputs: {}.", declared.join(", ")),
            };
            diags.push(
                Diagnostic::error(format!("Unsupported argument \"{}\" in module \"{}\"", arg.name, call.name))
                    .at(arg.loc.clone())
                    .detail(format!(
                        "An argument named \"{}\" is not expected here: {} declares no such variable.{hint}",
                        arg.name, call.source
                    )),
            );
        }
    }
    for (name, var) in &call.module.variables {
        if var.default.is_none() && !call.args.iter().any(|a| &a.name == name) {
            diags.push(
                Diagnostic::error(format!("Missing required argument \"{name}\" in module \"{}\"", call.name))
                    .at(call.loc.clone())
                    .detail(format!(
                        "The argument \"{name}\" is required (its variable has no default), but was not set."
                    )),
            );
        }
    }
}

/// The folder of a module source.
fn resolve(
    loader: &Loader<'_>,
    caller_dir: &Path,
    path: &[String],
    source: &str,
    loc: &Loc,
) -> Result<PathBuf, Diagnostic> {
    if source.starts_with("./") || source.starts_with("../") {
        let dir = clean(&caller_dir.join(source));
        if !dir.is_dir() {
            return Err(Diagnostic::error(format!("Module folder not found: {source}")).at(loc.clone()).detail(
                format!(
                    "{} is not a folder. A local module source is a path relative to the calling module's folder.",
                    dir.display()
                ),
            ));
        }
        return Ok(dir);
    }
    if let Some(dir) = loader.manifest.get(&path.join(".")) {
        let dir = loader.root_dir.join(dir);
        if dir.is_dir() {
            return Ok(dir);
        }
    }
    Err(Diagnostic::error(format!("Module source \"{source}\" cannot be fetched by gantry"))
        .at(loc.clone())
        .detail(format!(
            "gantry reads modules from disk only. Vendor it: run `terraform get` in {} (gantry then reads .terraform/modules/modules.json), \
             or copy the module into the repository and set source = \"./modules/NAME\".",
            loader.root_dir.display()
        )))
}

/// The call path → folder map of `.terraform/modules/modules.json`, empty
/// when there is none or it cannot be read (then only local sources load).
fn read_manifest(root: &Path) -> BTreeMap<String, PathBuf> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(rename = "Modules", default)]
        modules: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "Dir")]
        dir: PathBuf,
    }
    let path = root.join(".terraform").join("modules").join("modules.json");
    let Ok(text) = std::fs::read_to_string(path) else { return BTreeMap::new() };
    let Ok(manifest) = serde_json::from_str::<Manifest>(&text) else { return BTreeMap::new() };
    manifest.modules.into_iter().filter(|e| !e.key.is_empty()).map(|e| (e.key, e.dir)).collect()
}

/// `a/./b/../c` → `a/c`, without touching the disk (so that messages name
/// files as a person would write them).
fn clean(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn canonical(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths_lexically() {
        assert_eq!(clean(Path::new("./a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(clean(Path::new("stack/../../shared")), PathBuf::from("../shared"));
        assert_eq!(clean(Path::new(".")), PathBuf::from("."));
    }

    #[test]
    fn manifest_maps_call_paths_to_folders() {
        let dir = tempfile::tempdir().unwrap();
        let modules = dir.path().join(".terraform/modules");
        std::fs::create_dir_all(&modules).unwrap();
        std::fs::write(
            modules.join("modules.json"),
            r#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"vpc","Source":"registry.terraform.io/x/vpc/aws","Version":"5.0.0","Dir":".terraform/modules/vpc"},{"Key":"vpc.sub","Source":"./modules/sub","Dir":".terraform/modules/vpc/modules/sub"}]}"#,
        )
        .unwrap();
        let m = read_manifest(dir.path());
        assert_eq!(m.len(), 2);
        assert_eq!(m["vpc.sub"], PathBuf::from(".terraform/modules/vpc/modules/sub"));
    }
}
