//! Remote state in S3: the state document (the same JSON as a local file) is
//! one object, `s3://bucket/key`.
//!
//! - **Foreign writes.** Every write is conditional on the object read or
//!   written last: `If-Match: <ETag>`, or `If-None-Match: *` when there was
//!   none. A write made by anyone else in between fails the condition
//!   (`PreconditionFailed`) and is reported as a conflict, so two operators
//!   can never overwrite each other, even without a lock. On top of that,
//!   lineage and serial are checked as for local files.
//! - **Previous versions.** Bucket versioning keeps them (`gantry bootstrap`
//!   enables it); encryption is the bucket's default (bootstrap sets it).
//! - **The lock.** With a lock table: a DynamoDB item `{LockID: "<bucket>/<key>",
//!   Info: <JSON LockInfo>}` put on condition `attribute_not_exists(LockID)`
//!   (the layout Terraform's S3 backend uses). Without one: the object
//!   `<key>.lock`, written with `If-None-Match: *`. Either way a second
//!   holder fails at once and is told who holds the lock.
//!
//! - **The hash key** of the state's sensitive values is an SSM SecureString
//!   (see [`super::key`]), stored before the first write of a lineage.
//!
//! Throttling and 5xx answers are retried by the SDK (see `AwsCtx::load`).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::Mutex;

use super::backend::{Backend, HeldLock};
use super::key::{self, KnownKeys, SsmKeys};
use super::{parse, LockInfo, State, StateError};
use crate::aws::{classify, AwsCtx, ProviderError};

/// The hash key of the lock table (Terraform's name for it).
pub const LOCK_ID: &str = "LockID";
const LOCK_INFO: &str = "Info";

/// How many times taking a lock is tried when the holder let go of it
/// between our attempt and our look at who held it.
const LOCK_ATTEMPTS: usize = 3;

/// State kept in an S3 object, locked by DynamoDB or a lock object.
pub struct S3Backend {
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    bucket: String,
    key: String,
    lock_table: Option<String>,
    /// The version of the object this backend read or wrote last: the
    /// condition of the next write.
    seen: Mutex<Seen>,
    keys: SsmKeys,
    known: KnownKeys,
}

#[derive(Debug, Clone)]
enum Seen {
    /// Not read yet.
    Unknown,
    /// The object did not exist.
    Absent,
    Present {
        lineage: String,
        serial: u64,
        etag: String,
    },
}

impl S3Backend {
    /// The backend for `s3://bucket/key`, with the clients of `aws` (its
    /// region, retries and path-style addressing when an endpoint is set).
    pub fn new(aws: &AwsCtx, bucket: &str, key: &str, lock_table: Option<&str>) -> S3Backend {
        S3Backend::with_clients(aws.s3.clone(), aws.dynamodb.clone(), aws.ssm.clone(), bucket, key, lock_table)
    }

