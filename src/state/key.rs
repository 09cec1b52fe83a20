//! The key of the keyed hashes of sensitive values, kept apart from state.
//!
//! Anyone holding a copy of a state file and its key can test guesses of a
//! weak secret offline against the hashes. So the key never travels with the
//! state: for local state it is a 0600 file in a key folder outside the
//! state folder (`~/.config/gantry/keys/<lineage>.key` unless
//! `GANTRY_KEY_DIR` says otherwise); for S3 state it is an SSM SecureString
//! (`/gantry/state-keys/<lineage>`), read with the credentials that read the
//! state and the secrets. One key per lineage: equal secrets in two
//! environments hash differently.
//!
//! State files of format 1 carried the key inline; reading one takes the key
//! from it, and the next write stores the key here and the state without it.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use async_trait::async_trait;

use super::{State, StateError};
use crate::aws::{classify, ProviderError};

/// Where a backend keeps the hash keys of its lineages.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Where the key of `lineage` lives, for messages.
    fn location(&self, lineage: &str) -> String;
    /// The key (hex), `None` when this store has none for `lineage`.
    async fn load(&self, lineage: &str) -> Result<Option<String>, StateError>;
    /// Stores the key of `lineage` unless it is there already; a different
    /// key already stored is an error, never overwritten (the stored one
    /// sealed the hashes of some copy of the state).
    async fn store(&self, lineage: &str, key: &str) -> Result<(), StateError>;
}

/// Gives a state just read its key, unless it came inline (format 1): the
/// stored one, or a new one when the state seals nothing yet. A state that
/// seals values and whose key was not found keeps no key, and commands that
/// compare hashes refuse it ([`State::require_key`]).
pub fn attach(state: &mut State, stored: Option<String>, location: String) {
    if state.key.0.is_some() {
        return;
    }
    match stored {
        Some(key) => state.key.0 = Some(key),
        None if !state.seals_values() => state.key.0 = Some(new_key()),
        None => state.key_missing_at = Some(location),
    }
}

/// The lineages whose key a backend knows to be in its store: the key is
/// stored before the first write of a lineage, once per process.
#[derive(Debug, Default)]
pub struct KnownKeys(std::sync::Mutex<HashSet<String>>);

impl KnownKeys {
    pub fn contains(&self, lineage: &str) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(lineage))
    }
    pub fn insert(&self, lineage: &str) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(lineage.to_string());
        }
    }
}

/// Attaches the key a store answered with (see [`attach`]), remembering
/// that the store holds it. Shared by the async and the local, sync, path.
pub fn attach_loaded(state: &mut State, stored: Option<String>, location: String, known: &KnownKeys) {
    if stored.is_some() {
        known.insert(&state.lineage);
    }
    attach(state, stored, location);
}

/// The key of `state` when its store may not hold it yet: it must be
/// stored before the state is written, so no written state ever depends on
/// a key that was not kept. Once stored, record it with `known.insert`.
pub fn key_to_store<'a>(state: &'a State, known: &KnownKeys) -> Option<&'a str> {
    state.key.0.as_deref().filter(|_| !known.contains(&state.lineage))
}

/// Reads the key of `state` from `store` when it needs one, and attaches it.
pub async fn load_into(state: &mut State, store: &dyn KeyStore, known: &KnownKeys) -> Result<(), StateError> {
    if state.key.0.is_some() {
        return Ok(());
    }
    let stored = store.load(&state.lineage).await?;
    let location = store.location(&state.lineage);
    attach_loaded(state, stored, location, known);
    Ok(())
}

/// Stores the key of `state` in `store` if needed ([`key_to_store`]).
pub async fn persist(state: &State, store: &dyn KeyStore, known: &KnownKeys) -> Result<(), StateError> {
    if let Some(key) = key_to_store(state, known) {
        store.store(&state.lineage, key).await?;
        known.insert(&state.lineage);
    }
    Ok(())
}

/// 32 random bytes, hex.
pub fn new_key() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    hex::encode(key)
}

/// Keys as files `<lineage>.key` (mode 0600) in a folder (mode 0700).
#[derive(Debug, Clone)]
pub struct KeyDir {
    pub dir: PathBuf,
}

impl KeyDir {
    /// `GANTRY_KEY_DIR`, else `$XDG_CONFIG_HOME/gantry/keys`, else
    /// `$HOME/.config/gantry/keys`, else `.gantry-keys` in the current folder.
    pub fn from_env() -> KeyDir {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dir = var("GANTRY_KEY_DIR")
            .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("gantry/keys")))
            .or_else(|| var("HOME").map(|d| d.join(".config/gantry/keys")))
            .unwrap_or_else(|| PathBuf::from(".gantry-keys"));
        KeyDir { dir }
    }

    pub fn path(&self, lineage: &str) -> PathBuf {
        // Lineages are UUIDs; anything else is kept to a safe file name.
        let safe: String =
            lineage.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        self.dir.join(format!("{safe}.key"))
    }

    /// The key of `lineage`, `None` when there is no key file.
    pub fn read(&self, lineage: &str) -> Result<Option<String>, StateError> {
        let path = self.path(lineage);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Read { path: path.display().to_string(), source }),
        }
    }
}

