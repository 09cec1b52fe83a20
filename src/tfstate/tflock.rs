//! Terraform's own state lock on an s3 backend, taken the way Terraform
//! takes it, so that no Terraform run writes the state while gantry reads
//! it (and a running one makes gantry wait or stop):
//!
//! - `dynamodb_table`: the item `{LockID: "<bucket>/<key>", Info: <JSON of
//!   Terraform's LockInfo>}`, put on condition `attribute_not_exists(LockID)`;
//! - `use_lockfile`: the object `<key>.tflock` holding the same JSON, put
//!   with `If-None-Match: *` (moto 5.1.22 refuses a second one with
//!   `PreconditionFailed`, as S3 does).
//!
//! With both set, both are taken (the object first), as Terraform 1.11
//! does. Released by deleting exactly what was written: the item on
//! condition its Info is still ours, the object on its ETag.
//! The format is checked against Terraform 1.11.4's own lock
//! (tests/fixtures/tfstate/s3-backend/recorded.json).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use super::error::TfStateError;
use super::source::S3Location;
use crate::aws::{classify, ProviderError};

const LOCK_ID: &str = "LockID";
const INFO: &str = "Info";

/// Terraform's `statemgr.LockInfo`, field for field as it marshals it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TfLockInfo {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Operation", default)]
    pub operation: String,
    #[serde(rename = "Info", default)]
    pub info: String,
    #[serde(rename = "Who", default)]
    pub who: String,
    #[serde(rename = "Version", default)]
    pub version: String,
    #[serde(rename = "Created", default)]
    pub created: String,
    #[serde(rename = "Path", default)]
    pub path: String,
}

impl TfLockInfo {
    /// gantry's lock info for reading `location` to import it.
    pub fn for_import(location: &S3Location) -> TfLockInfo {
        TfLockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            // Terraform's operations are OperationTypePlan/Apply/Invalid; a
            // read for an import is none of them, and Terraform prints
            // this field as it is.
            operation: "OperationTypeInvalid".into(),
            info: "gantry state import-terraform: reading the state to import it into gantry".into(),
            who: crate::state::who(),
            version: format!("gantry {}", env!("CARGO_PKG_VERSION")),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            path: location.lock_id(),
        }
    }
}

/// Where a held Terraform lock is, and who holds it.
#[derive(Debug, Clone)]
pub struct Holder {
    pub place: String,
    pub info: TfLockInfo,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.info;
        write!(
            f,
            "{}: ID {}, Operation {}, Who {}, Version {}, Created {}",
            self.place,
            or_unknown(&i.id),
            or_unknown(&i.operation),
            or_unknown(&i.who),
            or_unknown(&i.version),
            or_unknown(&i.created)
        )
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "(not given)"
    } else {
        s
    }
}

/// One part of a held lock.
enum Part {
    Item { table: String, lock_id: String, info: String },
    Object { bucket: String, key: String, etag: Option<String> },
}

/// Terraform's lock, held by gantry until [`TfLock::release`].
pub struct TfLock {
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    parts: Vec<Part>,
    pub info: TfLockInfo,
}

/// How long to wait between attempts while someone else holds the lock.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

impl TfLock {
    /// Takes every lock Terraform would take on `location`, waiting up to
    /// `timeout` for a holder to let go. Nothing is left held on error.
    pub async fn acquire(
        s3: &aws_sdk_s3::Client,
        dynamodb: &aws_sdk_dynamodb::Client,
        location: &S3Location,
        timeout: Duration,
    ) -> Result<TfLock, TfStateError> {
        let info = TfLockInfo::for_import(location);
        let mut lock = TfLock { s3: s3.clone(), dynamodb: dynamodb.clone(), parts: Vec::new(), info };
        let deadline = Instant::now() + timeout;
        let result = lock.take_all(location, deadline).await;
        match result {
            Ok(()) => Ok(lock),
            Err(e) => {
                // Whatever part was taken goes back before the error.
                let _ = lock.release().await;
                Err(e)
            }
        }
    }

    async fn take_all(&mut self, location: &S3Location, deadline: Instant) -> Result<(), TfStateError> {
        let text = serde_json::to_string(&self.info).unwrap_or_default();
        if location.use_lockfile {
            loop {
                match self.put_object(location, &text).await? {
                    None => break,
                    Some(holder) if Instant::now() >= deadline => return Err(locked(holder)),
                    Some(_) => tokio::time::sleep(RETRY_PAUSE).await,
                }
            }
        }
        if let Some(table) = &location.dynamodb_table {
            loop {
                match self.put_item(location, table, &text).await? {
                    None => break,
                    Some(holder) if Instant::now() >= deadline => return Err(locked(holder)),
                    Some(_) => tokio::time::sleep(RETRY_PAUSE).await,
                }
            }
        }
        Ok(())
    }

