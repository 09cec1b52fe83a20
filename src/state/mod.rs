//! State: what gantry created, as a versioned JSON document. It never holds a
//! secret: sensitive attributes are kept as keyed hashes, enough to notice a
//! change, useless to recover the value.

pub mod backend;
mod hash;
pub mod key;
pub mod local;
mod lock;
pub mod migrate;
pub mod s3;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::addr::{InstanceAddr, ResourceAddr};
use crate::resources::Attrs;

pub use backend::{Backend, HeldLock};
pub use hash::SecretHasher;
pub use key::{KeyDir, KeyStore, SsmKeys};
pub use local::LocalBackend;
pub use lock::{who, Lock, LockInfo};
pub use migrate::RefuseUnmigrated;
pub use s3::S3Backend;

/// The state format this build writes. It reads every older one and
/// upgrades it in memory (the next write stores the new format):
/// - 1 → 2: the hash key leaves the file for a key store (see [`key`]);
///   `origin`, `deposed`, and the `name_was_free` and `sensitive` fields of
///   pending creates are new (absent means none).
pub const STATE_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub version: u32,
    /// Identifies one environment's history; a saved plan or a writer holding
    /// another lineage is refused.
    pub lineage: String,
    /// Incremented on every write.
    pub serial: u64,
    pub gantry_version: String,
    /// The key of the hashes of sensitive values: never written with the
    /// state (the backend's key store keeps it), attached when read.
    #[serde(skip)]
    pub key: StateKey,
    /// Where the key should have been, when a state that seals values was
    /// read and its key was not found.
    #[serde(skip)]
    pub key_missing_at: Option<String>,
    /// Format 1 kept the key inline: read (to upgrade), never written.
    #[serde(default, rename = "hash_key", skip_serializing)]
    legacy_hash_key: Option<String>,
    /// Where this state came from when it was imported from another tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    #[serde(default)]
    pub resources: Vec<ResourceState>,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
    /// Creates that were started and not yet recorded: after a crash, the next
    /// plan looks these up and adopts what they made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingCreate>,
    /// Objects that no longer belong at their address but still exist: the
    /// old object of a `create_before_destroy` replace whose delete failed or
    /// was interrupted, or the new object an interrupted replace made. The
    /// next apply deletes them; until then they are not forgotten.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<ResourceState>,
}

/// The hash key, hex. Not part of the document, so not part of equality:
/// a state read back equals the state written whatever the key store did.
#[derive(Clone, Default)]
pub struct StateKey(pub(crate) Option<String>);

impl PartialEq for StateKey {
    fn eq(&self, _: &StateKey) -> bool {
        true
    }
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "StateKey(..)" } else { "StateKey(none)" })
    }
}

