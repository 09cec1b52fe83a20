//! Where a Terraform state is: a local file, `s3://bucket/key`, or where the
//! stack's own `terraform { backend "..." }` block says, for a workspace.
//! Terraform's rules for its s3 backend: the default workspace's state is
//! `key`; another workspace's is `<workspace_key_prefix>/<workspace>/<key>`
//! (prefix `env:` unless set). The local backend keeps `path` (default
//! `terraform.tfstate`) and `<workspace_dir>/<workspace>/terraform.tfstate`.

use std::path::{Path, PathBuf};

use crate::config::TerraformBackend;
use crate::diag::Diagnostic;
use crate::value::Value;

/// The workspace Terraform uses when none is selected.
pub const DEFAULT_WORKSPACE: &str = "default";

/// A Terraform state to read.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    File(PathBuf),
    S3(S3Location),
}

/// A state object in S3 and the lock Terraform takes on it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct S3Location {
    pub bucket: String,
    /// The object's key, the workspace's prefix included.
    pub key: String,
    /// The backend's region; the environment's (AWS_REGION) without it.
    pub region: Option<String>,
    /// Terraform's DynamoDB lock table.
    pub dynamodb_table: Option<String>,
    /// Terraform's `<key>.tflock` lock object.
    pub use_lockfile: bool,
    /// Backend settings gantry does not use (endpoints, credentials, skip_*).
    pub ignored: Vec<String>,
}

impl S3Location {
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The lock item's `LockID` (and the `Path` of Terraform's lock info).
    pub fn lock_id(&self) -> String {
        format!("{}/{}", self.bucket, self.key)
    }

    /// The `LockID` of the item holding the MD5 of the state Terraform
    /// wrote last.
    pub fn digest_id(&self) -> String {
        format!("{}-md5", self.lock_id())
    }

    /// The key of the lock object `use_lockfile` writes.
    pub fn lockfile_key(&self) -> String {
        format!("{}.tflock", self.key)
    }

    /// Whether Terraform takes a lock on it at all.
    pub fn locked(&self) -> bool {
        self.dynamodb_table.is_some() || self.use_lockfile
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::S3(s3) => f.write_str(&s3.url()),
        }
    }
}

/// Splits `s3://bucket/key`.
pub fn parse_s3_url(text: &str) -> Result<(String, String), String> {
    let rest = text.strip_prefix("s3://").ok_or_else(|| format!("{text:?} does not start with s3://"))?;
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() && !key.ends_with('/') => {
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err(format!("{text:?} is not s3://BUCKET/KEY (the key of the state object, e.g. s3://my-tf-state/prod/terraform.tfstate)")),
    }
}

/// The key of `workspace`'s state under Terraform's s3 backend rules.
pub fn workspace_key(key: &str, prefix: &str, workspace: &str) -> String {
    if workspace == DEFAULT_WORKSPACE {
        key.to_string()
    } else if prefix.is_empty() {
        format!("{workspace}/{key}")
    } else {
        format!("{prefix}/{workspace}/{key}")
    }
}

/// The workspace Terraform would use in `stack_dir`: the one given, else
/// TF_WORKSPACE, else the one `terraform workspace select` recorded in
/// `.terraform/environment`, else `default`.
pub fn workspace(given: Option<&str>, stack_dir: &Path) -> String {
    if let Some(name) = given.filter(|n| !n.is_empty()) {
        return name.to_string();
    }
    if let Some(name) = std::env::var("TF_WORKSPACE").ok().filter(|n| !n.is_empty()) {
        return name;
    }
    std::fs::read_to_string(stack_dir.join(".terraform/environment"))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_WORKSPACE.to_string())
}

/// Settings of an s3 backend gantry reads; the others are listed as ignored.
const S3_READ: &[&str] = &["bucket", "key", "region", "workspace_key_prefix", "dynamodb_table", "use_lockfile"];
/// Settings of an s3 backend that change nothing for a read.
const S3_IRRELEVANT: &[&str] = &["encrypt", "kms_key_id", "acl", "sse_customer_key", "max_retries"];

