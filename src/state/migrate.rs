//! Moving an environment's local state to the remote backend `gantry.hcl`
//! now configures for it, and the guard that keeps a remote backend from
//! silently starting empty while the local state has not been moved.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::backend::{Backend, HeldLock};
use super::{LocalBackend, LockInfo, S3Backend, State, StateError};

/// A remote backend that refuses to read as empty while the environment's
/// local state file still exists: planning against "no state" would plan to
/// create everything again, next to what the local state tracks.
pub struct RefuseUnmigrated {
    remote: Box<dyn Backend>,
    local: LocalBackend,
    /// The command that moves the local state, for the message.
    command: String,
}

impl RefuseUnmigrated {
    pub fn new(remote: Box<dyn Backend>, local: LocalBackend, command: String) -> RefuseUnmigrated {
        RefuseUnmigrated { remote, local, command }
    }
}

#[async_trait]
impl Backend for RefuseUnmigrated {
    fn location(&self) -> String {
        self.remote.location()
    }

    async fn read(&self) -> Result<Option<State>, StateError> {
        match self.remote.read().await? {
            None if self.local.path.exists() => Err(StateError::Unmigrated {
                remote: self.remote.location(),
                local: self.local.path.display().to_string(),
                command: self.command.clone(),
            }),
            state => Ok(state),
        }
    }

    async fn write(&self, state: &mut State) -> Result<(), StateError> {
        self.remote.write(state).await
    }

    async fn lock(&self, operation: &str) -> Result<Box<dyn HeldLock>, StateError> {
        self.remote.lock(operation).await
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        self.remote.force_unlock(id).await
    }

    async fn lock_named(&self, name: &str, operation: &str) -> Result<Box<dyn HeldLock>, StateError> {
        self.remote.lock_named(name, operation).await
    }

    async fn force_unlock_named(&self, name: &str, id: &str) -> Result<LockInfo, StateError> {
        self.remote.force_unlock_named(name, id).await
    }

    async fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        self.remote.read_record(name).await
    }

    async fn write_record(&self, name: &str, bytes: &[u8]) -> Result<(), StateError> {
        self.remote.write_record(name, bytes).await
    }
}

/// What a migration did.
#[derive(Debug)]
pub struct Migrated {
    pub lineage: String,
    pub serial: u64,
    pub resources: usize,
    /// Where the state now lives.
    pub location: String,
    /// The local file, renamed.
    pub kept: PathBuf,
    /// The remote held this state already (an earlier migration that did not
    /// get to rename the local file); nothing was written.
    pub already_there: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("there is no local state to migrate: {0} does not exist")]
    NoLocalState(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{remote} already holds a state of another lineage ({remote_lineage}, serial {remote_serial}) than {local} ({local_lineage}, serial {local_serial}): they describe different infrastructure, so nothing was changed. Point the environment's backend at another key, or remove that object if it is garbage")]
    ForeignLineage {
        remote: String,
        local: String,
        remote_lineage: String,
        remote_serial: u64,
        local_lineage: String,
        local_serial: u64,
    },
    #[error("{remote} holds serial {serial} of this lineage with other contents than {local}: the two copies diverged, so nothing was changed. Compare them and keep the right one by hand")]
    Diverged { remote: String, local: String, serial: u64 },
    #[error(
        "the state read back from {remote} is not what was written; {local} was left in place. Run the migration again"
    )]
    NotVerified { remote: String, local: String },
    #[error("the state is now in {remote}, but renaming {from} to {to} failed: {source}. Rename or remove the local file by hand")]
    Rename { remote: String, from: String, to: String, source: std::io::Error },
}

/// Moves the local state to `remote`, keeping lineage and serial, under both
/// locks. The remote copy is read back and compared before the local file is
/// touched; then the local file is renamed to `<env>.json.migrated` (never
/// deleted).
pub async fn migrate(local: &LocalBackend, remote: &S3Backend) -> Result<Migrated, MigrateError> {
    let _local_lock = local.lock("state migrate").await?;
    let _remote_lock = remote.lock("state migrate").await?;
    let local_name = local.path.display().to_string();
    let Some(state) = local.read_sync()? else { return Err(MigrateError::NoLocalState(local_name)) };
    let already_there = match remote.read().await? {
        Some(there) if there.lineage != state.lineage => {
            return Err(MigrateError::ForeignLineage {
                remote: remote.location(),
                local: local_name,
                remote_lineage: there.lineage,
                remote_serial: there.serial,
                local_lineage: state.lineage,
                local_serial: state.serial,
            })
        }
        // Moved before, and applied to since: the local file is an old copy.
        Some(there) if there.serial > state.serial => true,
        Some(there) if there.serial == state.serial => {
            if there != state {
                return Err(MigrateError::Diverged {
                    remote: remote.location(),
                    local: local_name,
                    serial: state.serial,
                });
            }
            true
        }
        // Empty, or an older serial of the same lineage.
        _ => {
            remote.put_verbatim(&state).await?;
            let back = remote.read().await?;
            if back.as_ref() != Some(&state) {
                return Err(MigrateError::NotVerified { remote: remote.location(), local: local_name });
            }
            false
        }
    };
    let kept = free_name(&local.path);
    std::fs::rename(&local.path, &kept).map_err(|source| MigrateError::Rename {
        remote: remote.location(),
        from: local_name,
        to: kept.display().to_string(),
        source,
    })?;
    Ok(Migrated {
        lineage: state.lineage,
        serial: state.serial,
        resources: state.resources.len(),
        location: remote.location(),
        kept,
        already_there,
    })
}

/// `<file>.migrated`, or `<file>.migrated.N` when that exists already.
fn free_name(path: &Path) -> PathBuf {
    let base = format!("{}.migrated", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}.{n}"));
        n += 1;
    }
    candidate
}