/// The state another tool kept, that this one was imported from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Origin {
    /// "terraform" (OpenTofu writes the same format).
    pub tool: String,
    /// Where it was read: a path or `s3://bucket/key`.
    pub source: String,
    pub lineage: String,
    pub serial: u64,
    /// The version of the tool that wrote it, as the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// When gantry imported it (RFC 3339).
    pub imported_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceState {
    pub address: InstanceAddr,
    #[serde(rename = "type")]
    pub rtype: String,
    pub id: String,
    /// Attributes, with sensitive ones set to null.
    pub attributes: Attrs,
    /// Keyed hashes of the sensitive attributes, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sensitive_attributes: BTreeMap<String, String>,
    /// What this resource referenced when it was last applied: destroy walks
    /// these in reverse.
    #[serde(default)]
    pub dependencies: Vec<ResourceAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputState {
    /// Null for sensitive outputs: their values are not stored.
    pub value: serde_json::Value,
    #[serde(default)]
    pub sensitive: bool,
    /// Keyed hash of a sensitive output's value, to tell whether it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PendingCreate {
    pub address: InstanceAddr,
    #[serde(rename = "type")]
    pub rtype: String,
    /// The id the resource will have (its name), when known before the call.
    pub id: Option<String>,
    pub operation_id: String,
    pub started_at: String,
    /// For types whose create cannot tag the object: whether the name was
    /// free just before the create. `Some(true)` proves that what holds the
    /// name afterwards was made by this create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_was_free: Option<bool>,
    /// Names of the attributes the create held sensitive values in, so that
    /// adopting the object after a crash seals them in state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<String>,
}

impl State {
    pub fn new() -> State {
        State {
            version: STATE_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            gantry_version: env!("CARGO_PKG_VERSION").to_string(),
            key: StateKey(Some(key::new_key())),
            key_missing_at: None,
            legacy_hash_key: None,
            origin: None,
            resources: Vec::new(),
            outputs: BTreeMap::new(),
            pending: Vec::new(),
            deposed: Vec::new(),
        }
    }

    pub fn get(&self, addr: &InstanceAddr) -> Option<&ResourceState> {
        self.resources.iter().find(|r| &r.address == addr)
    }

    /// Inserts or replaces a resource, keeping the list sorted by address.
    pub fn upsert(&mut self, resource: ResourceState) {
        match self.resources.binary_search_by(|r| r.address.cmp(&resource.address)) {
            Ok(i) => self.resources[i] = resource,
            Err(i) => self.resources.insert(i, resource),
        }
    }

    pub fn remove(&mut self, addr: &InstanceAddr) -> Option<ResourceState> {
        let i = self.resources.iter().position(|r| &r.address == addr)?;
        Some(self.resources.remove(i))
    }

    /// The hasher of this state's sensitive values. Without a key (see
    /// [`State::require_key`], which commands that compare hashes call
    /// first) a throwaway key: every sealed value then reads as changed,
    /// never as unchanged.
    pub fn hasher(&self) -> SecretHasher {
        match &self.key.0 {
            Some(key) => SecretHasher::new(key),
            None => SecretHasher::new(&key::new_key()),
        }
    }

    /// Refuses a state that seals values but whose key was not found.
    pub fn require_key(&self) -> Result<(), StateError> {
        match (&self.key.0, &self.key_missing_at) {
            (None, Some(location)) => {
                Err(StateError::KeyMissing { lineage: self.lineage.clone(), location: location.clone() })
            }
            _ => Ok(()),
        }
    }

    /// Whether any hash of a sensitive value is kept (and so the key matters).
    pub fn seals_values(&self) -> bool {
        self.resources.iter().chain(&self.deposed).any(|r| !r.sensitive_attributes.is_empty())
            || self.outputs.values().any(|o| o.hash.is_some())
    }

    /// Serialized form: pretty JSON with a trailing newline (diffable).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

/// Why state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write state file {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error(
        "state file {path} is not valid gantry state (line {line}, column {column}: {message}); it was left untouched"
    )]
    Corrupt { path: String, line: usize, column: usize, message: String },
    #[error("state file {path} has format version {found}, newer than this gantry understands ({STATE_VERSION}); upgrade gantry. The file was left untouched")]
    Newer { path: String, found: u32 },
    #[error("the state of lineage {lineage} keeps hashes of sensitive values, but their key is not at {location}. The key is kept apart from the state so that a copy of the state cannot be used to guess secrets: copy it there from the machine that wrote this state (or set GANTRY_KEY_DIR to the folder that holds it)")]
    KeyMissing { lineage: String, location: String },
    #[error("a different hash key is already stored at {location}; it was left untouched. Two states of one lineage with different keys: keep the state that goes with the stored key")]
    KeyMismatch { location: String },
    #[error("state is locked by {0}")]
    Locked(Box<LockInfo>),
    #[error("state file {path} was changed by someone else since it was read (expected lineage {lineage} serial {expected}, found serial {found}); re-run the command")]
    Conflict { path: String, lineage: String, expected: u64, found: u64 },
    #[error("state file {path} is at serial {serial}, the largest there is; it cannot be written again. Move its resources to a new state (gantry state list / import) and start a new lineage")]
    SerialExhausted { path: String, serial: u64 },
    #[error("no lock with id {id} is held on {path}{}", held.as_ref().map(|h| format!(" (the lock held has id {h})")).unwrap_or_default())]
    NoSuchLock { path: String, id: String, held: Option<String> },
    /// A call to the remote backend failed.
    #[error("state at {location}: {source}")]
    Remote { location: String, source: crate::aws::ProviderError },
    /// The environment is configured for a remote backend that holds nothing
    /// yet, while its local state file still exists.
    #[error("{remote} holds no state yet, but the local state file {local} does; gantry will not start this environment from an empty state. Move the local state there first: {command}")]
    Unmigrated { remote: String, local: String, command: String },
}

/// Parses a state document, refusing newer formats.
pub fn parse(path: &str, text: &str) -> Result<State, StateError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    let corrupt = |e: serde_json::Error| StateError::Corrupt {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let v: VersionOnly = serde_json::from_str(text).map_err(corrupt)?;
    if v.version > STATE_VERSION {
        return Err(StateError::Newer { path: path.to_string(), found: v.version });
    }
    let mut state: State = serde_json::from_str(text).map_err(corrupt)?;
    // Upgrade on read: format 1 differs only by its inline key.
    if let Some(key) = state.legacy_hash_key.take() {
        state.key = StateKey(Some(key));
    }
    state.version = STATE_VERSION;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips() {
        let mut state = State::new();
        state.upsert(ResourceState {
            address: "aws_s3_bucket.b".parse().unwrap(),
            rtype: "aws_s3_bucket".into(),
            id: "b".into(),
            attributes: Attrs::new(),
            sensitive_attributes: BTreeMap::new(),
            dependencies: vec![],
        });
        let parsed = parse("s.json", &state.to_json()).unwrap();
        assert_eq!(parsed, state);
    }

    #[test]
    fn refuses_newer_versions() {
        let err = parse("s.json", r#"{"version": 99}"#).unwrap_err();
        assert!(matches!(err, StateError::Newer { found: 99, .. }));
    }

    #[test]
    fn corrupt_state_names_line() {
        let err = parse("s.json", "{\n  \"version\": 1,\n  oops\n}").unwrap_err();
        assert!(matches!(err, StateError::Corrupt { line: 3, .. }), "{err}");
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in ".{0,200}") {
            let _ = parse("s.json", &text);
        }

        #[test]
        fn parse_never_panics_on_json_like(text in r#"\{"version": ?[0-9]{1,3}(, "lineage": "[a-z]*")?(, "serial": -?[0-9]{1,20})?\}"#) {
            let _ = parse("s.json", &text);
        }
    }
}