/// Where the stack's backend block says Terraform keeps `workspace`'s state.
/// `stack_dir` anchors a local backend's relative path. Errors carry the
/// block's (or the setting's) location.
pub fn from_backend(
    backend: Option<&TerraformBackend>,
    stack_dir: &Path,
    workspace: &str,
) -> Result<Location, Diagnostic> {
    let Some(backend) = backend else {
        return Err(Diagnostic::error("The stack declares no Terraform backend to read the state from").detail(
            "Give the state as SOURCE: a terraform.tfstate file or s3://BUCKET/KEY, or add the \
             `terraform { backend \"s3\" { ... } }` block Terraform uses.",
        ));
    };
    match backend.kind.as_str() {
        "s3" => s3_from_backend(backend, workspace).map(Location::S3),
        "local" => local_from_backend(backend, stack_dir, workspace).map(Location::File),
        other => Err(Diagnostic::error(format!("gantry cannot read Terraform state from a backend {other:?}"))
            .at(backend.loc.clone())
            .detail(format!(
                "gantry reads Terraform state from a local file or the s3 backend. Copy this one out with \
             Terraform (`terraform state pull > terraform.tfstate` in this folder), import that file, \
             then delete it: it holds secrets in clear.{}",
                if other == "cloud" || other == "remote" {
                    " HCP Terraform keeps its own lock: lock the workspace there while you import."
                } else {
                    ""
                }
            ))),
    }
}

fn setting_loc(backend: &TerraformBackend, name: &str) -> crate::diag::Loc {
    backend.setting_locs.get(name).cloned().unwrap_or_else(|| backend.loc.clone())
}

/// A string setting; `None` when absent, an error when of another type.
fn string_setting(backend: &TerraformBackend, name: &str) -> Result<Option<String>, Diagnostic> {
    match backend.settings.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            Err(Diagnostic::error(format!("The backend's {name} must be a string, not {}", other.type_name()))
                .at(setting_loc(backend, name)))
        }
    }
}

fn bool_setting(backend: &TerraformBackend, name: &str) -> Result<bool, Diagnostic> {
    match backend.settings.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => {
            Err(Diagnostic::error(format!("The backend's {name} must be true or false, not {}", other.type_name()))
                .at(setting_loc(backend, name)))
        }
    }
}

fn s3_from_backend(backend: &TerraformBackend, workspace: &str) -> Result<S3Location, Diagnostic> {
    // A setting whose value is not a constant was reported when the stack
    // was loaded; one missing here was left out.
    let required = |name: &str| -> Result<String, Diagnostic> {
        string_setting(backend, name)?.filter(|s| !s.is_empty()).ok_or_else(|| {
            Diagnostic::error(format!("The backend \"s3\" block has no {name}")).at(backend.loc.clone()).detail(
                format!(
                    "gantry reads the state where Terraform keeps it: set {name} in the block (a partial \
                     configuration given to `terraform init -backend-config` is not read), or give \
                     SOURCE as s3://BUCKET/KEY."
                ),
            )
        })
    };
    let bucket = required("bucket")?;
    let key = required("key")?;
    if key.starts_with('/') || key.ends_with('/') {
        return Err(Diagnostic::error(format!("The backend's key {key:?} must not start or end with \"/\""))
            .at(setting_loc(backend, "key")));
    }
    let prefix = string_setting(backend, "workspace_key_prefix")?.unwrap_or_else(|| "env:".to_string());
    let mut ignored: Vec<String> = backend
        .settings
        .keys()
        .filter(|k| !S3_READ.contains(&k.as_str()) && !S3_IRRELEVANT.contains(&k.as_str()))
        .cloned()
        .collect();
    ignored.extend(backend.blocks.iter().map(|b| format!("{b} {{}}")));
    Ok(S3Location {
        key: workspace_key(&key, &prefix, workspace),
        bucket,
        region: string_setting(backend, "region")?,
        dynamodb_table: string_setting(backend, "dynamodb_table")?.filter(|t| !t.is_empty()),
        use_lockfile: bool_setting(backend, "use_lockfile")?,
        ignored,
    })
}

