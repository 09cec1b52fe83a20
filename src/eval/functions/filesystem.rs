//! Filesystem functions: `file`, `filebase64`, `fileexists`, `fileset`, the
//! `file*sha*` digests, and the path functions (`abspath`, `basename`,
//! `dirname`, `pathexpand`).
//!
//! Reading is confined to the repository holding the stack (the nearest
//! folder above the stack folder with a `.git`, else the stack folder) plus
//! the folders listed in `GANTRY_ALLOW_READ` (separated by `:`), so that a
//! stack from elsewhere cannot read `~/.aws/credentials` into a resource
//! argument. Devices, FIFOs and files over [`MAX_FILE_BYTES`] are refused.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;

use super::crypto::{base64_of, hex_of, Hash};
use super::{str_arg, Cx, FnError, R};
use crate::value::Value;

/// The environment variable that widens where file functions may read.
pub(crate) const ALLOW_READ_VAR: &str = "GANTRY_ALLOW_READ";

/// Larger files are refused: stack inputs are policies, templates and
/// scripts, and a huge read is more likely a mistake (or /dev/zero).
pub(crate) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The repository holding `dir`: the nearest ancestor with a `.git` entry
/// (a folder, or a file in a git worktree), else `dir` itself.
fn repository_root(dir: &Path) -> PathBuf {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf).unwrap_or(dir)
}

fn allowed_roots(module_dir: &Path) -> Vec<PathBuf> {
    let mut roots = vec![repository_root(module_dir)];
    if let Some(extra) = std::env::var_os(ALLOW_READ_VAR) {
        roots.extend(std::env::split_paths(&extra).filter(|p| p.is_absolute()).map(|p| p.canonicalize().unwrap_or(p)));
    }
    roots
}

/// `path` with `.` and `..` resolved without touching the filesystem.
fn lexical_clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Resolves `path` against the stack folder and checks it is inside the
/// allowed roots. `Ok(None)`: nothing exists there (and the place is allowed).
fn confined(cx: &Cx, path: &str) -> Result<Option<PathBuf>, FnError> {
    let module_dir = cx.ev.scope.module_dir();
    let joined = module_dir.join(path);
    let roots = allowed_roots(module_dir);
    let outside = |resolved: &Path| {
        FnError::arg(
            0,
            format!(
                "{} resolves to {}, outside the repository {}; gantry reads files only inside the repository holding the stack (set {ALLOW_READ_VAR}=/folder1:/folder2 to allow more)",
                cx.quote(path),
                if cx.sensitive { "a path".to_string() } else { resolved.display().to_string() },
                roots[0].display()
            ),
        )
    };
    let resolved = match joined.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let base = module_dir.canonicalize().unwrap_or_else(|_| module_dir.to_path_buf());
            let lexical = lexical_clean(&base.join(path));
            return if roots.iter().any(|r| lexical.starts_with(r)) { Ok(None) } else { Err(outside(&lexical)) };
        }
        Err(e) => return Err(FnError::arg(0, format!("cannot read {}: {e}", cx.quote(path)))),
    };
    if resolved.starts_with("/dev") || resolved.starts_with("/proc") || resolved.starts_with("/sys") {
        return Err(FnError::arg(
            0,
            format!("{} is a device or system file, which gantry does not read", cx.quote(path)),
        ));
    }
    if !roots.iter().any(|r| resolved.starts_with(r)) {
        return Err(outside(&resolved));
    }
    Ok(Some(resolved))
}

fn not_found(cx: &Cx, path: &str) -> FnError {
    FnError::arg(
        0,
        format!(
            "no file exists at {} (paths are relative to the stack folder {})",
            cx.quote(path),
            cx.ev.scope.module_dir().display()
        ),
    )
}

/// Refuses what is not a regular file of a sane size.
fn check_regular(cx: &Cx, path: &str, meta: &std::fs::Metadata) -> Result<(), FnError> {
    if meta.is_dir() {
        return Err(FnError::arg(0, format!("{} is a folder, not a file", cx.quote(path))));
    }
    if !meta.is_file() {
        return Err(FnError::arg(0, format!("{} is not a regular file (a FIFO, socket or device)", cx.quote(path))));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(FnError::arg(
            0,
            format!("{} is {} bytes, more than the {MAX_FILE_BYTES} gantry reads", cx.quote(path), meta.len()),
        ));
    }
    Ok(())
}

pub(super) fn read_file(cx: &Cx, path: &str) -> Result<Vec<u8>, FnError> {
    let full = confined(cx, path)?.ok_or_else(|| not_found(cx, path))?;
    let cannot = |e: std::io::Error| FnError::arg(0, format!("cannot read {}: {e}", cx.quote(path)));
    let meta = std::fs::metadata(&full).map_err(cannot)?;
    check_regular(cx, path, &meta)?;
    let mut bytes = Vec::new();
    // Bounded again while reading, in case the file grew since the check.
    std::fs::File::open(&full).map_err(cannot)?.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(FnError::arg(
            0,
            format!("{} is larger than the {MAX_FILE_BYTES} bytes gantry reads", cx.quote(path)),
        ));
    }
    Ok(bytes)
}

pub(super) fn file(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    let bytes = read_file(cx, &path)?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FnError::call(format!(
            "the contents of {} are not valid UTF-8; use filebase64 for binary files",
            cx.quote(&path)
        ))
    })
}

