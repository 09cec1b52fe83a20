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
    /// When the holder's process started (clock ticks since boot, from
    /// `/proc/PID/stat`) and which boot that was: with the pid, these tell a
    /// dead holder from a live one that reuses its pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Remote locks only: until when the lock holds without a heartbeat
    /// (RFC 3339). The holder pushes it forward every third of the lock's
    /// lifetime; a lock past it was left by a run that stopped beating (a
    /// crash, a lost machine) and may be taken over. None: no expiry (local
    /// locks, and Terraform's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// How long a remote lock lives without a heartbeat: two minutes, or
/// `GANTRY_LOCK_TTL_SECS` (at least 1).
pub fn remote_lock_ttl() -> std::time::Duration {
    let secs = std::env::var("GANTRY_LOCK_TTL_SECS").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(120);
    std::time::Duration::from_secs(secs.max(1))
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
            start_time: process_start_time(std::process::id()),
            boot_id: boot_id(),
            expires: None,
        }
    }

    /// The same lock, valid for `ttl` from now.
    pub fn expiring_in(mut self, ttl: std::time::Duration) -> LockInfo {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let until = chrono::Utc::now().checked_add_signed(ttl).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        self.expires = Some(until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        self
    }

    /// True when the lock has an expiry and it has passed.
    pub fn is_expired(&self) -> bool {
        self.expires
            .as_deref()
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
            .is_some_and(|e| e < chrono::Utc::now())
    }

    /// True when the holder ran on this host and its process is provably
    /// gone: no process with its pid, or one that started at another time
    /// (the pid was reused), or the machine has rebooted since.
    pub fn holder_is_gone(&self) -> bool {
        if this_host() != self.host {
            return false;
        }
        if self.boot_id.is_some() && boot_id().is_some() && self.boot_id != boot_id() {
            return true;
        }
        match (process_start_time(self.pid), self.start_time) {
            (None, _) => !Path::new(&format!("/proc/{}", self.pid)).exists(),
            (Some(now), Some(then)) => now != then,
            // A lock from a build that did not record start times: the pid
            // alone cannot prove the holder gone.
            (Some(_), None) => false,
        }
    }
}

/// Field 22 of `/proc/PID/stat`: the process's start time in clock ticks
/// after boot. The command name (field 2) may hold spaces and parentheses,
/// so fields are counted after its closing parenthesis.
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