#[async_trait]
impl KeyStore for KeyDir {
    fn location(&self, lineage: &str) -> String {
        self.path(lineage).display().to_string()
    }

    async fn load(&self, lineage: &str) -> Result<Option<String>, StateError> {
        self.read(lineage)
    }

    async fn store(&self, lineage: &str, key: &str) -> Result<(), StateError> {
        self.write(lineage, key)
    }
}

impl KeyDir {
    /// Writes the key file of `lineage` unless it holds `key` already.
    pub fn write(&self, lineage: &str, key: &str) -> Result<(), StateError> {
        let path = self.path(lineage);
        let err = |source| StateError::Write { path: path.display().to_string(), source };
        match self.read(lineage)? {
            Some(stored) if stored == key => return Ok(()),
            Some(_) => return Err(StateError::KeyMismatch { location: self.location(lineage) }),
            None => {}
        }
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir).map_err(err)?;
        // create_new: two writers of one lineage cannot both win; the loser
        // finds the winner's key and compares.
        let tmp = path.with_extension(format!("key.tmp.{}", std::process::id()));
        let written = (|| {
            let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            file.write_all(format!("{key}\n").as_bytes())?;
            file.sync_all()?;
            fs::hard_link(&tmp, &path)
        })();
        let _ = fs::remove_file(&tmp);
        match written {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match self.read(lineage)? {
                Some(stored) if stored == key => Ok(()),
                _ => Err(StateError::KeyMismatch { location: self.location(lineage) }),
            },
            Err(e) => Err(err(e)),
        }
    }
}

/// Keys as SSM SecureStrings `/gantry/state-keys/<lineage>`.
pub struct SsmKeys {
    pub ssm: aws_sdk_ssm::Client,
}

const SSM_PREFIX: &str = "/gantry/state-keys/";

impl SsmKeys {
    fn name(lineage: &str) -> String {
        format!("{SSM_PREFIX}{lineage}")
    }

    fn remote(&self, lineage: &str, source: ProviderError) -> StateError {
        StateError::Remote { location: self.location(lineage), source }
    }
}

#[async_trait]
impl KeyStore for SsmKeys {
    fn location(&self, lineage: &str) -> String {
        format!("SSM parameter {}", SsmKeys::name(lineage))
    }

    async fn load(&self, lineage: &str) -> Result<Option<String>, StateError> {
        let answer = self.ssm.get_parameter().name(SsmKeys::name(lineage)).with_decryption(true).send().await;
        match answer {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => Ok(None),
            Err(e) => Err(self.remote(lineage, classify("ssm:GetParameter", e))),
        }
    }

    async fn store(&self, lineage: &str, key: &str) -> Result<(), StateError> {
        let answer = self
            .ssm
            .put_parameter()
            .name(SsmKeys::name(lineage))
            .value(key)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .description("gantry: key of the hashes of sensitive values in this lineage's state")
            .overwrite(false)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            // Stored before (or by a retried request whose answer was lost):
            // fine when it is the same key.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_already_exists()) => {
                match self.load(lineage).await? {
                    Some(stored) if stored == key => Ok(()),
                    _ => Err(StateError::KeyMismatch { location: self.location(lineage) }),
                }
            }
            Err(e) => Err(self.remote(lineage, classify("ssm:PutParameter", e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn key_files_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir { dir: dir.path().join("keys") };
        assert_eq!(keys.load("l").await.unwrap(), None);
        keys.store("l", "00ff").await.unwrap();
        keys.store("l", "00ff").await.unwrap();
        assert_eq!(keys.load("l").await.unwrap().as_deref(), Some("00ff"));
        assert!(matches!(keys.store("l", "11ff").await, Err(StateError::KeyMismatch { .. })));
        let mode = fs::metadata(keys.path("l")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = fs::metadata(&keys.dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(fs::read_dir(&keys.dir).unwrap().count(), 1, "no temporary file left");
    }

    #[tokio::test]
    async fn a_state_sealing_values_without_its_key_is_marked_not_rekeyed() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir { dir: dir.path().to_path_buf() };
        let mut state = super::super::parse("s.json", &State::new().to_json()).unwrap();
        state.outputs.insert(
            "o".into(),
            super::super::OutputState { value: serde_json::Value::Null, sensitive: true, hash: Some("h".into()) },
        );
        load_into(&mut state, &keys, &KnownKeys::default()).await.unwrap();
        assert!(state.key.0.is_none());
        assert!(matches!(state.require_key(), Err(StateError::KeyMissing { .. })));

        // A state that seals nothing just gets a new key.
        let mut empty = super::super::parse("s.json", &State::new().to_json()).unwrap();
        load_into(&mut empty, &keys, &KnownKeys::default()).await.unwrap();
        assert!(empty.key.0.is_some());
        empty.require_key().unwrap();
    }
}