fn local_from_backend(backend: &TerraformBackend, stack_dir: &Path, workspace: &str) -> Result<PathBuf, Diagnostic> {
    let path = if workspace == DEFAULT_WORKSPACE {
        string_setting(backend, "path")?.unwrap_or_else(|| "terraform.tfstate".to_string())
    } else {
        let dir = string_setting(backend, "workspace_dir")?.unwrap_or_else(|| "terraform.tfstate.d".to_string());
        format!("{dir}/{workspace}/terraform.tfstate")
    };
    Ok(stack_dir.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn backend(kind: &str, settings: &[(&str, Value)]) -> TerraformBackend {
        TerraformBackend {
            kind: kind.to_string(),
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            setting_locs: BTreeMap::new(),
            blocks: vec!["assume_role".into()],
            loc: crate::diag::Loc::new(Default::default(), None),
        }
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn s3_urls() {
        assert_eq!(parse_s3_url("s3://b/k/x.tfstate").unwrap(), ("b".into(), "k/x.tfstate".into()));
        for bad in ["s3://b", "s3://b/", "s3:///k", "b/k", "s3://b/k/"] {
            assert!(parse_s3_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn workspaces_follow_terraforms_key_rule() {
        assert_eq!(workspace_key("app.tfstate", "env:", "default"), "app.tfstate");
        assert_eq!(workspace_key("a/app.tfstate", "env:", "staging"), "env:/staging/a/app.tfstate");
        assert_eq!(workspace_key("app.tfstate", "", "staging"), "staging/app.tfstate");
    }

    #[test]
    fn an_s3_backend_block_names_object_lock_and_what_is_ignored() {
        let b = backend(
            "s3",
            &[
                ("bucket", s("st")),
                ("key", s("env/app.tfstate")),
                ("region", s("eu-west-1")),
                ("dynamodb_table", s("locks")),
                ("use_lockfile", Value::Bool(true)),
                ("workspace_key_prefix", s("ws")),
                ("skip_credentials_validation", Value::Bool(true)),
                ("encrypt", Value::Bool(true)),
            ],
        );
        let Location::S3(loc) = from_backend(Some(&b), Path::new("."), "prod").unwrap() else { panic!() };
        assert_eq!(loc.url(), "s3://st/ws/prod/env/app.tfstate");
        assert_eq!(loc.lock_id(), "st/ws/prod/env/app.tfstate");
        assert_eq!(loc.digest_id(), "st/ws/prod/env/app.tfstate-md5");
        assert_eq!(loc.lockfile_key(), "ws/prod/env/app.tfstate.tflock");
        assert_eq!(loc.region.as_deref(), Some("eu-west-1"));
        assert_eq!(loc.dynamodb_table.as_deref(), Some("locks"));
        assert!(loc.use_lockfile);
        assert_eq!(loc.ignored, vec!["skip_credentials_validation".to_string(), "assume_role {}".to_string()]);
    }

    #[test]
    fn unusable_backend_blocks_are_explained() {
        let no_key = backend("s3", &[("bucket", s("st"))]);
        let err = from_backend(Some(&no_key), Path::new("."), "default").unwrap_err();
        assert!(err.summary.contains("has no key"), "{}", err.summary);
        assert!(err.loc.is_some());
        let wrong = backend("s3", &[("bucket", s("st")), ("key", s("k")), ("use_lockfile", s("yes"))]);
        let err = from_backend(Some(&wrong), Path::new("."), "default").unwrap_err();
        assert!(err.summary.contains("use_lockfile must be true or false"), "{}", err.summary);
        let gcs = backend("gcs", &[("bucket", s("st"))]);
        let err = from_backend(Some(&gcs), Path::new("."), "default").unwrap_err();
        assert!(err.summary.contains("backend \"gcs\""), "{}", err.summary);
        assert!(err.detail.unwrap().contains("terraform state pull"));
        assert!(from_backend(None, Path::new("."), "default").unwrap_err().summary.contains("no Terraform backend"));
    }

    #[test]
    fn a_local_backend_names_its_file() {
        let b = backend("local", &[]);
        assert_eq!(
            from_backend(Some(&b), Path::new("/s"), "default").unwrap(),
            Location::File(PathBuf::from("/s/terraform.tfstate"))
        );
        assert_eq!(
            from_backend(Some(&b), Path::new("/s"), "dev").unwrap(),
            Location::File(PathBuf::from("/s/terraform.tfstate.d/dev/terraform.tfstate"))
        );
    }
}
