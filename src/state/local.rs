//! Local state files: `<state dir>/<stack>/<env>.json`, mode 0600, written
//! atomically (temporary file, fsync, rename) with the previous version kept
//! as `<env>.json.backup`.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::backend::{Backend, HeldLock};
use super::{parse, Lock, LockInfo, State, StateError};

#[derive(Debug, Clone)]
pub struct LocalBackend {
    pub path: PathBuf,
}

impl LocalBackend {
    pub fn new(state_dir: &Path, stack: &str, env: &str) -> LocalBackend {
        LocalBackend { path: state_dir.join(stack).join(format!("{env}.json")) }
    }

    pub fn lock_path(&self) -> PathBuf {
        with_suffix(&self.path, ".lock")
    }

    /// `<env>.NAME.json` beside `<env>.json`.
    pub fn record_path(&self, name: &str) -> PathBuf {
        self.path.with_extension(format!("{name}.json"))
    }

    /// `<env>.NAME.lock` beside `<env>.lock`.
    pub fn named_lock_path(&self, name: &str) -> PathBuf {
        self.path.with_extension(format!("{name}.lock"))
    }

    pub fn backup_path(&self) -> PathBuf {
        with_suffix(&self.path, ".backup")
    }

    /// Reads the state, `None` when the environment has none yet.
    pub fn read_sync(&self) -> Result<Option<State>, StateError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Read { path: self.display(), source }),
        };
        parse(&self.display(), &text).map(Some)
    }

    /// Writes `state` with its serial incremented, refusing when the file on
    /// disk is not the version `state` was read from.
    pub fn write_sync(&self, state: &mut State) -> Result<(), StateError> {
        if let Some(on_disk) = self.read_sync()? {
            if on_disk.lineage != state.lineage || on_disk.serial != state.serial {
                return Err(StateError::Conflict {
                    path: self.display(),
                    lineage: state.lineage.clone(),
                    expected: state.serial,
                    found: on_disk.serial,
                });
            }
        }
        state.serial += 1;
        let result = self.write_atomically(&state.to_json());
        if result.is_err() {
            state.serial -= 1;
        }
        result
    }

    fn write_atomically(&self, text: &str) -> Result<(), StateError> {
        write_file_atomically(&self.path, text.as_bytes(), Some(&self.backup_path()))
    }
    fn display(&self) -> String {
        self.path.display().to_string()
    }
}

// Local files are small and on local disk: plain blocking I/O is fine here.
#[async_trait]
impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.display()
    }

    async fn read(&self) -> Result<Option<State>, StateError> {
        self.read_sync()
    }

    async fn write(&self, state: &mut State) -> Result<(), StateError> {
        self.write_sync(state)
    }

    async fn lock(&self, operation: &str) -> Result<Box<dyn HeldLock>, StateError> {
        Ok(Box::new(Lock::acquire(&self.lock_path(), &self.path, operation)?))
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        Lock::force_unlock(&self.lock_path(), id)
    }

    async fn lock_named(&self, name: &str, operation: &str) -> Result<Box<dyn HeldLock>, StateError> {
        Ok(Box::new(Lock::acquire(&self.named_lock_path(name), &self.path, operation)?))
    }

    async fn force_unlock_named(&self, name: &str, id: &str) -> Result<LockInfo, StateError> {
        Lock::force_unlock(&self.named_lock_path(name), id)
    }

    async fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.record_path(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Read { path: path.display().to_string(), source }),
        }
    }

    async fn write_record(&self, name: &str, bytes: &[u8]) -> Result<(), StateError> {
        write_file_atomically(&self.record_path(name), bytes, None)
    }
}

/// Temporary file, fsync, rename (keeping the previous version as `backup`
/// when asked), mode 0600: a reader sees the old file or the new, never half.
fn write_file_atomically(path: &Path, bytes: &[u8], backup: Option<&Path>) -> Result<(), StateError> {
    let err = |source| StateError::Write { path: path.display().to_string(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(err)?;
    let tmp = with_suffix(path, &format!(".tmp.{}", std::process::id()));
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(err)?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(err)?;
    drop(file);
    if let Some(backup) = backup.filter(|_| path.exists()) {
        fs::copy(path, backup).map_err(err)?;
        fs::set_permissions(backup, fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    fs::rename(&tmp, path).map_err(err)?;
    // The rename is durable only once the directory entry is.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl HeldLock for Lock {
    fn info(&self) -> &LockInfo {
        &self.info
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_backend_contract() {
        let dir = tempfile::tempdir().unwrap();
        super::super::backend::conformance(&LocalBackend::new(dir.path(), "stack", "dev")).await;
    }

    #[test]
    fn writes_atomically_with_backup_and_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path(), "stack", "dev");
        assert!(backend.read_sync().unwrap().is_none());
        let mut state = State::new();
        backend.write_sync(&mut state).unwrap();
        assert_eq!(state.serial, 1);
        backend.write_sync(&mut state).unwrap();
        let mode = fs::metadata(&backend.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(backend.backup_path().exists());
        assert_eq!(backend.read_sync().unwrap().unwrap().serial, 2);
    }

    #[test]
    fn refuses_to_overwrite_a_newer_serial() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path(), "stack", "dev");
        let mut a = State::new();
        backend.write_sync(&mut a).unwrap();
        let mut b = backend.read_sync().unwrap().unwrap();
        backend.write_sync(&mut b).unwrap();
        assert!(matches!(backend.write_sync(&mut a), Err(StateError::Conflict { .. })));
    }

    #[test]
    fn corrupt_file_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path(), "stack", "dev");
        fs::create_dir_all(backend.path.parent().unwrap()).unwrap();
        fs::write(&backend.path, "{ not json").unwrap();
        assert!(matches!(backend.read_sync(), Err(StateError::Corrupt { .. })));
        assert_eq!(fs::read_to_string(&backend.path).unwrap(), "{ not json");
    }
}
