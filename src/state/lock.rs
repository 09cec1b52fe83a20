//! The lock of one environment's state: a file created exclusively next to the
//! state, naming who holds it. A second writer fails fast and is told who.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StateError;

/// Who holds a lock, as shown to the person who could not get it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockInfo {
    #[serde(rename = "ID")]
    pub id: String,
    pub operation: String,
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub created: String,
    pub path: String,
}

impl LockInfo {
    pub fn new(operation: &str, path: &Path) -> LockInfo {
        LockInfo::for_location(operation, &path.display().to_string())
    }

    /// A lock on the state at `location` (a path, or `s3://bucket/key`).
    pub fn for_location(operation: &str, location: &str) -> LockInfo {
        let host = this_host();
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_string(),
            who: format!("{}@{host}", user_name()),
            host,
            pid: std::process::id(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            path: location.to_string(),
        }
    }

    /// True when the holder ran on this host and its process is gone: the lock
    /// was left by a crash (still never removed automatically).
    pub fn holder_is_gone(&self) -> bool {
        this_host() == self.host && !Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// `user@host` of this process, as locks and releases name who ran them.
pub fn who() -> String {
    format!("{}@{}", user_name(), this_host())
}

fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The login name: USER or LOGNAME, else the password database's name for
/// this uid (containers and CI runners often set neither variable).
pub fn user_name() -> String {
    let from_env = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|u| !u.is_empty());
    from_env.or_else(passwd_name).unwrap_or_else(|| "unknown".into())
}

fn passwd_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes only into `pwd` and `buf`, whose sizes it is
    // given, and sets `result` to `&pwd` or null.
    let rc = unsafe { libc::getpwuid_r(libc::getuid(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points at a NUL-terminated string in `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str().ok().map(str::to_string)
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (operation {}, pid {} on {}, since {}; lock ID {})",
            self.who, self.operation, self.pid, self.host, self.created, self.id
        )?;
        if self.holder_is_gone() {
            write!(f, ". That process is no longer running: if it crashed, run `gantry force-unlock {}`", self.id)?;
        }
        Ok(())
    }
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    pub info: LockInfo,
}

impl Lock {
    /// Takes the lock at `path` or fails naming the holder.
    pub fn acquire(path: &Path, state_path: &Path, operation: &str) -> Result<Lock, StateError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|source| StateError::Write { path: dir.display().to_string(), source })?;
        }
        let info = LockInfo::new(operation, state_path);
        let mut file = match OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StateError::Locked(Box::new(read_lock(path)?)));
            }
            Err(source) => return Err(StateError::Write { path: path.display().to_string(), source }),
        };
        let text = serde_json::to_string_pretty(&info).unwrap_or_default();
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|source| StateError::Write { path: path.display().to_string(), source })?;
        Ok(Lock { path: path.to_path_buf(), info })
    }

    /// Removes a lock someone else left, only when `id` matches it.
    pub fn force_unlock(path: &Path, id: &str) -> Result<LockInfo, StateError> {
        let held = match read_lock(path) {
            Ok(info) => info,
            Err(StateError::Read { .. }) => {
                return Err(StateError::NoSuchLock { path: path.display().to_string(), id: id.to_string(), held: None })
            }
            Err(e) => return Err(e),
        };
        if held.id != id {
            return Err(StateError::NoSuchLock {
                path: path.display().to_string(),
                id: id.to_string(),
                held: Some(held.id),
            });
        }
        std::fs::remove_file(path).map_err(|source| StateError::Write { path: path.display().to_string(), source })?;
        Ok(held)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Remove only our own lock: after a force-unlock someone else may hold it.
        if read_lock(&self.path).is_ok_and(|held| held.id == self.info.id) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_lock(path: &Path) -> Result<LockInfo, StateError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| StateError::Read { path: path.display().to_string(), source })?;
    serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
        path: path.display().to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_named_without_user_or_logname() {
        let name = passwd_name().expect("this uid has a passwd entry");
        assert!(!name.is_empty());
    }

    #[test]
    fn second_holder_is_refused_and_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json.lock");
        let first = Lock::acquire(&path, Path::new("s.json"), "apply").unwrap();
        let err = Lock::acquire(&path, Path::new("s.json"), "plan").unwrap_err();
        match err {
            StateError::Locked(info) => {
                assert_eq!(info.id, first.info.id);
                assert_eq!(info.operation, "apply");
            }
            other => panic!("unexpected {other}"),
        }
        drop(first);
        assert!(!path.exists());
    }

    #[test]
    fn force_unlock_needs_the_right_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json.lock");
        let lock = Lock::acquire(&path, Path::new("s.json"), "apply").unwrap();
        assert!(Lock::force_unlock(&path, "wrong").is_err());
        Lock::force_unlock(&path, &lock.info.id).unwrap();
        assert!(!path.exists());
    }
}
