//! Where an environment's state lives. Every backend offers the same small
//! contract, checked by one conformance test that each backend runs:
//! read, write (refusing a foreign write: lineage or serial moved), and an
//! exclusive lock that names its holder.

use async_trait::async_trait;

use super::{LockInfo, State, StateError};

#[async_trait]
pub trait Backend: Send + Sync {
    /// Where the state lives, for messages: a path, or `s3://bucket/key`.
    fn location(&self) -> String;

    /// The state, `None` when the environment has none yet.
    async fn read(&self) -> Result<Option<State>, StateError>;

    /// Stores `state` with its serial incremented. Refuses when the stored
    /// state is not the version `state` was read from.
    async fn write(&self, state: &mut State) -> Result<(), StateError>;

    /// Takes the environment's lock or fails at once naming the holder. The
    /// lock is released when the returned guard is dropped.
    async fn lock(&self, operation: &str) -> Result<Box<dyn HeldLock>, StateError>;

    /// Removes a lock a crashed run left, when `id` is the lock's id.
    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError>;

    /// Takes another of the environment's locks, kept beside the state lock
    /// and independent of it: `name` is "deploy" for the deploy lock, so
    /// deploys exclude each other without blocking plans and applies.
    async fn lock_named(&self, name: &str, operation: &str) -> Result<Box<dyn HeldLock>, StateError>;

    /// Removes one of the named locks a crashed run left, when `id` is its id.
    async fn force_unlock_named(&self, name: &str, id: &str) -> Result<LockInfo, StateError>;

    /// Another record of the environment, stored beside its state (the
    /// release history is "releases"); `None` when there is none yet.
    async fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, StateError>;

    /// Replaces a record beside the state. Callers serialize writers with a
    /// lock (the deploy lock guards the release history).
    async fn write_record(&self, name: &str, bytes: &[u8]) -> Result<(), StateError>;
}

/// A lock held; dropping it releases the lock.
pub trait HeldLock: Send + Sync {
    fn info(&self) -> &LockInfo;
}

/// The contract every backend must keep; each backend's tests run it (the
/// local backend's unit tests, the S3 backend's integration tests against the
/// emulator). It panics on the first broken promise. Public only so the
/// integration tests can call it; `backend` must hold no state and no lock.
#[doc(hidden)]
pub async fn conformance(backend: &dyn Backend) {
    // Empty to start with.
    assert!(backend.read().await.unwrap().is_none(), "a new backend holds no state");

    // Writes bump the serial and read back.
    let mut state = State::new();
    backend.write(&mut state).await.unwrap();
    assert_eq!(state.serial, 1);
    let read = backend.read().await.unwrap().unwrap();
    assert_eq!(read, state);

    // A writer holding an older serial is refused.
    let mut stale = read.clone();
    backend.write(&mut state).await.unwrap();
    assert!(matches!(backend.write(&mut stale).await, Err(StateError::Conflict { .. })));

    // A writer of another lineage is refused.
    let mut foreign = State::new();
    foreign.serial = state.serial;
    assert!(matches!(backend.write(&mut foreign).await, Err(StateError::Conflict { .. })));

    // One lock at a time, and the refusal names the holder.
    let held = backend.lock("apply").await.unwrap();
    match backend.lock("plan").await {
        Err(StateError::Locked(info)) => {
            assert_eq!(info.id, held.info().id);
            assert_eq!(info.operation, "apply");
        }
        other => panic!("second lock: {:?}", other.map(|l| l.info().clone())),
    }
    let id = held.info().id.clone();
    drop(held);
    let again = backend.lock("apply").await.unwrap();

    // force-unlock needs the right id.
    assert!(backend.force_unlock("not-the-id").await.is_err());
    let cleared = backend.force_unlock(&again.info().id).await.unwrap();
    assert_ne!(cleared.id, id);
    backend.lock("apply").await.unwrap();

    // Named locks are separate from the state lock and from each other.
    let deploy = backend.lock_named("deploy", "deploy").await.unwrap();
    match backend.lock_named("deploy", "rollback").await {
        Err(StateError::Locked(info)) => assert_eq!(info.id, deploy.info().id),
        other => panic!("second deploy lock: {:?}", other.map(|l| l.info().clone())),
    }
    let deploy_id = deploy.info().id.clone();
    assert!(backend.force_unlock("deploy-lock-id-is-not-the-state-lock").await.is_err());
    assert!(backend.force_unlock_named("deploy", "not-the-id").await.is_err());
    drop(deploy);
    let again = backend.lock_named("deploy", "deploy").await.unwrap();
    assert!(backend.force_unlock_named("deploy", &deploy_id).await.is_err(), "a released lock's id is stale");
    backend.force_unlock_named("deploy", &again.info().id).await.unwrap();
    backend.lock_named("deploy", "deploy").await.unwrap();

    // Records read back, and do not touch the state.
    assert!(backend.read_record("releases").await.unwrap().is_none());
    backend.write_record("releases", b"{\"releases\":[]}").await.unwrap();
    backend.write_record("releases", b"{\"releases\":[1]}").await.unwrap();
    assert_eq!(backend.read_record("releases").await.unwrap().unwrap(), b"{\"releases\":[1]}");
    assert_eq!(backend.read().await.unwrap().unwrap().serial, state.serial);
}
