//! Local state files: `<state dir>/<stack>/<env>.json`, mode 0600, written
//! atomically (temporary file, fsync, rename) with the previous version kept
//! as `<env>.json.backup`. Their hash keys live in a key folder elsewhere
//! (see [`super::key`]).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::backend::{Backend, HeldLock};
use super::key::{self, KeyDir, KnownKeys};
use super::{parse, Lock, LockInfo, State, StateError};

#[derive(Debug, Clone)]
pub struct LocalBackend {
    pub path: PathBuf,
    /// Where the hash keys are kept.
    pub keys: KeyDir,
    known: Arc<KnownKeys>,
}

impl LocalBackend {
    /// The state of `stack`/`env` under `state_dir`, its key in the key
    /// folder the environment names ([`KeyDir::from_env`]).
    pub fn new(state_dir: &Path, stack: &str, env: &str) -> LocalBackend {
        LocalBackend::with_keys(state_dir, stack, env, KeyDir::from_env())
    }

    pub fn with_keys(state_dir: &Path, stack: &str, env: &str, keys: KeyDir) -> LocalBackend {
        LocalBackend { path: state_dir.join(stack).join(format!("{env}.json")), keys, known: Arc::default() }
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

    /// Reads the state with its key, `None` when the environment has none
    /// yet.
    pub fn read_sync(&self) -> Result<Option<State>, StateError> {
        let Some(mut state) = self.read_document()? else { return Ok(None) };
        if state.key.0.is_none() {
            let stored = self.keys.read(&state.lineage)?;
            let location = self.keys.path(&state.lineage).display().to_string();
            key::attach_loaded(&mut state, stored, location, &self.known);
        }
        Ok(Some(state))
    }

    /// The state document alone.
    fn read_document(&self) -> Result<Option<State>, StateError> {
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
        if let Some(on_disk) = self.read_document()? {
            if on_disk.lineage != state.lineage || on_disk.serial != state.serial {
                return Err(StateError::Conflict {
                    path: self.display(),
                    lineage: state.lineage.clone(),
                    expected: state.serial,
                    found: on_disk.serial,
                });
            }
        }
        let before = state.serial;
        state.serial = next_serial(&self.display(), before)?;
        // The key first: a state on disk never depends on a key not kept.
        if let Some(key) = key::key_to_store(state, &self.known) {
            if let Err(e) = self.keys.write(&state.lineage, key) {
                state.serial = before;
                return Err(e);
            }
            self.known.insert(&state.lineage);
        }
        let result = self.write_atomically(&state.to_json());
        if result.is_err() {
            state.serial = before;
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
    remove_abandoned_temporaries(path);
    let tmp = with_suffix(path, &format!(".tmp.{}", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        if let Some(backup) = backup.filter(|_| path.exists()) {
            replace_backup(path, backup)?;
        }
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    // The rename is durable only once the directory entry is.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The serial after `serial`: a state at the largest serial cannot be
/// written again, which is an error, not an overflow.
pub fn next_serial(path: &str, serial: u64) -> Result<u64, StateError> {
    serial.checked_add(1).ok_or_else(|| StateError::SerialExhausted { path: path.to_string(), serial })
}

/// Makes `backup` a copy of the current `path`, atomically: a hard link to
/// the current file under a temporary name, renamed over the backup (the
/// link shares the inode that the coming rename unlinks from `path`, so the
/// backup is the previous version, complete). Where hard links are refused,
/// a copy to the temporary name, synced, then the same rename.
fn replace_backup(path: &Path, backup: &Path) -> std::io::Result<()> {
    let tmp = with_suffix(backup, &format!(".tmp.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    if fs::hard_link(path, &tmp).is_err() {
        fs::copy(path, &tmp)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
        fs::File::open(&tmp)?.sync_all()?;
    }
    let renamed = fs::rename(&tmp, backup);
    if renamed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    renamed
}

/// Removes `<file>.tmp.<pid>` and `<file>.backup.tmp.<pid>` files whose
/// process is gone (killed mid-write); a live writer's are left alone.
fn remove_abandoned_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return };
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let Some(rest) = file.strip_prefix(name) else { continue };
        let pid = rest.strip_prefix(".tmp.").or_else(|| rest.strip_prefix(".backup.tmp."));
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
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

    /// A backend whose keys stay in the test's folder.
    fn backend_in(dir: &Path) -> LocalBackend {
        LocalBackend::with_keys(dir, "stack", "dev", KeyDir { dir: dir.join("keys") })
    }

    #[test]
    fn the_key_is_kept_apart_and_a_format_1_state_is_upgraded_on_write() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(dir.path());
        // A format-1 file: its key inline.
        let v1 = r#"{"version": 1, "lineage": "l-1", "serial": 4, "gantry_version": "0.1.0",
            "hash_key": "00112233", "resources": [], "outputs": {"o": {"value": null, "sensitive": true, "hash": "h"}}}"#;
        fs::create_dir_all(backend.path.parent().unwrap()).unwrap();
        fs::write(&backend.path, v1).unwrap();
        let mut state = backend.read_sync().unwrap().unwrap();
        assert_eq!(state.version, crate::state::STATE_VERSION);
        let hash = state.hasher().hash(&serde_json::json!("canary"));
        assert_eq!(hash, crate::state::SecretHasher::new("00112233").hash(&serde_json::json!("canary")));
        backend.write_sync(&mut state).unwrap();
        let text = fs::read_to_string(&backend.path).unwrap();
        assert!(!text.contains("00112233") && !text.contains("hash_key"), "{text}");
        assert!(text.contains("\"version\": 2"), "{text}");
        assert_eq!(backend.keys.read("l-1").unwrap().as_deref(), Some("00112233"));
        // Read back: the same key, from the key folder.
        let again = backend.read_sync().unwrap().unwrap();
        assert_eq!(again.hasher().hash(&serde_json::json!("canary")), hash);

        // Without its key, a state that seals values is refused by the
        // commands that compare hashes, and names where the key belongs.
        fs::remove_file(backend.keys.path("l-1")).unwrap();
        let keyless = backend.read_sync().unwrap().unwrap();
        let err = keyless.require_key().unwrap_err();
        assert!(matches!(err, StateError::KeyMissing { .. }), "{err}");
        assert!(err.to_string().contains(&backend.keys.path("l-1").display().to_string()), "{err}");
    }

    #[tokio::test]
    async fn keeps_the_backend_contract() {
        let dir = tempfile::tempdir().unwrap();
        super::super::backend::conformance(&backend_in(dir.path())).await;
    }

    #[test]
    fn writes_atomically_with_backup_and_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(dir.path());
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
    fn the_largest_serial_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(dir.path());
        let mut state = State::new();
        state.serial = u64::MAX;
        fs::create_dir_all(backend.path.parent().unwrap()).unwrap();
        fs::write(&backend.path, state.to_json()).unwrap();
        let err = backend.write_sync(&mut state).unwrap_err();
        assert!(matches!(err, StateError::SerialExhausted { .. }), "{err}");
        assert_eq!(state.serial, u64::MAX);
        assert!(err.to_string().contains("18446744073709551615"), "{err}");
    }

    #[test]
    fn temporaries_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(dir.path());
        let mut state = State::new();
        backend.write_sync(&mut state).unwrap();
        // A pid that cannot be running (above the kernel's maximum).
        let dead = with_suffix(&backend.path, ".tmp.4194305");
        let live = with_suffix(&backend.path, &format!(".tmp.{}", std::process::id()));
        fs::write(&dead, "half").unwrap();
        backend.write_sync(&mut state).unwrap();
        assert!(!dead.exists());
        assert!(!live.exists(), "the writer's own temporary is renamed into place");
        let left: Vec<_> =
            fs::read_dir(backend.path.parent().unwrap()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 2, "only the state and its backup: {left:?}");
    }

    #[test]
    fn the_backup_is_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(dir.path());
        let mut state = State::new();
        backend.write_sync(&mut state).unwrap();
        backend.write_sync(&mut state).unwrap();
        let backup: State = serde_json::from_str(&fs::read_to_string(backend.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.serial, 1);
        let mode = fs::metadata(backend.backup_path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn refuses_to_overwrite_a_newer_serial() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(dir.path());
        let mut a = State::new();
        backend.write_sync(&mut a).unwrap();
        let mut b = backend.read_sync().unwrap().unwrap();
        backend.write_sync(&mut b).unwrap();
        assert!(matches!(backend.write_sync(&mut a), Err(StateError::Conflict { .. })));
    }

    #[test]
    fn corrupt_file_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(dir.path());
        fs::create_dir_all(backend.path.parent().unwrap()).unwrap();
        fs::write(&backend.path, "{ not json").unwrap();
        assert!(matches!(backend.read_sync(), Err(StateError::Corrupt { .. })));
        assert_eq!(fs::read_to_string(&backend.path).unwrap(), "{ not json");
    }
}