    pub fn with_clients(
        s3: aws_sdk_s3::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        ssm: aws_sdk_ssm::Client,
        bucket: &str,
        key: &str,
        lock_table: Option<&str>,
    ) -> S3Backend {
        S3Backend {
            s3,
            dynamodb,
            bucket: bucket.to_string(),
            key: key.to_string(),
            lock_table: lock_table.map(str::to_string),
            seen: Mutex::new(Seen::Unknown),
            keys: SsmKeys { ssm },
            known: KnownKeys::default(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// `<key stem>.NAME.json` beside the state object `<key stem>.json`.
    pub fn record_key(&self, name: &str) -> String {
        let stem = self.key.strip_suffix(".json").unwrap_or(&self.key);
        format!("{stem}.{name}.json")
    }

    /// A backend on the record `name`, for its lock.
    fn sibling(&self, name: &str) -> S3Backend {
        S3Backend::with_clients(
            self.s3.clone(),
            self.dynamodb.clone(),
            self.keys.ssm.clone(),
            &self.bucket,
            &self.record_key(name),
            self.lock_table.as_deref(),
        )
    }

    /// The key of the lock object (used when there is no lock table).
    pub fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    /// The lock table's hash key value for this state.
    pub fn lock_id(&self) -> String {
        format!("{}/{}", self.bucket, self.key)
    }

    /// Where the lock lives, for messages.
    fn lock_location(&self) -> String {
        match &self.lock_table {
            Some(table) => format!("DynamoDB table {table}, item {}", self.lock_id()),
            None => format!("s3://{}/{}", self.bucket, self.lock_key()),
        }
    }

    /// Stores `state` exactly as it is (serial included): for moving an
    /// existing state here. Conditional like [`Backend::write`] on what was
    /// read last: the object must not have changed since.
    pub async fn put_verbatim(&self, state: &State) -> Result<(), StateError> {
        let mut seen = self.seen.lock().await;
        key::persist(state, &self.keys, &self.known).await?;
        if matches!(*seen, Seen::Unknown) {
            *seen = self.fetch().await?.1;
        }
        self.put(&mut seen, state).await.map_err(|e| match e {
            PutError::Conflict => StateError::Conflict {
                path: self.location(),
                lineage: state.lineage.clone(),
                expected: state.serial,
                found: match &*seen {
                    Seen::Present { serial, .. } => *serial,
                    _ => 0,
                },
            },
            PutError::Other(e) => e,
        })
    }

    /// Reads the object: the state and the version it came from.
    async fn fetch(&self) -> Result<(Option<State>, Seen), StateError> {
        let answer = self.s3.get_object().bucket(&self.bucket).key(&self.key).send().await;
        let output = match answer {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok((None, Seen::Absent)),
            Err(e) => return Err(self.remote("GetObject", e)),
        };
        let etag = output.e_tag().map(str::to_string);
        let bytes = output.body.collect().await.map_err(|e| StateError::Remote {
            location: self.location(),
            source: ProviderError::Transport { call: "GetObject", message: e.to_string() },
        })?;
        let text = String::from_utf8(bytes.into_bytes().to_vec()).map_err(|e| StateError::Corrupt {
            path: self.location(),
            line: 1,
            column: 1,
            message: format!("not UTF-8: {e}"),
        })?;
        let state = parse(&self.location(), &text)?;
        let Some(etag) = etag else {
            return Err(StateError::Remote {
                location: self.location(),
                source: ProviderError::Invalid(
                    "GetObject: the answer carried no ETag, so writes cannot be made conditional".into(),
                ),
            });
        };
        let seen = Seen::Present { lineage: state.lineage.clone(), serial: state.serial, etag };
        Ok((Some(state), seen))
    }

    /// Puts `state` on condition that the object is still `seen`; updates
    /// `seen` to what is there afterwards.
    async fn put(&self, seen: &mut Seen, state: &State) -> Result<(), PutError> {
        let request = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(state.to_json().into_bytes()));
        let request = match &*seen {
            Seen::Present { etag, .. } => request.if_match(etag),
            _ => request.if_none_match("*"),
        };
        match request.send().await {
            Ok(output) => {
                *seen = match output.e_tag() {
                    Some(etag) => {
                        Seen::Present { lineage: state.lineage.clone(), serial: state.serial, etag: etag.to_string() }
                    }
                    None => Seen::Unknown,
                };
                Ok(())
            }
            // The object changed (or vanished) since it was read.
            Err(e) if precondition_failed(&e) || code_of(&e) == Some("NoSuchKey") => {
                match self.fetch().await {
                    // Our own write: the SDK retried a request that had
                    // succeeded (its answer was lost), and the retry failed
                    // the condition the first attempt changed.
                    Ok((Some(now_state), now)) if now_state == *state => {
                        *seen = now;
                        return Ok(());
                    }
                    Ok((_, now)) => *seen = now,
                    Err(_) => *seen = Seen::Unknown,
                }
                Err(PutError::Conflict)
            }
            Err(e) => Err(PutError::Other(self.remote("PutObject", e))),
        }
    }

    fn remote<E, R>(&self, call: &'static str, err: SdkError<E, R>) -> StateError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug,
    {
        let source = match err.code() {
            Some("NoSuchBucket") => ProviderError::Api {
                call,
                code: "NoSuchBucket".into(),
                message: format!(
                    "the state bucket {} does not exist; create it (versioned, encrypted, public access blocked) or fix bucket in gantry.hcl",
                    self.bucket
                ),
                request_id: None,
                retryable: false,
            },
            Some("ResourceNotFoundException") if self.lock_table.is_some() => ProviderError::Api {
                call,
                code: "ResourceNotFoundException".into(),
                message: format!(
                    "the lock table {} does not exist; create it with the string hash key {LOCK_ID}, or fix lock_table in gantry.hcl",
                    self.lock_table.as_deref().unwrap_or_default()
                ),
                request_id: None,
                retryable: false,
            },
            _ => classify(call, err),
        };
        StateError::Remote { location: self.location(), source }
    }

    /// The lock object and its ETag, `None` when there is none.
    async fn read_lock_object(&self) -> Result<Option<(LockInfo, String)>, StateError> {
        let answer = self.s3.get_object().bucket(&self.bucket).key(self.lock_key()).send().await;
        let output = match answer {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(self.remote("GetObject", e)),
        };
        let etag = output.e_tag().unwrap_or_default().to_string();
        let bytes = output.body.collect().await.map_err(|e| StateError::Remote {
            location: self.lock_location(),
            source: ProviderError::Transport { call: "GetObject", message: e.to_string() },
        })?;
        let info = lock_info(&self.lock_location(), &bytes.into_bytes())?;
        Ok(Some((info, etag)))
    }

    /// The lock item: its holder and the item's Info text, `None` when free.
    async fn read_lock_item(&self, table: &str) -> Result<Option<(LockInfo, String)>, StateError> {
        let answer = self
            .dynamodb
            .get_item()
            .table_name(table)
            .key(LOCK_ID, AttributeValue::S(self.lock_id()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.remote("GetItem", e))?;
        let Some(item) = answer.item() else { return Ok(None) };
        let text = match item.get(LOCK_INFO) {
            Some(AttributeValue::S(text)) => text.clone(),
            _ => String::new(),
        };
        let info = lock_info(&self.lock_location(), text.as_bytes())?;
        Ok(Some((info, text)))
    }

    async fn lock_with_object(&self, info: LockInfo) -> Result<S3Lock, StateError> {
        let body = serde_json::to_string_pretty(&info).unwrap_or_default();
        for _ in 0..LOCK_ATTEMPTS {
            let answer = self
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(self.lock_key())
                .content_type("application/json")
                .if_none_match("*")
                .body(ByteStream::from(body.clone().into_bytes()))
                .send()
                .await;
            match answer {
                Ok(output) => {
                    let release = Release::Object {
                        s3: self.s3.clone(),
                        bucket: self.bucket.clone(),
                        key: self.lock_key(),
                        etag: output.e_tag().map(str::to_string),
                    };
                    return Ok(S3Lock::new(info, release));
                }
                Err(e) if precondition_failed(&e) => {
                    match self.read_lock_object().await? {
                        // A retried request whose first attempt succeeded.
                        Some((holder, etag)) if holder.id == info.id => {
                            let release = Release::Object {
                                s3: self.s3.clone(),
                                bucket: self.bucket.clone(),
                                key: self.lock_key(),
                                etag: Some(etag),
                            };
                            return Ok(S3Lock::new(info, release));
                        }
                        // Its holder stopped beating: take it over.
                        Some((holder, etag)) if holder.is_expired() => {
                            let answer = self
                                .s3
                                .delete_object()
                                .bucket(&self.bucket)
                                .key(self.lock_key())
                                .if_match(etag)
                                .send()
                                .await;
                            match answer {
                                Ok(_) => announce_takeover(&self.lock_location(), &holder),
                                // Someone else was quicker: look again.
                                Err(e) if precondition_failed(&e) || code_of(&e) == Some("NoSuchKey") => {}
                                Err(e) => return Err(self.remote("DeleteObject", e)),
                            }
                        }
                        Some((holder, _)) => return Err(StateError::Locked(Box::new(holder))),
                        // Released in between: try again.
                        None => {}
                    }
                }
                Err(e) => return Err(self.remote("PutObject", e)),
            }
        }
        Err(contended(&self.lock_location()))
    }

    async fn lock_with_table(&self, table: &str, info: LockInfo) -> Result<S3Lock, StateError> {
        let text = serde_json::to_string(&info).unwrap_or_default();
        for _ in 0..LOCK_ATTEMPTS {
            let answer = self
                .dynamodb
                .put_item()
                .table_name(table)
                .item(LOCK_ID, AttributeValue::S(self.lock_id()))
                .item(LOCK_INFO, AttributeValue::S(text.clone()))
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", LOCK_ID)
                .send()
                .await;
            match answer {
                Ok(_) => {
                    let release = Release::Item {
                        dynamodb: self.dynamodb.clone(),
                        table: table.to_string(),
                        lock_id: self.lock_id(),
                        info: text,
                    };
                    return Ok(S3Lock::new(info, release));
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                    match self.read_lock_item(table).await? {
                        // A retried request whose first attempt succeeded.
                        Some((holder, stored)) if holder.id == info.id => {
                            let release = Release::Item {
                                dynamodb: self.dynamodb.clone(),
                                table: table.to_string(),
                                lock_id: self.lock_id(),
                                info: stored,
                            };
                            return Ok(S3Lock::new(info, release));
                        }
                        // Its holder stopped beating: take it over.
                        Some((holder, stored)) if holder.is_expired() => {
                            let answer = self
                                .dynamodb
                                .delete_item()
                                .table_name(table)
                                .key(LOCK_ID, AttributeValue::S(self.lock_id()))
                                .condition_expression("#info = :info")
                                .expression_attribute_names("#info", LOCK_INFO)
                                .expression_attribute_values(":info", AttributeValue::S(stored))
                                .send()
                                .await;
                            match answer {
                                Ok(_) => announce_takeover(&self.lock_location(), &holder),
                                Err(e)
                                    if e.as_service_error()
                                        .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                                Err(e) => return Err(self.remote("DeleteItem", e)),
                            }
                        }
                        Some((holder, _)) => return Err(StateError::Locked(Box::new(holder))),
                        None => {}
                    }
                }
                Err(e) => return Err(self.remote("PutItem", e)),
            }
        }
        Err(contended(&self.lock_location()))
    }
}

enum PutError {
    Conflict,
    Other(StateError),
}

#[async_trait]
impl Backend for S3Backend {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    async fn read(&self) -> Result<Option<State>, StateError> {
        let mut seen = self.seen.lock().await;
        let (mut state, now) = self.fetch().await?;
        *seen = now;
        if let Some(state) = state.as_mut() {
            key::load_into(state, &self.keys, &self.known).await?;
        }
        Ok(state)
    }

    async fn write(&self, state: &mut State) -> Result<(), StateError> {
        let mut seen = self.seen.lock().await;
        if matches!(*seen, Seen::Unknown) {
            *seen = self.fetch().await?.1;
        }
        let (lineage, expected) = (state.lineage.clone(), state.serial);
        let conflict = |found: u64| StateError::Conflict { path: self.location(), lineage, expected, found };
        if let Seen::Present { lineage, serial, .. } = &*seen {
            if *lineage != state.lineage || *serial != expected {
                return Err(conflict(*serial));
            }
        }
        let before = state.serial;
        state.serial = super::local::next_serial(&self.location(), before)?;
        // The key first: a stored state never depends on a key not kept.
        if let Err(e) = key::persist(state, &self.keys, &self.known).await {
            state.serial = before;
            return Err(e);
        }
        match self.put(&mut seen, state).await {
            Ok(()) => Ok(()),
            Err(e) => {
                state.serial = before;
                Err(match e {
                    PutError::Conflict => conflict(match &*seen {
                        Seen::Present { serial, .. } => *serial,
                        _ => 0,
                    }),
                    PutError::Other(e) => e,
                })
            }
        }
    }

    async fn lock(&self, operation: &str) -> Result<Box<dyn HeldLock>, StateError> {
        let ttl = super::lock::remote_lock_ttl();
        let info = LockInfo::for_location(operation, &self.location()).expiring_in(ttl);
        let mut lock = match &self.lock_table {
            Some(table) => self.lock_with_table(table, info).await?,
            None => self.lock_with_object(info).await?,
        };
        lock.start_heartbeat(ttl);
        Ok(Box::new(lock))
    }

    async fn lock_named(&self, name: &str, operation: &str) -> Result<Box<dyn HeldLock>, StateError> {
        // The same locking as the state's, under the record's key: a lock
        // object `<key stem>.NAME.json.lock`, or its own item in the table.
        self.sibling(name).lock(operation).await
    }

    async fn force_unlock_named(&self, name: &str, id: &str) -> Result<LockInfo, StateError> {
        self.sibling(name).force_unlock(id).await
    }

    async fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        let key = self.record_key(name);
        let answer = self.s3.get_object().bucket(&self.bucket).key(&key).send().await;
        let output = match answer {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(self.remote("GetObject", e)),
        };
        let bytes = output.body.collect().await.map_err(|e| StateError::Remote {
            location: format!("s3://{}/{key}", self.bucket),
            source: ProviderError::Transport { call: "GetObject", message: e.to_string() },
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn write_record(&self, name: &str, bytes: &[u8]) -> Result<(), StateError> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(self.record_key(name))
            .content_type("application/json")
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| self.remote("PutObject", e))?;
        Ok(())
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        let no_such_lock =
            |held: Option<String>| StateError::NoSuchLock { path: self.lock_location(), id: id.to_string(), held };
        match &self.lock_table {
            Some(table) => {
                let Some((held, text)) = self.read_lock_item(table).await? else { return Err(no_such_lock(None)) };
                if held.id != id {
                    return Err(no_such_lock(Some(held.id)));
                }
                let answer = self
                    .dynamodb
                    .delete_item()
                    .table_name(table)
                    .key(LOCK_ID, AttributeValue::S(self.lock_id()))
                    .condition_expression("#info = :info")
                    .expression_attribute_names("#info", LOCK_INFO)
                    .expression_attribute_values(":info", AttributeValue::S(text))
                    .send()
                    .await;
                match answer {
                    Ok(_) => Ok(held),
                    // Released and taken again since we looked.
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                        Err(no_such_lock(None))
                    }
                    Err(e) => Err(self.remote("DeleteItem", e)),
                }
            }
            None => {
                let Some((held, etag)) = self.read_lock_object().await? else { return Err(no_such_lock(None)) };
                if held.id != id {
                    return Err(no_such_lock(Some(held.id)));
                }
                let answer =
                    self.s3.delete_object().bucket(&self.bucket).key(self.lock_key()).if_match(etag).send().await;
                match answer {
                    Ok(_) => Ok(held),
                    Err(e) if precondition_failed(&e) || code_of(&e) == Some("NoSuchKey") => Err(no_such_lock(None)),
                    Err(e) => Err(self.remote("DeleteObject", e)),
                }
            }
        }
    }
}

/// A lock held in S3 or DynamoDB; dropping it releases it. While held, a
/// heartbeat task pushes its expiry forward.
pub struct S3Lock {
    info: LockInfo,
    /// What to delete on release; the heartbeat replaces it with each
    /// renewal (a new ETag, a new Info text).
    release: Arc<std::sync::Mutex<Option<Release>>>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl S3Lock {
    fn new(info: LockInfo, release: Release) -> S3Lock {
        S3Lock { info, release: Arc::new(std::sync::Mutex::new(Some(release))), heartbeat: None }
    }

    /// Renews the lock every third of `ttl` until it is dropped. A renewal
    /// that finds the lock no longer ours (taken over after it expired, or
    /// force-unlocked) stops and says so; a failed call is retried at the
    /// next beat, while the expiry still leaves two more.
    fn start_heartbeat(&mut self, ttl: std::time::Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let release = Arc::clone(&self.release);
        let info = self.info.clone();
        self.heartbeat = Some(runtime.spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let Some(current) = release.lock().ok().and_then(|r| r.clone()) else { return };
                let renewed = info.clone().expiring_in(ttl);
                match current.renew(&renewed).await {
                    Ok(next) => {
                        let ours = next.is_some();
                        if let Ok(mut slot) = release.lock() {
                            *slot = next;
                        }
                        if !ours {
                            tracing::warn!(
                                "the state lock {} (ID {}) is no longer ours: it was taken over or force-unlocked",
                                info.path,
                                info.id
                            );
                            return;
                        }
                    }
                    Err(e) => tracing::warn!("could not renew the state lock {}: {e}; retrying", info.path),
                }
            }
        }));
    }
}

impl HeldLock for S3Lock {
    fn info(&self) -> &LockInfo {
        &self.info
    }
}

/// How to let go of a lock: delete exactly what we wrote, never a lock
/// someone else took after a force-unlock.
#[derive(Clone)]
enum Release {
    Object { s3: aws_sdk_s3::Client, bucket: String, key: String, etag: Option<String> },
    Item { dynamodb: aws_sdk_dynamodb::Client, table: String, lock_id: String, info: String },
}

impl Release {
    /// Replaces the lock with `info` on condition that it is still what we
    /// wrote last, and returns how to release the renewed lock. `Ok(None)`:
    /// it is not ours any more.
    async fn renew(self, info: &LockInfo) -> Result<Option<Release>, ProviderError> {
        match self {
            Release::Object { s3, bucket, key, etag } => {
                let body = serde_json::to_string_pretty(info).unwrap_or_default();
                let answer = s3
                    .put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .content_type("application/json")
                    .set_if_match(etag)
                    .body(ByteStream::from(body.into_bytes()))
                    .send()
                    .await;
                match answer {
                    Ok(out) => {
                        let etag = out.e_tag().map(str::to_string);
                        Ok(Some(Release::Object { s3, bucket, key, etag }))
                    }
                    Err(e) if precondition_failed(&e) || code_of(&e) == Some("NoSuchKey") => Ok(None),
                    Err(e) => Err(classify("PutObject", e)),
                }
            }
            Release::Item { dynamodb, table, lock_id, info: old } => {
                let text = serde_json::to_string(info).unwrap_or_default();
                let answer = dynamodb
                    .put_item()
                    .table_name(&table)
                    .item(LOCK_ID, AttributeValue::S(lock_id.clone()))
                    .item(LOCK_INFO, AttributeValue::S(text.clone()))
                    .condition_expression("#info = :info")
                    .expression_attribute_names("#info", LOCK_INFO)
                    .expression_attribute_values(":info", AttributeValue::S(old))
                    .send()
                    .await;
                match answer {
                    Ok(_) => Ok(Some(Release::Item { dynamodb, table, lock_id, info: text })),
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                        Ok(None)
                    }
                    Err(e) => Err(classify("PutItem", e)),
                }
            }
        }
    }

