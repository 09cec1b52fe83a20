//! Reading a Terraform state from S3, into memory only: nothing of it is
//! written to disk. With a lock table, the MD5 Terraform recorded beside
//! its lock (item `<bucket>/<key>-md5`, attribute `Digest`) must match what
//! was read, as Terraform itself checks: a mismatch is a write under way or
//! a stale copy, and the import stops.

use aws_sdk_dynamodb::types::AttributeValue;
use md5::{Digest as _, Md5};

use super::error::TfStateError;
use super::format::TfState;
use super::source::S3Location;
use crate::aws::{classify, ProviderError};

/// What was read: the state and whether its digest was checked.
pub struct Fetched {
    pub state: TfState,
    pub digest_checked: bool,
}

pub async fn fetch(
    s3: &aws_sdk_s3::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    location: &S3Location,
) -> Result<Fetched, TfStateError> {
    let url = location.url();
    let answer = s3.get_object().bucket(&location.bucket).key(&location.key).send().await;
    let output = match answer {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
            return Err(TfStateError::NoObject { location: url })
        }
        Err(e) => return Err(TfStateError::Remote { location: url, source: classify("GetObject", e) }),
    };
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| TfStateError::Remote {
            location: url.clone(),
            source: ProviderError::Transport { call: "GetObject", message: e.to_string() },
        })?
        .into_bytes();
    let mut digest_checked = false;
    if let Some(table) = &location.dynamodb_table {
        let item = dynamodb
            .get_item()
            .table_name(table)
            .key("LockID", AttributeValue::S(location.digest_id()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| TfStateError::Remote {
                location: format!("DynamoDB table {table}"),
                source: classify("GetItem", e),
            })?;
        if let Some(AttributeValue::S(expected)) = item.item().and_then(|i| i.get("Digest")) {
            let actual = hex::encode(Md5::digest(&bytes));
            if !expected.is_empty() && !expected.eq_ignore_ascii_case(&actual) {
                return Err(TfStateError::Digest { location: url, table: table.clone(), item: location.digest_id() });
            }
            digest_checked = true;
        }
    }
    // Never kept as a file: parsed from memory, and the text dropped.
    let text = String::from_utf8_lossy(&bytes);
    let state = super::parse::parse(&url, &text)?;
    Ok(Fetched { state, digest_checked })
}