    /// Writes the lock object; `Some(holder)` when it exists already.
    async fn put_object(&mut self, location: &S3Location, text: &str) -> Result<Option<Holder>, TfStateError> {
        let key = location.lockfile_key();
        let place = format!("lock object s3://{}/{key}", location.bucket);
        let answer = self
            .s3
            .put_object()
            .bucket(&location.bucket)
            .key(&key)
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(text.as_bytes().to_vec()))
            .send()
            .await;
        match answer {
            Ok(out) => {
                self.parts.push(Part::Object {
                    bucket: location.bucket.clone(),
                    key,
                    etag: out.e_tag().map(str::to_string),
                });
                Ok(None)
            }
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
                let holder = match self.s3.get_object().bucket(&location.bucket).key(&key).send().await {
                    Ok(out) => match out.body.collect().await {
                        Ok(bytes) => serde_json::from_slice(&bytes.into_bytes()).unwrap_or_default(),
                        Err(_) => TfLockInfo::default(),
                    },
                    // Released in between: the next attempt takes it.
                    Err(_) => TfLockInfo::default(),
                };
                Ok(Some(Holder { place, info: holder }))
            }
            Err(e) => Err(remote(&place, classify("PutObject", e))),
        }
    }

    /// Writes the lock item; `Some(holder)` when it exists already.
    async fn put_item(
        &mut self,
        location: &S3Location,
        table: &str,
        text: &str,
    ) -> Result<Option<Holder>, TfStateError> {
        let lock_id = location.lock_id();
        let place = format!("DynamoDB table {table}, item {lock_id}");
        let answer = self
            .dynamodb
            .put_item()
            .table_name(table)
            .item(LOCK_ID, AttributeValue::S(lock_id.clone()))
            .item(INFO, AttributeValue::S(text.to_string()))
            .condition_expression("attribute_not_exists(LockID)")
            .send()
            .await;
        match answer {
            Ok(_) => {
                self.parts.push(Part::Item { table: table.to_string(), lock_id, info: text.to_string() });
                Ok(None)
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                let item = self
                    .dynamodb
                    .get_item()
                    .table_name(table)
                    .key(LOCK_ID, AttributeValue::S(lock_id))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| remote(&place, classify("GetItem", e)))?;
                let info = match item.item().and_then(|i| i.get(INFO)) {
                    Some(AttributeValue::S(text)) => serde_json::from_str(text).unwrap_or_default(),
                    _ => TfLockInfo::default(),
                };
                Ok(Some(Holder { place, info }))
            }
            Err(e) => Err(remote(&place, classify("PutItem", e))),
        }
    }

    /// Deletes what was written, each part only while it is still ours.
    pub async fn release(mut self) -> Result<(), TfStateError> {
        let mut first_error = None;
        for part in self.parts.drain(..).rev() {
            let result = match part {
                Part::Item { table, lock_id, info } => self
                    .dynamodb
                    .delete_item()
                    .table_name(&table)
                    .key(LOCK_ID, AttributeValue::S(lock_id.clone()))
                    .condition_expression("#info = :info")
                    .expression_attribute_names("#info", INFO)
                    .expression_attribute_values(":info", AttributeValue::S(info))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| remote(&format!("DynamoDB table {table}, item {lock_id}"), classify("DeleteItem", e))),
                Part::Object { bucket, key, etag } => {
                    let mut call = self.s3.delete_object().bucket(&bucket).key(&key);
                    if let Some(etag) = etag {
                        call = call.if_match(etag);
                    }
                    call.send()
                        .await
                        .map(|_| ())
                        .map_err(|e| remote(&format!("lock object s3://{bucket}/{key}"), classify("DeleteObject", e)))
                }
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn locked(holder: Holder) -> TfStateError {
    TfStateError::Locked(Box::new(holder))
}

fn remote(place: &str, source: ProviderError) -> TfStateError {
    TfStateError::Remote { location: place.to_string(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Terraform 1.11.4 wrote into the lock table while an apply held
    /// its lock (scripts/record-tf-s3-lock.sh).
    const RECORDED: &str = include_str!("../../tests/fixtures/tfstate/s3-backend/recorded.json");

    fn recorded_infos() -> Vec<serde_json::Value> {
        let doc: serde_json::Value = serde_json::from_str(RECORDED).unwrap();
        let mut infos = Vec::new();
        for item in doc["held"]["dynamodb_items"].as_array().unwrap() {
            if let Some(text) = item["Info"]["S"].as_str() {
                infos.push(serde_json::from_str(text).unwrap());
            }
        }
        for (_, object) in doc["held"]["lockfile"].as_object().unwrap() {
            infos.push(object.clone());
        }
        infos
    }

    #[test]
    fn gantrys_lock_info_has_terraforms_fields_in_terraforms_order() {
        let infos = recorded_infos();
        assert_eq!(infos.len(), 2, "one lock item and one lock object while Terraform held its lock");
        let location =
            S3Location { bucket: "tf-lock-fixture".into(), key: "env/app.tfstate".into(), ..Default::default() };
        let ours = serde_json::to_value(TfLockInfo::for_import(&location)).unwrap();
        for theirs in infos {
            let mut want: Vec<&String> = theirs.as_object().unwrap().keys().collect();
            let mut got: Vec<&String> = ours.as_object().unwrap().keys().collect();
            want.sort();
            got.sort();
            assert_eq!(got, want);
            assert_eq!(theirs["Path"], ours["Path"], "Terraform's Path is <bucket>/<key>");
            let read: TfLockInfo = serde_json::from_value(theirs.clone()).unwrap();
            assert!(!read.who.is_empty() && !read.created.is_empty() && read.operation == "OperationTypeApply");
        }
    }
}