    async fn run(self) -> Result<(), ProviderError> {
        match self {
            Release::Object { s3, bucket, key, etag } => {
                let answer = s3.delete_object().bucket(bucket).key(key).set_if_match(etag).send().await;
                match answer {
                    // Gone, or someone else's now (after a force-unlock): not ours to delete.
                    Err(e) if precondition_failed(&e) || code_of(&e) == Some("NoSuchKey") => Ok(()),
                    other => other.map(|_| ()).map_err(|e| classify("DeleteObject", e)),
                }
            }
            Release::Item { dynamodb, table, lock_id, info } => {
                let answer = dynamodb
                    .delete_item()
                    .table_name(table)
                    .key(LOCK_ID, AttributeValue::S(lock_id))
                    .condition_expression("#info = :info")
                    .expression_attribute_names("#info", LOCK_INFO)
                    .expression_attribute_values(":info", AttributeValue::S(info))
                    .send()
                    .await;
                match answer {
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
                    other => other.map(|_| ()).map_err(|e| classify("DeleteItem", e)),
                }
            }
        }
    }
}

impl Drop for S3Lock {
    /// Releasing takes an AWS call, and `drop` cannot be async. The binary
    /// runs a multi-thread tokio runtime, where `block_in_place` hands this
    /// worker's other tasks to another thread and lets this one block on the
    /// call; the lock is gone before the command returns, even on an early
    /// error return. On a current-thread runtime blocking would deadlock (the
    /// call's I/O is driven by the very thread that would wait), so there the
    /// release is spawned and runs if the runtime keeps going; outside any
    /// runtime it cannot run at all. Both cases are reported with the
    /// force-unlock command.
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        // Should a renewal have been cut off after AWS took it, the delete's
        // condition (the previous ETag or Info) no longer holds and the lock
        // is left to expire: never deleted blind.
        let Some(release) = self.release.lock().ok().and_then(|mut r| r.take()) else { return };
        let id = self.info.id.clone();
        let location = self.info.path.clone();
        let report = move |result: Result<(), ProviderError>| {
            if let Err(e) = result {
                tracing::warn!(
                    "could not release the state lock of {location} ({e}); once no gantry runs on it, clear it with `gantry force-unlock {id}`"
                );
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                let result = tokio::task::block_in_place(|| handle.block_on(release.run()));
                report(result);
            }
            Ok(handle) => {
                handle.spawn(async move { report(release.run().await) });
            }
            Err(_) => report(Err(ProviderError::Invalid("no async runtime to release it on".into()))),
        }
    }
}

fn lock_info(location: &str, bytes: &[u8]) -> Result<LockInfo, StateError> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        path: location.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Says whose expired lock was taken over, on the terminal and in the log.
fn announce_takeover(location: &str, holder: &LockInfo) {
    let expired = holder.expires.as_deref().unwrap_or("?");
    tracing::warn!("taking over the expired state lock {location} of {holder}");
    eprintln!(
        "Note: the lock on {location} was held by {} (operation {}, pid {} on {}, lock ID {}) and expired at {expired} without a heartbeat; taking it over.",
        holder.who, holder.operation, holder.pid, holder.host, holder.id
    );
}

fn contended(location: &str) -> StateError {
    StateError::Remote {
        location: location.to_string(),
        source: ProviderError::Invalid("the lock was taken and released repeatedly while we tried; try again".into()),
    }
}

fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    err.code()
}

/// A conditional write or delete whose condition did not hold.
fn precondition_failed<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(err.code(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
        || err.raw_response().is_some_and(|r| r.status().as_u16() == 412)
}