fn parse_start_time(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come field 3 (state) onwards: field 22 is the 20th.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_string())
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
        } else if let Some(expires) = &self.expires {
            write!(f, ". Its holder keeps it alive; without a heartbeat it expires at {expires}")?;
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
        let text = serde_json::to_string_pretty(&info).unwrap_or_default();
        // The lock appears with its content or not at all: written to a file
        // of this process first, then hard-linked into place (which fails if
        // a lock exists). A process killed at any point leaves no empty lock.
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let staged = path.with_file_name(format!(".{name}.{}.new", std::process::id()));
        let staging = (|| {
            let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(&staged)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })();
        staging.map_err(|source| StateError::Write { path: staged.display().to_string(), source })?;
        let result = Self::link_into_place(&staged, path, state_path, &info);
        let _ = std::fs::remove_file(&staged);
        result
    }

    fn link_into_place(staged: &Path, path: &Path, state_path: &Path, info: &LockInfo) -> Result<Lock, StateError> {
        // Once for the lock as found, once more after clearing a stale one.
        for _ in 0..2 {
            match std::fs::hard_link(staged, path) {
                Ok(()) => return Ok(Lock { path: path.to_path_buf(), info: info.clone() }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    match read_lock(path) {
                        Ok(held) if held.holder_is_gone() => {
                            clear_stale(path, Some(&held.id))?;
                            tracing::warn!("taking over the state lock {}: its holder {held} is gone", path.display());
                            eprintln!(
                                "Note: the lock on {} was held by pid {} on this host, which is no longer running; taking it over.",
                                state_path.display(),
                                held.pid
                            );
                            continue;
                        }
                        Ok(held) => return Err(StateError::Locked(Box::new(held))),
                        // Empty or unreadable: left by an older gantry killed
                        // between creating the file and writing it (a writer
                        // takes microseconds, so an old one is stale).
                        Err(StateError::Corrupt { .. }) if modified_before(path, STALE_UNWRITTEN) => {
                            clear_stale(path, None)?;
                            eprintln!(
                                "Note: the lock file {} was empty or unreadable (its writer was killed); taking it over.",
                                path.display()
                            );
                            continue;
                        }
                        Err(StateError::Read { .. }) => continue, // removed meanwhile
                        Err(e) => return Err(e),
                    }
                }
                Err(source) => return Err(StateError::Write { path: path.display().to_string(), source }),
            }
        }
        Err(StateError::Locked(Box::new(read_lock(path)?)))
    }

    /// Removes a lock someone else left, only when `id` matches it.
    pub fn force_unlock(path: &Path, id: &str) -> Result<LockInfo, StateError> {
        let held = match read_lock(path) {
            Ok(info) => info,
            Err(StateError::Read { .. }) => {
                return Err(StateError::NoSuchLock { path: path.display().to_string(), id: id.to_string(), held: None })
            }
            // An empty or corrupt lock names no id to match: whoever asks
            // to clear it may.
            Err(StateError::Corrupt { .. }) => {
                clear_stale(path, None)?;
                let mut info = LockInfo::new("(unreadable lock file)", path);
                info.id = id.to_string();
                return Ok(info);
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

/// How old an empty or unreadable lock file must be to count as abandoned.
const STALE_UNWRITTEN: std::time::Duration = std::time::Duration::from_secs(5);

fn modified_before(path: &Path, age: std::time::Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|elapsed| elapsed >= age)
}

/// Removes a stale lock file. It is first renamed to a name of this
/// process's own (only one of several racing processes can rename it), then
/// checked: if what was moved is not the stale lock (`id`, or unreadable when
/// `None`) but one another process took meanwhile, it is put back.
fn clear_stale(path: &Path, id: Option<&str>) -> Result<(), StateError> {
    let err = |source| StateError::Write { path: path.display().to_string(), source };
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".stale.{}", std::process::id()));
    let aside = PathBuf::from(aside);
    match std::fs::rename(path, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(err(e)),
    }
    let moved = read_lock(&aside).ok();
    let was_stale = match (id, &moved) {
        (Some(id), Some(info)) => info.id == id,
        (None, None) => true,
        _ => false,
    };
    if !was_stale {
        // Someone else's fresh lock: restore it unless a third took the path.
        let _ = std::fs::hard_link(&aside, path);
    }
    std::fs::remove_file(&aside).map_err(err)
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
    fn start_time_is_field_22_even_with_odd_command_names() {
        let stat = "1234 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21";
        assert_eq!(parse_start_time(stat), Some(424242));
        assert!(process_start_time(std::process::id()).is_some());
    }

    #[test]
    fn a_dead_holder_on_this_host_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json.lock");
        let mut dead = LockInfo::new("apply", Path::new("s.json"));
        // This process's pid with another start time: a reused pid.
        dead.start_time = dead.start_time.map(|t| t + 1);
        std::fs::write(&path, serde_json::to_string(&dead).unwrap()).unwrap();
        assert!(dead.holder_is_gone());
        let lock = Lock::acquire(&path, Path::new("s.json"), "plan").unwrap();
        assert_ne!(lock.info.id, dead.id);
        assert_eq!(read_lock(&path).unwrap().id, lock.info.id);
    }

    #[test]
    fn a_live_holder_is_not_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json.lock");
        let live = LockInfo::new("apply", Path::new("s.json"));
        std::fs::write(&path, serde_json::to_string(&live).unwrap()).unwrap();
        assert!(!live.holder_is_gone());
        assert!(matches!(Lock::acquire(&path, Path::new("s.json"), "plan"), Err(StateError::Locked(_))));
    }

    #[test]
    fn an_empty_lock_file_is_cleared_when_old_and_by_force_unlock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json.lock");
        std::fs::write(&path, "").unwrap();
        // Fresh: maybe being written right now.
        assert!(Lock::acquire(&path, Path::new("s.json"), "plan").is_err());
        Lock::force_unlock(&path, "anything").unwrap();
        assert!(!path.exists());
        std::fs::write(&path, "").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        Lock::acquire(&path, Path::new("s.json"), "plan").unwrap();
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