pub(super) fn filebase64(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(read_file(cx, &path)?)))
}

pub(super) fn fileexists(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    let Some(full) = confined(cx, &path)? else { return Ok(Value::Bool(false)) };
    let meta =
        std::fs::metadata(&full).map_err(|e| FnError::call(format!("cannot inspect {}: {e}", cx.quote(&path))))?;
    if meta.is_dir() {
        return Err(FnError::call(format!("{} is a folder, not a file", cx.quote(&path))));
    }
    check_regular(cx, &path, &meta).map_err(|e| FnError::call(e.message))?;
    Ok(Value::Bool(true))
}

fn file_digest(cx: &mut Cx, a: Vec<Value>, hash: Hash, base64: bool) -> R {
    let path = str_arg(&a, 0)?;
    // Terraform reports these as call errors, not argument errors.
    let bytes = read_file(cx, &path).map_err(|e| FnError::call(e.message))?;
    Ok(if base64 { base64_of(hash, &bytes) } else { hex_of(hash, &bytes) })
}

pub(super) fn filemd5(cx: &mut Cx, a: Vec<Value>) -> R {
    file_digest(cx, a, Hash::Md5, false)
}

pub(super) fn filesha1(cx: &mut Cx, a: Vec<Value>) -> R {
    file_digest(cx, a, Hash::Sha1, false)
}

pub(super) fn filesha256(cx: &mut Cx, a: Vec<Value>) -> R {
    file_digest(cx, a, Hash::Sha256, false)
}

pub(super) fn filesha512(cx: &mut Cx, a: Vec<Value>) -> R {
    file_digest(cx, a, Hash::Sha512, false)
}

pub(super) fn filebase64sha256(cx: &mut Cx, a: Vec<Value>) -> R {
    file_digest(cx, a, Hash::Sha256, true)
}

pub(super) fn filebase64sha512(cx: &mut Cx, a: Vec<Value>) -> R {
    file_digest(cx, a, Hash::Sha512, true)
}

/// Bound on the entries `fileset` visits, so a pattern run at the root of a
/// huge tree fails instead of taking minutes.
const MAX_FILESET_ENTRIES: usize = 100_000;

/// Files (not folders) under `path` whose path relative to it matches the
/// glob `pattern` (`*`, `**`, `?`, `[...]`, `{a,b}`), sorted.
pub(super) fn fileset(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    let pattern = str_arg(&a, 1)?;
    let matcher = globset::GlobBuilder::new(&pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| FnError::call(format!("invalid pattern {}: {}", cx.quote(&pattern), e.kind())))?
        .compile_matcher();
    let Some(root) = confined(cx, &path)? else { return Ok(Value::List(Vec::new())) };
    if !root.is_dir() {
        return Ok(Value::List(Vec::new()));
    }
    let mut found = Vec::new();
    let mut pending = vec![(root, String::new())];
    let mut visited = 0usize;
    while let Some((dir, prefix)) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| FnError::call(format!("cannot list {}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| FnError::call(format!("cannot list {}: {e}", dir.display())))?;
            visited += 1;
            if visited > MAX_FILESET_ENTRIES {
                return Err(FnError::call(format!(
                    "more than {MAX_FILESET_ENTRIES} entries under {}",
                    cx.quote(&path)
                )));
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            // Symbolic links to folders are not followed (no cycles).
            let kind = entry.file_type().map_err(|e| FnError::call(e.to_string()))?;
            if kind.is_dir() {
                pending.push((entry.path(), rel));
            } else if entry.path().is_file() && matcher.is_match(&rel) {
                found.push(rel);
            }
        }
    }
    found.sort();
    Ok(Value::List(found.into_iter().map(Value::String).collect()))
}

/// Go's `filepath.Clean`, on strings with `/`.
fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

pub(super) fn basename(_: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    let trimmed = path.trim_end_matches('/');
    Ok(Value::String(match (path.is_empty(), trimmed.is_empty()) {
        (true, _) => ".".into(),
        (false, true) => "/".into(),
        _ => trimmed.rsplit('/').next().unwrap_or(trimmed).to_string(),
    }))
}

pub(super) fn dirname(_: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    Ok(Value::String(clean(dir)))
}

pub(super) fn pathexpand(_: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    let rest = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return Ok(Value::String(path)),
    };
    let home = std::env::var("HOME").map_err(|_| FnError::call("cannot expand ~: HOME is not set"))?;
    Ok(Value::String(format!("{}{rest}", home.trim_end_matches('/'))))
}

/// An absolute path, relative paths taken from the current folder, as
/// Terraform's `abspath` does.
pub(super) fn abspath(_: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    if path.starts_with('/') {
        return Ok(Value::String(clean(&path)));
    }
    let cwd = std::env::current_dir().map_err(|e| FnError::call(format!("cannot find the current folder: {e}")))?;
    Ok(Value::String(clean(&format!("{}/{path}", cwd.to_string_lossy()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_go() {
        for (input, want) in
            [("", "."), ("a/b/../c", "a/c"), ("/../a", "/a"), ("../../a", "../../a"), ("a/", "a"), ("/", "/")]
        {
            assert_eq!(clean(input), want, "{input}");
        }
    }
}
